package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/parleyim/parley/protocol"
)

// groupAck is the answer to one group send.
type groupAck struct {
	k    int64 // the frame id: the message's number on its stream
	seq  int64
	conv string
	code string // error code; "" for an ack
	at   time.Time
}

// groupSender is a member's sending connection. Its reader hands acks (and
// errors) to onAck, or to the acks channel when onAck is nil, and group
// items (other senders' messages) to a recorder.
type groupSender struct {
	c      *wsConn
	acks   chan groupAck
	onAck  func(groupAck)
	rec    *groupRecorder
	m      *memberRec
	done   chan struct{}
	mu     sync.Mutex
	err    error // why the reader stopped, unless closed by us
	closed bool
}

// dialGroupSender connects a sender. rec may be nil (items are ignored);
// own is the stream it sends, which its own connection never receives.
// Sender own (0 for -1) is on node own of a cluster.
func dialGroupSender(ctx context.Context, e *env, tok, resource string, rec *groupRecorder, own int, onAck func(groupAck)) (*groupSender, error) {
	c, _, err := dialWS(ctx, e.wsURLFor(max(own, 0)), tok, resource, nil)
	if err != nil {
		return nil, fmt.Errorf("connect sender: %w", err)
	}
	s := &groupSender{c: c, acks: make(chan groupAck, 4*protocolMaxPipelined), onAck: onAck, rec: rec, done: make(chan struct{})}
	if rec != nil {
		s.m = rec.member(own)
	}
	go s.read()
	return s, nil
}

// protocolMaxPipelined is the server's limit of sends waiting for their
// acks on one connection (docs/protocol.md, Pipelining).
const protocolMaxPipelined = 64

func (s *groupSender) read() {
	defer close(s.done)
	buf := make([]byte, 0, 1024)
	for {
		var err error
		buf, err = s.c.readInto(buf)
		if err != nil {
			s.mu.Lock()
			if !s.closed {
				s.err = err
			}
			s.mu.Unlock()
			return
		}
		now := time.Now()
		if s.rec != nil && s.rec.onFrame(s.m, buf, now.UnixNano()) {
			continue
		}
		if isItem, _, _ := parseGroupItem(buf); isItem {
			continue
		}
		f, err := decodeFrame(buf)
		if err != nil || (f.T != protocol.FrameAck && f.T != protocol.FrameError) || f.ID == "" {
			continue
		}
		k, err := strconv.ParseInt(f.ID, 10, 64)
		if err != nil {
			continue
		}
		a := groupAck{k: k, seq: f.Seq, conv: f.ConvID, at: now}
		if f.T == protocol.FrameError {
			a.code = f.Code
			if a.code == "" {
				a.code = "error"
			}
		}
		if s.onAck != nil {
			s.onAck(a)
		} else {
			s.acks <- a
		}
	}
}

// failure is why the connection ended, if the server ended it.
func (s *groupSender) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *groupSender) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.c.close()
	<-s.done
}

// awaitAck waits for the next ack (acks channel mode).
func (s *groupSender) awaitAck(ctx context.Context, timeout time.Duration) (groupAck, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-s.acks:
		return a, nil
	case <-s.done:
		return groupAck{}, fmt.Errorf("sender connection ended: %v", s.failure())
	case <-t.C:
		return groupAck{}, fmt.Errorf("no ack within %s", timeout)
	case <-ctx.Done():
		return groupAck{}, ctx.Err()
	}
}

// sendBatch sends n untimed messages on stream, pipelined (up to window
// unacknowledged), and waits for every answer. It returns how many were
// acknowledged and the error codes of the others.
func (s *groupSender) sendBatch(ctx context.Context, gid string, stream, n, window int, body []byte) (int, map[string]int64, error) {
	codes := map[string]int64{}
	acked, outstanding := 0, 0
	buf := make([]byte, 0, 256+len(body))
	cmid := make([]byte, 0, 64)
	for sent := 0; sent < n || outstanding > 0; {
		if sent < n && outstanding < window {
			cmid = appendGroupCMID(cmid[:0], tagUntimed, stream, int64(sent), time.Now().UnixNano())
			buf = appendGroupSend(buf[:0], int64(sent), gid, cmid, body)
			if err := s.c.write(buf); err != nil {
				return acked, codes, fmt.Errorf("send: %w", err)
			}
			sent++
			outstanding++
			continue
		}
		a, err := s.awaitAck(ctx, 60*time.Second)
		if err != nil {
			return acked, codes, err
		}
		outstanding--
		if a.code != "" {
			codes[a.code]++
		} else {
			acked++
		}
	}
	return acked, codes, nil
}
