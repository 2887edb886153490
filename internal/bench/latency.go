package bench

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/protocol"
)

// LatencyResult is the outcome of the latency scenario.
type LatencyResult struct {
	loadFigures
	Scenario  string  `json:"scenario"`
	Backend   string  `json:"backend"`
	Senders   int     `json:"senders"`
	BodyBytes int     `json:"body_bytes"`
	Measured  float64 `json:"measured_s"`

	OfferedPerSec   float64 `json:"offered_per_s"`
	SentPerSec      float64 `json:"sent_per_s"`      // written in the measured time
	AckedPerSec     float64 `json:"acked_per_s"`     // acks received in the measured time
	DeliveredPerSec float64 `json:"delivered_per_s"` // items arriving in the measured time
	// Latency from the intended send time to arrival at the recipient, of
	// every message scheduled in the measured time. Messages that never
	// arrived count with a lower bound: the end of the drain (≤ 30 s after
	// the run) minus their intended time.
	Latency    Summary `json:"latency"`
	Scheduled  int64   `json:"scheduled"`   // messages scheduled in the measured time
	NotArrived int64   `json:"not_arrived"` // of those, not arrived by the end of the drain
	// MaxSendLag is how far behind schedule a sender fell (client overload).
	MaxSendLagMS float64 `json:"max_send_lag_ms"`
}

// maxOutstanding bounds the unacknowledged sends of one latency sender: the
// load is open-loop, but a server that stops answering must not make the
// bench grow without bound.
const maxOutstanding = 20_000

