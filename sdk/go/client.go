package parley

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/protocol"
)

const (
	connectTimeout   = 15 * time.Second // dial, token and auth of one attempt
	pongTimeout      = 10 * time.Second // no pong within it: the link is dead
	defaultHeartbeat = 30 * time.Second
	pullLimit        = 100
	maxPushes        = 10000 // pushes waiting for processing before a resync instead
)

// Client is one device's connection to Parley. Create it with Dial; its
// methods are safe for concurrent use. Close it to stop its goroutines.
type Client struct {
	cfg       Config
	log       *slog.Logger
	endpoints []string
	hooks     hooks

	ids    atomic.Uint64
	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the Client stops: Close, or a terminal close
	wg     sync.WaitGroup

	events *eventQueue
	pushes *pushQueue
	rcpt   *receiptBatcher

	// Owned by the processing goroutine (Dial, then run).
	stream *stream
	cursor string // the last sync cursor; "" until the first sync completed

	// sendMu orders transmissions: Send holds it while it queues and writes a
	// message, setReady while it resends the queue, so a resend never
	// overtakes an older message.
	sendMu sync.Mutex

	mu       sync.Mutex
	user     string
	resource string
	token    string
	endpoint int           // index into endpoints
	ready    *conn         // the synced connection requests go to
	changed  chan struct{} // closed and replaced whenever ready changes
	err      error         // why the Client stopped
	outbox   []*outgoing   // sends waiting for their ack, oldest first
}

// hooks let tests interfere with a Client; all nil in normal use.
type hooks struct {
	mu sync.Mutex
	// dropReply, when it returns true for a request, makes the connection drop
	// as the reply arrives: the request was written and processed, the reply
	// never reaches the Client.
	dropReply func(req *protocol.Request) bool
	// beforeDial runs before each connection attempt; an error fails it.
	beforeDial func() error
	// pongTimeout replaces the 10 s pong timeout.
	pongTimeout time.Duration
}

func (h *hooks) dropReplyFn() func(*protocol.Request) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dropReply
}

func (h *hooks) beforeDialFn() func() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.beforeDial
}

func (h *hooks) pong() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pongTimeout > 0 {
		return h.pongTimeout
	}
	return pongTimeout
}

// Dial connects and authenticates (getting a token with the password grant
// if Config has no Token), runs a full sync, and returns a Client that keeps
// the connection up in the background. Events produced by the sync wait on
// Events. Dial fails if the first connection or sync fails; later failures
// are retried.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	return dial(ctx, cfg, nil)
}

// dial is Dial with a function that prepares the Client (tests set hooks).
func dial(ctx context.Context, cfg Config, setup func(*Client)) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := newClient(cfg)
	if setup != nil {
		setup(c)
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func newClient(cfg Config) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg: cfg, log: cfg.Logger.With("component", "parley-sdk"), endpoints: cfg.endpoints(),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		events: newEventQueue(), pushes: newPushQueue(maxPushes), rcpt: newReceiptBatcher(),
		cursor: cfg.State.Cursor(), token: cfg.Token, resource: cfg.Resource, changed: make(chan struct{}),
	}
	c.stream = &stream{seq: newSequencer(cfg.State.Seq), rcpt: c.rcpt, state: cfg.State,
		self: c.User, emit: c.events.put, log: c.log}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.events.pump(ctx, c.done)
	}()
	return c
}

// start makes the first connection and sync, trying each endpoint once,
// then runs the Client.
func (c *Client) start(ctx context.Context) error {
	var err error
	for i := range c.endpoints {
		if i > 0 {
			c.rotate()
		}
		var cn *conn
		if cn, err = c.connect(ctx); err == nil {
			if err = c.resync(ctx, cn); err == nil {
				c.setReady(cn)
				c.events.put(ConnectionEvent{State: Resynced}, nil)
				c.wg.Add(1)
				go c.run(cn)
				return nil
			}
			cn.close("sync failed")
			err = c.connError(cn, err)
		}
		if terminal(err) || ctx.Err() != nil {
			break
		}
	}
	c.stop(err)
	c.cancel()
	c.wg.Wait()
	return err
}

