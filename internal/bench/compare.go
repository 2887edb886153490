package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// `parley bench compare S1|S2|S4|S8` measures one scenario of issue 12
// against Parley and its peers in one run: each round starts every side
// fresh (Parley, the bare relay, Centrifugo), in an order rotated from round
// to round, drives it with the same load code, and the summary gives each
// side's median and the ratio Parley / peer. Senders' connections live in
// the bench process, other members' in worker processes (`parley
// bench-peer-worker`, peerworker.go). With --target the Parley side is that
// running server (a new app per round) instead of a fresh one.

// Connection bounds: S2 holds its connections in the bench process (under
// the 20,000 open files a process may have); S1, S4 and S8 hold all but
// the senders' in worker processes of --per-worker each, but the server
// under test is one process with the same limit.
const (
	maxCompareLocal = 15_000
	maxCompareConns = 19_000
)

// CompareScenarios lists the comparisons and the peers each is measured
// against by default (issue 12: Centrifugo for S1, S4 and S8; the bare
// relay, the ceiling, for S2 and S4).
var CompareScenarios = map[string][]string{
	"S1": {"centrifugo"},          // idle connections
	"S2": {"relay"},               // 1:1 latency
	"S4": {"centrifugo", "relay"}, // group fan-out, 1,000 members online
	"S8": {"centrifugo"},          // chat room of 10,000 members
}

// comparePeersAllowed lists the peers each comparison can run (--peers):
// Centrifugo has no 1:1 sends here (S2 would need a channel per user).
var comparePeersAllowed = map[string][]string{
	"S1": {"centrifugo", "relay"},
	"S2": {"relay"},
	"S4": {"centrifugo", "relay"},
	"S8": {"centrifugo", "relay"},
}

// cmpFigure is one measured figure of one side.
type cmpFigure struct {
	Name        string  `json:"name"`
	Unit        string  `json:"unit"`
	Value       float64 `json:"value"`
	LowerBetter bool    `json:"lower_better"`
}

// CompareRun is one side's measurement in one round.
type CompareRun struct {
	System  string      `json:"system"`
	Round   int         `json:"round"`
	Figures []cmpFigure `json:"figures"`
	Error   string      `json:"error,omitempty"`
}

// CompareRow is a figure's summary: each side's median over the rounds and
// the ratio Parley / peer.
type CompareRow struct {
	Figure      string             `json:"figure"`
	Unit        string             `json:"unit"`
	LowerBetter bool               `json:"lower_better"`
	Median      map[string]float64 `json:"median"`
	Ratio       map[string]float64 `json:"ratio_parley_over"` // by peer; absent when the peer's median is 0
	// RoundRatios is, by peer, Parley / peer within each round (the two
	// measured minutes apart): their spread shows how noisy the machine was.
	RoundRatios map[string][]float64 `json:"round_ratios,omitempty"`
}

// CompareResult is the outcome of `parley bench compare`.
type CompareResult struct {
	Scenario string       `json:"scenario"`
	Title    string       `json:"title"`
	Rounds   int          `json:"rounds"`
	Orders   [][]string   `json:"orders"`
	Runs     []CompareRun `json:"runs"`
	Summary  []CompareRow `json:"summary"`
	Skipped  []string     `json:"skipped,omitempty"`
}

// comparePeers returns the peers of scenario: o.Peers if set (each must be
// one the scenario supports), else its defaults.
func comparePeers(scenario string, o *Options) ([]string, error) {
	def, ok := CompareScenarios[scenario]
	if !ok {
		return nil, fmt.Errorf("unknown comparison %q (want S1, S2, S4 or S8)", scenario)
	}
	if len(o.Peers) == 0 {
		return def, nil
	}
	for _, p := range o.Peers {
		if ok := comparePeersAllowed[scenario]; !slices.Contains(ok, p) {
			return nil, fmt.Errorf("%s can be measured against %s, not %q", scenario, strings.Join(ok, " and "), p)
		}
	}
	return o.Peers, nil
}

