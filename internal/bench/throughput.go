package bench

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/protocol"
)

// ThroughputResult is the outcome of the throughput scenario.
type ThroughputResult struct {
	loadFigures
	Scenario  string  `json:"scenario"`
	Backend   string  `json:"backend"`
	Senders   int     `json:"senders"`
	Window    int     `json:"window"`
	BodyBytes int     `json:"body_bytes"`
	Measured  float64 `json:"measured_s"`

	SentPerSec      float64 `json:"sent_per_s"`
	AckedPerSec     float64 `json:"acked_per_s"`
	DeliveredPerSec float64 `json:"delivered_per_s"`
	AckLatency      Summary `json:"ack_latency"`
	// PerSecond is delivered msgs in each whole second of the measured time.
	PerSecond []float64 `json:"delivered_per_second"`

	// Over the whole run, warm-up and drain included:
	TotalAcked       int64 `json:"total_acked"`
	TotalDelivered   int64 `json:"total_delivered"`
	NotDeliveredLive int64 `json:"not_delivered_live"` // acked, never pushed live
	Lost             int64 `json:"lost"`               // acked, and not in storage either
	Duplicates       int64 `json:"duplicates"`
	Reordered        int64 `json:"reordered"`
}

type tpPair struct {
	slots  chan struct{}
	sentAt chan time.Time
	acked  []int64 // seqs, by the sender's reader
	conv   string
	recv   bitset // by the recipient's reader
	last   int64
	dups   int64
	reord  int64
	hist   Hist
	errs   map[string]int64
	dead   atomic.Bool
	fail   []string
}

