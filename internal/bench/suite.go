package bench

import (
	"context"
	"fmt"
	"strings"
)

// step is one scenario run of a suite, with its options adjusted.
type step struct {
	label    string // the issue's name: "S2 latency 1k"
	scenario string
	mod      func(o *Options)
}

// issueSteps maps the performance issue's scenario names (S1..S8) to
// scenarios and their settings.
var issueSteps = map[string][]step{
	"s1": {{"S1 idle 10k", "idle", func(o *Options) { o.Conns = 10_000 }}},
	"s2": {{"S2 latency 1k/s", "latency", func(o *Options) { o.Rate = 1000 }},
		{"S2 latency 5k/s", "latency", func(o *Options) { o.Rate = 5000 }}},
	"s3": {{"S3 throughput ramp", "ramp", nil}},
	"s4": {{"S4 group fan-out", "group-fanout", nil}},
	"s5": {{"S5 sync 1k", "sync", func(o *Options) { o.Missed = 1000 }},
		{"S5 sync 10k", "sync", func(o *Options) { o.Missed = 10_000 }}},
	"s6": {{"S6 history", "history", nil}},
	"s7": {{"S7 reconnect storm", "storm", nil}},
	"s8": {{"S8 room big", "room-big", nil}},
}

// stepsFor expands a scenario name: one of the scenarios, "all" (every
// scenario of the messaging core at its defaults), "suite" (S1..S8) or
// one of S1..S8.
func stepsFor(name string) ([]step, error) {
	switch ln := strings.ToLower(name); {
	case ln == "suite":
		var out []step
		for i := 1; i <= 8; i++ {
			out = append(out, issueSteps[fmt.Sprintf("s%d", i)]...)
		}
		return out, nil
	case ln == "all":
		var out []step
		for _, n := range []string{"throughput", "latency", "idle", "sync", "group-big", "group-fanout", "room-big", "room-overload"} {
			out = append(out, step{label: n, scenario: n})
		}
		return out, nil
	case issueSteps[ln] != nil:
		return issueSteps[ln], nil
	case scenarioFuncs[name] != nil || name == "ramp":
		return []step{{label: name, scenario: name}}, nil
	}
	return nil, fmt.Errorf("unknown scenario %q (want %s)", name, strings.Join(Scenarios, ", "))
}

// RampPoint is one rate of a ramp.
type RampPoint struct {
	Offered    float64 `json:"offered_per_s"`
	Acked      float64 `json:"acked_per_s"`
	Delivered  float64 `json:"delivered_per_s"`
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	NotArrived int64   `json:"not_arrived"`
}

// RampResult is the outcome of the ramp: open-loop latency runs at rising
// rates until p99 passes 50 ms or a message is lost.
type RampResult struct {
	Scenario string      `json:"scenario"`
	Backend  string      `json:"backend"`
	Points   []RampPoint `json:"points"`
	// Best is the highest rate held with p99 ≤ 50 ms and nothing lost
	// (0: none).
	Best   float64 `json:"best_per_s"`
	Stop   string  `json:"stop"` // why the ramp ended
	Plot   string  `json:"plot,omitempty"`
	Errors string  `json:"errors,omitempty"`
}

// rampLimitMS is the ramp's latency limit (p99).
const rampLimitMS = 50

// defaultRates are the ramp's offered rates unless --rates names others.
var defaultRates = []int{1000, 2500, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 40_000}

// runRamp runs the latency scenario at each rate (a fresh server each
// time) until p99 passes rampLimitMS or a message does not arrive, and
// draws the plot if asked.
func runRamp(ctx context.Context, o *Options) (*RampResult, error) {
	rates := o.Rates
	if len(rates) == 0 {
		rates = defaultRates
	}
	r := &RampResult{Scenario: "ramp", Stop: "all rates done"}
	for _, rate := range rates {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		lo := *o
		lo.Rate = rate
		o.logf("ramp: %d msgs/s", rate)
		res, err := runOne(ctx, "latency", &lo)
		lr, _ := res.(*LatencyResult)
		if lr == nil {
			if err == nil {
				err = fmt.Errorf("no result")
			}
			r.Stop = fmt.Sprintf("at %d msgs/s: %v", rate, err)
			break
		}
		r.Backend = lr.Backend
		p := RampPoint{Offered: lr.OfferedPerSec, Acked: lr.AckedPerSec, Delivered: lr.DeliveredPerSec,
			P50: lr.Latency.P50, P99: lr.Latency.P99, Max: lr.Latency.Max, NotArrived: lr.NotArrived}
		r.Points = append(r.Points, p)
		if err != nil {
			r.Stop = fmt.Sprintf("at %d msgs/s: %v", rate, err)
			break
		}
		if p.NotArrived > 0 {
			r.Stop = fmt.Sprintf("at %d msgs/s: %d messages did not arrive", rate, p.NotArrived)
			break
		}
		if p.P99 > rampLimitMS {
			r.Stop = fmt.Sprintf("at %d msgs/s: p99 %.1f ms > %d ms", rate, p.P99, rampLimitMS)
			break
		}
		r.Best = p.Offered
	}
	if o.Plot != "" && len(r.Points) > 0 {
		title := fmt.Sprintf("parley bench ramp (%s): latency vs offered rate", r.Backend)
		if err := writePlot(o.Plot, title, r.Points); err != nil {
			return r, fmt.Errorf("plot: %w", err)
		}
		r.Plot = o.Plot
	}
	printRamp(o, r)
	return r, nil
}

func printRamp(o *Options, r *RampResult) {
	t := &table{title: fmt.Sprintf("ramp (S3) — %s, open loop at rising rates until p99 > %d ms or a loss", r.Backend, rampLimitMS)}
	for _, p := range r.Points {
		t.add(num(p.Offered)+" msgs/s offered", "acked %s/s, p50 %.2f / p99 %.2f / max %.2f ms, %d not arrived",
			num(p.Acked), p.P50, p.P99, p.Max, p.NotArrived)
	}
	t.add("highest rate held", "%s msgs/s", num(r.Best))
	t.add("stopped", "%s", r.Stop)
	if r.Plot != "" {
		t.add("plot", "%s", r.Plot)
	}
	t.print(o.Out)
}
