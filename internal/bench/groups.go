package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"
)

// Group scenarios share this setup: members registered in batches, one
// group created with the first 60 and filled 60 members per call, and
// member connections held by worker processes that time and check every
// group item they receive (grouprec.go).

const (
	// maxGroupBatch is the server's limit of usernames per membership call
	// (and of members given at creation).
	maxGroupBatch = 60
	// maxTimed bounds the timed messages of group-big (each keeps one
	// latency per online member, all sent back by the workers at once).
	maxTimed = 200
)

// createGroup creates a public group owned by names[0] with maxUsers seats
// and adds every other name (60 per call, a few calls at once). It returns
// the group ID.
func (e *env) createGroup(ctx context.Context, names []string, maxUsers int) (string, error) {
	if len(names) == 0 {
		return "", fmt.Errorf("a group needs an owner")
	}
	first := names[1:min(len(names), 1+maxGroupBatch)]
	var created struct {
		Data struct {
			GroupID string `json:"groupid"`
		} `json:"data"`
	}
	body := map[string]any{"owner": names[0], "public": true, "maxusers": maxUsers, "members": first,
		"groupname": "bench"}
	if err := e.call(ctx, "POST", e.appPath("/chatgroups"), e.appTok, body, &created); err != nil {
		return "", fmt.Errorf("create group: %w", err)
	}
	gid := created.Data.GroupID
	if gid == "" {
		return "", fmt.Errorf("create group: no groupid in the answer")
	}
	rest := names[1+len(first):]
	batches := (len(rest) + maxGroupBatch - 1) / maxGroupBatch
	add := func(ctx context.Context, b int) error {
		list := rest[b*maxGroupBatch : min(len(rest), (b+1)*maxGroupBatch)]
		var res struct {
			Data struct {
				NewMembers []string `json:"newmembers"`
			} `json:"data"`
		}
		if err := e.call(ctx, "POST", e.appPath("/chatgroups/"+gid+"/users"), e.appTok,
			map[string]any{"usernames": list}, &res); err != nil {
			return fmt.Errorf("add members: %w", err)
		}
		if len(res.Data.NewMembers) != len(list) {
			return fmt.Errorf("add members: %d of %d added", len(res.Data.NewMembers), len(list))
		}
		return nil
	}
	// Several adds at once, as an app server filling a group would: a
	// server whose group cache kept a member list read before a concurrent
	// add committed (fixed in 01a1d83) hid those members from fan-out for
	// up to 10 s, which the loss checks report.
	return gid, parallel(ctx, batches, 4, add)
}

// memberPool is a group's (or chat room's) online members, held by worker
// processes.
type memberPool struct {
	o        *Options
	workers  []*workerProc
	conns    int
	ready    int
	failed   int
	firstErr string
	// Chat room members that joined over the protocol (workerJob.Join).
	joined, joinFailed int
	joinErr            string
	joins              Hist
	dropErr            string // why the first connection the server closed ended
}

// startMemberPool connects one member per token from worker processes
// (o.PerWorker each) and waits until every worker has reported.
func startMemberPool(ctx context.Context, e *env, toks []string, resource string, gj groupJob, life time.Duration) (*memberPool, error) {
	return startPool(ctx, e, toks, workerJob{Resource: resource, Group: &gj}, life)
}

