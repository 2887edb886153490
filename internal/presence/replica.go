package presence

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Subject carries device changes between the nodes of a cluster.
const Subject = "pres"

// Publisher is the part of the bus a Replica needs (bus.Bus satisfies it).
type Publisher interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// Local is this node's view: the connections its gateway holds.
type Local interface {
	Directory
	// Snapshot calls fn with every device connected here, holding the lock
	// under which the gateway reports changes (Replica.Changed), so that
	// no change slips between the snapshot and its publication.
	Snapshot(fn func([]Entry))
}

// Entry is one device of one user, as the nodes exchange them.
type Entry struct {
	App    int64  `json:"a"`
	User   int64  `json:"u"`
	Device Device `json:"d"`
}

// Replica makes presence cluster-wide. Every node tells the others about
// each device that connects, disconnects or goes to the background, and
// keeps a copy of what the others told it, so "is this user online, and
// where" is answered from memory: the push decision on every message, the
// device limit on every login, presence reads.
//
// The copy is repaired, not trusted: each node numbers its changes and
// sends a heartbeat with its latest number every HeartbeatEvery; a node
// that sees a gap (a change the bus dropped) or hears a node for the first
// time asks it for a full snapshot. A node not heard for ExpireAfter is
// dead: its devices are dropped, and one surviving node (the lowest node
// ID) reports its users who are now offline everywhere through OnLost.
type Replica struct {
	local  Local
	pub    Publisher
	owner  string
	nodeID int
	log    *slog.Logger
	now    func() time.Time

	// OnLost, if set, is called (on one surviving node) for each user of a
	// dead node who has no device left anywhere.
	OnLost func(appID, userID int64)

	// pubMu orders what this node publishes (seq). Lock order: the
	// gateway's lock, then pubMu; mu, then pubMu; never the reverse.
	pubMu sync.Mutex
	seq   uint64

	mu     sync.Mutex
	nodes  map[string]*remoteNode
	byUser map[[2]int64]map[string]remoteDevice // resource -> device
	stop   chan struct{}
	done   chan struct{}
}

// HeartbeatEvery and ExpireAfter time the failure detection.
var (
	HeartbeatEvery = 2 * time.Second
	ExpireAfter    = 7 * time.Second
)

type remoteNode struct {
	id       int
	seq      uint64
	seen     time.Time
	synced   bool
	building map[[2]int64]map[string]Device // a snapshot being received
	devices  map[[2]int64]map[string]Device
	asked    time.Time
}

type remoteDevice struct {
	Device
	owner string
}

type message struct {
	K    string  `json:"k"` // up, down, bg, hb, want, snap, bye
	N    string  `json:"n"` // sender
	ID   int     `json:"id"`
	S    uint64  `json:"s"`
	To   string  `json:"to,omitempty"`
	E    *Entry  `json:"e,omitempty"`
	L    []Entry `json:"l,omitempty"`
	P    int     `json:"p,omitempty"`
	Last bool    `json:"last,omitempty"`
}

// snapshotChunk bounds one snapshot message (~150 bytes a device).
const snapshotChunk = 500

// NewReplica builds the replica of node nodeID (owner identifies this
// process). Feed it the bus's Subject events with Receive, call Changed
// for local changes, and Run it.
func NewReplica(local Local, pub Publisher, owner string, nodeID int, log *slog.Logger) *Replica {
	return &Replica{local: local, pub: pub, owner: owner, nodeID: nodeID, log: log, now: time.Now,
		nodes: map[string]*remoteNode{}, byUser: map[[2]int64]map[string]remoteDevice{},
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Changed tells the other nodes that a local device connected (up),
// disconnected (down) or changed its background flag (bg).
//
// The gateway calls it under its own lock, so changes are published in the
// order they happened.
func (r *Replica) Changed(kind string, appID, userID int64, d Device) {
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	r.seq++
	r.publish(message{K: kind, S: r.seq, E: &Entry{App: appID, User: userID, Device: d}})
}

// send publishes a message that carries the current seq.
func (r *Replica) send(m message) {
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	m.S = r.seq
	r.publish(m)
}

// publish sends m; the caller holds pubMu.
func (r *Replica) publish(m message) {
	m.N, m.ID = r.owner, r.nodeID
	b, _ := json.Marshal(m)
	if err := r.pub.Publish(context.Background(), Subject, b); err != nil {
		r.log.Warn("presence: publish", "err", err)
	}
}

// Run announces this node, asks the others for their devices, and then
// sends heartbeats and expires silent nodes until Close.
func (r *Replica) Run() {
	defer close(r.done)
	r.sendSnapshot()
	r.send(message{K: "want"})
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			r.send(message{K: "bye"})
			return
		case <-t.C:
		}
		r.send(message{K: "hb"})
		r.mu.Lock()
		lost := r.expire()
		r.mu.Unlock()
		if r.OnLost != nil {
			for _, k := range lost {
				if devs, _ := r.local.Devices(context.Background(), k[0], k[1]); len(devs) == 0 {
					r.OnLost(k[0], k[1])
				}
			}
		}
	}
}

