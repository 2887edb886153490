package parley

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/protocol"
)

const (
	writeTimeout = 10 * time.Second
	// readLimit bounds one server frame. Server frames are not limited to
	// 64 KiB: a sync page carries up to 100 conversations with recent items.
	readLimit = 32 << 20
)

// errConnClosed fails requests whose connection closed before the reply.
var errConnClosed = errors.New("parley: connection closed")

// wire is what conn needs of a WebSocket connection; *websocket.Conn
// implements it and tests use a fake.
type wire interface {
	ReadMessage() (messageType int, p []byte, err error)
	WriteMessage(messageType int, data []byte) error
	WriteControl(messageType int, data []byte, deadline time.Time) error
	SetWriteDeadline(t time.Time) error
	Close() error
}

var _ wire = (*websocket.Conn)(nil)

// reply is a server frame answering a request.
type reply struct {
	T   string
	ID  string
	raw []byte
}

// decode unmarshals the frame into v.
func (r *reply) decode(v any) error {
	if err := json.Unmarshal(r.raw, v); err != nil {
		return fmt.Errorf("parley: bad %s frame: %w", r.T, err)
	}
	return nil
}

// asError returns the *Error of an error reply, or nil.
func (r *reply) asError() error {
	if r.T != protocol.FrameError {
		return nil
	}
	var e protocol.Error
	if err := r.decode(&e); err != nil {
		return err
	}
	return &Error{Code: e.Code, Message: e.Message, RetryAfter: time.Duration(e.RetryAfterMS) * time.Millisecond}
}

// replyFunc receives a request's reply, or errConnClosed. It runs on the
// connection's read goroutine and must not block.
type replyFunc func(r *reply, err error)

type pending struct {
	req *protocol.Request
	fn  replyFunc
}

// closeInfo says how a connection ended.
type closeInfo struct {
	code   int
	reason string
	err    error
}

// conn is one WebSocket connection: it writes requests, matches replies to
// them by id, and hands every other frame to onPush. Its read loop runs
// until the connection fails or is closed; then every pending request gets
// errConnClosed.
type conn struct {
	ws     wire
	log    *slog.Logger
	nextID func() string
	// onPush receives frames that answer no request; it runs on the read
	// goroutine and must not block.
	onPush func(t string, data []byte)
	// dropReply, if set and true for a reply's request, discards the reply
	// and drops the connection (a test hook).
	dropReply func(req *protocol.Request) bool

	wmu sync.Mutex // serializes writes

	mu      sync.Mutex
	pending map[string]pending
	closed  bool
	local   string           // why this side closed the connection, if it did
	kicked  *protocol.Kicked // the server's announcement before closing
	info    closeInfo
	done    chan struct{} // closed when the read loop has ended
}

func newConn(ws wire, log *slog.Logger, nextID func() string, onPush func(string, []byte)) *conn {
	return &conn{ws: ws, log: log, nextID: nextID, onPush: onPush,
		pending: map[string]pending{}, done: make(chan struct{})}
}

// write sends one frame.
func (c *conn) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// requestAsync sends req with a fresh id and calls fn with the reply, or
// with errConnClosed if the connection ends first. fn may run before
// requestAsync returns.
func (c *conn) requestAsync(req *protocol.Request, fn replyFunc) {
	req.ID = c.nextID()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		fn(nil, errConnClosed)
		return
	}
	c.pending[req.ID] = pending{req: req, fn: fn}
	c.mu.Unlock()
	if err := c.write(req); err != nil {
		c.abort("write failed: " + err.Error())
	}
}

// request sends req and waits for its reply. Error replies are returned as
// *Error.
func (c *conn) request(ctx context.Context, req *protocol.Request) (*reply, error) {
	type result struct {
		r   *reply
		err error
	}
	ch := make(chan result, 1)
	c.requestAsync(req, func(r *reply, err error) { ch <- result{r, err} })
	select {
	case res := <-ch:
		if res.err != nil {
			return nil, res.err
		}
		if err := res.r.asError(); err != nil {
			return nil, err
		}
		return res.r, nil
	case <-ctx.Done():
		c.forget(req.ID)
		return nil, ctx.Err()
	}
}

