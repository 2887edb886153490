package cli

import (
	"io"
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

func TestBenchRefusesRemoteTarget(t *testing.T) {
	err := benchCmd([]string{"throughput", "--target", "http://192.0.2.1:8080", "--owner-password", "x"}, io.Discard, io.Discard,
		func(string) string { return "" })
	if err == nil {
		t.Fatal("a non-loopback target must be refused")
	}
}