// Close stops Run, telling the others this node is gone.
func (r *Replica) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
		<-r.done
	}
}

// sendSnapshot publishes every local device; no change interleaves with
// the snapshot on the bus (see Local.Snapshot). The caller holds no lock.
func (r *Replica) sendSnapshot() {
	r.local.Snapshot(func(all []Entry) {
		r.pubMu.Lock()
		defer r.pubMu.Unlock()
		for p := 0; ; p++ {
			n := min(snapshotChunk, len(all))
			r.publish(message{K: "snap", S: r.seq, P: p, L: all[:n], Last: n == len(all)})
			all = all[n:]
			if len(all) == 0 {
				return
			}
		}
	})
}

// expire drops nodes not heard for ExpireAfter and returns the users that
// this node must report lost (it is the lowest live node ID).
func (r *Replica) expire() (lost [][2]int64) {
	now := r.now()
	for owner, n := range r.nodes {
		if now.Sub(n.seen) < ExpireAfter {
			continue
		}
		r.log.Warn("presence: a node went silent; its devices count as offline", "node_id", n.id)
		users := r.dropNode(owner, n)
		if r.lowestLive() {
			lost = append(lost, users...)
		}
	}
	return lost
}

func (r *Replica) lowestLive() bool {
	for _, n := range r.nodes {
		if n.id < r.nodeID {
			return false
		}
	}
	return true
}

// dropNode forgets a node and returns its users left with no remote device.
func (r *Replica) dropNode(owner string, n *remoteNode) (users [][2]int64) {
	delete(r.nodes, owner)
	for k := range n.devices {
		m := r.byUser[k]
		for res, d := range m {
			if d.owner == owner {
				delete(m, res)
			}
		}
		if len(m) == 0 {
			delete(r.byUser, k)
			users = append(users, k)
		}
	}
	return users
}

