package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/testutil"
)

// TestMain lets the test binary be its own `bench-worker`,
// `bench-peer-worker` and `bench-relay`: scenarios with worker processes
// start os.Executable() bench-worker, comparisons start os.Executable()
// bench-peer-worker and bench-relay.
func TestMain(m *testing.M) {
	if len(os.Args) > 3 && os.Args[1] == "bench-relay" && os.Args[2] == "--listen" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		if err := RunRelay(ctx, os.Args[3], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == "bench-peer-worker" {
		if err := RunPeerWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == "bench-worker" {
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// smokeGroup runs a group scenario against an in-process SQLite server and
// decodes its one JSON result into res.
func smokeGroup(t *testing.T, scenario string, set func(o *Options), res any) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a server and worker processes")
	}
	srv := servertest.StartBackend(t, "sqlite")
	o := Defaults()
	o.Target = srv.URL
	o.OwnerPassword = servertest.OwnerPassword
	o.TargetDB = filepath.Join(srv.Cfg.DataDir, "parley.db")
	o.JSON = true
	set(&o)
	var out, js bytes.Buffer
	log := &testutil.SyncBuffer{}
	o.Out, o.JSONOut, o.Log = &out, &js, log
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := Run(ctx, scenario, o); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out.String(), log.String())
	}
	var rep struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil || len(rep.Results) != 1 {
		t.Fatalf("JSON report (%v): %s", err, js.String())
	}
	if err := json.Unmarshal(rep.Results[0], res); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	return out.String()
}

// A tiny group-big: every online member gets every timed message once, the
// times are plausible, and storage is one items row per message whatever
// the group's size.
func TestSmokeGroupBig(t *testing.T) {
	var r GroupBigResult
	smokeGroup(t, "group-big", func(o *Options) {
		o.Members, o.Online, o.Messages, o.BatchMessages, o.PerWorker = 50, 20, 3, 40, 10
	}, &r)
	if r.Members != 50 || r.Connected != 19 || r.Workers != 2 || len(r.Runs) != 3 {
		t.Errorf("members %d, connected %d, workers %d, runs %d", r.Members, r.Connected, r.Workers, len(r.Runs))
	}
	if r.Expected != 4*19 || r.Received != r.Expected || r.Missing != 0 || r.Dups != 0 || r.Extra != 0 || r.Dropped != 0 {
		t.Errorf("expected %d, received %d, missing %d, dups %d, extra %d, dropped %d", r.Expected, r.Received, r.Missing,
			r.Dups, r.Extra, r.Dropped)
	}
	for i, run := range r.Runs {
		if run.Got != 19 || run.LastMS <= 0 || run.LastMS > 10_000 || run.P50MS > run.LastMS || run.AckMS <= 0 {
			t.Errorf("message %d: %+v", i, run)
		}
	}
	if len(r.Storage) != 2 {
		t.Fatalf("storage: %+v (%s)", r.Storage, r.StorageNote)
	}
	for _, g := range r.Storage {
		if g.Messages != 40 || g.ItemsPerMsg != 1 || g.OtherRowsPerMsg != 0 || g.TablesPerMsg <= 0 || g.LogicalPerMsg < 0 ||
			g.WrittenPerMsg <= 0 || g.Database != "sqlite" {
			t.Errorf("storage of the %d-member group: %+v", g.Members, g)
		}
	}
	if r.Storage[0].Members != 50 || r.Storage[1].Members != smallGroup {
		t.Errorf("storage groups: %d and %d members", r.Storage[0].Members, r.Storage[1].Members)
	}
}

