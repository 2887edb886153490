package parley

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/protocol"
)

const (
	connectTimeout   = 15 * time.Second // dial, token and auth of one attempt
	pongTimeout      = 10 * time.Second // no pong within it: the link is dead
	defaultHeartbeat = 30 * time.Second
	pullLimit        = 100
	pullTimeout      = 30 * time.Second // a pull without a reply is abandoned; the next gap or sync tries again
	maxPushes        = 10000            // pushes waiting for processing before a resync instead
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
	rooms  *roomWindow

	// Owned by the processing goroutine (Dial, then run).
	stream *stream
	cursor string // the last sync cursor; "" until the first sync completed
	evt    *eventTracker

	// sendMu orders transmissions: Send holds it while it queues and writes a
	// message, setReady while it resends the queue, so a resend never
	// overtakes an older message.
	sendMu sync.Mutex

	// refreshMu makes concurrent REST calls that need a token share one
	// password grant.
	refreshMu sync.Mutex

	// bgTurn lets one SetBackground at a time send the background state.
	bgTurn chan struct{}

	mu       sync.Mutex
	user     string
	resource string
	token    string
	endpoint int           // index into endpoints
	ready    *conn         // the synced connection requests go to
	changed  chan struct{} // closed and replaced whenever ready changes
	err      error         // why the Client stopped
	outbox   []*outgoing   // sends waiting for their ack, oldest first
	// background is the state the application gave last (SetBackground,
	// Config.Background); every new connection is told it.
	background bool
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
	// pullTimeout replaces the 30 s pull timeout.
	pullTimeout time.Duration
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

func (h *hooks) pull() time.Duration { return h.duration(&h.pullTimeout, pullTimeout) }

func (h *hooks) pong() time.Duration { return h.duration(&h.pongTimeout, pongTimeout) }

// duration returns *d if a test set it, else def.
func (h *hooks) duration(d *time.Duration, def time.Duration) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if *d > 0 {
		return *d
	}
	return def
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
		events: newEventQueue(), pushes: newPushQueue(maxPushes), rcpt: newReceiptBatcher(), rooms: newRoomWindow(),
		cursor: cfg.State.Cursor(), token: cfg.Token, resource: cfg.Resource, changed: make(chan struct{}),
		bgTurn: make(chan struct{}, 1), background: cfg.Background,
	}
	c.stream = &stream{seq: newSequencer(cfg.State.Seq), rcpt: c.rcpt, state: cfg.State,
		self: c.User, emit: c.events.put, log: c.log}
	var err error
	if c.evt, err = newEventTracker(cfg.State); err != nil {
		c.log.Warn("ignoring the saved event cursor; starting as a new device", "err", err)
	}
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
