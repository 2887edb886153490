package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/cluster"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/store/sqlite"
)

func leases(t *testing.T) store.LeaseStore {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.Leases()
}

var log = slog.New(slog.DiscardHandler)

func TestNodeIDs(t *testing.T) {
	cluster.LeaseTTL = 300 * time.Millisecond
	st := leases(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		id        int
		clustered bool
		want      int
		fails     bool
	}{
		{"single node, auto", -1, false, 0, false},
		{"single node, explicit", 7, false, 7, false},
		{"first auto node", -1, true, 0, false},
		{"second auto node", -1, true, 1, false},
		{"explicit free ID", 5, true, 5, false},
		{"explicit ID in use", 5, true, 0, true},
		{"next auto node skips the held ones", -1, true, 2, false},
	}
	var nodes []*cluster.Node
	for _, tc := range tests {
		n, err := cluster.Start(ctx, st, tc.id, tc.clustered, log)
		if tc.fails {
			if err == nil {
				t.Fatalf("%s: started", tc.name)
			}
			continue
		}
		if err != nil || n.ID() != tc.want {
			t.Fatalf("%s: id %v, %v; want %d", tc.name, n, err, tc.want)
		}
		nodes = append(nodes, n)
	}
	// Leases are renewed: after several TTLs, the IDs are still taken.
	time.Sleep(4 * cluster.LeaseTTL)
	if _, err := cluster.Start(ctx, st, 1, true, log); err == nil {
		t.Fatal("a renewed node ID was taken")
	}
	// A closed node frees its ID at once.
	nodes[3].Close() // ID 1
	n, err := cluster.Start(ctx, st, -1, true, log)
	if err != nil || n.ID() != 1 {
		t.Fatalf("after close: %v %v", n, err)
	}
	for _, n := range append(nodes, n) {
		n.Close()
	}
}

// One node at a time runs a singleton job; when it stops, another takes
// over within a lease period.
func TestSingleton(t *testing.T) {
	cluster.LeaseTTL = 300 * time.Millisecond
	st := leases(t)
	var running, maxRunning, runs, runner atomic.Int32
	job := func(i int, ctx context.Context) {
		runs.Add(1)
		runner.Store(int32(i))
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		<-ctx.Done()
		running.Add(-1)
	}
	var wg sync.WaitGroup
	cancels := make([]context.CancelFunc, 3)
	for i := range 3 {
		n, err := cluster.Start(context.Background(), st, -1, true, log)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		wg.Add(1)
		go func() { defer wg.Done(); n.Singleton(ctx, "sweep", func(ctx context.Context) { job(i, ctx) }) }()
	}
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("a node runs the job", func() bool { return running.Load() == 1 })
	time.Sleep(3 * cluster.LeaseTTL)
	if runs.Load() != 1 || maxRunning.Load() != 1 {
		t.Fatalf("runs %d, at most %d at once; want one", runs.Load(), maxRunning.Load())
	}
	// Stop the node running it: another takes over.
	first := runner.Load()
	cancels[first]()
	waitFor("another node takes over", func() bool { return runs.Load() == 2 && running.Load() == 1 })
	if runner.Load() == first {
		t.Fatal("the stopped node runs the job again")
	}
	for i := range 3 {
		cancels[i]()
	}
	wg.Wait()
	if running.Load() != 0 || maxRunning.Load() != 1 {
		t.Fatalf("running %d, at most %d at once", running.Load(), maxRunning.Load())
	}
	// Not a single node: runs directly.
	n, _ := cluster.Start(context.Background(), st, -1, false, log)
	ran := false
	n.Singleton(context.Background(), "x", func(context.Context) { ran = true })
	if !ran {
		t.Fatal("a single node did not run its job")
	}
}

// A node whose ID another node took (its lease lapsed, say during a long
// database outage) learns it at its next renewal: Lost closes, and the
// intruder keeps the ID. A node that keeps its lease never sees Lost.
func TestNode_Lost(t *testing.T) {
	cluster.LeaseTTL = 300 * time.Millisecond
	st := leases(t)
	ctx := context.Background()
	a, err := cluster.Start(ctx, st, -1, true, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := cluster.Start(ctx, st, -1, true, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// The intruder's clock says a's lease lapsed long ago.
	later := time.Now().Add(time.Hour)
	name := fmt.Sprintf("node/%d", a.ID())
	if ok, err := st.Acquire(ctx, name, "intruder", later.UnixMilli(), later.Add(time.Hour).UnixMilli()); !ok || err != nil {
		t.Fatalf("take the lapsed lease: %v %v", ok, err)
	}
	select {
	case <-a.Lost():
	case <-time.After(10 * cluster.LeaseTTL):
		t.Fatal("the node did not notice that its ID was taken")
	}
	select {
	case <-b.Lost():
		t.Fatal("a node that kept its lease was told it lost it")
	case <-time.After(2 * cluster.LeaseTTL):
	}
	// The stopped renewal leaves the intruder's lease alone, and closing
	// the node does not release it.
	a.Close()
	if ok, _ := st.Acquire(ctx, name, "third", time.Now().UnixMilli(), time.Now().Add(time.Hour).UnixMilli()); ok {
		t.Fatal("the intruder's lease was released")
	}
	// On a single node Lost never closes.
	single, _ := cluster.Start(ctx, st, -1, false, log)
	select {
	case <-single.Lost():
		t.Fatal("Lost closed on a single node")
	default:
	}
}