// Events returns the channel of events. It is closed after Close, or after
// the last event once the server closed the connection for good.
func (c *Client) Events() <-chan Event { return c.events.out }

// User returns the signed-in username (lower case).
func (c *Client) User() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// Resource returns this device's resource.
func (c *Client) Resource() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resource
}

// Done is closed when the Client stops: after Close, or when the server
// closed the connection with a terminal code (see Err).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the Client stopped: ErrClosed, a *CloseError, or nil while
// it runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection, fails waiting calls with ErrClosed, stops
// every goroutine of the Client and closes Events (events not yet received
// are dropped, and State does not record them).
func (c *Client) Close() error {
	c.stop(ErrClosed)
	c.cancel()
	c.wg.Wait()
	return nil
}

// stop records why the Client stops and fails the sends still waiting.
func (c *Client) stop(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	for _, o := range c.outbox {
		o.finish(nil, err)
	}
	c.outbox = nil
	close(c.done)
}

func (c *Client) nextID() string { return strconv.FormatUint(c.ids.Add(1), 10) }

// run keeps the Client connected until Close or a terminal close.
func (c *Client) run(cn *conn) {
	defer c.wg.Done()
	for {
		c.serve(cn)
		c.setReady(nil)
		if c.ctx.Err() != nil {
			return
		}
		info := cn.ended()
		if info.code == protocol.CloseAuthFailed && c.canRefresh() {
			// The token was revoked or expired: never reuse it, get a new one.
			c.mu.Lock()
			c.token = ""
			c.mu.Unlock()
		} else if terminalClose(info.code) {
			c.halt(&CloseError{Code: info.code, Reason: info.reason})
			return
		}
		c.events.put(ConnectionEvent{State: Disconnected, Code: info.code, Reason: info.reason, Err: info.err}, nil)
		c.log.Info("connection lost; reconnecting", "code", info.code, "reason", info.reason)
		var err error
		if cn, err = c.reconnect(); err != nil {
			if c.ctx.Err() == nil {
				c.halt(err)
			}
			return
		}
	}
}

// halt stops the Client for good after a terminal failure, telling the
// application first.
func (c *Client) halt(err error) {
	ev := ConnectionEvent{State: Disconnected, Err: err, Final: true}
	var ce *CloseError
	if errors.As(err, &ce) {
		ev.Code, ev.Reason = ce.Code, ce.Reason
	}
	c.log.Warn("stopping: the server refused this client", "err", err)
	c.events.put(ev, nil)
	c.stop(err)
}

// reconnect connects and resyncs with backoff, rotating endpoints, until it
// succeeds, the Client is closed, or the failure is terminal.
func (c *Client) reconnect() (*conn, error) {
	for attempt := 0; ; attempt++ {
		t := time.NewTimer(backoff(attempt, c.cfg.BackoffMin, c.cfg.BackoffMax, jitter()))
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return nil, ErrClosed
		}
		c.rotate()
		cn, err := c.connect(c.ctx)
		if err == nil {
			if err = c.resync(c.ctx, cn); err == nil {
				c.setReady(cn)
				c.events.put(ConnectionEvent{State: Resynced}, nil)
				return cn, nil
			}
			cn.close("sync failed")
			err = c.connError(cn, err)
		}
		if c.ctx.Err() != nil {
			return nil, ErrClosed
		}
		if terminal(err) {
			return nil, err
		}
		c.log.Info("reconnect failed", "attempt", attempt+1, "err", err)
	}
}

// connError turns a request failure on a closed connection into the close
// the server sent, when it was terminal.
func (c *Client) connError(cn *conn, err error) error {
	if !errors.Is(err, errConnClosed) {
		return err
	}
	<-cn.done
	if info := cn.ended(); terminalClose(info.code) {
		return &CloseError{Code: info.code, Reason: info.reason}
	} else if info.reason != "" {
		return fmt.Errorf("parley: connection closed (%d %s): %w", info.code, info.reason, err)
	}
	return err
}

