package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"sync"
	"time"
)

// IdleResult is the outcome of the idle scenario.
type IdleResult struct {
	Scenario  string   `json:"scenario"`
	Backend   string   `json:"backend"`
	Conns     int      `json:"conns"`
	Connected int      `json:"connected"`
	Failed    int      `json:"failed"`
	Workers   int      `json:"workers"`
	Sources   []string `json:"sources"`

	ConnectSeconds float64 `json:"connect_s"`
	ConnectPerSec  float64 `json:"connect_per_s"`

	Before ServerSample `json:"before"`
	After  ServerSample `json:"after"`
	// Server memory per idle connection: RSS growth, and the Go heap and
	// goroutine stacks behind it.
	RSSKiBPerConn     float64 `json:"rss_kib_per_conn"`
	HeapKiBPerConn    float64 `json:"heap_kib_per_conn"`
	StackKiBPerConn   float64 `json:"stack_kib_per_conn"`
	GoroutinesPerConn float64 `json:"goroutines_per_conn"`

	IdleSeconds    float64 `json:"idle_s"`
	IdleCPUSeconds float64 `json:"idle_cpu_s"`
	Dropped        int     `json:"dropped"` // closed by the server while idle
	FirstError     string  `json:"first_error,omitempty"`
	Restarted      bool    `json:"server_restarted"` // the baseline is a fresh server process
}

// perSource bounds the connections from one loopback source address.
const perSource = 25_000

type workerProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	done  chan struct{}
}

func (w *workerProc) readReport(timeout time.Duration) (*workerReport, error) {
	var r workerReport
	if err := w.readJSON(timeout, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// readJSON reads the worker's next line into v.
func (w *workerProc) readJSON(timeout time.Duration, v any) error {
	ch := make(chan error, 1)
	go func() {
		line, err := w.out.ReadBytes('\n')
		if err != nil {
			ch <- fmt.Errorf("worker ended: %v", err)
			return
		}
		if err := json.Unmarshal(line, v); err != nil {
			ch <- fmt.Errorf("worker said %q", line)
			return
		}
		ch <- nil
	}()
	select {
	case err := <-ch:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no report from worker within %s", timeout)
	}
}

func (w *workerProc) stop() {
	w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.cmd.Process.Kill()
		<-w.done
	}
}

// startWorker starts `parley bench-worker` from this very binary (not
// --server-bin, which may be a build without it).
func startWorker(o *Options) (*workerProc, error) { return startWorkerCmd(o, "bench-worker") }

// startWorkerCmd starts the hidden subcommand name of this very binary as a
// worker process.
func startWorkerCmd(o *Options, name string) (*workerProc, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, name)
	cmd.Stderr = o.Log
	setPdeathsig(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &workerProc{cmd: cmd, stdin: stdin, out: bufio.NewReaderSize(stdout, 4096), done: make(chan struct{})}
	go func() { cmd.Wait(); close(w.done) }()
	return w, nil
}

// stableSample takes three samples 500 ms apart and keeps the one with the
// median RSS.
func stableSample(ctx context.Context, e *env) ServerSample {
	var ss []ServerSample
	for i := range 3 {
		if i > 0 {
			sleepCtx(ctx, 500*time.Millisecond)
		}
		ss = append(ss, e.sample(ctx))
	}
	sort.Slice(ss, func(i, j int) bool { return ss[i].RSSKiB < ss[j].RSSKiB })
	return ss[1]
}

func runIdle(ctx context.Context, e *env) (any, error) {
	o := e.o
	n := o.Conns
	o.logf("idle: registering %d users", n)
	_, toks, err := e.users(ctx, "i", n)
	if err != nil {
		return nil, err
	}
	r := &IdleResult{Scenario: "idle", Backend: e.backend, Conns: n}
	if e.started() {
		// Registering users grew the heap; a fresh process gives a clean
		// baseline (tokens survive: they are signed, not stored).
		o.logf("idle: restarting the server for a clean memory baseline")
		if err := e.restart(ctx); err != nil {
			return nil, err
		}
		r.Restarted = true
		for i, srv := range e.srvs {
			o.logf("idle: server pid %d at %s", srv.pid(), e.bases[i])
		}
	}
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return nil, err
	}
	r.Before = stableSample(ctx, e)

	nw := (n + o.PerWorker - 1) / o.PerWorker
	u, _ := url.Parse(e.base)
	ip := net.ParseIP(u.Hostname())
	useSources := ip != nil && ip.To4() != nil
	workers := make([]*workerProc, 0, nw)
	defer func() {
		for _, w := range workers {
			w.stop()
		}
	}()
	for range nw {
		w, err := startWorker(o)
		if err != nil {
			return nil, err
		}
		workers = append(workers, w)
	}
	o.logf("idle: opening %d connections from %d worker processes", n, nw)
	t0 := time.Now()
	srcSet := map[string]bool{}
	for i, w := range workers {
		lo, hi := i*o.PerWorker, min(n, (i+1)*o.PerWorker)
		job := workerJob{URL: e.wsURL, Tokens: toks[lo:hi], Resource: "idle", Concurrency: 32,
			MaxLifeMS: int64((5*time.Minute + o.IdleFor) / time.Millisecond)}
		if e.nodeCount() > 1 {
			job.URLs, job.First = e.wsURLs, lo
		}
		if useSources {
			src := sourceFor(i, o.PerWorker, perSource)
			job.Sources = []string{src}
			srcSet[src] = true
		}
		b, _ := json.Marshal(job)
		if _, err := w.stdin.Write(append(b, '\n')); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	for src := range srcSet {
		r.Sources = append(r.Sources, src)
	}
	sort.Strings(r.Sources)
	r.Workers = nw
	var mu sync.Mutex
	var werr error
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := w.readReport(5 * time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				werr = err
				return
			}
			r.Connected += rep.Ready
			r.Failed += rep.Failed
			if r.FirstError == "" {
				r.FirstError = rep.FirstError
			}
		}()
	}
	wg.Wait()
	r.ConnectSeconds = time.Since(t0).Seconds()
	if werr != nil {
		return nil, werr
	}
	r.ConnectPerSec = float64(r.Connected) / r.ConnectSeconds
	o.logf("idle: %d connected (%d failed) in %.1f s; settling", r.Connected, r.Failed, r.ConnectSeconds)
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return nil, err
	}
	r.After = stableSample(ctx, e)
	if r.Connected > 0 {
		c := float64(r.Connected)
		if r.Before.RSSKiB >= 0 && r.After.RSSKiB >= 0 {
			r.RSSKiBPerConn = float64(r.After.RSSKiB-r.Before.RSSKiB) / c
		}
		if r.Before.HeapInuse >= 0 && r.After.HeapInuse >= 0 {
			r.HeapKiBPerConn = float64(r.After.HeapInuse-r.Before.HeapInuse) / 1024 / c
			r.StackKiBPerConn = float64(r.After.StackInuse-r.Before.StackInuse) / 1024 / c
			r.GoroutinesPerConn = float64(r.After.Goroutines-r.Before.Goroutines) / c
		}
	}
	o.logf("idle: measuring CPU while idle for %s", o.IdleFor)
	cpu0 := e.sample(ctx).CPUSeconds
	t1 := time.Now()
	if err := sleepCtx(ctx, o.IdleFor); err != nil {
		return nil, err
	}
	cpu1 := e.sample(ctx).CPUSeconds
	r.IdleSeconds = time.Since(t1).Seconds()
	r.IdleCPUSeconds = -1
	if cpu0 >= 0 && cpu1 >= 0 {
		r.IdleCPUSeconds = cpu1 - cpu0
	}
	for _, w := range workers {
		w.stdin.Write([]byte("status\n"))
		if rep, err := w.readReport(30 * time.Second); err == nil {
			r.Dropped += rep.Dropped
		}
	}
	o.logf("idle: closing connections")
	for _, w := range workers {
		w.stdin.Write([]byte("close\n"))
	}
	for _, w := range workers {
		w.readReport(60 * time.Second)
	}
	printIdle(o, r)
	return r, nil
}