func runThroughput(ctx context.Context, e *env) (any, error) {
	o := e.o
	n := o.Senders
	ps, err := setupPairs(ctx, e, n)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			ps.closeAll()
		}
	}()
	body := messageText(o.BodyBytes)
	pairs := make([]*tpPair, n)
	for i := range pairs {
		pairs[i] = &tpPair{slots: make(chan struct{}, o.Window), sentAt: make(chan time.Time, o.Window), errs: map[string]int64{}}
	}
	var sent, acked, delivered atomic.Int64
	var measuring atomic.Bool
	stop := make(chan struct{})
	var readers, writers sync.WaitGroup
	var failMu sync.Mutex
	fail := func(p *tpPair, what string, err error) {
		failMu.Lock()
		p.fail = append(p.fail, what+": "+closeCode(err))
		failMu.Unlock()
	}
	for i, p := range pairs {
		readers.Add(2)
		go func() { // sender's reader: acks
			defer readers.Done()
			c := ps.senders[i]
			for {
				b, err := c.readRaw()
				if err != nil {
					if !p.dead.Swap(true) {
						select {
						case <-stop:
						default:
							fail(p, "sender "+strconv.Itoa(i), err)
						}
					}
					return
				}
				f, err := decodeFrame(b)
				if err != nil {
					fail(p, "sender "+strconv.Itoa(i), err)
					continue
				}
				switch f.T {
				case protocol.FrameAck, protocol.FrameError:
					if f.ID == "" {
						p.errs["connection error: "+f.Code]++
						continue
					}
					t := <-p.sentAt
					if f.T == protocol.FrameAck {
						if measuring.Load() {
							p.hist.Record(time.Since(t))
						}
						p.acked = append(p.acked, f.Seq)
						p.conv = f.ConvID
						acked.Add(1)
					} else {
						p.errs[f.Code]++
					}
					<-p.slots
				}
			}
		}()
		go func() { // recipient's reader: live items
			defer readers.Done()
			c := ps.recipients[i]
			for {
				b, err := c.readRaw()
				if err != nil {
					select {
					case <-stop:
					default:
						fail(p, "recipient "+strconv.Itoa(i), err)
					}
					return
				}
				f, err := decodeFrame(b)
				if err != nil || f.T != protocol.FrameItem || f.Item == nil {
					continue
				}
				s := f.Item.Seq
				if p.recv.set(s) {
					p.dups++
					continue
				}
				if s < p.last {
					p.reord++
				}
				p.last = max(p.last, s)
				delivered.Add(1)
			}
		}()
	}
	o.logf("throughput: %d senders × window %d, warm-up %s, measuring %s", n, o.Window, o.Warmup, o.Duration)
	for i, p := range pairs {
		writers.Add(1)
		go func() {
			defer writers.Done()
			c, to := ps.senders[i], ps.to[i]
			buf := make([]byte, 0, 256+len(body))
			cmid := make([]byte, 0, 32)
			for k := int64(1); ; k++ {
				select {
				case p.slots <- struct{}{}:
				case <-stop:
					return
				}
				cmid = strconv.AppendInt(append(cmid[:0], 't'), k, 10)
				p.sentAt <- time.Now()
				buf = appendSend(buf[:0], k, to, string(cmid), body)
				if err := c.write(buf); err != nil {
					return
				}
				sent.Add(1)
			}
		}()
	}
	if err := sleepCtx(ctx, o.Warmup); err != nil {
		close(stop)
		return nil, err
	}
	s0 := e.sample(ctx)
	c0 := selfCPU()
	mm := startMachineMeter()
	a0, d0, n0 := acked.Load(), delivered.Load(), sent.Load()
	t0 := time.Now()
	measuring.Store(true)
	// Delivered msgs/s second by second: shows a rate that decays as the
	// tables grow, which one average would hide.
	var timeline []float64
	for prev, next := d0, t0.Add(time.Second); ; next = next.Add(time.Second) {
		last := !next.Before(t0.Add(o.Duration))
		if last {
			next = t0.Add(o.Duration)
		}
		if err := sleepCtx(ctx, time.Until(next)); err != nil {
			close(stop)
			return nil, err
		}
		d := delivered.Load()
		if !last {
			timeline = append(timeline, float64(d-prev))
		}
		prev = d
		if last {
			break
		}
	}
	measuring.Store(false)
	a1, d1, n1 := acked.Load(), delivered.Load(), sent.Load()
	wall := time.Since(t0).Seconds()
	s1 := e.sample(ctx)
	c1 := selfCPU()
	machine := mm.pct()
	close(stop)
	writers.Wait()

	// Drain: every outstanding send answered, every acked message pushed.
	o.logf("throughput: draining")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		pending := 0
		for _, p := range pairs {
			if !p.dead.Load() {
				pending += len(p.slots)
			}
		}
		if pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	lastProgress, lastD := time.Now(), delivered.Load()
	for time.Since(lastProgress) < 5*time.Second && time.Now().Before(deadline.Add(30*time.Second)) &&
		delivered.Load() < acked.Load() {
		time.Sleep(20 * time.Millisecond)
		if d := delivered.Load(); d != lastD {
			lastD, lastProgress = d, time.Now()
		}
	}
	ps.closeAll()
	closed = true
	readers.Wait()

	r := &ThroughputResult{Scenario: "throughput", Backend: e.backend, Senders: n, Window: o.Window, BodyBytes: o.BodyBytes,
		Measured: wall, SentPerSec: float64(n1-n0) / wall, AckedPerSec: float64(a1-a0) / wall,
		DeliveredPerSec: float64(d1-d0) / wall, TotalAcked: acked.Load(), TotalDelivered: delivered.Load(),
		loadFigures: newLoadFigures(s0, s1, c1-c0, machine, wall), PerSecond: timeline}
	var h Hist
	for i, p := range pairs {
		h.Merge(&p.hist)
		r.Duplicates += p.dups
		r.Reordered += p.reord
		for k, v := range p.errs {
			r.Errors[k] += v
		}
		r.ConnFailures = append(r.ConnFailures, p.fail...)
		var missing []int64
		for _, s := range p.acked {
			if !p.recv.has(s) {
				missing = append(missing, s)
			}
		}
		if len(missing) == 0 {
			continue
		}
		r.NotDeliveredLive += int64(len(missing))
		// Not pushed live: is it stored (the device would get it on sync)?
		stored, _, err := pullAll(ctx, e, ps.recipToks[i], p.conv)
		if err != nil {
			return r, fmt.Errorf("verify conversation %s: %w", p.conv, err)
		}
		for _, s := range missing {
			if !stored.has(s) {
				r.Lost++
			}
		}
	}
	r.AckLatency = h.Summary()
	sort.Strings(r.ConnFailures)
	printThroughput(e.o, r)
	if r.Lost > 0 {
		return r, fmt.Errorf("%d acknowledged messages are lost", r.Lost)
	}
	return r, nil
}

