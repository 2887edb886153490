// Package cluster holds what a node of a cluster must agree on with the
// others through the database: its node ID (part of every message ID, so
// two live nodes must never share one) and which node runs each job that
// must run once at a time (cleanups, sweeps). Both are leases
// (store.LeaseStore) renewed while the node lives; a node that dies loses
// them after LeaseTTL and another takes over.
//
// A single node needs none of this: Start with clustered=false takes no
// lease and runs every job itself.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/store"
)

// LeaseTTL is how long a lease outlives its holder's last renewal; holders
// renew every LeaseTTL/3.
var LeaseTTL = 15 * time.Second

// MaxNodeID is the largest node ID (10 bits of the message ID).
const MaxNodeID = 1023

// Node is this process's membership in the cluster.
type Node struct {
	st        store.LeaseStore
	owner     string // unique per process: leases name it
	id        int
	clustered bool
	log       *slog.Logger
	now       func() time.Time

	stop  chan struct{}
	stopd chan struct{}
	// lost is closed when another node took the node ID lease.
	lost chan struct{}
}

// Start joins the cluster. With clustered false it takes nothing: the node
// ID is id (0 when id is -1). Otherwise id -1 leases the lowest free node
// ID, and an explicit id must be free (not held by a live node).
func Start(ctx context.Context, st store.LeaseStore, id int, clustered bool, log *slog.Logger) (*Node, error) {
	var b [8]byte
	rand.Read(b[:])
	n := &Node{st: st, owner: hex.EncodeToString(b[:]), clustered: clustered, log: log, now: time.Now,
		stop: make(chan struct{}), stopd: make(chan struct{}), lost: make(chan struct{})}
	if !clustered {
		n.id = max(id, 0)
		close(n.stopd)
		return n, nil
	}
	if id >= 0 {
		ok, err := n.acquire(ctx, nodeLease(id))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("node_id %d is held by another live node (leave node_id at -1 to pick a free one)", id)
		}
		n.id = id
	} else {
		n.id = -1
		for i := 0; i <= MaxNodeID; i++ {
			ok, err := n.acquire(ctx, nodeLease(i))
			if err != nil {
				return nil, err
			}
			if ok {
				n.id = i
				break
			}
		}
		if n.id < 0 {
			return nil, fmt.Errorf("all %d node IDs are held by live nodes", MaxNodeID+1)
		}
	}
	go n.renew()
	return n, nil
}

func nodeLease(id int) string { return "node/" + strconv.Itoa(id) }

// ID is this node's ID.
func (n *Node) ID() int { return n.id }

// Owner identifies this process in leases and logs.
func (n *Node) Owner() string { return n.owner }

// Clustered reports whether the node is part of a cluster.
func (n *Node) Clustered() bool { return n.clustered }

func (n *Node) acquire(ctx context.Context, name string) (bool, error) {
	now := n.now()
	return n.st.Acquire(ctx, name, n.owner, now.UnixMilli(), now.Add(LeaseTTL).UnixMilli())
}

// Lost is closed when another node has taken this node's ID: its lease
// lapsed (the database unreachable for longer than LeaseTTL) and a node
// that started meanwhile leased the same ID. Message IDs of the two could
// collide, so the holder must stop (the server shuts down). It never closes
// on a single node.
func (n *Node) Lost() <-chan struct{} { return n.lost }

// renew keeps the node ID lease, every LeaseTTL/3; after a failed renewal
// (the database unreachable) it tries every second, so that the node holds
// its ID again as soon as the database is back, before a starting node can
// take a lapsed one. A lease found taken closes Lost.
func (n *Node) renew() {
	defer close(n.stopd)
	every, retry := LeaseTTL/3, min(LeaseTTL/3, time.Second)
	t := time.NewTimer(every)
	defer t.Stop()
	name := nodeLease(n.id)
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		ok, err := n.acquire(ctx, name)
		cancel()
		switch {
		case err != nil:
			n.log.Warn("cluster: could not renew the node ID lease", "node_id", n.id, "err", err)
			t.Reset(retry)
			continue
		case !ok:
			n.log.Error("cluster: the node ID lease was lost to another node; stopping so that message IDs cannot collide", "node_id", n.id)
			close(n.lost)
			return
		}
		t.Reset(every)
	}
}

// Singleton runs fn while this node holds the lease of the job name, so
// that across the cluster one node at a time runs it. fn's context ends
// when the lease is lost or ctx ends; a node that does not hold the lease
// tries again every LeaseTTL/3. On a single node fn just runs. Singleton
// returns when ctx ends, releasing the lease.
func (n *Node) Singleton(ctx context.Context, name string, fn func(ctx context.Context)) {
	if !n.clustered {
		fn(ctx)
		return
	}
	lease := "job/" + name
	t := time.NewTicker(LeaseTTL / 3)
	defer t.Stop()
	var (
		cancel  context.CancelFunc
		running chan struct{}
	)
	stopJob := func() {
		if cancel != nil {
			cancel()
			<-running
			cancel = nil
		}
	}
	defer func() {
		stopJob()
		rctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		n.st.Release(rctx, lease, n.owner)
		c()
	}()
	for {
		actx, c := context.WithTimeout(ctx, LeaseTTL/3)
		ok, err := n.acquire(actx, lease)
		c()
		if err != nil && ctx.Err() == nil {
			n.log.Warn("cluster: job lease", "job", name, "err", err)
		}
		switch {
		case ok && cancel == nil:
			n.log.Info("cluster: running job on this node", "job", name)
			cancel, running = startJob(ctx, fn)
		case !ok && err == nil && cancel != nil:
			n.log.Warn("cluster: job lease lost; another node runs it", "job", name)
			stopJob()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// startJob runs fn in a goroutine until the returned cancel is called;
// the channel closes when fn has returned.
func startJob(ctx context.Context, fn func(ctx context.Context)) (context.CancelFunc, chan struct{}) {
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); fn(jctx) }()
	return cancel, done
}

// Close releases the node ID lease (a stopping node frees its ID at once).
func (n *Node) Close() {
	if !n.clustered {
		return
	}
	select {
	case <-n.stop:
		return
	default:
	}
	close(n.stop)
	<-n.stopd
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n.st.Release(ctx, nodeLease(n.id), n.owner)
}
