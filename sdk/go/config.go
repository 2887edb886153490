package parley

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleyim/parley/protocol"
)

// Config configures a Client. BaseURL (or Endpoints), Org, App and either
// Token or Username and Password are required.
type Config struct {
	// BaseURL is the server's HTTP address, http(s)://host:port, optionally
	// with a path prefix. The WebSocket URL is derived from it:
	// ws(s)://host:port/ws?v=1.
	BaseURL string
	// Endpoints are further base URLs of the same cluster. The Client starts
	// with BaseURL and moves to the next endpoint after every failed or lost
	// connection.
	Endpoints []string

	// Org and App name the app: requests go to /{Org}/{App}.
	Org string
	App string

	// Token is a user token. Without it the Client gets one with
	// Username and Password (POST /{org}/{app}/token, grant_type password),
	// and gets a new one when the server refuses an expired token.
	Token    string
	Username string
	Password string

	// Resource names this device (1-64 characters of [A-Za-z0-9_.-]); keep it
	// stable per installation. Empty: the server picks one at the first
	// connection and the Client keeps it for its reconnects.
	Resource   string
	Platform   string
	DeviceName string

	// Logger receives the Client's logs (never tokens, passwords or message
	// bodies). Nil: nothing is logged.
	Logger *slog.Logger

	// BackoffMin and BackoffMax bound the delay between reconnect attempts:
	// it starts at BackoffMin, doubles per failed attempt up to BackoffMax and
	// is jittered. Defaults: 500ms and 30s.
	BackoffMin time.Duration
	BackoffMax time.Duration

	// State persists the sync cursor and each conversation's processed seq
	// across Clients. Nil: an in-memory State, so a new Client is a new device.
	State State

	// SyncLatest is how many recent items per conversation a new device gets
	// with its first sync (1-100, default 20).
	SyncLatest int

	// EventHistory makes a new device (State without an event cursor)
	// receive every people event the server still holds (up to 30 days:
	// old friend requests, blocks, attribute changes, ...). By default a new
	// device starts at the current position and gets only the events that
	// happen from its first connection on; it reads the current state with
	// AllContacts, ContactRequests, AllBlocked and Attributes.
	EventHistory bool

	// Background starts the Client with the application in the
	// background: every connection, the first included, tells the server
	// right after signing in, so the user's messages are pushed as if this
	// device were offline. SetBackground changes it.
	Background bool

	// HTTPClient fetches tokens, uploads and downloads files, and makes
	// the push calls (BindPushDevice, SetPeerNotification, ...). A Timeout
	// on it also bounds large transfers; contexts bound each call. Nil:
	// http.DefaultClient, or one using TLSConfig if that is set.
	HTTPClient *http.Client

	// TLSConfig configures https:// and wss:// connections: RootCAs to
	// trust a private CA or a self-signed server, Certificates for a client
	// certificate. Nil: the system's roots, or, for the WebSocket, the
	// TLSClientConfig of HTTPClient's *http.Transport if it has one (so one
	// HTTPClient set up for a private CA serves both). The WebSocket always
	// negotiates HTTP/1.1 by ALPN, whatever NextProtos says.
	TLSConfig *tls.Config
}

const (
	defaultBackoffMin = 500 * time.Millisecond
	defaultBackoffMax = 30 * time.Second
	defaultSyncLatest = 20
)

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.BaseURL == "" && len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("BaseURL is required"))
	}
	for _, e := range c.endpoints() {
		if _, err := wsURL(e); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Org == "" || c.App == "" {
		errs = append(errs, errors.New("Org and App are required"))
	}
	if c.Token == "" && (c.Username == "" || c.Password == "") {
		errs = append(errs, errors.New("Token, or Username and Password, are required"))
	}
	if c.BackoffMin < 0 || c.BackoffMax < 0 {
		errs = append(errs, errors.New("backoff durations must not be negative"))
	}
	if c.SyncLatest < 0 || c.SyncLatest > 100 {
		errs = append(errs, fmt.Errorf("SyncLatest %d is outside 1-100", c.SyncLatest))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("parley: invalid config: %w", errors.Join(errs...))
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = defaultBackoffMin
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = defaultBackoffMax
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.SyncLatest == 0 {
		c.SyncLatest = defaultSyncLatest
	}
	if c.State == nil {
		c.State = NewMemoryState()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
		if c.TLSConfig != nil {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = c.TLSConfig.Clone()
			tr.ForceAttemptHTTP2 = true
			c.HTTPClient = &http.Client{Transport: tr}
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// wsTLSConfig is the TLS configuration of WebSocket dials: TLSConfig, or
// HTTPClient's, limited to HTTP/1.1 (nil: gorilla's default).
func (c *Config) wsTLSConfig() *tls.Config {
	base := c.TLSConfig
	if base == nil && c.HTTPClient != nil {
		if tr, ok := c.HTTPClient.Transport.(*http.Transport); ok {
			base = tr.TLSClientConfig
		}
	}
	if base == nil {
		return nil
	}
	cfg := base.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// endpoints lists BaseURL and Endpoints without repeats.
func (c *Config) endpoints() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range append([]string{c.BaseURL}, c.Endpoints...) {
		e = strings.TrimRight(e, "/")
		if e != "" && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// wsURL derives the WebSocket URL from a base URL:
// http://host:port/prefix becomes ws://host:port/prefix/ws?v=1.
func wsURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %w", base, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("endpoint %q: scheme must be http or https", base)
	}
	if u.Host == "" {
		return "", fmt.Errorf("endpoint %q has no host", base)
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/ws"
	u.RawPath = ""
	u.RawQuery = "v=" + strconv.Itoa(protocol.Version)
	u.Fragment = ""
	u.User = nil
	return u.String(), nil
}

// httpBase turns a base URL into the HTTP address the REST API is on.
func httpBase(base string) string {
	switch {
	case strings.HasPrefix(base, "ws://"):
		return "http://" + strings.TrimPrefix(base, "ws://")
	case strings.HasPrefix(base, "wss://"):
		return "https://" + strings.TrimPrefix(base, "wss://")
	}
	return base
}
