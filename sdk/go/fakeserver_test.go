package parley

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/protocol"
)

// fakeServer speaks enough of the protocol to test the Client alone: auth,
// ping, background, send (idempotent), sync, pull, delivered, read and
// recall over 1:1 conversations, the password grant, and people events with
// the events request (fakeserver_people_test.go). Tokens are "tok-<user>".
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	conns     map[*fakeConn]bool
	convs     map[string]*fakeConv // by conv_id
	byPair    map[string]*fakeConv // by "a|b"
	acks      map[string]protocol.Ack
	version   int64
	heartbeat int
	frames    []string // "user t" of every request, in arrival order
	// knobs
	mute      func(req *protocol.Request) bool // no reply at all
	noPush    func(it *protocol.Item) bool     // skip the live push of an item
	badTokens map[string]bool                  // refused with 4001
	bg        map[string]bool                  // by user: the last background frame's on
	grants    int
	// room answers room frames (unknown_frame without it).
	room func(c *fakeConn, req *protocol.Request)

	// people events (fakeserver_people_test.go)
	events      map[string][]*protocol.Event // by user, in ID order
	lastEventID int64
	rewind      int64                        // how many IDs a round's cursor goes back
	lag         int64                        // subtracted from a round's last cursor (a node whose clock lags)
	noEvents    bool                         // answer events with unknown_frame, as an older server
	noEventPush func(e *protocol.Event) bool // skip the live push of an event
}

type fakeConv struct {
	id      string
	users   [2]string
	items   []*protocol.Item
	version int64
}

type fakeConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	user string
}

func (c *fakeConn) send(v any) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.WriteJSON(v)
}

// closeWith announces and sends a close frame with code.
func (c *fakeConn) closeWith(code int, reason string) {
	c.send(protocol.Kicked{T: protocol.FrameKicked, Code: code, Reason: reason})
	c.wmu.Lock()
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.ws.Close()
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{t: t, conns: map[*fakeConn]bool{}, convs: map[string]*fakeConv{}, byPair: map[string]*fakeConv{},
		acks: map[string]protocol.Ack{}, heartbeat: 30, badTokens: map[string]bool{}, bg: map[string]bool{},
		events: map[string][]*protocol.Event{}, lastEventID: 1000, rewind: 3}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", f.serveWS)
	mux.HandleFunc("POST /{org}/{app}/token", f.token)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.mu.Lock()
		for c := range f.conns {
			c.ws.Close()
		}
		f.mu.Unlock()
		f.srv.Close()
	})
	return f
}

func (f *fakeServer) config(user string) Config {
	return Config{BaseURL: f.srv.URL, Org: "acme", App: "chat", Token: "tok-" + user,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
}

func (f *fakeServer) token(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	f.grants++
	f.mu.Unlock()
	if body["grant_type"] != "password" || body["password"] != "secret" {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(protocol.ErrorBody{Error: "invalid_grant", ErrorDescription: "invalid username or password"})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-" + body["username"], "expires_in": 0})
}

func (f *fakeServer) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("v") != "1" {
		http.Error(w, "version", http.StatusBadRequest)
		return
	}
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &fakeConn{ws: ws}
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		ws.Close()
	}()
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		req, err := protocol.DecodeRequest(data)
		if err != nil {
			f.t.Errorf("fake server: client sent a bad frame %s: %v", data, err)
			return
		}
		if !f.handle(c, req) {
			return
		}
	}
}

func pairKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + "|" + b
}

