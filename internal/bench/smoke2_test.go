package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/testutil"
)

// A tiny history (S6): the conversation holds every message, every page
// read came back whole and in order (the scenario checks each), and the
// query plans use the conversation's index.
func TestSmokeHistory(t *testing.T) {
	var r HistoryResult
	smokeGroup(t, "history", func(o *Options) { o.HistoryMessages, o.Reads = 500, 30 }, &r)
	if r.Messages != 500 || r.Reads != 30 || r.PageSize != historyPage || r.FillPerSec <= 0 {
		t.Errorf("messages %d, reads %d, page %d, fill %v/s", r.Messages, r.Reads, r.PageSize, r.FillPerSec)
	}
	if r.History.Count != 30 || r.Pull.Count != 30 || r.History.P50 <= 0 || r.History.Max > 10_000 {
		t.Errorf("history %+v, pull %+v", r.History, r.Pull)
	}
	for _, name := range []string{"history (backward)", "pull (forward)"} {
		if p := r.Plans[name]; !bytes.Contains([]byte(p), []byte("USING INDEX")) {
			t.Errorf("plan of %s: %q", name, p)
		}
	}
}

// A tiny storm (S7): every connection, idle (in worker processes) or
// sending, came back after the drop, and every acknowledged message was
// applied once by its recipient after the resync.
func TestSmokeStorm(t *testing.T) {
	var r StormResult
	smokeGroup(t, "storm", func(o *Options) {
		o.StormConns, o.StormPairs, o.StormRate, o.PerWorker = 60, 5, 50, 25
		o.StormJitter, o.StormFor = 300*time.Millisecond, 600*time.Millisecond
	}, &r)
	if r.Conns != 60 || r.Reconnected != 60 || r.Failed != 0 || r.Workers != 2 || r.ConnectsPerS <= 0 || r.Connects.Count != 60 {
		t.Errorf("conns %d, back %d, failed %d, workers %d, %v connects/s, connect times %d", r.Conns, r.Reconnected, r.Failed,
			r.Workers, r.ConnectsPerS, r.Connects.Count)
	}
	if r.Acked == 0 || r.Delivered < r.Acked || r.Lost != 0 || r.Twice != 0 {
		t.Errorf("acked %d, delivered %d, lost %d, twice %d", r.Acked, r.Delivered, r.Lost, r.Twice)
	}
}

// A tiny ramp (S3, through its issue name) with a plot: one result per
// rate, and a PNG of the plot's size.
func TestSmokeRampPlot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	srv := servertest.StartBackend(t, "sqlite")
	o := Defaults()
	o.Target = srv.URL
	o.OwnerPassword = servertest.OwnerPassword
	o.Duration, o.Warmup, o.Senders = 500*time.Millisecond, 100*time.Millisecond, 4
	o.Rates = []int{40, 80}
	o.Plot = filepath.Join(t.TempDir(), "ramp.png")
	o.JSON = true
	var out, js bytes.Buffer
	log := &testutil.SyncBuffer{}
	o.Out, o.JSONOut, o.Log = &out, &js, log
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := Run(ctx, "S3", o); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out.String(), log.String())
	}
	var rep struct {
		Steps   []string     `json:"steps"`
		Results []RampResult `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil || len(rep.Results) != 1 {
		t.Fatalf("JSON report (%v): %s", err, js.String())
	}
	r := rep.Results[0]
	if rep.Steps[0] != "S3 throughput ramp" || len(r.Points) != 2 || r.Best != 80 || r.Plot != o.Plot {
		t.Errorf("steps %v, points %+v, best %v, plot %q, stop %q", rep.Steps, r.Points, r.Best, r.Plot, r.Stop)
	}
	f, err := os.Open(o.Plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != plotW || cfg.Height != plotH {
		t.Errorf("plot: %v, %dx%d", err, cfg.Width, cfg.Height)
	}
}

// The names expand to the right scenarios and settings.
func TestStepsFor(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"S2", []string{"latency", "latency"}},
		{"s5", []string{"sync", "sync"}},
		{"S6", []string{"history"}},
		{"storm", []string{"storm"}},
		{"ramp", []string{"ramp"}},
		{"suite", []string{"idle", "latency", "latency", "ramp", "group-fanout", "sync", "sync", "history", "storm", "room-big"}},
		{"nope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, err := stepsFor(tt.name)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("want an error, got %v", steps)
				}
				return
			}
			if err != nil || len(steps) != len(tt.want) {
				t.Fatalf("%v: %v", err, steps)
			}
			for i, s := range steps {
				if s.scenario != tt.want[i] {
					t.Errorf("step %d: %s, want %s", i, s.scenario, tt.want[i])
				}
			}
		})
	}
	steps, _ := stepsFor("S2")
	o := Defaults()
	steps[1].mod(&o)
	if o.Rate != 5000 {
		t.Errorf("S2's second step runs at %d msgs/s", o.Rate)
	}
}
