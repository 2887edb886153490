package ws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/identity"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/ratelimit"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/internal/social"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Gateway is the HTTP handler for /ws.
type Gateway struct {
	Hub      *Hub
	Apps     *tenant.Service
	Identity *identity.Service
	Messages *messaging.Service
	Social   *social.Service
	Groups   *groups.Service
	Rooms    *rooms.Service
	Cfg      config.WS
	Log      *slog.Logger
	// Limits, if set, limits connection attempts per client address and
	// sends per connection (the app's ws_send rate limit).
	Limits *ratelimit.Policy

	upgrader websocket.Upgrader
	wg       sync.WaitGroup
	allMu    sync.Mutex
	all      map[*session]struct{}
	closing  bool
}

// maxBadFrames closes a connection that keeps sending garbage.
const maxBadFrames = 20

// MaxPipelinedSends is how many sends one connection may have waiting for
// their acks; the next send is read once one is acked (docs/protocol.md).
// It is also at most half of ws.send_queue, so a client's own acks cannot
// overflow its queue.
const MaxPipelinedSends = 64

// Init prepares the gateway; call once before serving.
func (g *Gateway) Init() {
	g.all = map[*session]struct{}{}
	g.upgrader = websocket.Upgrader{
		ReadBufferSize:  512,          // frames are small; larger ones take a few reads
		WriteBufferPool: &sync.Pool{}, // idle connections hold no write buffer
		// Clients authenticate with a token in the first frame, never with
		// cookies, so cross-origin pages cannot act with a user's session.
		CheckOrigin: func(*http.Request) bool { return true },
		// A request that is not a WebSocket handshake (plain GET, HTTP/2,
		// wrong method) is answered in the API's error shape.
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			kind := protocol.ErrIllegalArgument
			if status == http.StatusMethodNotAllowed {
				kind = protocol.ErrMethodNotAllowed
				w.Header().Set("Allow", http.MethodGet)
			}
			writeError(w, kind, "not a WebSocket handshake: "+reason.Error(), 0)
		},
	}
}

// ServeHTTP upgrades the connection and runs the session until it ends.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if v := r.URL.Query().Get("v"); v != "" && v != "1" {
		// Upgrade, then close with 4003: clients stop reconnecting on it
		// (an HTTP error would look like a passing outage to them).
		if conn, err := g.upgrader.Upgrade(w, r, nil); err == nil {
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(protocol.CloseBadProtocol,
				"unsupported protocol version; this server speaks v=1"), time.Now().Add(time.Second))
			conn.Close()
		}
		return
	}
	var limited *ratelimit.Error
	if err := g.Limits.SignInAttempt(g.Limits.ClientIP(r)); errors.As(err, &limited) {
		refuse(w, limited)
		return
	}
	conn, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	s := &session{g: g, conn: conn, maxQueue: g.Cfg.SendQueue, sendSlots: make(chan struct{}, min(MaxPipelinedSends, g.Cfg.SendQueue/2)),
		room: make(chan struct{}, 1)}
	g.allMu.Lock()
	if g.closing {
		g.allMu.Unlock()
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(protocol.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		conn.Close()
		return
	}
	g.all[s] = struct{}{}
	g.wg.Add(1)
	g.allMu.Unlock()
	done := func() {
		g.allMu.Lock()
		delete(g.all, s)
		g.allMu.Unlock()
		g.wg.Done()
	}
	// Authenticate on this (net/http) goroutine, then hand the connection to
	// a fresh goroutine and return: net/http frees its per-connection state
	// and this goroutine's stack, grown by the auth work, so an idle
	// connection keeps only a small stack and the WebSocket state.
	if !s.start() {
		done()
		return
	}
	go func() {
		defer done()
		s.readLoop()
	}()
}

// refuse answers a connection attempt over the limit with 429 in the REST
// API's error shape and Retry-After, before any upgrade.
func refuse(w http.ResponseWriter, err *ratelimit.Error) {
	writeError(w, err.Err.Kind, err.Err.Description, err.RetrySeconds())
}

// writeError answers an HTTP request that did not become a WebSocket in the
// REST API's error shape (with Retry-After when retryAfter > 0).
func writeError(w http.ResponseWriter, kind protocol.ErrorKind, desc string, retryAfter int64) {
	b, _ := json.Marshal(protocol.ErrorBody{Error: kind.Error, Exception: kind.Exception,
		Timestamp: time.Now().UnixMilli(), ErrorDescription: desc, Code: kind.ID})
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(retryAfter, 10))
	}
	w.WriteHeader(kind.Status)
	w.Write(b)
}

// Shutdown closes every connection with 1001 and waits (up to ctx) for the
// sessions to end.
// Resync closes every connection with 1012 so that clients reconnect and
// resync: after the node's link to the cluster bus was down, it may have
// missed live events that the clients would otherwise learn of only with
// the next message of each conversation.
func (g *Gateway) Resync() {
	g.allMu.Lock()
	all := make([]*session, 0, len(g.all))
	for s := range g.all {
		all = append(all, s)
	}
	g.allMu.Unlock()
	g.Log.Warn("closing every connection so clients resync after a bus outage", "connections", len(all))
	for _, s := range all {
		s.shutdown(protocol.CloseRestart, "reconnect and resync: this node missed events", notify)
	}
}