// terminal reports whether a connection failure must not be retried: a
// terminal close, or a definite refusal (bad token or password, unknown app,
// device limit).
func terminal(err error) bool {
	var ce *CloseError
	if errors.As(err, &ce) {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case protocol.ErrInternal.ID, protocol.ErrUnavailable.ID, protocol.ErrRateLimited.ID, protocol.ErrConflict.ID:
		return false
	}
	return !strings.HasPrefix(e.Code, "http_5")
}

// rotate moves to the next endpoint.
func (c *Client) rotate() {
	c.mu.Lock()
	c.endpoint = (c.endpoint + 1) % len(c.endpoints)
	c.mu.Unlock()
}

// connect opens an authenticated connection to the current endpoint. A
// refused token is replaced once through the password grant, if the Config
// has a password.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if f := c.hooks.beforeDialFn(); f != nil {
		if err := f(); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	base, token := c.endpoints[c.endpoint], c.token
	c.mu.Unlock()
	fresh := false
	if token == "" {
		var err error
		if token, err = c.newToken(ctx, base); err != nil {
			return nil, err
		}
		fresh = true
	}
	cn, err := c.open(ctx, base, token)
	if IsCode(err, protocol.ErrBadAccessToken) && c.canRefresh() && !fresh {
		c.log.Info("the server refused the token; getting a new one")
		if token, err = c.newToken(ctx, base); err != nil {
			return nil, err
		}
		cn, err = c.open(ctx, base, token)
	}
	return cn, err
}

// canRefresh reports whether the Client can get tokens itself.
func (c *Client) canRefresh() bool { return c.cfg.Username != "" && c.cfg.Password != "" }

// newToken gets and keeps a user token.
func (c *Client) newToken(ctx context.Context, base string) (string, error) {
	tok, err := fetchToken(ctx, c.cfg.HTTPClient, base, c.cfg.Org, c.cfg.App, c.cfg.Username, c.cfg.Password)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
	return tok, nil
}

// open dials, starts the read loop and authenticates.
func (c *Client) open(ctx context.Context, base, token string) (*conn, error) {
	u, err := wsURL(base)
	if err != nil {
		return nil, err
	}
	d := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: connectTimeout}
	ws, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("parley: websocket handshake with %s: %s", base, resp.Status)
		}
		return nil, fmt.Errorf("parley: websocket dial %s: %w", base, err)
	}
	ws.SetReadLimit(readLimit)
	cn := newConn(ws, c.log, c.nextID, c.onPush)
	cn.dropReply = func(req *protocol.Request) bool {
		f := c.hooks.dropReplyFn()
		return f != nil && f(req)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		cn.readLoop()
	}()

	c.mu.Lock()
	resource := c.resource
	c.mu.Unlock()
	r, err := cn.request(ctx, &protocol.Request{T: protocol.FrameAuth, Token: token, Resource: resource,
		Platform: c.cfg.Platform, DeviceName: c.cfg.DeviceName})
	var ok protocol.AuthOK
	if err == nil {
		err = r.decode(&ok)
	}
	if err != nil {
		cn.close("auth failed")
		return nil, c.connError(cn, err)
	}
	c.mu.Lock()
	c.user, c.resource = ok.User, ok.Resource
	c.mu.Unlock()
	every := time.Duration(ok.Heartbeat) * time.Second
	if every <= 0 {
		every = defaultHeartbeat
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.heartbeat(cn, every)
	}()
	c.log.Info("connected", "endpoint", base, "user", ok.User, "resource", ok.Resource)
	c.events.put(ConnectionEvent{State: Connected, Resource: ok.Resource}, nil)
	return cn, nil
}

