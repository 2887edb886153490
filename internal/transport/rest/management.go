package rest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Management API (Usergrid-style, under /management): admins sign in with a
// console account and manage apps over HTTP, so an app can be created with
// curl alone. Roles apply as in the console: only an owner creates apps,
// an app_admin rotates the credentials of its apps, a viewer lists its apps. These routes live on their own mux because their paths would
// otherwise overlap the /{org}/{app}/... patterns; "management" is a
// reserved org name.
func (s *Server) managementRoutes() {
	m := s.mgmt
	s.manage(m, "POST /management/token", false, s.adminToken)
	s.manage(m, "POST /management/orgs/{org}/applications", true, s.createApp)
	s.manage(m, "GET /management/orgs/{org}/applications", true, s.listApps)
	s.manage(m, "POST /management/orgs/{org}/applications/{app}/credentials", true, s.rotateCredentials)
}

type mgmtCall struct {
	call
	admin *admin.Account
}

func (s *Server) manage(m *http.ServeMux, pattern string, needAdmin bool, fn func(c *mgmtCall) (any, error)) {
	g := GateSignIn
	if needAdmin {
		g = GateAdmin
	}
	s.handle(m, pattern, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &mgmtCall{call: call{r: r, start: startOf(r), reqID: w.Header().Get("X-Request-Id")}}
		if needAdmin {
			a, err := s.Admins.Authenticate(r.Context(), r.Header.Get("Authorization"))
			if err != nil {
				s.writeError(w, &c.call, err)
				return
			}
			c.admin = a
		}
		body, err := fn(c)
		if err != nil {
			s.writeError(w, &c.call, err)
			return
		}
		writeJSON(w, http.StatusOK, body)
	}))
}

func (s *Server) adminToken(c *mgmtCall) (any, error) {
	var b struct {
		GrantType string `json:"grant_type"`
		Username  string `json:"username"`
		Password  string `json:"password"`
		TTL       int64  `json:"ttl"`
	}
	// Sign-ins are limited per client address (failures are also counted
	// per username, by the admin service).
	if s.Limits != nil && s.Limits.Enabled {
		if err := s.Limits.SignInAttempt(s.Limits.ClientIP(c.r)); err != nil {
			return nil, err
		}
	}
	if err := s.decodeBody(&c.call, &b); err != nil {
		return nil, err
	}
	if b.GrantType != "password" {
		return nil, errs.New(protocol.ErrIllegalArgument, "grant_type must be password")
	}
	if b.TTL < 0 {
		return nil, errs.New(protocol.ErrIllegalArgument, "ttl must not be negative")
	}
	// Failures are throttled per username only: behind a reverse proxy
	// every client would share the proxy's address.
	t, err := s.Admins.Login(c.ctx(), b.Username, b.Password, "", time.Duration(b.TTL)*time.Second)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"access_token": t.AccessToken, "expires_in": t.ExpiresIn,
		"user": map[string]any{"username": t.Admin.Username, "role": t.Admin.Role, "apps": t.Admin.Apps, "type": "admin"},
	}, nil
}

func mgmtEnvelope(c *mgmtCall, action string) *envelope {
	return &envelope{Action: action, Path: c.r.URL.Path, URI: c.origin() + c.r.URL.Path,
		Timestamp: time.Now().UnixMilli(), Duration: time.Since(c.start).Milliseconds(), Organization: c.r.PathValue("org")}
}

func (s *Server) createApp(c *mgmtCall) (any, error) {
	if err := c.admin.RequireOwner(); err != nil {
		return nil, err
	}
	var b struct {
		Name             string `json:"name"`
		OpenRegistration bool   `json:"open_registration"`
		// Settings, optional: app settings by their JSON names.
		Settings map[string]json.RawMessage `json:"settings"`
	}
	if err := s.decodeBody(&c.call, &b); err != nil {
		return nil, err
	}
	set, err := tenant.Settings{OpenRegistration: b.OpenRegistration}.Patch(b.Settings)
	if err != nil {
		return nil, err
	}
	created, err := s.Apps.Create(c.ctx(), c.r.PathValue("org"), b.Name, set)
	if err != nil {
		return nil, err
	}
	e := mgmtEnvelope(c, "post")
	e.Data = created
	return e, nil
}

func appView(a *tenant.App) map[string]any {
	return map[string]any{"appkey": a.AppKey(), "org_name": a.Org, "app_name": a.Name, "application": a.UUID,
		"client_id": a.ClientID, "created": a.Created, "modified": a.Modified, "settings": a.Settings}
}

func (s *Server) listApps(c *mgmtCall) (any, error) {
	list, err := s.Apps.ListOrg(c.ctx(), c.r.PathValue("org"))
	if err != nil {
		return nil, err
	}
	e := mgmtEnvelope(c, "get")
	out := make([]any, 0, len(list))
	for _, a := range list {
		if c.admin.CanRead(a) {
			out = append(out, appView(a))
		}
	}
	e.Data = out
	e.Count = count(len(out))
	return e, nil
}

func (s *Server) rotateCredentials(c *mgmtCall) (any, error) {
	app, err := s.Apps.Resolve(c.ctx(), c.r.PathValue("org"), c.r.PathValue("app"))
	if err != nil {
		return nil, err
	}
	if err := c.admin.RequireChange(app); err != nil {
		return nil, err
	}
	created, err := s.Apps.RotateSecret(c.ctx(), c.r.PathValue("org"), c.r.PathValue("app"))
	if err != nil {
		return nil, err
	}
	e := mgmtEnvelope(c, "post")
	e.Data = created
	return e, nil
}
