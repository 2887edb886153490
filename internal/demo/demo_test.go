package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w.Result()
}

func TestHandler_ServeHTTP(t *testing.T) {
	h := New()
	for _, tc := range []struct {
		path, want, ctype string
	}{
		{"/demo/", `src="/demo/app.js"`, "text/html"},
		{"/demo/app.js", "from './sdk/index.js'", "text/javascript"},
		{"/demo/sdk/index.js", "export", "text/javascript"},
		{"/demo/styles.css", "", "text/css"},
	} {
		res := get(t, h, http.MethodGet, tc.path)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", tc.path, res.StatusCode)
		}
		if !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.want)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.path, ct, tc.ctype)
		}
		if p := res.Header.Get("Content-Security-Policy"); !strings.Contains(p, "script-src 'self';") || strings.Contains(p, "unsafe") {
			t.Errorf("GET %s: CSP %q", tc.path, p)
		}
	}
	if res := get(t, h, http.MethodGet, "/demo/sdk/"); res.StatusCode != http.StatusNotFound {
		t.Errorf("directory listing: %d, want 404", res.StatusCode)
	}
	if res := get(t, h, http.MethodPost, "/demo/"); res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d %q", res.StatusCode, res.Header.Get("Allow"))
	}
}
