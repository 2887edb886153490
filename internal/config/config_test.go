package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
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
