//go:build linux

package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/blob"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/protocol"
)

// chaosRecoveryBound is how long the cluster may take to recover on its own
// after a fault ends: every node ready, every client connected, every
// sender's messages acknowledged again. The measured figures (logged, and
// in docs/operations.md) are a few seconds; the bound is generous so a
// loaded CI machine does not fail it.
const chaosRecoveryBound = 30 * time.Second

// A three-node cluster under steady load, on a PostgreSQL, a NATS server and
// an S3 store (versitygw on an 8 MB tmpfs) of its own, so that they can be
// stopped without disturbing the tests that share the suite's servers. In
// turn: a node is SIGKILLed and restarted, PostgreSQL stops at once
// (immediate shutdown) and comes back, NATS is killed and comes back, the
// blob store's disk fills up and is freed, the blob store is killed and
// comes back. While PostgreSQL or NATS is down every node's /readyz is 503;
// sends refused meanwhile say service_unavailable, never internal_error.
// Uploads on a full disk fail with storage_full and keep nothing, uploads
// with the blob store gone with service_unavailable, while messages keep
// flowing. After each fault the cluster recovers by itself within
// chaosRecoveryBound (nodes ready, clients connected, sends acknowledged,
// presence the same on every node). At the end every acknowledged message
// reached every device exactly once and in order, no message reached a
// device twice, and every conversation's sequence is gap-free.
//
// It runs only with PARLEY_TEST_CHAOS=1 (scripts/test.sh sets it) and then
// needs root (to mount the tmpfs), PostgreSQL's initdb and postgres under
// /usr/lib/postgresql/*/bin, nats-server and versitygw: without them it is
// skipped, or fails with PARLEY_REQUIRE_CHAOS=1 (scripts/test.sh, CI).
func TestChaos_ClusterFaults(t *testing.T) {
	if os.Getenv("PARLEY_TEST_CHAOS") != "1" {
		t.Skip("the chaos test runs only with PARLEY_TEST_CHAOS=1 (scripts/test.sh sets it): it needs root, initdb, nats-server and versitygw")
	}
	if testing.Short() {
		t.Skip("starts a three-node cluster and its own PostgreSQL, NATS and S3 server")
	}
	pg := startChaosPostgres(t)
	nt := startChaosNATS(t)
	s3 := startChaosS3(t)
	c := newClusterEnvOn(t, 3, pg.url("parley"), nt.url(), s3.opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Every user's device 0 sends every 100 ms. A send that fails (the
	// fault is on) is not counted; an acknowledged one must be delivered.
	h := newClusterChat(t, ctx, c, "chaos", 6)
	admin, names, all, onNode := h.admin, h.names, h.all, h.onNode
	base := c.url(0) + "/acme/chaos"
	ld := h.startLoad(100*time.Millisecond, 10*time.Second)
	stopLoad := ld.stop
	defer stopLoad()

	ld.waitAcks(t, 60, chaosRecoveryBound)
	early := ld.snapshot()
	waitDelivered(t, early, 10*time.Second)

	var report []string
	// Presence is cluster-wide again: every node lists both devices of
	// every user, wherever they are connected.
	hc := &http.Client{Timeout: 3 * time.Second}
	presence := func() []string {
		var wrong []string
		for i := range c.nodes {
			for _, u := range names {
				req, _ := http.NewRequest("GET", c.url(i)+"/acme/chaos/users/"+u+"/resources", nil)
				req.Header.Set("Authorization", "Bearer "+admin)
				resp, err := hc.Do(req)
				if err != nil {
					wrong = append(wrong, fmt.Sprintf("node %d: %v", i, err))
					continue
				}
				var r struct {
					Data []map[string]any `json:"data"`
				}
				json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if len(r.Data) != 2 {
					wrong = append(wrong, fmt.Sprintf("node %d lists %d devices of %s", i, len(r.Data), u))
				}
			}
		}
		return wrong
	}
	recovered := func(fault string, ended time.Time) {
		t.Helper()
		core, whole := chaosRecover(t, c, all, ld, ended, presence)
		report = append(report, fmt.Sprintf("%s: %v (presence %v)", fault, core.Round(10*time.Millisecond), whole.Round(10*time.Millisecond)))
		t.Logf("%s: nodes ready, clients connected, sends acknowledged %v after the fault ended; presence consistent after %v",
			fault, core.Round(10*time.Millisecond), whole.Round(10*time.Millisecond))
	}

	// 1. A node dies (SIGKILL) and comes back. Its clients move to the
	// others at once.
	killed := time.Now()
	c.stop(1, syscall.SIGKILL)
	for _, d := range onNode[1] {
		for !d.connectedAfter(killed) {
			if time.Since(killed) > chaosRecoveryBound {
				t.Fatalf("%s's device of the killed node is not back after %v", d.user, chaosRecoveryBound)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	report = append(report, fmt.Sprintf("clients of the killed node reconnected: %v", time.Since(killed).Round(10*time.Millisecond)))
	ld.waitAcks(t, 20, chaosRecoveryBound) // the others carry on
	c.start(1)
	recovered("node SIGKILL", time.Now())

	// 2. PostgreSQL stops at once (immediate shutdown: no checkpoint, crash
	// recovery at the next start) for 3 s. Meanwhile node 2 dies too: its
	// clients cannot sign in anywhere until the database is back, and it
	// cannot start before.
	pg.stop(syscall.SIGQUIT)
	chaosNotReady(t, c, "PostgreSQL is down")
	c.stop(2, syscall.SIGKILL)
	time.Sleep(3 * time.Second)
	pg.start()
	c.start(2)
	recovered("PostgreSQL restart (and a node killed meanwhile)", time.Now())

	// 3. NATS is killed for 10 s: longer than presence.ExpireAfter, so every
	// node counts the others' devices offline meanwhile.
	nt.stop()
	chaosNotReady(t, c, "NATS is down")
	time.Sleep(10 * time.Second)
	nt.start()
	recovered("NATS restart", time.Now())

	// 4. The blob store's disk fills up. Uploads fail with a clear error,
	// messages (which do not need it) keep flowing; once space is freed
	// uploads work again.
	st, raw := uploadFile(t, base, admin, "before.txt", []byte("room for this"))
	var before struct {
		Entities []struct{ UUID string } `json:"entities"`
	}
	if json.Unmarshal(raw, &before); st != 200 || len(before.Entities) != 1 {
		t.Fatalf("upload before the disk fills: %d %s", st, raw)
	}
	files := countFiles(t, c.pgURL)
	s3.fill(t)
	for i := range c.nodes {
		st, raw := uploadFile(t, c.url(i)+"/acme/chaos", admin, "full.bin", bytes.Repeat([]byte("x"), 64<<10))
		var e struct {
			Error string `json:"error"`
			Code  string `json:"code"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || e.Error == "" {
			t.Fatalf("upload on a full disk through node %d: %d %q is not an API error", i, st, raw)
		}
		if st != http.StatusInsufficientStorage || e.Error != protocol.ErrStorageFull.Error || e.Code != protocol.ErrStorageFull.ID {
			t.Fatalf("upload on a full disk through node %d: %d %s, want %d %s", i, st, raw, http.StatusInsufficientStorage, protocol.ErrStorageFull.ID)
		}
	}
	if n := countFiles(t, c.pgURL); n != files {
		t.Fatalf("refused uploads left records: %d files, %d before", n, files)
	}
	// Stored files are still served.
	req, _ := http.NewRequest("GET", c.url(2)+"/acme/chaos/chatfiles/"+before.Entities[0].UUID, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "room for this" {
		t.Fatalf("download on a full disk: %d %q", resp.StatusCode, got)
	}
	ld.waitAcks(t, 30, chaosRecoveryBound)
	// The blob store is not part of readiness: the nodes still take
	// traffic.
	for i := range c.nodes {
		if resp, err := http.Get(c.url(i) + "/readyz"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("node %d not ready while only the blob store is full: %v %v", i, err, resp)
		} else {
			resp.Body.Close()
		}
	}
	s3.free(t)
	freed := time.Now()
	for {
		st, raw := uploadFile(t, base, admin, "after.txt", []byte("room again"))
		if st == 200 {
			break
		}
		if time.Since(freed) > chaosRecoveryBound {
			t.Fatalf("uploads fail %v after space was freed: %d %s", chaosRecoveryBound, st, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	recovered("blob store full", freed)

	// 5. The blob store goes away for a while: uploads fail with
	// service_unavailable (not an internal error), messages keep flowing,
	// uploads work again once it is back.
	s3.stop(syscall.SIGKILL)
	began := time.Now()
	st, raw = uploadFile(t, base, admin, "gone.txt", []byte("nowhere to go"))
	if st != http.StatusServiceUnavailable || !strings.Contains(string(raw), `"`+protocol.ErrUnavailable.ID+`"`) {
		t.Fatalf("upload with the blob store down: %d %s, want 503 %s", st, raw, protocol.ErrUnavailable.ID)
	}
	t.Logf("an upload with the blob store down failed after %v", time.Since(began).Round(10*time.Millisecond))
	ld.waitAcks(t, 30, chaosRecoveryBound)
	s3.start()
	back := time.Now()
	if st, raw := uploadFile(t, base, admin, "back.txt", []byte("room again")); st != 200 {
		t.Fatalf("upload once the blob store is back: %d %s", st, raw)
	}
	recovered("blob store restart", back)

	stopLoad()
	ld.mu.Lock()
	acked, failed := ld.acked, ld.failed
	ld.mu.Unlock()
	waitDelivered(t, acked, 30*time.Second)
	for _, d := range all {
		d.mu.Lock()
		for id, n := range d.got {
			if n > 1 {
				t.Errorf("%s got message %s %d times", d.user, id, n)
			}
		}
		if len(d.bad) > 0 {
			t.Errorf("out of order: %v", d.bad[:min(5, len(d.bad))])
		}
		d.mu.Unlock()
	}
	for i, nd := range c.nodes {
		if strings.Contains(nd.logs.String(), "panic") {
			t.Errorf("node %d logged a panic:\n%s", i, nd.logs.String())
		}
	}
	convs := checkGapFree(t, c.pgURL)
	t.Logf("%d messages acknowledged (%d sends failed during faults and were not counted), each delivered once, in order; %d conversations gap-free",
		len(acked), failed, convs)
	t.Logf("recovery after each fault: %s", strings.Join(report, "; "))
	t.Logf("failed sends by error: %v", ld.errs)
	// A send refused during an outage says so (service_unavailable, retry);
	// none is an internal error.
	if n := ld.errs[protocol.ErrInternal.ID]; n > 0 {
		t.Errorf("%d sends failed with an internal error during the faults: %v", n, ld.errs)
	}
}

// countFiles is how many uploads the database records.
func countFiles(t *testing.T, pgURL string) int {
	t.Helper()
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM files").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// chaosNotReady waits until /readyz fails on every node: a node that cannot
// reach its database or the bus says so, so load balancers can react.
func chaosNotReady(t *testing.T, c *clusterEnv, why string) {
	t.Helper()
	hc := &http.Client{Timeout: 3 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for i := range c.nodes {
		for {
			resp, err := hc.Get(c.url(i) + "/readyz")
			if err != nil {
				t.Fatalf("node %d: /readyz: %v", i, err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d: /readyz still %d while %s", i, resp.StatusCode, why)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// chaosNeed reports a missing prerequisite: the test is skipped, or fails
// with PARLEY_REQUIRE_CHAOS=1.
func chaosNeed(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := "chaos test: " + fmt.Sprintf(format, args...)
	if os.Getenv("PARLEY_REQUIRE_CHAOS") == "1" {
		t.Fatal(msg + " (PARLEY_REQUIRE_CHAOS=1)")
	}
	t.Skip(msg)
}

// chaosRecover waits until the cluster is whole again after a fault that
// ended at ended: /readyz is 200 on every node, every device is connected,
// every sender had a send acknowledged since (core: how long that took),
// and more reports nothing wrong (all). It returns how long that took
// and fails past chaosRecoveryBound.
func chaosRecover(t *testing.T, c *clusterEnv, devs []*device, l *chatLoad, ended time.Time, more func() []string) (core, all time.Duration) {
	t.Helper()
	hc := &http.Client{Timeout: 3 * time.Second}
	for {
		var wrong []string
		for i := range c.nodes {
			resp, err := hc.Get(c.url(i) + "/readyz")
			if err != nil {
				wrong = append(wrong, fmt.Sprintf("node %d: %v", i, err))
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				wrong = append(wrong, fmt.Sprintf("node %d: /readyz %d", i, resp.StatusCode))
			}
		}
		for _, d := range devs {
			d.mu.Lock()
			up := d.up
			d.mu.Unlock()
			if !up {
				wrong = append(wrong, d.user+"'s device is not connected")
			}
		}
		l.mu.Lock()
		for i, at := range l.lastAck {
			if !at.After(ended) {
				wrong = append(wrong, fmt.Sprintf("no send of u%d acknowledged", i))
			}
		}
		l.mu.Unlock()
		if len(wrong) == 0 {
			if core == 0 {
				core = time.Since(ended)
			}
			wrong = more()
		}
		if len(wrong) == 0 {
			return core, time.Since(ended)
		}
		if time.Since(ended) > chaosRecoveryBound {
			logs := ""
			for i, nd := range c.nodes {
				logs += fmt.Sprintf("--- node %d\n%s", i, tail(nd.logs.String(), 3000))
			}
			t.Fatalf("not recovered %v after the fault ended: %v\n%s", chaosRecoveryBound, wrong, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// uploadFile posts a file to an app's /chatfiles and returns the status and
// body.
func uploadFile(t *testing.T, base, token, name string, data []byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/chatfiles", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// chaosDir is a directory of the chaos test's own, removed at the end. Not
// t.TempDir: that one is private to root, and PostgreSQL runs as postgres.
func chaosDir(t *testing.T, pattern string) string {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func portOf(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// chaosProc is a service process the chaos test starts and stops.
type chaosProc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	exit chan error
	logs *servertest.LogBuffer
	// build makes the command (again) for start.
	build func() *exec.Cmd
	// up reports whether the service answers.
	up func() bool
}

func (p *chaosProc) start() {
	t := p.t
	t.Helper()
	cmd := p.build()
	p.logs = &servertest.LogBuffer{}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.cmd, p.exit = cmd, make(chan error, 1)
	go func() { p.exit <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !p.up() {
		select {
		case err := <-p.exit:
			p.cmd = nil
			t.Fatalf("%s exited: %v\n%s", p.name, err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer:\n%s", p.name, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *chaosProc) stop(sig syscall.Signal) {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exit:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exit
	}
	p.cmd = nil
}

// chaosPostgres is a private PostgreSQL server: initdb into a temporary
// directory, postgres on a free port with its socket in that directory. As
// root it runs as the postgres user (PostgreSQL refuses root).
type chaosPostgres struct {
	*chaosProc
	port int
}

func startChaosPostgres(t *testing.T) *chaosPostgres {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		chaosNeed(t, "no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	dir := chaosDir(t, "parley-chaos-pg-")
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			chaosNeed(t, "running as root, PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	as := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = dir
		return cmd
	}
	data := filepath.Join(dir, "data")
	if out, err := as("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p := &chaosPostgres{port: portOf(t, freePort(t))}
	p.chaosProc = &chaosProc{t: t, name: "PostgreSQL",
		build: func() *exec.Cmd {
			// fsync=off: the test kills the server process, not the
			// machine, so what was written survives in the page cache.
			return as("postgres", "-D", data, "-p", strconv.Itoa(p.port), "-k", dir,
				"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "fsync=off")
		},
		up: func() bool {
			db, err := sql.Open("pgx", p.url("postgres"))
			if err != nil {
				return false
			}
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return db.PingContext(ctx) == nil
		}}
	p.start()
	t.Cleanup(func() { p.stop(syscall.SIGQUIT) })
	db, err := sql.Open("pgx", p.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE parley"); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *chaosPostgres) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// chaosNATS is a private nats-server on a free port.
type chaosNATS struct {
	*chaosProc
	addr string
}

func startChaosNATS(t *testing.T) *chaosNATS {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
	}
	if _, err := os.Stat(bin); err != nil {
		chaosNeed(t, "no nats-server (apt-get install nats-server)")
	}
	dir := chaosDir(t, "parley-chaos-nats-")
	n := &chaosNATS{addr: freePort(t)}
	n.chaosProc = &chaosProc{t: t, name: "NATS",
		build: func() *exec.Cmd {
			return exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(portOf(t, n.addr)), "-js", "-sd", dir)
		},
		up: func() bool {
			c, err := net.DialTimeout("tcp", n.addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		}}
	n.chaosProc.start()
	t.Cleanup(func() { n.chaosProc.stop(syscall.SIGKILL) })
	return n
}

func (n *chaosNATS) url() string { return "nats://" + n.addr }

// stop kills the server (no lame-duck mode, no goodbye to clients).
func (n *chaosNATS) stop() { n.chaosProc.stop(syscall.SIGKILL) }

// start brings it back on the same port.
func (n *chaosNATS) start() { n.chaosProc.start() }

// chaosS3 is a private versitygw whose folder is on an 8 MB tmpfs, so the
// test can fill its disk.
type chaosS3 struct {
	*chaosProc
	mnt  string
	opts blob.S3Options
}

func startChaosS3(t *testing.T) *chaosS3 {
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "versitygw")
		if _, err := os.Stat(bin); err != nil {
			chaosNeed(t, "no versitygw (scripts/services.sh installs it)")
		}
	}
	dir := chaosDir(t, "parley-chaos-s3-")
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt).CombinedOutput(); err != nil {
		chaosNeed(t, "cannot mount an 8 MB tmpfs for the blob store (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	root := filepath.Join(mnt, "gw")
	os.Mkdir(root, 0o700)
	addr := freePort(t)
	s := &chaosS3{mnt: mnt, opts: blob.S3Options{Endpoint: "http://" + addr, Bucket: "parley-chaos", Region: "us-east-1",
		AccessKey: "parley", SecretKey: "parley-chaos-secret", PathStyle: true, Prefix: "chaos"}}
	s.chaosProc = &chaosProc{t: t, name: "versitygw",
		build: func() *exec.Cmd {
			return exec.Command(bin, "--access", s.opts.AccessKey, "--secret", s.opts.SecretKey, "--port", addr, "--quiet", "posix", root)
		},
		up: func() bool {
			st, err := blob.NewS3(s.opts)
			if err != nil {
				return false
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return st.EnsureBucket(ctx) == nil
		}}
	s.chaosProc.start()
	t.Cleanup(func() { s.chaosProc.stop(syscall.SIGKILL) })
	return s
}

// fill writes a file until the tmpfs is full.
func (s *chaosS3) fill(t *testing.T) {
	f, err := os.Create(filepath.Join(s.mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{0}, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the blob store's disk: %v", err)
			}
			return
		}
	}
}

// free removes the filler.
func (s *chaosS3) free(t *testing.T) {
	if err := os.Remove(filepath.Join(s.mnt, "filler")); err != nil {
		t.Fatal(err)
	}
}