// compareSize returns the comparison's connection count and checks it.
func compareSize(scenario string, o *Options) (int, error) {
	n := 0
	switch scenario {
	case "S1":
		n = o.Conns
	case "S2":
		n = 2 * o.Senders
	case "S4":
		n, _ = o.groupSize("group-fanout")
	case "S8":
		n, _ = o.roomSize("room-big")
	}
	if scenario == "S2" && n > maxCompareLocal {
		return n, fmt.Errorf("S2 would hold %d connections in the bench process; at most %d", n, maxCompareLocal)
	}
	if n > maxCompareConns {
		return n, fmt.Errorf("%s would need %d connections to one server process; at most %d (20,000 open files per process)",
			scenario, n, maxCompareConns)
	}
	return n, nil
}

// RunCompare runs one comparison and prints its table.
func RunCompare(ctx context.Context, scenario string, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Nodes > 1 {
		return fmt.Errorf("compare measures one Parley node: --nodes does not apply")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	peers, err := comparePeers(scenario, &o)
	if err != nil {
		return err
	}
	if _, err := compareSize(scenario, &o); err != nil {
		return err
	}
	rounds := max(1, o.Rounds)
	res := &CompareResult{Scenario: scenario, Title: compareTitle(scenario, &o), Rounds: rounds}
	sides := []string{"parley"}
	for _, p := range peers {
		if p == "centrifugo" && centrifugoBin(&o) == "" {
			o.logf("compare: skipping centrifugo: %v", errNoCentrifugo)
			res.Skipped = append(res.Skipped, "centrifugo: "+errNoCentrifugo.Error())
			continue
		}
		sides = append(sides, p)
	}
	mm := startMachineMeter()
	sleepCtx(ctx, time.Second)
	busy := mm.pct()
	fmt.Fprintf(o.Out, "parley bench compare %s — %d CPUs, %s; machine %.0f %% busy before the run\n", scenario,
		runtime.NumCPU(), runtime.Version(), busy)
	var firstErr error
	for r := range rounds {
		order := append(slices.Clone(sides[r%len(sides):]), sides[:r%len(sides)]...)
		res.Orders = append(res.Orders, order)
		for _, name := range order {
			if ctx.Err() != nil {
				break
			}
			o.logf("compare %s: round %d/%d: %s", scenario, r+1, rounds, name)
			figs, err := runCompareSide(ctx, scenario, name, &o)
			run := CompareRun{System: name, Round: r + 1, Figures: figs}
			if err != nil {
				run.Error = err.Error()
				o.logf("compare %s: %s: %v", scenario, name, err)
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", name, err)
				}
			}
			res.Runs = append(res.Runs, run)
		}
	}
	res.Summary = summarize(res.Runs, sides)
	printCompare(o.Out, res, sides)
	return o.finish(ctx, res, firstErr)
}

func compareTitle(scenario string, o *Options) string {
	switch scenario {
	case "S1":
		return fmt.Sprintf("S1 idle connections: %s connections, idle CPU over %s", num(float64(o.Conns)), o.IdleFor)
	case "S2":
		return fmt.Sprintf("S2 1:1 latency: %d pairs, open loop at %s msgs/s, %s measured", o.Senders, num(float64(o.Rate)), o.Duration)
	case "S4":
		m, _ := o.groupSize("group-fanout")
		return fmt.Sprintf("S4 group fan-out: %s members online, %d senders, %s msgs/s, %s measured", num(float64(m)),
			min(o.GroupSenders, m), num(float64(o.GroupRate)), o.Duration)
	case "S8":
		m, b := o.roomSize("room-big")
		return fmt.Sprintf("S8 chat room: %s members online, %d timed messages, then a burst of %d", num(float64(m)),
			o.timedMessages("room-big"), b)
	}
	return scenario
}

