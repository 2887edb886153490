package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// GroupFanoutResult is the outcome of the group-fanout scenario.
type GroupFanoutResult struct {
	loadFigures
	Scenario  string  `json:"scenario"`
	Backend   string  `json:"backend"`
	Members   int     `json:"members"`
	Online    int     `json:"online"`    // member connections asked for, senders included
	Connected int     `json:"connected"` // member connections up, senders included
	Senders   int     `json:"senders"`
	Workers   int     `json:"workers"`
	BodyBytes int     `json:"body_bytes"`
	Measured  float64 `json:"measured_s"`

	UsersSeconds   float64 `json:"users_s"`
	GroupSeconds   float64 `json:"group_s"`
	ConnectSeconds float64 `json:"connect_s"`

	OfferedPerSec           float64 `json:"offered_per_s"`            // messages
	OfferedDeliveriesPerSec float64 `json:"offered_deliveries_per_s"` // messages × (connected - 1)
	SentPerSec              float64 `json:"sent_per_s"`               // written in the measured time
	AckedPerSec             float64 `json:"acked_per_s"`              // acks received in the measured time
	// DeliveriesPerSec is the deliveries of the messages scheduled in the
	// measured time (each message × the recipients that got it), per
	// second of it.
	DeliveriesPerSec float64 `json:"deliveries_per_s"`
	// ServerDeliveriesPerSec is the server's own count of group items
	// handed to connections (parley_group_deliveries_total) in that time.
	ServerDeliveriesPerSec float64 `json:"server_deliveries_per_s"`
	// Latency from the intended send time to arrival, at every recipient,
	// of every message scheduled in the measured time.
	Latency      Summary `json:"latency"`
	MaxSendLagMS float64 `json:"max_send_lag_ms"`
	// Scheduled is the messages due in the measured time; NotSent, those
	// the senders never wrote (stopped 30 s after the end).
	Scheduled int64 `json:"scheduled"`
	NotSent   int64 `json:"not_sent"`

	// Loss check over the whole run: every online connection but the
	// sender's got every acknowledged message exactly once.
	TotalAcked   int64  `json:"total_acked"`
	Expected     int64  `json:"expected_deliveries"`
	Received     int64  `json:"received_deliveries"`
	Missing      int64  `json:"missing"`
	Dups         int64  `json:"duplicates"`
	Extra        int64  `json:"unexpected"`
	ConnsMissing int    `json:"conns_missing"`
	FirstGap     string `json:"first_missing,omitempty"`
	// NotStored counts acknowledged messages missing at a recipient that
	// are not in the group's stream either (lost, not just not pushed).
	NotStored int64 `json:"not_stored"`
	Dropped   int   `json:"dropped"` // member connections closed by the server
}

// fanSender is one sender's bookkeeping, written by its reader.
type fanSender struct {
	mu     sync.Mutex
	slots  chan struct{}
	acked  bitset
	seqs   []int64 // by k
	conv   string
	errs   map[string]int64
	lagMax time.Duration // by its writer
}

