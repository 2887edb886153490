package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/testutil/testcert"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefault_Validates(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// The sample printed by `parley config` parses back to the defaults.
func TestSample_RoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.toml")
	if err := os.WriteFile(path, []byte(Sample(Default())), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _, err := Load("parley", []string{"--config", path}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Fatalf("round trip changed the config:\n%+v\n%+v", got, Default())
	}
}

func TestLoad_Precedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.toml")
	os.WriteFile(path, []byte("listen = \"127.0.0.1:1111\"\n[log]\nlevel = \"debug\"\nformat = \"json\"\n[auth]\napp_token_ttl = \"1h\"\n"), 0o600)
	c, rest, err := Load("parley", []string{"--log-level", "warn", "--http-max-body-bytes", "4096", "extra"},
		env(map[string]string{"PARLEY_CONFIG": path, "PARLEY_LOG_LEVEL": "error", "PARLEY_DATA": "/tmp/x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:1111" || c.Log.Format != "json" || c.Log.Level != "warn" || c.DataDir != "/tmp/x" ||
		c.HTTP.MaxBodyBytes != 4096 || c.Auth.AppTokenTTL.D() != time.Hour || len(rest) != 1 || rest[0] != "extra" {
		t.Fatalf("got %+v rest %v", c, rest)
	}
}

func TestLoad_Errors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want []string
	}{
		{"bad listen", []string{"--listen", "nope"}, nil, "", []string{"listen: want HOST:PORT"}},
		{"bad db", []string{"--db", "mysql://x"}, nil, "", []string{"db: want empty"}},
		{"several at once", []string{"--log-level", "loud", "--log-format", "xml"}, nil, "",
			[]string{"log.level", "log.format"}},
		{"bad env int", nil, map[string]string{"PARLEY_HTTP_MAX_BODY_BYTES": "big"}, "", []string{"PARLEY_HTTP_MAX_BODY_BYTES: want an integer"}},
		{"bad duration flag", []string{"--auth-app-token-ttl", "soon"}, nil, "", []string{"--auth-app-token-ttl"}},
		{"unknown flag", []string{"--nope"}, nil, "", []string{"flag provided but not defined"}},
		{"unknown file key", nil, nil, "lisen = \"x\"\n", []string{"unknown setting \"lisen\""}},
		{"weak kdf", []string{"--auth-kdf-memory-kib", "8"}, nil, "", []string{"auth.kdf_memory_kib"}},
		{"short owner password", []string{"--console-owner-password", "short"}, nil, "", []string{"console.owner_password"}},
		{"cluster on sqlite and local files", []string{"--nats", "nats://127.0.0.1:4222"}, nil, "",
			[]string{"db: cluster mode", "blob.driver: cluster mode"}},
		{"bad nats url", []string{"--nats", "127.0.0.1:4222", "--db", "postgres://x/y"}, nil, "", []string{"nats: want nats://"}},
		{"bad cors origin", []string{"--http-cors-origins", "https://ok.example,chat.example.com/x"}, nil, "", []string{"http.cors_origins"}},
		{"node id out of range", []string{"--node-id", "-2"}, nil, "", []string{"node_id"}},
		{"unknown blob driver", []string{"--blob-driver", "ftp"}, nil, "", []string{"blob.driver"}},
		{"s3 without settings", []string{"--blob-driver", "s3"}, nil, "",
			[]string{"blob.s3_endpoint", "blob.s3_bucket", "s3_access_key and s3_secret_key"}},
		{"s3 endpoint with a path", []string{"--blob-driver", "s3", "--blob-s3-endpoint", "http://h:9000/bucket",
			"--blob-s3-bucket", "b", "--blob-s3-access-key", "a", "--blob-s3-secret-key", "s"}, nil, "", []string{"blob.s3_endpoint: want host:port"}},
		{"s3 endpoint scheme", nil, map[string]string{"PARLEY_BLOB_DRIVER": "s3", "PARLEY_BLOB_S3_ENDPOINT": "ftp://h",
			"PARLEY_BLOB_S3_BUCKET": "b", "PARLEY_BLOB_S3_ACCESS_KEY": "a", "PARLEY_BLOB_S3_SECRET_KEY": "s"}, "", []string{"blob.s3_endpoint"}},
		{"encryption without keys", []string{"--encryption-enabled", "true"}, nil, "", []string{"encryption: enabled needs key_file or keys"}},
		{"malformed encryption key", nil, map[string]string{"PARLEY_ENCRYPTION_KEYS": "k1:c2hvcnQ="}, "", []string{"encryption.keys", `key "k1": want 32 bytes`}},
		{"bad encryption key id", nil, map[string]string{"PARLEY_ENCRYPTION_KEYS": "a.b:" + strings.Repeat("A", 43) + "="}, "",
			[]string{"encryption.keys", "want ID:BASE64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				path := filepath.Join(t.TempDir(), "c.toml")
				os.WriteFile(path, []byte(tc.file), 0o600)
				args = append([]string{"--config", path}, args...)
			}
			_, _, err := Load("parley", args, env(tc.env))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// Encryption keys come from the environment (PARLEY_ENCRYPTION_KEYS) like
// any setting.
func TestLoad_EncryptionKeysFromEnv(t *testing.T) {
	keys := "k1:" + strings.Repeat("A", 43) + "=,k2:" + strings.Repeat("B", 43) + "="
	c, _, err := Load("parley", nil, env(map[string]string{"PARLEY_ENCRYPTION_ENABLED": "true", "PARLEY_ENCRYPTION_KEYS": keys}))
	if err != nil || !c.Encryption.Enabled || c.Encryption.Keys != keys {
		t.Fatalf("got %+v, %v", c.Encryption, err)
	}
}

func TestLoad_BlobS3(t *testing.T) {
	c, _, err := Load("parley", []string{"--blob-s3-path-style", "true", "--blob-s3-endpoint", "http://127.0.0.1:7070"},
		env(map[string]string{"PARLEY_BLOB_DRIVER": "s3", "PARLEY_BLOB_S3_BUCKET": "files",
			"PARLEY_BLOB_S3_ACCESS_KEY": "ak", "PARLEY_BLOB_S3_SECRET_KEY": "sk", "PARLEY_BLOB_S3_PREFIX": "parley/"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Default().Blob
	want.Driver, want.S3Endpoint, want.S3Bucket, want.S3PathStyle, want.S3Prefix = "s3", "http://127.0.0.1:7070", "files", true, "parley/"
	want.S3AccessKey, want.S3SecretKey = "ak", "sk"
	if c.Blob != want {
		t.Fatalf("got %+v\nwant %+v", c.Blob, want)
	}
}

func TestSample_HidesSecrets(t *testing.T) {
	c := Default()
	c.Console.OwnerPassword = "super-secret-password"
	c.Blob.S3SecretKey = "s3-secret-key-value"
	c.Encryption.Keys = "k1:" + strings.Repeat("A", 43) + "="
	if out := Sample(c); strings.Contains(out, "super-secret-password") || strings.Contains(out, "s3-secret-key-value") ||
		strings.Contains(out, "AAAAAAAA") {
		t.Fatal("sample leaked a secret")
	}
}

// docs/parley.sample.toml is `parley config` output and must be current
// (refresh with: go run ./cmd/parley config > docs/parley.sample.toml).
func TestSample_DocCurrent(t *testing.T) {
	got, err := os.ReadFile("../../docs/parley.sample.toml")
	if err != nil || string(got) != Sample(Default()) {
		t.Fatal("docs/parley.sample.toml is stale: run go run ./cmd/parley config > docs/parley.sample.toml")
	}
}

func TestValidate_TLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.New(t, "good").Files(t, dir)
	otherCert, _ := testcert.New(t, "other").Files(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not pem"), 0o600)
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		set  func(c *Config)
		want []string // empty: valid
	}{
		{"off", func(c *Config) {}, nil},
		{"both files", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = cert, key }, nil},
		{"require with files on every interface", func(c *Config) {
			c.TLS.CertFile, c.TLS.KeyFile, c.TLS.Require, c.Listen = cert, key, true, ":8443"
		}, nil},
		{"cert only", func(c *Config) { c.TLS.CertFile = cert }, []string{"tls: set both cert_file and key_file"}},
		{"key only", func(c *Config) { c.TLS.KeyFile = key }, []string{"tls: set both cert_file and key_file"}},
		{"unreadable cert", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = missing, key }, []string{"tls.cert_file", "missing.pem"}},
		{"unreadable key", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = cert, missing }, []string{"tls.key_file"}},
		{"not PEM", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = garbage, key }, []string{"tls: cert_file", "not a usable PEM"}},
		{"key of another cert", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = otherCert, key }, []string{"not a usable PEM", "private key does not match"}},
		{"require, plain, loopback", func(c *Config) { c.TLS.Require, c.Listen = true, "127.0.0.1:8080" }, nil},
		{"require, plain, localhost", func(c *Config) { c.TLS.Require, c.Listen = true, "localhost:8080" }, nil},
		{"require, plain, ::1", func(c *Config) { c.TLS.Require, c.Listen = true, "[::1]:8080" }, nil},
		{"require, plain, behind a proxy", func(c *Config) {
			c.TLS.Require, c.Listen, c.HTTP.TrustedProxies = true, "0.0.0.0:8080", "10.0.0.0/8"
		}, nil},
		{"require, plain, every interface", func(c *Config) { c.TLS.Require, c.Listen = true, ":8080" }, []string{"tls.require: plain HTTP on :8080"}},
		{"require, plain, public address", func(c *Config) { c.TLS.Require, c.Listen = true, "192.0.2.1:80" }, []string{"tls.require"}},
		{"negative hsts", func(c *Config) { c.TLS.HSTS = Duration(-time.Second) }, []string{"tls.hsts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.set(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// The TLS settings load from flags and the environment like every other.
func TestLoad_TLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.New(t, "srv").Files(t, dir)
	c, _, err := Load("parley", []string{"--tls-cert-file", cert, "--tls-require", "true"},
		env(map[string]string{"PARLEY_TLS_KEY_FILE": key, "PARLEY_TLS_HSTS": "1h", "PARLEY_LISTEN": "0.0.0.0:8443"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS != (TLS{CertFile: cert, KeyFile: key, Require: true, HSTS: Duration(time.Hour)}) || !c.TLS.Enabled() {
		t.Fatalf("got %+v", c.TLS)
	}
}