// Receive handles one bus event of Subject.
func (r *Replica) Receive(_ string, data []byte) {
	var m message
	if json.Unmarshal(data, &m) != nil || m.N == "" || m.N == r.owner {
		return
	}
	if m.K == "want" {
		if m.To == "" || m.To == r.owner {
			r.sendSnapshot()
		}
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.K == "bye" {
		if n := r.nodes[m.N]; n != nil {
			r.dropNode(m.N, n)
		}
		return
	}
	n := r.nodes[m.N]
	if n == nil {
		n = &remoteNode{id: m.ID, devices: map[[2]int64]map[string]Device{}}
		r.nodes[m.N] = n
	}
	n.seen = r.now()
	switch m.K {
	case "snap":
		if m.P == 0 {
			n.building = map[[2]int64]map[string]Device{}
		}
		if n.building == nil {
			return // a later part of a snapshot whose start we missed
		}
		for _, e := range m.L {
			k := [2]int64{e.App, e.User}
			if n.building[k] == nil {
				n.building[k] = map[string]Device{}
			}
			n.building[k][e.Device.Resource] = e.Device
		}
		if m.Last {
			r.replace(m.N, n, n.building)
			n.building = nil
			n.seq = m.S
			n.synced = true
		}
		return
	case "up", "down", "bg":
		if m.E == nil {
			return
		}
		if n.synced && m.S != n.seq+1 {
			r.ask(m.N, n)
		}
		n.seq = m.S
		r.apply(m.N, n, m.K, m.E)
	case "hb":
		if !n.synced || m.S != n.seq {
			r.ask(m.N, n)
		}
	}
}

// ask requests a snapshot from a node (at most once a second).
func (r *Replica) ask(owner string, n *remoteNode) {
	if now := r.now(); now.Sub(n.asked) > time.Second {
		n.asked = now
		r.send(message{K: "want", To: owner})
	}
}

func (r *Replica) apply(owner string, n *remoteNode, kind string, e *Entry) {
	k := [2]int64{e.App, e.User}
	res := e.Device.Resource
	if kind == "down" {
		if m := n.devices[k]; m != nil {
			delete(m, res)
			if len(m) == 0 {
				delete(n.devices, k)
			}
		}
		if m := r.byUser[k]; m != nil && m[res].owner == owner {
			delete(m, res)
			if len(m) == 0 {
				delete(r.byUser, k)
			}
		}
		return
	}
	if n.devices[k] == nil {
		n.devices[k] = map[string]Device{}
	}
	n.devices[k][res] = e.Device
	if r.byUser[k] == nil {
		r.byUser[k] = map[string]remoteDevice{}
	}
	r.byUser[k][res] = remoteDevice{Device: e.Device, owner: owner}
}

// replace swaps a node's devices for a snapshot.
func (r *Replica) replace(owner string, n *remoteNode, devices map[[2]int64]map[string]Device) {
	for k := range n.devices {
		if m := r.byUser[k]; m != nil {
			for res, d := range m {
				if d.owner == owner {
					delete(m, res)
				}
			}
			if len(m) == 0 {
				delete(r.byUser, k)
			}
		}
	}
	n.devices = devices
	for k, m := range devices {
		if r.byUser[k] == nil {
			r.byUser[k] = map[string]remoteDevice{}
		}
		for res, d := range m {
			r.byUser[k][res] = remoteDevice{Device: d, owner: owner}
		}
	}
}

// Remote lists a user's devices on other nodes, with the node (owner)
// holding each.
func (r *Replica) Remote(appID, userID int64) (devs []Device, owners []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.byUser[[2]int64{appID, userID}] {
		devs = append(devs, d.Device)
		owners = append(owners, d.owner)
	}
	return devs, owners
}

// Devices implements Directory for the whole cluster, oldest first.
func (r *Replica) Devices(ctx context.Context, appID, userID int64) ([]Device, error) {
	out, err := r.local.Devices(ctx, appID, userID)
	if err != nil {
		return nil, err
	}
	remote, _ := r.Remote(appID, userID)
	if len(remote) == 0 {
		return out, nil
	}
	out = append(out, remote...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Since < out[j].Since })
	return out, nil
}

// Census counts the users and devices online on every node of the
// cluster, as this node knows them.
func (r *Replica) Census(ctx context.Context) Census {
	var c Census
	if lc, ok := r.local.(Counter); ok {
		c = lc.Census(ctx)
	}
	c.Nodes = 1
	r.mu.Lock()
	remote := make([][2]int64, 0, len(r.byUser))
	for k, m := range r.byUser {
		remote = append(remote, k)
		c.Devices += len(m)
	}
	now := r.now()
	for _, n := range r.nodes {
		if now.Sub(n.seen) < ExpireAfter {
			c.Nodes++
		}
	}
	r.mu.Unlock()
	// A user online here and elsewhere counts once. (Not under r.mu: the
	// gateway's lock comes first.)
	for _, k := range remote {
		if devs, err := r.local.Devices(ctx, k[0], k[1]); err == nil && len(devs) == 0 {
			c.Users++
		}
	}
	return c
}

// Foreground reports whether a user has a device anywhere in the cluster
// that is not in the background (such users get no push).
func (r *Replica) Foreground(appID, userID int64) bool {
	devs, _ := r.Devices(context.Background(), appID, userID)
	for _, d := range devs {
		if !d.Background {
			return true
		}
	}
	return false
}

// LiveNodes counts the nodes of the cluster this node hears from (itself
// included): nodes heard within ExpireAfter.
func (r *Replica) LiveNodes() int {
	n := 1
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rn := range r.nodes {
		if now.Sub(rn.seen) < ExpireAfter {
			n++
		}
	}
	return n
}
