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

// SyncRun is one measured catch-up of the recipient.
type SyncRun struct {
	Kind       string  `json:"kind"` // "new device" or "resume"
	DialAuthMS float64 `json:"dial_auth_ms"`
	SyncMS     float64 `json:"sync_ms"` // sync pages done (from dial)
	TotalMS    float64 `json:"total_ms"`
	Items      int     `json:"items"`
	Pulls      int     `json:"pulls"`
	SyncPages  int     `json:"sync_pages"`
	Convs      int     `json:"convs"`
}

// SyncResult is the outcome of the sync scenario.
type SyncResult struct {
	Scenario    string    `json:"scenario"`
	Backend     string    `json:"backend"`
	Missed      int       `json:"missed"`
	Convs       int       `json:"convs"`
	FillConns   int       `json:"fill_conns"`
	FillDevices int       `json:"fill_devices"` // connections per conversation
	FillSeconds float64   `json:"fill_s"`
	FillPerSec  float64   `json:"fill_per_s"`
	Runs        []SyncRun `json:"runs"`
	NewMS       Stat      `json:"new_device_ms"`
	ResumeMS    Stat      `json:"resume_ms"`
}

// Stat is min/median/max of a few runs.
type Stat struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

func statOf(v []float64) Stat {
	if len(v) == 0 {
		return Stat{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return Stat{Min: s[0], Median: s[len(s)/2], Max: s[len(s)-1]}
}

func runSync(ctx context.Context, e *env) (any, error) {
	o := e.o
	k := o.Convs
	_, rtok, err := e.users(ctx, "rcpt", 1)
	if err != nil {
		return nil, err
	}
	recipient, token := "rcpt0", rtok[0]
	_, stoks, err := e.users(ctx, "f", k)
	if err != nil {
		return nil, err
	}

	// A device that synced before the messages were sent, to resume later.
	dev, _, err := dialWS(ctx, e.wsURLFor(1), token, "resume", nil)
	if err != nil {
		return nil, err
	}
	cursor := ""
	for page := 0; page < 1000; page++ {
		f, err := dev.request(map[string]any{"t": protocol.FrameSync, "id": "s" + strconv.Itoa(page), "since": cursor, "latest": 1}, 30*time.Second)
		if err != nil {
			dev.close()
			return nil, fmt.Errorf("initial sync: %w", err)
		}
		cursor = f.Next
		if !f.More {
			break
		}
	}
	dev.close()

	r := &SyncResult{Scenario: "sync", Backend: e.backend, Missed: o.Missed, Convs: k}
	if err := fillConversations(ctx, e, r, recipient, stoks); err != nil {
		return r, err
	}

	var newMS, resumeMS []float64
	for i := range o.Repeat {
		run, err := measureSync(ctx, e, token, "new"+strconv.Itoa(i), "0")
		if err != nil {
			return r, fmt.Errorf("new device: %w", err)
		}
		run.Kind = "new device"
		r.Runs = append(r.Runs, *run)
		newMS = append(newMS, run.TotalMS)
		run, err = measureSync(ctx, e, token, "resume", cursor)
		if err != nil {
			return r, fmt.Errorf("resume: %w", err)
		}
		run.Kind = "resume"
		r.Runs = append(r.Runs, *run)
		resumeMS = append(resumeMS, run.TotalMS)
	}
	r.NewMS, r.ResumeMS = statOf(newMS), statOf(resumeMS)
	printSync(o, r)
	for _, run := range r.Runs {
		if run.Items != o.Missed {
			return r, fmt.Errorf("%s sync got %d items, want %d", run.Kind, run.Items, o.Missed)
		}
	}
	return r, nil
}

// fillConversations sends o.Missed messages to the (offline) recipient,
// spread over one conversation per sender; each sender sends from
// o.FillDevices devices at once, each pipelining up to 64 sends. (Several
// devices writing into one conversation at once is what deadlocks the
// PostgreSQL writers today: see --fill-devices.)
func fillConversations(ctx context.Context, e *env, r *SyncResult, recipient string, stoks []string) error {
	o := e.o
	k := len(stoks)
	devs := max(1, o.FillDevices)
	type job struct {
		tok   string
		res   string
		count int
	}
	var jobs []job
	for i := range k {
		perConv := o.Missed / k
		if i < o.Missed%k {
			perConv++
		}
		for d := range devs {
			c := perConv / devs
			if d < perConv%devs {
				c++
			}
			if c > 0 {
				jobs = append(jobs, job{tok: stoks[i], res: "fill" + strconv.Itoa(d), count: c})
			}
		}
	}
	conns := make([]*wsConn, len(jobs))
	err := parallel(ctx, len(jobs), 16, func(ctx context.Context, i int) error {
		c, _, err := dialWS(ctx, e.wsURL, jobs[i].tok, jobs[i].res, nil)
		conns[i] = c
		return err
	})
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.close()
			}
		}
	}()
	if err != nil {
		return err
	}
	r.FillConns, r.FillDevices = len(jobs), devs
	o.logf("sync: sending %d messages to %s over %d conversations from %d connections", o.Missed, recipient, k, len(jobs))
	body := messageText(o.BodyBytes)
	var acked atomic.Int64
	errc := make(chan error, len(jobs))
	start := time.Now()
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := conns[i]
			slots := make(chan struct{}, 64)
			done := make(chan error, 1)
			// The reader keeps reading after its own acks are in: the
			// sender's other devices' messages keep arriving as copies.
			go func() {
				got := 0
				c.c.SetReadDeadline(time.Now().Add(10 * time.Minute))
				for {
					f, err := c.read()
					if err != nil {
						if got < j.count {
							done <- err
						}
						return
					}
					switch f.T {
					case protocol.FrameAck:
						got++
						acked.Add(1)
						<-slots
						if got == j.count {
							done <- nil
						}
					case protocol.FrameError:
						if f.ID != "" && got < j.count {
							done <- fmt.Errorf("send: %s %s", f.Code, f.Message)
							got = j.count + 1 // reported; keep draining
						}
					}
				}
			}()
			buf := make([]byte, 0, 256+len(body))
			for n := range j.count {
				select {
				case slots <- struct{}{}:
				case err := <-done:
					errc <- err
					return
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
				cmid := j.res + "-" + strconv.Itoa(n)
				buf = appendSend(buf[:0], int64(n), recipient, cmid, body)
				if err := c.write(buf); err != nil {
					errc <- err
					return
				}
			}
			if err := <-done; err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return fmt.Errorf("filling conversations: %w", err)
	}
	r.FillSeconds = time.Since(start).Seconds()
	r.FillPerSec = float64(acked.Load()) / r.FillSeconds
	return nil
}