// runGroupFanout: a group of o.Members (1,000), all online; o.GroupSenders
// of them send o.GroupRate messages per second together, open loop, each
// pipelining up to 64 sends; every recipient times every message from its
// intended send time and counts what it got.
func runGroupFanout(ctx context.Context, e *env) (any, error) {
	o := e.o
	members, online := o.groupSize("group-fanout")
	ns := min(o.GroupSenders, online, o.GroupRate)
	r := &GroupFanoutResult{Scenario: "group-fanout", Backend: e.backend, Members: members, Online: online, Senders: ns,
		BodyBytes: o.BodyBytes, OfferedPerSec: float64(o.GroupRate)}

	t0 := time.Now()
	o.logf("group-fanout: registering %d members", members)
	names, err := e.registerUsers(ctx, "gf", members)
	if err != nil {
		return nil, err
	}
	r.UsersSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	gid, err := e.createGroup(ctx, names, members)
	if err != nil {
		return nil, err
	}
	r.GroupSeconds = time.Since(t0).Seconds()
	o.logf("group-fanout: group %s ready; connecting %d members (%d senders)", gid, online, ns)

	t0 = time.Now()
	toks, err := e.userTokens(ctx, names[:online])
	if err != nil {
		return nil, err
	}
	rec := newGroupRecorder(gid, 0) // what the senders' connections receive
	fs := make([]*fanSender, ns)
	senders := make([]*groupSender, 0, ns)
	defer func() {
		for _, s := range senders {
			s.close()
		}
	}()
	var acked, ackedInWin atomic.Int64
	var measuring atomic.Bool
	for j := range ns {
		f := &fanSender{slots: make(chan struct{}, protocolMaxPipelined), errs: map[string]int64{}}
		fs[j] = f
		s, err := dialGroupSender(ctx, e, toks[j], "send", rec, j, func(a groupAck) {
			select {
			case <-f.slots:
			default:
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if a.code != "" {
				f.errs[a.code]++
				return
			}
			f.acked.set(a.k)
			for int64(len(f.seqs)) <= a.k {
				f.seqs = append(f.seqs, 0)
			}
			f.seqs[a.k], f.conv = a.seq, a.conv
			acked.Add(1)
			if measuring.Load() {
				ackedInWin.Add(1)
			}
		})
		if err != nil {
			return nil, err
		}
		senders = append(senders, s)
	}
	life := 10*time.Minute + o.Warmup + o.Duration
	pool, err := startMemberPool(ctx, e, toks[ns:], "member", groupJob{ID: gid}, life)
	if err != nil {
		return nil, err
	}
	defer pool.close()
	r.ConnectSeconds = time.Since(t0).Seconds()
	r.Connected, r.Workers = pool.ready+ns, len(pool.workers)
	r.OfferedDeliveriesPerSec = r.OfferedPerSec * float64(r.Connected-1)
	o.logf("group-fanout: %d connected in %.1f s; %d msgs/s (%s deliveries/s offered), warm-up %s, measuring %s",
		r.Connected, r.ConnectSeconds, o.GroupRate, num(r.OfferedDeliveriesPerSec), o.Warmup, o.Duration)

	body := messageText(o.BodyBytes)
	warm, end := o.Warmup, o.Warmup+o.Duration
	inWindow := func(off time.Duration) bool { return off >= warm && off < end }
	var sentInWin atomic.Int64
	stop := make(chan struct{})
	var writers sync.WaitGroup
	// Offsets from base are monotonic; base's wall clock is the recipients'
	// reference (they read the same system clock).
	base := time.Now()
	baseWall := base.UnixNano()
	for j := range ns {
		writers.Add(1)
		go func() {
			defer writers.Done()
			p, f, c := pace{idx: j, n: ns, rate: int64(o.GroupRate)}, fs[j], senders[j].c
			buf := make([]byte, 0, 256+len(body))
			cmid := make([]byte, 0, 64)
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for k := int64(0); ; {
				due := p.due(min(time.Since(base), end-1))
				for ; k < due; k++ {
					select { // at most 64 sends waiting for their acks
					case f.slots <- struct{}{}:
					case <-stop:
						return
					case <-ctx.Done():
						return
					}
					at := p.at(k)
					if lag := time.Since(base) - at; lag > f.lagMax {
						f.lagMax = lag
					}
					tag := byte(tagUntimed)
					if inWindow(at) {
						tag = tagMeasured
					}
					cmid = appendGroupCMID(cmid[:0], tag, j, k, baseWall+int64(at))
					buf = appendGroupSend(buf[:0], k, gid, cmid, body)
					if err := c.write(buf); err != nil {
						return
					}
					if inWindow(at) {
						sentInWin.Add(1)
					}
				}
				next := p.at(k)
				if next >= end {
					return
				}
				timer.Reset(next - time.Since(base))
				select {
				case <-timer.C:
				case <-stop:
					return
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	var stopOnce sync.Once
	stopWriters := func() {
		stopOnce.Do(func() { close(stop) })
		writers.Wait()
	}
	if err := sleepCtx(ctx, time.Until(base.Add(warm))); err != nil {
		stopWriters()
		return nil, err
	}
	measuring.Store(true)
	s0 := e.sample(ctx)
	d0 := groupDeliveries(ctx, e)
	c0 := selfCPU() + pool.cpu()
	mm := startMachineMeter()
	if err := sleepCtx(ctx, time.Until(base.Add(end))); err != nil {
		stopWriters()
		return nil, err
	}
	measuring.Store(false)
	wall := o.Duration.Seconds()
	s1 := e.sample(ctx)
	d1 := groupDeliveries(ctx, e)
	c1 := selfCPU() + pool.cpu()
	r.loadFigures = newLoadFigures(s0, s1, c1-c0, mm.pct(), wall)
	if pool.failed > 0 {
		r.ConnFailures = append(r.ConnFailures, fmt.Sprintf("%d members failed to connect (first: %s)", pool.failed, pool.firstErr))
	}
	if d0 >= 0 && d1 >= 0 {
		r.ServerDeliveriesPerSec = (d1 - d0) / wall
	}
	// Writers that fell behind still send what was due before the end
	// (bounded): the schedule, not the bench, decides what is measured.
	wdone := make(chan struct{})
	go func() { writers.Wait(); close(wdone) }()
	select {
	case <-wdone:
	case <-time.After(30 * time.Second):
	}
	stopWriters()
	for j := range ns {
		p := pace{idx: j, n: ns, rate: int64(o.GroupRate)}
		r.Scheduled += p.due(end-1) - p.due(warm-1)
	}
	r.NotSent = r.Scheduled - sentInWin.Load()

	o.logf("group-fanout: draining")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		pending := 0
		for j, f := range fs {
			if senders[j].failure() == nil {
				pending += len(f.slots)
			}
		}
		if pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.TotalAcked = acked.Load()
	r.Expected = r.TotalAcked * int64(r.Connected-1)
	if _, err := waitItems(ctx, pool, rec, r.Expected, 100*time.Millisecond, 5*time.Second, time.Minute); err != nil {
		return r, err
	}
	ackedSets := make([]bitset, ns)
	var lag time.Duration
	for j, f := range fs {
		f.mu.Lock()
		ackedSets[j] = append(bitset(nil), f.acked...)
		for k, v := range f.errs {
			r.Errors[k] += v
		}
		f.mu.Unlock()
		lag = max(lag, f.lagMax)
		if err := senders[j].failure(); err != nil {
			r.ConnFailures = append(r.ConnFailures, "sender "+strconv.Itoa(j)+": "+closeCode(err))
		}
	}
	rep, dropped, err := pool.verify(ackedSets)
	if err != nil {
		return r, err
	}
	rep.merge(rec.verify(ackedSets))
	r.Dropped = dropped
	r.Received, r.Missing, r.Dups, r.Extra = rep.Items, rep.Missing, rep.Dups, rep.Extra
	r.ConnsMissing, r.FirstGap = rep.ConnsMissing, rep.FirstMissing
	r.Measured = wall
	r.SentPerSec = float64(sentInWin.Load()) / wall
	r.AckedPerSec = float64(ackedInWin.Load()) / wall
	r.DeliveriesPerSec = float64(rep.Hist.Count()) / wall
	r.Latency = rep.Hist.Summary()
	r.MaxSendLagMS = ms(lag)
	if r.Missing > 0 {
		n, err := notStored(ctx, e, toks[0], fs, ackedSets)
		if err != nil {
			return r, err
		}
		r.NotStored = n
	}
	printGroupFanout(o, r)
	if r.Missing > 0 || r.Dups > 0 || r.Extra > 0 {
		return r, fmt.Errorf("group deliveries: %d missing (%d messages not stored), %d duplicated, %d unexpected (first missing: %s)",
			r.Missing, r.NotStored, r.Dups, r.Extra, r.FirstGap)
	}
	return r, nil
}

// groupDeliveries reads the server's parley_group_deliveries_total, summed
// over the nodes (-1: unknown).
func groupDeliveries(ctx context.Context, e *env) float64 {
	m := e.metrics(ctx)
	if v, ok := m["parley_group_deliveries_total"]; ok {
		return v
	}
	return -1
}

// notStored counts acknowledged messages that are not in the group's
// stream (pulled with a member's token).
func notStored(ctx context.Context, e *env, tok string, fs []*fanSender, acked []bitset) (int64, error) {
	conv := ""
	for _, f := range fs {
		f.mu.Lock()
		if f.conv != "" {
			conv = f.conv
		}
		f.mu.Unlock()
	}
	if conv == "" {
		return 0, nil
	}
	stored, _, err := pullAll(ctx, e, tok, conv)
	if err != nil {
		return 0, fmt.Errorf("verify group stream: %w", err)
	}
	var n int64
	for j, f := range fs {
		f.mu.Lock()
		for k, seq := range f.seqs {
			if acked[j].has(int64(k)) && !stored.has(seq) {
				n++
			}
		}
		f.mu.Unlock()
	}
	return n, nil
}

func printGroupFanout(o *Options, r *GroupFanoutResult) {
	t := &table{title: fmt.Sprintf("group-fanout — %s, %s members, %s online, %d senders, open loop at %s msgs/s, %d-byte text, %.1f s measured",
		r.Backend, num(float64(r.Members)), num(float64(r.Connected)), r.Senders, num(r.OfferedPerSec), r.BodyBytes, r.Measured)}
	t.add("setup", "users %.1f s, group %.1f s, tokens+connections %.1f s (%d workers)", r.UsersSeconds, r.GroupSeconds,
		r.ConnectSeconds, r.Workers)
	t.add("offered", "%s msgs/s × %s recipients = %s deliveries/s", num(r.OfferedPerSec), num(float64(r.Connected-1)),
		num(r.OfferedDeliveriesPerSec))
	t.add("sent / acked", "%s / %s msgs/s", num(r.SentPerSec), num(r.AckedPerSec))
	l := r.Latency
	ok := r.DeliveriesPerSec >= 100_000 && l.P99 < 100 && r.Missing == 0 && r.Dups == 0
	t.add("deliveries (at recipients)", "%s /s   (target ≥ 100,000 with p99 < 100 ms: %s)", num(r.DeliveriesPerSec), verdict(ok))
	if r.ServerDeliveriesPerSec > 0 {
		t.add("  server's fan-out count", "%s /s", num(r.ServerDeliveriesPerSec))
	}
	t.add("latency, intended send → arrival", "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s", fmtMS(l.P50), fmtMS(l.P90),
		fmtMS(l.P99), fmtMS(l.P999), fmtMS(l.Max))
	t.add("max sender lag behind schedule", "%s", fmtMS(r.MaxSendLagMS))
	if r.NotSent > 0 {
		t.add("scheduled / never sent", "%s / %s", num(float64(r.Scheduled)), num(float64(r.NotSent)))
	}
	t.add("acked / deliveries expected / received", "%s / %s / %s", num(float64(r.TotalAcked)), num(float64(r.Expected)),
		num(float64(r.Received)))
	t.add("missing / duplicated / unexpected", "%d / %d / %d", r.Missing, r.Dups, r.Extra)
	if r.Missing > 0 {
		t.add("  connections missing some", "%d (first: %s); messages not stored: %d", r.ConnsMissing, r.FirstGap, r.NotStored)
	}
	t.add("member connections dropped", "%d", r.Dropped)
	r.loadFigures.addTo(t)
	t.print(o.Out)
}