// handle answers one request; false ends the connection.
func (f *fakeServer) handle(c *fakeConn, req *protocol.Request) bool {
	who := c.user
	if req.T == protocol.FrameAuth {
		who = strings.TrimPrefix(req.Token, "tok-")
	}
	f.mu.Lock()
	f.frames = append(f.frames, who+" "+req.T)
	mute := f.mute != nil && f.mute(req)
	f.mu.Unlock()
	if mute {
		return true
	}
	switch req.T {
	case protocol.FrameAuth:
		user, ok := strings.CutPrefix(req.Token, "tok-")
		f.mu.Lock()
		bad := f.badTokens[req.Token]
		f.mu.Unlock()
		if !ok || bad {
			c.send(protocol.Error{T: protocol.FrameError, ID: req.ID, Code: protocol.ErrBadAccessToken.ID})
			c.closeWith(protocol.CloseAuthFailed, "bad token")
			return false
		}
		c.user = user
		res := req.Resource
		if res == "" {
			res = "web_" + strconv.Itoa(len(f.conns)+1)
		}
		f.mu.Lock()
		f.conns[c] = true
		f.mu.Unlock()
		c.send(protocol.AuthOK{T: protocol.FrameAuthOK, ID: req.ID, User: user, Resource: res,
			ServerTime: time.Now().UnixMilli(), Heartbeat: f.heartbeat, Version: 1})
	case protocol.FramePing:
		c.send(protocol.Pong{T: protocol.FramePong, ID: req.ID, TS: time.Now().UnixMilli()})
	case protocol.FrameSend:
		f.sendMsg(c, req)
	case protocol.FrameSync:
		c.send(f.sync(c.user, req))
	case protocol.FramePull:
		c.send(f.pull(req))
	case protocol.FrameRecall:
		f.recall(c, req)
	case protocol.FrameBackground:
		f.mu.Lock()
		f.bg[c.user] = *req.On
		f.mu.Unlock()
		c.send(protocol.OK{T: protocol.FrameOK, ID: req.ID})
	case protocol.FrameDelivered, protocol.FrameRead:
		c.send(protocol.OK{T: protocol.FrameOK, ID: req.ID})
		if req.T == protocol.FrameRead {
			f.readReceipt(c, req)
		}
	case protocol.FrameEvents, protocol.FrameContactRequest, protocol.FrameBlock:
		f.people(c, req)
	case protocol.FrameRoom:
		f.mu.Lock()
		room := f.room
		f.mu.Unlock()
		if room == nil {
			c.send(protocol.Error{T: protocol.FrameError, ID: req.ID, Code: protocol.ErrUnknownFrame.ID})
			break
		}
		room(c, req)
	default:
		c.send(protocol.Error{T: protocol.FrameError, ID: req.ID, Code: protocol.ErrUnknownFrame.ID})
	}
	return true
}

func (f *fakeServer) sendMsg(c *fakeConn, req *protocol.Request) {
	f.mu.Lock()
	key := c.user + "/" + req.ClientMsgID
	if ack, ok := f.acks[key]; ok {
		f.mu.Unlock()
		ack.ID, ack.Duplicate = req.ID, true
		c.send(ack)
		return
	}
	conv := f.conv(c.user, req.To)
	f.version++
	conv.version = f.version
	it := &protocol.Item{Kind: protocol.ItemMsg, MsgID: strconv.FormatInt(1000+f.version, 10), ConvID: conv.id,
		Seq: int64(len(conv.items) + 1), ChatType: req.ChatType, From: c.user, To: req.To, Type: req.Type,
		Body: req.Body, Ext: req.Ext, TS: time.Now().UnixMilli(), ClientMsgID: req.ClientMsgID}
	conv.items = append(conv.items, it)
	ack := protocol.Ack{T: protocol.FrameAck, MsgID: it.MsgID, ConvID: conv.id, Seq: it.Seq, TS: it.TS}
	f.acks[key] = ack
	f.mu.Unlock()
	ack.ID = req.ID
	c.send(ack)
	f.pushItem(c, conv, it)
}

// conv finds or creates the 1:1 conversation; f.mu is held.
func (f *fakeServer) conv(a, b string) *fakeConv {
	k := pairKey(a, b)
	if cv := f.byPair[k]; cv != nil {
		return cv
	}
	cv := &fakeConv{id: strconv.Itoa(len(f.convs) + 17), users: [2]string{a, b}}
	f.convs[cv.id], f.byPair[k] = cv, cv
	return cv
}

// pushItem pushes an item to every connection of both users but from.
func (f *fakeServer) pushItem(from *fakeConn, cv *fakeConv, it *protocol.Item) {
	if f.noPush != nil && f.noPush(it) {
		return
	}
	f.mu.Lock()
	var to []*fakeConn
	for c := range f.conns {
		if c != from && slices.Contains(cv.users[:], c.user) {
			to = append(to, c)
		}
	}
	f.mu.Unlock()
	for _, c := range to {
		c.send(protocol.ItemFrame{T: protocol.FrameItem, Item: it})
	}
}