func printThroughput(o *Options, r *ThroughputResult) {
	t := &table{title: fmt.Sprintf("throughput — %s, %d senders → %d recipients, window %d, %d-byte text, %.1f s measured",
		r.Backend, r.Senders, r.Senders, r.Window, r.BodyBytes, r.Measured)}
	t.add("sent", "%s msgs/s", num(r.SentPerSec))
	t.add("acked (stored)", "%s msgs/s", num(r.AckedPerSec))
	if r.Backend == "sqlite" {
		t.add("delivered (at recipients)", "%s msgs/s   (target ≥ 20,000 on SQLite: %s)", num(r.DeliveredPerSec),
			verdict(r.DeliveredPerSec >= 20000))
	} else {
		t.add("delivered (at recipients)", "%s msgs/s", num(r.DeliveredPerSec))
	}
	if n := len(r.PerSecond); n >= 2 {
		lo, hi := r.PerSecond[0], r.PerSecond[0]
		for _, v := range r.PerSecond {
			lo, hi = min(lo, v), max(hi, v)
		}
		t.add("delivered per second", "first %s, last %s, min %s, max %s", num(r.PerSecond[0]), num(r.PerSecond[n-1]), num(lo), num(hi))
	}
	a := r.AckLatency
	t.add("send→ack latency", "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s", fmtMS(a.P50), fmtMS(a.P90), fmtMS(a.P99), fmtMS(a.P999), fmtMS(a.Max))
	t.add("acked / delivered, whole run", "%s / %s", num(float64(r.TotalAcked)), num(float64(r.TotalDelivered)))
	t.add("acked but not pushed live", "%d", r.NotDeliveredLive)
	t.add("LOST (acked, not stored)", "%d", r.Lost)
	t.add("duplicates / reordered", "%d / %d", r.Duplicates, r.Reordered)
	r.loadFigures.addTo(t)
	t.print(o.Out)
}

// loadFigures are the figures every load scenario reports after its own.
type loadFigures struct {
	Errors             map[string]int64 `json:"errors,omitempty"`
	ConnFailures       []string         `json:"conn_failures,omitempty"`
	ServerCPUPct       float64          `json:"server_cpu_pct"` // of one core, during the measured time; every node together
	ClientCPUPct       float64          `json:"client_cpu_pct"`
	MachineCPUPct      float64          `json:"machine_cpu_pct"` // all cores, server + database + bench
	GroupCommit        *groupCommit     `json:"group_commit,omitempty"`
	ServerRSSKiB       int64            `json:"server_rss_kib"` // every node together
	SlowConsumerCloses int64            `json:"slow_consumer_closes"`
	Nodes              int              `json:"nodes"`              // server processes under test
	PerNode            []NodeFigures    `json:"per_node,omitempty"` // with more than one
}

func (f *loadFigures) addTo(t *table) {
	if len(f.Errors) > 0 {
		t.add("errors", "%v", f.Errors)
	}
	if len(f.ConnFailures) > 0 {
		t.add("connection failures", "%d (first: %s)", len(f.ConnFailures), f.ConnFailures[0])
	}
	t.add("slow-consumer closes (4008)", "%d", f.SlowConsumerCloses)
	if len(f.PerNode) > 0 {
		t.add("server CPU, all nodes", "%s", pct(f.ServerCPUPct))
		t.add("per node", "%s", perNodeLine(f.PerNode))
	} else {
		t.add("server CPU", "%s", pct(f.ServerCPUPct))
	}
	t.add("bench client CPU", "%s", pct(f.ClientCPUPct))
	t.add("machine CPU (all cores busy)", "%s", machinePct(f.MachineCPUPct))
	t.add("group commit", "%s", f.GroupCommit)
	if len(f.PerNode) > 0 {
		t.add("server RSS at end, all nodes", "%s", kib(f.ServerRSSKiB))
	} else {
		t.add("server RSS at end", "%s", kib(f.ServerRSSKiB))
	}
}

// newLoadFigures fills the shared figures from server samples taken at the
// start and end of the measured window.
func newLoadFigures(s0, s1 ServerSample, clientCPU, machine, wall float64) loadFigures {
	f := loadFigures{Errors: map[string]int64{}, ServerCPUPct: -1, ClientCPUPct: cpuPct(clientCPU, wall),
		MachineCPUPct: machine, ServerRSSKiB: s1.RSSKiB, SlowConsumerCloses: s1.SlowConsumerCloses,
		GroupCommit: commitsBetween(s0, s1, wall), Nodes: max(1, len(s1.Nodes)), PerNode: perNode(s0, s1, wall)}
	if s0.CPUSeconds >= 0 && s1.CPUSeconds >= 0 {
		f.ServerCPUPct = cpuPct(s1.CPUSeconds-s0.CPUSeconds, wall)
	}
	return f
}
