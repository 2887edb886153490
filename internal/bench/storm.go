package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/protocol"
)

// StormResult is the outcome of the storm scenario (S7).
type StormResult struct {
	Scenario string  `json:"scenario"`
	Backend  string  `json:"backend"`
	Conns    int     `json:"conns"` // all of them, the pairs' included
	Pairs    int     `json:"pairs"`
	Rate     int     `json:"rate"` // offered msgs/s over the pairs
	JitterMS float64 `json:"jitter_ms"`
	Workers  int     `json:"workers"`
	// Reconnected counts the connections back after the drop; StormMS is
	// the time from the drop until the last of them was authenticated.
	Reconnected  int     `json:"reconnected"`
	Failed       int     `json:"failed"`
	FirstError   string  `json:"first_error,omitempty"`
	StormMS      float64 `json:"storm_ms"`
	ConnectsPerS float64 `json:"connects_per_s"`
	Connects     Summary `json:"connect_ms"`  // dial to auth_ok
	Sent         int64   `json:"sent"`        // send frames written, resends included
	Acked        int64   `json:"acked"`       // distinct messages acknowledged
	Resent       int64   `json:"resent"`      // sends repeated after a drop (same client_msg_id)
	Delivered    int64   `json:"delivered"`   // distinct messages the recipients applied
	Lost         int64   `json:"lost"`        // acknowledged, never applied
	Twice        int64   `json:"twice"`       // one client_msg_id applied at two seqs
	Redelivered  int64   `json:"redelivered"` // items seen again (seq already applied): harmless, counted
	Pulls        int64   `json:"pulls"`
	Met          bool    `json:"target_met"` // ≥ 3,000 connects/s and nothing lost or doubled
}

