// Package bench is `parley bench`: a load tool that measures the messaging
// core of a Parley server over the raw WebSocket protocol. By default it
// starts the server itself as a child process on loopback (a temp data dir,
// SQLite, or a fresh database on the given PostgreSQL server), creates an
// app over the management API, registers its users, runs one scenario and
// reports client-side figures beside the server's CPU and memory read from
// /proc. With --nodes N it starts N server processes sharing PostgreSQL,
// NATS and S3 (a cluster) and spreads the clients over them, so that a
// message's sender and recipients sit on different nodes. Connections for
// the idle scenario live in worker processes, since one process may hold
// only so many sockets. Every loop is bounded in count and time, and every
// child process, temp dir and database it created is cleaned up.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Options configure a run. Zero values take the defaults of Defaults().
type Options struct {
	// Target is a running server (http://127.0.0.1:PORT), or the nodes of a
	// running cluster, comma-separated; empty: start the server (or the
	// Nodes) here.
	Target string
	// OwnerUser and OwnerPassword sign in to the management API.
	OwnerUser     string
	OwnerPassword string
	// DB names a PostgreSQL server (a postgres:// URL) on which the bench
	// creates a fresh database for each scenario it starts servers for,
	// and drops it after; the URL's own database is only connected to for
	// CREATE and DROP DATABASE.
	DB string
	// Nodes is how many server processes to start (1: one server, as
	// without a cluster). More than one needs DB, NATS and S3.
	Nodes int
	// NATS is the NATS server (nats://127.0.0.1:4222) the started nodes
	// share, each run under a subject prefix of its own. Set with one
	// node, it runs that node in cluster mode, to show the bus's cost.
	NATS string
	// S3 is the object store the started nodes share, as
	// http://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET (path style; optional
	// ?region=R); each run uses a key prefix of its own.
	S3 string
	// Pprof, as HOST:PORT, makes started node i serve Go's pprof profiles
	// on HOST:PORT+i (the server's debug.listen).
	Pprof string
	// ServerBin is the parley binary to start; empty: this executable.
	ServerBin string
	// ServerEnv is extra environment (KEY=VALUE) for a started server.
	ServerEnv []string

	Duration  time.Duration // throughput, latency: measured time
	Warmup    time.Duration // throughput, latency: unmeasured lead-in
	Senders   int           // throughput, latency: sender connections
	Window    int           // throughput: unacknowledged sends per sender
	Rate      int           // latency: offered messages per second
	BodyBytes int           // message text length
	Conns     int           // idle: connections
	PerWorker int           // idle: connections per worker process
	IdleFor   time.Duration // idle: how long CPU is measured while idle
	Missed    int           // sync: messages waiting for the recipient
	Convs     int           // sync: conversations they are spread over
	// FillDevices is how many devices of each sender fill its
	// conversation at once (sync).
	FillDevices int
	Repeat      int // sync: measurements per kind

	// Group scenarios. Members and Online are 0 for the scenario's default
	// (group-big: 10,000 and 2,000; group-fanout: 1,000, all online).
	Members       int
	Online        int
	Messages      int // group-big, room-big: timed messages, one at a time (0: 20 and 10)
	BatchMessages int // group-big: messages per storage batch (0: no storage figures)
	GroupRate     int // group-fanout: offered messages per second, all senders together
	GroupSenders  int // group-fanout: members sending
	// TargetDB is the --target server's database, for the storage figures
	// of group-big: its SQLite file or a postgres:// URL.
	TargetDB string

	// Chat room scenarios (0: the scenario's default).
	Burst   int // room-big: messages pipelined at once (100); room-overload: messages sent (3,000)
	Slow    int // room-overload: members that stop reading during the burst (half)
	Joiners int // room-big: members that join over the protocol instead of being added (100)

	// Comparisons (parley bench compare): rounds, each side started fresh
	// once per round in a rotated order; the peers (default: the
	// scenario's, see CompareScenarios); the centrifugo binary (default:
	// found by centrifugoBin).
	Compare       string // the comparison (S1, S2, S4, S8)
	Rounds        int
	Peers         []string
	CentrifugoBin string
	// History scenario (S6).
	HistoryMessages int // messages in the conversation read
	Reads           int // timed page reads of each kind

	// Storm scenario (S7).
	StormConns  int           // connections in all
	StormPairs  int           // sender/recipient pairs exchanging messages (their connections count in Conns)
	StormRate   int           // messages per second over all pairs
	StormJitter time.Duration // reconnects are spread over this
	StormFor    time.Duration // steady traffic before and after the drop

	// Ramp (S3): the offered rates (empty: defaultRates), and a PNG file
	// to draw p50 and p99 against them in.
	Rates []int
	Plot  string

	JSON bool // print a JSON document of the results to JSONOut

	Out     io.Writer // result tables
	JSONOut io.Writer // JSON results
	Log     io.Writer // progress
	Getenv  func(string) string
}

