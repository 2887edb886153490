package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/protocol"
)

// A worker is a child process (`parley bench-worker`) that holds
// connections: idle ones for the idle scenario, group members that time and
// check the group items they receive for the group scenarios. One process
// may only open 20,000 files, and the server needs its own. The parent
// writes one JSON job line on the worker's stdin; the worker connects,
// answers one report line on stdout, then holds the connections (pinging
// every heartbeat, as clients do) until it reads "close" or its stdin
// ends, or its lifetime runs out. Commands, one line each, each answered by
// one report line: "status" (counts so far), "verify <json>" (group jobs:
// check every connection against the acknowledged messages, see
// verifyCmd, and return the latencies), "pause <ms>" (every connection
// stops reading for ms, at most maxPause, or until "resume": the kernel's
// buffers and then the server's queue fill up, as with a stalled client),
// "resume", "storm <ms>" (drop every connection and dial it again within
// ms, see stormReconnect) and "close".

// workerJob is the job line.
type workerJob struct {
	URL string `json:"url"`
	// URLs, if set, are the nodes of a cluster: connection i dials
	// URLs[(First+i) % len(URLs)] instead of URL.
	URLs        []string `json:"urls,omitempty"`
	First       int      `json:"first,omitempty"`
	Tokens      []string `json:"tokens"`
	Resource    string   `json:"resource"`
	Sources     []string `json:"sources,omitempty"` // local IPs to dial from, round-robin
	Concurrency int      `json:"concurrency"`
	MaxLifeMS   int64    `json:"max_life_ms"`
	// Group, if set, makes every connection a member that records the
	// group's (or chat room's) items.
	Group *groupJob `json:"group,omitempty"`
	// Join, if set, is a chat room every connection joins over the
	// protocol after authenticating (timed: the report's Joins).
	Join string `json:"join,omitempty"`
	// SmallSockets gives every connection small socket buffers (Linux,
	// see dialWSWith), so that a paused reader fills up soon.
	SmallSockets bool `json:"small_sockets,omitempty"`
}

// groupJob says which group (or chat room) items a worker records.
type groupJob struct {
	ID    string `json:"id"`    // the group: items of other conversations are counted apart
	Timed int    `json:"timed"` // timed messages (tag 't', k < Timed) whose every latency is kept
	// ChatType is protocol.ChatTypeGroup ("": the default) or ChatTypeRoom.
	ChatType string `json:"chat_type,omitempty"`
}

// maxPause bounds a "pause": below the server's default write timeout
// (10 s), after which it would close a connection that reads nothing.
const maxPause = 8 * time.Second

// verifyCmd is the argument of "verify": per stream, the k of the
// acknowledged messages (a bitset).
type verifyCmd struct {
	Acked []bitset `json:"acked"`
}

// workerReport is a report line.
type workerReport struct {
	Ready   int `json:"ready"`
	Failed  int `json:"failed"`
	Dropped int `json:"dropped"` // closed by the server after connecting
	// DropError is why the first of them ended (close code or error).
	DropError  string  `json:"drop_error,omitempty"`
	ElapsedMS  float64 `json:"elapsed_ms"`
	FirstError string  `json:"first_error,omitempty"`
	Closed     bool    `json:"closed,omitempty"`
	// Group is the group job's record (status: counts; verify: all).
	Group *groupReport `json:"group,omitempty"`
	// Joined and JoinFailed count the connections that joined the job's
	// room (or failed to); Joins is their time from join frame to answer.
	Joined     int    `json:"joined,omitempty"`
	JoinFailed int    `json:"join_failed,omitempty"`
	JoinError  string `json:"join_error,omitempty"`
	Joins      *Hist  `json:"joins,omitempty"`
	// Connects is a storm's dial-to-auth_ok times.
	Connects *Hist `json:"connects,omitempty"`
}

// readGate pauses readers: open (nil) lets them read; a pause installs a
// channel that resume (or the pause's timer) closes.
type readGate struct {
	mu    sync.Mutex
	ch    atomic.Pointer[chan struct{}]
	timer *time.Timer
}

// wait blocks while the gate is paused.
func (g *readGate) wait(ctx context.Context) {
	if ch := g.ch.Load(); ch != nil {
		select {
		case <-*ch:
		case <-ctx.Done():
		}
	}
}

func (g *readGate) pause(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch.Load() != nil {
		return
	}
	ch := make(chan struct{})
	g.ch.Store(&ch)
	g.timer = time.AfterFunc(min(d, maxPause), g.resume)
}

func (g *readGate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch := g.ch.Load(); ch != nil {
		g.ch.Store(nil)
		g.timer.Stop()
		close(*ch)
	}
}

