package console_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/console"
	"github.com/parleyim/parley/internal/server/servertest"
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
