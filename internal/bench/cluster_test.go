package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/testutil"
)

const (
	testPG   = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	testNATS = "nats://127.0.0.1:4222"
	testS3   = "http://parley:parley-test-secret@127.0.0.1:7070/parley-test"
)

func TestOptions_ValidateCluster(t *testing.T) {
	tests := []struct {
		name string
		set  func(o *Options)
		want string // a part of the error; "" for none
	}{
		{"one node by default", func(o *Options) {}, ""},
		{"nodes 0 means 1", func(o *Options) { o.Nodes = 0 }, ""},
		{"one node on postgres", func(o *Options) { o.DB = testPG }, ""},
		{"one node on postgres with NATS", func(o *Options) { o.DB, o.NATS, o.S3 = testPG, testNATS, testS3 }, ""},
		{"three nodes", func(o *Options) { o.Nodes, o.DB, o.NATS, o.S3 = 3, testPG, testNATS, testS3 }, ""},
		{"localhost services", func(o *Options) {
			o.Nodes, o.DB, o.NATS, o.S3 = 2, "postgres://postgres@localhost/postgres", "nats://localhost:4222",
				"http://a:b@localhost:7070/bucket?region=eu-west-1"
		}, ""},
		{"Unix socket database", func(o *Options) { o.DB = "postgres:///postgres?host=/var/run/postgresql" }, ""},
		{"pprof", func(o *Options) { o.Nodes, o.DB, o.NATS, o.S3, o.Pprof = 3, testPG, testNATS, testS3, "127.0.0.1:6061" }, ""},
		{"nodes without db", func(o *Options) { o.Nodes, o.NATS, o.S3 = 2, testNATS, testS3 }, "--nodes 2 needs --db"},
		{"nodes with PARLEY_DB only", func(o *Options) {
			o.Nodes, o.NATS, o.S3 = 2, testNATS, testS3
			o.Getenv = func(k string) string { return map[string]string{"PARLEY_DB": testPG}[k] }
		}, "--nodes 2 needs --db"},
		{"nodes without NATS", func(o *Options) { o.Nodes, o.DB, o.S3 = 2, testPG, testS3 }, "needs --nats"},
		{"nodes without S3", func(o *Options) { o.Nodes, o.DB, o.NATS = 2, testPG, testNATS }, "needs --s3"},
		{"NATS without db", func(o *Options) { o.NATS, o.S3 = testNATS, testS3 }, "--nats needs --db"},
		{"too many nodes", func(o *Options) { o.Nodes, o.DB, o.NATS, o.S3 = 17, testPG, testNATS, testS3 }, "--nodes must be"},
		{"negative nodes", func(o *Options) { o.Nodes = -1 }, "--nodes must be"},
		{"db not postgres", func(o *Options) { o.DB = "mysql://127.0.0.1/x" }, "--db must be a postgres:// URL"},
		{"remote db", func(o *Options) { o.DB = "postgres://postgres@192.0.2.1:5432/postgres" }, "--db host \"192.0.2.1\" is not a loopback"},
		{"remote NATS", func(o *Options) { o.Nodes, o.DB, o.NATS, o.S3 = 2, testPG, "nats://10.0.0.1:4222", testS3 }, "--nats host"},
		{"one remote NATS of two", func(o *Options) {
			o.Nodes, o.DB, o.NATS, o.S3 = 2, testPG, "nats://127.0.0.1:4222,nats://nats.example.com:4222", testS3
		}, "--nats host"},
		{"NATS not a nats URL", func(o *Options) { o.Nodes, o.DB, o.NATS, o.S3 = 2, testPG, "127.0.0.1:4222", testS3 }, "--nats must be"},
		{"remote S3", func(o *Options) {
			o.Nodes, o.DB, o.NATS, o.S3 = 2, testPG, testNATS, "http://a:b@s3.example.com/bucket"
		}, "--s3 host"},
		{"S3 without credentials", func(o *Options) { o.Nodes, o.DB, o.NATS, o.S3 = 2, testPG, testNATS, "http://127.0.0.1:7070/b" }, "--s3 must be"},
		{"S3 without bucket", func(o *Options) { o.Nodes, o.DB, o.NATS, o.S3 = 2, testPG, testNATS, "http://a:b@127.0.0.1:7070/" }, "--s3 must be"},
		{"remote pprof", func(o *Options) { o.Pprof = "0.0.0.0:6060" }, "--pprof host"},
		{"bad pprof", func(o *Options) { o.Pprof = "6060" }, "--pprof must be"},
		{"several targets", func(o *Options) { o.Target = "http://127.0.0.1:8080, http://127.0.0.1:8081,http://[::1]:8082" }, ""},
		{"one remote target of three", func(o *Options) {
			o.Target = "http://127.0.0.1:8080,http://192.0.2.7:8081,http://127.0.0.1:8082"
		}, "is not a loopback address"},
		{"target named by host name", func(o *Options) { o.Target = "http://127.0.0.1:8080,http://example.com:8081" }, "is not a loopback"},
		{"empty target entry", func(o *Options) { o.Target = "http://127.0.0.1:8080,,http://127.0.0.1:8081" }, "empty entry"},
		{"target twice", func(o *Options) { o.Target = "http://127.0.0.1:8080,http://127.0.0.1:8080/" }, "twice"},
		{"target with a path", func(o *Options) { o.Target = "http://127.0.0.1:8080,http://127.0.0.1:8081/api" }, "without a path"},
		{"nodes with target", func(o *Options) { o.Target, o.Nodes = "http://127.0.0.1:8080", 3 }, "--nodes applies only"},
		{"NATS with target", func(o *Options) { o.Target, o.NATS = "http://127.0.0.1:8080", testNATS }, "apply only to servers the bench starts"},
		{"db with target", func(o *Options) { o.Target, o.DB = "http://127.0.0.1:8080", testPG }, "--db applies only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Defaults()
			o.Getenv = func(string) string { return "" }
			tc.set(&o)
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("no error, want one with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want one with %q", err, tc.want)
			}
		})
	}
}