// A tiny group-fanout: every recipient (senders' connections included) got
// every acknowledged message exactly once, and the rates add up.
func TestSmokeGroupFanout(t *testing.T) {
	var r GroupFanoutResult
	smokeGroup(t, "group-fanout", func(o *Options) {
		o.Members, o.GroupSenders, o.GroupRate, o.PerWorker = 30, 3, 30, 20
		o.Duration, o.Warmup = time.Second, 200*time.Millisecond
	}, &r)
	if r.Connected != 30 || r.Senders != 3 || r.Workers != 2 {
		t.Errorf("connected %d, senders %d, workers %d", r.Connected, r.Senders, r.Workers)
	}
	if r.TotalAcked < 30 || r.Expected != r.TotalAcked*29 || r.Received != r.Expected {
		t.Errorf("acked %d, expected %d, received %d", r.TotalAcked, r.Expected, r.Received)
	}
	if r.Missing != 0 || r.Dups != 0 || r.Extra != 0 || r.Dropped != 0 || len(r.Errors) > 0 || len(r.ConnFailures) > 0 {
		t.Errorf("missing %d, dups %d, extra %d, dropped %d, errors %v, failures %v", r.Missing, r.Dups, r.Extra, r.Dropped,
			r.Errors, r.ConnFailures)
	}
	// 30 msgs/s over 1 s, each to 29 recipients.
	if r.Scheduled != 30 || r.NotSent != 0 || r.Latency.Count != 30*29 || r.DeliveriesPerSec != 30*29 {
		t.Errorf("scheduled %d, not sent %d, measured deliveries %d (%v/s), want %d", r.Scheduled, r.NotSent, r.Latency.Count,
			r.DeliveriesPerSec, 30*29)
	}
	if r.Latency.P50 <= 0 || r.Latency.Max > 10_000 {
		t.Errorf("latency %+v", r.Latency)
	}
}

// A tiny room-big: every member (those added over REST and those that
// joined over the protocol) gets every paced and burst message once, the
// times are plausible, and nothing is shed at this load.
func TestSmokeRoomBig(t *testing.T) {
	var r RoomBigResult
	smokeGroup(t, "room-big", func(o *Options) {
		o.Members, o.Messages, o.Burst, o.Joiners, o.PerWorker = 50, 3, 20, 5, 25
	}, &r)
	if r.Members != 50 || r.Connected != 49 || r.Joined != 5 || r.Workers != 3 || len(r.Runs) != 3 || len(r.ConnFailures) > 0 {
		t.Errorf("members %d, connected %d, joined %d, workers %d, runs %d, failures %v", r.Members, r.Connected, r.Joined,
			r.Workers, len(r.Runs), r.ConnFailures)
	}
	if r.Expected != (1+3+20)*49 || r.Received != r.Expected || r.Missing != 0 || r.Dups != 0 || r.Extra != 0 || r.Dropped != 0 {
		t.Errorf("expected %d, received %d, missing %d, dups %d, extra %d, dropped %d", r.Expected, r.Received, r.Missing,
			r.Dups, r.Extra, r.Dropped)
	}
	for i, run := range r.Runs {
		if run.Got != 49 || run.LastMS <= 0 || run.LastMS > 10_000 || run.P50MS > run.LastMS || run.AckMS <= 0 {
			t.Errorf("paced message %d: %+v", i, run)
		}
	}
	if r.BurstAcked != 20 || r.BurstDeliveries != 20*49 || r.BurstIncomplete != 0 || r.BurstPerSec <= 0 ||
		r.BurstLastMS.Max <= 0 || r.BurstDoneMS < r.BurstLastMS.Min || r.BurstDoneMS > 10_000 || r.JoinMS.Count != 5 {
		t.Errorf("burst: acked %d, deliveries %d (%v/s), incomplete %d, last %+v, done %v ms; joins %+v", r.BurstAcked,
			r.BurstDeliveries, r.BurstPerSec, r.BurstIncomplete, r.BurstLastMS, r.BurstDoneMS, r.JoinMS)
	}
	// The server queued every delivery (the warm-up's too) and shed none.
	if r.Server.Deliveries < float64(r.Expected) || r.Server.Dropped != [3]float64{} || r.SlowConsumerCloses != 0 {
		t.Errorf("server counters %+v, 4008 closes %d", r.Server, r.SlowConsumerCloses)
	}
}

