package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
)

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