// RunWorker is the bench-worker process's main.
func RunWorker(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return fmt.Errorf("bench-worker: no job on stdin: %v", err)
	}
	var job workerJob
	if err := json.Unmarshal(line, &job); err != nil {
		return fmt.Errorf("bench-worker: bad job: %v", err)
	}
	if job.MaxLifeMS <= 0 {
		job.MaxLifeMS = int64(15 * time.Minute / time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(job.MaxLifeMS)*time.Millisecond)
	defer cancel()
	out := json.NewEncoder(stdout)

	var locals []net.Addr
	for _, s := range job.Sources {
		ip := net.ParseIP(s)
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("bench-worker: source %q is not a loopback address", s)
		}
		locals = append(locals, &net.TCPAddr{IP: ip})
	}
	var rec *groupRecorder
	if job.Group != nil {
		ct := job.Group.ChatType
		if ct == "" {
			ct = protocol.ChatTypeGroup
		}
		rec = newConvRecorder(ct, job.Group.ID, min(max(job.Group.Timed, 0), maxTimed))
	}
	var (
		gate               readGate
		joined, joinFailed atomic.Int64
		joinErr, dropErr   string
		joinHist           Hist
	)
	conns := make([]*wsConn, len(job.Tokens))
	var (
		failed, dropped atomic.Int64
		errMu           sync.Mutex
		firstErr        string
		closing         atomic.Bool
		readers         sync.WaitGroup
		heartbeat       atomic.Int64
	)
	start := time.Now()
	conc := max(1, job.Concurrency)
	lifeCtx := ctx                      // parallel's own ctx ends when the connecting is done
	var liveP atomic.Pointer[[]*wsConn] // the connections held (a storm replaces them)
	startReader := func(c *wsConn, m *memberRec) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 0, 1024)
			for {
				var err error
				gate.wait(lifeCtx)
				if m == nil {
					_, err = c.readRaw()
				} else if buf, err = c.readInto(buf); err == nil {
					rec.onFrame(m, buf, time.Now().UnixNano())
				}
				if err != nil {
					if !closing.Load() {
						dropped.Add(1)
						errMu.Lock()
						if dropErr == "" {
							dropErr = closeCode(err)
						}
						errMu.Unlock()
					}
					return
				}
			}
		}()
	}
	parallel(ctx, len(job.Tokens), conc, func(ctx context.Context, i int) error {
		var local net.Addr
		if len(locals) > 0 {
			local = locals[i%len(locals)]
		}
		u := job.URL
		if len(job.URLs) > 0 {
			u = job.URLs[(job.First+i)%len(job.URLs)]
		}
		c, ok, err := dialWSWith(ctx, u, job.Tokens[i], job.Resource, local, job.SmallSockets)
		if err != nil {
			failed.Add(1)
			errMu.Lock()
			if firstErr == "" {
				firstErr = err.Error()
			}
			errMu.Unlock()
			return nil
		}
		if job.Join != "" {
			t0 := time.Now()
			_, err := c.request(map[string]any{"t": protocol.FrameRoom, "id": "join", "op": protocol.RoomOpJoin, "room": job.Join},
				30*time.Second)
			d := time.Since(t0)
			errMu.Lock()
			if err != nil {
				joinFailed.Add(1)
				if joinErr == "" {
					joinErr = err.Error()
				}
			} else {
				joined.Add(1)
				joinHist.Record(d)
			}
			errMu.Unlock()
		}
		heartbeat.Store(int64(ok.Heartbeat))
		conns[i] = c
		var m *memberRec
		if rec != nil {
			m = rec.member(-1)
		}
		startReader(c, m)
		return nil
	})
	elapsed := time.Since(start)
	live := make([]*wsConn, 0, len(conns))
	for _, c := range conns {
		if c != nil {
			live = append(live, c)
		}
	}
	liveP.Store(&live)
	report := func(closed bool, g *groupReport) {
		errMu.Lock()
		fe := firstErr
		errMu.Unlock()
		rep := workerReport{Ready: len(live), Failed: int(failed.Load()), Dropped: int(dropped.Load()),
			ElapsedMS: float64(elapsed) / float64(time.Millisecond), FirstError: fe, Closed: closed, Group: g}
		errMu.Lock()
		rep.DropError = dropErr
		errMu.Unlock()
		if job.Join != "" {
			errMu.Lock()
			h := joinHist
			rep.Joined, rep.JoinFailed, rep.JoinError, rep.Joins = int(joined.Load()), int(joinFailed.Load()), joinErr, &h
			errMu.Unlock()
		}
		out.Encode(rep)
	}
	groupStatus := func() *groupReport {
		if rec == nil {
			return nil
		}
		return rec.status()
	}
	report(false, groupStatus())

	// Heartbeats: every connection pings once per heartbeat interval,
	// spread evenly over it.
	go func() {
		hb := time.Duration(heartbeat.Load()) * time.Second
		n := len(*liveP.Load())
		if hb <= 0 || n == 0 {
			return
		}
		const tick = 100 * time.Millisecond
		perTick := float64(n) * float64(tick) / float64(hb)
		t := time.NewTicker(tick)
		defer t.Stop()
		ping := []byte(`{"t":"ping"}`)
		acc, next := 0.0, 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			acc += perTick
			for ; acc >= 1; acc-- {
				if closing.Load() {
					break // closed for good, or a storm: the next tick looks again
				}
				if l := *liveP.Load(); len(l) > 0 {
					l[next%len(l)].write(ping)
				}
				next++
			}
		}
	}()

	cmds := make(chan string)
	go func() {
		defer close(cmds)
		for {
			l, err := in.ReadString('\n')
			if l != "" {
				cmds <- l
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			gate.resume()
			closeAll(live, &closing)
			readers.Wait()
			return nil
		case cmd, ok := <-cmds:
			if !ok { // the parent is gone
				gate.resume()
				closeAll(live, &closing)
				readers.Wait()
				return nil
			}
			switch {
			case cmd == "status\n":
				report(false, groupStatus())
			case strings.HasPrefix(cmd, "verify "):
				var v verifyCmd
				if rec == nil || json.Unmarshal([]byte(cmd[len("verify "):]), &v) != nil {
					report(false, nil)
					continue
				}
				report(false, rec.verify(v.Acked))
			case strings.HasPrefix(cmd, "pause "):
				ms, err := strconv.ParseInt(strings.TrimSpace(cmd[len("pause "):]), 10, 64)
				if err == nil && ms > 0 {
					gate.pause(time.Duration(ms) * time.Millisecond)
				}
				report(false, groupStatus())
			case cmd == "resume\n":
				gate.resume()
				report(false, groupStatus())
			case strings.HasPrefix(cmd, "storm "):
				ms, _ := strconv.ParseInt(strings.TrimSpace(cmd[len("storm "):]), 10, 64)
				live = stormReconnect(ctx, &job, locals, live, time.Duration(max(ms, 0))*time.Millisecond, &closing,
					&readers, startReader, out)
				liveP.Store(&live)
			case cmd == "close\n":
				gate.resume()
				closeAll(live, &closing)
				readers.Wait()
				report(true, groupStatus())
				return nil
			}
		}
	}
}

