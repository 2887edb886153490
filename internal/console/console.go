// Package console is the web console: its JSON API under /console/api/
// (docs/console.md, the contract with the front end) and the front end
// itself, embedded from web/ and served under /console/.
//
// It is a transport like the REST API: it signs console accounts in
// (internal/admin), checks their role and app scope, then calls the same
// domain service methods the REST API calls, with the app-admin principal
// of the chosen app (tenant.AdminOf). No domain rule lives here.
package console

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/callback"
	"github.com/parleyim/parley/internal/erasure"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/moderation"
	"github.com/parleyim/parley/internal/obs"
	"github.com/parleyim/parley/internal/presence"
	"github.com/parleyim/parley/internal/push"
	"github.com/parleyim/parley/internal/ratelimit"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/internal/social"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

//go:embed web
var webFiles embed.FS

// Paths.
const (
	Prefix    = "/console/"
	APIPrefix = "/console/api/"
	// CookieName is the session cookie.
	CookieName = "parley_console"
	// CSRFHeader carries the session's CSRF token.
	CSRFHeader = "X-CSRF-Token"
)

// PageCSP is the Content-Security-Policy of the console's files: its own
// scripts and styles only (no inline code, no eval), connections to its own
// origin (the API, the stats stream), images and media of messages from
// wherever their files are (thumbnails may be on another host), no plugins,
// frames or <base>, and never inside another site's frame. index.html
// repeats it (but frame-ancestors, which a meta tag cannot set) for a page
// saved to disk; a test keeps the two equal.
const PageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; " +
	"media-src 'self' http: https:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-src 'none'; frame-ancestors 'none'"

// apiCSP is the policy of API answers (JSON, never a document to render).
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// Page sizes of lists (docs/console.md).
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Deps are the services the console adapts.
type Deps struct {
	Admins   *admin.Service
	Apps     *tenant.Service
	Users    *users.Service
	Social   *social.Service
	Groups   *groups.Service
	Rooms    *rooms.Service
	Messages *messaging.Service
	Push     *push.Service
	// Moderation, if set, serves keyword lists, reports and flags.
	Moderation *moderation.Service
	// Callbacks, if set, serves failed callback deliveries.
	Callbacks *callback.Service
	// Erasure, if set, serves a user's full erasure.
	Erasure *erasure.Service
	// Presence answers who is online; if it is also a presence.Counter
	// (the gateway's hub, the cluster replica) it feeds the stats.
	Presence presence.Directory
	Metrics  *obs.Metrics
	Log      *slog.Logger
	// NodeID is this node's ID, shown with the stats.
	NodeID int
	// MaxBodyBytes bounds JSON request bodies.
	MaxBodyBytes int64
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed.
	TrustedProxies []netip.Prefix
	// Limits, if set, limits sign-ins per client address (with the REST
	// API's token requests).
	Limits *ratelimit.Policy
}

// Handler serves the console: the API and the embedded front end.
type Handler struct {
	Deps
	api    *http.ServeMux
	static http.Handler
	stats  *sampler

	// registry records every API route (Routes).
	registry  []Route
	closeOnce sync.Once
	done      chan struct{} // closed when the server shuts down
}

// New builds the handler with every route registered.
func New(d Deps) *Handler {
	h := &Handler{Deps: d, api: http.NewServeMux(), done: make(chan struct{})}
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	h.static = http.StripPrefix("/console", http.FileServerFS(sub))
	h.stats = newSampler(h)
	h.routes()
	return h
}

func (h *Handler) routes() {
	h.sessionRoutes()
	h.adminRoutes()
	h.appRoutes()
	h.callbackRoutes()
	h.userRoutes()
	h.chatRoutes()
	h.messageRoutes()
	h.statsRoutes()
	h.moderationRoutes()
}

// Close ends the long-lived requests (the stats streams), so that a
// graceful shutdown does not wait for them.
func (h *Handler) Close() { h.closeOnce.Do(func() { close(h.done) }) }

// access says who may call a route.
type access int

const (
	public    access = iota // anyone (signing in)
	signedIn                // any role
	ownerOnly               // the owner role
	appRead                 // an /apps/{org}/{app}/... read: a role that may see the app
	appChange               // an /apps/{org}/{app}/... change: owner, or app_admin of the app
)

// call is one API request being served.
type call struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	start time.Time
	reqID string
	ip    string

	sess *admin.Session
	app  *tenant.App
	p    *tenant.Principal

	// What the audit entry of a change names.
	target string
	detail map[string]any
}

func (c *call) ctx() context.Context { return c.r.Context() }

func (c *call) account() *admin.Account {
	if c.sess == nil {
		return nil
	}
	return c.sess.Account
}

// handlerFunc returns the response body (JSON, status 200) or an error.
type handlerFunc func(c *call) (any, error)