func (g *Gateway) Shutdown(ctx context.Context) {
	g.allMu.Lock()
	g.closing = true
	all := make([]*session, 0, len(g.all))
	for s := range g.all {
		all = append(all, s)
	}
	g.allMu.Unlock()
	for _, s := range all {
		s.shutdown(protocol.CloseGoingAway, "server shutting down", drop)
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

type session struct {
	g        *Gateway
	conn     *websocket.Conn
	maxQueue int

	// Set once at auth, read-only after.
	p          *tenant.Principal
	platform   string
	deviceName string
	since      int64
	log        *slog.Logger

	mu        sync.Mutex
	queue     [][]byte
	writing   bool
	closing   bool
	closeCode int
	closeMsg  string
	done      bool // the connection is closed

	badFrames int
	expiry    *time.Timer // ends the session when its token expires

	// Pipelined sends: a slot per send waiting for its ack, and a count that
	// other requests wait on, so their replies follow earlier sends' acks.
	sendSlots chan struct{}
	sending   sync.WaitGroup
	// room is signalled when the writer takes the queue, so a pipelining
	// reader can wait for the queue to drain instead of overflowing it.
	room chan struct{}
	// background: the app said it is in the background (push as if away).
	background atomic.Bool
	// Sends are limited per connection (read by the reader only).
	sendRate   ratelimit.Rate
	sendBucket ratelimit.Bucket
}

var resourceRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// start authenticates the connection; false means it is being closed (the
// writer flushes the error and closes).
func (s *session) start() bool {
	s.conn.SetReadLimit(protocol.MaxFrameBytes)
	s.log = s.g.Log
	if !s.authenticate() {
		return false
	}
	s.g.Hub.metrics.WSConnections.Inc()
	return true
}

// frameHook, if set, is called first by handle (tests inject failures).
var frameHook func(*protocol.Request)

// readLoop reads and handles frames until the connection ends.
func (s *session) readLoop() {
	g := s.g
	defer func() {
		if v := recover(); v != nil {
			// Outside handle (decoding, a send's checks): close this
			// connection rather than the process.
			s.log.Error("panic reading frames", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			g.Hub.metrics.InternalErrors.WithLabelValues("ws").Inc()
			s.shutdown(protocol.CloseInternal, "internal error", drop)
		}
		if s.expiry != nil {
			s.expiry.Stop()
		}
		g.Hub.unregister(s)
		g.Hub.metrics.WSConnections.Dec()
	}()
	hb := g.Cfg.Heartbeat.D()
	for {
		s.conn.SetReadDeadline(time.Now().Add(hb * 5 / 2))
		typ, data, err := s.conn.ReadMessage()
		if err != nil {
			s.readFailed(err)
			return
		}
		if typ != websocket.TextMessage {
			s.badFrame("", errs.New(protocol.ErrBadFrame, "binary frames are not part of the protocol; send JSON text frames"))
			continue
		}
		req, err := protocol.DecodeRequest(data)
		if err != nil {
			var de *protocol.DecodeError
			if errors.As(err, &de) {
				s.badFrame(idOf(data), &errs.Error{Kind: kindByID(de.Code), Description: de.Message})
			} else {
				s.badFrame(idOf(data), errs.New(protocol.ErrBadFrame, "%v", err))
			}
			continue
		}
		g.Hub.metrics.WSFramesIn.WithLabelValues(req.T).Inc()
		if req.T == protocol.FrameSend {
			if wait := s.sendBucket.Take(s.sendRate, time.Now()); wait > 0 {
				s.rateLimited(req.ID, wait)
				continue
			}
			s.send(req)
			continue
		}
		s.sending.Wait()
		s.enqueue(s.handle(req))
	}
}

// send starts a pipelined send: its ack is queued when it is stored, while
// the connection's next frames are read.
func (s *session) send(req *protocol.Request) {
	// Flow control: acks of pipelined sends must not fill the queue while
	// the client is slow to read them; wait for the writer to catch up.
	for {
		s.mu.Lock()
		full := !s.closing && len(s.queue) >= s.maxQueue/2
		s.mu.Unlock()
		if !full {
			break
		}
		select {
		case <-s.room:
		case <-time.After(time.Second):
		}
	}
	s.sendSlots <- struct{}{}
	s.sending.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel() // the context covers queueing; the store owns the rest
	id := req.ID
	s.g.Messages.SendAsync(ctx, s.p, messaging.SendRequest{To: req.To, ChatType: req.ChatType, Type: req.Type,
		Body: req.Body, Ext: req.Ext, ClientMsgID: req.ClientMsgID, RouteOnline: req.RouteType == protocol.RouteOnline,
		NeedGroupAck: req.NeedGroupAck, Users: req.Users, Priority: req.Priority},
		func(ack *protocol.Ack, err error) {
			if ack != nil {
				ack.ID = id
			}
			s.enqueue(s.replyFrame(id, protocol.FrameSend, ack, err))
			<-s.sendSlots
			s.sending.Done()
		})
}

// rateLimited refuses a send over the connection's limit; the connection
// stays open (a client that keeps sending only fills its own queue).
func (s *session) rateLimited(id string, wait time.Duration) {
	s.g.Hub.metrics.RateLimited.WithLabelValues(tenant.ClassWSSend).Inc()
	b, _ := json.Marshal(protocol.Error{T: protocol.FrameError, ID: id, Code: protocol.ErrRateLimited.ID,
		Message:      "send rate limit of this connection (" + s.sendRate.String() + ") exceeded; retry later",
		RetryAfterMS: max(1, wait.Milliseconds())})
	s.enqueue(b)
}

// readFailed maps a read error to the close the client sees.
func (s *session) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		s.shutdown(protocol.CloseHeartbeat, "no frame within the heartbeat timeout", drop)
	case errors.Is(err, websocket.ErrReadLimit):
		s.shutdown(protocol.CloseFrameTooLarge, "frame larger than 64 KiB", drop)
	default:
		s.shutdown(protocol.CloseNormal, "", drop)
	}
}

func (s *session) badFrame(id string, e *errs.Error) {
	s.badFrames++
	s.enqueue(errorFrame(id, e))
	if s.badFrames > maxBadFrames {
		s.shutdown(protocol.CloseBadFrames, "too many malformed frames", notify)
	}
}

// idOf recovers a request id from a frame that failed to decode, so the
// client can match the error.
func idOf(data []byte) string {
	var v struct {
		ID any `json:"id"`
	}
	json.Unmarshal(data, &v)
	if s, ok := v.ID.(string); ok && len(s) <= 64 {
		return s
	}
	return ""
}

func kindByID(id string) protocol.ErrorKind {
	for _, k := range protocol.Registry {
		if k.ID == id {
			return k
		}
	}
	return protocol.ErrBadFrame
}

func errorFrame(id string, e *errs.Error) []byte {
	b, _ := json.Marshal(protocol.Error{T: protocol.FrameError, ID: id, Code: e.Kind.ID, Message: e.Description})
	return b
}

// authenticate reads and checks the auth frame and registers the session.
func (s *session) authenticate() bool {
	g := s.g
	s.conn.SetReadDeadline(time.Now().Add(g.Cfg.AuthTimeout.D()))
	typ, data, err := s.conn.ReadMessage()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.shutdown(protocol.CloseAuthTimeout, "no auth frame in time", flush)
		} else {
			s.shutdown(protocol.CloseNormal, "", drop)
		}
		return false
	}
	fail := func(code int, id string, e *errs.Error) bool {
		s.enqueue(errorFrame(id, e))
		s.shutdown(code, e.Description, flush)
		return false
	}
	if typ != websocket.TextMessage {
		return fail(protocol.CloseAuthFailed, "", errs.New(protocol.ErrBadFrame, "the first frame must be a JSON auth frame"))
	}
	req, err := protocol.DecodeRequest(data)
	if err != nil {
		return fail(protocol.CloseAuthFailed, idOf(data), errs.New(protocol.ErrBadFrame, "%v", err))
	}
	if req.T != protocol.FrameAuth {
		return fail(protocol.CloseAuthFailed, req.ID, errs.New(protocol.ErrNotAuthenticated, "the first frame must be auth"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	badToken := errs.New(protocol.ErrBadAccessToken, "Unable to authenticate due to corrupt, expired, revoked or foreign access token")
	appID, err := identity.AppOf(req.Token)
	if err != nil {
		return fail(protocol.CloseAuthFailed, req.ID, badToken)
	}
	app, err := g.Apps.ByID(ctx, appID)
	if err != nil {
		return fail(protocol.CloseAuthFailed, req.ID, badToken)
	}
	p, err := g.Identity.Verify(ctx, app, req.Token)
	if err != nil || p.Admin {
		if e, ok := errs.As(err); ok && e.Kind.ID != protocol.ErrBadAccessToken.ID {
			g.Log.Error("auth", "err", err)
		}
		return fail(protocol.CloseAuthFailed, req.ID, badToken)
	}
	if req.Resource == "" {
		plat := req.Platform
		if !resourceRE.MatchString(plat) || len(plat) > 20 {
			plat = "ws"
		}
		b := make([]byte, 6)
		rand.Read(b)
		req.Resource = plat + "_" + hex.EncodeToString(b)
	}
	if !resourceRE.MatchString(req.Resource) {
		return fail(protocol.CloseAuthFailed, req.ID, errs.New(protocol.ErrIllegalArgument, "resource must be 1-64 characters of [A-Za-z0-9_.-]"))
	}
	p.Resource = req.Resource
	s.p = p
	if g.Limits != nil && g.Limits.Enabled {
		s.sendRate = app.Settings.RateLimit(tenant.ClassWSSend)
	}
	s.platform = truncate(req.Platform, 32)
	s.deviceName = truncate(req.DeviceName, 128)
	s.since = time.Now().UnixMilli()
	s.log = g.Log.With("app", app.ID, "user", p.UserID, "resource", p.Resource)
	evicted, refused, err := g.Hub.register(s, app.Settings.Devices(), app.Settings.RejectOverflow())
	if err != nil {
		g.Log.Error("register session", "err", err)
		return fail(protocol.CloseGoingAway, req.ID, errs.New(protocol.ErrUnavailable, "server is shutting down"))
	}
	for _, o := range evicted {
		if o.p.Resource == p.Resource {
			o.shutdown(protocol.CloseReplaced, "the same resource logged in again", notify)
		} else {
			o.shutdown(protocol.CloseTooMany, "device limit reached: a newer device logged in", notify)
		}
	}
	if refused {
		return fail(protocol.CloseTooMany, req.ID, errs.New(protocol.ErrTooManyDevices,
			"%d devices are online already, the app's limit", app.Settings.Devices()))
	}
	if p.ExpiresAt > 0 {
		s.expiry = time.AfterFunc(time.Until(time.Unix(p.ExpiresAt, 0)), func() {
			s.shutdown(protocol.CloseAuthFailed, "token expired: get a new token and reconnect", notify)
		})
	}
	ok, _ := json.Marshal(protocol.AuthOK{T: protocol.FrameAuthOK, ID: req.ID, User: p.Username, Resource: p.Resource,
		ServerTime: time.Now().UnixMilli(), Heartbeat: int(g.Cfg.Heartbeat.D() / time.Second), Version: protocol.Version})
	s.enqueue(ok)
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// handle runs one request and returns the reply frame.
func (s *session) handle(req *protocol.Request) (frame []byte) {
	defer func() {
		if v := recover(); v != nil {
			// A bug behind one frame must not take the node, and every
			// connection on it, down: the client gets an internal error
			// (as a REST request gets a 500) and the session goes on.
			s.log.Error("panic handling a frame", "frame", req.T, "op", req.Op, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.g.Hub.metrics.InternalErrors.WithLabelValues("ws").Inc()
			frame = errorFrame(req.ID, errs.New(protocol.ErrInternal, "internal error"))
		}
	}()
	if frameHook != nil {
		frameHook(req)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := s.g.Messages
	var reply any
	var err error
	ok := protocol.OK{T: protocol.FrameOK, ID: req.ID}
	switch req.T {
	case protocol.FrameAuth:
		err = errs.New(protocol.ErrNotAuthenticated, "already authenticated")
	case protocol.FramePing:
		reply = protocol.Pong{T: protocol.FramePong, ID: req.ID, TS: time.Now().UnixMilli()}
	case protocol.FrameBackground:
		s.g.Hub.setBackground(s, req.On != nil && *req.On)
		reply = ok
	case protocol.FrameSync:
		var res *protocol.SyncResult
		if res, err = m.Sync(ctx, s.p, req.Since, req.Latest); err == nil {
			res.ID = req.ID
			reply = res
		}
	case protocol.FramePull:
		var res *protocol.Items
		if res, err = m.Pull(ctx, s.p, req.ConvID, req.AfterSeq, req.Limit); err == nil {
			res.ID = req.ID
			reply = res
		}
	case protocol.FrameHistory:
		if req.Direction != "" && req.Direction != "backward" && req.Direction != "forward" {
			err = errs.New(protocol.ErrIllegalArgument, "direction must be backward or forward")
			break
		}
		var res *protocol.Items
		if res, err = m.History(ctx, s.p, req.ConvID, messaging.HistoryQuery{MsgID: req.MsgID, Time: req.Time,
			Forward: req.Direction == "forward", Limit: req.Limit}); err == nil {
			res.ID = req.ID
			reply = res
		}
	case protocol.FrameDelivered:
		if err = m.Delivered(ctx, s.p, req.ConvID, req.Seq); err == nil {
			reply = ok
		}
	case protocol.FrameRead:
		if err = m.Read(ctx, s.p, req.ConvID, req.Seq, req.MsgID); err == nil {
			reply = ok
		}
	case protocol.FrameRecall:
		if _, err = m.Recall(ctx, s.p, req.MsgID, false); err == nil {
			reply = ok
		}
	case protocol.FrameEdit:
		if _, err = m.Edit(ctx, s.p, messaging.EditRequest{MsgID: req.MsgID, Type: req.Type, Body: req.Body, Ext: req.Ext,
			MergeExt: true}); err == nil {
			reply = ok
		}
	case protocol.FrameConversations:
		var res *protocol.ConvList
		if res, err = m.Conversations(ctx, s.p, req.Cursor, req.Limit); err == nil {
			res.ID = req.ID
			reply = res
		}
	case protocol.FrameConvPin:
		if err = m.Pin(ctx, s.p, req.ConvID, *req.Pinned); err == nil {
			reply = ok
		}
	case protocol.FrameConvDelete:
		if err = m.DeleteConversation(ctx, s.p, req.ConvID); err == nil {
			reply = ok
		}
	default:
		reply, err = s.people(ctx, req)
	}
	return s.replyFrame(req.ID, req.T, reply, err)
}

// people handles the social frames: contacts, blocks, attributes,
// presence and events.
func (s *session) people(ctx context.Context, req *protocol.Request) (any, error) {
	so, p := s.g.Social, s.p
	ok := protocol.OK{T: protocol.FrameOK, ID: req.ID}
	done := func(err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return ok, nil
	}
	switch req.T {
	case protocol.FrameContactRequest:
		return done(so.RequestContact(ctx, p, req.To, req.Reason))
	case protocol.FrameContactAccept:
		return done(so.AcceptContact(ctx, p, req.User))
	case protocol.FrameContactDecline:
		return done(so.DeclineContact(ctx, p, req.User))
	case protocol.FrameContactRemove:
		return done(so.RemoveContact(ctx, p, "", req.User))
	case protocol.FrameContactRemark:
		return done(so.SetRemark(ctx, p, "", req.User, *req.Remark))
	case protocol.FrameContacts:
		limit := req.Limit
		if limit == 0 {
			limit = 100
		}
		list, next, err := so.Contacts(ctx, p, "", req.Cursor, limit)
		if err != nil {
			return nil, err
		}
		return protocol.ContactsResult{T: protocol.FrameContactsResult, ID: req.ID, Contacts: list, Cursor: next}, nil
	case protocol.FrameContactRequests:
		list, err := so.ContactRequests(ctx, p)
		if err != nil {
			return nil, err
		}
		return protocol.ContactRequestsResult{T: protocol.FrameContactRequestsReply, ID: req.ID, Requests: list}, nil
	case protocol.FrameBlock:
		_, missing, err := so.Block(ctx, p, "", req.Users)
		if err == nil && len(missing) > 0 {
			err = errs.New(protocol.ErrUserNotFound, "no such users: %v (the others are blocked)", missing)
		}
		return done(err)
	case protocol.FrameUnblock:
		_, err := so.Unblock(ctx, p, "", req.User)
		return done(err)
	case protocol.FrameBlocks:
		limit := req.Limit
		if limit == 0 {
			limit = social.MaxBlocked
		}
		list, next, err := so.Blocked(ctx, p, "", req.Cursor, limit)
		if err != nil {
			return nil, err
		}
		return protocol.BlocksResult{T: protocol.FrameBlocksResult, ID: req.ID, Users: list, Cursor: next}, nil
	case protocol.FrameAttrsSet:
		attrs, err := so.SetAttrs(ctx, p, "", req.Attrs)
		if err != nil {
			return nil, err
		}
		return protocol.AttrsResult{T: protocol.FrameAttrsResult, ID: req.ID, Attrs: map[string]map[string]string{p.Username: attrs}}, nil
	case protocol.FrameAttrsGet:
		attrs, err := so.Attrs(ctx, p, req.Users, req.Keys)
		if err != nil {
			return nil, err
		}
		return protocol.AttrsResult{T: protocol.FrameAttrsResult, ID: req.ID, Attrs: attrs}, nil
	case protocol.FrameAttrsDelete:
		return done(so.DeleteAttrs(ctx, p, ""))
	case protocol.FramePresencePublish:
		return done(so.PublishStatus(ctx, p, "", *req.Status))
	case protocol.FramePresenceSub:
		list, err := so.Subscribe(ctx, p, "", req.Users, req.Expiry)
		if err != nil {
			return nil, err
		}
		return protocol.PresenceResult{T: protocol.FramePresenceResult, ID: req.ID, Presence: list}, nil
	case protocol.FramePresenceUnsub:
		return done(so.Unsubscribe(ctx, p, "", req.Users))
	case protocol.FramePresenceGet:
		list, err := so.Presence(ctx, p, req.Users)
		if err != nil {
			return nil, err
		}
		return protocol.PresenceResult{T: protocol.FramePresenceResult, ID: req.ID, Presence: list}, nil
	case protocol.FrameGroup:
		return s.group(ctx, req)
	case protocol.FrameRoom:
		return s.chatRoom(ctx, req)
	case protocol.FrameEvents:
		res, err := so.Events(ctx, p, req.Since, req.Limit)
		if err != nil {
			return nil, err
		}
		res.ID = req.ID
		return res, nil
	}
	return nil, errs.New(protocol.ErrUnknownFrame, "unknown frame kind %q", req.T)
}

// group handles a group frame (its op says what to do).
func (s *session) group(ctx context.Context, req *protocol.Request) (any, error) {
	gs, p := s.g.Groups, s.p
	res := &protocol.GroupResult{T: protocol.FrameGroupResult, ID: req.ID, Op: req.Op}
	on := req.On != nil && *req.On
	accept := req.Accept != nil && *req.Accept
	settings := protocol.GroupSettings{}
	if req.Settings != nil {
		settings = *req.Settings
	}
	var err error
	switch req.Op {
	case protocol.GroupOpCreate:
		var g *store.Group
		if g, err = gs.Create(ctx, p, "", req.Users, settings); err == nil {
			res.Group, err = gs.Info(ctx, p, strconv.FormatInt(g.ID, 10))
		}
	case protocol.GroupOpInfo:
		res.Group, err = gs.Info(ctx, p, req.Group)
	case protocol.GroupOpUpdate:
		_, err = gs.Modify(ctx, p, req.Group, settings)
	case protocol.GroupOpDissolve:
		err = gs.Dissolve(ctx, p, req.Group)
	case protocol.GroupOpTransfer:
		err = gs.Transfer(ctx, p, req.Group, req.User)
	case protocol.GroupOpApply:
		res.Joined, err = gs.Apply(ctx, p, req.Group, req.Reason)
	case protocol.GroupOpAnswerApply:
		err = gs.AnswerApply(ctx, p, req.Group, req.User, accept, req.Reason)
	case protocol.GroupOpInvite:
		res.Users, err = gs.Invite(ctx, p, req.Group, req.Users, req.Reason)
	case protocol.GroupOpAnswerInvite:
		err = gs.AnswerInvite(ctx, p, req.Group, accept, req.Reason)
	case protocol.GroupOpQuit:
		err = gs.Quit(ctx, p, req.Group)
	case protocol.GroupOpKick:
		res.Users, err = gs.RemoveMembers(ctx, p, req.Group, req.Users)
	case protocol.GroupOpAdmin:
		err = gs.SetAdmins(ctx, p, req.Group, req.Users, on)
	case protocol.GroupOpMute:
		_, err = gs.Mute(ctx, p, req.Group, req.Users, time.Duration(req.Duration)*time.Millisecond)
	case protocol.GroupOpMuteAll:
		err = gs.MuteAll(ctx, p, req.Group, on)
	case protocol.GroupOpAnnounce:
		if req.Text == nil {
			return nil, errs.New(protocol.ErrIllegalArgument, "announce needs text")
		}
		err = gs.SetAnnouncement(ctx, p, req.Group, *req.Text)
	case protocol.GroupOpShield:
		err = gs.Shield(ctx, p, req.Group, on)
	case protocol.GroupOpMembers:
		limit := req.Limit
		if limit == 0 {
			limit = 100
		}
		var ms []protocol.GroupMember
		ms, res.Cursor, err = gs.Members(ctx, p, req.Group, req.Cursor, limit)
		for i := range ms {
			res.Members = append(res.Members, &ms[i])
		}
	case protocol.GroupOpMine:
		page := 1
		if req.Cursor != "" {
			if page, err = strconv.Atoi(req.Cursor); err != nil || page < 1 {
				return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", req.Cursor)
			}
		}
		limit := req.Limit
		if limit == 0 {
			limit = 50
		}
		res.Groups, res.Count, err = gs.OfUser(ctx, p, "", page, limit)
		if err == nil && page*limit < res.Count {
			res.Cursor = strconv.Itoa(page + 1)
		}
	case protocol.GroupOpAcks:
		if req.MsgID == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "acks needs msg_id")
		}
		res.Users, res.Count, res.Cursor, err = s.g.Messages.GroupAcks(ctx, p, req.MsgID, req.Cursor, req.Limit)
	case protocol.GroupOpBlock, protocol.GroupOpAllow:
		kind := store.ListBlock
		if req.Op == protocol.GroupOpAllow {
			kind = store.ListAllow
		}
		res.Users, err = gs.ListChange(ctx, p, req.Group, kind, req.Users, on)
	default:
		return nil, errs.New(protocol.ErrIllegalArgument, "unknown group op %q", req.Op)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// chatRoom handles a chat room frame (its op says what to do).
func (s *session) chatRoom(ctx context.Context, req *protocol.Request) (any, error) {
	rs, p := s.g.Rooms, s.p
	res := &protocol.RoomResult{T: protocol.FrameRoomResult, ID: req.ID, Op: req.Op}
	on := req.On != nil && *req.On
	var set rooms.Settings
	if req.Settings != nil {
		set = rooms.Settings{Name: req.Settings.Name, Description: req.Settings.Description, MaxUsers: req.Settings.MaxUsers,
			Custom: req.Settings.Custom}
	}
	var err error
	switch req.Op {
	case protocol.RoomOpCreate:
		res.Room, err = rs.Create(ctx, p, "", req.Users, set)
	case protocol.RoomOpInfo:
		var found []*rooms.Info
		if found, _, err = rs.Details(ctx, p, []string{req.Room}); err == nil {
			if len(found) == 0 {
				return nil, errs.New(protocol.ErrRoomNotFound, "chat room %s doesn't exist", req.Room)
			}
			res.Room = found[0]
		}
	case protocol.RoomOpJoin:
		var j *rooms.Joined
		if j, err = rs.Join(ctx, p, req.Room); err == nil {
			res.Room, res.Recent = j.Room, j.Recent
		}
	case protocol.RoomOpLeave:
		err = rs.Leave(ctx, p, req.Room)
	case protocol.RoomOpMembers:
		limit := req.Limit
		if limit == 0 {
			limit = 100
		}
		var ms []protocol.GroupMember
		ms, res.Cursor, err = rs.Members(ctx, p, req.Room, req.Cursor, limit)
		for i := range ms {
			res.Members = append(res.Members, &ms[i])
		}
	case protocol.RoomOpMine:
		page := 1
		if req.Cursor != "" {
			if page, err = strconv.Atoi(req.Cursor); err != nil || page < 1 {
				return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", req.Cursor)
			}
		}
		limit := req.Limit
		if limit == 0 {
			limit = 100
		}
		res.Rooms, err = rs.OfUser(ctx, p, p.Username, page, limit)
		if err == nil && len(res.Rooms) == limit {
			res.Cursor = strconv.Itoa(page + 1)
		}
	case protocol.RoomOpAttrs:
		res.Attrs, err = rs.Attrs(ctx, p, req.Room, req.Keys)
	case protocol.RoomOpSetAttrs:
		var r *rooms.AttrResult
		if r, err = rs.SetAttrs(ctx, p, req.Room, p.Username, req.Attrs, req.AutoDelete, req.Force); err == nil {
			res.Success, res.Errors = r.Success, r.Errors
		}
	case protocol.RoomOpDelAttrs:
		var r *rooms.AttrResult
		if r, err = rs.DeleteAttrs(ctx, p, req.Room, p.Username, req.Keys, req.Force); err == nil {
			res.Success, res.Errors = r.Success, r.Errors
		}
	case protocol.RoomOpKick:
		res.Users, err = rs.RemoveMembers(ctx, p, req.Room, req.Users)
	case protocol.RoomOpMute:
		_, err = rs.Mute(ctx, p, req.Room, req.Users, time.Duration(req.Duration)*time.Millisecond)
	case protocol.RoomOpMuteAll:
		err = rs.MuteAll(ctx, p, req.Room, on)
	case protocol.RoomOpAnnounce:
		if req.Text == nil {
			return nil, errs.New(protocol.ErrIllegalArgument, "announce needs text")
		}
		err = rs.SetAnnouncement(ctx, p, req.Room, *req.Text)
	case protocol.RoomOpBlock, protocol.RoomOpAllow:
		kind := store.ListBlock
		if req.Op == protocol.RoomOpAllow {
			kind = store.ListAllow
		}
		res.Users, err = rs.ListChange(ctx, p, req.Room, kind, req.Users, on)
	case protocol.RoomOpAdmin:
		err = rs.SetAdmins(ctx, p, req.Room, req.Users, on)
	case protocol.RoomOpDelete:
		err = rs.Delete(ctx, p, req.Room)
	case protocol.RoomOpTransfer:
		err = rs.Transfer(ctx, p, req.Room, req.User)
	case protocol.RoomOpUpdate:
		_, err = rs.Modify(ctx, p, req.Room, set)
	default:
		return nil, errs.New(protocol.ErrIllegalArgument, "unknown room op %q", req.Op)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// replyFrame encodes a request's reply, or its error: domain errors as they
// are, anything else as an internal error (logged, not shown).
func (s *session) replyFrame(id, kind string, reply any, err error) []byte {
	if err != nil {
		e, isDomain := errs.As(err)
		switch {
		case isDomain:
		case errs.Unreachable(err):
			// An outage (the database restarting), not a bug: retry.
			s.log.Warn("request failed: backend unreachable", "frame", kind, "err", err)
			e = errs.New(protocol.ErrUnavailable, "storage unreachable; retry")
		default:
			s.log.Error("request failed", "frame", kind, "err", err)
			s.g.Hub.metrics.InternalErrors.WithLabelValues("ws").Inc()
			e = errs.New(protocol.ErrInternal, "internal error")
		}
		return errorFrame(id, e)
	}
	b, _ := json.Marshal(reply)
	return b
}

// enqueue queues a frame for the writer. Over the queue limit the session
// is closed as a slow consumer: it resyncs after reconnecting.
func (s *session) enqueue(frame []byte) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= s.maxQueue {
		s.mu.Unlock()
		s.shutdown(protocol.CloseSlowConsumer, "slow consumer: send queue overflowed; reconnect and resync", drop)
		return
	}
	s.queue = append(s.queue, frame)
	if !s.writing {
		s.writing = true
		go s.writeLoop()
	}
	s.mu.Unlock()
}

// queueShed queues a chat room frame unless the queue is already past
// the priority's share of it (low: a quarter, normal: half, high: three
// quarters); it reports whether the frame was queued, and whether the
// caller must start the writer (go s.writeLoop()): the room fan-out starts
// the writers of a burst once it has queued the burst, so that each writes
// several frames per writev. Room traffic never closes a connection as a
// slow consumer.
func (s *session) queueShed(frame []byte, prio byte) (queued, start bool) {
	limit := s.maxQueue / 2
	switch prio {
	case messaging.PriorityLow:
		limit = s.maxQueue / 4
	case messaging.PriorityHigh:
		limit = s.maxQueue * 3 / 4
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || len(s.queue) >= limit {
		return false, false
	}
	s.queue = append(s.queue, frame)
	if !s.writing {
		s.writing = true // the caller starts the writer
		return true, true
	}
	return true, false
}

// How shutdown treats frames still queued.
type closeMode int

const (
	drop   closeMode = iota // discard them
	flush                   // write them first
	notify                  // write them, then a kicked frame
)

// shutdown closes the session with a code, once. The writer goroutine does
// the closing, so no other goroutine ever writes to the connection.
func (s *session) shutdown(code int, reason string, mode closeMode) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.closing = true
	s.closeCode, s.closeMsg = code, reason
	switch mode {
	case drop:
		s.queue = nil
	case notify:
		k, _ := json.Marshal(protocol.Kicked{T: protocol.FrameKicked, Code: code, Reason: reason})
		s.queue = append(s.queue, k)
	}
	if !s.writing {
		s.writing = true
		go s.writeLoop()
	}
	s.mu.Unlock()
	if code != protocol.CloseNormal {
		s.g.Hub.metrics.WSCloses.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

// writeLoop is the only writer of data frames. It runs while the queue is
// not empty, so an idle connection has no writer goroutine.
func (s *session) writeLoop() {
	for {
		s.mu.Lock()
		q := s.queue
		s.queue = nil
		select {
		case s.room <- struct{}{}:
		default:
		}
		if len(q) == 0 {
			if s.closing {
				s.mu.Unlock()
				s.writeCloseNow(s.closeCode, s.closeMsg)
				s.closeConn()
				return
			}
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if err := s.writeFrames(q); err != nil {
			s.mu.Lock()
			s.closing = true
			s.queue = nil
			s.writing = false
			s.mu.Unlock()
			s.closeConn()
			return
		}
	}
}

// writeChunk bounds one vectored write: each chunk gets its own deadline,
// so ws.write_timeout limits how long a client may take to accept about one
// chunk, not a whole burst (a member of a busy room that reads slowly but
// steadily keeps its connection; one that stops reading does not).
const writeChunk = 64 << 10

// writeFrames writes queued frames with vectored writes. Server frames are
// unmasked and uncompressed, so framing is a 2-10 byte header; writing them
// ourselves lets a burst of deliveries cost one syscall per chunk instead
// of one per frame. Only the writer goroutine writes, so nothing
// interleaves.
func (s *session) writeFrames(frames [][]byte) error {
	bufs := make(net.Buffers, 0, 2*len(frames))
	hdrs := make([]byte, 0, 10*len(frames))
	for _, f := range frames {
		start := len(hdrs)
		hdrs = appendFrameHeader(hdrs, len(f))
		bufs = append(bufs, hdrs[start:len(hdrs):len(hdrs)], f)
	}
	nc := s.conn.UnderlyingConn()
	for i := 0; i < len(bufs); {
		j, n := i, 0
		for j < len(bufs) && (j == i || n+len(bufs[j]) <= writeChunk) {
			n += len(bufs[j])
			j++
		}
		chunk := bufs[i:j]
		nc.SetWriteDeadline(time.Now().Add(s.g.Cfg.WriteTimeout.D()))
		if _, err := chunk.WriteTo(nc); err != nil {
			// The peer stopped reading (or the network broke): there is no
			// way to send a close frame through a full socket.
			s.g.Hub.metrics.WSCloses.WithLabelValues("write_failed").Inc()
			if s.log != nil {
				s.log.Info("connection closed: write failed", "err", err)
			}
			return err
		}
		i = j
	}
	s.g.Hub.metrics.WSFramesOut.Add(float64(len(frames)))
	return nil
}

// appendFrameHeader appends the header of a final, unmasked text frame
// (RFC 6455 section 5.2).
func appendFrameHeader(b []byte, n int) []byte {
	const finText = 0x81
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xFFFF:
		return append(b, finText, 126, byte(n>>8), byte(n))
	}
	return append(b, finText, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func (s *session) writeCloseNow(code int, reason string) {
	if len(reason) > 120 {
		reason = reason[:120]
	}
	s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

func (s *session) closeConn() {
	s.mu.Lock()
	already := s.done
	s.done = true
	s.mu.Unlock()
	if !already {
		s.conn.Close()
	}
}
