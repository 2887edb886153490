package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// dialSpec says how to open connections to one side of a comparison:
// enough to do it from a worker process (`parley bench-peer-worker`).
type dialSpec struct {
	Kind string `json:"kind"` // parley, relay or centrifugo
	URL  string `json:"url"`  // the WebSocket endpoint
	// Creds has one entry per connection: Parley's user tokens, the
	// relay's user names, Centrifugo's connection JWTs.
	Creds []string `json:"creds"`
	Sub   string   `json:"sub,omitempty"`  // Centrifugo: the channel to subscribe to
	Room  bool     `json:"room,omitempty"` // Parley: sends go to a chat room
}

// slice returns the spec of connections [lo, hi).
func (d *dialSpec) slice(lo, hi int) *dialSpec {
	c := *d
	c.Creds = d.Creds[lo:hi]
	return &c
}

// dial opens connection i.
func (d *dialSpec) dial(ctx context.Context, i int) (peerConn, error) {
	switch d.Kind {
	case "parley":
		return dialParley(ctx, d.URL, d.Creds[i], d.Room)
	case "relay":
		c, err := dialPlain(ctx, d.URL+"?user="+d.Creds[i])
		if err != nil {
			return nil, err
		}
		return &relayClient{c: &wsConn{c: c}}, nil
	case "centrifugo":
		return dialCentrifugo(ctx, d.URL, d.Creds[i], d.Sub)
	}
	return nil, fmt.Errorf("unknown side %q", d.Kind)
}

// peerJob is the job line of a peer worker: connections to hold and the
// window and message count of the recorder they feed (see cmpRec).
type peerJob struct {
	Spec      *dialSpec `json:"spec"`
	Lo        int64     `json:"lo"`
	Hi        int64     `json:"hi"`
	Msgs      int       `json:"msgs"`
	MaxLifeMS int64     `json:"max_life_ms"`
}

