package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A cluster under test is Options.Nodes server processes started by the
// bench, sharing a fresh PostgreSQL database, a NATS subject prefix and an
// S3 key prefix of this run's own (so runs never meet on shared services),
// and one secrets key; or the nodes of a running cluster listed in
// --target. Clients are spread round-robin over the nodes, a pair's
// recipient on the node after its sender's, a group's or room's members
// starting on the node after the sender's: with two nodes or more every
// message the scenarios time crosses from one node to another.

// maxNodes bounds --nodes: every node is a process on this machine.
const maxNodes = 16

// nodes is the number of nodes to start (Nodes, 0 meaning 1).
func (o *Options) nodes() int { return max(1, o.Nodes) }

// validateCluster checks --nodes, --db, --nats, --s3 and --pprof.
func (o *Options) validateCluster() []string {
	var bad []string
	check := func(ok bool, msg string) {
		if !ok {
			bad = append(bad, msg)
		}
	}
	check(o.Nodes >= 0 && o.Nodes <= maxNodes, fmt.Sprintf("--nodes must be 1..%d", maxNodes))
	if o.DB != "" {
		if !strings.HasPrefix(o.DB, "postgres://") && !strings.HasPrefix(o.DB, "postgresql://") {
			bad = append(bad, "--db must be a postgres:// URL")
		} else if err := loopbackPostgres("--db", o.DB); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if o.NATS != "" {
		if err := loopbackNATS(o.NATS); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if o.S3 != "" {
		if _, err := parseS3(o.S3); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if o.Pprof != "" {
		if _, _, err := pprofAddr(o.Pprof, 0); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if o.Nodes > 1 || o.NATS != "" {
		what := "--nats"
		if o.Nodes > 1 {
			what = "--nodes " + strconv.Itoa(o.Nodes)
		}
		// A cluster shares everything: the server refuses one on SQLite or
		// local files.
		check(o.DB != "", what+" needs --db postgres://... (the nodes share one database)")
		check(o.NATS != "" || o.Nodes <= 1, what+" needs --nats nats://127.0.0.1:4222 (the nodes' bus)")
		check(o.S3 != "", what+" needs --s3 http://ACCESS:SECRET@127.0.0.1:PORT/BUCKET (the nodes share one file store)")
	}
	return bad
}

// targetURLs parses --target: one base URL per node, each on loopback.
func targetURLs(target string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, t := range strings.Split(target, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, fmt.Errorf("--target %q has an empty entry", target)
		}
		base, err := isLoopbackURL(t)
		if err != nil {
			return nil, err
		}
		if seen[base] {
			return nil, fmt.Errorf("--target lists %s twice", base)
		}
		seen[base] = true
		out = append(out, base)
	}
	if len(out) > maxNodes {
		return nil, fmt.Errorf("--target lists %d nodes, at most %d", len(out), maxNodes)
	}
	return out, nil
}

// loopbackHost reports whether host (a name or an address) is this machine.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackPostgres checks that a PostgreSQL URL names this machine (a
// loopback address, localhost, or a Unix socket).
func loopbackPostgres(flag, src string) error {
	u, err := url.Parse(src)
	if err != nil {
		return fmt.Errorf("%s: %v", flag, err)
	}
	host := u.Hostname()
	if h := u.Query().Get("host"); host == "" && h != "" {
		host = h
	}
	if host == "" || strings.HasPrefix(host, "/") || loopbackHost(host) {
		return nil
	}
	return fmt.Errorf("%s host %q is not a loopback address: the bench only uses databases on this machine", flag, host)
}

// loopbackNATS checks --nats: nats:// URLs (comma-separated) on loopback.
func loopbackNATS(s string) error {
	for _, one := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil || u.Scheme != "nats" || u.Host == "" {
			return fmt.Errorf("--nats must be nats://HOST:PORT, got %q", one)
		}
		if !loopbackHost(u.Hostname()) {
			return fmt.Errorf("--nats host %q is not a loopback address: the bench only uses services on this machine", u.Hostname())
		}
	}
	return nil
}

// s3Settings is a parsed --s3.
type s3Settings struct {
	endpoint, bucket, region, access, secret string
}

// parseS3 parses http(s)://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET[?region=R]
// (the form of PARLEY_TEST_S3) and checks that HOST is this machine.
func parseS3(s string) (s3Settings, error) {
	u, err := url.Parse(s)
	if err != nil {
		return s3Settings{}, fmt.Errorf("--s3: %v", err)
	}
	secret, _ := u.User.Password()
	st := s3Settings{endpoint: u.Scheme + "://" + u.Host, bucket: strings.Trim(u.Path, "/"), region: u.Query().Get("region"),
		access: u.User.Username(), secret: secret}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || st.bucket == "" || strings.Contains(st.bucket, "/") ||
		st.access == "" || secret == "" {
		return s3Settings{}, fmt.Errorf("--s3 must be http://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET")
	}
	if !loopbackHost(u.Hostname()) {
		return s3Settings{}, fmt.Errorf("--s3 host %q is not a loopback address: the bench only uses services on this machine", u.Hostname())
	}
	if st.region == "" {
		st.region = "us-east-1" // what self-hosted stores answer; saves the lookup
	}
	return st, nil
}

// pprofAddr returns --pprof's address for node i: the port plus i.
func pprofAddr(s string, i int) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 1 || p+maxNodes > 65535 {
		return "", 0, fmt.Errorf("--pprof must be HOST:PORT, got %q", s)
	}
	if !loopbackHost(host) {
		return "", 0, fmt.Errorf("--pprof host %q is not a loopback address", host)
	}
	return net.JoinHostPort(host, strconv.Itoa(p+i)), p + i, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freshDB creates an empty database on the PostgreSQL server admin names
// and returns its URL and a function that drops it.
func freshDB(ctx context.Context, admin string) (string, func(), error) {
	name := "parley_bench_" + randomHex(6)
	run := func(ctx context.Context, q string) error {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, q)
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := run(cctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("--db: create a fresh database for this run (needs the CREATEDB privilege): %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		// Not the run's context: a run ended by Ctrl-C still drops it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		run(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

// dbName is the database part of a PostgreSQL URL.
func dbName(u string) string {
	if p, err := url.Parse(u); err == nil {
		return strings.TrimPrefix(p.Path, "/")
	}
	return "?"
}

// clusterEnv returns the environment every started node shares: the
// NATS bus under a prefix of this run's own, the S3 store under a key
// prefix of its own, and one secrets key (written to dir).
func clusterEnv(o *Options, dir string) ([]string, error) {
	if o.NATS == "" && o.S3 == "" {
		return nil, nil
	}
	run := randomHex(6)
	var env []string
	if o.NATS != "" {
		env = append(env, "PARLEY_NATS="+o.NATS, "PARLEY_NATS_PREFIX=bench"+run)
	}
	if o.S3 != "" {
		s, err := parseS3(o.S3)
		if err != nil {
			return nil, err
		}
		env = append(env, "PARLEY_BLOB_DRIVER=s3", "PARLEY_BLOB_S3_ENDPOINT="+s.endpoint, "PARLEY_BLOB_S3_BUCKET="+s.bucket,
			"PARLEY_BLOB_S3_ACCESS_KEY="+s.access, "PARLEY_BLOB_S3_SECRET_KEY="+s.secret, "PARLEY_BLOB_S3_PATH_STYLE=true",
			"PARLEY_BLOB_S3_REGION="+s.region, "PARLEY_BLOB_S3_PREFIX=bench-"+run+"/")
	}
	key := make([]byte, 32)
	rand.Read(key)
	keyFile := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return append(env, "PARLEY_SECRETS_KEY_FILE="+keyFile), nil
}

// wsURLFor is the WebSocket URL of connection i's node (round-robin).
func (e *env) wsURLFor(i int) string { return e.wsURLs[i%len(e.wsURLs)] }

// nodeCount is the number of nodes under test.
func (e *env) nodeCount() int { return len(e.bases) }

// sampleNodes reads every node's resources at once and sums them; with
// more than one node the per-node readings are kept in Nodes.
func (e *env) sampleNodes(ctx context.Context) ServerSample {
	if len(e.bases) == 1 {
		return e.sampleNode(ctx, 0)
	}
	per := make([]ServerSample, len(e.bases))
	var wg sync.WaitGroup
	for i := range per {
		wg.Add(1)
		go func() { defer wg.Done(); per[i] = e.sampleNode(ctx, i) }()
	}
	wg.Wait()
	s := sumSamples(per)
	s.Nodes = per
	return s
}

// sumSamples adds the nodes' readings; a figure unknown on one node is
// unknown in the sum.
func sumSamples(per []ServerSample) ServerSample {
	s := per[0]
	for _, p := range per[1:] {
		addI := func(a *int64, b int64) {
			if *a < 0 || b < 0 {
				*a = -1
			} else {
				*a += b
			}
		}
		addF := func(a *float64, b float64) {
			if *a < 0 || b < 0 {
				*a = -1
			} else {
				*a += b
			}
		}
		addI(&s.RSSKiB, p.RSSKiB)
		addF(&s.CPUSeconds, p.CPUSeconds)
		addI(&s.Goroutines, p.Goroutines)
		addI(&s.HeapInuse, p.HeapInuse)
		addI(&s.StackInuse, p.StackInuse)
		addI(&s.WSConns, p.WSConns)
		addI(&s.SlowConsumerCloses, p.SlowConsumerCloses)
		addF(&s.Batches, p.Batches)
		addF(&s.BatchRequests, p.BatchRequests)
		addF(&s.BatchSeconds, p.BatchSeconds)
	}
	return s
}

// metrics reads every node's /metrics and sums them (counters and gauges
// of a cluster add up); nil when a node does not answer.
func (e *env) metrics(ctx context.Context) map[string]float64 {
	per := make([]map[string]float64, len(e.bases))
	var wg sync.WaitGroup
	for i, b := range e.bases {
		wg.Add(1)
		go func() { defer wg.Done(); per[i] = fetchMetrics(ctx, e.hc, b) }()
	}
	wg.Wait()
	sum := map[string]float64{}
	for _, m := range per {
		if m == nil {
			return nil
		}
		for k, v := range m {
			sum[k] += v
		}
	}
	return sum
}

// NodeFigures are one node's share of a measured window.
type NodeFigures struct {
	CPUPct  float64 `json:"cpu_pct"` // of one core
	RSSKiB  int64   `json:"rss_kib"` // at the end
	WSConns int64   `json:"ws_connections"`
}

// perNode returns each node's figures between two samples (nil for one
// node).
func perNode(s0, s1 ServerSample, wall float64) []NodeFigures {
	if len(s1.Nodes) < 2 || len(s0.Nodes) != len(s1.Nodes) {
		return nil
	}
	out := make([]NodeFigures, len(s1.Nodes))
	for i, b := range s1.Nodes {
		a := s0.Nodes[i]
		f := NodeFigures{CPUPct: -1, RSSKiB: b.RSSKiB, WSConns: b.WSConns}
		if a.CPUSeconds >= 0 && b.CPUSeconds >= 0 {
			f.CPUPct = cpuPct(b.CPUSeconds-a.CPUSeconds, wall)
		}
		out[i] = f
	}
	return out
}

// perNodeLine prints per-node figures on one line.
func perNodeLine(ns []NodeFigures) string {
	var b strings.Builder
	for i, n := range ns {
		if i > 0 {
			b.WriteString(";  ")
		}
		cpu := "n/a"
		if n.CPUPct >= 0 {
			cpu = fmt.Sprintf("%.0f %%", n.CPUPct)
		}
		fmt.Fprintf(&b, "%d: CPU %s, %s, %d conns", i, cpu, kib(n.RSSKiB), n.WSConns)
	}
	return b.String()
}
