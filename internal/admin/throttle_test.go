package admin

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	th := NewThrottle()
	t0 := time.Unix(1_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	// Five failures of one username, a minute apart: the sixth attempt
	// waits until the first leaves the window.
	for i := range 5 {
		if w := th.Wait("Owner", "10.0.0.1", at(time.Duration(i)*time.Minute)); w != 0 {
			t.Fatalf("attempt %d waits %s", i, w)
		}
		th.Failed("Owner", "10.0.0.1", at(time.Duration(i)*time.Minute))
	}
	if w := th.Wait("owner", "10.0.0.2", at(5*time.Minute)); w != 10*time.Minute {
		t.Fatalf("wait %s, want 10m (usernames are case-insensitive, any address)", w)
	}
	if w := th.Wait("owner", "10.0.0.2", at(15*time.Minute)); w != 0 {
		t.Fatalf("after the window: %s", w)
	}
	// A success clears the username's failures, not the address's.
	th.Succeeded("owner")
	if w := th.Wait("owner", "10.0.0.1", at(5*time.Minute)); w != 0 {
		t.Fatalf("after a success: %s", w)
	}

	// Twenty failures from one address, whatever the usernames.
	th = NewThrottle()
	for i := range 20 {
		th.Failed(fmt.Sprint("u", i), "10.0.0.9", at(0))
	}
	if w := th.Wait("someone", "10.0.0.9", at(time.Minute)); w != 14*time.Minute {
		t.Fatalf("per address: %s", w)
	}
	if w := th.Wait("someone", "10.0.0.8", at(time.Minute)); w != 0 {
		t.Fatalf("another address: %s", w)
	}

	// An unknown address ("") counts towards the username only.
	th = NewThrottle()
	for range 30 {
		th.Failed("x", "", at(0))
	}
	if _, ok := th.failures[ipKey("")]; ok {
		t.Fatal("an unknown address has a counter")
	}
	if w := th.Wait("y", "", at(0)); w != 0 {
		t.Fatalf("another username: %s", w)
	}

	// Memory stays bounded under a flood of usernames and addresses.
	th = NewThrottle()
	for i := range throttleMaxKeys {
		th.Failed(fmt.Sprint("flood", i), fmt.Sprint("ip", i), at(0))
	}
	if n := len(th.failures); n > throttleMaxKeys+2 {
		t.Fatalf("%d keys", n)
	}
	th.Failed(string(make([]byte, 10_000)), "x", at(0))
	for k := range th.failures {
		if len(k) > 100 {
			t.Fatalf("a key of %d bytes", len(k))
		}
	}
}