// cmpTally is what a set of connections received: counts, per message the
// recipients and the latest arrival, and (when asked) the latencies.
type cmpTally struct {
	Ready      int     `json:"ready"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	ElapsedMS  float64 `json:"elapsed_ms"`
	Dropped    int64   `json:"dropped"`
	All        int64   `json:"all"`
	InWin      int64   `json:"in_win"`
	Cnt        []int32 `json:"cnt,omitempty"`
	Last       []int64 `json:"last,omitempty"`
	Hist       *Hist   `json:"hist,omitempty"`
}

// add merges o into t.
func (t *cmpTally) add(o *cmpTally) {
	t.Ready += o.Ready
	t.Failed += o.Failed
	if t.FirstError == "" {
		t.FirstError = o.FirstError
	}
	t.ElapsedMS = max(t.ElapsedMS, o.ElapsedMS)
	t.Dropped += o.Dropped
	t.All += o.All
	t.InWin += o.InWin
	for i := range min(len(t.Cnt), len(o.Cnt)) {
		t.Cnt[i] += o.Cnt[i]
	}
	for i := range min(len(t.Last), len(o.Last)) {
		t.Last[i] = max(t.Last[i], o.Last[i])
	}
	if o.Hist != nil {
		if t.Hist == nil {
			t.Hist = &Hist{}
		}
		t.Hist.Merge(o.Hist)
	}
}

// tally reads r (with the latencies if withHist).
func (r *cmpRec) tally(withHist bool) *cmpTally {
	t := &cmpTally{All: r.all.Load(), InWin: r.inWin.Load(), Cnt: make([]int32, len(r.cnt)), Last: make([]int64, len(r.last))}
	for i := range r.cnt {
		t.Cnt[i], t.Last[i] = r.cnt[i].Load(), r.last[i].Load()
	}
	if withHist {
		t.Hist = r.hist()
	}
	return t
}

// RunPeerWorker is the hidden `parley bench-peer-worker`: it reads a
// peerJob line on stdin, opens its connections (64 at a time), answers one
// cmpTally line, then answers "status", "window LO HI" (sets the measured
// window, unix ns) and "report" (with the latencies) with one each until
// "close", the end of stdin or its lifetime.
func RunPeerWorker(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return fmt.Errorf("bench-peer-worker: no job on stdin: %v", err)
	}
	var job peerJob
	if err := json.Unmarshal(line, &job); err != nil || job.Spec == nil || job.Msgs < 0 || job.Msgs > 10_000_000 {
		return fmt.Errorf("bench-peer-worker: bad job: %v", err)
	}
	if job.MaxLifeMS <= 0 {
		job.MaxLifeMS = int64(15 * time.Minute / time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(job.MaxLifeMS)*time.Millisecond)
	defer cancel()
	out := json.NewEncoder(stdout)
	t0 := time.Now()
	cs := connectAll(ctx, job.Spec.dial, len(job.Spec.Creds))
	elapsed := time.Since(t0)
	defer cs.close()
	rec := newCmpRec(job.Lo, job.Hi, job.Msgs)
	cs.start(func(i int) func(byte, int64, []byte) {
		return func(kind byte, _ int64, text []byte) {
			if kind == 'm' {
				rec.onMsg(i, -1, text)
			}
		}
	})
	report := func(withHist bool) error {
		t := rec.tally(withHist)
		t.Ready, t.Failed, t.FirstError, t.Dropped = cs.up(), cs.failed, cs.first, cs.dropped.Load()
		t.ElapsedMS = float64(elapsed) / float64(time.Millisecond)
		return out.Encode(t)
	}
	if err := report(false); err != nil {
		return err
	}
	cmds := make(chan string)
	go func() {
		defer close(cmds)
		for {
			l, err := in.ReadString('\n')
			if err != nil {
				return
			}
			cmds <- strings.TrimSpace(l)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case c, ok := <-cmds:
			if !ok || c == "close" {
				return nil
			}
			var lo, hi int64
			if n, _ := fmt.Sscanf(c, "window %d %d", &lo, &hi); n == 2 {
				rec.setWindow(lo, hi)
			}
			if err := report(c == "report"); err != nil {
				return err
			}
		}
	}
}

// peerPool is the connections [from, to) of a side, held by worker
// processes of o.PerWorker connections each.
type peerPool struct {
	ws    []*workerProc
	mu    sync.Mutex // one command at a time
	ready int
	first *cmpTally
}

func startPeerPool(ctx context.Context, o *Options, spec *dialSpec, from, to int, lo, hi int64, msgs int) (*peerPool, error) {
	p := &peerPool{}
	per := max(1, o.PerWorker)
	for lo0 := from; lo0 < to; lo0 += per {
		w, err := startWorkerCmd(o, "bench-peer-worker")
		if err != nil {
			p.close()
			return nil, err
		}
		p.ws = append(p.ws, w)
		job, _ := json.Marshal(peerJob{Spec: spec.slice(lo0, min(to, lo0+per)), Lo: lo, Hi: hi, Msgs: msgs,
			MaxLifeMS: int64(30 * time.Minute / time.Millisecond)})
		if _, err := w.stdin.Write(append(job, '\n')); err != nil {
			p.close()
			return nil, err
		}
	}
	t := &cmpTally{}
	for _, w := range p.ws {
		var r cmpTally
		if err := w.readJSON(5*time.Minute, &r); err != nil {
			p.close()
			return nil, err
		}
		t.add(&r)
	}
	p.ready, p.first = t.Ready, t
	if ctx.Err() != nil {
		p.close()
		return nil, ctx.Err()
	}
	return p, nil
}

// status merges the workers' tallies (with the latencies if withHist).
func (p *peerPool) status(withHist bool, msgs int) (*cmpTally, error) {
	cmd := "status\n"
	if withHist {
		cmd = "report\n"
	}
	return p.command(cmd, msgs)
}

// setWindow sets the workers' measured window.
func (p *peerPool) setWindow(lo, hi int64, msgs int) error {
	_, err := p.command(fmt.Sprintf("window %d %d\n", lo, hi), msgs)
	return err
}

func (p *peerPool) command(cmd string, msgs int) (*cmpTally, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := &cmpTally{Cnt: make([]int32, msgs), Last: make([]int64, msgs)}
	for _, w := range p.ws {
		if _, err := io.WriteString(w.stdin, cmd); err != nil {
			return nil, err
		}
	}
	for _, w := range p.ws {
		var r cmpTally
		if err := w.readJSON(time.Minute, &r); err != nil {
			return nil, err
		}
		t.add(&r)
	}
	return t, nil
}

// cpu is the workers' CPU seconds so far.
func (p *peerPool) cpu() float64 {
	var s float64
	for _, w := range p.ws {
		if v, err := readProcCPU(w.cmd.Process.Pid); err == nil {
			s += v
		}
	}
	return s
}

func (p *peerPool) close() {
	var wg sync.WaitGroup
	for _, w := range p.ws {
		wg.Add(1)
		go func() { defer wg.Done(); io.WriteString(w.stdin, "close\n"); w.stop() }()
	}
	wg.Wait()
}