// runStorm holds o.StormConns connections (the idle ones in worker
// processes), lets o.StormPairs of them exchange messages at o.StormRate,
// then drops every connection at once; each dials again after a random
// delay within o.StormJitter and resyncs from its cursor (sync since the
// cursor, pull after its last seq). Senders resend what was not
// acknowledged with the same client_msg_id. At the end every recipient
// must have applied every acknowledged message exactly once.
func runStorm(ctx context.Context, e *env) (any, error) {
	o := e.o
	pairs := o.StormPairs
	idle := o.StormConns - 2*pairs
	if idle < 0 {
		return nil, fmt.Errorf("--storm-conns %d is fewer than the %d pairs' connections", o.StormConns, 2*pairs)
	}
	r := &StormResult{Scenario: "storm", Backend: e.backend, Conns: o.StormConns, Pairs: pairs, Rate: o.StormRate,
		JitterMS: ms(o.StormJitter)}
	_, stoks, err := e.users(ctx, "ss", pairs)
	if err != nil {
		return nil, err
	}
	rnames, rtoks, err := e.users(ctx, "sr", pairs)
	if err != nil {
		return nil, err
	}
	var itoks []string
	if idle > 0 {
		if _, itoks, err = e.users(ctx, "si", idle); err != nil {
			return nil, err
		}
	}
	o.logf("storm: connecting %d idle connections from worker processes", idle)
	pool, err := startPool(ctx, e, itoks, workerJob{Resource: "storm"}, 15*time.Minute)
	if err != nil {
		return nil, err
	}
	defer pool.close()
	r.Workers = len(pool.workers)
	if pool.ready != idle {
		return r, fmt.Errorf("%d of %d idle connections up: %s", pool.ready, idle, pool.firstErr)
	}

	st := &stormState{jitter: o.StormJitter}
	rcps := make([]*stormRecipient, pairs)
	snds := make([]*stormSender, pairs)
	err = parallel(ctx, pairs, 16, func(ctx context.Context, i int) error {
		rc := &stormRecipient{st: st, url: e.wsURLFor(1 + i), tok: rtoks[i], got: map[string]int{}}
		if err := rc.connect(ctx, true); err != nil {
			return err
		}
		rcps[i] = rc
		sn := &stormSender{st: st, url: e.wsURLFor(i), tok: stoks[i], to: rnames[i], tag: "s" + strconv.Itoa(i) + "-",
			acked: map[string]int64{}}
		c, _, err := dialWS(ctx, sn.url, sn.tok, "storm", nil)
		sn.c = c
		snds[i] = sn
		return err
	})
	defer func() {
		for _, rc := range rcps {
			if rc != nil {
				rc.close()
			}
		}
		for _, sn := range snds {
			if sn == nil {
				continue
			}
			sn.mu.Lock()
			c := sn.c
			sn.mu.Unlock()
			if c != nil {
				c.close()
			}
		}
	}()
	if err != nil {
		return r, err
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var wg sync.WaitGroup
	errc := make(chan error, 2*pairs)
	for i := range pairs {
		wg.Add(2)
		go func() { defer wg.Done(); errc <- rcps[i].run(runCtx) }()
		go func() { defer wg.Done(); errc <- snds[i].run(runCtx, float64(o.StormRate)/float64(pairs)) }()
	}
	o.logf("storm: %d pairs at %d msgs/s for %s, then every connection drops", pairs, o.StormRate, o.StormFor)
	sleepCtx(ctx, o.StormFor)

	// The drop: the pairs' connections and the workers' at once.
	st.storm(rcps, snds)
	for _, w := range pool.workers {
		w.stdin.Write([]byte("storm " + strconv.FormatInt(o.StormJitter.Milliseconds(), 10) + "\n"))
	}
	reps, err := pool.collect(5 * time.Minute)
	if err != nil {
		return r, err
	}
	var hist Hist
	var last float64
	for _, rep := range reps {
		r.Reconnected += rep.Ready
		r.Failed += rep.Failed
		if r.FirstError == "" {
			r.FirstError = rep.FirstError
		}
		if rep.Connects != nil {
			hist.Merge(rep.Connects)
		}
		last = max(last, rep.ElapsedMS)
	}
	// The pairs come back on their own: wait for them (bounded).
	for wait := 0; st.back.Load() < int64(2*pairs) && wait < 600; wait++ {
		sleepCtx(ctx, 100*time.Millisecond)
	}
	st.mu.Lock()
	hist.Merge(&st.hist)
	last = max(last, st.last)
	st.mu.Unlock()
	r.Reconnected += int(st.back.Load())
	r.StormMS = last
	r.Connects = hist.Summary()
	if last > 0 {
		r.ConnectsPerS = float64(r.Reconnected) / (last / 1000)
	}
	o.logf("storm: %d of %d back in %.0f ms; traffic goes on for %s", r.Reconnected, o.StormConns, last, o.StormFor)
	sleepCtx(ctx, o.StormFor)

	// Stop sending, let the recipients catch up, then check.
	for _, sn := range snds {
		sn.stop.Store(true)
	}
	for _, sn := range snds {
		<-sn.idle()
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, i := range rangeN(pairs) {
		want := snds[i].lastSeq()
		for rcps[i].seq() < want && time.Now().Before(deadline) {
			sleepCtx(ctx, 20*time.Millisecond)
		}
	}
	stopRun()
	for _, rc := range rcps {
		rc.close()
	}
	for _, sn := range snds {
		sn.mu.Lock()
		sn.c.close()
		sn.mu.Unlock()
	}
	wg.Wait()
	close(errc)
	var runErr error
	for err := range errc {
		if err != nil && runErr == nil {
			runErr = err
		}
	}
	for i := range pairs {
		sn, rc := snds[i], rcps[i]
		r.Sent += sn.sent
		r.Resent += sn.resent
		r.Acked += int64(len(sn.acked))
		r.Redelivered += rc.redelivered
		r.Pulls += rc.pulls
		r.Delivered += int64(len(rc.got))
		for cmid := range sn.acked {
			if rc.got[cmid] == 0 {
				r.Lost++
			}
		}
		for _, n := range rc.got {
			if n > 1 {
				r.Twice++
			}
		}
	}
	r.Met = r.ConnectsPerS >= 3000 && r.Lost == 0 && r.Twice == 0 && r.Reconnected == o.StormConns
	printStorm(o, r)
	if runErr != nil {
		return r, runErr
	}
	if r.Lost > 0 || r.Twice > 0 {
		return r, fmt.Errorf("%d acknowledged messages lost, %d applied twice", r.Lost, r.Twice)
	}
	if r.Reconnected != o.StormConns {
		return r, fmt.Errorf("%d of %d connections came back: %s", r.Reconnected, o.StormConns, r.FirstError)
	}
	return r, nil
}

func rangeN(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// stormState is what the pairs share: the storm's start and the
// reconnects so far.
type stormState struct {
	jitter time.Duration
	mu     sync.Mutex
	t0     time.Time // the drop; zero before
	hist   Hist
	last   float64 // ms from the drop to the last pair connection back
	back   atomic.Int64
}

// storm drops the pairs' connections.
func (st *stormState) storm(rcps []*stormRecipient, snds []*stormSender) {
	st.mu.Lock()
	st.t0 = time.Now()
	st.mu.Unlock()
	for _, rc := range rcps {
		rc.drop()
	}
	for _, sn := range snds {
		sn.drop()
	}
}

// redial waits a random part of the jitter and dials again, as a client
// that lost its connection in the storm.
func (st *stormState) redial(ctx context.Context, url, tok, res string) (*wsConn, error) {
	st.mu.Lock()
	t0 := st.t0
	st.mu.Unlock()
	if t0.IsZero() {
		return nil, fmt.Errorf("connection lost before the storm")
	}
	if st.jitter > 0 {
		sleepCtx(ctx, time.Duration(rand.Int64N(int64(st.jitter))))
	}
	d0 := time.Now()
	c, _, err := dialWS(ctx, url, tok, res, nil)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	st.hist.Record(time.Since(d0))
	st.last = max(st.last, ms(time.Since(t0)))
	st.mu.Unlock()
	st.back.Add(1)
	return c, nil
}

// stormSender sends to its recipient at a steady rate, one message in
// flight; after a drop it dials again and resends the unacknowledged one.
type stormSender struct {
	st      *stormState
	url     string
	tok     string
	to      string
	tag     string
	mu      sync.Mutex
	c       *wsConn
	dropped bool
	stop    atomic.Bool
	done    chan struct{}
	once    sync.Once

	sent, resent int64
	acked        map[string]int64 // client_msg_id -> seq
	maxSeq       atomic.Int64
}

func (s *stormSender) idle() chan struct{} {
	s.once.Do(func() { s.done = make(chan struct{}) })
	return s.done
}

func (s *stormSender) lastSeq() int64 { return s.maxSeq.Load() }

func (s *stormSender) drop() {
	s.mu.Lock()
	s.dropped = true
	c := s.c
	s.mu.Unlock()
	c.c.Close() // abrupt, as a network drop
}

func (s *stormSender) run(ctx context.Context, rate float64) error {
	defer close(s.idle())
	every := time.Duration(float64(time.Second) / rate)
	next := time.Now().Add(time.Duration(rand.Int64N(int64(every) + 1)))
	buf := make([]byte, 0, 256)
	body := messageText(32)
	for k := 0; !s.stop.Load(); k++ {
		if sleepCtx(ctx, time.Until(next)) != nil {
			return nil
		}
		next = next.Add(every)
		cmid := s.tag + strconv.Itoa(k)
		for attempt := 0; ; attempt++ {
			if attempt > 0 {
				s.resent++
			}
			s.mu.Lock()
			c := s.c
			s.mu.Unlock()
			buf = appendSend(buf[:0], int64(k), s.to, cmid, body)
			s.sent++
			f, err := sendAndAck(c, buf, strconv.Itoa(k))
			if err == nil {
				s.acked[cmid] = f.Seq
				if f.Seq > s.maxSeq.Load() {
					s.maxSeq.Store(f.Seq)
				}
				break
			}
			if f != nil { // an error frame: the server refused it
				return fmt.Errorf("send %s: %s %s", cmid, f.Code, f.Message)
			}
			if ctx.Err() != nil {
				return nil
			}
			c2, err := s.st.redial(ctx, s.url, s.tok, "storm")
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("sender redial: %w", err)
			}
			s.mu.Lock()
			s.c = c2
			s.mu.Unlock()
			if attempt > 3 {
				return fmt.Errorf("send %s: connection lost %d times", cmid, attempt)
			}
		}
	}
	return nil
}

// sendAndAck writes a send and reads its ack (an error frame is returned
// with an error; a nil frame means the connection failed).
func sendAndAck(c *wsConn, b []byte, id string) (*inFrame, error) {
	if err := c.write(b); err != nil {
		return nil, err
	}
	c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		f, err := c.read()
		if err != nil {
			return nil, err
		}
		if f.ID != id {
			continue
		}
		if f.T == protocol.FrameError {
			return f, fmt.Errorf("%s", f.Code)
		}
		return f, nil
	}
}

// stormRecipient applies its conversation's items in seq order, from
// live pushes and pulls, and resyncs after a drop.
type stormRecipient struct {
	st     *stormState
	url    string
	tok    string
	mu     sync.Mutex
	c      *wsConn
	closed atomic.Bool

	cursor      string
	conv        string
	local       atomic.Int64
	pulling     bool
	got         map[string]int // client_msg_id -> times applied
	redelivered int64
	pulls       int64
	reqs        int
}

func (r *stormRecipient) seq() int64 { return r.local.Load() }

// connect dials and, the first time, syncs to get the cursor.
func (r *stormRecipient) connect(ctx context.Context, first bool) error {
	c, _, err := dialWS(ctx, r.url, r.tok, "storm", nil)
	if err != nil {
		return err
	}
	r.c = c
	for page := 0; page < 100; page++ {
		f, err := c.request(map[string]any{"t": protocol.FrameSync, "id": "s" + strconv.Itoa(page), "since": r.cursor, "latest": 1}, 30*time.Second)
		if err != nil {
			return err
		}
		r.cursor = f.Next
		if !f.More {
			return nil
		}
	}
	return fmt.Errorf("initial sync did not end")
}

func (r *stormRecipient) drop() {
	r.mu.Lock()
	c := r.c
	r.mu.Unlock()
	c.c.Close()
}

func (r *stormRecipient) close() {
	r.closed.Store(true)
	r.mu.Lock()
	c := r.c
	r.mu.Unlock()
	if c != nil {
		c.c.Close()
	}
}

func (r *stormRecipient) send(v string) error {
	r.reqs++
	return r.c.write([]byte(v))
}

func (r *stormRecipient) pull() error {
	r.pulling = true
	r.pulls++
	return r.send(`{"t":"pull","id":"p` + strconv.Itoa(r.reqs) + `","conv_id":"` + r.conv + `","after_seq":` +
		strconv.FormatInt(r.local.Load(), 10) + `,"limit":100}`)
}

func (r *stormRecipient) apply(it wireItem) {
	switch l := r.local.Load(); {
	case it.Seq <= l:
		r.redelivered++
	case it.Seq == l+1:
		r.local.Store(it.Seq)
		r.got[it.ClientMsgID]++
	}
}

func (r *stormRecipient) run(ctx context.Context) error {
	for {
		r.c.c.SetReadDeadline(time.Time{})
		f, err := r.c.read()
		if err != nil {
			if r.closed.Load() || ctx.Err() != nil {
				return nil
			}
			c, err := r.st.redial(ctx, r.url, r.tok, "storm")
			if err != nil {
				if r.closed.Load() || ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("recipient redial: %w", err)
			}
			r.mu.Lock()
			r.c = c
			r.mu.Unlock()
			if r.closed.Load() {
				c.c.Close()
				return nil
			}
			// Resync from the cursor: sync, then pull what it shows.
			r.pulling = false
			if err := r.send(`{"t":"sync","id":"s` + strconv.Itoa(r.reqs) + `","since":"` + r.cursor + `"}`); err != nil {
				continue
			}
			continue
		}
		switch f.T {
		case protocol.FrameItem:
			if f.Item == nil {
				continue
			}
			if r.conv == "" {
				r.conv = f.Item.ConvID
			}
			if f.Item.ConvID != r.conv {
				continue
			}
			if f.Item.Seq > r.local.Load()+1 {
				if !r.pulling {
					r.pull()
				}
				continue
			}
			r.apply(*f.Item)
		case protocol.FrameItems:
			for _, it := range f.Items {
				r.apply(it)
			}
			if f.More && len(f.Items) > 0 {
				r.pull()
			} else {
				r.pulling = false
			}
		case protocol.FrameSyncResult:
			r.cursor = f.Next
			for _, cv := range f.Conversations {
				if r.conv == "" {
					r.conv = cv.ConvID
				}
				if cv.ConvID == r.conv && cv.LastSeq > r.local.Load() && !r.pulling {
					r.pull()
				}
			}
			if f.More {
				r.send(`{"t":"sync","id":"s` + strconv.Itoa(r.reqs) + `","since":"` + r.cursor + `"}`)
			}
		case protocol.FrameError:
			return fmt.Errorf("recipient: %s %s", f.Code, f.Message)
		}
	}
}

func printStorm(o *Options, r *StormResult) {
	t := &table{title: fmt.Sprintf("storm (S7) — %s, %s connections (%d sending pairs at %d msgs/s), all dropped and back within %.0f ms of jitter",
		r.Backend, num(float64(r.Conns)), r.Pairs, r.Rate, r.JitterMS)}
	t.add("back after the drop", "%s of %s (%d failed) in %.0f ms from %d worker processes", num(float64(r.Reconnected)),
		num(float64(r.Conns)), r.Failed, r.StormMS, r.Workers)
	t.add("connects/s (all back / time)", "%s", num(r.ConnectsPerS))
	t.add("one connect, dial to auth_ok", "p50 %.1f / p99 %.1f / max %.1f ms", r.Connects.P50, r.Connects.P99, r.Connects.Max)
	t.add("messages", "%s acked (%s resent after a drop), %s applied by the recipients, %d pulls, %s seen again",
		num(float64(r.Acked)), num(float64(r.Resent)), num(float64(r.Delivered)), r.Pulls, num(float64(r.Redelivered)))
	t.add("lost / applied twice", "%d / %d", r.Lost, r.Twice)
	t.add("target ≥ 3,000 connects/s, none lost", "%s", verdict(r.Met))
	if r.FirstError != "" {
		t.add("first error", "%s", r.FirstError)
	}
	t.print(o.Out)
}
