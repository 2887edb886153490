package console_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/console"
	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// fuzzBody sends arbitrary bytes to a console endpoint in-process, signed
// in as the owner, and checks the answer is never a 5xx and always JSON in
// the documented shape.
func fuzzBody(f *testing.F, method, path string, seeds ...string) {
	s := servertest.StartBackend(f, "sqlite")
	owner := signedIn(f, s, "owner", servertest.OwnerPassword)
	owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "chat"})
	owner.ok("POST", "/apps/acme/chat/users", map[string]string{"username": "alice", "password": pw})
	var cookie string
	req, _ := http.NewRequest("GET", s.URL+"/console/api/session", nil)
	for _, c := range owner.hc.Jar.Cookies(req.URL) {
		if c.Name == console.CookieName {
			cookie = c.Value
		}
	}
	for _, seed := range seeds {
		f.Add(seed)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(method, "/console/api"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: console.CookieName, Value: cookie})
		req.Header.Set(console.CSRFHeader, owner.csrf)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("non-JSON answer %q", rec.Body.String())
		}
		if rec.Code != http.StatusOK && (m["error"] == nil || m["error_description"] == nil || m["code"] == nil) {
			t.Fatalf("error answer not in the error shape: %s", rec.Body.String())
		}
	})
}

func FuzzSignIn(f *testing.F) {
	fuzzBody(f, "POST", "/session", `{"username":"owner","password":"x"}`, `{"username":1}`, `{}`, ``, `null`, `[]`,
		`{"username":"`+strings.Repeat("a", 300)+`","password":"y"}`, `{"username":"o","password":"p"} {}`)
}

func FuzzSettings(f *testing.F) {
	fuzzBody(f, "PUT", "/apps/acme/chat/settings", `{"settings":{"max_devices":2}}`, `{"settings":{"max_devices":1e99}}`,
		`{"settings":{"device_overflow":null}}`, `{"settings":null}`, `{"settings":{"x":1}}`, `{"settings":[]}`)
}

func FuzzUpdateUser(f *testing.F) {
	fuzzBody(f, "PUT", "/apps/acme/chat/users/alice", `{"nickname":"x","attributes":{"a":"b"}}`, `{"attributes":{"":""}}`,
		`{"attributes":{"gender":"3"}}`, `{"nickname":null}`, `{"attributes":{"a":1}}`)
}

func FuzzCreateAdmin(f *testing.F) {
	fuzzBody(f, "POST", "/admins", `{"username":"a","password":"a long password","role":"viewer","apps":["acme/chat"]}`,
		`{"apps":["x"]}`, `{"apps":["/"]}`, `{"role":"owner","apps":[]}`, `{"username":"é"}`)
}

func FuzzBroadcast(f *testing.F) {
	fuzzBody(f, "POST", "/apps/acme/chat/broadcasts", `{"target":"rooms","type":"txt","body":{"msg":"x"}}`,
		`{"target":"users","type":"custom","body":{"customEvent":"e"},"ext":{"a":1}}`, `{"target":"online","type":"img","body":{}}`)
}

// FuzzRoutes feeds arbitrary bodies and path segments to every route of the
// console's API, signed in as the owner: no 5xx, no panic, errors in the
// error shape. Routes that end the session (sign-out, revoke-all) or never
// end (the stats stream) are left out: they would stop the rest.
func FuzzRoutes(f *testing.F) {
	s := servertest.StartBackend(f, "sqlite")
	owner := signedIn(f, s, "owner", servertest.OwnerPassword)
	owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "chat"})
	for _, u := range []string{"alice", "bob"} {
		owner.ok("POST", "/apps/acme/chat/users", map[string]string{"username": u, "password": pw})
	}
	app := resolve(f, s, "acme", "chat")
	g, err := s.Groups.Create(ctx, tenant.AdminOf(app), "alice", []string{"bob"}, groups.Settings{Name: ptr("g")})
	if err != nil {
		f.Fatal(err)
	}
	rm, err := s.Rooms.Create(ctx, tenant.AdminOf(app), "alice", []string{"bob"}, rooms.Settings{Name: ptr("r")})
	if err != nil {
		f.Fatal(err)
	}
	var cookie string
	req, _ := http.NewRequest("GET", s.URL+"/console/api/session", nil)
	for _, c := range owner.hc.Jar.Cookies(req.URL) {
		if c.Name == console.CookieName {
			cookie = c.Value
		}
	}
	var routes []console.Route
	for _, r := range s.ConsoleRoutes() {
		switch r.Method + " " + r.Path {
		case "DELETE /session", "POST /session/revoke-all", "GET /stats/stream":
			continue
		}
		routes = append(routes, r)
	}
	// Seeds: the authorization matrix's request for each route.
	sample := strings.NewReplacer("{app}", "acme/chat", "{group}", "1", "{room}", "2", "{msg}", "3")
	for i, reg := range routes {
		body := `{}`
		for _, m := range matrixRoutes {
			if p, _, _ := strings.Cut(sample.Replace(m.path), "?"); m.method == reg.Method && matchPattern(reg.Path, p) && m.body != nil {
				b, _ := json.Marshal(m.body)
				body = string(b)
			}
		}
		f.Add(uint16(i), "alice", body)
	}
	f.Add(uint16(0), "x", `{"username":"owner","password":"`+servertest.OwnerPassword+`"}`)
	h := s.Handler()
	f.Fuzz(func(t *testing.T, idx uint16, seg, body string) {
		r := routes[int(idx)%len(routes)]
		if seg == "" {
			seg = "x"
		}
		id := strconv.FormatInt(g.ID, 10)
		if strings.Contains(r.Path, "/rooms") {
			id = rm.ID
		}
		path := strings.NewReplacer("{org}", "acme", "{app}", "chat", "{id}", id).Replace(r.Path)
		for strings.Contains(path, "{") {
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + url.PathEscape(seg) + path[j+1:]
		}
		req := httptest.NewRequest(r.Method, "/console/api"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: console.CookieName, Value: cookie})
		req.Header.Set(console.CSRFHeader, owner.csrf)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: status %d for %q: %s", r.Method, path, rec.Code, body, rec.Body.String())
		}
		if rec.Code >= 300 && rec.Code < 400 && rec.Header().Get("Location") != "" {
			return // the mux's redirect to a clean path
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: non-JSON answer %q", r.Method, path, rec.Body.String())
		}
		if rec.Code != http.StatusOK && (m["error"] == nil || m["error_description"] == nil || m["code"] == nil) {
			t.Fatalf("%s %s: error answer not in the error shape: %s", r.Method, path, rec.Body.String())
		}
	})
}