// Defaults returns the documented defaults.
func Defaults() Options {
	return Options{
		OwnerUser:   "owner",
		Duration:    10 * time.Second,
		Warmup:      2 * time.Second,
		Senders:     100,
		Window:      32,
		Rate:        5000,
		BodyBytes:   64,
		Conns:       1000,
		PerWorker:   5000,
		IdleFor:     10 * time.Second,
		Missed:      1000,
		Convs:       10,
		FillDevices: 1,
		Repeat:      3,
		Nodes:       1,

		HistoryMessages: 1_000_000,
		Reads:           1000,
		StormConns:      10_000,
		StormPairs:      100,
		StormRate:       500,
		StormJitter:     2 * time.Second,
		StormFor:        3 * time.Second,

		BatchMessages: 1000,
		GroupRate:     110,
		GroupSenders:  10,
		Rounds:        2,
	}
}

// groupSize returns a group scenario's member count and online members.
func (o *Options) groupSize(scenario string) (members, online int) {
	members, online = o.Members, o.Online
	switch scenario {
	case "group-big":
		if members == 0 {
			members = 10_000
		}
		if online == 0 {
			online = min(2000, members)
		}
	default:
		if members == 0 {
			members = 1000
		}
		if online == 0 {
			online = members
		}
	}
	return members, min(online, members)
}

// timedMessages is group-big's and room-big's --messages.
func (o *Options) timedMessages(scenario string) int {
	switch {
	case o.Messages > 0:
		return o.Messages
	case scenario == "room-big":
		return 10
	}
	return 20
}

// roomSize returns a chat room scenario's members (the sender included,
// all connected) and its burst.
func (o *Options) roomSize(scenario string) (members, burst int) {
	members, burst = o.Members, o.Burst
	switch scenario {
	case "room-big":
		if members == 0 {
			members = 10_000
		}
		if burst == 0 {
			burst = 100
		}
	default:
		if members == 0 {
			members = defaultOverloadMembers
		}
		if burst == 0 {
			burst = defaultOverloadBurst
		}
	}
	return members, burst
}

func (o *Options) ownerUser() string {
	if o.OwnerUser == "" {
		return "owner"
	}
	return o.OwnerUser
}

func (o *Options) getenv(k string) string {
	if o.Getenv == nil {
		return os.Getenv(k)
	}
	return o.Getenv(k)
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "bench: "+format+"\n", args...)
	}
}

