package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
// verifyCmd, and return the latencies) and "close".

// workerJob is the job line.
type workerJob struct {
	URL         string   `json:"url"`
	Tokens      []string `json:"tokens"`
	Resource    string   `json:"resource"`
	Sources     []string `json:"sources,omitempty"` // local IPs to dial from, round-robin
	Concurrency int      `json:"concurrency"`
	MaxLifeMS   int64    `json:"max_life_ms"`
	// Group, if set, makes every connection a member that records the
	// group's items.
	Group *groupJob `json:"group,omitempty"`
}

// groupJob says which group items a worker records.
type groupJob struct {
	ID    string `json:"id"`    // the group: items of other conversations are counted apart
	Timed int    `json:"timed"` // timed messages (tag 't', k < Timed) whose every latency is kept
}

// verifyCmd is the argument of "verify": per stream, the k of the
// acknowledged messages (a bitset).
type verifyCmd struct {
	Acked []bitset `json:"acked"`
}

// workerReport is a report line.
type workerReport struct {
	Ready      int     `json:"ready"`
	Failed     int     `json:"failed"`
	Dropped    int     `json:"dropped"` // closed by the server after connecting
	ElapsedMS  float64 `json:"elapsed_ms"`
	FirstError string  `json:"first_error,omitempty"`
	Closed     bool    `json:"closed,omitempty"`
	// Group is the group job's record (status: counts; verify: all).
	Group *groupReport `json:"group,omitempty"`
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
		rec = newGroupRecorder(job.Group.ID, min(max(job.Group.Timed, 0), maxTimed))
	}
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
	parallel(ctx, len(job.Tokens), conc, func(ctx context.Context, i int) error {
		var local net.Addr
		if len(locals) > 0 {
			local = locals[i%len(locals)]
		}
		c, ok, err := dialWS(ctx, job.URL, job.Tokens[i], job.Resource, local)
		if err != nil {
			failed.Add(1)
			errMu.Lock()
			if firstErr == "" {
				firstErr = err.Error()
			}
			errMu.Unlock()
			return nil
		}
		heartbeat.Store(int64(ok.Heartbeat))
		conns[i] = c
		var m *memberRec
		if rec != nil {
			m = rec.member(-1)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 0, 1024)
			for {
				var err error
				if m == nil {
					_, err = c.readRaw()
				} else if buf, err = c.readInto(buf); err == nil {
					rec.onFrame(m, buf, time.Now().UnixNano())
				}
				if err != nil {
					if !closing.Load() {
						dropped.Add(1)
					}
					return
				}
			}
		}()
		return nil
	})
	elapsed := time.Since(start)
	live := make([]*wsConn, 0, len(conns))
	for _, c := range conns {
		if c != nil {
			live = append(live, c)
		}
	}
	report := func(closed bool, g *groupReport) {
		errMu.Lock()
		fe := firstErr
		errMu.Unlock()
		out.Encode(workerReport{Ready: len(live), Failed: int(failed.Load()), Dropped: int(dropped.Load()),
			ElapsedMS: float64(elapsed) / float64(time.Millisecond), FirstError: fe, Closed: closed, Group: g})
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
		if hb <= 0 || len(live) == 0 {
			return
		}
		const tick = 100 * time.Millisecond
		perTick := float64(len(live)) * float64(tick) / float64(hb)
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
					return
				}
				live[next%len(live)].write(ping)
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
			closeAll(live, &closing)
			readers.Wait()
			return nil
		case cmd, ok := <-cmds:
			if !ok { // the parent is gone
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
			case cmd == "close\n":
				closeAll(live, &closing)
				readers.Wait()
				report(true, groupStatus())
				return nil
			}
		}
	}
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