// measureSync connects the recipient as resource, syncs since the cursor
// and pulls every conversation it returns from seq 0, pipelining the pulls
// of different conversations, and times it from the dial.
func measureSync(ctx context.Context, e *env, token, resource, since string) (*SyncRun, error) {
	t0 := time.Now()
	c, _, err := dialWS(ctx, e.wsURLFor(1), token, resource, nil) // the fillers are on node 0
	if err != nil {
		return nil, err
	}
	defer c.close()
	run := &SyncRun{DialAuthMS: msSince(t0)}
	last := map[string]int64{}
	var order []string
	cursor := since
	for page := 0; ; page++ {
		if page >= 10_000 {
			return nil, fmt.Errorf("sync did not end")
		}
		req := map[string]any{"t": protocol.FrameSync, "id": "s" + strconv.Itoa(page), "since": cursor}
		if since == "0" {
			req["latest"] = 1
		}
		f, err := c.request(req, 60*time.Second)
		if err != nil {
			return nil, err
		}
		run.SyncPages++
		for _, cv := range f.Conversations {
			if _, ok := last[cv.ConvID]; !ok {
				order = append(order, cv.ConvID)
			}
			last[cv.ConvID] = cv.LastSeq
		}
		cursor = f.Next
		if !f.More {
			break
		}
	}
	run.SyncMS = msSince(t0)
	run.Convs = len(order)

	// Pull every conversation from the start, one page request in flight
	// per conversation, all conversations at once.
	got := map[string]int64{} // highest seq received, contiguous
	pending := map[string]string{}
	next := 0
	send := func(conv string, after int64) error {
		id := "p" + strconv.Itoa(next)
		next++
		pending[id] = conv
		run.Pulls++
		b := []byte(`{"t":"pull","id":"` + id + `","conv_id":"` + conv + `","after_seq":` + strconv.FormatInt(after, 10) + `,"limit":100}`)
		return c.write(b)
	}
	for _, conv := range order {
		if err := send(conv, 0); err != nil {
			return nil, err
		}
	}
	c.c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	for len(pending) > 0 {
		f, err := c.read()
		if err != nil {
			return nil, err
		}
		conv, ok := pending[f.ID]
		if !ok {
			continue // a push
		}
		delete(pending, f.ID)
		if f.T != protocol.FrameItems {
			return nil, fmt.Errorf("pull: %s %s %s", f.T, f.Code, f.Message)
		}
		for _, it := range f.Items {
			if it.Seq != got[conv]+1 {
				return nil, fmt.Errorf("conversation %s: seq %d after %d", conv, it.Seq, got[conv])
			}
			got[conv] = it.Seq
			run.Items++
		}
		if f.More && len(f.Items) > 0 {
			if err := send(conv, got[conv]); err != nil {
				return nil, err
			}
		}
	}
	run.TotalMS = msSince(t0)
	for conv, l := range last {
		if got[conv] < l {
			return nil, fmt.Errorf("conversation %s: pulled up to %d of %d", conv, got[conv], l)
		}
	}
	return run, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t)) / float64(time.Millisecond) }

func printSync(o *Options, r *SyncResult) {
	t := &table{title: fmt.Sprintf("sync — %s, %s missed messages in %d conversations", r.Backend, num(float64(r.Missed)), r.Convs)}
	t.add("filling (not the measure)", "%s msgs/s from %d connections, %d per conversation (%.1f s)", num(r.FillPerSec),
		r.FillConns, r.FillDevices, r.FillSeconds)
	target := 200.0
	if r.Missed > 1000 {
		target = 2000 * float64(r.Missed) / 10000
	}
	for _, run := range r.Runs {
		t.add(run.Kind, "%7.1f ms total (dial+auth %.1f, sync done at %.1f; %d sync pages, %d pulls, %d items)",
			run.TotalMS, run.DialAuthMS, run.SyncMS, run.SyncPages, run.Pulls, run.Items)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "new device %.1f / %.1f / %.1f ms; resume %.1f / %.1f / %.1f ms", r.NewMS.Min, r.NewMS.Median, r.NewMS.Max,
		r.ResumeMS.Min, r.ResumeMS.Median, r.ResumeMS.Max)
	t.add("min / median / max", "%s", b.String())
	if r.Missed == 1000 || r.Missed == 10000 {
		t.add(fmt.Sprintf("target < %.0f ms (median)", target), "new device %s, resume %s",
			verdict(r.NewMS.Median < target), verdict(r.ResumeMS.Median < target))
	}
	t.print(o.Out)
}