// Scenarios lists the scenario names.
var Scenarios = []string{"throughput", "latency", "idle", "sync", "group-big", "group-fanout", "room-big", "room-overload", "history", "storm", "ramp", "all", "suite", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"}

// Validate checks the options.
func (o *Options) Validate() error {
	var bad []string
	check := func(ok bool, msg string) {
		if !ok {
			bad = append(bad, msg)
		}
	}
	check(o.Duration > 0 && o.Duration <= maxPaceDuration, "--duration must be in (0, 1h]")
	check(o.Warmup >= 0 && o.Warmup <= 10*time.Minute, "--warmup must be in [0, 10m]")
	check(o.Senders >= 1 && o.Senders <= 5000, "--senders must be 1..5000")
	check(o.Window >= 1 && o.Window <= 1024, "--window must be 1..1024")
	check(o.Rate >= 1 && o.Rate <= maxPaceRate, fmt.Sprintf("--rate must be 1..%d", maxPaceRate))
	check(o.BodyBytes >= 1 && o.BodyBytes <= 4000, "--body-bytes must be 1..4000")
	check(o.Conns >= 1 && o.Conns <= 100_000, "--conns must be 1..100000")
	check(o.PerWorker >= 1 && o.PerWorker <= 15_000, "--per-worker must be 1..15000 (20,000 open files per process)")
	check(o.IdleFor > 0 && o.IdleFor <= 10*time.Minute, "--idle-for must be in (0, 10m]")
	check(o.Missed >= 1 && o.Missed <= 1_000_000, "--missed must be 1..1000000")
	check(o.Convs >= 1 && o.Convs <= 1000 && o.Convs <= o.Missed, "--convs must be 1..1000 and at most --missed")
	check(o.FillDevices >= 1 && o.FillDevices <= 4, "--fill-devices must be 1..4 (the default device limit)")
	check(o.Repeat >= 1 && o.Repeat <= 100, "--repeat must be 1..100")
	check(o.Members == 0 || o.Members >= 2 && o.Members <= 10_000, "--members must be 2..10000 (the server's maxusers limit)")
	check(o.Online == 0 || o.Online >= 2 && (o.Members == 0 || o.Online <= o.Members) && o.Online <= 100_000,
		"--online must be at least 2 and at most --members")
	check(o.Messages >= 0 && o.Messages <= maxTimed, fmt.Sprintf("--messages must be 1..%d", maxTimed))
	check(o.BatchMessages >= 0 && o.BatchMessages <= 100_000, "--batch-messages must be 0..100000")
	check(o.GroupRate >= 1 && o.GroupRate <= 100_000, "--group-rate must be 1..100000")
	check(o.GroupSenders >= 1 && o.GroupSenders <= 1000, "--group-senders must be 1..1000")
	check(o.Burst >= 0 && o.Burst <= 300_000, "--burst must be 1..300000")
	check(o.Slow >= 0 && (o.Members == 0 || o.Slow < o.Members-1), "--slow must be fewer than the members but the sender")
	check(o.Joiners >= 0 && (o.Members == 0 || o.Joiners < o.Members-1), "--joiners must be fewer than the members but the sender")
	check(o.Rounds >= 0 && o.Rounds <= 20, "--rounds must be 1..20")
	check(o.HistoryMessages >= 2*historyPage && o.HistoryMessages <= 10_000_000, "--history-messages must be 100..10000000")
	check(o.Reads >= 1 && o.Reads <= 1_000_000, "--reads must be 1..1000000")
	check(o.StormPairs >= 1 && o.StormPairs <= 2000, "--storm-pairs must be 1..2000")
	check(o.StormConns >= 2*o.StormPairs && o.StormConns <= 100_000, "--storm-conns must be at least twice --storm-pairs and at most 100000")
	check(o.StormRate >= 1 && o.StormRate <= 100_000, "--storm-rate must be 1..100000")
	check(o.StormJitter >= 0 && o.StormJitter <= time.Minute, "--storm-jitter must be in [0, 1m]")
	check(o.StormFor > 0 && o.StormFor <= 10*time.Minute, "--storm-for must be in (0, 10m]")
	for _, r := range o.Rates {
		check(r >= 1 && r <= maxPaceRate, fmt.Sprintf("--rates must be 1..%d each", maxPaceRate))
	}
	if o.TargetDB != "" {
		check(o.Target != "", "--target-db applies only with --target")
		if err := loopbackDB(o.TargetDB); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if o.Target != "" {
		if _, err := targetURLs(o.Target); err != nil {
			bad = append(bad, err.Error())
		}
		check(o.DB == "", "--db applies only to servers the bench starts, not to --target")
		check(o.Nodes <= 1, "--nodes applies only to servers the bench starts; with --target, list every node: --target URL1,URL2,...")
		check(o.NATS == "" && o.S3 == "" && o.Pprof == "", "--nats, --s3 and --pprof apply only to servers the bench starts, not to --target")
	}
	bad = append(bad, o.validateCluster()...)
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// Report is the JSON document of a run.
type Report struct {
	Scenario  string    `json:"scenario"`
	Started   time.Time `json:"started"`
	CPUs      int       `json:"cpus"`
	GoVersion string    `json:"go_version"`
	// BackgroundCPUPct is how busy the machine was (all cores) in the
	// second before the run: other processes skew the figures.
	BackgroundCPUPct float64 `json:"background_cpu_pct"`
	Results          []any   `json:"results"`
	// Steps names each result: the scenario, or the S1..S8 name.
	Steps []string `json:"steps"`
}

// Run runs one scenario (or "all") and prints its results.
func Run(ctx context.Context, scenario string, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	rep := &Report{Scenario: scenario, Started: time.Now().UTC(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	steps, err := stepsFor(scenario)
	if err != nil {
		return err
	}
	// Other work on the machine skews every figure: measure it first.
	mm := startMachineMeter()
	sleepCtx(ctx, time.Second)
	rep.BackgroundCPUPct = mm.pct()
	if rep.BackgroundCPUPct > 15 {
		o.logf("WARNING: the machine is %.0f %% busy before the run (other processes): figures will be noisy", rep.BackgroundCPUPct)
	}
	fmt.Fprintf(o.Out, "parley bench %s — %d CPUs, %s; machine %.0f %% busy before the run\n", scenario, rep.CPUs,
		rep.GoVersion, rep.BackgroundCPUPct)
	var firstErr error
	for _, st := range steps {
		if ctx.Err() != nil {
			break
		}
		so := o
		if st.mod != nil {
			st.mod(&so)
		}
		if len(steps) > 1 {
			fmt.Fprintf(o.Out, "\n== %s ==\n", st.label)
		}
		var res any
		var err error
		if st.scenario == "ramp" {
			var rr *RampResult
			rr, err = runRamp(ctx, &so)
			if rr != nil {
				res = rr
			}
		} else {
			res, err = runOne(ctx, st.scenario, &so)
		}
		if res != nil {
			rep.Results = append(rep.Results, res)
			rep.Steps = append(rep.Steps, st.label)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", st.label, err)
			if firstErr == nil {
				firstErr = err
			}
			o.logf("%v", err)
		}
	}
	return o.finish(ctx, rep, firstErr)
}

// finish ends a run: it prints the report as JSON when asked, and returns
// the first error, or the context's if the run was cut short.
func (o *Options) finish(ctx context.Context, report any, firstErr error) error {
	if o.JSON && o.JSONOut != nil {
		enc := json.NewEncoder(o.JSONOut)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

type scenarioFunc func(ctx context.Context, e *env) (any, error)

var scenarioFuncs = map[string]scenarioFunc{
	"throughput":    runThroughput,
	"latency":       runLatency,
	"idle":          runIdle,
	"sync":          runSync,
	"group-big":     runGroupBig,
	"group-fanout":  runGroupFanout,
	"room-big":      runRoomBig,
	"room-overload": runRoomOverload,
	"history":       runHistory,
	"storm":         runStorm,
}

func runOne(ctx context.Context, name string, o *Options) (any, error) {
	o.logf("%s: starting server and app", name)
	e, err := startEnv(ctx, o)
	if err != nil {
		return nil, err
	}
	defer e.close()
	for i, srv := range e.srvs {
		o.logf("%s: server pid %d at %s (%s, data %s)", name, srv.pid(), e.bases[i], e.backend, e.tmp)
	}
	if e.db != "" {
		o.logf("%s: fresh database %s (dropped at the end)", name, dbName(e.db))
	}
	res, err := scenarioFuncs[name](ctx, e)
	for i, srv := range e.srvs {
		if lines := srv.errorLines(5); len(lines) > 0 {
			o.logf("%s: server %d logged warnings/errors, first ones:\n  %s", name, i, strings.Join(lines, "\n  "))
		}
	}
	return res, err
}

// table prints a titled two-column table.
type table struct {
	title string
	rows  [][2]string
}

func (t *table) add(k, format string, args ...any) {
	t.rows = append(t.rows, [2]string{k, fmt.Sprintf(format, args...)})
}

func (t *table) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n%s\n", t.title, strings.Repeat("-", len(t.title)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	tw.Flush()
}

// num formats n with thousands separators.
func num(n float64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// verdict says whether a target is met.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func kib(v int64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s KiB", num(float64(v)))
}

func fmtMS(v float64) string { return fmt.Sprintf("%.2f ms", v) }

// cpuPct is CPU seconds over wall time, as a percentage of one core.
func cpuPct(cpu, wall float64) float64 {
	if cpu < 0 || wall <= 0 {
		return -1
	}
	return 100 * cpu / wall
}

func pct(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f %% of one core", v)
}

func machinePct(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f %% of %d cores", v, runtime.NumCPU())
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
