package rest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// fuzzBody sends arbitrary bytes to a JSON endpoint in-process and checks the
// answer is never a 5xx and always JSON in the documented shape.
func fuzzBody(f *testing.F, method, path string, withToken bool, seeds ...string) {
	s := servertest.StartBackend(f, "sqlite")
	app := s.App(f, "acme", "chat", tenant.Settings{})
	tok := s.AppToken(f, app)
	for _, seed := range seeds {
		f.Add(seed)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if withToken {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("non-JSON answer %q", rec.Body.String())
		}
		if rec.Code != http.StatusOK && (m["error"] == nil || m["error_description"] == nil) {
			t.Fatalf("error answer not in the error shape: %s", rec.Body.String())
		}
	})
}

func FuzzRegisterUsers(f *testing.F) {
	fuzzBody(f, "POST", "/acme/chat/users", true,
		`{"username":"a","password":"b"}`, `[{"username":"a","password":"b"},{"username":"c"}]`,
		`{"username":"a","password":"b","nickname":"\u0000"}`, `[]`, `null`, `{"username":1}`, `[[]]`)
}

func FuzzToken(f *testing.F) {
	fuzzBody(f, "POST", "/acme/chat/token", false,
		`{"grant_type":"password","username":"a","password":"b"}`, `{"grant_type":"client_credentials","client_id":"x","client_secret":"y","ttl":1e99}`,
		`{"grant_type":"inherit","username":"x","autoCreateUser":true}`, `{"ttl":-1}`)
}

func FuzzUpdateUser(f *testing.F) {
	fuzzBody(f, "PUT", "/acme/chat/users/alice", true,
		`{"nickname":"x"}`, `{"notification_display_style":1.5}`, `{"notification_no_disturbing":"yes"}`)
}
