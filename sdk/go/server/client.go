package parleyserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Config configures a Client.
type Config struct {
	// BaseURLs are the server's base URLs ("https://im.example.com"), tried
	// in turn: a retry after a network error or a 5xx goes to the next one.
	BaseURLs []string
	// Org and App name the app (its app key is Org#App).
	Org, App string
	// ClientID and ClientSecret are the app's credentials (parley app create
	// prints them; /management rotates them).
	ClientID, ClientSecret string
	// TokenTTL asks for app tokens of this lifetime; 0: the server default.
	TokenTTL time.Duration
	// HTTPClient sends the requests; nil: a client with a 30 s timeout.
	HTTPClient *http.Client
	// MaxRetries bounds the retries of a request that is safe to repeat;
	// 0: 3; negative: no retries.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait between retries (doubling
	// from MinBackoff, full jitter); defaults 200 ms and 5 s. A Retry-After
	// header is honoured up to MaxRetryAfter (default 60 s); beyond it the
	// error is returned.
	MinBackoff, MaxBackoff, MaxRetryAfter time.Duration
	// UserAgent is sent on every request; empty: "parley-server-go".
	UserAgent string
}

// Client calls one app's REST API. It is safe for concurrent use.
type Client struct {
	cfg   Config
	hc    *http.Client
	bases []string
	next  atomic.Uint32 // index of the base URL to use next

	// fetch gets a new token: the app's client credentials, or an admin
	// sign-in for Management.
	fetch func(ctx context.Context) (*Token, error)

	// lock (a one-slot semaphore, so that waiting honours the context)
	// guards token and expires, and is held while a token is fetched:
	// concurrent calls share one fetch.
	lock    chan struct{}
	token   string
	expires time.Time // zero: never
}

// New checks cfg and returns a Client. It does not contact the server: the
// first call gets the app token.
func New(cfg Config) (*Client, error) {
	var problems []string
	if len(cfg.BaseURLs) == 0 {
		problems = append(problems, "at least one base URL is needed")
	}
	var bases []string
	for _, b := range cfg.BaseURLs {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("base URL %q is not an http(s) URL", b))
			continue
		}
		bases = append(bases, strings.TrimRight(b, "/"))
	}
	if cfg.Org == "" || cfg.App == "" {
		problems = append(problems, "org and app are needed")
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		problems = append(problems, "client_id and client_secret are needed")
	}
	if cfg.TokenTTL < 0 {
		problems = append(problems, "token TTL must not be negative")
	}
	if len(problems) > 0 {
		return nil, invalid("%s", strings.Join(problems, "; "))
	}
	cfg.setDefaults()
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Client{cfg: cfg, hc: hc, bases: bases, lock: make(chan struct{}, 1)}
	c.fetch = func(ctx context.Context) (*Token, error) { return c.ClientCredentialsToken(ctx, c.cfg.TokenTTL) }
	return c, nil
}

func (cfg *Config) setDefaults() {
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 200 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 60 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "parley-server-go"
	}
}

// AppKey returns "org#app".
func (c *Client) AppKey() string { return c.cfg.Org + "#" + c.cfg.App }

// request is one API call. path is relative to /{org}/{app} unless abs.
type request struct {
	method string
	path   string
	abs    bool
	query  url.Values
	body   any // JSON-encoded unless form, raw or nil
	form   url.Values
	raw    io.Reader // streamed once (never retried)
	ctype  string    // Content-Type of raw
	header http.Header
	// retry marks a POST as safe to repeat (read-only or idempotency key).
	retry bool
	// noRetry marks a PUT/DELETE as unsafe to repeat.
	noRetry bool
	// noAuth sends no Authorization header.
	noAuth bool
	// bearer overrides the app token (the management API).
	bearer string
}

func (r *request) retryable() bool {
	if r.raw != nil || r.noRetry {
		return false
	}
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.retry
}

// call sends r and decodes a JSON answer into out (if not nil).
func (c *Client) call(ctx context.Context, r *request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("parleyserver: %s %s: decoding the answer: %w", r.method, r.path, err)
	}
	return nil
}

