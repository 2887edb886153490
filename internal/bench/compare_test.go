package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/testutil"
)

// TestSmokeCompare runs every comparison at a tiny size against an
// in-process Parley (--target) and each peer: the relay always, Centrifugo
// when it is installed (scripts/peers.sh; required with
// PARLEY_REQUIRE_CENTRIFUGO=1). Every side delivers everything, the figures
// are there for every side, and the summary has the ratio Parley / peer.
func TestSmokeCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	tests := []struct {
		scenario string
		peer     string
		rounds   int
		set      func(o *Options)
		figure   string // a figure that must be positive on every side
	}{
		{"S1", "relay", 1, func(o *Options) { o.Conns, o.IdleFor = 20, 300*time.Millisecond }, "connect rate"},
		{"S2", "relay", 1, func(o *Options) { o.Senders, o.Rate = 3, 100 }, "deliveries"},
		{"S4", "relay", 2, func(o *Options) { o.Members, o.GroupSenders, o.GroupRate = 12, 2, 40 }, "deliveries"},
		{"S8", "relay", 1, func(o *Options) { o.Members, o.Messages, o.Burst = 15, 2, 10 }, "burst deliveries"},
		{"S1", "centrifugo", 1, func(o *Options) { o.Conns, o.IdleFor = 20, 300*time.Millisecond }, "connect rate"},
		{"S4", "centrifugo", 1, func(o *Options) { o.Members, o.GroupSenders, o.GroupRate = 12, 2, 40 }, "deliveries"},
		{"S8", "centrifugo", 1, func(o *Options) { o.Members, o.Messages, o.Burst = 15, 2, 10 }, "burst deliveries"},
	}
	srv := servertest.StartBackend(t, "sqlite")
	for _, tc := range tests {
		t.Run(tc.scenario+"-"+tc.peer, func(t *testing.T) {
			o := Defaults()
			if tc.peer == "centrifugo" && centrifugoBin(&o) == "" {
				if os.Getenv("PARLEY_REQUIRE_CENTRIFUGO") == "1" {
					t.Fatal(errNoCentrifugo)
				}
				t.Skip("centrifugo is not installed (scripts/peers.sh installs it; PARLEY_REQUIRE_CENTRIFUGO=1 makes this a failure)")
			}
			o.Target, o.OwnerPassword = srv.URL, servertest.OwnerPassword
			o.Duration, o.Warmup, o.BodyBytes = 600*time.Millisecond, 200*time.Millisecond, 64
			o.Rounds, o.Peers, o.JSON = tc.rounds, []string{tc.peer}, true
			o.PerWorker = 8 // members spread over two or three worker processes
			tc.set(&o)
			var out, js bytes.Buffer
			log := &testutil.SyncBuffer{}
			o.Out, o.JSONOut, o.Log = &out, &js, log
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if err := RunCompare(ctx, tc.scenario, o); err != nil {
				t.Fatalf("compare: %v\n%s\n%s", err, out.String(), log.String())
			}
			t.Logf("\n%s", out.String())
			var r CompareResult
			if err := json.Unmarshal(js.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if len(r.Runs) != 2*tc.rounds || len(r.Orders) != tc.rounds || len(r.Skipped) > 0 {
				t.Fatalf("runs %d, orders %v, skipped %v", len(r.Runs), r.Orders, r.Skipped)
			}
			if tc.rounds == 2 && (r.Orders[0][0] != "parley" || r.Orders[1][0] != tc.peer) {
				t.Errorf("the order did not rotate: %v", r.Orders)
			}
			for _, run := range r.Runs {
				if run.Error != "" {
					t.Errorf("%s round %d: %s", run.System, run.Round, run.Error)
				}
			}
			rows := map[string]CompareRow{}
			for _, row := range r.Summary {
				rows[row.Figure] = row
			}
			for _, side := range []string{"parley", tc.peer} {
				if v := rows[tc.figure].Median[side]; v <= 0 {
					t.Errorf("%s: %s = %v", side, tc.figure, v)
				}
				for _, zero := range []string{"missing deliveries", "sends refused", "sends not answered", "connections dropped"} {
					if row, ok := rows[zero]; ok && row.Median[side] != 0 {
						t.Errorf("%s: %s = %v", side, zero, row.Median[side])
					}
				}
			}
			if _, ok := rows[tc.figure].Ratio[tc.peer]; !ok {
				t.Errorf("no ratio parley/%s for %s: %+v", tc.peer, tc.figure, rows[tc.figure])
			}
			if !strings.Contains(out.String(), "parley/"+tc.peer) {
				t.Errorf("table without the ratio column:\n%s", out.String())
			}
		})
	}
}

