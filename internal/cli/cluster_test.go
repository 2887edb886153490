package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/blob"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/testutil"
	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

// clusterEnv is what every node of a test cluster shares: PostgreSQL, NATS
// (with a subject prefix of this test's own), the S3 store, the secrets key.
type clusterEnv struct {
	t     *testing.T
	bin   string
	env   []string
	pgURL string
	nodes []*clusterNode
}

type clusterNode struct {
	addr string
	data string
	cmd  *exec.Cmd
	logs *servertest.LogBuffer
	exit chan error
}

func newClusterEnv(t *testing.T, n int) *clusterEnv {
	return newClusterEnvOn(t, n, testutil.PostgresURL(t), testutil.NATSURL(t), testutil.S3Options(t))
}

// newClusterEnvOn starts n nodes on the given PostgreSQL database, NATS
// server and S3 store.
func newClusterEnvOn(t *testing.T, n int, pg, natsURL string, s3 blob.S3Options) *clusterEnv {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i * 7)
	}
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600)
	endpoint := s3.Endpoint
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	c := &clusterEnv{t: t, bin: buildBinary(t), pgURL: pg, env: append(os.Environ(),
		"PARLEY_DB="+pg,
		"PARLEY_NATS="+natsURL,
		fmt.Sprintf("PARLEY_NATS_PREFIX=t%d", time.Now().UnixNano()),
		"PARLEY_BLOB_DRIVER=s3",
		"PARLEY_BLOB_S3_ENDPOINT="+endpoint,
		"PARLEY_BLOB_S3_BUCKET="+s3.Bucket,
		"PARLEY_BLOB_S3_ACCESS_KEY="+s3.AccessKey,
		"PARLEY_BLOB_S3_SECRET_KEY="+s3.SecretKey,
		"PARLEY_BLOB_S3_PATH_STYLE=true",
		"PARLEY_BLOB_S3_REGION=us-east-1",
		"PARLEY_BLOB_S3_PREFIX="+s3.Prefix,
		"PARLEY_SECRETS_KEY_FILE="+keyFile,
		"PARLEY_AUTH_KDF_MEMORY_KIB=1024", "PARLEY_AUTH_KDF_TIME=1",
		"PARLEY_CONSOLE_OWNER_PASSWORD="+servertest.OwnerPassword,
		"PARLEY_HTTP_SHUTDOWN_TIMEOUT=5s",
		// These tests poll the nodes with the app token far faster than an
		// app's default REST budget (100/s shared by the nodes); the limits
		// have tests of their own.
		"PARLEY_RATELIMIT_ENABLED=false",
	)}
	for range n {
		c.nodes = append(c.nodes, &clusterNode{addr: freePort(t), data: t.TempDir()})
	}
	for i := range c.nodes {
		c.start(i)
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			if nd.cmd != nil {
				nd.cmd.Process.Kill()
				<-nd.exit
			}
		}
	})
	return c
}

