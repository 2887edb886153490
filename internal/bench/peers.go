package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// A system is one side of `parley bench compare`: Parley, the bare relay or
// Centrifugo, each started fresh for one measurement. The scenarios of
// compare.go drive every side through the same code; only the wire format
// and the setup differ.
type system interface {
	name() string
	// users makes n users and returns their names.
	users(ctx context.Context, prefix string, n int) ([]string, error)
	// group makes a conversation of members (members[0] owns it): a group
	// (room false) or a chat room (room true). It returns the target that
	// sends name and that dial subscribes to.
	group(ctx context.Context, members []string, room bool) (string, error)
	// spec says how to connect the users of the last users call
	// (subscribed to sub, where the system needs that).
	spec(sub string) *dialSpec
	// sample reads the server's CPU and memory.
	sample(ctx context.Context) ServerSample
	close()
}

// connectedHook is a system that finishes a group's setup once its members
// are connected (Parley's chat rooms).
type connectedHook interface {
	connected(ctx context.Context) error
}

// peerConn is one client connection of a system.
type peerConn interface {
	// send writes one message (to a user, or to the group/room target when
	// group is set) with request id id.
	send(id int64, to string, group bool, text []byte) error
	// run reads until the connection fails, calling fn for each ack
	// (kind 'a', with the request id; 'e' for a refused send) and each
	// message (kind 'm', with its text). fn must not keep text.
	run(fn func(kind byte, id int64, text []byte)) error
	close()
}

// peerProc is a peer server started by the bench as a child process.
type peerProc struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	once    sync.Once
}

// startPeerProc starts bin with args (output to logPath) and waits until
// ready answers true (bounded: 60 s).
func startPeerProc(ctx context.Context, bin string, args []string, logPath string, ready func() bool) (*peerProc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	p := &peerProc{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); lf.Close(); close(p.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for !ready() {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited during start:\n%s", filepath.Base(bin), tailFile(logPath))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s not ready within 60 s:\n%s", filepath.Base(bin), tailFile(logPath))
		}
	}
	return p, nil
}

func (p *peerProc) pid() int { return p.cmd.Process.Pid }

// stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (p *peerProc) stop() {
	p.once.Do(func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// procSample reads a child's CPU and RSS from /proc.
func procSample(pid int) ServerSample {
	s := ServerSample{RSSKiB: -1, CPUSeconds: -1, Goroutines: -1, HeapInuse: -1, StackInuse: -1, WSConns: -1,
		Batches: -1, BatchRequests: -1, BatchSeconds: -1, Source: "proc"}
	if v, err := readProcRSS(pid); err == nil {
		s.RSSKiB = v
	}
	if v, err := readProcCPU(pid); err == nil {
		s.CPUSeconds = v
	}
	return s
}

func tailFile(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// httpReady is a ready check: GET url answers below 500.
func httpReady(url string) func() bool {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	return func() bool {
		resp, err := hc.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode < 500
	}
}

// dialPlain opens a WebSocket without a protocol handshake.
func dialPlain(ctx context.Context, url string) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 2048, WriteBufferSize: 2048,
		WriteBufferPool: bufPool, Proxy: nil, NetDialContext: (&net.Dialer{Timeout: 15 * time.Second}).DialContext}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, resp, err := d.DialContext(dctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return c, err
}

// --- Parley ---

// parleySys is Parley: a server started by the bench (env), or --target.
type parleySys struct {
	e     *env
	names []string
	toks  []string
	room  bool // the last group call made a chat room
	// pending are the chat room's members to add once connected (a member
	// added while offline starts the room's grace period, after which the
	// server removes them).
	pending []string
	rid     string
}

func startParleySys(ctx context.Context, o *Options) (system, error) {
	e, err := startEnv(ctx, o)
	if err != nil {
		return nil, err
	}
	return &parleySys{e: e}, nil
}

func (p *parleySys) name() string { return "parley" }

func (p *parleySys) users(ctx context.Context, prefix string, n int) ([]string, error) {
	names, toks, err := p.e.users(ctx, prefix, n)
	p.names, p.toks = names, toks
	return names, err
}

func (p *parleySys) group(ctx context.Context, members []string, room bool) (string, error) {
	p.room = room
	if !room {
		return p.e.createGroup(ctx, members, len(members))
	}
	rid, err := p.e.createRoom(ctx, members[0], len(members))
	if err != nil {
		return "", err
	}
	p.rid, p.pending = rid, members[1:]
	return rid, nil
}

// connected adds the chat room's members, now online (see pending).
func (p *parleySys) connected(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	names := p.pending
	p.pending = nil
	return p.e.addRoomMembers(ctx, p.rid, names)
}

func (p *parleySys) spec(string) *dialSpec {
	return &dialSpec{Kind: "parley", URL: p.e.wsURLFor(0), Creds: p.toks, Room: p.room}
}

// dialParley connects and authenticates with a user token.
func dialParley(ctx context.Context, url, tok string, room bool) (peerConn, error) {
	c, ok, err := dialWS(ctx, url, tok, "cmp", nil)
	if err != nil {
		return nil, err
	}
	pc := &parleyConn{c: c, chatType: "groupchat"}
	if room {
		pc.chatType = "chatroom"
	}
	if hb := time.Duration(ok.Heartbeat) * time.Second; hb > 0 {
		// Ping once per heartbeat, as clients do, without a goroutine
		// per idle connection.
		var tick func()
		tick = func() {
			if pc.c.write([]byte(`{"t":"ping"}`)) == nil {
				pc.ping.Store(time.AfterFunc(hb, tick))
			}
		}
		pc.ping.Store(time.AfterFunc(hb, tick))
	}
	return pc, nil
}

func (p *parleySys) sample(ctx context.Context) ServerSample { return p.e.sample(ctx) }
func (p *parleySys) close()                                  { p.e.close() }

type parleyConn struct {
	c        *wsConn
	mu       sync.Mutex
	buf      []byte
	chatType string
	ping     atomicTimer
}

// atomicTimer holds the heartbeat timer of a connection.
type atomicTimer struct {
	mu sync.Mutex
	t  *time.Timer
}

func (a *atomicTimer) Store(t *time.Timer) { a.mu.Lock(); a.t = t; a.mu.Unlock() }
func (a *atomicTimer) stop() {
	a.mu.Lock()
	if a.t != nil {
		a.t.Stop()
	}
	a.mu.Unlock()
}

func (c *parleyConn) send(id int64, to string, group bool, text []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !group:
		c.buf = appendSend(c.buf[:0], id, to, "c"+strconv.FormatInt(id, 10)+randomHex(4), text)
	case c.chatType == "chatroom":
		c.buf = appendRoomSend(c.buf[:0], id, to, "normal", []byte("c"+strconv.FormatInt(id, 10)+randomHex(4)), text)
	default:
		c.buf = appendGroupSend(c.buf[:0], id, to, []byte("c"+strconv.FormatInt(id, 10)+randomHex(4)), text)
	}
	return c.c.write(c.buf)
}