func TestParseS3(t *testing.T) {
	s, err := parseS3("http://key:sec%2Fret@127.0.0.1:7070/bucket")
	if err != nil {
		t.Fatal(err)
	}
	want := s3Settings{endpoint: "http://127.0.0.1:7070", bucket: "bucket", region: "us-east-1", access: "key", secret: "sec/ret"}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if s, _ := parseS3("https://k:s@localhost/b?region=eu-west-1"); s.region != "eu-west-1" || s.endpoint != "https://localhost" {
		t.Errorf("got %+v", s)
	}
}

func TestSumSamples(t *testing.T) {
	a := ServerSample{RSSKiB: 100, CPUSeconds: 1.5, Goroutines: 10, HeapInuse: 5, StackInuse: 1, WSConns: 3, Batches: 2}
	b := ServerSample{RSSKiB: 200, CPUSeconds: 2, Goroutines: -1, HeapInuse: 7, StackInuse: 2, WSConns: 4, Batches: -1}
	s := sumSamples([]ServerSample{a, b})
	if s.RSSKiB != 300 || s.CPUSeconds != 3.5 || s.Goroutines != -1 || s.HeapInuse != 12 || s.WSConns != 7 || s.Batches != -1 {
		t.Errorf("sum %+v", s)
	}
	s0 := ServerSample{CPUSeconds: 1, Nodes: []ServerSample{{CPUSeconds: 0.5}, {CPUSeconds: 0.5}}}
	s1 := ServerSample{CPUSeconds: 3, Nodes: []ServerSample{{CPUSeconds: 1, RSSKiB: 9, WSConns: 2}, {CPUSeconds: 2, RSSKiB: 8}}}
	ns := perNode(s0, s1, 2)
	if len(ns) != 2 || ns[0].CPUPct != 25 || ns[1].CPUPct != 75 || ns[0].RSSKiB != 9 || ns[0].WSConns != 2 {
		t.Errorf("per node %+v", ns)
	}
	if perNode(a, b, 1) != nil {
		t.Error("per-node figures for one node")
	}
}