func runLatency(ctx context.Context, e *env) (any, error) {
	o := e.o
	n := o.Senders
	if int64(n) > int64(o.Rate) {
		n = o.Rate // at least one message per second per sender
	}
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
	warm, end := o.Warmup, o.Warmup+o.Duration
	var (
		acked, delivered, inWindowArrived atomic.Int64
		ackedInWin, sentInWin, skipped    atomic.Int64
		outstanding                       = make([]atomic.Int64, n)
		hists                             = make([]Hist, n)
		arrived                           = make([]bitset, n)
		paces                             = make([]pace, n)
		errs                              = make([]map[string]int64, n)
		lagMax                            = make([]time.Duration, n)
		failMu                            sync.Mutex
		fails                             []string
		stop                              = make(chan struct{})
		readers, writers                  sync.WaitGroup
	)
	fail := func(what string, err error) {
		select {
		case <-stop:
			return
		default:
		}
		failMu.Lock()
		fails = append(fails, what+": "+closeCode(err))
		failMu.Unlock()
	}
	// Every clock reading is an offset from base (monotonic), so intended
	// and arrival times compare exactly.
	base := time.Now()
	inWindow := func(off time.Duration) bool { return off >= warm && off < end }
	for i := range n {
		errs[i] = map[string]int64{}
		paces[i] = pace{idx: i, n: n, rate: int64(o.Rate)}
		readers.Add(2)
		go func() {
			defer readers.Done()
			for {
				b, err := ps.senders[i].readRaw()
				if err != nil {
					fail("sender "+strconv.Itoa(i), err)
					return
				}
				f, err := decodeFrame(b)
				if err != nil {
					continue
				}
				switch f.T {
				case protocol.FrameAck:
					acked.Add(1)
					outstanding[i].Add(-1)
					if inWindow(time.Since(base)) {
						ackedInWin.Add(1)
					}
				case protocol.FrameError:
					outstanding[i].Add(-1)
					errs[i][f.Code]++
				}
			}
		}()
		go func() {
			defer readers.Done()
			for {
				b, err := ps.recipients[i].readRaw()
				if err != nil {
					fail("recipient "+strconv.Itoa(i), err)
					return
				}
				now := time.Since(base)
				f, err := decodeFrame(b)
				if err != nil || f.T != protocol.FrameItem || f.Item == nil {
					continue
				}
				delivered.Add(1)
				if inWindow(now) {
					inWindowArrived.Add(1)
				}
				// client_msg_id is "l<k>": message k of this sender, whose
				// intended send time the schedule gives.
				k, err := strconv.ParseInt(strings.TrimPrefix(f.Item.ClientMsgID, "l"), 10, 64)
				if err != nil || k < 0 {
					continue
				}
				if at := paces[i].at(k); inWindow(at) && !arrived[i].set(k) {
					hists[i].Record(now - at)
				}
			}
		}()
	}
	o.logf("latency: %d msgs/s over %d senders, warm-up %s, measuring %s", o.Rate, n, o.Warmup, o.Duration)
	for i := range n {
		writers.Add(1)
		go func() {
			defer writers.Done()
			p := paces[i]
			c, to := ps.senders[i], ps.to[i]
			buf := make([]byte, 0, 256+len(body))
			cmid := make([]byte, 0, 32)
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for k := int64(0); ; {
				now := time.Since(base)
				due := p.due(min(now, end-1))
				for ; k < due; k++ {
					at := p.at(k)
					if lag := now - at; lag > lagMax[i] {
						lagMax[i] = lag
					}
					if outstanding[i].Load() >= maxOutstanding {
						skipped.Add(1)
						continue
					}
					cmid = strconv.AppendInt(append(cmid[:0], 'l'), k, 10)
					buf = appendSend(buf[:0], k, to, string(cmid), body)
					outstanding[i].Add(1)
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
	if err := sleepCtx(ctx, time.Until(base.Add(warm))); err != nil {
		close(stop)
		return nil, err
	}
	s0 := e.sample(ctx)
	c0 := selfCPU()
	mm := startMachineMeter()
	if err := sleepCtx(ctx, time.Until(base.Add(end))); err != nil {
		close(stop)
		return nil, err
	}
	wall := o.Duration.Seconds()
	s1 := e.sample(ctx)
	c1 := selfCPU()
	machine := mm.pct()
	writers.Wait()
	o.logf("latency: draining")
	lastProgress, lastD := time.Now(), delivered.Load()
	drainEnd := time.Now().Add(30 * time.Second)
	for time.Since(lastProgress) < 10*time.Second && time.Now().Before(drainEnd) &&
		(delivered.Load() < acked.Load() || sumOutstanding(outstanding) > 0) {
		time.Sleep(20 * time.Millisecond)
		if d := delivered.Load() + acked.Load(); d != lastD {
			lastD, lastProgress = d, time.Now()
		}
	}
	close(stop)
	ps.closeAll()
	closed = true
	readers.Wait()
	drained := time.Since(base)

	r := &LatencyResult{Scenario: "latency", Backend: e.backend, Senders: n, BodyBytes: o.BodyBytes, Measured: wall,
		OfferedPerSec: float64(o.Rate), SentPerSec: float64(sentInWin.Load()) / wall,
		AckedPerSec: float64(ackedInWin.Load()) / wall, DeliveredPerSec: float64(inWindowArrived.Load()) / wall,
		loadFigures: newLoadFigures(s0, s1, c1-c0, machine, wall)}
	var h Hist
	var lag time.Duration
	for i := range n {
		// Scheduled in the window: k in [due(warm-1), due(end-1)).
		p := paces[i]
		for k := p.due(warm - 1); k < p.due(end-1); k++ {
			r.Scheduled++
			if !arrived[i].has(k) {
				r.NotArrived++
				hists[i].Record(drained - p.at(k))
			}
		}
		h.Merge(&hists[i])
		for k, v := range errs[i] {
			r.Errors[k] += v
		}
		lag = max(lag, lagMax[i])
	}
	if v := skipped.Load(); v > 0 {
		r.Errors["bench: send skipped, outstanding limit reached"] = v
	}
	r.Latency = h.Summary()
	r.MaxSendLagMS = float64(lag) / float64(time.Millisecond)
	sort.Strings(fails)
	r.ConnFailures = fails
	printLatency(o, r)
	return r, nil
}

func sumOutstanding(a []atomic.Int64) int64 {
	var s int64
	for i := range a {
		s += a[i].Load()
	}
	return s
}

func printLatency(o *Options, r *LatencyResult) {
	t := &table{title: fmt.Sprintf("latency — %s, open loop at %s msgs/s over %d senders, %d-byte text, %.1f s measured",
		r.Backend, num(r.OfferedPerSec), r.Senders, r.BodyBytes, r.Measured)}
	t.add("offered", "%s msgs/s", num(r.OfferedPerSec))
	t.add("sent / acked / delivered", "%s / %s / %s msgs/s", num(r.SentPerSec), num(r.AckedPerSec), num(r.DeliveredPerSec))
	l := r.Latency
	t.add("latency, intended send → arrival", "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s", fmtMS(l.P50), fmtMS(l.P90),
		fmtMS(l.P99), fmtMS(l.P999), fmtMS(l.Max))
	t.add("p99 target < 50 ms", "%s", verdict(l.P99 < 50 && r.NotArrived == 0))
	t.add("scheduled / never arrived", "%s / %d", num(float64(r.Scheduled)), r.NotArrived)
	if r.NotArrived > 0 {
		t.add("note", "messages that never arrived count at a lower bound of their latency (end of drain - intended time)")
	}
	t.add("max sender lag behind schedule", "%s", fmtMS(r.MaxSendLagMS))
	r.loadFigures.addTo(t)
	t.print(o.Out)
}
