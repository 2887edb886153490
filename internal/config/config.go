// Package config is Parley's one typed configuration. Every setting has a
// default, a TOML key, an environment variable (PARLEY_ + the key in upper
// case with dots as underscores) and a command-line flag (the key with dots
// as dashes). Precedence, lowest to highest: defaults, config file,
// environment, flags. Validate reports every problem at once.
package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/atrest"
	"github.com/parleyim/parley/internal/ratelimit"
)

// Config is the whole server configuration.
type Config struct {
	Listen  string `toml:"listen" doc:"Address the HTTP server (REST API, WebSocket, console, metrics) listens on."`
	DataDir string `toml:"data" doc:"Directory for the embedded database, local files and the console owner password file."`
	DB      string `toml:"db" doc:"Database URL. Empty: SQLite at <data>/parley.db. postgres://user@host:5432/db: PostgreSQL."`

	NodeID     int    `toml:"node_id" doc:"This node's number (0-1023), part of every message ID; must differ between live nodes of a cluster. -1: 0 on a single node; in a cluster, the lowest free one, leased through the database."`
	NATSPrefix string `toml:"nats_prefix" doc:"Prefix of every NATS subject this cluster uses, so several clusters (or test runs) can share one NATS server. Every node of a cluster needs the same one."`
	NATS       string `toml:"nats" doc:"NATS server URLs, comma-separated (nats://host:4222,nats://host2:4222). Empty: a single node with an in-process bus. Set: cluster mode, which also needs a postgres:// db and the s3 blob driver, so that nodes share everything."`

	Log        Log        `toml:"log"`
	HTTP       HTTP       `toml:"http"`
	TLS        TLS        `toml:"tls"`
	WS         WS         `toml:"ws"`
	Auth       Auth       `toml:"auth"`
	Console    Console    `toml:"console"`
	Debug      Debug      `toml:"debug"`
	SQLite     SQLite     `toml:"sqlite"`
	Postgres   Postgres   `toml:"postgres"`
	Blob       Blob       `toml:"blob"`
	Secrets    Secrets    `toml:"secrets"`
	Encryption Encryption `toml:"encryption"`
	Push       Push       `toml:"push"`

	RateLimit RateLimit `toml:"ratelimit"`
}

// RateLimit configures the limits that are not an app's own (those are app
// settings: rate_limits). Rates are "N/s", "N/m", "N/s burst B" or "off".
type RateLimit struct {
	Enabled   bool   `toml:"enabled" doc:"Enforce rate limits (the apps' rate_limits settings and the limits below). false turns every limit off (for load tests)."`
	User      string `toml:"user" doc:"REST requests of one user-token caller, per node."`
	Anonymous string `toml:"anonymous" doc:"REST requests without a valid token from one client address (an IPv6 /64), per node."`
	SignIn    string `toml:"sign_in" doc:"Token requests (app and management API), console sign-ins and WebSocket connection attempts from one client address (an IPv6 /64), together, per node."`
	Exempt    string `toml:"exempt" doc:"Client addresses not limited per address, comma-separated IPs or CIDRs. Behind a reverse proxy set http.trusted_proxies, or every client has the proxy's address. Empty: none."`
	MaxKeys   int    `toml:"max_keys" doc:"Buckets (users, addresses, app classes) one node keeps; idle ones are dropped when full again. Over it, arbitrary ones are forgotten (those callers start afresh)."`
}

// Encryption configures encryption at rest of message content (in the
// database) and file contents (in the blob store); docs/operations.md,
// "Encryption at rest".
type Encryption struct {
	Enabled bool   `toml:"enabled" doc:"Encrypt message content in the database and file contents in the blob store (AES-256-GCM) under the active key. Needs key_file or keys. Off: new data is written in plaintext, and data encrypted before stays readable while its key is listed."`
	KeyFile string `toml:"key_file" doc:"File of encryption keys, one ID:BASE64 per line (ID: 1-16 letters, digits, - or _; 32 random bytes, as printed by parley encryption keygen ID). The last key is the active one (encrypts); every listed key decrypts. Every node of a cluster needs the same keys."`
	Keys    string `toml:"keys" secret:"true" doc:"Encryption keys given inline (e.g. in PARLEY_ENCRYPTION_KEYS): ID:BASE64 entries separated by commas, after key_file's keys, so the last entry is the active one."`
}

// Secrets configures the key that encrypts secrets at rest (push
// credentials).
type Secrets struct {
	KeyFile string `toml:"key_file" doc:"File holding the 32-byte key (base64) that encrypts secrets in the database. Empty: <data>/secret.key, created on first start. Every node of a cluster needs the same key."`
}

