package bench

import (
	"context"
	"testing"
	"time"
)

// A paused gate holds readers until resume, or until the pause runs out;
// an open one never waits.
func TestReadGate(t *testing.T) {
	var g readGate
	ctx := context.Background()
	g.wait(ctx) // open: returns at once
	g.pause(time.Minute)
	done := make(chan struct{})
	go func() { g.wait(ctx); close(done) }()
	select {
	case <-done:
		t.Fatal("a paused gate let a reader through")
	case <-time.After(50 * time.Millisecond):
	}
	g.resume()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("resume did not release the reader")
	}
	g.resume() // twice is harmless

	g.pause(30 * time.Millisecond)
	t0 := time.Now()
	g.wait(ctx)
	if d := time.Since(t0); d < 20*time.Millisecond || d > 5*time.Second {
		t.Errorf("a 30 ms pause held the reader %s", d)
	}
	// A reader whose worker is ending does not wait for the pause.
	g.pause(time.Minute)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	g.wait(cctx)
	g.resume()
}
