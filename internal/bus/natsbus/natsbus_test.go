package natsbus_test

import (
	"os"
	"testing"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/bus/bustest"
	"github.com/parleyim/parley/internal/bus/natsbus"
)

// natsURL is the NATS server of the tests: $PARLEY_TEST_NATS, or the local
// one. Without a server the tests skip, unless PARLEY_REQUIRE_NATS=1.
func natsURL(t *testing.T) string {
	u := os.Getenv("PARLEY_TEST_NATS")
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	return u
}

func open(t *testing.T) bus.Bus {
	t.Helper()
	b, err := natsbus.Open(natsbus.Options{URLs: []string{natsURL(t)}, Name: t.Name(), Prefix: "parley-test"})
	if err != nil {
		if os.Getenv("PARLEY_REQUIRE_NATS") == "1" {
			t.Fatal(err)
		}
		t.Skipf("no NATS server: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestNATS_Conformance(t *testing.T) {
	bustest.Run(t, open)
}

func TestNATS_Peers(t *testing.T) {
	bustest.RunPeers(t, func(t *testing.T) (bus.Bus, bus.Bus) { return open(t), open(t) })
}