// handle registers an API route. pattern is "METHOD /path" relative to
// /console/api. A route with an action is a change: it is written to the
// audit log when it succeeds.
func (h *Handler) handle(pattern string, acc access, action string, fn handlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	h.register(method, path, acc, func(w http.ResponseWriter, r *http.Request) {
		c := &call{h: h, w: w, r: r, start: startOf(r), reqID: w.Header().Get("X-Request-Id"), ip: h.clientIP(r)}
		body, err := h.run(c, acc, fn)
		if err != nil {
			h.writeError(w, c, err)
			return
		}
		if action != "" {
			h.audit(c, action)
		}
		if body != nil {
			writeJSON(w, http.StatusOK, body)
		}
	})
}

// Route is one route of the console's API.
type Route struct {
	Method string
	Path   string // relative to /console/api
	// Access is who may call it: public, signed-in, owner, app-read or
	// app-change (docs/console.md).
	Access string
}

var accessNames = map[access]string{public: "public", signedIn: "signed-in", ownerOnly: "owner", appRead: "app-read",
	appChange: "app-change"}

// Routes lists every route of the console's API, in registration order
// (the authorization matrix test checks it has an entry for each).
func (h *Handler) Routes() []Route { return append([]Route(nil), h.registry...) }

// register adds a route to the mux and to the registry: every API route
// goes through here.
func (h *Handler) register(method, path string, acc access, fn http.HandlerFunc) {
	h.registry = append(h.registry, Route{Method: method, Path: path, Access: accessNames[acc]})
	h.api.HandleFunc(method+" /console/api"+path, fn)
}

// run authenticates and authorises a call, then runs fn. The order is the
// contract's: the session (401), the CSRF token (403 csrf), the role and
// app scope (403 forbidden); the cross-site check came before all of them
// (ServeHTTP).
func (h *Handler) run(c *call, acc access, fn handlerFunc) (any, error) {
	if acc != public {
		sess, err := h.session(c)
		if err != nil {
			return nil, err
		}
		c.sess = sess
		if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead && !sess.CheckCSRF(c.r.Header.Get(CSRFHeader)) {
			return nil, errs.New(protocol.ErrCSRF, "this request needs the session's CSRF token in %s", CSRFHeader)
		}
	}
	switch acc {
	case ownerOnly:
		if err := c.account().RequireOwner(); err != nil {
			return nil, err
		}
	case appRead, appChange:
		app, err := h.Apps.Resolve(c.ctx(), c.r.PathValue("org"), c.r.PathValue("app"))
		if err != nil {
			if errs.Is(err, protocol.ErrAppNotFound) && !c.account().AllApps() {
				// Do not tell a scoped account which apps exist.
				return nil, errs.New(protocol.ErrRoleForbidden, "this account may not use app %s/%s",
					c.r.PathValue("org"), c.r.PathValue("app"))
			}
			return nil, err
		}
		if acc == appRead {
			err = c.account().RequireRead(app)
		} else {
			err = c.account().RequireChange(app)
		}
		if err != nil {
			return nil, err
		}
		c.app, c.p = app, tenant.AdminOf(app)
	}
	if _, err := url.ParseQuery(c.r.URL.RawQuery); err != nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "malformed query string: %v", err)
	}
	return fn(c)
}

// session returns the call's session from its cookie, refreshing the
// cookie when the session's expiry moved.
func (h *Handler) session(c *call) (*admin.Session, error) {
	ck, err := c.r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return nil, errs.New(protocol.ErrUnauthorized, "not signed in")
	}
	sess, err := h.Admins.Session(c.ctx(), ck.Value)
	if err != nil {
		return nil, err
	}
	if sess.Extended {
		h.setCookie(c, ck.Value, admin.SessionTTL)
	}
	return sess, nil
}

func (h *Handler) setCookie(c *call, value string, ttl time.Duration) {
	ck := &http.Cookie{Name: CookieName, Value: value, Path: "/console", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: h.secure(c.r)}
	if ttl > 0 {
		ck.MaxAge = int(ttl / time.Second)
	} else {
		ck.MaxAge = -1
	}
	http.SetCookie(c.w, ck)
}

// audit writes the audit entry of a successful change.
func (h *Handler) audit(c *call, action string) {
	e := admin.Entry{Actor: c.account().Username, IP: c.ip, Action: action, Target: c.target, Detail: c.detail}
	if c.app != nil {
		e.App = c.app.Org + "/" + c.app.Name
	}
	h.Admins.Record(c.ctx(), e)
}

// ---- HTTP plumbing -------------------------------------------------------------------

type startKey struct{}