// startPool is startMemberPool for any job: tmpl's resource, group, room
// to join and receive buffer go to every worker.
func startPool(ctx context.Context, e *env, toks []string, tmpl workerJob, life time.Duration) (*memberPool, error) {
	o := e.o
	p := &memberPool{o: o, conns: len(toks)}
	if len(toks) == 0 {
		return p, nil
	}
	nw := (len(toks) + o.PerWorker - 1) / o.PerWorker
	u, _ := url.Parse(e.base)
	ip := net.ParseIP(u.Hostname())
	useSources := ip != nil && ip.To4() != nil
	for range nw {
		w, err := startWorker(o)
		if err != nil {
			p.close()
			return nil, err
		}
		p.workers = append(p.workers, w)
	}
	for i, w := range p.workers {
		lo, hi := i*o.PerWorker, min(len(toks), (i+1)*o.PerWorker)
		job := tmpl
		job.URL, job.Tokens, job.Concurrency, job.MaxLifeMS = e.wsURL, toks[lo:hi], 32, int64(life/time.Millisecond)
		if e.nodeCount() > 1 {
			// Members start on the node after the sender's (node 0).
			job.URLs, job.First = e.wsURLs, 1+lo
		}
		if useSources {
			job.Sources = []string{sourceFor(i, o.PerWorker, perSource)}
		}
		b, _ := json.Marshal(job)
		if _, err := w.stdin.Write(append(b, '\n')); err != nil {
			p.close()
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	reps, err := p.collect(5 * time.Minute)
	if err != nil {
		p.close()
		return nil, err
	}
	for _, r := range reps {
		p.ready += r.Ready
		p.failed += r.Failed
		if p.firstErr == "" {
			p.firstErr = r.FirstError
		}
		p.joined += r.Joined
		p.joinFailed += r.JoinFailed
		if p.joinErr == "" {
			p.joinErr = r.JoinError
		}
		if r.Joins != nil {
			p.joins.Merge(r.Joins)
		}
	}
	return p, nil
}

// collect reads one report from every worker (they work in parallel).
func (p *memberPool) collect(timeout time.Duration) ([]*workerReport, error) {
	reps := make([]*workerReport, len(p.workers))
	errs := make([]error, len(p.workers))
	var wg sync.WaitGroup
	for i, w := range p.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = w.readReport(timeout)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return reps, nil
}

// command sends one command line to every worker and merges the group
// reports of their answers; dropped counts connections the server closed.
func (p *memberPool) command(cmd string, timeout time.Duration) (*groupReport, int, error) {
	for _, w := range p.workers {
		if _, err := w.stdin.Write([]byte(cmd + "\n")); err != nil {
			return nil, 0, fmt.Errorf("worker: %w", err)
		}
	}
	reps, err := p.collect(timeout)
	if err != nil {
		return nil, 0, err
	}
	all := &groupReport{}
	dropped := 0
	for _, r := range reps {
		dropped += r.Dropped
		if p.dropErr == "" {
			p.dropErr = r.DropError
		}
		if r.Group == nil {
			return nil, 0, fmt.Errorf("worker answered %q without a group report", cmd)
		}
		all.merge(r.Group)
	}
	return all, dropped, nil
}

// status returns the counts so far.
func (p *memberPool) status() (*groupReport, int, error) {
	if len(p.workers) == 0 {
		return &groupReport{}, 0, nil
	}
	return p.command("status", 30*time.Second)
}

// verify checks every member connection against the acknowledged
// messages (per stream) and returns the latencies.
func (p *memberPool) verify(acked []bitset) (*groupReport, int, error) {
	if len(p.workers) == 0 {
		return &groupReport{Checked: true, Hist: &Hist{}}, 0, nil
	}
	b, err := json.Marshal(verifyCmd{Acked: acked})
	if err != nil {
		return nil, 0, err
	}
	return p.command("verify "+string(b), 2*time.Minute)
}

// pause makes every member stop reading for up to d (see maxPause), until
// resume; it returns once every worker has paused.
func (p *memberPool) pause(d time.Duration) error {
	if len(p.workers) == 0 {
		return nil
	}
	_, _, err := p.command(fmt.Sprintf("pause %d", d.Milliseconds()), 30*time.Second)
	return err
}

// resume ends a pause.
func (p *memberPool) resume() error {
	if len(p.workers) == 0 {
		return nil
	}
	_, _, err := p.command("resume", 30*time.Second)
	return err
}

// cpu is the workers' CPU seconds so far (-1: unknown).
func (p *memberPool) cpu() float64 {
	var sum float64
	for _, w := range p.workers {
		v, err := readProcCPU(w.cmd.Process.Pid)
		if err != nil {
			return -1
		}
		sum += v
	}
	return sum
}

// close closes the connections and ends the workers.
func (p *memberPool) close() {
	for _, w := range p.workers {
		w.stdin.Write([]byte("close\n"))
	}
	for _, w := range p.workers {
		w.readReport(60 * time.Second)
	}
	for _, w := range p.workers {
		w.stop()
	}
	p.workers = nil
}

// waitItems polls until the pool and the local recorder (may be nil)
// together hold want group items, progress stalls for stall, or maxWait
// passes. It returns the last counts.
func waitItems(ctx context.Context, p *memberPool, local *groupRecorder, want int64, every, stall, maxWait time.Duration) (*groupReport, error) {
	end := time.Now().Add(maxWait)
	last, lastChange := int64(-1), time.Now()
	for {
		r, _, err := p.status()
		if err != nil {
			return nil, err
		}
		if local != nil {
			r.merge(local.status())
		}
		if r.Items >= want || time.Now().After(end) {
			return r, nil
		}
		if r.Items != last {
			last, lastChange = r.Items, time.Now()
		} else if time.Since(lastChange) > stall {
			return r, nil
		}
		if err := sleepCtx(ctx, every); err != nil {
			return r, err
		}
	}
}

// absorb moves q's workers and counts into p, so that one command reaches
// both (q is empty afterwards).
func (p *memberPool) absorb(q *memberPool) {
	p.workers = append(p.workers, q.workers...)
	p.conns += q.conns
	p.ready += q.ready
	p.failed += q.failed
	if p.firstErr == "" {
		p.firstErr = q.firstErr
	}
	p.joined += q.joined
	p.joinFailed += q.joinFailed
	if p.joinErr == "" {
		p.joinErr = q.joinErr
	}
	p.joins.Merge(&q.joins)
	q.workers = nil
}
