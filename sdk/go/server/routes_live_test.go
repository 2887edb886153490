package parleyserver

import (
	"regexp"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
)

// TestRoutes_Live checks the route table against the running server's mux,
// independently of the source parser: a request shaped like each pattern
// must reach a handler (which refuses it: unknown app or no token), never
// the mux's "no API path" 404 or a 405.
func TestRoutes_Live(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	for pattern := range routeTable {
		method, path, _ := strings.Cut(pattern, " ")
		if method == "HEAD" {
			continue // the mux serves HEAD with GET routes too; no body to tell
		}
		path = param.ReplaceAllString(path, "x")
		r := s.Do(t, method, path, "", nil)
		if r.Status == 405 || strings.HasPrefix(r.Str("error_description"), "no API path") {
			t.Errorf("%s: %s %s reached no route: %d %s", pattern, method, path, r.Status, r.Raw)
		}
	}
}
