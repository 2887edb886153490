package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ServerSample is one reading of the server's resource use. Fields are -1
// when unknown.
type ServerSample struct {
	RSSKiB     int64   `json:"rss_kib"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Goroutines int64   `json:"goroutines"`
	HeapInuse  int64   `json:"heap_inuse_bytes"`
	StackInuse int64   `json:"stack_inuse_bytes"`
	WSConns    int64   `json:"ws_connections"`
	// SlowConsumerCloses counts 4008 closes so far (send queue overflow).
	SlowConsumerCloses int64  `json:"slow_consumer_closes"`
	Source             string `json:"source"` // "proc" (/proc of the child) or "metrics" (/metrics only)
	// Group commit counters (parley_store_batch_*), when the server has them.
	Batches       float64 `json:"store_batches"`
	BatchRequests float64 `json:"store_batch_requests"`
	BatchSeconds  float64 `json:"store_batch_seconds"`
	// Nodes holds each node's own reading when a cluster is under test
	// (the fields above are their sums).
	Nodes []ServerSample `json:"nodes,omitempty"`
}

// groupCommit summarises the server's group commits between two samples.
type groupCommit struct {
	Batches   float64 `json:"batches"`
	MeanSize  float64 `json:"mean_size"` // write requests per commit
	MeanMS    float64 `json:"mean_ms"`   // time to run and commit one batch
	BusyShare float64 `json:"busy_pct"`  // batch time over wall time (all writers together)
}

func commitsBetween(a, b ServerSample, wall float64) *groupCommit {
	n := b.Batches - a.Batches
	if a.Batches < 0 || b.Batches < 0 || n <= 0 || wall <= 0 {
		return nil
	}
	sec := b.BatchSeconds - a.BatchSeconds
	return &groupCommit{Batches: n, MeanSize: (b.BatchRequests - a.BatchRequests) / n, MeanMS: 1000 * sec / n,
		BusyShare: 100 * sec / wall}
}

func (g *groupCommit) String() string {
	if g == nil {
		return "n/a: no commits measured (or no parley_store_batch_* metrics)"
	}
	return fmt.Sprintf("%s commits, %.1f requests each, %.2f ms each; writers busy %.0f %% of the time",
		num(g.Batches), g.MeanSize, g.MeanMS, g.BusyShare)
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// readProcRSS returns VmRSS of pid in KiB.
func readProcRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmRSS(f)
}

func parseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS line")
}

// readProcCPU returns user+system CPU seconds of pid.
func readProcCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a /proc stat
// line. The command name (field 2) may hold spaces, so fields are counted
// after its closing parenthesis.
func parseStatCPU(s string) (float64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat line")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed stat line")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed stat times")
	}
	return float64(ut+st) / clockTicks, nil
}

// selfCPU is this process's CPU seconds (the load generator's own cost).
func selfCPU() float64 {
	v, err := readProcCPU(os.Getpid())
	if err != nil {
		return -1
	}
	return v
}

// parseMetrics extracts unlabelled gauge and counter values, and sums of
// labelled ones, from Prometheus text format.
func parseMetrics(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		name := line[:sp]
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		out[name] += v
		if j := strings.IndexByte(name, '{'); j >= 0 {
			out[name[:j]+"{*}"] += v
		}
	}
	return out
}

// fetchMetrics reads the server's /metrics (nil on failure).
func fetchMetrics(ctx context.Context, hc *http.Client, base string) map[string]float64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil
	}
	return parseMetrics(resp.Body)
}

func metricOr(m map[string]float64, name string, def int64) int64 {
	if v, ok := m[name]; ok {
		return int64(v)
	}
	return def
}

// machineCPU reads the busy and total jiffies of all CPUs from /proc/stat.
func machineCPU() (busy, total int64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	return parseMachineCPU(string(b))
}

func parseMachineCPU(s string) (busy, total int64, ok bool) {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	var idle int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		if i >= 8 { // guest times are already counted in user
			break
		}
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return total - idle, total, true
}

// machineMeter measures how busy the whole machine is (server, database
// and bench together) between start and stop.
type machineMeter struct {
	busy, total int64
	ok          bool
}

func startMachineMeter() machineMeter {
	b, t, ok := machineCPU()
	return machineMeter{b, t, ok}
}

// pct is the share of all cores busy since start, in percent (-1: unknown).
func (m machineMeter) pct() float64 {
	b, t, ok := machineCPU()
	if !ok || !m.ok || t <= m.total {
		return -1
	}
	return 100 * float64(b-m.busy) / float64(t-m.total)
}
