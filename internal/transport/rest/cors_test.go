package rest_test

import (
	"net/http"
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
)

func TestCORS(t *testing.T) {
	cfg := servertest.Config(t, "sqlite")
	cfg.HTTP.CORSOrigins = "https://chat.example.com, http://localhost:5173"
	s := servertest.Start(t, cfg)
	anyCfg := servertest.Config(t, "sqlite")
	anyCfg.HTTP.CORSOrigins = "*"
	anyOrigin := servertest.Start(t, anyCfg)
	none := servertest.StartBackend(t, "sqlite")

	tests := []struct {
		name, base, method, path, origin, preflight string
		wantStatus                                  int
		wantAllow                                   string
		wantMethods                                 bool
	}{
		{"same-origin request: nothing added", s.URL, "GET", "/healthz", "", "", 200, "", false},
		{"allowed origin", s.URL, "GET", "/healthz", "https://chat.example.com", "", 200, "https://chat.example.com", false},
		{"second allowed origin", s.URL, "POST", "/acme/chat/token", "http://localhost:5173", "", 404, "http://localhost:5173", false},
		{"another origin: no headers", s.URL, "GET", "/healthz", "https://evil.example", "", 200, "", false},
		{"preflight from an allowed origin", s.URL, "OPTIONS", "/acme/chat/users", "https://chat.example.com", "POST", 204, "https://chat.example.com", true},
		{"preflight from another origin", s.URL, "OPTIONS", "/acme/chat/users", "https://evil.example", "POST", 405, "", false},
		{"any origin", anyOrigin.URL, "GET", "/healthz", "https://whoever.example", "", 200, "*", false},
		{"no origins configured", none.URL, "OPTIONS", "/acme/chat/users", "https://chat.example.com", "POST", 405, "", false},
		{"the console never answers cross-origin", s.URL, "OPTIONS", "/console/api/session", "https://chat.example.com", "POST", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.base+tc.path, nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.preflight != "" {
				req.Header.Set("Access-Control-Request-Method", tc.preflight)
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.wantStatus != 0 && resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.wantAllow {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.wantAllow)
			}
			if got := resp.Header.Get("Access-Control-Allow-Methods") != ""; got != tc.wantMethods {
				t.Errorf("Allow-Methods present: %v, want %v", got, tc.wantMethods)
			}
			if tc.wantMethods && resp.Header.Get("Access-Control-Allow-Headers") == "" {
				t.Error("a preflight answer without Allow-Headers")
			}
			if tc.wantAllow != "" && tc.wantAllow != "*" && resp.Header.Get("Vary") != "Origin" {
				t.Errorf("Vary %q, want Origin", resp.Header.Get("Vary"))
			}
		})
	}
}