// buildParley builds the parley binary: a cluster's nodes are processes.
func buildParley(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/parleyim/parley/cmd/parley")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

// A short throughput run on a two-node cluster the bench starts itself
// (local PostgreSQL, NATS and S3): every acked message crosses from one
// node to the other and is delivered, the clients are spread evenly, the
// server figures come per node, and the run's database is dropped.
func TestSmokeThroughputTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a two-node cluster")
	}
	pg := testutil.PostgresURL(t) // the bench creates its own database from there
	natsURL := testutil.NATSURL(t)
	s3 := testutil.S3Options(t)
	s3URL := (&url.URL{Scheme: "http", User: url.UserPassword(s3.AccessKey, s3.SecretKey),
		Host: strings.TrimPrefix(strings.TrimPrefix(s3.Endpoint, "http://"), "https://"), Path: "/" + s3.Bucket}).String()
	if strings.HasPrefix(s3.Endpoint, "https://") {
		s3URL = "https" + strings.TrimPrefix(s3URL, "http")
	}
	o := Defaults()
	o.ServerBin = buildParley(t)
	o.Nodes, o.DB, o.NATS, o.S3 = 2, pg, natsURL, s3URL
	o.Duration, o.Warmup, o.Senders, o.Window = time.Second, 300*time.Millisecond, 4, 8
	o.JSON = true
	var out, js bytes.Buffer
	log := &testutil.SyncBuffer{}
	o.Out, o.JSONOut, o.Log = &out, &js, log
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := Run(ctx, "throughput", o); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out.String(), log.String())
	}
	var rep struct {
		Results []ThroughputResult `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil || len(rep.Results) != 1 {
		t.Fatalf("JSON report (%v): %s", err, js.String())
	}
	r := rep.Results[0]
	if r.TotalAcked == 0 || r.TotalDelivered != r.TotalAcked || r.Lost != 0 || r.NotDeliveredLive != 0 || r.Duplicates != 0 ||
		r.Reordered != 0 {
		t.Errorf("acked %d, delivered %d, not live %d, lost %d, dups %d, reordered %d", r.TotalAcked, r.TotalDelivered,
			r.NotDeliveredLive, r.Lost, r.Duplicates, r.Reordered)
	}
	if len(r.Errors) > 0 || len(r.ConnFailures) > 0 {
		t.Errorf("errors %v, connection failures %v", r.Errors, r.ConnFailures)
	}
	if r.Backend != "postgres+nats ×2 nodes" || r.Nodes != 2 || len(r.PerNode) != 2 {
		t.Fatalf("backend %q, nodes %d, per node %+v", r.Backend, r.Nodes, r.PerNode)
	}
	// Sender i on node i%2, its recipient on the other: 4 connections each.
	for i, n := range r.PerNode {
		if n.WSConns != 4 || n.CPUPct <= 0 || n.RSSKiB <= 0 {
			t.Errorf("node %d: %+v", i, n)
		}
	}
	if r.ServerRSSKiB != r.PerNode[0].RSSKiB+r.PerNode[1].RSSKiB {
		t.Errorf("RSS %d is not the nodes' sum %+v", r.ServerRSSKiB, r.PerNode)
	}
	// The run's own database is gone.
	m := regexp.MustCompile(`fresh database (parley_bench_[0-9a-f]+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no fresh database in the log:\n%s", log.String())
	}
	db, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", m[1]).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s: %d left (%v)", m[1], n, err)
	}
	t.Logf("\n%s", out.String())
}