func TestStamp_RoundTrip(t *testing.T) {
	tests := []struct {
		at, g  int64
		sender int
		size   int
	}{
		{1_700_000_000_123_456_789, 0, 0, 64},
		{1, 123456, 999, 10}, // shorter than the stamp: no padding
		{42, 7, 3, 4000},
	}
	for _, tc := range tests {
		b := appendStamp(nil, tc.at, tc.g, tc.sender, tc.size)
		if len(b) < tc.size || bytes.ContainsAny(b, `"\`) {
			t.Errorf("stamp %q: length %d, want at least %d, no JSON escapes", b, len(b), tc.size)
		}
		at, g, s, ok := parseStamp(b)
		if !ok || at != tc.at || g != tc.g || s != tc.sender {
			t.Errorf("parse %q = %d %d %d %v", b, at, g, s, ok)
		}
	}
	for _, bad := range []string{"", "12", "12.3", "a.b.c.", "1.2.x.", ".1.2."} {
		if _, _, _, ok := parseStamp([]byte(bad)); ok {
			t.Errorf("parseStamp(%q) accepted", bad)
		}
	}
}

// The connection token is a compact HS256 JWT: header, claims with sub and
// a future exp, and a signature any JWT library checks with the secret.
func TestConnToken(t *testing.T) {
	secret := []byte("0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	tok := connToken(secret, "m42", now)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || strings.ContainsAny(tok, "=+/") {
		t.Fatalf("token %q", tok)
	}
	enc := base64.RawURLEncoding
	var head, claims map[string]any
	for i, v := range []*map[string]any{&head, &claims} {
		b, err := enc.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			t.Fatalf("part %d: %v %s", i, err, b)
		}
	}
	if head["alg"] != "HS256" || head["typ"] != "JWT" {
		t.Errorf("header %v", head)
	}
	if claims["sub"] != "m42" || claims["exp"].(float64) != float64(now.Add(24*time.Hour).Unix()) {
		t.Errorf("claims %v", claims)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if sig, _ := enc.DecodeString(parts[2]); !hmac.Equal(sig, m.Sum(nil)) {
		t.Error("signature does not verify")
	}
	if connToken([]byte("other"), "m42", now) == tok {
		t.Error("the secret does not change the token")
	}
}

func TestSummarize(t *testing.T) {
	runs := []CompareRun{
		{System: "parley", Round: 1, Figures: []cmpFigure{{Name: "rate", Value: 100}, {Name: "p99", Value: 4, LowerBetter: true}}},
		{System: "relay", Round: 1, Figures: []cmpFigure{{Name: "rate", Value: 200}, {Name: "p99", Value: 0}}},
		{System: "relay", Round: 2, Figures: []cmpFigure{{Name: "rate", Value: 300}, {Name: "p99", Value: 0}}},
		{System: "parley", Round: 2, Figures: []cmpFigure{{Name: "rate", Value: 120}, {Name: "p99", Value: -1}}},
		{System: "parley", Round: 3, Figures: []cmpFigure{{Name: "rate", Value: 500}}},
	}
	rows := summarize(runs, []string{"parley", "relay"})
	if len(rows) != 2 || rows[0].Figure != "rate" || rows[1].Figure != "p99" || !rows[1].LowerBetter {
		t.Fatalf("rows %+v", rows)
	}
	tests := []struct {
		row          CompareRow
		parley, peer float64
		ratio        float64 // NaN: none
	}{
		{rows[0], 120, 250, 120.0 / 250},
		{rows[1], 4, 0, math.NaN()}, // -1 is "unknown"; a zero peer has no ratio
	}
	// Within rounds: round 1 100/200, round 2 120/300; round 3 has no relay.
	if got := rows[0].RoundRatios["relay"]; !slices.Equal(got, []float64{0.5, 0.4}) {
		t.Errorf("round ratios %v", got)
	}
	if got := rows[1].RoundRatios["relay"]; len(got) != 0 {
		t.Errorf("round ratios of a zero peer %v", got)
	}
	for _, tc := range tests {
		if tc.row.Median["parley"] != tc.parley || tc.row.Median["relay"] != tc.peer {
			t.Errorf("%s medians %v", tc.row.Figure, tc.row.Median)
		}
		r, ok := tc.row.Ratio["relay"]
		if math.IsNaN(tc.ratio) && ok || !math.IsNaN(tc.ratio) && r != tc.ratio {
			t.Errorf("%s ratio %v (%v)", tc.row.Figure, r, ok)
		}
	}
}

func TestComparePeers(t *testing.T) {
	tests := []struct {
		scenario string
		peers    []string
		want     []string
		wantErr  bool
	}{
		{"S1", nil, []string{"centrifugo"}, false},
		{"S2", nil, []string{"relay"}, false},
		{"S4", nil, []string{"centrifugo", "relay"}, false},
		{"S8", []string{"relay"}, []string{"relay"}, false},
		{"S2", []string{"centrifugo"}, nil, true},
		{"S3", nil, nil, true},
	}
	for _, tc := range tests {
		o := Defaults()
		o.Peers = tc.peers
		got, err := comparePeers(tc.scenario, &o)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("%s %v: %v, %v", tc.scenario, tc.peers, got, err)
		}
	}
	o := Defaults()
	o.Conns = maxCompareConns + 1
	if _, err := compareSize("S1", &o); err == nil {
		t.Error("S1 above the connection bound accepted")
	}
	o.Senders = maxCompareLocal/2 + 1
	if _, err := compareSize("S2", &o); err == nil {
		t.Error("S2 above the bench process's bound accepted")
	}
}

// The relay has no authentication: it refuses to listen anywhere but on
// loopback.
func TestRunRelay_LoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "[::]:0", "localhost:0", "nonsense"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a relay that did start would stop at once
		if err := RunRelay(ctx, addr, io.Discard); err == nil || !strings.Contains(err.Error(), "loopback") && !strings.Contains(err.Error(), "address") {
			t.Errorf("RunRelay(%q) = %v, want a refusal", addr, err)
		}
	}
}
