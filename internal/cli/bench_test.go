package cli

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/bench"
)

func TestParseBenchFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		scenario string
		check    func(t *testing.T, scenario string, o bench.Options)
		wantErr  bool
	}{
		{name: "defaults", args: []string{"throughput"}, scenario: "throughput", check: func(t *testing.T, _ string, o bench.Options) {
			if o.Senders != 100 || o.Window != 32 || o.Duration != 10*time.Second || o.Target != "" || o.JSON {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{name: "flags after the scenario", args: []string{"latency", "--rate", "2000", "--json"}, scenario: "latency",
			check: func(t *testing.T, _ string, o bench.Options) {
				if o.Rate != 2000 || !o.JSON {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "flags before and after", args: []string{"--conns", "10000", "idle", "--per-worker", "4000"}, scenario: "idle",
			check: func(t *testing.T, _ string, o bench.Options) {
				if o.Conns != 10000 || o.PerWorker != 4000 {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "target password from env", args: []string{"sync", "--target", "http://127.0.0.1:8080"},
			env: map[string]string{"PARLEY_CONSOLE_OWNER_PASSWORD": "pw-from-env-123"}, scenario: "sync",
			check: func(t *testing.T, _ string, o bench.Options) {
				if o.OwnerPassword != "pw-from-env-123" {
					t.Errorf("owner password %q", o.OwnerPassword)
				}
			}},
		{name: "room flags", args: []string{"room-overload", "--members", "500", "--slow", "100", "--burst", "900"},
			scenario: "room-overload", check: func(t *testing.T, _ string, o bench.Options) {
				if o.Members != 500 || o.Slow != 100 || o.Burst != 900 || o.Joiners != 0 || o.Messages != 0 {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "cluster flags", args: []string{"throughput", "--nodes", "3", "--db", "postgres://postgres@127.0.0.1/postgres",
			"--nats", "nats://127.0.0.1:4222", "--s3", "http://a:b@127.0.0.1:7070/bkt", "--pprof", "127.0.0.1:6061"},
			scenario: "throughput", check: func(t *testing.T, _ string, o bench.Options) {
				if o.Nodes != 3 || o.DB == "" || o.NATS != "nats://127.0.0.1:4222" || o.S3 != "http://a:b@127.0.0.1:7070/bkt" ||
					o.Pprof != "127.0.0.1:6061" {
					t.Errorf("got %+v", o)
				}
				if err := o.Validate(); err != nil {
					t.Error(err)
				}
			}},
		{name: "one node by default", args: []string{"latency"}, scenario: "latency", check: func(t *testing.T, _ string, o bench.Options) {
			if o.Nodes != 1 || o.NATS != "" || o.S3 != "" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "several targets", args: []string{"throughput", "--target", "http://127.0.0.1:8080,http://127.0.0.1:8081"},
			env: map[string]string{"PARLEY_CONSOLE_OWNER_PASSWORD": "pw-from-env-123"}, scenario: "throughput",
			check: func(t *testing.T, _ string, o bench.Options) {
				if o.Target != "http://127.0.0.1:8080,http://127.0.0.1:8081" || o.OwnerPassword != "pw-from-env-123" {
					t.Errorf("got %+v", o)
				}
				if err := o.Validate(); err != nil {
					t.Error(err)
				}
			}},
		{name: "compare", args: []string{"compare", "S4", "--peers", "relay", "--rounds", "3", "--centrifugo", "/opt/cf"},
			scenario: "compare", check: func(t *testing.T, _ string, o bench.Options) {
				if o.Compare != "S4" || o.Rounds != 3 || len(o.Peers) != 1 || o.Peers[0] != "relay" || o.CentrifugoBin != "/opt/cf" {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "compare rounds default", args: []string{"--members", "500", "compare", "S8"}, scenario: "compare",
			check: func(t *testing.T, _ string, o bench.Options) {
				if o.Compare != "S8" || o.Rounds != 2 || o.Peers != nil || o.Members != 500 {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "compare without a scenario", args: []string{"compare"}, wantErr: true},
		{name: "compare with two", args: []string{"compare", "S1", "S2"}, wantErr: true},
		{name: "history and storm flags", args: []string{"S7", "--history-messages", "5000", "--reads", "40", "--storm-conns", "2000",
			"--storm-pairs", "10", "--storm-rate", "100", "--storm-jitter", "500ms", "--storm-for", "1s"}, scenario: "S7",
			check: func(t *testing.T, _ string, o bench.Options) {
				if o.HistoryMessages != 5000 || o.Reads != 40 || o.StormConns != 2000 || o.StormPairs != 10 || o.StormRate != 100 ||
					o.StormJitter != 500*time.Millisecond || o.StormFor != time.Second {
					t.Errorf("got %+v", o)
				}
				if err := o.Validate(); err != nil {
					t.Error(err)
				}
			}},
		{name: "ramp rates and plot", args: []string{"ramp", "--rates", "500, 1000,2000", "--plot", "/tmp/x.png"}, scenario: "ramp",
			check: func(t *testing.T, _ string, o bench.Options) {
				if len(o.Rates) != 3 || o.Rates[0] != 500 || o.Rates[2] != 2000 || o.Plot != "/tmp/x.png" {
					t.Errorf("got %v %q", o.Rates, o.Plot)
				}
			}},
		{name: "bad rates", args: []string{"ramp", "--rates", "500,fast"}, wantErr: true},
		{name: "no scenario", args: []string{"--duration", "1s"}, wantErr: true},
		{name: "two scenarios", args: []string{"sync", "idle"}, wantErr: true},
		{name: "bad flag", args: []string{"sync", "--nope"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scenario, o, err := parseBenchFlags(tc.args, io.Discard, env(tc.env))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if scenario != tc.scenario {
				t.Errorf("scenario %q, want %q", scenario, tc.scenario)
			}
			if tc.check != nil {
				tc.check(t, scenario, o)
			}
		})
	}
}

// Refused before anything starts: remote machines, and clusters that
// would not share their database, bus or files.
func TestBenchRefuses(t *testing.T) {
	const (
		pg   = "postgres://postgres@127.0.0.1:5432/postgres"
		nats = "nats://127.0.0.1:4222"
		s3   = "http://a:b@127.0.0.1:7070/bkt"
	)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"remote target", []string{"--target", "http://192.0.2.1:8080"}, "not a loopback address"},
		{"one remote node of a cluster", []string{"--target", "http://127.0.0.1:8080,http://192.0.2.1:8080"}, "not a loopback address"},
		{"nodes without db", []string{"--nodes", "2", "--nats", nats, "--s3", s3}, "needs --db"},
		{"nodes with PARLEY_DB but no --db", []string{"--nodes", "3", "--nats", nats, "--s3", s3}, "needs --db"},
		{"nodes without NATS", []string{"--nodes", "2", "--db", pg, "--s3", s3}, "needs --nats"},
		{"nodes without S3", []string{"--nodes", "2", "--db", pg, "--nats", nats}, "needs --s3"},
		{"remote database", []string{"--db", "postgres://postgres@192.0.2.1:5432/postgres"}, "not a loopback address"},
		{"remote NATS", []string{"--nodes", "2", "--db", pg, "--nats", "nats://192.0.2.1:4222", "--s3", s3}, "not a loopback address"},
		{"remote S3", []string{"--nodes", "2", "--db", pg, "--nats", nats, "--s3", "http://a:b@192.0.2.1:9000/b"}, "not a loopback address"},
		{"nodes with target", []string{"--target", "http://127.0.0.1:8080", "--nodes", "2"}, "list every node"},
		{"too many nodes", []string{"--nodes", "100", "--db", pg, "--nats", nats, "--s3", s3}, "--nodes must be"},
	}
	// Comparisons refuse what they cannot measure, before starting anything.
	compare := []struct {
		name string
		args []string
		want string
	}{
		{"unknown comparison", []string{"compare", "S3"}, "unknown comparison"},
		{"peer a comparison lacks", []string{"compare", "S2", "--peers", "centrifugo"}, "can be measured against relay"},
		{"too many connections", []string{"compare", "S1", "--conns", "20000"}, "at most 19000"},
		{"rounds", []string{"compare", "S4", "--rounds", "50"}, "--rounds must be"},
		{"nodes", []string{"compare", "S4", "--nodes", "2", "--db", pg, "--nats", nats, "--s3", s3}, "one Parley node"},
	}
	for _, tc := range compare {
		t.Run(tc.name, func(t *testing.T) {
			err := benchCmd(tc.args, io.Discard, io.Discard, func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one with %q", err, tc.want)
			}
		})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"throughput", "--owner-password", "x"}, tc.args...)
			err := benchCmd(args, io.Discard, io.Discard, func(k string) string {
				return map[string]string{"PARLEY_DB": "postgres://postgres@127.0.0.1:5432/postgres"}[k]
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one with %q", err, tc.want)
			}
		})
	}
}