// Push configures offline push delivery.
type Push struct {
	Workers     int `toml:"workers" doc:"Push jobs sent at once by this node."`
	PerNotifier int `toml:"per_notifier" doc:"Sends in flight at once to one notifier (one set of credentials)."`
	MaxAttempts int `toml:"max_attempts" doc:"Attempts before a push is given up (each retry waits longer, up to an hour)."`
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level" doc:"Minimum level: debug, info, warn or error."`
	Format string `toml:"format" doc:"text (human-readable) or json (one object per line)."`
}

// HTTP configures the HTTP server.
type HTTP struct {
	MaxBodyBytes      int64    `toml:"max_body_bytes" doc:"Largest JSON request body accepted; larger bodies get 400."`
	ReadHeaderTimeout Duration `toml:"read_header_timeout" doc:"Time allowed to read request headers."`
	ShutdownTimeout   Duration `toml:"shutdown_timeout" doc:"On SIGTERM, how long in-flight requests may take to finish."`
	CORSOrigins       string   `toml:"cors_origins" doc:"Web origins allowed to call the REST API from a browser (CORS), comma-separated (https://chat.example.com,http://localhost:5173), or * for any. Tokens travel in the Authorization header, never in cookies, so no credentials mode is needed. Empty: none (same-origin pages such as /demo need nothing). The console never answers cross-origin requests."`
	TrustedProxies    string   `toml:"trusted_proxies" doc:"Reverse proxies in front of Parley, comma-separated IPs or CIDRs (10.0.0.0/8,127.0.0.1). For requests from them the client's address is taken from X-Forwarded-For and TLS from X-Forwarded-Proto: rate limits, console sign-in throttling, the audit log's IPs, Secure cookies, HSTS, https links in REST answers. Empty: none; the connection's address is the client's."`
}

// TLS configures transport security of the HTTP listener.
type TLS struct {
	CertFile string   `toml:"cert_file" doc:"PEM certificate (the server's first, then any intermediates) to serve HTTPS and WSS on listen. Empty (with key_file): plain HTTP. Replaced files are picked up within a second, without a restart."`
	KeyFile  string   `toml:"key_file" doc:"PEM private key of cert_file."`
	Require  bool     `toml:"require" doc:"Refuse plain HTTP. Without cert_file the server only starts on a loopback listen address or with http.trusted_proxies set, and then serves a request only if a trusted proxy marks it X-Forwarded-Proto: https or it comes from this host (loopback); others get 403 tls_required. /healthz, /readyz and /metrics are always served."`
	HSTS     Duration `toml:"hsts" doc:"max-age of the Strict-Transport-Security header sent on responses over TLS (direct, or from a trusted proxy with X-Forwarded-Proto: https), so browsers use https only. 0: no header."`
}

// Enabled reports whether the listener serves TLS itself.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// WS configures the WebSocket gateway.
type WS struct {
	Heartbeat    Duration `toml:"heartbeat" doc:"How often clients ping; a connection silent for 2.5 heartbeats is closed."`
	AuthTimeout  Duration `toml:"auth_timeout" doc:"Time a new connection has to send its auth frame."`
	WriteTimeout Duration `toml:"write_timeout" doc:"Time a client may take to accept one write (up to 64 KiB of frames) before it counts as dead."`
	SendQueue    int      `toml:"send_queue" doc:"Frames queued for one connection before it is closed as a slow consumer (4008)."`
}

// Auth configures tokens and password hashing.
type Auth struct {
	AppTokenTTL  Duration `toml:"app_token_ttl" doc:"Lifetime of app (client_credentials) tokens when the request gives no ttl."`
	UserTokenTTL Duration `toml:"user_token_ttl" doc:"Lifetime of user tokens (password, inherit) when the request gives no ttl."`
	KDFTime      uint32   `toml:"kdf_time" doc:"Argon2id passes over memory for password hashes."`
	KDFMemoryKiB uint32   `toml:"kdf_memory_kib" doc:"Argon2id memory per password hash, in KiB."`
	KDFThreads   uint32   `toml:"kdf_threads" doc:"Argon2id lanes per password hash."`
	KDFParallel  int      `toml:"kdf_parallel" doc:"Password hashes computed at once (bounds memory: kdf_parallel x kdf_memory_kib). 0: one per CPU."`
}

// Console configures the admin console.
type Console struct {
	OwnerUsername  string   `toml:"owner_username" doc:"Username of the owner account created on first start."`
	OwnerPassword  string   `toml:"owner_password" secret:"true" doc:"Password for that account. Empty: a random one is written once to <data>/console-owner-password."`
	AuditRetention Duration `toml:"audit_retention" doc:"How long the console's audit log keeps an entry. 0: forever."`
}

