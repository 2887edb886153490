// Package rest is the Easemob-compatible REST API: a thin adapter that
// decodes requests, calls the domain services and encodes the Usergrid-style
// envelope. All rules live in the services; this package only translates.
package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/callback"
	"github.com/parleyim/parley/internal/erasure"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/files"
	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/identity"
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

// Deps are the services the API adapts.
type Deps struct {
	Apps     *tenant.Service
	Identity *identity.Service
	Users    *users.Service
	Admins   *admin.Service
	Messages *messaging.Service
	Files    *files.Service // nil: no file routes
	Social   *social.Service
	Groups   *groups.Service
	Rooms    *rooms.Service
	Push     *push.Service
	Presence presence.Directory
	// Callbacks, if set, serves callback rules and failed deliveries.
	Callbacks *callback.Service
	// Moderation, if set, serves keyword lists, reports and records.
	Moderation *moderation.Service
	// Erasure, if set, serves DELETE /users/{username}?erase=true.
	Erasure *erasure.Service
	Log     *slog.Logger
	Metrics *obs.Metrics
	// MaxBodyBytes bounds JSON request bodies.
	MaxBodyBytes int64
	// Ready reports whether the server takes traffic (/readyz).
	Ready func(ctx context.Context) error
	// CORS, if set, lets browser pages on other origins call the API.
	CORS *CORS
	// Limits, if set, rate-limits requests per app class, user and client
	// address (docs/operations.md, "Rate limits").
	Limits *ratelimit.Policy
}

// Server is the HTTP handler for the whole API.
type Server struct {
	Deps
	mux      *http.ServeMux
	mgmt     *http.ServeMux
	draining atomic.Bool
	// registry records every registration, in order (see Routes).
	registry []Route
}

// Gate is what a route checks before its handler runs. Who may then do
// what is decided by the domain services (RequireAdmin, RequireSelfOrAdmin,
// group and room roles); the authorization matrix test
// (authz_test.go) holds the expected answer of every route.
type Gate string

// The gates of the API's routes.
const (
	// GateNone: no credentials (health, readiness, metrics).
	GateNone Gate = "none"
	// GateApp: /{org}/{app} is resolved and the bearer token, if any, is
	// verified for that app; an absent token gives an anonymous principal
	// that the handler's service must refuse where it needs one.
	GateApp Gate = "app"
	// GateFile: like GateApp, and a restricted file's share-secret may
	// stand in for a token (downloads).
	GateFile Gate = "file"
	// GateSignIn: /management/token, answered to anyone with an admin's
	// password.
	GateSignIn Gate = "sign-in"
	// GateAdmin: a management token of a console account; the handler
	// checks the account's role and app scope.
	GateAdmin Gate = "admin"
)

// Route is one registered route.
type Route struct {
	Method  string // GET, POST, ...
	Pattern string // the path pattern, e.g. /{org}/{app}/users/{username}
	Gate    Gate
}

// Key is "METHOD pattern", as registered with the mux.
func (r Route) Key() string { return r.Method + " " + r.Pattern }

// Routes lists every route of the API, in registration order. Every route
// is registered through handle, so nothing can be served that is not
// listed here.
func (s *Server) Routes() []Route { return append([]Route(nil), s.registry...) }

// handle registers h on mux under pattern ("METHOD /path") and records the
// route with its gate.
func (s *Server) handle(mux *http.ServeMux, pattern string, g Gate, h http.Handler) {
	method, path, _ := strings.Cut(pattern, " ") // every pattern names its method
	s.registry = append(s.registry, Route{Method: method, Pattern: path, Gate: g})
	mux.Handle(pattern, h)
}

// New builds the handler with every route registered.
func New(d Deps) *Server {
	s := &Server{Deps: d, mux: http.NewServeMux(), mgmt: http.NewServeMux()}
	s.routes()
	s.messageRoutes()
	s.fileRoutes()
	s.socialRoutes()
	s.groupRoutes()
	s.roomRoutes()
	s.pushRoutes()
	s.callbackRoutes()
	s.managementRoutes()
	s.moderationRoutes()
	s.historyRoutes()
	return s
}

