package parleyserver

import (
	"context"
	"net/http"
	"time"
)

// The /management API is app-independent: it is signed in with a console
// admin account, not an app's credentials, and creates and lists apps and
// rotates their secrets. It has its own client, Management, so that a
// Client stays bound to one app.

// ManagementConfig configures a Management client.
type ManagementConfig struct {
	// BaseURLs, HTTPClient, MaxRetries and the backoff bounds are as in
	// Config.
	BaseURLs                              []string
	HTTPClient                            *http.Client
	MaxRetries                            int
	MinBackoff, MaxBackoff, MaxRetryAfter time.Duration
	// Username and Password are a console admin account's.
	Username, Password string
	// TokenTTL asks for admin tokens of this lifetime (≤30 days); 0: the
	// server's 24 hours.
	TokenTTL time.Duration
}

// Management calls the /management API. It signs in on first use, keeps
// the admin token and signs in again before it expires or after a 401.
// It is safe for concurrent use.
type Management struct {
	c *Client
}

// NewManagement checks cfg and returns a Management client.
func NewManagement(cfg ManagementConfig) (*Management, error) {
	if cfg.Username == "" || cfg.Password == "" {
		return nil, invalid("the admin username and password are needed")
	}
	c, err := New(Config{BaseURLs: cfg.BaseURLs, Org: "management", App: "-", ClientID: "-", ClientSecret: "-",
		HTTPClient: cfg.HTTPClient, MaxRetries: cfg.MaxRetries, MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff,
		MaxRetryAfter: cfg.MaxRetryAfter, TokenTTL: cfg.TokenTTL})
	if err != nil {
		return nil, err
	}
	m := &Management{c: c}
	c.fetch = func(ctx context.Context) (*Token, error) {
		return m.AdminToken(ctx, cfg.Username, cfg.Password, cfg.TokenTTL)
	}
	return m, nil
}

// AdminToken signs an admin in (POST /management/token). The Management
// client does this itself; use it to hand a token to another program.
func (m *Management) AdminToken(ctx context.Context, username, password string, ttl time.Duration) (*Token, error) {
	if err := need("username", username, "password", password); err != nil {
		return nil, err
	}
	var t Token
	err := m.c.call(ctx, &request{method: http.MethodPost, path: "/management/token", abs: true, noAuth: true, retry: true,
		body: tokenRequest{GrantType: "password", Username: username, Password: password, TTL: ttlSeconds(ttl)}}, &t)
	return &t, err
}

// AppCredentials are a new app's, or an app's rotated, credentials. The
// secret is shown only here.
type AppCredentials struct {
	AppKey       string `json:"appkey"`
	OrgName      string `json:"org_name"`
	AppName      string `json:"app_name"`
	Application  string `json:"application"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Created      int64  `json:"created"`
}

// Config returns a Client configuration for the app at baseURLs.
func (a *AppCredentials) Config(baseURLs ...string) Config {
	return Config{BaseURLs: baseURLs, Org: a.OrgName, App: a.AppName, ClientID: a.ClientID, ClientSecret: a.ClientSecret}
}

// App is an app as the management API lists it (no secret).
type App struct {
	AppKey      string         `json:"appkey"`
	OrgName     string         `json:"org_name"`
	AppName     string         `json:"app_name"`
	Application string         `json:"application"`
	ClientID    string         `json:"client_id"`
	Created     int64          `json:"created"`
	Modified    int64          `json:"modified"`
	Settings    map[string]any `json:"settings"`
}

// CreateApp creates an app in org (owners only). Sent once.
func (m *Management) CreateApp(ctx context.Context, org, name string, openRegistration bool) (*AppCredentials, error) {
	if err := need("org", org, "app name", name); err != nil {
		return nil, err
	}
	var out AppCredentials
	_, err := m.c.data(ctx, &request{method: http.MethodPost, abs: true, path: "/management/orgs/" + seg(org) + "/applications",
		body: map[string]any{"name": name, "open_registration": openRegistration}}, &out)
	return &out, err
}

// ListApps lists the apps of org the admin may read.
func (m *Management) ListApps(ctx context.Context, org string) ([]App, error) {
	if err := need("org", org); err != nil {
		return nil, err
	}
	var out []App
	_, err := m.c.data(ctx, &request{method: http.MethodGet, abs: true, path: "/management/orgs/" + seg(org) + "/applications"}, &out)
	return out, err
}

// RotateCredentials replaces an app's client secret; every token of the
// app is revoked. Sent once (a repeat would rotate again).
func (m *Management) RotateCredentials(ctx context.Context, org, app string) (*AppCredentials, error) {
	if err := need("org", org, "app", app); err != nil {
		return nil, err
	}
	var out AppCredentials
	_, err := m.c.data(ctx, &request{method: http.MethodPost, abs: true,
		path: "/management/orgs/" + seg(org) + "/applications/" + seg(app) + "/credentials"}, &out)
	return &out, err
}
