package bus_test

import (
	"testing"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/bus/bustest"
)

func TestInProc_Conformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bus.Bus { return bus.NewInProc() })
}

func TestInProc_Peers(t *testing.T) {
	bustest.RunPeers(t, func(t *testing.T) (bus.Bus, bus.Bus) { b := bus.NewInProc(); return b, b })
}