func printIdle(o *Options, r *IdleResult) {
	t := &table{title: fmt.Sprintf("idle — %s, %s authenticated idle connections from %d worker processes (sources %v)",
		r.Backend, num(float64(r.Conns)), r.Workers, r.Sources)}
	t.add("connected / failed", "%s / %d", num(float64(r.Connected)), r.Failed)
	if r.FirstError != "" {
		t.add("first connect error", "%s", r.FirstError)
	}
	t.add("connect rate (dial+upgrade+auth)", "%s conns/s (%.2f s)", num(r.ConnectPerSec), r.ConnectSeconds)
	t.add("server RSS before → after", "%s → %s", kib(r.Before.RSSKiB), kib(r.After.RSSKiB))
	t.add("server memory per idle conn", "%.1f KiB RSS   (target < 20 KiB: %s)", r.RSSKiBPerConn, verdict(r.RSSKiBPerConn < 20))
	t.add("  of which Go heap / stacks", "%.1f / %.1f KiB per conn", r.HeapKiBPerConn, r.StackKiBPerConn)
	t.add("  server goroutines per conn", "%.2f", r.GoroutinesPerConn)
	if r.IdleCPUSeconds >= 0 {
		t.add("server CPU while idle", "%.2f s in %.1f s (%.1f %% of one core)", r.IdleCPUSeconds, r.IdleSeconds,
			100*r.IdleCPUSeconds/r.IdleSeconds)
	}
	t.add("dropped by the server while idle", "%d", r.Dropped)
	if !r.Restarted {
		t.add("note", "baseline taken on a running --target server: its heap may hold memory from earlier work")
	}
	t.print(o.Out)
}
