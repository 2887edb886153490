package parley

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/protocol"
)

// fakeWire is an in-memory wire: the test feeds frames to read and reads
// what the conn wrote.
type fakeWire struct {
	in      chan []byte
	out     chan *protocol.Request
	closed  chan struct{}
	once    sync.Once
	readErr error // returned once closed; default io.EOF
}

func newFakeWire() *fakeWire {
	return &fakeWire{in: make(chan []byte, 16), out: make(chan *protocol.Request, 16), closed: make(chan struct{})}
}

func (w *fakeWire) ReadMessage() (int, []byte, error) {
	select {
	case b := <-w.in:
		return websocket.TextMessage, b, nil
	case <-w.closed:
		if w.readErr != nil {
			return 0, nil, w.readErr
		}
		return 0, nil, io.EOF
	}
}

func (w *fakeWire) WriteMessage(_ int, data []byte) error {
	var r protocol.Request
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	select {
	case w.out <- &r:
		return nil
	case <-w.closed:
		return errors.New("closed")
	}
}

func (w *fakeWire) WriteControl(int, []byte, time.Time) error { return errors.New("no control frames") }
func (w *fakeWire) SetWriteDeadline(time.Time) error          { return nil }
func (w *fakeWire) Close() error                              { w.once.Do(func() { close(w.closed) }); return nil }

func (w *fakeWire) send(t *testing.T, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	w.in <- b
}

// startConn runs a conn over a fake wire; pushes are collected.
func startConn(t *testing.T) (*conn, *fakeWire, *pushLog) {
	t.Helper()
	w := newFakeWire()
	var n atomic.Uint64
	pl := &pushLog{}
	c := newConn(w, slog.New(slog.DiscardHandler), func() string { return strconv.FormatUint(n.Add(1), 10) }, pl.add)
	go c.readLoop()
	t.Cleanup(func() { w.Close(); <-c.done })
	return c, w, pl
}

type pushLog struct {
	mu sync.Mutex
	ts []string
}

func (p *pushLog) add(t string, _ []byte) {
	p.mu.Lock()
	p.ts = append(p.ts, t)
	p.mu.Unlock()
}

func (p *pushLog) kinds() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.ts...)
}

