package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
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
	cmd := exec.Command(c.bin, "app", "create", "acme", "chat2")
	cmd.Env = c.env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("app create: %v", err)
	}
	var app map[string]string
	json.Unmarshal(out, &app)
	base := c.url(0) + "/acme/chat2"
	admin := postJSON(t, base+"/token", "", map[string]string{"grant_type": "client_credentials",
		"client_id": app["client_id"], "client_secret": app["client_secret"]})["access_token"].(string)

	const users = 9
	names := make([]string, users)
	for i := range names {
		names[i] = fmt.Sprint("u", i)
		postJSON(t, base+"/users", admin, map[string]string{"username": names[i], "password": "pw"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dial := func(user string, node int, resource string) *device {
		var others []string
		for k := 1; k < len(c.nodes); k++ {
			others = append(others, c.url((node+k)%len(c.nodes)))
		}
		cl, err := parley.Dial(ctx, parley.Config{BaseURL: c.url(node), Endpoints: others, Org: "acme", App: "chat2",
			Username: user, Password: "pw", Resource: resource, BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
		if err != nil {
			t.Fatalf("dial %s on node %d: %v", user, node, err)
		}
		d := &device{user: user, client: cl, got: map[string]int{}, last: map[string]int64{}}
		go d.drain()
		t.Cleanup(func() { cl.Close() })
		return d
	}
	// Device 0 of user i on node i%3, device 1 on node (i+1)%3.
	devs := make([][2]*device, users)
	onNode := map[int][]*device{}
	for i, u := range names {
		for k := range 2 {
			node := (i + k) % 3
			devs[i][k] = dial(u, node, fmt.Sprint("dev", k))
			onNode[node] = append(onNode[node], devs[i][k])
		}
	}
	g, err := devs[0][0].client.CreateGroup(ctx, protocol.GroupSettings{Name: ptr("all")}, names[1:]...)
	if err != nil {
		t.Fatal(err)
	}

	// Load: every user's device 0 sends, 1:1 to the next user and to the
	// group in turn, one message every 50 ms.
	var mu sync.Mutex
	var acked []sent
	var sendErrs int
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := devs[i][0]
			peer := (i + 1) % users
			for n := 0; ; n++ {
				select {
				case <-stopLoad:
					return
				case <-time.After(50 * time.Millisecond):
				}
				m := parley.OutgoingMessage{To: names[peer], Body: parley.TextBody{Msg: fmt.Sprint(n)}}
				targets := []*device{devs[i][1], devs[peer][0], devs[peer][1]}
				if n%2 == 1 {
					m = parley.OutgoingMessage{To: g.ID, ChatType: protocol.ChatTypeGroup, Body: parley.TextBody{Msg: fmt.Sprint(n)}}
					targets = []*device{devs[i][1]}
					for j := range users {
						if j != i {
							targets = append(targets, devs[j][0], devs[j][1])
						}
					}
				}
				sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
				ack, err := from.client.Send(sctx, m)
				scancel()
				mu.Lock()
				if err != nil {
					sendErrs++
				} else {
					acked = append(acked, sent{id: ack.MsgID, targets: targets})
				}
				mu.Unlock()
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitAcks := func(more int) {
		want := count() + more
		deadline := time.Now().Add(30 * time.Second)
		for count() < want {
			if time.Now().After(deadline) {
				t.Fatalf("load stalled at %d acks (want %d)", count(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	waitAcks(200)
	// Before anything fails, messages cross nodes live: devices on other
	// nodes than their senders' get them without reconnecting.
	mu.Lock()
	early := append([]sent(nil), acked...)
	mu.Unlock()
	waitDelivered(t, early, 5*time.Second)
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
	close(stopLoad)
	wg.Wait()

	// Every acknowledged message reaches each of its targets exactly once.
	mu.Lock()
	all := acked
	mu.Unlock()
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
		len(all), sendErrs, convs)
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
