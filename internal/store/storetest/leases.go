package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

func testLeases(t *testing.T, s store.Store) {
	l := s.Leases()
	steps := []struct {
		name, owner string
		now, until  int64
		want        bool
	}{
		{"node/1", "a", 1000, 2000, true},  // free: taken
		{"node/1", "b", 1500, 2500, false}, // held by a
		{"node/1", "a", 1800, 2800, true},  // renewed by a
		{"node/1", "b", 2700, 3700, false}, // still held (renewal moved the expiry)
		{"node/1", "b", 2900, 3900, true},  // expired: b takes over
		{"node/1", "a", 3000, 4000, false}, // a lost it
		{"node/2", "a", 3000, 4000, true},  // another name is independent
	}
	for i, st := range steps {
		got, err := l.Acquire(ctx, st.name, st.owner, st.now, st.until)
		if err != nil || got != st.want {
			t.Fatalf("step %d (%s by %s at %d): %v, %v; want %v", i, st.name, st.owner, st.now, got, err, st.want)
		}
	}
	// Release by a non-holder changes nothing; by the holder frees it.
	l.Release(ctx, "node/1", "a")
	if ok, _ := l.Acquire(ctx, "node/1", "c", 3000, 4000); ok {
		t.Fatal("released by a non-holder")
	}
	if err := l.Release(ctx, "node/1", "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Acquire(ctx, "node/1", "c", 3000, 4000); !ok {
		t.Fatal("a released lease could not be taken")
	}
	// Concurrent takers of one free lease: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := l.Acquire(ctx, "job/x", fmt.Sprint("owner", i), 5000, 6000)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d owners won one lease", wins)
	}
}
