package bench

import (
	"strings"
	"testing"
	"time"
)

func TestParseProc(t *testing.T) {
	status := "Name:\tparley\nVmPeak:\t  100 kB\nVmRSS:\t   41234 kB\nThreads:\t9\n"
	if v, err := parseVmRSS(strings.NewReader(status)); err != nil || v != 41234 {
		t.Errorf("VmRSS = %d, %v", v, err)
	}
	if _, err := parseVmRSS(strings.NewReader("Name: x\n")); err == nil {
		t.Error("missing VmRSS must fail")
	}
	tests := []struct {
		line string
		want float64
		ok   bool
	}{
		{"3028 (parley) S 1 3028 1 0 -1 4194560 1 0 0 0 250 31 0 0 20 0 9 0 100 0 0", 2.81, true},
		{"3028 (par ley) (x) R 1 3028 1 0 -1 4194560 1 0 0 0 7 3 0 0 20 0 9 0 100 0 0", 0.10, true},
		{"3028 parley S 1", 0, false},
		{"3028 (parley) S 1 2 3", 0, false},
	}
	for _, tc := range tests {
		got, err := parseStatCPU(tc.line)
		if (err == nil) != tc.ok || (tc.ok && (got < tc.want-1e-9 || got > tc.want+1e-9)) {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v", tc.line, got, err, tc.want)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	m := parseMetrics(strings.NewReader(`# HELP go_goroutines x
# TYPE go_goroutines gauge
go_goroutines 1042
process_resident_memory_bytes 4.194304e+07
parley_ws_closes_total{code="4008"} 3
parley_ws_closes_total{code="4009"} 2
`))
	if m["go_goroutines"] != 1042 || m["process_resident_memory_bytes"] != 41943040 {
		t.Errorf("gauges: %v", m)
	}
	if metricOr(m, `parley_ws_closes_total{code="4008"}`, 0) != 3 || m["parley_ws_closes_total{*}"] != 5 {
		t.Errorf("labelled: %v", m)
	}
	if metricOr(m, "missing", -1) != -1 {
		t.Error("missing metric must give the default")
	}
}

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		target string
		ok     bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.3.4.5:8080/", true},
		{"http://[::1]:8080", true},
		{"https://127.0.0.1:8443", true},
		{"http://localhost:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://192.168.1.2:8080", false},
		{"http://example.com:8080", false},
		{"http://[::2]:8080", false},
		{"http://0.0.0.0:8080", false},
		{"ws://127.0.0.1:8080", false},
		{"127.0.0.1:8080", false},
		{"http://127.0.0.1:8080/api", false},
	}
	for _, tc := range tests {
		_, err := isLoopbackURL(tc.target)
		if (err == nil) != tc.ok {
			t.Errorf("isLoopbackURL(%q) error = %v, want ok=%v", tc.target, err, tc.ok)
		}
	}
}

func TestSourceFor(t *testing.T) {
	tests := []struct {
		w, perWorker, perSource int
		want                    string
	}{
		{0, 5000, 25000, "127.0.0.1"},
		{4, 5000, 25000, "127.0.0.1"},
		{5, 5000, 25000, "127.0.0.2"},
		{11, 5000, 25000, "127.0.0.3"},
		{1, 15000, 25000, "127.0.0.2"}, // never 30,000 from one source
		{3, 30000, 25000, "127.0.0.4"},
	}
	for _, tc := range tests {
		if got := sourceFor(tc.w, tc.perWorker, tc.perSource); got != tc.want {
			t.Errorf("sourceFor(%d, %d, %d) = %s, want %s", tc.w, tc.perWorker, tc.perSource, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	o := Defaults()
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := []func(*Options){
		func(o *Options) { o.Target = "http://10.1.2.3:8080" },
		func(o *Options) { o.Target = "http://127.0.0.1:1"; o.DB = "postgres://x" },
		func(o *Options) { o.DB = "mysql://x" },
		func(o *Options) { o.Rate = 0 },
		func(o *Options) { o.PerWorker = 20000 },
		func(o *Options) { o.Convs = 2000 },
		func(o *Options) { o.Duration = 2 * maxPaceDuration },
		func(o *Options) { o.Members = 10_001 },
		func(o *Options) { o.Members = 100; o.Online = 101 },
		func(o *Options) { o.Messages = maxTimed + 1 },
		func(o *Options) { o.GroupRate = 0 },
		func(o *Options) { o.Burst = -1 },
		func(o *Options) { o.Members = 50; o.Slow = 49 },
		func(o *Options) { o.Members = 50; o.Joiners = 49 },
		func(o *Options) { o.HistoryMessages = 99 },
		func(o *Options) { o.Reads = 0 },
		func(o *Options) { o.StormConns = 150 }, // fewer than the 100 pairs' 200
		func(o *Options) { o.StormPairs = 0 },
		func(o *Options) { o.StormRate = 0 },
		func(o *Options) { o.StormJitter = -time.Second },
		func(o *Options) { o.StormFor = 0 },
		func(o *Options) { o.Rates = []int{1000, 0} },
		func(o *Options) { o.TargetDB = "/tmp/parley.db" }, // without --target
		func(o *Options) {
			o.Target = "http://127.0.0.1:1"
			o.OwnerPassword = "x"
			o.TargetDB = "postgres://u@10.0.0.5/db"
		},
	}
	for i, f := range bad {
		o := Defaults()
		f(&o)
		if o.Validate() == nil {
			t.Errorf("case %d: want an error", i)
		}
	}
}

func TestParseMachineCPU(t *testing.T) {
	busy, total, ok := parseMachineCPU("cpu  100 5 50 800 45 0 10 0 7 0\ncpu0 1 2 3 4\n")
	if !ok || busy != 165 || total != 1010 {
		t.Errorf("busy %d total %d ok %v", busy, total, ok)
	}
	if _, _, ok := parseMachineCPU("intr 1 2 3\n"); ok {
		t.Error("want failure")
	}
}

func TestCommitsBetween(t *testing.T) {
	a := ServerSample{Batches: 10, BatchRequests: 100, BatchSeconds: 1}
	b := ServerSample{Batches: 110, BatchRequests: 4100, BatchSeconds: 3}
	g := commitsBetween(a, b, 4)
	if g == nil || g.Batches != 100 || g.MeanSize != 40 || g.MeanMS != 20 || g.BusyShare != 50 {
		t.Errorf("got %+v", g)
	}
	if commitsBetween(ServerSample{Batches: -1}, b, 4) != nil || commitsBetween(a, a, 4) != nil {
		t.Error("no metrics or no commits must give nil")
	}
	if s := (*groupCommit)(nil).String(); !strings.Contains(s, "n/a") {
		t.Errorf("nil: %q", s)
	}
}

func TestLoopbackDB(t *testing.T) {
	for _, ok := range []string{"/tmp/data/parley.db", "postgres://postgres@127.0.0.1:5432/x?sslmode=disable",
		"postgresql://u@localhost/db", "postgres://u@[::1]:5432/db", "postgres:///db?host=/var/run/postgresql"} {
		if err := loopbackDB(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"postgres://u@db.example.com/db", "postgres://u@10.0.0.5:5432/db", "postgres:///db?host=10.1.1.1"} {
		if loopbackDB(bad) == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}
