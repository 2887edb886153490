package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The bare relay is the ceiling `parley bench compare` measures Parley
// against: a WebSocket server with the same library (gorilla) and the same
// transport shape as Parley's gateway (a reader goroutine per connection, a
// bounded send queue, a writer goroutine only while frames wait, vectored
// writes) but no authentication, no storage, no sequence numbers, no
// receipts. It speaks just enough JSON for the bench:
//
//	GET  /ws?user=NAME                      connect as NAME (the last connection of a name receives)
//	PUT  /groups/ID  body: names, one a line  set a group's members
//	client → relay  {"t":"send","id":N,"to":"NAME","text":"..."}    or "group":"ID" instead of "to"
//	relay → sender  {"t":"ack","id":N}                              after the deliveries are queued
//	relay → others  {"t":"msg","from":"NAME","text":"..."}          the sender is skipped in a group
//
// It is started as a child process (`parley bench-relay`), listens on a
// loopback port and prints "listening HOST:PORT" on stdout.

// relayQueue bounds the send queue of one relay connection (frames), as
// Parley's ws.send_queue does; a connection whose queue is full is closed,
// as a slow consumer. The queue grows on demand: an idle connection holds
// none.
const relayQueue = 1024

type relay struct {
	mu     sync.RWMutex
	users  map[string]*relayConn
	groups map[string][]string
	up     websocket.Upgrader
}

type relayConn struct {
	user    string
	ws      *websocket.Conn
	mu      sync.Mutex
	q       [][]byte // frames waiting for the writer
	writing bool     // a writer goroutine runs (only while q is not empty)
	done    chan struct{}
	once    sync.Once
}

func (c *relayConn) shut() {
	c.once.Do(func() { close(c.done); c.ws.Close() })
}

// enqueue queues a frame and starts the writer if none runs; false if the
// connection is too slow (then closed).
func (c *relayConn) enqueue(b []byte) bool {
	c.mu.Lock()
	if len(c.q) >= relayQueue {
		c.mu.Unlock()
		c.shut()
		return false
	}
	c.q = append(c.q, b)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	return true
}

// writeLoop writes what is queued until the queue is empty: an idle
// connection has no writer goroutine, as in Parley's gateway.
func (c *relayConn) writeLoop() {
	for {
		c.mu.Lock()
		q := c.q
		c.q = nil
		if len(q) == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if err := c.writeFrames(q); err != nil {
			c.shut() // writing stays set: no writer starts again
			return
		}
	}
}

// writeFrames writes frames as unmasked text frames with vectored writes
// of up to 64 KiB, one syscall per chunk rather than per frame: the same
// technique as Parley's gateway, so the relay is a ceiling for it.
func (c *relayConn) writeFrames(frames [][]byte) error {
	bufs := make(net.Buffers, 0, 2*len(frames))
	hdrs := make([]byte, 0, 10*len(frames))
	for _, f := range frames {
		start := len(hdrs)
		hdrs = append(hdrs, 0x81) // FIN, text
		switch n := len(f); {
		case n < 126:
			hdrs = append(hdrs, byte(n))
		case n <= 0xFFFF:
			hdrs = binary.BigEndian.AppendUint16(append(hdrs, 126), uint16(n))
		default:
			hdrs = binary.BigEndian.AppendUint64(append(hdrs, 127), uint64(n))
		}
		bufs = append(bufs, hdrs[start:len(hdrs):len(hdrs)], f)
	}
	nc := c.ws.UnderlyingConn()
	for len(bufs) > 0 {
		j, n := 1, len(bufs[0])
		for j < len(bufs) && n+len(bufs[j]) <= 64<<10 {
			n += len(bufs[j])
			j++
		}
		chunk := bufs[:j]
		bufs = bufs[j:]
		nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := chunk.WriteTo(nc); err != nil {
			return err
		}
	}
	return nil
}

type relayFrame struct {
	T     string `json:"t"`
	ID    int64  `json:"id"`
	To    string `json:"to"`
	Group string `json:"group"`
	Text  string `json:"text"`
}

type relayMsg struct {
	T    string `json:"t"`
	From string `json:"from"`
	Text string `json:"text"`
}

func newRelay() *relay {
	return &relay{users: map[string]*relayConn{}, groups: map[string][]string{},
		up: websocket.Upgrader{ReadBufferSize: 2048, WriteBufferSize: 2048, WriteBufferPool: &sync.Pool{}}}
}

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.URL.Path == "/ws":
		r.serveWS(w, req)
	case strings.HasPrefix(req.URL.Path, "/groups/") && req.Method == http.MethodPut:
		id := strings.TrimPrefix(req.URL.Path, "/groups/")
		var members []string
		sc := bufio.NewScanner(io.LimitReader(req.Body, 4<<20))
		for sc.Scan() {
			if m := strings.TrimSpace(sc.Text()); m != "" {
				members = append(members, m)
			}
		}
		if id == "" || sc.Err() != nil {
			http.Error(w, "bad group", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.groups[id] = members
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case req.URL.Path == "/readyz":
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, req)
	}
}

func (r *relay) serveWS(w http.ResponseWriter, req *http.Request) {
	user := req.URL.Query().Get("user")
	if user == "" {
		http.Error(w, "user missing", http.StatusBadRequest)
		return
	}
	ws, err := r.up.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	c := &relayConn{user: user, ws: ws, done: make(chan struct{})}
	r.mu.Lock()
	r.users[user] = c
	r.mu.Unlock()
	r.read(c)
	r.mu.Lock()
	if r.users[user] == c {
		delete(r.users, user)
	}
	r.mu.Unlock()
	c.shut()
}

func (r *relay) read(c *relayConn) {
	c.ws.SetReadLimit(64 << 10)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var f relayFrame
		if json.Unmarshal(b, &f) != nil || f.T != "send" {
			continue
		}
		msg, _ := json.Marshal(relayMsg{T: "msg", From: c.user, Text: f.Text})
		r.mu.RLock()
		if f.Group != "" {
			for _, m := range r.groups[f.Group] {
				if m == c.user {
					continue
				}
				if to := r.users[m]; to != nil {
					to.enqueue(msg)
				}
			}
		} else if to := r.users[f.To]; to != nil {
			to.enqueue(msg)
		}
		r.mu.RUnlock()
		ack := strconv.AppendInt([]byte(`{"t":"ack","id":`), f.ID, 10)
		if !c.enqueue(append(ack, '}')) {
			return
		}
	}
}

// RunRelay is the hidden `parley bench-relay`: it serves the bare relay on
// addr (a loopback address; port 0 picks one), prints "listening
// HOST:PORT" on stdout and serves until ctx ends.
func RunRelay(ctx context.Context, addr string, stdout io.Writer) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("the relay listens on loopback only, not %q", host)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newRelay(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