// heartbeat pings every interval and drops the connection when a pong does
// not come back in time.
func (c *Client) heartbeat(cn *conn, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-cn.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.hooks.pong())
		_, err := cn.request(ctx, &protocol.Request{T: protocol.FramePing})
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			c.log.Info("no pong in time; dropping the connection")
			cn.abort("no pong in time")
			return
		case errors.Is(err, errConnClosed), c.ctx.Err() != nil:
			return
		}
	}
}

// onPush queues a frame that answers no request; it runs on a read loop.
func (c *Client) onPush(t string, data []byte) {
	switch t {
	case protocol.FrameItem:
		var f protocol.ItemFrame
		if json.Unmarshal(data, &f) == nil && f.Item != nil {
			c.pushes.add(push{item: f.Item})
			return
		}
	case protocol.FrameReceipt:
		var r protocol.Receipt
		if json.Unmarshal(data, &r) == nil {
			c.pushes.add(push{receipt: &r})
			return
		}
	case protocol.FrameConv:
		var f protocol.ConvFrame
		if json.Unmarshal(data, &f) == nil && f.Conversation != nil {
			c.pushes.add(push{conv: f.Conversation})
			return
		}
	case protocol.FrameError:
		var e protocol.Error
		if json.Unmarshal(data, &e) == nil {
			c.log.Warn("the server reported an error", "code", e.Code, "message", e.Message)
			return
		}
	default:
		c.log.Debug("ignoring a frame of unknown kind", "t", t)
		return
	}
	c.log.Warn("ignoring a malformed frame", "t", t)
}

// serve processes pushes until the connection ends or the Client closes.
func (c *Client) serve(cn *conn) {
	for {
		select {
		case <-cn.done:
			return
		case <-c.ctx.Done():
			cn.close("client closed")
			return
		case <-c.pushes.notify:
		}
		if err := c.process(c.ctx, cn); err != nil && !errors.Is(err, errConnClosed) && c.ctx.Err() == nil {
			c.log.Warn("processing pushes failed", "err", err)
		}
	}
}

// process handles the queued pushes, in order.
func (c *Client) process(ctx context.Context, cn *conn) error {
	batch, overflow := c.pushes.take()
	pull := c.puller(cn)
	for i, p := range batch {
		switch {
		case p.item != nil:
			if err := c.stream.apply(ctx, pull, p.item); err != nil {
				if errors.Is(err, errConnClosed) || ctx.Err() != nil {
					// Keep the rest for the next connection (after its sync).
					c.pushes.requeue(batch[i:])
					return err
				}
				c.log.Warn("could not fill a gap", "conv_id", p.item.ConvID, "err", err)
			}
		case p.receipt != nil:
			c.events.put(ReceiptEvent{Receipt: p.receipt}, nil)
		case p.conv != nil:
			c.convChanged(p.conv, false)
		}
	}
	if overflow {
		c.log.Warn("too many pushes waiting; resyncing")
		if err := c.resync(ctx, cn); err != nil {
			c.pushes.markOverflow()
			return err
		}
	}
	c.flushDelivered(cn)
	return nil
}

// convChanged applies a conversation's state and reports it.
func (c *Client) convChanged(conv *protocol.Conversation, fromSync bool) {
	if conv.ClearedSeq > 0 {
		c.stream.skipTo(conv.ConvID, conv.ClearedSeq)
	}
	c.events.put(ConversationEvent{Conversation: conv, FromSync: fromSync}, nil)
}