// stormReconnect drops every connection at once, then dials each again
// after a random delay in [0, jitter), at most job.Concurrency dials at a
// time, and reports how many came back, the time from the drop until the
// last one was authenticated (ElapsedMS), and each dial's time (Connects).
// It returns the new connections, each with its reader.
func stormReconnect(ctx context.Context, job *workerJob, locals []net.Addr, live []*wsConn, jitter time.Duration,
	closing *atomic.Bool, readers *sync.WaitGroup, startReader func(*wsConn, *memberRec), out *json.Encoder) []*wsConn {
	closeAll(live, closing)
	readers.Wait()
	closing.Store(false)
	t0 := time.Now()
	fresh := make([]*wsConn, len(job.Tokens))
	var (
		mu       sync.Mutex
		hist     Hist
		last     time.Duration
		failed   int
		firstErr string
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, max(1, job.Concurrency))
	for i := range job.Tokens {
		wg.Add(1)
		delay := time.Duration(0)
		if jitter > 0 {
			delay = time.Duration(rand.Int64N(int64(jitter)))
		}
		go func() {
			defer wg.Done()
			if sleepCtx(ctx, delay) != nil {
				return
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			var local net.Addr
			if len(locals) > 0 {
				local = locals[i%len(locals)]
			}
			u := job.URL
			if len(job.URLs) > 0 {
				u = job.URLs[(job.First+i)%len(job.URLs)]
			}
			d0 := time.Now()
			c, _, err := dialWSWith(ctx, u, job.Tokens[i], job.Resource, local, job.SmallSockets)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				if firstErr == "" {
					firstErr = err.Error()
				}
				return
			}
			hist.Record(time.Since(d0))
			last = max(last, time.Since(t0))
			fresh[i] = c
			startReader(c, nil)
		}()
	}
	wg.Wait()
	var now []*wsConn
	for _, c := range fresh {
		if c != nil {
			now = append(now, c)
		}
	}
	out.Encode(workerReport{Ready: len(now), Failed: failed, FirstError: firstErr,
		ElapsedMS: float64(last) / float64(time.Millisecond), Connects: &hist})
	return now
}

func closeAll(conns []*wsConn, closing *atomic.Bool) {
	closing.Store(true)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.close()
		}()
	}
	wg.Wait()
}

// sourceFor returns the loopback source address for worker w when every
// worker opens up to perWorker connections: each source address carries at
// most perSource of them (about 28,000 ephemeral ports per address).
func sourceFor(w, perWorker, perSource int) string {
	workersPerSource := max(1, perSource/perWorker)
	return "127.0.0." + strconv.Itoa(1+w/workersPerSource)
}