// forget drops a pending request whose caller gave up.
func (c *conn) forget(id string) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// readLoop reads frames until the connection ends.
func (c *conn) readLoop() {
	var err error
	for {
		var data []byte
		if _, data, err = c.ws.ReadMessage(); err != nil {
			break
		}
		c.handle(data)
	}
	c.finish(err)
}

// envelope is the part of every frame that routes it.
type envelope struct {
	T  string `json:"t"`
	ID string `json:"id"`
}

// isReply reports whether a frame kind answers a request.
func isReply(t string) bool {
	switch t {
	case protocol.FrameAuthOK, protocol.FramePong, protocol.FrameAck, protocol.FrameOK, protocol.FrameError,
		protocol.FrameSyncResult, protocol.FrameItems, protocol.FrameConvList,
		protocol.FrameContactsResult, protocol.FrameContactRequestsReply, protocol.FrameBlocksResult,
		protocol.FrameAttrsResult, protocol.FramePresenceResult, protocol.FrameEventsResult, protocol.FrameGroupResult,
		protocol.FrameRoomResult:
		return true
	}
	return false
}

// handle routes one frame: a reply to its request, anything else to onPush.
func (c *conn) handle(data []byte) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil || env.T == "" {
		c.log.Warn("ignoring a server frame that is not a JSON object with t", "bytes", len(data))
		return
	}
	if env.ID != "" && isReply(env.T) {
		c.mu.Lock()
		p, ok := c.pending[env.ID]
		delete(c.pending, env.ID)
		c.mu.Unlock()
		if !ok {
			c.log.Debug("reply to no pending request", "t", env.T, "id", env.ID)
			return
		}
		if c.dropReply != nil && c.dropReply(p.req) {
			c.mu.Lock()
			c.pending[env.ID] = p // fails with errConnClosed below, as on a real drop
			c.mu.Unlock()
			c.abort("test hook: reply dropped")
			return
		}
		p.fn(&reply{T: env.T, ID: env.ID, raw: data}, nil)
		return
	}
	if env.T == protocol.FrameKicked {
		var k protocol.Kicked
		if json.Unmarshal(data, &k) == nil {
			c.mu.Lock()
			c.kicked = &k
			c.mu.Unlock()
		}
		return
	}
	c.onPush(env.T, data)
}

// finish records how the connection ended and fails pending requests.
func (c *conn) finish(err error) {
	info := closeInfo{code: websocket.CloseAbnormalClosure, err: err}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		info.code, info.reason = ce.Code, ce.Text
	}
	c.mu.Lock()
	if c.kicked != nil {
		if info.code == websocket.CloseAbnormalClosure {
			info.code = c.kicked.Code
		}
		if info.reason == "" {
			info.reason = c.kicked.Reason
		}
	}
	if c.local != "" {
		info.reason = c.local
		info.err = errors.New("parley: " + c.local)
	}
	if info.reason == "" && err != nil {
		info.reason = err.Error()
	}
	c.closed = true
	c.info = info
	pend := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.ws.Close()
	for _, p := range pend {
		p.fn(nil, errConnClosed)
	}
	close(c.done)
}

// abort drops the connection at once (dead link, failed write, test hook).
func (c *conn) abort(reason string) {
	c.mu.Lock()
	if c.local == "" {
		c.local = reason
	}
	c.mu.Unlock()
	c.ws.Close()
}

// close ends the connection politely with a close frame and waits (up to a
// second) for the read loop to end.
func (c *conn) close(reason string) {
	c.mu.Lock()
	if c.local == "" {
		c.local = reason
	}
	c.mu.Unlock()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err == nil {
		select {
		case <-c.done:
			return
		case <-time.After(time.Second):
		}
	}
	c.ws.Close()
	<-c.done
}

// isDone reports whether the read loop has ended.
func (c *conn) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// ended returns how the connection ended; valid once done is closed.
func (c *conn) ended() closeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}