// resync runs sync from the cursor, page by page, and pulls every changed
// conversation from its local seq. A new device (no cursor) takes each
// conversation's last seq as its own and gets only the recent items.
func (c *Client) resync(ctx context.Context, cn *conn) error {
	fresh := c.cursor == ""
	since := c.cursor
	pull := c.puller(cn)
	for {
		req := &protocol.Request{T: protocol.FrameSync, Since: since}
		if fresh {
			req.Latest = c.cfg.SyncLatest
		}
		r, err := cn.request(ctx, req)
		if err != nil {
			return err
		}
		var res protocol.SyncResult
		if err := r.decode(&res); err != nil {
			return err
		}
		for _, conv := range res.Conversations {
			if conv == nil || conv.ConvID == "" {
				continue
			}
			if fresh {
				c.stream.skipTo(conv.ConvID, conv.LastSeq)
				c.events.put(ConversationEvent{Conversation: conv, FromSync: true}, nil)
				continue
			}
			if conv.ClearedSeq > 0 {
				c.stream.skipTo(conv.ConvID, conv.ClearedSeq)
			}
			if conv.LastSeq > c.stream.seq.local(conv.ConvID) {
				if err := c.stream.catchUp(ctx, pull, conv.ConvID, conv.LastSeq); err != nil {
					if errors.Is(err, errConnClosed) || ctx.Err() != nil {
						return err
					}
					c.log.Warn("could not pull a conversation", "conv_id", conv.ConvID, "err", err)
				}
			}
			c.events.put(ConversationEvent{Conversation: conv, FromSync: true}, nil)
		}
		next := res.Next
		if next == "" {
			next = since
		}
		if next == "" {
			next = "0" // synced once: no longer a new device
		}
		c.cursor = next
		c.events.put(nil, func() { c.cfg.State.SetCursor(next) })
		if !res.More {
			break
		}
		if next == since {
			c.log.Warn("sync reported more without moving its cursor; stopping", "cursor", next)
			break
		}
		since = next
	}
	c.flushDelivered(cn)
	return nil
}

// puller pulls over cn.
func (c *Client) puller(cn *conn) puller {
	return func(ctx context.Context, convID string, after int64) ([]*protocol.Item, bool, error) {
		r, err := cn.request(ctx, &protocol.Request{T: protocol.FramePull, ConvID: convID, AfterSeq: after, Limit: pullLimit})
		if err != nil {
			return nil, false, err
		}
		var res protocol.Items
		if err := r.decode(&res); err != nil {
			return nil, false, err
		}
		return res.Items, res.More, nil
	}
}

// flushDelivered sends the due delivered receipts over cn.
func (c *Client) flushDelivered(cn *conn) {
	for _, d := range c.rcpt.due() {
		cn.requestAsync(&protocol.Request{T: protocol.FrameDelivered, ConvID: d.convID, Seq: d.seq},
			func(r *reply, err error) {
				if err == nil {
					if e := r.asError(); e != nil {
						c.log.Debug("delivered receipt refused", "conv_id", d.convID, "err", e)
					}
				}
				// Only a lost connection makes the receipt due again.
				c.rcpt.done(d, err == nil)
			})
	}
}

// setReady makes cn the connection requests go to (nil: none) and resends
// the messages still waiting for an ack, oldest first.
func (c *Client) setReady(cn *conn) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	c.ready = cn
	close(c.changed)
	c.changed = make(chan struct{})
	outbox := append([]*outgoing(nil), c.outbox...)
	c.mu.Unlock()
	if cn == nil {
		return
	}
	if len(outbox) > 0 {
		c.log.Info("resending unacknowledged messages", "count", len(outbox))
	}
	for _, o := range outbox {
		c.transmit(cn, o)
	}
}

// readyConn waits for a synced connection that has not ended.
func (c *Client) readyConn(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		cn, changed, err := c.ready, c.changed, c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if cn != nil && !cn.isDone() {
			return cn, nil
		}
		select {
		case <-changed:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// call sends a request on the synced connection and waits for the reply.
// If the connection drops first, the request is repeated on the next one
// when retry is set, else ErrConnectionLost is returned.
func (c *Client) call(ctx context.Context, req protocol.Request, retry bool) (*reply, error) {
	for {
		cn, err := c.readyConn(ctx)
		if err != nil {
			return nil, err
		}
		r := req // a fresh copy: request sets the id
		rep, err := cn.request(ctx, &r)
		if errors.Is(err, errConnClosed) {
			if retry {
				continue
			}
			return nil, ErrConnectionLost
		}
		return rep, err
	}
}
