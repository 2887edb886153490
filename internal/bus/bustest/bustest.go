// Package bustest is the bus conformance suite, run against every
// implementation.
package bustest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/bus"
)

// Run runs the suite; open returns a fresh bus (cleanup is the caller's).
func Run(t *testing.T, open func(t *testing.T) bus.Bus) {
	// Subjects get a per-run prefix, so other users of a shared server
	// (other test packages on one NATS) cannot interfere.
	inner := open
	open = func(t *testing.T) bus.Bus {
		return prefixed{inner(t), fmt.Sprintf("t%d.", time.Now().UnixNano())}
	}
	t.Run("DeliversToSubscribers", func(t *testing.T) { testDeliver(t, open(t)) })
	t.Run("OrderedPerSubject", func(t *testing.T) { testOrdered(t, open(t)) })
	t.Run("Unsubscribe", func(t *testing.T) { testUnsubscribe(t, open(t)) })
	t.Run("SubjectIsolation", func(t *testing.T) { testIsolation(t, open(t)) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open(t)) })
}

type collector struct {
	mu  sync.Mutex
	got []string
}

func (c *collector) h(_ string, data []byte) {
	c.mu.Lock()
	c.got = append(c.got, string(data))
	c.mu.Unlock()
}

func (c *collector) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.got...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d events, want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var ctx = context.Background()

func testDeliver(t *testing.T, b bus.Bus) {
	var c1, c2 collector
	if _, err := b.Subscribe("u.1.2", c1.h); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe("u.1.2", c2.h); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "u.1.2", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got := c1.wait(t, 1); got[0] != "hello" {
		t.Fatalf("got %v", got)
	}
	c2.wait(t, 1)
}

func testOrdered(t *testing.T, b bus.Bus) {
	var c collector
	b.Subscribe("s", c.h)
	for i := range 1000 {
		b.Publish(ctx, "s", []byte(fmt.Sprint(i)))
	}
	got := c.wait(t, 1000)
	for i, v := range got {
		if v != fmt.Sprint(i) {
			t.Fatalf("event %d is %s: out of order", i, v)
		}
	}
}

func testUnsubscribe(t *testing.T, b bus.Bus) {
	var c, other collector
	sub, _ := b.Subscribe("s", c.h)
	b.Subscribe("s", other.h)
	b.Publish(ctx, "s", []byte("1"))
	c.wait(t, 1)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	b.Publish(ctx, "s", []byte("2"))
	other.wait(t, 2)
	time.Sleep(20 * time.Millisecond)
	if got := c.wait(t, 1); len(got) != 1 {
		t.Fatalf("unsubscribed handler got %v", got)
	}
}

func testIsolation(t *testing.T, b bus.Bus) {
	var a, c collector
	b.Subscribe("u.1.1", a.h)
	b.Subscribe("u.1.10", c.h)
	b.Publish(ctx, "u.1.1", []byte("x"))
	b.Publish(ctx, "u.1.10", []byte("y"))
	if got := a.wait(t, 1); len(got) != 1 || got[0] != "x" {
		t.Fatalf("u.1.1 got %v", got)
	}
	if got := c.wait(t, 1); len(got) != 1 || got[0] != "y" {
		t.Fatalf("u.1.10 got %v", got)
	}
}

func testClosed(t *testing.T, b bus.Bus) {
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "s", []byte("x")); err == nil {
		t.Fatal("publish after close succeeded")
	}
}

// RunPeers checks what crosses between two nodes: pair returns two buses
// that share one backend (two connections to one NATS; the same InProc
// twice). Subjects are made unique per run, so a shared server's other
// traffic does not interfere.
func RunPeers(t *testing.T, pair func(t *testing.T) (a, b bus.Bus)) {
	prefix := fmt.Sprintf("t%d.", time.Now().UnixNano())
	t.Run("CrossNode", func(t *testing.T) {
		a, b := pair(t)
		var onB, onA collector
		if _, err := b.Subscribe(prefix+"u.1.2", onB.h); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Subscribe(prefix+"u.1.2", onA.h); err != nil {
			t.Fatal(err)
		}
		// Published right after Subscribe returned: not missed.
		for i := range 500 {
			if err := a.Publish(ctx, prefix+"u.1.2", []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []*collector{&onA, &onB} {
			got := c.wait(t, 500)
			for i, v := range got {
				if v != fmt.Sprint(i) {
					t.Fatalf("event %d is %s: out of order", i, v)
				}
			}
		}
	})
	t.Run("UnsubscribedPeerGetsNothing", func(t *testing.T) {
		a, b := pair(t)
		var c, ctl collector
		s, _ := b.Subscribe(prefix+"x", c.h)
		b.Subscribe(prefix+"y", ctl.h)
		s.Unsubscribe()
		a.Publish(ctx, prefix+"x", []byte("1"))
		a.Publish(ctx, prefix+"y", []byte("1"))
		ctl.wait(t, 1)
		time.Sleep(20 * time.Millisecond)
		c.mu.Lock()
		n := len(c.got)
		c.mu.Unlock()
		if n != 0 {
			t.Fatalf("an unsubscribed handler got %d events", n)
		}
	})
}

// prefixed puts a prefix before every subject.
type prefixed struct {
	bus.Bus
	p string
}

func (b prefixed) Publish(ctx context.Context, subject string, data []byte) error {
	return b.Bus.Publish(ctx, b.p+subject, data)
}

func (b prefixed) Subscribe(subject string, h bus.Handler) (bus.Subscription, error) {
	return b.Bus.Subscribe(b.p+subject, func(s string, d []byte) { h(s[len(b.p):], d) })
}