// Debug configures diagnostics.
type Debug struct {
	Listen string `toml:"listen" doc:"If set (e.g. 127.0.0.1:6060), serve Go's pprof profiles there. Keep it on loopback."`
}

// SQLite tunes the embedded database.
type SQLite struct {
	Synchronous string `toml:"synchronous" doc:"full: a commit survives power loss; normal: it survives a process crash but not power loss."`
}

// Postgres tunes the PostgreSQL backend.
type Postgres struct {
	MaxConns int `toml:"max_conns" doc:"Connections per node to PostgreSQL."`
}

// Blob configures where file contents (attachments) are stored; their
// metadata is in the database.
type Blob struct {
	Driver      string   `toml:"driver" doc:"Where file contents are stored: local (a directory) or s3 (an S3-compatible object store)."`
	Dir         string   `toml:"dir" doc:"Directory of the local driver. Empty: <data>/files."`
	S3Endpoint  string   `toml:"s3_endpoint" doc:"S3 server as host:port (TLS per s3_tls) or a URL (http://host:port, https://host), e.g. s3.eu-west-1.amazonaws.com."`
	S3Bucket    string   `toml:"s3_bucket" doc:"Bucket; created at start if missing."`
	S3Region    string   `toml:"s3_region" doc:"Region, e.g. eu-west-1. Empty: asked from the server."`
	S3AccessKey string   `toml:"s3_access_key" doc:"Access key ID."`
	S3SecretKey string   `toml:"s3_secret_key" secret:"true" doc:"Secret access key."`
	S3TLS       bool     `toml:"s3_tls" doc:"Use HTTPS when s3_endpoint has no scheme."`
	S3PathStyle bool     `toml:"s3_path_style" doc:"Path-style addressing (host/bucket/key): true for MinIO, versitygw, Ceph and most self-hosted stores; false: virtual-hosted style (bucket.host/key), as AWS wants."`
	S3Prefix    string   `toml:"s3_prefix" doc:"Prefix put before every object key (e.g. parley/), to share a bucket. Empty: none."`
	OrphanAfter Duration `toml:"orphan_after" doc:"An upload that no message references after this long is deleted (files of recalled messages go at once)."`
}

// Default returns the documented defaults.
func Default() Config {
	return Config{
		Listen:     "127.0.0.1:8080",
		DataDir:    "./data",
		NodeID:     -1,
		NATSPrefix: "parley",
		Log:        Log{Level: "info", Format: "text"},
		HTTP: HTTP{
			MaxBodyBytes:      1 << 20,
			ReadHeaderTimeout: Duration(10 * time.Second),
			ShutdownTimeout:   Duration(15 * time.Second),
		},
		TLS: TLS{HSTS: Duration(365 * 24 * time.Hour)},
		WS: WS{
			Heartbeat:    Duration(30 * time.Second),
			AuthTimeout:  Duration(10 * time.Second),
			WriteTimeout: Duration(10 * time.Second),
			SendQueue:    1024,
		},
		Auth: Auth{
			AppTokenTTL:  Duration(7 * 24 * time.Hour),
			UserTokenTTL: Duration(60 * 24 * time.Hour),
			KDFTime:      2,
			KDFMemoryKiB: 19 * 1024,
			KDFThreads:   1,
		},
		Console:  Console{OwnerUsername: "owner", AuditRetention: Duration(365 * 24 * time.Hour)},
		SQLite:   SQLite{Synchronous: "full"},
		Postgres: Postgres{MaxConns: 16},
		Blob:     Blob{Driver: "local", S3TLS: true, OrphanAfter: Duration(24 * time.Hour)},
		Push:     Push{Workers: 8, PerNotifier: 4, MaxAttempts: 8},
		RateLimit: RateLimit{Enabled: true, User: "20/s burst 40", Anonymous: "20/s burst 40", SignIn: "10/s burst 30",
			Exempt: "127.0.0.0/8,::1", MaxKeys: 100_000},
	}
}