// A tiny room-overload: the members that stop reading lose messages, low
// first and high least, exactly as the server counts them, and nobody is
// disconnected.
func TestSmokeRoomOverload(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("small socket buffers (so that a paused member fills up at once) are set on Linux only")
	}
	var r RoomOverloadResult
	smokeGroup(t, "room-overload", func(o *Options) {
		o.Members, o.PerWorker = 50, 25
	}, &r)
	if r.Slow != 24 || r.Fast != 25 || r.Workers != 2 || r.Acked != defaultOverloadBurst || len(r.Levels) != 3 {
		t.Fatalf("slow %d, fast %d, workers %d, acked %d, levels %d", r.Slow, r.Fast, r.Workers, r.Acked, len(r.Levels))
	}
	low, normal, high := r.Levels[0], r.Levels[1], r.Levels[2]
	if !r.ShedInOrder || low.ServerDropped <= 0 || low.ServerDropped < normal.ServerDropped || normal.ServerDropped < high.ServerDropped {
		t.Errorf("shedding order: low %v, normal %v, high %v", low.ServerDropped, normal.ServerDropped, high.ServerDropped)
	}
	for _, l := range r.Levels {
		if l.Acked != defaultOverloadBurst/3 || float64(l.SlowDropped+l.FastDropped) != l.ServerDropped ||
			l.SlowDelivered+l.SlowDropped != int64(l.Acked*r.Slow) || l.FastDelivered+l.FastDropped != int64(l.Acked*r.Fast) {
			t.Errorf("%s: %+v", l.Level, l)
		}
	}
	// The slow members lose the most; nobody is cut off for room traffic.
	if low.SlowDropped == 0 || low.SlowDropped < low.FastDropped {
		t.Errorf("low dropped at slow members %d, at the others %d", low.SlowDropped, low.FastDropped)
	}
	if r.Unexplained != 0 || r.Dups != 0 || r.Extra != 0 || r.Dropped != 0 || r.SlowConsumerCloses != 0 || r.Server.Closes4008 != 0 {
		t.Errorf("unexplained %d, dups %d, extra %d, dropped %d, 4008 closes %d", r.Unexplained, r.Dups, r.Extra, r.Dropped,
			r.SlowConsumerCloses)
	}
	if r.PausedMS <= 0 || r.PausedMS > float64(maxPause/time.Millisecond)+1000 || r.SentPerSec <= 0 {
		t.Errorf("paused %v ms, sent %v/s", r.PausedMS, r.SentPerSec)
	}
}

// A short throughput run against a real (in-process) server: the whole
// client path works, every acked message is delivered, and the JSON report
// is well formed. Figures are not asserted: this is not a benchmark.
func TestSmokeThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	srv := servertest.StartBackend(t, "sqlite")
	o := Defaults()
	o.Target = srv.URL
	o.OwnerPassword = servertest.OwnerPassword
	o.Duration = time.Second
	o.Warmup = 200 * time.Millisecond
	o.Senders = 4
	o.Window = 8
	o.JSON = true
	var out, js, log bytes.Buffer
	o.Out, o.JSONOut, o.Log = &out, &js, &log
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := Run(ctx, "throughput", o); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out.String(), log.String())
	}
	var rep struct {
		Scenario string             `json:"scenario"`
		Results  []ThroughputResult `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, js.String())
	}
	if len(rep.Results) != 1 {
		t.Fatalf("want 1 result, got %d", len(rep.Results))
	}
	r := rep.Results[0]
	if r.TotalAcked == 0 || r.TotalDelivered != r.TotalAcked || r.Lost != 0 || r.NotDeliveredLive != 0 {
		t.Errorf("acked %d, delivered %d, not live %d, lost %d", r.TotalAcked, r.TotalDelivered, r.NotDeliveredLive, r.Lost)
	}
	if len(r.Errors) > 0 || len(r.ConnFailures) > 0 {
		t.Errorf("errors %v, connection failures %v", r.Errors, r.ConnFailures)
	}
	if !bytes.Contains(out.Bytes(), []byte("delivered (at recipients)")) {
		t.Errorf("no result table:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}