// send sends r with retries and the token refresh, and returns a 2xx
// response whose body the caller closes.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	var payload []byte
	ctype := r.ctype
	switch {
	case r.form != nil:
		payload, ctype = []byte(r.form.Encode()), "application/x-www-form-urlencoded"
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("parleyserver: encoding the request: %w", err)
		}
		payload, ctype = b, "application/json"
	}
	refreshed := false
	for attempt := 0; ; attempt++ {
		var tok string
		if !r.noAuth {
			if r.bearer != "" {
				tok = r.bearer
			} else {
				var err error
				if tok, err = c.appToken(ctx, false); err != nil {
					return nil, err
				}
			}
		}
		var body io.Reader
		if r.raw != nil {
			body = r.raw
		} else if payload != nil {
			body = bytes.NewReader(payload)
		}
		base := c.bases[int(c.next.Load())%len(c.bases)]
		req, err := http.NewRequestWithContext(ctx, r.method, c.url(base, r), body)
		if err != nil {
			return nil, fmt.Errorf("parleyserver: %w", err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for k, v := range r.header {
			req.Header[k] = v
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.cfg.UserAgent)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := c.hc.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.rotate()
			if !r.retryable() || attempt >= c.cfg.MaxRetries {
				return nil, fmt.Errorf("parleyserver: %s %s: %w", r.method, r.path, err)
			}
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return resp, nil
		default:
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			e := decodeError(resp, raw)
			if resp.StatusCode == http.StatusUnauthorized && !r.noAuth && r.bearer == "" && !refreshed && r.raw == nil {
				// The token may have been revoked (secret rotated) or
				// expired early: get a new one and try once more.
				refreshed = true
				c.dropToken(tok)
				attempt--
				continue
			}
			if !retryStatus(resp.StatusCode) || !r.retryable() || attempt >= c.cfg.MaxRetries {
				return nil, e
			}
			if e.RetryAfter > c.cfg.MaxRetryAfter {
				return nil, e
			}
			wait = e.RetryAfter
			if resp.StatusCode >= 500 {
				c.rotate()
			}
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func retryStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout || code == http.StatusInternalServerError
}

// backoff is exponential with full jitter.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.MinBackoff << min(attempt, 20)
	if d <= 0 || d > c.cfg.MaxBackoff {
		d = c.cfg.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func (c *Client) rotate() {
	if len(c.bases) > 1 {
		c.next.Add(1)
	}
}

func (c *Client) url(base string, r *request) string {
	u := base
	if !r.abs {
		u += "/" + url.PathEscape(c.cfg.Org) + "/" + url.PathEscape(c.cfg.App)
	}
	u += r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	return u
}

// AppToken returns the cached app token, getting a new one when there is
// none or it expires within a tenth of its lifetime (at most 10 minutes).
func (c *Client) AppToken(ctx context.Context) (string, error) { return c.appToken(ctx, false) }

func (c *Client) appToken(ctx context.Context, force bool) (string, error) {
	select {
	case c.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.lock }()
	if !force && c.token != "" && (c.expires.IsZero() || time.Now().Before(c.expires)) {
		return c.token, nil
	}
	t, err := c.fetch(ctx)
	if err != nil {
		return "", err
	}
	c.token = t.AccessToken
	c.expires = time.Time{}
	if t.ExpiresIn > 0 {
		life := time.Duration(t.ExpiresIn) * time.Second
		margin := min(life/10, 10*time.Minute)
		c.expires = time.Now().Add(life - margin)
	}
	return c.token, nil
}

// dropToken forgets tok if it is still the cached token.
func (c *Client) dropToken(tok string) {
	c.lock <- struct{}{}
	defer func() { <-c.lock }()
	if c.token == tok {
		c.token = ""
	}
}

// need reports the first empty value of name=value pairs as an invalid
// argument.
func need(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return invalid("%s is empty", pairs[i])
		}
	}
	return nil
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// segs escapes a comma-separated list of path segments.
func segs(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = url.PathEscape(s)
	}
	return strings.Join(out, ",")
}

// needList checks a list is 1..max long with no empty items.
func needList(name string, list []string, max int) error {
	if len(list) == 0 {
		return invalid("%s is empty", name)
	}
	if max > 0 && len(list) > max {
		return invalid("%s has %d items, at most %d", name, len(list), max)
	}
	for _, s := range list {
		if strings.TrimSpace(s) == "" {
			return invalid("%s has an empty item", name)
		}
	}
	return nil
}