// runCompareSide starts one side fresh, measures it and stops it.
func runCompareSide(ctx context.Context, scenario, name string, o *Options) ([]cmpFigure, error) {
	dir, err := os.MkdirTemp("", "parley-compare-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var sys system
	switch name {
	case "parley":
		sys, err = startParleySys(ctx, o)
	case "relay":
		sys, err = startRelaySys(ctx, o, dir)
	case "centrifugo":
		sys, err = startCentrifugoSys(ctx, o, dir)
	default:
		err = fmt.Errorf("unknown side %q", name)
	}
	if err != nil {
		return nil, err
	}
	defer sys.close()
	switch scenario {
	case "S1":
		return cmpIdle(ctx, sys, o)
	case "S2":
		return cmpLatency(ctx, sys, o)
	case "S4":
		return cmpFanout(ctx, sys, o, false)
	default:
		return cmpFanout(ctx, sys, o, true)
	}
}

// --- summary ---

func summarize(runs []CompareRun, sides []string) []CompareRow {
	var rows []CompareRow
	idx := map[string]int{}
	vals := map[string]map[string][]float64{}
	for _, r := range runs {
		for _, f := range r.Figures {
			if _, ok := idx[f.Name]; !ok {
				idx[f.Name] = len(rows)
				rows = append(rows, CompareRow{Figure: f.Name, Unit: f.Unit, LowerBetter: f.LowerBetter,
					Median: map[string]float64{}, Ratio: map[string]float64{}, RoundRatios: map[string][]float64{}})
				vals[f.Name] = map[string][]float64{}
			}
			if f.Value >= 0 {
				vals[f.Name][r.System] = append(vals[f.Name][r.System], f.Value)
			}
		}
	}
	for i := range rows {
		row := &rows[i]
		for _, s := range sides {
			if v := vals[row.Figure][s]; len(v) > 0 {
				row.Median[s] = median(v)
			}
		}
		p, ok := row.Median["parley"]
		for _, s := range sides[1:] {
			if q, okq := row.Median[s]; ok && okq && q != 0 {
				row.Ratio[s] = p / q
			}
		}
	}
	// Within each round.
	byRound := map[int]map[string]map[string]float64{}
	for _, r := range runs {
		if byRound[r.Round] == nil {
			byRound[r.Round] = map[string]map[string]float64{}
		}
		for _, f := range r.Figures {
			if byRound[r.Round][f.Name] == nil {
				byRound[r.Round][f.Name] = map[string]float64{}
			}
			byRound[r.Round][f.Name][r.System] = f.Value
		}
	}
	rounds := make([]int, 0, len(byRound))
	for k := range byRound {
		rounds = append(rounds, k)
	}
	sort.Ints(rounds)
	for i := range rows {
		row := &rows[i]
		for _, k := range rounds {
			v := byRound[k][row.Figure]
			p, ok := v["parley"]
			for _, s := range sides[1:] {
				if q, okq := v[s]; ok && okq && p >= 0 && q > 0 {
					row.RoundRatios[s] = append(row.RoundRatios[s], p/q)
				}
			}
		}
	}
	return rows
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtFig(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e15:
		return num(v)
	case v >= 1000:
		return num(v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func printCompare(w io.Writer, r *CompareResult, sides []string) {
	fmt.Fprintf(w, "\n%s\n%s\n", r.Title, strings.Repeat("-", len(r.Title)))
	for i, o := range r.Orders {
		fmt.Fprintf(w, "round %d order: %s\n", i+1, strings.Join(o, ", "))
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped: %s\n", s)
	}
	for _, run := range r.Runs {
		if run.Error != "" {
			fmt.Fprintf(w, "round %d %s: %s\n", run.Round, run.System, run.Error)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "figure (median of " + strconv.Itoa(r.Rounds) + ")\t"
	for _, s := range sides {
		head += s + "\t"
	}
	for _, s := range sides[1:] {
		head += "parley/" + s + "\t"
	}
	fmt.Fprintln(tw, head)
	for _, row := range r.Summary {
		name := row.Figure
		if row.Unit != "" {
			name += " (" + row.Unit + ")"
		}
		line := name + "\t"
		for _, s := range sides {
			if v, ok := row.Median[s]; ok {
				line += fmtFig(v) + "\t"
			} else {
				line += "n/a\t"
			}
		}
		for _, s := range sides[1:] {
			if v, ok := row.Ratio[s]; ok {
				line += fmt.Sprintf("%.2f×\t", v)
			} else {
				line += "–\t"
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}