// Replies are matched to requests by id, whatever order they come in;
// frames that answer nothing go to onPush; error replies become *Error.
func TestConn_MatchesRepliesByID(t *testing.T) {
	c, w, pl := startConn(t)
	type result struct {
		r   *reply
		err error
	}
	reqs := []protocol.Request{{T: protocol.FrameHistory, ConvID: "1"}, {T: protocol.FrameRecall, MsgID: "9"},
		{T: protocol.FramePing}}
	results := make([]chan result, len(reqs))
	for i := range reqs {
		results[i] = make(chan result, 1)
		go func() {
			r, err := c.request(context.Background(), &reqs[i])
			results[i] <- result{r, err}
		}()
	}
	sent := map[string]string{} // t -> id
	for range reqs {
		r := <-w.out
		sent[r.T] = r.ID
	}
	if len(sent) != 3 || sent[protocol.FramePing] == sent[protocol.FrameRecall] {
		t.Fatalf("requests written with ids %v", sent)
	}
	// Answer in a different order, with a push and a stray reply in between.
	w.send(t, protocol.Pong{T: protocol.FramePong, ID: sent[protocol.FramePing], TS: 5})
	w.send(t, protocol.ItemFrame{T: protocol.FrameItem, Item: &protocol.Item{Kind: protocol.ItemMsg}})
	w.send(t, protocol.OK{T: protocol.FrameOK, ID: "no-such-request"})
	w.send(t, protocol.Error{T: protocol.FrameError, ID: sent[protocol.FrameRecall], Code: protocol.ErrRecallWindow.ID, Message: "too late"})
	w.send(t, protocol.Items{T: protocol.FrameItems, ID: sent[protocol.FrameHistory], ConvID: "1"})
	w.send(t, protocol.Error{T: protocol.FrameError, Code: protocol.ErrBadFrame.ID}) // connection-level

	tests := []struct {
		i       int
		wantT   string
		wantErr string
	}{
		{0, protocol.FrameItems, ""},
		{1, "", protocol.ErrRecallWindow.ID},
		{2, protocol.FramePong, ""},
	}
	for _, tt := range tests {
		res := <-results[tt.i]
		if tt.wantErr != "" {
			var e *Error
			if !errors.As(res.err, &e) || e.Code != tt.wantErr || e.Message != "too late" {
				t.Errorf("request %d: err = %v, want code %s", tt.i, res.err, tt.wantErr)
			}
			if !errors.Is(res.err, &Error{Code: tt.wantErr}) || !IsCode(res.err, protocol.ErrRecallWindow) {
				t.Errorf("request %d: errors.Is/IsCode do not match %v", tt.i, res.err)
			}
			continue
		}
		if res.err != nil || res.r.T != tt.wantT {
			t.Errorf("request %d: got %+v, %v; want a %s reply", tt.i, res.r, res.err, tt.wantT)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(pl.kinds()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := pl.kinds(); len(got) != 2 || got[0] != protocol.FrameItem || got[1] != protocol.FrameError {
		t.Fatalf("pushes = %v, want [item error]", got)
	}
}

// A connection that ends fails every pending request, and later ones at once;
// a request whose context ends is forgotten.
func TestConn_CloseFailsPending(t *testing.T) {
	c, w, _ := startConn(t)
	errc := make(chan error, 1)
	go func() {
		_, err := c.request(context.Background(), &protocol.Request{T: protocol.FramePing})
		errc <- err
	}()
	<-w.out
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-w.out; cancel() }()
	if _, err := c.request(ctx, &protocol.Request{T: protocol.FramePing}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	w.readErr = &websocket.CloseError{Code: protocol.CloseKicked, Text: "logged out"}
	w.Close()
	if err := <-errc; !errors.Is(err, errConnClosed) {
		t.Fatalf("pending request: %v, want errConnClosed", err)
	}
	<-c.done
	if _, err := c.request(context.Background(), &protocol.Request{T: protocol.FramePing}); !errors.Is(err, errConnClosed) {
		t.Fatalf("request after close: %v", err)
	}
	if info := c.ended(); info.code != protocol.CloseKicked || info.reason != "logged out" {
		t.Fatalf("ended = %+v", info)
	}
}

func TestConn_Ended(t *testing.T) {
	tests := []struct {
		name       string
		kicked     *protocol.Kicked
		readErr    error
		abort      string
		wantCode   int
		wantReason string
	}{
		{"network failure", nil, io.ErrUnexpectedEOF, "", websocket.CloseAbnormalClosure, io.ErrUnexpectedEOF.Error()},
		{"close frame", nil, &websocket.CloseError{Code: 4008, Text: "slow consumer"}, "", 4008, "slow consumer"},
		{"kicked, then the link broke", &protocol.Kicked{T: protocol.FrameKicked, Code: 4005, Reason: "replaced"},
			io.EOF, "", 4005, "replaced"},
		{"kicked, then a close frame without text", &protocol.Kicked{T: protocol.FrameKicked, Code: 4006, Reason: "device limit"},
			&websocket.CloseError{Code: 4006}, "", 4006, "device limit"},
		{"dropped by this side", nil, io.EOF, "no pong in time", websocket.CloseAbnormalClosure, "no pong in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w, _ := startConn(t)
			if tt.kicked != nil {
				w.send(t, tt.kicked)
				time.Sleep(20 * time.Millisecond) // let the read loop take it before the close
			}
			w.readErr = tt.readErr
			if tt.abort != "" {
				c.abort(tt.abort)
			} else {
				w.Close()
			}
			<-c.done
			if info := c.ended(); info.code != tt.wantCode || info.reason != tt.wantReason {
				t.Fatalf("ended = %d %q, want %d %q", info.code, info.reason, tt.wantCode, tt.wantReason)
			}
		})
	}
}

// The dropReply hook drops the connection as the reply arrives; the request
// then fails as on a real drop.
func TestConn_DropReplyHook(t *testing.T) {
	c, w, _ := startConn(t)
	c.dropReply = func(req *protocol.Request) bool { return req.T == protocol.FrameSend }
	errc := make(chan error, 1)
	go func() {
		_, err := c.request(context.Background(), &protocol.Request{T: protocol.FrameSend, ClientMsgID: "x"})
		errc <- err
	}()
	r := <-w.out
	w.send(t, protocol.Ack{T: protocol.FrameAck, ID: r.ID, MsgID: "1"})
	if err := <-errc; !errors.Is(err, errConnClosed) {
		t.Fatalf("err = %v, want errConnClosed", err)
	}
}
