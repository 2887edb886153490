package testutil

import (
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// NATSEnv names the variable holding the NATS URL for tests.
const NATSEnv = "PARLEY_TEST_NATS"

// NATSURL returns the NATS server for tests: $PARLEY_TEST_NATS, or the
// local nats://127.0.0.1:4222. When it does not answer the test is skipped,
// unless PARLEY_REQUIRE_NATS=1 (set by CI), in which case it fails. Tests
// share the server, so each cluster under test needs a subject prefix of
// its own (nats_prefix): app and user IDs of fresh databases repeat.
func NATSURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(NATSEnv)
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	pu, err := url.Parse(u)
	if err == nil {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", pu.Host, 2*time.Second); err == nil {
			c.Close()
		}
	}
	if err != nil {
		if os.Getenv("PARLEY_REQUIRE_NATS") == "1" {
			t.Fatalf("NATS at %s: %v (PARLEY_REQUIRE_NATS=1)", u, err)
		}
		t.Skipf("no NATS at %s: %v", u, err)
	}
	return u
}
