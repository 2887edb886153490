package console_test

import (
	"strconv"
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
)

// Console sign-ins share the per-address sign-in budget with token
// requests: over it, 429 with Retry-After, whatever the password.
func TestConsole_SignInRateLimit(t *testing.T) {
	cfg := servertest.Config(t, "sqlite")
	cfg.RateLimit.Enabled = true
	cfg.RateLimit.SignIn = "1/m burst 3"
	cfg.RateLimit.Exempt = "" // the test's loopback address is limited
	s := servertest.Start(t, cfg)
	c := newClient(t, s)
	expect(t, c.signIn("owner", "wrong-password"), 400, "invalid_grant")
	expect(t, c.signIn("owner", servertest.OwnerPassword), 200, "")
	expect(t, c.signIn("nobody", "x"), 400, "invalid_grant")
	for _, tc := range []struct{ user, password string }{{"owner", servertest.OwnerPassword}, {"owner", "wrong"}} {
		r := c.signIn(tc.user, tc.password)
		expect(t, r, 429, "rate_limited")
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
	}
	// Token requests from the address are over the same budget.
	r := s.Do(t, "POST", "/management/token", "", map[string]string{"grant_type": "password", "username": "owner", "password": servertest.OwnerPassword})
	expect(t, r, 429, "rate_limited")
}
