package bench

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The load code of `parley bench compare` (compare.go): the same for every
// side, which only differ in how they connect and frame (peers.go,
// centrifugo.go) — connections, message stamps, the recorder of arrivals,
// the open-loop sender, and the scenarios S1, S2, S4 and S8.

// --- shared load code ---

// cmpConns is one side's connections and their readers.
type cmpConns struct {
	conns   []peerConn
	failed  int
	first   string
	readers sync.WaitGroup
	dropped atomic.Int64
}

// connectAll opens connections [0, n) with dial, 64 at a time.
func connectAll(ctx context.Context, dial func(ctx context.Context, i int) (peerConn, error), n int) *cmpConns {
	cs := &cmpConns{conns: make([]peerConn, n)}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(64, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := dial(ctx, i)
				if err != nil {
					mu.Lock()
					cs.failed++
					if cs.first == "" {
						cs.first = err.Error()
					}
					mu.Unlock()
					continue
				}
				cs.conns[i] = c
			}
		}()
	}
	wg.Wait()
	return cs
}

// start runs a reader per connection; on(i) makes connection i's handler.
func (cs *cmpConns) start(on func(i int) func(kind byte, id int64, text []byte)) {
	for i, c := range cs.conns {
		if c == nil {
			continue
		}
		cs.readers.Add(1)
		go func() {
			defer cs.readers.Done()
			if c.run(on(i)) != nil {
				cs.dropped.Add(1)
			}
		}()
	}
}

func (cs *cmpConns) up() int { return len(cs.conns) - cs.failed }

func (cs *cmpConns) close() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range cs.conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() { defer wg.Done(); c.close(); <-sem }()
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { cs.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// appendStamp appends a message text: the intended send time (unix ns), the
// message number and the sender, padded with 'x' to size bytes.
func appendStamp(b []byte, intended, g int64, sender, size int) []byte {
	b = strconv.AppendInt(b, intended, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, g, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(sender), 10)
	b = append(b, '.')
	for len(b) < size {
		b = append(b, 'x')
	}
	return b
}

// parseStamp reads a text made by appendStamp.
func parseStamp(t []byte) (intended, g int64, sender int, ok bool) {
	var f [3]int64
	for i := range f {
		j := bytes.IndexByte(t, '.')
		if j <= 0 {
			return 0, 0, 0, false
		}
		if f[i], ok = atoi(t[:j]); !ok {
			return 0, 0, 0, false
		}
		t = t[j+1:]
	}
	return f[0], f[1], int(f[2]), true
}

// cmpRec records arrivals: latency from the intended send time of every
// message due in the window [lo, hi) (unix ns), and per message number the
// count of recipients and the latest arrival.
type cmpRec struct {
	lo, hi atomic.Int64
	shards [16]struct {
		mu sync.Mutex
		h  Hist
	}
	inWin   atomic.Int64
	all     atomic.Int64
	bad     atomic.Int64
	cnt     []atomic.Int32
	last    []atomic.Int64
	ownSkip atomic.Int64
}

func newCmpRec(lo, hi int64, msgs int) *cmpRec {
	r := &cmpRec{cnt: make([]atomic.Int32, msgs), last: make([]atomic.Int64, msgs)}
	r.setWindow(lo, hi)
	return r
}

// setWindow sets the measured window (before the messages due in it are
// sent).
func (r *cmpRec) setWindow(lo, hi int64) { r.lo.Store(lo); r.hi.Store(hi) }

// onMsg records a message arriving at connection conn, whose own sender
// number is own (-1: not a sender).
func (r *cmpRec) onMsg(conn, own int, text []byte) {
	now := time.Now().UnixNano()
	at, g, sender, ok := parseStamp(text)
	if !ok || g < 0 || g >= int64(len(r.cnt)) {
		r.bad.Add(1)
		return
	}
	if sender == own {
		r.ownSkip.Add(1) // a peer that echoes to the sender (Centrifugo's channel)
		return
	}
	r.all.Add(1)
	r.cnt[g].Add(1)
	for {
		v := r.last[g].Load()
		if now <= v || r.last[g].CompareAndSwap(v, now) {
			break
		}
	}
	if at >= r.lo.Load() && at < r.hi.Load() {
		r.inWin.Add(1)
		s := &r.shards[conn%len(r.shards)]
		s.mu.Lock()
		s.h.Record(time.Duration(now - at))
		s.mu.Unlock()
	}
}

func (r *cmpRec) hist() *Hist {
	var h Hist
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		h.Merge(&s.h)
		s.mu.Unlock()
	}
	return &h
}