// Drain makes /readyz fail so load balancers stop sending new traffic.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) routes() {
	s.handle(s.mux, "GET /healthz", GateNone, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	s.handle(s.mux, "GET /readyz", GateNone, http.HandlerFunc(s.readyz))
	s.handle(s.mux, "GET /metrics", GateNone, promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))

	s.app("POST /{org}/{app}/token", s.token)
	s.app("POST /{org}/{app}/users", s.registerUsers)
	s.app("GET /{org}/{app}/users", s.listUsers)
	s.app("DELETE /{org}/{app}/users", s.deleteOldestUsers)
	s.app("GET /{org}/{app}/users/{username}", s.getUser)
	s.app("PUT /{org}/{app}/users/{username}", s.updateUser)
	s.app("DELETE /{org}/{app}/users/{username}", s.deleteUser)
	// The per-endpoint docs say PUT, the rate table says POST: accept both.
	s.app("PUT /{org}/{app}/users/{username}/password", s.setPassword)
	s.app("POST /{org}/{app}/users/{username}/password", s.setPassword)
	s.app("POST /{org}/{app}/users/{username}/deactivate", s.deactivateUser)
	s.app("POST /{org}/{app}/users/{username}/activate", s.activateUser)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			obs.Logger(r.Context()).Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// call is the per-request context of an app-scoped handler.
type call struct {
	r     *http.Request
	start time.Time
	p     *tenant.Principal
	reqID string
}

func (c *call) ctx() context.Context { return c.r.Context() }

// handlerFunc returns the response body (encoded as JSON with status 200) or
// an error (mapped by writeError).
type handlerFunc func(c *call) (any, error)

// app registers an app-scoped route: it resolves /{org}/{app}, authenticates
// the bearer token, runs fn and records metrics under the route pattern.
func (s *Server) app(pattern string, fn handlerFunc) {
	class := routeClass(pattern)
	s.handle(s.mux, pattern, GateApp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{r: r, start: startOf(r), reqID: w.Header().Get("X-Request-Id")}
		body, err := s.run(c, class, fn)
		if err != nil {
			s.writeError(w, c, err)
			return
		}
		writeJSON(w, http.StatusOK, body)
	}))
}

func (s *Server) run(c *call, class string, fn handlerFunc) (any, error) {
	app, err := s.Apps.Resolve(c.ctx(), c.r.PathValue("org"), c.r.PathValue("app"))
	if err != nil {
		return nil, err
	}
	c.p, err = s.Identity.Authenticate(c.ctx(), app, c.r.Header.Get("Authorization"))
	if lerr := s.limit(c, app, class, err); lerr != nil {
		return nil, lerr
	}
	if err != nil {
		return nil, err
	}
	if _, err := url.ParseQuery(c.r.URL.RawQuery); err != nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "malformed query string: %v", err)
	}
	return fn(c)
}

// limit spends the request's tokens: a token request, one of the client
// address's sign-in budget and one of the app's token class; a request
// without a valid token (authErr set, or anonymous), one of the address's
// budget (not the app's: strangers cannot use up an app's budget); a user's
// request, one of the user's budget and one of the app's class; an app
// admin's, one of the app's class.
func (s *Server) limit(c *call, app *tenant.App, class string, authErr error) error {
	if s.Limits == nil || !s.Limits.Enabled {
		return nil
	}
	anonymous := authErr != nil || c.p.Anonymous()
	switch {
	case class == tenant.ClassToken:
		if anonymous {
			if err := s.Limits.SignInAttempt(s.Limits.ClientIP(c.r)); err != nil {
				return err
			}
		}
	case anonymous:
		return s.Limits.AnonymousRequest(s.Limits.ClientIP(c.r))
	case !c.p.Admin:
		if err := s.Limits.UserRequest(app.ID, c.p.UserID); err != nil {
			return err
		}
	}
	return s.Limits.App(app.ID, app.AppKey(), class, app.Settings.RateLimit(class))
}

