package presence_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/presence"
)

// local is a gateway's connections.
type local struct {
	mu   sync.Mutex
	devs map[[2]int64][]presence.Device
	rep  *presence.Replica
}

func (l *local) Devices(_ context.Context, app, user int64) ([]presence.Device, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]presence.Device(nil), l.devs[[2]int64{app, user}]...), nil
}

func (l *local) Snapshot(fn func([]presence.Entry)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var all []presence.Entry
	for k, ds := range l.devs {
		for _, d := range ds {
			all = append(all, presence.Entry{App: k[0], User: k[1], Device: d})
		}
	}
	fn(all)
}

func (l *local) connect(app, user int64, d presence.Device) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]int64{app, user}
	l.devs[k] = append(l.devs[k], d)
	l.rep.Changed("up", app, user, d)
}

func (l *local) disconnect(app, user int64, res string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]int64{app, user}
	for i, d := range l.devs[k] {
		if d.Resource == res {
			l.devs[k] = append(l.devs[k][:i:i], l.devs[k][i+1:]...)
			l.rep.Changed("down", app, user, d)
			return
		}
	}
}

// net delivers every publication to every replica asynchronously and in
// order, like NATS; drop loses the next n publications of a node.
type net struct {
	mu    sync.Mutex
	reps  []*presence.Replica
	queue chan []byte
	drop  map[int]int
}

type pub struct {
	n    *net
	node int
}

func (p pub) Publish(_ context.Context, _ string, data []byte) error {
	p.n.mu.Lock()
	if p.n.drop[p.node] > 0 {
		p.n.drop[p.node]--
		p.n.mu.Unlock()
		return nil
	}
	p.n.mu.Unlock()
	p.n.queue <- append([]byte(nil), data...)
	return nil
}

func newNet(t *testing.T) *net {
	n := &net{queue: make(chan []byte, 10000), drop: map[int]int{}}
	go func() {
		for data := range n.queue {
			n.mu.Lock()
			reps := append([]*presence.Replica(nil), n.reps...)
			n.mu.Unlock()
			for _, r := range reps {
				r.Receive(presence.Subject, data)
			}
		}
	}()
	t.Cleanup(func() { close(n.queue) })
	return n
}