// waitCount waits until get() reaches want, it stalls for stall, or maxWait
// passes.
func waitCount(ctx context.Context, get func() int64, want int64, stall, maxWait time.Duration) {
	deadline := time.Now().Add(maxWait)
	last, lastChange := get(), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		v := get()
		if v >= want {
			return
		}
		if v != last {
			last, lastChange = v, time.Now()
		} else if time.Since(lastChange) > stall {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// paced sends, from senders [0, ns) of cs, rate messages per second
// together for warm+dur (open loop, at most protocolMaxPipelined
// unacknowledged per sender), to to(j) (a user, or the group target when
// group is set). It returns, once the writers stop, the messages sent whose
// intended time is in the window and the acks and refusals received.
type pacedLoad struct {
	ns       int
	rate     int64
	warm     time.Duration
	end      time.Duration
	base     time.Time
	slots    []chan struct{}
	acked    atomic.Int64
	refused  atomic.Int64
	sent     atomic.Int64
	sentWin  atomic.Int64
	sendErrs atomic.Int64
}

func newPacedLoad(ns, rate int, warm, dur time.Duration) *pacedLoad {
	p := &pacedLoad{ns: ns, rate: int64(rate), warm: warm, end: warm + dur, slots: make([]chan struct{}, ns)}
	for j := range p.slots {
		p.slots[j] = make(chan struct{}, protocolMaxPipelined)
	}
	return p
}

// onAck is sender j's ack handler.
func (p *pacedLoad) onAck(j int, kind byte) {
	select {
	case <-p.slots[j]:
	default:
	}
	if kind == 'e' {
		p.refused.Add(1)
	} else {
		p.acked.Add(1)
	}
}

// total is how many messages the schedule has.
func (p *pacedLoad) total() int64 {
	var n int64
	for j := range p.ns {
		n += pace{idx: j, n: p.ns, rate: p.rate}.due(p.end - 1)
	}
	return n
}

func (p *pacedLoad) run(ctx context.Context, cs *cmpConns, to func(j int) string, group bool, size int) {
	var wg sync.WaitGroup
	baseWall := p.base.UnixNano()
	for j := range p.ns {
		c := cs.conns[j]
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc := pace{idx: j, n: p.ns, rate: p.rate}
			target := to(j)
			text := make([]byte, 0, size+64)
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for k := int64(0); ; {
				due := pc.due(min(time.Since(p.base), p.end-1))
				for ; k < due; k++ {
					select {
					case p.slots[j] <- struct{}{}:
					case <-ctx.Done():
						return
					case <-time.After(30 * time.Second):
						return // no acks for 30 s: the side is stuck
					}
					at := pc.at(k)
					g := k*int64(p.ns) + int64(j)
					text = appendStamp(text[:0], baseWall+int64(at), g, j, size)
					if err := c.send(g, target, group, text); err != nil {
						p.sendErrs.Add(1)
						return
					}
					p.sent.Add(1)
					if at >= p.warm && at < p.end {
						p.sentWin.Add(1)
					}
				}
				next := pc.at(k)
				if next >= p.end {
					return
				}
				timer.Reset(next - time.Since(p.base))
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
}

// cmpMembers are a side's connections: a few in the bench process (the
// senders, which also receive) and the rest in worker processes (pool).
// Both record into recorders of the same message count; tally merges them.
type cmpMembers struct {
	local *cmpConns
	rec   *cmpRec
	pool  *peerPool
	msgs  int
}

// tally merges what every connection received (with the latencies if
// withHist); a worker that does not answer is an error.
func (m *cmpMembers) tally(withHist bool) (*cmpTally, error) {
	t := m.rec.tally(withHist)
	if m.pool != nil {
		pt, err := m.pool.status(withHist, m.msgs)
		if err != nil {
			return t, err
		}
		t.add(pt)
	}
	return t, nil
}

// count is tally's field f, or -1 when a worker does not answer.
func (m *cmpMembers) count(f func(*cmpTally) int64) func() int64 {
	return func() int64 {
		t, err := m.tally(false)
		if err != nil {
			return -1
		}
		return f(t)
	}
}

func (m *cmpMembers) setWindow(lo, hi int64) error {
	m.rec.setWindow(lo, hi)
	if m.pool != nil {
		return m.pool.setWindow(lo, hi, m.msgs)
	}
	return nil
}

// clientCPU is the bench's own CPU and its workers'.
func (m *cmpMembers) clientCPU() float64 {
	c := selfCPU()
	if m.pool != nil {
		c += m.pool.cpu()
	}
	return c
}

func (m *cmpMembers) close() {
	if m.local != nil {
		m.local.close()
	}
	if m.pool != nil {
		m.pool.close()
	}
}

// --- S1: idle connections ---

func cmpIdle(ctx context.Context, sys system, o *Options) ([]cmpFigure, error) {
	n := o.Conns
	if _, err := sys.users(ctx, "idle", n); err != nil {
		return nil, err
	}
	// Settling time before each memory reading: 2 s, less for a short
	// --idle-for (tests).
	settle := min(2*time.Second, max(o.IdleFor/2, 200*time.Millisecond))
	sleepCtx(ctx, settle)
	s0 := sys.sample(ctx)
	t0 := time.Now()
	pool, err := startPeerPool(ctx, o, sys.spec(""), 0, n, 0, 0, 0)
	if err != nil {
		return nil, err
	}
	connect := time.Since(t0).Seconds()
	m := &cmpMembers{rec: newCmpRec(0, 0, 0), pool: pool}
	defer m.close()
	if pool.first.Failed > 0 {
		o.logf("compare S1: %s: %d of %d connections failed (first: %s)", sys.name(), pool.first.Failed, n, pool.first.FirstError)
	}
	sleepCtx(ctx, settle)
	s1 := sys.sample(ctx)
	if err := sleepCtx(ctx, o.IdleFor); err != nil {
		return nil, err
	}
	s2 := sys.sample(ctx)
	t, err := m.tally(false)
	if err != nil {
		return nil, err
	}
	up := pool.ready
	figs := []cmpFigure{
		{Name: "connections up", Unit: "", Value: float64(up)},
		{Name: "connect rate", Unit: "conns/s", Value: float64(up) / connect},
		{Name: "server memory per connection", Unit: "KiB", Value: float64(s1.RSSKiB-s0.RSSKiB) / float64(max(up, 1)), LowerBetter: true},
		{Name: "server RSS, connections up", Unit: "MiB", Value: float64(s2.RSSKiB) / 1024, LowerBetter: true},
		{Name: "idle server CPU", Unit: "% of a core", Value: cpuPct(s2.CPUSeconds-s1.CPUSeconds, o.IdleFor.Seconds()), LowerBetter: true},
		{Name: "connections dropped", Value: float64(t.Dropped), LowerBetter: true},
	}
	if up < n {
		return figs, fmt.Errorf("%d of %d connections failed (first: %s)", pool.first.Failed, n, pool.first.FirstError)
	}
	return figs, nil
}

// --- S2: 1:1 latency ---

// cmpLatency holds its connections in the bench process (2 × --senders).
func cmpLatency(ctx context.Context, sys system, o *Options) ([]cmpFigure, error) {
	np := o.Senders
	names, err := sys.users(ctx, "lat", 2*np)
	if err != nil {
		return nil, err
	}
	cs := connectAll(ctx, sys.spec("").dial, 2*np)
	load := newPacedLoad(np, o.Rate, o.Warmup, o.Duration)
	m := &cmpMembers{local: cs, msgs: int(load.total()) + np}
	m.rec = newCmpRec(0, 0, m.msgs)
	defer m.close()
	if cs.failed > 0 {
		return nil, fmt.Errorf("%d of %d connections failed (first: %s)", cs.failed, 2*np, cs.first)
	}
	cs.start(func(i int) func(byte, int64, []byte) {
		if i < np {
			return func(kind byte, _ int64, _ []byte) {
				if kind != 'm' {
					load.onAck(i, kind)
				}
			}
		}
		return func(kind byte, _ int64, text []byte) {
			if kind == 'm' {
				m.rec.onMsg(i, -1, text)
			}
		}
	})
	return measureLoad(ctx, sys, o, m, load, func(j int) string { return names[np+j] }, false, 1)
}

// measureLoad runs a paced load from m's local connections and turns it
// into figures; recipients is how many connections get each message.
func measureLoad(ctx context.Context, sys system, o *Options, m *cmpMembers, load *pacedLoad,
	to func(int) string, group bool, recipients int) ([]cmpFigure, error) {
	load.base = time.Now().Add(200 * time.Millisecond)
	bw := load.base.UnixNano()
	if err := m.setWindow(bw+int64(load.warm), bw+int64(load.end)); err != nil {
		return nil, err
	}
	var s0, s1 ServerSample
	var c0, c1 float64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		if sleepCtx(ctx, time.Until(load.base.Add(load.warm))) != nil {
			return
		}
		s0, c0 = sys.sample(ctx), m.clientCPU()
		if sleepCtx(ctx, time.Until(load.base.Add(load.end))) != nil {
			return
		}
		s1, c1 = sys.sample(ctx), m.clientCPU()
	}()
	sleepCtx(ctx, time.Until(load.base))
	load.run(ctx, m.local, to, group, o.BodyBytes)
	<-sampled
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	sent := load.sentWin.Load()
	want := sent * int64(recipients)
	waitCount(ctx, m.count(func(t *cmpTally) int64 { return t.InWin }), want, 3*time.Second, 30*time.Second)
	answered := func() int64 { return load.acked.Load() + load.refused.Load() }
	waitCount(ctx, answered, load.sent.Load(), 3*time.Second, 10*time.Second)
	t, err := m.tally(true)
	if err != nil {
		return nil, err
	}
	wall := o.Duration.Seconds()
	h := t.Hist
	l := h.Summary()
	figs := []cmpFigure{
		{Name: "deliveries", Unit: "/s", Value: float64(h.Count()) / wall},
		{Name: "latency p50", Unit: "ms", Value: l.P50, LowerBetter: true},
		{Name: "latency p99", Unit: "ms", Value: l.P99, LowerBetter: true},
		{Name: "latency p99.9", Unit: "ms", Value: l.P999, LowerBetter: true},
	}
	if recipients > 1 {
		// Per message of the window: the time until its last recipient
		// had it.
		var lastH Hist
		for j := range load.ns {
			pc := pace{idx: j, n: load.ns, rate: load.rate}
			for k := pc.due(load.warm - 1); k < pc.due(load.end-1); k++ {
				g := k*int64(load.ns) + int64(j)
				if g < int64(len(t.Cnt)) && int(t.Cnt[g]) >= recipients {
					lastH.Record(time.Duration(t.Last[g] - (bw + int64(pc.at(k)))))
				}
			}
		}
		figs = append(figs, cmpFigure{Name: "p99 to the last member", Unit: "ms", Value: lastH.Summary().P99, LowerBetter: true})
	}
	figs = append(figs,
		cmpFigure{Name: "server CPU", Unit: "% of a core", Value: cpuPct(s1.CPUSeconds-s0.CPUSeconds, wall), LowerBetter: true},
		cmpFigure{Name: "bench client CPU", Unit: "% of a core", Value: cpuPct(c1-c0, wall), LowerBetter: true},
		cmpFigure{Name: "server RSS at end", Unit: "MiB", Value: float64(s1.RSSKiB) / 1024, LowerBetter: true},
		cmpFigure{Name: "missing deliveries", Value: float64(max(0, want-int64(h.Count()))), LowerBetter: true},
		cmpFigure{Name: "sends refused", Value: float64(load.refused.Load()), LowerBetter: true},
		cmpFigure{Name: "sends not answered", Value: float64(load.sent.Load() - answered()), LowerBetter: true},
		cmpFigure{Name: "connections dropped", Value: float64(t.Dropped + m.local.dropped.Load()), LowerBetter: true})
	if int64(h.Count()) < want {
		err = fmt.Errorf("%d of %d deliveries missing", want-int64(h.Count()), want)
	}
	if n := load.sent.Load() - answered(); n > 0 {
		err = fmt.Errorf("%d sends got neither an ack nor an error", n)
	}
	if sent == 0 {
		err = fmt.Errorf("nothing was sent in the measured time")
	}
	return figs, err
}

// --- S4 and S8: group fan-out and chat room ---

// cmpFanout: S4 (room false) is a group of o.Members (1,000) all online,
// o.GroupSenders of them sending o.GroupRate msgs/s together, open loop.
// S8 (room true) is a chat room of o.Members (10,000) all online; its owner
// sends o.Messages (10) one at a time, each timed until the last member has
// it, then a burst of o.Burst (100) pipelined: deliveries/s. The senders'
// connections are in the bench process, the other members' in workers.
func cmpFanout(ctx context.Context, sys system, o *Options, room bool) ([]cmpFigure, error) {
	var members, ns, msgs int
	var load *pacedLoad
	if room {
		var burst int
		members, burst = o.roomSize("room-big")
		ns, msgs = 1, o.timedMessages("room-big")+burst
	} else {
		members, _ = o.groupSize("group-fanout")
		ns = min(o.GroupSenders, members, o.GroupRate)
		load = newPacedLoad(ns, o.GroupRate, o.Warmup, o.Duration)
		msgs = int(load.total()) + ns
	}
	names, err := sys.users(ctx, "m", members)
	if err != nil {
		return nil, err
	}
	target, err := sys.group(ctx, names, room)
	if err != nil {
		return nil, err
	}
	spec := sys.spec(target)
	m := &cmpMembers{local: connectAll(ctx, spec.dial, ns), rec: newCmpRec(0, 0, msgs), msgs: msgs}
	defer m.close()
	if m.local.failed > 0 {
		return nil, fmt.Errorf("%d of %d sender connections failed (first: %s)", m.local.failed, ns, m.local.first)
	}
	if m.pool, err = startPeerPool(ctx, o, spec, ns, members, 0, 0, msgs); err != nil {
		return nil, err
	}
	if f := m.pool.first; f.Failed > 0 {
		return nil, fmt.Errorf("%d of %d connections failed (first: %s)", f.Failed, members-ns, f.FirstError)
	}
	if h, ok := sys.(connectedHook); ok {
		if err := h.connected(ctx); err != nil {
			return nil, err
		}
	}
	if room {
		return cmpRoom(ctx, sys, o, m, target, members)
	}
	m.local.start(func(i int) func(byte, int64, []byte) {
		return func(kind byte, _ int64, text []byte) {
			if kind == 'm' {
				m.rec.onMsg(i, i, text)
			} else {
				load.onAck(i, kind)
			}
		}
	})
	return measureLoad(ctx, sys, o, m, load, func(int) string { return target }, true, members-1)
}

func cmpRoom(ctx context.Context, sys system, o *Options, m *cmpMembers, target string, members int) ([]cmpFigure, error) {
	timed := o.timedMessages("room-big")
	_, burst := o.roomSize("room-big")
	if err := m.setWindow(0, 1<<62); err != nil {
		return nil, err
	}
	acks := make(chan byte, timed+burst)
	var answered atomic.Int64
	m.local.start(func(i int) func(byte, int64, []byte) {
		return func(kind byte, _ int64, text []byte) {
			if kind == 'm' {
				m.rec.onMsg(i, 0, text)
				return
			}
			answered.Add(1)
			select {
			case acks <- kind:
			default:
			}
		}
	})
	owner := m.local.conns[0]
	text := make([]byte, 0, o.BodyBytes+64)
	want := int64(members - 1)
	var toLast []float64
	var refused int
	for g := range timed {
		t0 := time.Now()
		text = appendStamp(text[:0], t0.UnixNano(), int64(g), 0, o.BodyBytes)
		if err := owner.send(int64(g), target, true, text); err != nil {
			return nil, err
		}
		waitCount(ctx, m.count(func(t *cmpTally) int64 { return int64(t.Cnt[g]) }), want, 5*time.Second, 10*time.Second)
		t, err := m.tally(false)
		if err != nil {
			return nil, err
		}
		if int64(t.Cnt[g]) >= want {
			toLast = append(toLast, float64(t.Last[g]-t0.UnixNano())/1e6)
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
	drainAcks := func() {
		for {
			select {
			case k := <-acks:
				if k == 'e' {
					refused++
				}
			default:
				return
			}
		}
	}
	drainAcks()
	// The burst: pipelined, at most protocolMaxPipelined unacknowledged.
	t, err := m.tally(false)
	if err != nil {
		return nil, err
	}
	before := t.All
	s0, c0 := sys.sample(ctx), m.clientCPU()
	t0 := time.Now()
	inflight := 0
	for g := timed; g < timed+burst; g++ {
		for inflight >= protocolMaxPipelined {
			select {
			case k := <-acks:
				inflight--
				if k == 'e' {
					refused++
				}
			case <-time.After(30 * time.Second):
				return nil, fmt.Errorf("no ack for 30 s during the burst")
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		text = appendStamp(text[:0], time.Now().UnixNano(), int64(g), 0, o.BodyBytes)
		if err := owner.send(int64(g), target, true, text); err != nil {
			return nil, err
		}
		inflight++
	}
	wantBurst := int64(burst) * want
	waitCount(ctx, m.count(func(t *cmpTally) int64 { return t.All - before }), wantBurst, 5*time.Second, 60*time.Second)
	s1, c1 := sys.sample(ctx), m.clientCPU()
	busy := time.Since(t0).Seconds()
	if t, err = m.tally(false); err != nil {
		return nil, err
	}
	var lastAt int64
	for g := timed; g < timed+burst; g++ {
		lastAt = max(lastAt, t.Last[g])
	}
	wall := float64(lastAt-t0.UnixNano()) / 1e9
	got := t.All - before
	waitCount(ctx, answered.Load, int64(timed+burst), 3*time.Second, 10*time.Second)
	drainAcks()
	sort.Float64s(toLast)
	med, worst := -1.0, -1.0
	if len(toLast) > 0 {
		med, worst = toLast[len(toLast)/2], toLast[len(toLast)-1]
	}
	figs := []cmpFigure{
		{Name: "timed message to the last member, median", Unit: "ms", Value: med, LowerBetter: true},
		{Name: "timed message to the last member, max", Unit: "ms", Value: worst, LowerBetter: true},
		{Name: "burst deliveries", Unit: "/s", Value: float64(got) / max(wall, 1e-3)},
		{Name: "burst: time to the last delivery", Unit: "ms", Value: wall * 1000, LowerBetter: true},
		{Name: "server CPU during the burst", Unit: "% of a core", Value: cpuPct(s1.CPUSeconds-s0.CPUSeconds, busy), LowerBetter: true},
		{Name: "bench client CPU during the burst", Unit: "% of a core", Value: cpuPct(c1-c0, busy), LowerBetter: true},
		{Name: "server RSS at end", Unit: "MiB", Value: float64(s1.RSSKiB) / 1024, LowerBetter: true},
		{Name: "missing deliveries", Value: float64(int64(timed)*want - int64(len(toLast))*want + max(0, wantBurst-got)), LowerBetter: true},
		{Name: "sends refused", Value: float64(refused), LowerBetter: true},
		{Name: "sends not answered", Value: float64(int64(timed+burst) - answered.Load()), LowerBetter: true},
		{Name: "connections dropped", Value: float64(t.Dropped + m.local.dropped.Load()), LowerBetter: true},
	}
	if n := int64(timed+burst) - answered.Load(); n > 0 {
		return figs, fmt.Errorf("%d sends got neither an ack nor an error", n)
	}
	if got < wantBurst || len(toLast) < timed {
		return figs, fmt.Errorf("deliveries missing: burst %d of %d, timed messages complete %d of %d", got, wantBurst, len(toLast), timed)
	}
	return figs, nil
}