// Validate reports every invalid setting, joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "want HOST:PORT, got %q", c.Listen)
	}
	if c.DataDir == "" {
		bad("data", "must not be empty")
	}
	if c.DB != "" {
		u, err := url.Parse(c.DB)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("db", "want empty (SQLite) or a postgres:// URL")
		}
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		bad("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		bad("log.format", "want text or json, got %q", c.Log.Format)
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("http.max_body_bytes", "must be at least 1024")
	}
	if c.HTTP.ShutdownTimeout < 0 || c.HTTP.ReadHeaderTimeout <= 0 {
		bad("http", "timeouts must be positive")
	}
	if c.NodeID < -1 || c.NodeID > 1023 {
		bad("node_id", "must be 0..1023, or -1 for automatic")
	}
	if c.NATS != "" {
		for _, u := range c.NATSURLs() {
			if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
				bad("nats", "want nats://host:port or tls://host:port URLs, got %q", u)
			}
		}
		if !validPrefix(c.NATSPrefix) {
			bad("nats_prefix", "want letters, digits, - and _ (1-64), got %q", c.NATSPrefix)
		}
		if !c.UsesPostgres() {
			bad("db", "cluster mode (nats set) needs a postgres:// database shared by every node")
		}
		if c.Blob.Driver != "s3" {
			bad("blob.driver", "cluster mode (nats set) needs the s3 driver: files on one node's disk are not seen by the others")
		}
	}
	if c.WS.Heartbeat < Duration(time.Second) || c.WS.AuthTimeout < Duration(time.Second) || c.WS.WriteTimeout < Duration(time.Second) {
		bad("ws", "heartbeat, auth_timeout and write_timeout must be at least 1s")
	}
	for _, o := range strings.Split(c.HTTP.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" && o != "*" && !validOrigin(o) {
			bad("http.cors_origins", "want scheme://host[:port] origins or *, got %q", o)
		}
	}
	c.validateTLS(bad)
	if c.WS.SendQueue < 16 {
		bad("ws.send_queue", "must be at least 16")
	}
	if c.Auth.AppTokenTTL < 0 || c.Auth.UserTokenTTL < 0 {
		bad("auth", "token TTLs must not be negative (0 means never expires)")
	}
	if c.Auth.KDFTime < 1 {
		bad("auth.kdf_time", "must be at least 1")
	}
	if c.Auth.KDFMemoryKiB < 1024 {
		bad("auth.kdf_memory_kib", "must be at least 1024 (use 19456 or more in production)")
	}
	if c.Auth.KDFThreads < 1 || c.Auth.KDFThreads > 255 {
		bad("auth.kdf_threads", "must be 1..255")
	}
	if c.Auth.KDFParallel < 0 {
		bad("auth.kdf_parallel", "must not be negative")
	}
	if c.Debug.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Debug.Listen); err != nil {
			bad("debug.listen", "want HOST:PORT, got %q", c.Debug.Listen)
		}
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		bad("http.trusted_proxies", "%v", err)
	}
	for _, r := range []struct{ key, val string }{{"ratelimit.user", c.RateLimit.User},
		{"ratelimit.anonymous", c.RateLimit.Anonymous}, {"ratelimit.sign_in", c.RateLimit.SignIn}} {
		if _, err := ratelimit.ParseRate(r.val); err != nil {
			bad(r.key, "%v", err)
		}
	}
	if _, err := parsePrefixes(c.RateLimit.Exempt); err != nil {
		bad("ratelimit.exempt", "%v", err)
	}
	if c.RateLimit.MaxKeys < 1000 {
		bad("ratelimit.max_keys", "must be at least 1000")
	}
	if c.Console.AuditRetention < 0 {
		bad("console.audit_retention", "must not be negative (0 keeps entries forever)")
	}
	if c.Console.OwnerUsername == "" {
		bad("console.owner_username", "must not be empty")
	}
	if c.Console.OwnerPassword != "" && len(c.Console.OwnerPassword) < 12 {
		bad("console.owner_password", "must be at least 12 characters")
	}
	if !oneOf(c.SQLite.Synchronous, "full", "normal") {
		bad("sqlite.synchronous", "want full or normal, got %q", c.SQLite.Synchronous)
	}
	if c.Postgres.MaxConns < 1 {
		bad("postgres.max_conns", "must be at least 1")
	}
	if c.Push.Workers < 1 || c.Push.PerNotifier < 1 || c.Push.MaxAttempts < 1 {
		bad("push", "workers, per_notifier and max_attempts must be at least 1")
	}
	if c.Encryption.Enabled && c.Encryption.KeyFile == "" && c.Encryption.Keys == "" {
		bad("encryption", "enabled needs key_file or keys")
	}
	if c.Encryption.Keys != "" {
		if _, err := atrest.Parse(c.Encryption.Keys); err != nil {
			bad("encryption.keys", "%v", err)
		}
	}
	if c.Blob.OrphanAfter.D() < time.Minute {
		bad("blob.orphan_after", "must be at least 1m")
	}
	switch c.Blob.Driver {
	case "local":
	case "s3":
		if c.Blob.S3Endpoint == "" {
			bad("blob.s3_endpoint", "must be set for driver s3")
		} else if u, err := url.Parse(c.Blob.S3Endpoint); strings.Contains(c.Blob.S3Endpoint, "://") &&
			(err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "") {
			bad("blob.s3_endpoint", "want host:port or http(s)://host:port, got %q", c.Blob.S3Endpoint)
		}
		if c.Blob.S3Bucket == "" {
			bad("blob.s3_bucket", "must be set for driver s3")
		}
		if c.Blob.S3AccessKey == "" || c.Blob.S3SecretKey == "" {
			bad("blob", "s3_access_key and s3_secret_key must be set for driver s3")
		}
	default:
		bad("blob.driver", "want local or s3, got %q", c.Blob.Driver)
	}
	return errors.Join(errs...)
}