func (f *fakeServer) sync(user string, req *protocol.Request) protocol.SyncResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	since, _ := strconv.ParseInt(req.Since, 10, 64)
	res := protocol.SyncResult{T: protocol.FrameSyncResult, ID: req.ID, Next: strconv.FormatInt(f.version, 10),
		Conversations: []*protocol.Conversation{}}
	for _, cv := range f.convs {
		if !slices.Contains(cv.users[:], user) || cv.version <= since {
			continue
		}
		peer := cv.users[0]
		if peer == user {
			peer = cv.users[1]
		}
		conv := &protocol.Conversation{ConvID: cv.id, ChatType: "chat", Peer: peer, LastSeq: int64(len(cv.items)),
			Version: strconv.FormatInt(cv.version, 10)}
		if since == 0 {
			conv.Recent = cv.items[max(0, len(cv.items)-req.Latest):]
		}
		res.Conversations = append(res.Conversations, conv)
	}
	return res
}

func (f *fakeServer) pull(req *protocol.Request) protocol.Items {
	f.mu.Lock()
	defer f.mu.Unlock()
	res := protocol.Items{T: protocol.FrameItems, ID: req.ID, ConvID: req.ConvID, Items: []*protocol.Item{}}
	cv := f.convs[req.ConvID]
	if cv == nil {
		return res
	}
	for _, it := range cv.items {
		if it.Seq > req.AfterSeq && len(res.Items) < req.Limit {
			res.Items = append(res.Items, it)
		}
	}
	res.More = len(res.Items) > 0 && res.Items[len(res.Items)-1].Seq < int64(len(cv.items))
	return res
}

func (f *fakeServer) recall(c *fakeConn, req *protocol.Request) {
	f.mu.Lock()
	var cv *fakeConv
	for _, x := range f.convs {
		for _, it := range x.items {
			if it.MsgID == req.MsgID && it.From == c.user {
				cv = x
			}
		}
	}
	if cv == nil {
		f.mu.Unlock()
		c.send(protocol.Error{T: protocol.FrameError, ID: req.ID, Code: protocol.ErrMessageNotFound.ID})
		return
	}
	f.version++
	cv.version = f.version
	it := &protocol.Item{Kind: protocol.ItemRecall, ConvID: cv.id, Seq: int64(len(cv.items) + 1), From: c.user,
		Target: req.MsgID, TS: time.Now().UnixMilli()}
	cv.items = append(cv.items, it)
	f.mu.Unlock()
	c.send(protocol.OK{T: protocol.FrameOK, ID: req.ID})
	f.pushItem(nil, cv, it)
}

func (f *fakeServer) readReceipt(c *fakeConn, req *protocol.Request) {
	f.mu.Lock()
	cv := f.convs[req.ConvID]
	var to []*fakeConn
	if cv != nil {
		for x := range f.conns {
			if x.user != c.user && slices.Contains(cv.users[:], x.user) {
				to = append(to, x)
			}
		}
	}
	f.mu.Unlock()
	for _, x := range to {
		x.send(protocol.Receipt{T: protocol.FrameReceipt, Kind: protocol.ReceiptChannelRead, ConvID: req.ConvID,
			By: c.user, Seq: req.Seq})
	}
}

// connsOf returns the user's open connections.
func (f *fakeServer) connsOf(user string) []*fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeConn
	for c := range f.conns {
		if c.user == user {
			out = append(out, c)
		}
	}
	return out
}

// background returns what a user's last background frame said.
func (f *fakeServer) background(user string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bg[user]
}

// count returns how many requests of kind t user sent.
func (f *fakeServer) count(user, t string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, fr := range f.frames {
		if fr == user+" "+t {
			n++
		}
	}
	return n
}

// stored returns the items of the conversation between a and b.
func (f *fakeServer) stored(a, b string) []*protocol.Item {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cv := f.byPair[pairKey(a, b)]; cv != nil {
		return append([]*protocol.Item(nil), cv.items...)
	}
	return nil
}