func (c *clusterEnv) start(i int) {
	t := c.t
	nd := c.nodes[i]
	cmd := exec.Command(c.bin, "serve", "--listen", nd.addr, "--data", nd.data)
	cmd.Env = c.env
	nd.logs = &servertest.LogBuffer{}
	cmd.Stderr = nd.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	nd.cmd = cmd
	nd.exit = make(chan error, 1)
	go func() { nd.exit <- cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := http.Get("http://" + nd.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-nd.exit:
			t.Fatalf("node %d exited: %v\n%s", i, err, nd.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d did not become ready:\n%s", i, nd.logs.String())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// stop signals node i and waits for it to exit.
func (c *clusterEnv) stop(i int, sig syscall.Signal) {
	nd := c.nodes[i]
	nd.cmd.Process.Signal(sig)
	select {
	case <-nd.exit:
	case <-time.After(20 * time.Second):
		c.t.Fatalf("node %d did not exit on %v:\n%s", i, sig, nd.logs.String())
	}
	nd.cmd = nil
}

func (c *clusterEnv) url(i int) string { return "http://" + c.nodes[i].addr }

// device is one SDK client and what it received.
type device struct {
	user   string
	client *parley.Client
	mu     sync.Mutex
	got    map[string]int   // msg_id -> times delivered
	last   map[string]int64 // conv_id -> last seq delivered
	bad    []string         // order violations
	conns  []time.Time      // when each Connected event came
	up     bool             // connected now (no Disconnected since the last Connected)
}

func (d *device) drain() {
	for ev := range d.client.Events() {
		d.mu.Lock()
		switch e := ev.(type) {
		case parley.MessageEvent:
			d.got[e.Item.MsgID]++
			if e.Item.Seq <= d.last[e.Item.ConvID] {
				d.bad = append(d.bad, fmt.Sprintf("%s: seq %d after %d in %s", d.user, e.Item.Seq, d.last[e.Item.ConvID], e.Item.ConvID))
			}
			d.last[e.Item.ConvID] = e.Item.Seq
		case parley.ConnectionEvent:
			if e.State == parley.Connected {
				d.conns = append(d.conns, time.Now())
			}
			d.up = e.State != parley.Disconnected
		}
		d.mu.Unlock()
	}
}

func (d *device) connectedAfter(t time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		if c.After(t) {
			return true
		}
	}
	return false
}

// sent is an acknowledged message and the devices that must get it.
type sent struct {
	id      string
	targets []*device
}

// Three nodes on PostgreSQL, NATS and S3. Users, each with two devices on
// different nodes, chat 1:1 and in a group under steady load while one node
// is killed with SIGKILL and later all three restart one by one. Every
// acknowledged message reaches every device of its recipients (and the
// sender's other device) exactly once and in order; the killed node's
// clients are back within 5 s; per-conversation sequences have no gaps.
func TestCluster_FailoverAndRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	c := newClusterEnv(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newClusterChat(t, ctx, c, "chat2", 9)
	admin, devs, onNode := h.admin, h.devs, h.onNode
	dial := func(user string, node int, resource string) *device { return h.dial(t, user, node, resource) }
	ld := h.startLoad(50*time.Millisecond, 30*time.Second)
	defer ld.stop()
	waitAcks := func(more int) { ld.waitAcks(t, more, 30*time.Second) }

	waitAcks(200)
	// Before anything fails, messages cross nodes live: devices on other
	// nodes than their senders' get them without reconnecting.
	waitDelivered(t, ld.snapshot(), 5*time.Second)
	// SIGKILL node 2 mid-load: its clients are back on the others within 5 s.
	killed := time.Now()
	c.stop(2, syscall.SIGKILL)
	for _, d := range onNode[2] {
		deadline := killed.Add(5 * time.Second)
		for !d.connectedAfter(killed) {
			if time.Now().After(deadline) {
				t.Fatalf("%s's device of the killed node is not back within 5 s", d.user)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("clients of the killed node back after %v", time.Since(killed).Round(time.Millisecond))
	waitAcks(200)
	c.start(2)
	waitAcks(100)
	// Rolling restart: SIGTERM (drain), restart, next.
	for i := range c.nodes {
		c.stop(i, syscall.SIGTERM)
		waitAcks(50)
		c.start(i)
		waitAcks(50)
	}
	ld.stop()

	// Every acknowledged message reaches each of its targets exactly once.
	all := ld.snapshot()
	waitDelivered(t, all, 30*time.Second)
	for _, pair := range devs {
		for _, d := range pair {
			if len(d.bad) > 0 {
				t.Fatalf("out of order: %v", d.bad[:min(5, len(d.bad))])
			}
		}
	}

	// Changes made through one node are seen at once through the others,
	// although their caches were warm: a member added on node 0 may send
	// through node 1; a block made on node 0 holds on node 2.
	call := func(node int, method, path string, body any) *servertest.Response {
		return servertest.Call(t, c.url(node), method, "/acme/chat2"+path, admin, body)
	}
	gr := call(0, "POST", "/chatgroups", map[string]any{"owner": "u0", "public": false, "groupname": "g2"})
	g2, _ := gr.Body["data"].(map[string]any)["groupid"].(string)
	// Invalidations travel the bus, so "at once" is milliseconds, not the
	// caches' 10 s expiry.
	within := func(what string, ok func() bool) {
		deadline := time.Now().Add(time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 1 s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	u1 := dial("u1", 1, "pinned") // a new device of each, on the node named
	u4 := dial("u4", 2, "pinned")
	group := func(to string) parley.OutgoingMessage {
		return parley.OutgoingMessage{To: to, ChatType: protocol.ChatTypeGroup, Body: parley.TextBody{Msg: "x"}}
	}
	// Presence is cluster-wide: node 0 lists u1's device held by node 1.
	within("node 0 sees a device on node 1", func() bool {
		r := call(0, "GET", "/users/u1/resources", nil)
		return strings.Contains(string(r.Raw), `"pinned"`)
	})
	if _, err := u1.client.Send(ctx, group(g2)); err == nil {
		t.Fatal("a non-member sent to a group")
	}
	if r := call(0, "POST", "/chatgroups/"+g2+"/users/u1", nil); r.Status != 200 {
		t.Fatalf("add member: %s", r.Raw)
	}
	within("a member added through node 0 may send through node 1", func() bool {
		_, err := u1.client.Send(ctx, group(g2))
		return err == nil
	})
	if _, err := u4.client.SendText(ctx, "u3", "before"); err != nil {
		t.Fatalf("send before the block: %v", err)
	}
	if r := call(0, "POST", "/users/u3/blocks/users", map[string]any{"usernames": []string{"u4"}}); r.Status != 200 {
		t.Fatalf("block: %s", r.Raw)
	}
	within("a block made through node 0 holds on node 2", func() bool {
		_, err := u4.client.SendText(ctx, "u3", "after")
		return err != nil
	})

	// The device limit (4) counts devices on every node: u1 has three on
	// three nodes; two more push out the oldest, wherever they are.
	dial("u1", 0, "extra1")
	dial("u1", 2, "extra2")
	within("u1 is down to 4 devices across the cluster", func() bool {
		var res []map[string]any
		r := call(0, "GET", "/users/u1/resources", nil)
		b, _ := json.Marshal(r.Body["data"])
		json.Unmarshal(b, &res)
		return len(res) == 4
	})

	// Files live in the shared object store: uploaded through node 0,
	// downloaded through node 2.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "hello.txt")
	fw.Write([]byte("shared by every node"))
	mw.Close()
	req, _ := http.NewRequest("POST", c.url(0)+"/acme/chat2/chatfiles", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		Entities []struct{ UUID string } `json:"entities"`
	}
	json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if len(up.Entities) != 1 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", c.url(2)+"/acme/chat2/chatfiles/"+up.Entities[0].UUID, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "shared by every node" {
		t.Fatalf("download through another node: %d %q", resp.StatusCode, got)
	}

	// A force logout through node 0 reaches u4's device on node 2.
	if r := call(0, "DELETE", "/users/u4/disconnect/pinned", nil); r.Status != 200 {
		t.Fatalf("disconnect: %s", r.Raw)
	}
	select {
	case <-u4.client.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a force logout through node 0 did not close the device on node 2")
	}

	// Sequences: every conversation's items are numbered 1..last_seq with no
	// gap and no repeat, although its senders were on all three nodes.
	convs := checkGapFree(t, c.pgURL)
	t.Logf("%d messages acknowledged (%d sends failed and were not counted), each delivered once to every device; %d conversations gap-free",
		len(all), ld.failed, convs)
}

// waitDelivered waits until each message reached each of its targets, and
// fails at once on a duplicate.
func waitDelivered(t *testing.T, msgs []sent, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		missing, dups := 0, 0
		var example string
		for _, s := range msgs {
			for _, d := range s.targets {
				d.mu.Lock()
				n := d.got[s.id]
				d.mu.Unlock()
				if n == 0 {
					missing++
					example = fmt.Sprintf("%s to %s", s.id, d.user)
				}
				if n > 1 {
					dups++
				}
			}
		}
		if dups > 0 {
			t.Fatalf("%d deliveries duplicated", dups)
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the deliveries of %d acknowledged messages missing after %v (e.g. %s)", missing, len(msgs), within, example)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkGapFree checks that every conversation's items are numbered
// 1..last_seq with no gap and no repeat, and returns how many there are.
func checkGapFree(t *testing.T, pgURL string) int {
	t.Helper()
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT c.id, c.last_seq, COUNT(i.id), COUNT(DISTINCT i.seq), COALESCE(MIN(i.seq), 0), COALESCE(MAX(i.seq), 0)
		FROM conversations c LEFT JOIN items i ON i.conv_id = c.id GROUP BY c.id, c.last_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	convs := 0
	for rows.Next() {
		var id, last, n, distinct, lo, hi int64
		rows.Scan(&id, &last, &n, &distinct, &lo, &hi)
		if n != last || distinct != n || (n > 0 && (lo != 1 || hi != last)) {
			t.Fatalf("conversation %d: last_seq %d, %d items, %d distinct seqs, %d..%d", id, last, n, distinct, lo, hi)
		}
		convs++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return convs
}

func ptr[T any](v T) *T { return &v }

// clusterChat is an app on a cluster whose users chat: nine or so users with
// two devices each, device k of user i on node (i+k)%3, all in one group.
type clusterChat struct {
	c      *clusterEnv
	ctx    context.Context
	app    string
	admin  string // the app token
	names  []string
	devs   [][2]*device
	onNode map[int][]*device
	all    []*device // every device dialled, these and later ones
	group  string
}

// newClusterChat creates the app ("acme", app) with users u0..u(n-1),
// connects their devices and creates their group.
func newClusterChat(t *testing.T, ctx context.Context, c *clusterEnv, app string, users int) *clusterChat {
	t.Helper()
	cmd := exec.Command(c.bin, "app", "create", "acme", app)
	cmd.Env = c.env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("app create: %v", err)
	}
	var cred map[string]string
	json.Unmarshal(out, &cred)
	base := c.url(0) + "/acme/" + app
	h := &clusterChat{c: c, ctx: ctx, app: app, onNode: map[int][]*device{}}
	h.admin = postJSON(t, base+"/token", "", map[string]string{"grant_type": "client_credentials",
		"client_id": cred["client_id"], "client_secret": cred["client_secret"]})["access_token"].(string)
	for i := range users {
		h.names = append(h.names, fmt.Sprint("u", i))
		postJSON(t, base+"/users", h.admin, map[string]string{"username": h.names[i], "password": "pw"})
	}
	h.devs = make([][2]*device, users)
	for i, u := range h.names {
		for k := range 2 {
			node := (i + k) % len(c.nodes)
			h.devs[i][k] = h.dial(t, u, node, fmt.Sprint("dev", k))
			h.onNode[node] = append(h.onNode[node], h.devs[i][k])
		}
	}
	g, err := h.devs[0][0].client.CreateGroup(ctx, protocol.GroupSettings{Name: ptr("all")}, h.names[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	h.group = g.ID
	return h
}

// dial connects a device of user to node, with the other nodes as the
// endpoints it fails over to.
func (h *clusterChat) dial(t *testing.T, user string, node int, resource string) *device {
	t.Helper()
	var others []string
	for k := 1; k < len(h.c.nodes); k++ {
		others = append(others, h.c.url((node+k)%len(h.c.nodes)))
	}
	cl, err := parley.Dial(h.ctx, parley.Config{BaseURL: h.c.url(node), Endpoints: others, Org: "acme", App: h.app,
		Username: user, Password: "pw", Resource: resource, BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		t.Fatalf("dial %s on node %d: %v", user, node, err)
	}
	d := &device{user: user, client: cl, got: map[string]int{}, last: map[string]int64{}}
	go d.drain()
	t.Cleanup(func() { cl.Close() })
	h.all = append(h.all, d)
	return d
}

// chatLoad is a steady load: every user's device 0 sends, 1:1 to the next
// user and to the group in turn. A send that fails is counted, by error
// kind; an acknowledged one must reach its targets.
type chatLoad struct {
	mu      sync.Mutex
	acked   []sent
	failed  int
	errs    map[string]int // failed sends by error kind
	lastAck []time.Time    // per sender: its last acknowledged send
	stopc   chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// startLoad sends one message per user every interval, each send given
// timeout to be acknowledged.
func (h *clusterChat) startLoad(every, timeout time.Duration) *chatLoad {
	users := len(h.names)
	l := &chatLoad{lastAck: make([]time.Time, users), stopc: make(chan struct{}), errs: map[string]int{}}
	for i := range users {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			from := h.devs[i][0]
			peer := (i + 1) % users
			for n := 0; ; n++ {
				select {
				case <-l.stopc:
					return
				case <-time.After(every):
				}
				m := parley.OutgoingMessage{To: h.names[peer], Body: parley.TextBody{Msg: fmt.Sprint(n)}}
				targets := []*device{h.devs[i][1], h.devs[peer][0], h.devs[peer][1]}
				if n%2 == 1 {
					m = parley.OutgoingMessage{To: h.group, ChatType: protocol.ChatTypeGroup, Body: parley.TextBody{Msg: fmt.Sprint(n)}}
					targets = []*device{h.devs[i][1]}
					for j := range users {
						if j != i {
							targets = append(targets, h.devs[j][0], h.devs[j][1])
						}
					}
				}
				sctx, scancel := context.WithTimeout(h.ctx, timeout)
				ack, err := from.client.Send(sctx, m)
				scancel()
				l.mu.Lock()
				if err != nil {
					l.failed++
					l.errs[errKind(err)]++
				} else {
					l.acked = append(l.acked, sent{id: ack.MsgID, targets: targets})
					l.lastAck[i] = time.Now()
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// stop ends the load and waits for its senders (again: nothing).
func (l *chatLoad) stop() {
	l.once.Do(func() {
		close(l.stopc)
		l.wg.Wait()
	})
}

// snapshot is the sends acknowledged so far.
func (l *chatLoad) snapshot() []sent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sent(nil), l.acked...)
}

// waitAcks waits for more acknowledgements, failing after within.
func (l *chatLoad) waitAcks(t *testing.T, more int, within time.Duration) {
	t.Helper()
	l.mu.Lock()
	want := len(l.acked) + more
	l.mu.Unlock()
	deadline := time.Now().Add(within)
	for {
		l.mu.Lock()
		n := len(l.acked)
		l.mu.Unlock()
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("load stalled at %d acks (want %d)", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// errKind is a failed send's error code, or its text.
func errKind(err error) string {
	var pe *parley.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return err.Error()
}