// validateTLS checks the tls settings: both files or neither, each
// readable, together a parseable certificate and matching key; and that
// tls.require without them has a proxy or loopback to rely on.
func (c *Config) validateTLS(bad func(key, format string, args ...any)) {
	t := c.TLS
	if t.HSTS < 0 {
		bad("tls.hsts", "must not be negative (0: no header)")
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		certPEM, errC := os.ReadFile(t.CertFile)
		if errC != nil {
			bad("tls.cert_file", "%v", errC)
		}
		keyPEM, errK := os.ReadFile(t.KeyFile)
		if errK != nil {
			bad("tls.key_file", "%v", errK)
		}
		if errC == nil && errK == nil {
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				bad("tls", "cert_file %s and key_file %s are not a usable PEM certificate and matching key: %v", t.CertFile, t.KeyFile, err)
			}
		}
	case t.CertFile != "" || t.KeyFile != "":
		bad("tls", "set both cert_file and key_file, or neither")
	case t.Require:
		prefixes, _ := c.TrustedProxyPrefixes()
		if len(prefixes) == 0 && !loopbackListen(c.Listen) {
			bad("tls.require", "plain HTTP on %s, which is not a loopback address: set tls.cert_file and tls.key_file, "+
				"or http.trusted_proxies for the TLS-terminating proxy in front, or listen on 127.0.0.1", c.Listen)
		}
	}
}

// loopbackListen reports whether a listen address binds loopback only
// (127.0.0.0/8, ::1 or localhost; an empty host binds every interface).
func loopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func oneOf(v string, set ...string) bool {
	for _, s := range set {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Duration is a time.Duration written as "15s", "24h" in TOML, env and flags.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// TrustedProxyPrefixes parses http.trusted_proxies (an IP is a /32 or
// /128 prefix).
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes(c.HTTP.TrustedProxies)
}

// RateLimitPolicy is the ratelimit section as a policy (nodes and proxies
// are the caller's to fill in); call on a validated config.
func (c *Config) RateLimitPolicy() ratelimit.Policy {
	exempt, _ := parsePrefixes(c.RateLimit.Exempt)
	trusted, _ := c.TrustedProxyPrefixes()
	return ratelimit.Policy{Enabled: c.RateLimit.Enabled, User: ratelimit.MustRate(c.RateLimit.User),
		Anonymous: ratelimit.MustRate(c.RateLimit.Anonymous), SignIn: ratelimit.MustRate(c.RateLimit.SignIn),
		Exempt: exempt, Trusted: trusted}
}

// parsePrefixes parses comma-separated IPs and CIDRs (an IP is a /32 or
// /128 prefix).
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range strings.Split(list, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if strings.Contains(v, "/") {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return nil, fmt.Errorf("want IPs or CIDRs, got %q", v)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("want IPs or CIDRs, got %q", v)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// NATSURLs splits the nats setting.
func (c *Config) NATSURLs() []string {
	var out []string
	for _, u := range strings.Split(c.NATS, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// UsesPostgres reports whether db is a PostgreSQL URL.
func (c *Config) UsesPostgres() bool {
	return strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://")
}

// Clustered reports whether this node runs as part of a cluster.
func (c *Config) Clustered() bool { return c.NATS != "" }

func validPrefix(p string) bool {
	if p == "" || len(p) > 64 {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validOrigin reports whether o is a web origin: scheme://host[:port],
// nothing after.
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Path == "" &&
		u.RawQuery == "" && u.Fragment == "" && u.User == nil
}

// CORSOrigins lists http.cors_origins.
func (c *Config) CORSOrigins() []string {
	var out []string
	for _, o := range strings.Split(c.HTTP.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
