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

// Two nodes' invalidators on one bus: each hears the other, never itself,
// and only for the kinds it registered.
func TestInvalidator(t *testing.T) {
	b := bus.NewInProc()
	a, err := bus.NewInvalidator(b)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := bus.NewInvalidator(b)
	var gotA, gotC []string
	a.On("group", func(k string) { gotA = append(gotA, k) })
	c.On("group", func(k string) { gotC = append(gotC, k) })
	c.On("user", func(k string) { gotC = append(gotC, "user:"+k) })
	a.Publish("group", "42")
	a.Publish("user", "1:bob|x")
	c.Publish("group", "7")
	a.Publish("room", "9") // nobody registered rooms
	if len(gotA) != 1 || gotA[0] != "7" {
		t.Fatalf("a got %v", gotA)
	}
	if len(gotC) != 2 || gotC[0] != "42" || gotC[1] != "user:1:bob|x" {
		t.Fatalf("c got %v", gotC)
	}
	var nilIV *bus.Invalidator
	nilIV.On("x", func(string) {})
	nilIV.Publish("x", "y")
}