// routeClass is the rate limit class of an app route pattern.
func routeClass(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimPrefix(path, "/{org}/{app}")
	switch {
	case path == "/token":
		return tenant.ClassToken
	case method == "DELETE" && path == "/users":
		return tenant.ClassUsersDelete
	case strings.Contains(path, "/blocks/users") || strings.Contains(path, "/presence"):
		return tenant.ClassSocial
	case path == "/chatrooms" && (method == "POST" || method == "GET"):
		return tenant.ClassRooms
	case method == "POST" && (path == "/messages/chatgroups" || path == "/messages/chatgroups/import"):
		return tenant.ClassGroupMessages
	case method == "POST" && strings.HasPrefix(path, "/messages/") && !strings.Contains(path, "recall") &&
		!strings.HasSuffix(path, "/broadcast"):
		return tenant.ClassMessages
	case strings.Contains(path, "/notification/template"):
		return tenant.ClassPushTemplates
	case strings.HasPrefix(path, "/chatmessages/"):
		return tenant.ClassHistory
	}
	return tenant.ClassDefault
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal_server_error","error_description":"response encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) writeError(w http.ResponseWriter, c *call, err error) {
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
			s.Metrics.InternalErrors.WithLabelValues("rest").Inc()
			e = errs.New(protocol.ErrInternal, "internal error (request id %s)", c.reqID)
		}
	}
	writeJSON(w, e.Kind.Status, protocol.ErrorBody{
		Error: e.Kind.Error, Exception: e.Kind.Exception, Timestamp: time.Now().UnixMilli(),
		Duration: time.Since(c.start).Milliseconds(), ErrorDescription: e.Description, Code: e.Kind.ID,
	})
}

type startKey struct{}

func startOf(r *http.Request) time.Time {
	if t, ok := r.Context().Value(startKey{}).(time.Time); ok {
		return t
	}
	return time.Now()
}

// statusWriter records the status code for logs and metrics.
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

// Unwrap lets http.ResponseController reach the underlying writer
// (the WebSocket upgrade needs it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newRequestID(incoming string) string {
	if n := len(incoming); n > 0 && n <= 64 {
		ok := true
		for i := 0; i < n; i++ {
			c := incoming[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				ok = false
				break
			}
		}
		if ok {
			return incoming
		}
	}
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ServeHTTP adds the request ID, the request logger, panic recovery, the
// access log and metrics around the mux, and answers unknown paths and
// methods in the API error shape.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID(r.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", id)
	if s.CORS.handle(w, r) {
		return // a preflight
	}
	log := s.Log.With("request_id", id)
	ctx := context.WithValue(obs.WithLogger(r.Context(), log), startKey{}, start)
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: w}
	s.Metrics.HTTPInFlight.Inc()
	route := "unmatched"
	defer func() {
		s.Metrics.HTTPInFlight.Dec()
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.Error("panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.status == 0 {
				s.writeError(sw, &call{r: r, start: start, reqID: id}, fmt.Errorf("panic: %v", v))
			}
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		s.Metrics.HTTPRequests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		s.Metrics.HTTPDuration.WithLabelValues(route, r.Method).Observe(d.Seconds())
		level := slog.LevelInfo
		if route == "GET /healthz" || route == "GET /readyz" || route == "GET /metrics" {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "http request", "method", r.Method, "path", r.URL.Path, "route", route,
			"status", sw.status, "duration_ms", float64(d.Microseconds())/1000)
	}()
	mux := s.mux
	if strings.HasPrefix(r.URL.Path, "/management/") {
		mux = s.mgmt
	}
	h, pattern := mux.Handler(r)
	if pattern == "" {
		// Let the mux tell 404 from 405 (it sets Allow), then answer in our shape.
		probe := &headerOnly{h: http.Header{}}
		h.ServeHTTP(probe, r)
		if allow := probe.h.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		kind := protocol.ErrNotFound
		desc := "no API path " + r.URL.Path
		if probe.status == http.StatusMethodNotAllowed {
			kind = protocol.ErrMethodNotAllowed
			desc = fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)
		}
		s.writeError(sw, &call{r: r, start: start, reqID: id}, errs.New(kind, "%s", desc))
		return
	}
	route = pattern
	mux.ServeHTTP(sw, r)
}

// headerOnly captures what the mux's built-in 404/405 handlers would write.
type headerOnly struct {
	h      http.Header
	status int
}

func (p *headerOnly) Header() http.Header         { return p.h }
func (p *headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerOnly) WriteHeader(code int)        { p.status = code }
