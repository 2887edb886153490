package provider

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// maxResponse bounds how much of a response body is read; the services'
// answers are small JSON documents.
const maxResponse = 64 << 10

// newTransport returns a transport for the push services: TLS 1.2+,
// HTTP/2 when the server offers it (only HTTP/2 when http2Only), and
// HTTP/2 pings so a silently dead connection is noticed.
func newTransport(http2Only bool) *http.Transport {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: time.Minute, PingTimeout: 15 * time.Second},
	}
	if http2Only {
		var p http.Protocols
		p.SetHTTP2(true)
		t.Protocols = &p
	}
	return t
}

// sharedTransport serves FCM, its token endpoint and webhooks, so apps
// with their own credentials share connections to Google.
var sharedTransport = sync.OnceValue(func() *http.Transport { return newTransport(false) })

// httpClient returns a copy of the caller's client (or a new one on
// transport) that never follows redirects.
func httpClient(c *http.Client, transport func() http.RoundTripper) *http.Client {
	var cc http.Client
	if c != nil {
		cc = *c
	} else {
		cc = http.Client{Transport: transport(), Timeout: 30 * time.Second}
	}
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// response is what a provider needs of an HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and reads at most maxResponse bytes of the answer. A
// failure to get an answer is a *RetryError (status 0), unless ctx ended.
func do(ctx context.Context, c *http.Client, req *http.Request) (*response, error) {
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		// The URL can hold a device token (APNs) or a secret (a webhook's
		// query): errors name the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s %s://%s: %w", ue.Op, req.URL.Scheme, req.URL.Host, ue.Err)
		}
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &RetryError{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &RetryError{Status: resp.StatusCode, Err: fmt.Errorf("reading the response: %w", err)}
	}
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// temporary reports whether status means "try again later".
func temporary(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// retryError returns the *RetryError for r, with the service's
// Retry-After (delta seconds or an HTTP date, relative to now).
func retryError(r *response, now time.Time, err error) *RetryError {
	return &RetryError{Status: r.status, After: retryAfter(r.header.Get("Retry-After"), now), Err: err}
}

// retryAfter parses a Retry-After value; 0 when absent, unparsable or in
// the past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// snippet returns the start of an unrecognised response body for an error
// message, on one line.
func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	const max = 200
	s := string(b)
	if len(b) > max {
		s = string(b[:max]) + "…"
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "(empty body)"
	}
	return s
}