var (
	ackPrefix   = []byte(`{"t":"ack",`)
	errPrefix   = []byte(`{"t":"error",`)
	idKey       = []byte(`"id":"`)
	msgTextKey  = []byte(`"msg":"`)
	relayAckKey = []byte(`{"t":"ack","id":`)
	relayMsgKey = []byte(`{"t":"msg",`)
	textKey     = []byte(`"text":"`)
)

func (c *parleyConn) run(fn func(kind byte, id int64, text []byte)) error {
	buf := make([]byte, 0, 1024)
	for {
		var err error
		buf, err = c.c.readInto(buf)
		if err != nil {
			return err
		}
		switch {
		case bytes.HasPrefix(buf, itemPrefix):
			if t := stringField(buf, msgTextKey); t != nil {
				fn('m', 0, t)
			}
		case bytes.HasPrefix(buf, ackPrefix), bytes.HasPrefix(buf, errPrefix):
			kind := byte('a')
			if buf[6] == 'e' {
				kind = 'e'
			}
			if id, ok := atoi(stringField(buf, idKey)); ok {
				fn(kind, id, nil)
			}
		}
	}
}

func (c *parleyConn) close() { c.ping.stop(); c.c.close() }

// --- the bare relay ---

type relaySys struct {
	proc  *peerProc
	base  string
	names []string
	hc    *http.Client
}

func startRelaySys(ctx context.Context, o *Options, dir string) (system, error) {
	bin := o.ServerBin
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		bin = exe
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	proc, err := startPeerProc(ctx, bin, []string{"bench-relay", "--listen", addr}, filepath.Join(dir, "relay.log"),
		httpReady(base+"/readyz"))
	if err != nil {
		return nil, err
	}
	return &relaySys{proc: proc, base: base, hc: newHTTPClient()}, nil
}

func (r *relaySys) name() string { return "relay" }

func (r *relaySys) users(_ context.Context, prefix string, n int) ([]string, error) {
	r.names = make([]string, n)
	for i := range r.names {
		r.names[i] = prefix + strconv.Itoa(i)
	}
	return r.names, nil
}

func (r *relaySys) group(ctx context.Context, members []string, _ bool) (string, error) {
	id := "g" + randomHex(4)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, r.base+"/groups/"+id,
		strings.NewReader(strings.Join(members, "\n")))
	if err != nil {
		return "", err
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return "", fmt.Errorf("relay: set group: HTTP %d", resp.StatusCode)
	}
	return id, nil
}

func (r *relaySys) spec(string) *dialSpec {
	return &dialSpec{Kind: "relay", URL: "ws" + strings.TrimPrefix(r.base, "http") + "/ws", Creds: r.names}
}

func (r *relaySys) sample(context.Context) ServerSample { return procSample(r.proc.pid()) }
func (r *relaySys) close()                              { r.proc.stop(); r.hc.CloseIdleConnections() }

type relayClient struct {
	c   *wsConn
	mu  sync.Mutex
	buf []byte
}

func (c *relayClient) send(id int64, to string, group bool, text []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := `","to":"`
	if group {
		key = `","group":"`
	}
	c.buf = append(append(c.buf[:0], `{"t":"send","id":`...), strconv.FormatInt(id, 10)...)
	c.buf = append(append(append(c.buf, key[1:]...), to...), `","text":"`...)
	c.buf = append(append(c.buf, text...), `"}`...)
	return c.c.write(c.buf)
}

func (c *relayClient) run(fn func(kind byte, id int64, text []byte)) error {
	buf := make([]byte, 0, 1024)
	for {
		var err error
		buf, err = c.c.readInto(buf)
		if err != nil {
			return err
		}
		switch {
		case bytes.HasPrefix(buf, relayMsgKey):
			if t := stringField(buf, textKey); t != nil {
				fn('m', 0, t)
			}
		case bytes.HasPrefix(buf, relayAckKey):
			v := buf[len(relayAckKey):]
			if i := bytes.IndexByte(v, '}'); i > 0 {
				if id, ok := atoi(v[:i]); ok {
					fn('a', id, nil)
				}
			}
		}
	}
}

func (c *relayClient) close() { c.c.close() }