func startOf(r *http.Request) time.Time {
	if t, ok := r.Context().Value(startKey{}).(time.Time); ok {
		return t
	}
	return time.Now()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal_server_error","error_description":"response encoding failed","code":"internal_error"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeError answers in the REST error shape (docs/errors.md): domain
// errors as they are, anything else as internal_error with the request ID
// (the detail goes to the log).
func (h *Handler) writeError(w http.ResponseWriter, c *call, err error) {
	var te *admin.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((te.RetryAfter+time.Second-1)/time.Second), 10))
	}
	var le *ratelimit.Error
	if errors.As(err, &le) {
		w.Header().Set("Retry-After", strconv.FormatInt(le.RetrySeconds(), 10))
	}
	e, ok := errs.As(err)
	if !ok {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			e = errs.New(protocol.ErrInvalidBody, "request body is larger than %d bytes", mbe.Limit)
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			e = errs.New(protocol.ErrUnavailable, "request cancelled or timed out (request id %s)", c.reqID)
		case errs.Unreachable(err):
			// An outage (the database restarting), not a bug: retry.
			obs.Logger(c.ctx()).Warn("backend unreachable", "err", err)
			e = errs.New(protocol.ErrUnavailable, "storage unreachable; retry (request id %s)", c.reqID)
		default:
			obs.Logger(c.ctx()).Error("internal error", "err", err)
			h.Metrics.InternalErrors.WithLabelValues("console").Inc()
			e = errs.New(protocol.ErrInternal, "internal error (request id %s)", c.reqID)
		}
	}
	writeJSON(w, e.Kind.Status, protocol.ErrorBody{
		Error: e.Kind.Error, Exception: e.Kind.Exception, Timestamp: time.Now().UnixMilli(),
		Duration: time.Since(c.start).Milliseconds(), ErrorDescription: e.Description, Code: e.Kind.ID,
	})
}

// statusWriter records the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController flush the stats stream.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ServeHTTP adds a request ID, the request logger, panic recovery, the
// access log, metrics and security headers; refuses cross-site API
// requests before anything else; and dispatches to the API or the files.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	log := h.Log.With("request_id", id)
	ctx := context.WithValue(obs.WithLogger(r.Context(), log), startKey{}, start)
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: w}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	route := "console unmatched"
	api := strings.HasPrefix(r.URL.Path, APIPrefix)
	h.Metrics.HTTPInFlight.Inc()
	defer func() {
		h.Metrics.HTTPInFlight.Dec()
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.Error("panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.status == 0 {
				h.writeError(sw, &call{r: r, start: start, reqID: id}, fmt.Errorf("panic: %v", v))
			}
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		h.Metrics.HTTPRequests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		h.Metrics.HTTPDuration.WithLabelValues(route, r.Method).Observe(d.Seconds())
		level := slog.LevelInfo
		if !api {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "http request", "method", r.Method, "path", r.URL.Path, "route", route,
			"status", sw.status, "duration_ms", float64(d.Microseconds())/1000)
	}()
	if !api {
		route = "GET /console/"
		hdr.Set("Content-Security-Policy", PageCSP)
		hdr.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			hdr.Set("Allow", "GET, HEAD")
			h.writeError(sw, &call{r: r, start: start, reqID: id},
				errs.New(protocol.ErrMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path))
			return
		}
		if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != Prefix {
			// No directory listings: only the files themselves.
			h.writeError(sw, &call{r: r, start: start, reqID: id}, errs.New(protocol.ErrNotFound, "no file %s", r.URL.Path))
			return
		}
		h.static.ServeHTTP(sw, r)
		return
	}
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", apiCSP)
	if err := crossSite(r); err != nil {
		log.Warn("cross-site console request refused", "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		h.writeError(sw, &call{r: r, start: start, reqID: id}, err)
		return
	}
	handler, pattern := h.api.Handler(r)
	if pattern == "" {
		// Let the mux tell 404 from 405 (it sets Allow), then answer in our shape.
		probe := &headerOnly{h: http.Header{}}
		handler.ServeHTTP(probe, r)
		if allow := probe.h.Get("Allow"); allow != "" {
			hdr.Set("Allow", allow)
		}
		kind, desc := protocol.ErrNotFound, "no console API path "+r.URL.Path
		if probe.status == http.StatusMethodNotAllowed {
			kind, desc = protocol.ErrMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)
		}
		h.writeError(sw, &call{r: r, start: start, reqID: id}, errs.New(kind, "%s", desc))
		return
	}
	route = pattern
	h.api.ServeHTTP(sw, r)
}

// headerOnly captures what the mux's built-in 404/405 handlers would write.
type headerOnly struct {
	h      http.Header
	status int
}

func (p *headerOnly) Header() http.Header         { return p.h }
func (p *headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerOnly) WriteHeader(code int)        { p.status = code }

// crossSite refuses a request that another site made: its Origin names
// another host (or is "null", an opaque origin), or, without an Origin,
// Sec-Fetch-Site says cross-site. SameSite=Strict already keeps the
// cookie off such requests; this also stops them before any work.
func crossSite(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if o == "null" || err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return errs.New(protocol.ErrCSRF, "cross-site request refused (Origin %q)", o)
		}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return errs.New(protocol.ErrCSRF, "cross-site request refused (Sec-Fetch-Site: cross-site)")
	}
	return nil
}

// clientIP is the request's client address: the connection's, or, from a
// trusted proxy, the last address in X-Forwarded-For that is not one.
func (h *Handler) clientIP(r *http.Request) string { return ratelimit.ClientIP(r, h.TrustedProxies) }

func (h *Handler) trusted(ip netip.Addr) bool {
	for _, p := range h.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// secure reports whether the browser reached us over TLS (directly, or
// through a trusted proxy that says so).
func (h *Handler) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && h.trusted(addr.Addr().Unmap()) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