func (n *net) node(t *testing.T, id int, lost func(app, user int64)) *local {
	l := &local{devs: map[[2]int64][]presence.Device{}}
	l.rep = presence.NewReplica(l, pub{n, id}, string(rune('a'+id)), id, slog.New(slog.DiscardHandler))
	l.rep.OnLost = lost
	n.mu.Lock()
	n.reps = append(n.reps, l.rep)
	n.mu.Unlock()
	go l.rep.Run()
	return l
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func devices(l *local, app, user int64) int {
	d, _ := l.rep.Devices(context.Background(), app, user)
	return len(d)
}

func TestReplica(t *testing.T) {
	presence.HeartbeatEvery = 50 * time.Millisecond
	presence.ExpireAfter = 300 * time.Millisecond
	n := newNet(t)
	var lostMu sync.Mutex
	lost := map[int][][2]int64{}
	onLost := func(node int) func(app, user int64) {
		return func(app, user int64) {
			lostMu.Lock()
			lost[node] = append(lost[node], [2]int64{app, user})
			lostMu.Unlock()
		}
	}
	a := n.node(t, 0, onLost(0))
	// A device that connected before the other nodes started reaches them
	// through the snapshot every node asks for when it starts.
	a.connect(1, 10, presence.Device{Resource: "early", Since: 1})
	b := n.node(t, 1, onLost(1))
	c := n.node(t, 2, onLost(2))
	defer a.rep.Close()
	defer b.rep.Close()
	eventually(t, "snapshot reaches new nodes", func() bool { return devices(b, 1, 10) == 1 && devices(c, 1, 10) == 1 })

	// Changes propagate; Devices merges local and remote, oldest first.
	b.connect(1, 10, presence.Device{Resource: "phone", Since: 5})
	c.connect(1, 20, presence.Device{Resource: "web", Since: 7, Background: true})
	eventually(t, "changes propagate", func() bool { return devices(a, 1, 10) == 2 && devices(c, 1, 10) == 2 && devices(a, 1, 20) == 1 })
	if ds, _ := c.rep.Devices(context.Background(), 1, 10); ds[0].Resource != "early" || ds[1].Resource != "phone" {
		t.Fatalf("devices: %+v", ds)
	}
	// A user whose only device is in the background is not in the foreground.
	if a.rep.Foreground(1, 20) || !a.rep.Foreground(1, 10) || a.rep.Foreground(1, 99) {
		t.Fatal("foreground")
	}
	b.disconnect(1, 10, "phone")
	eventually(t, "disconnect propagates", func() bool { return devices(a, 1, 10) == 1 && devices(c, 1, 10) == 1 })

	// A lost change is repaired: the next heartbeat shows the gap and the
	// receiver asks for a snapshot.
	n.mu.Lock()
	n.drop[1] = 1
	n.mu.Unlock()
	b.connect(1, 30, presence.Device{Resource: "tablet", Since: 9})
	eventually(t, "a dropped change is repaired", func() bool { return devices(a, 1, 30) == 1 && devices(c, 1, 30) == 1 })

	// A node that dies silently: after ExpireAfter its devices are gone,
	// and only the lowest surviving node ID reports its users lost.
	c.rep.Close() // sends bye: gone at once
	eventually(t, "bye", func() bool { return devices(a, 1, 20) == 0 })
	n.mu.Lock()
	n.drop[1] = 1 << 30 // b goes silent
	n.mu.Unlock()
	eventually(t, "a silent node expires", func() bool { return devices(a, 1, 30) == 0 })
	eventually(t, "its users reported lost", func() bool {
		lostMu.Lock()
		defer lostMu.Unlock()
		return len(lost[0]) == 1
	})
	lostMu.Lock()
	defer lostMu.Unlock()
	if lost[0][0] != [2]int64{1, 30} || len(lost[2]) != 0 {
		t.Fatalf("lost: %v", lost)
	}
}

func (l *local) Census(context.Context) presence.Census {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := presence.Census{Nodes: 1}
	for _, ds := range l.devs {
		if len(ds) > 0 {
			c.Users++
			c.Devices += len(ds)
		}
	}
	return c
}

// The census counts every node's devices, and a user online on several
// nodes once.
func TestReplica_Census(t *testing.T) {
	presence.HeartbeatEvery = 50 * time.Millisecond
	presence.ExpireAfter = 300 * time.Millisecond
	n := newNet(t)
	a, b, c := n.node(t, 0, nil), n.node(t, 1, nil), n.node(t, 2, nil)
	defer a.rep.Close()
	defer b.rep.Close()
	defer c.rep.Close()
	a.connect(1, 10, presence.Device{Resource: "phone", Since: 1})
	b.connect(1, 10, presence.Device{Resource: "web", Since: 2})
	b.connect(1, 11, presence.Device{Resource: "web", Since: 3})
	c.connect(2, 10, presence.Device{Resource: "web", Since: 4}) // another app's user 10
	want := presence.Census{Nodes: 3, Users: 3, Devices: 4}
	for _, l := range []*local{a, b, c} {
		eventually(t, "census", func() bool { return l.rep.Census(context.Background()) == want })
	}
	b.disconnect(1, 10, "web")
	eventually(t, "census after a disconnect", func() bool {
		return a.rep.Census(context.Background()) == presence.Census{Nodes: 3, Users: 3, Devices: 3}
	})
}

// LiveNodes counts the nodes heard from (rate limits share an app's limit
// between them) and drops a node that went silent.
func TestReplica_LiveNodes(t *testing.T) {
	presence.HeartbeatEvery = 50 * time.Millisecond
	presence.ExpireAfter = 300 * time.Millisecond
	n := newNet(t)
	a, b, c := n.node(t, 0, nil), n.node(t, 1, nil), n.node(t, 2, nil)
	defer a.rep.Close()
	defer b.rep.Close()
	for _, l := range []*local{a, b, c} {
		eventually(t, "three live nodes", func() bool { return l.rep.LiveNodes() == 3 })
	}
	c.rep.Close()
	eventually(t, "two live nodes after one stopped", func() bool { return a.rep.LiveNodes() == 2 })
}
