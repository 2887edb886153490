package natsbus_test

import (
	"testing"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/bus/bustest"
	"github.com/parleyim/parley/internal/bus/natsbus"
	"github.com/parleyim/parley/internal/testutil"
)

func open(t *testing.T) bus.Bus {
	t.Helper()
	b, err := natsbus.Open(natsbus.Options{URLs: []string{testutil.NATSURL(t)}, Name: t.Name(), Prefix: "parley-test"})
	if err != nil {
		t.Fatal(err)
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
