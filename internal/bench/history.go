package bench

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/idgen"
	"github.com/parleyim/parley/internal/server"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

// historyPage is the page size of the history scenario's reads.
const historyPage = 50

// HistoryResult is the outcome of the history scenario (S6).
type HistoryResult struct {
	Scenario    string  `json:"scenario"`
	Backend     string  `json:"backend"`
	Messages    int     `json:"messages"` // in the conversation
	FillSeconds float64 `json:"fill_s"`
	FillPerSec  float64 `json:"fill_per_s"`
	Reads       int     `json:"reads"` // per kind
	PageSize    int     `json:"page_size"`
	// History is the protocol's `history` (backward from a message ID),
	// Pull its `pull` (forward from a seq): latency of one page, request
	// written to reply read, one request at a time.
	History Summary `json:"history_ms"`
	Pull    Summary `json:"pull_ms"`
	// Plans are the database's plans for the queries behind the reads
	// (SQLite EXPLAIN QUERY PLAN, PostgreSQL EXPLAIN ANALYZE), by query.
	Plans map[string]string `json:"plans,omitempty"`
	// Analyzed: the bench ran ANALYZE on items after the fill
	// (PostgreSQL).
	Analyzed bool `json:"analyzed"`
	Met      bool `json:"target_met"` // p99 ≤ 5 ms for both kinds
}

// runHistory fills one 1:1 conversation with o.HistoryMessages messages and
// times random page reads of it. The first message is a real send over the
// protocol; the rest go through the storage layer's Append (the group
// commit a send goes through, 512 per transaction) as copies of that
// first row with their own ID, client_msg_id and time, which is what a
// million sends would leave, without taking an hour.
func runHistory(ctx context.Context, e *env) (any, error) {
	o := e.o
	n := o.HistoryMessages
	names, toks, err := e.users(ctx, "h", 2)
	if err != nil {
		return nil, err
	}
	snd, _, err := dialWS(ctx, e.wsURL, toks[0], "hist", nil)
	if err != nil {
		return nil, err
	}
	ack, err := snd.request(map[string]any{"t": protocol.FrameSend, "id": "1", "to": names[1], "type": "txt",
		"body": map[string]any{"msg": string(messageText(o.BodyBytes))}, "client_msg_id": "hist-0"}, 30*time.Second)
	snd.close()
	if err != nil {
		return nil, fmt.Errorf("first send: %w", err)
	}
	convID, err := strconv.ParseInt(ack.ConvID, 10, 64)
	if err != nil || ack.Seq != 1 {
		return nil, fmt.Errorf("first send: ack conv_id %q seq %d", ack.ConvID, ack.Seq)
	}
	r := &HistoryResult{Scenario: "history", Backend: e.backend, Messages: n, Reads: o.Reads, PageSize: historyPage}
	ids, err := fillHistory(ctx, e, r, convID, n)
	if err != nil {
		return r, err
	}

	// PostgreSQL plans from table statistics, which autovacuum keeps
	// (after 10 % of a table changed) but a bulk fill outruns, and which a
	// server with autovacuum off never gets: analyze after the fill, as
	// after any bulk load, and record the plan it would have had without.
	p, err := openDBProbe(e)
	if err != nil {
		o.logf("history: no query plans: %v", err)
	}
	defer p.close()
	if p != nil && p.kind == "postgres" {
		r.Plans = historyPlans(ctx, p, o, convID, ids, n, " before ANALYZE")
		if _, err := p.db.ExecContext(ctx, "ANALYZE items"); err != nil {
			return r, fmt.Errorf("analyze: %w", err)
		}
		r.Analyzed = true
	}

	rdr, _, err := dialWS(ctx, e.wsURLFor(1), toks[1], "reader", nil)
	if err != nil {
		return r, err
	}
	defer rdr.close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
	var hh, ph Hist
	conv := ack.ConvID
	for i := range o.Reads + historyWarmup {
		// history: the 50 messages before a random one, oldest first.
		s := int64(historyPage + 1 + rng.IntN(n-historyPage))
		t0 := time.Now()
		f, err := rdr.request(map[string]any{"t": protocol.FrameHistory, "id": "h" + strconv.Itoa(i), "conv_id": conv,
			"msg_id": strconv.FormatInt(ids[s-1], 10), "direction": "backward", "limit": historyPage}, 30*time.Second)
		d := time.Since(t0)
		if err != nil {
			return r, fmt.Errorf("history: %w", err)
		}
		if err := checkPage(f, s-historyPage); err != nil {
			return r, fmt.Errorf("history before seq %d: %w", s, err)
		}
		// pull: the 50 items after a random seq.
		a := int64(rng.IntN(n - historyPage + 1))
		t1 := time.Now()
		f, err = rdr.request(map[string]any{"t": protocol.FramePull, "id": "p" + strconv.Itoa(i), "conv_id": conv,
			"after_seq": a, "limit": historyPage}, 30*time.Second)
		d1 := time.Since(t1)
		if err != nil {
			return r, fmt.Errorf("pull: %w", err)
		}
		if err := checkPage(f, a+1); err != nil {
			return r, fmt.Errorf("pull after seq %d: %w", a, err)
		}
		if i >= historyWarmup {
			hh.Record(d)
			ph.Record(d1)
		}
	}
	r.History, r.Pull = hh.Summary(), ph.Summary()
	r.Met = r.History.P99 <= 5 && r.Pull.P99 <= 5
	if p != nil {
		if r.Plans == nil {
			r.Plans = map[string]string{}
		}
		maps.Copy(r.Plans, historyPlans(ctx, p, o, convID, ids, n, ""))
	}
	printHistory(o, r)
	return r, nil
}

// historyWarmup reads are not measured (the first ones open the readers'
// connections and statement caches).
const historyWarmup = 20

// checkPage checks that a reply holds historyPage items with seqs first,
// first+1, ...
func checkPage(f *inFrame, first int64) error {
	if f.T != protocol.FrameItems {
		return fmt.Errorf("reply %q, want items", f.T)
	}
	if len(f.Items) != historyPage {
		return fmt.Errorf("%d items, want %d", len(f.Items), historyPage)
	}
	for i, it := range f.Items {
		if it.Seq != first+int64(i) {
			return fmt.Errorf("item %d has seq %d, want %d", i, it.Seq, first+int64(i))
		}
	}
	return nil
}

// historyStore opens the server's database through the storage layer,
// with the settings the started servers run with (or, with --target, the
// bench's own environment and --target-db).
func historyStore(ctx context.Context, e *env) (*storeHandle, error) {
	o := e.o
	getenv := o.getenv
	var args []string
	cleanup := func() {}
	switch {
	case e.started():
		env := map[string]string{}
		for _, kv := range append(append(os.Environ(), e.nodeEnv...), o.ServerEnv...) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		getenv = func(k string) string { return env[k] }
		data := filepath.Join(e.tmp, "data")
		if o.nodes() > 1 {
			data = filepath.Join(e.tmp, "node0")
		}
		args = []string{"--data", data}
		if e.db != "" {
			args = append(args, "--db", e.db)
		}
	case o.TargetDB == "":
		return nil, fmt.Errorf("history with --target needs --target-db (the target's database) to fill the conversation")
	case strings.HasPrefix(o.TargetDB, "postgres"):
		dir, err := os.MkdirTemp("", "parley-bench-")
		if err != nil {
			return nil, err
		}
		args = []string{"--data", dir, "--db", o.TargetDB}
		cleanup = func() { os.RemoveAll(dir) }
	default:
		if filepath.Base(o.TargetDB) != "parley.db" {
			return nil, fmt.Errorf("--target-db: want the server's parley.db, got %s", o.TargetDB)
		}
		args = []string{"--data", filepath.Dir(o.TargetDB), "--db", ""} // SQLite, whatever PARLEY_DB says
	}
	cfg, _, err := config.Load("bench", args, getenv)
	if err != nil {
		cleanup()
		return nil, err
	}
	st, err := server.OpenStore(ctx, &cfg)
	if err != nil {
		cleanup()
		return nil, err
	}
	return &storeHandle{msgs: st.Messages(), close: func() { st.Close(); cleanup() }}, nil
}

type storeHandle struct {
	msgs  store.MessageStore
	close func()
}

// fillHistory appends n-1 copies of the conversation's first message
// (seq 1), and returns every message's ID by seq (ids[seq-1]).
func fillHistory(ctx context.Context, e *env, r *HistoryResult, convID int64, n int) ([]int64, error) {
	o := e.o
	st, err := historyStore(ctx, e)
	if err != nil {
		return nil, err
	}
	defer st.close()
	first, err := st.msgs.Items(ctx, convID, 0, 1)
	if err != nil || len(first) != 1 {
		return nil, fmt.Errorf("reading the first message: %v (%d)", err, len(first))
	}
	tmpl := first[0]
	ids := make([]int64, n)
	ids[0] = tmpl.ID
	gen := idgen.New(idgen.MaxNode) // a node ID of its own: never one of a server's
	o.logf("history: appending %s messages to conversation %d through the store", num(float64(n-1)), convID)
	const batch = 4096
	ops := make([]*store.AppendOp, 0, batch)
	start := time.Now()
	lastLog := start
	for next := 1; next < n; {
		ops = ops[:0]
		now := time.Now().UnixMilli()
		for ; next < n && len(ops) < batch; next++ {
			it := store.Item{ID: gen.Next(), AppID: tmpl.AppID, Kind: store.ItemMsg, From: tmpl.From, To: tmpl.To,
				Type: tmpl.Type, Body: tmpl.Body, Ext: tmpl.Ext, ClientMsgID: "hist-" + strconv.Itoa(next), Created: now}
			ids[next] = it.ID
			ops = append(ops, &store.AppendOp{Item: it})
		}
		if err := st.msgs.Append(ctx, ops); err != nil {
			return nil, fmt.Errorf("append: %w", err)
		}
		base := next - len(ops)
		for j, op := range ops {
			if op.Err != nil || op.Duplicate {
				return nil, fmt.Errorf("append: %v (duplicate %v)", op.Err, op.Duplicate)
			}
			if op.Item.ConvID != convID {
				return nil, fmt.Errorf("append went to conversation %d, want %d", op.Item.ConvID, convID)
			}
			if want := int64(base + j + 1); op.Item.Seq != want {
				return nil, fmt.Errorf("message %d got seq %d, want %d", op.Item.ID, op.Item.Seq, want)
			}
		}
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			o.logf("history: %s of %s", num(float64(next)), num(float64(n)))
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	r.FillSeconds = time.Since(start).Seconds()
	r.FillPerSec = float64(n-1) / r.FillSeconds
	return ids, nil
}

// historyPlans asks the database how it runs the reads' queries at a
// random point of the conversation.
func historyPlans(ctx context.Context, p *dbProbe, o *Options, convID int64, ids []int64, n int, suffix string) map[string]string {
	mid := int64(n / 2)
	qs := map[string]string{
		"anchor (item by id)": fmt.Sprintf(`SELECT * FROM items WHERE app_id = (SELECT app_id FROM conversations WHERE id = %d) AND id = %d`, convID, ids[mid]),
		"history (backward)": fmt.Sprintf(`SELECT * FROM items WHERE conv_id = %d AND kind = 'msg' AND seq < %d AND seq > 0 ORDER BY seq DESC LIMIT %d`,
			convID, mid, historyPage),
		"pull (forward)": fmt.Sprintf(`SELECT * FROM items WHERE conv_id = %d AND seq > %d ORDER BY seq LIMIT %d`, convID, mid, historyPage),
	}
	out := map[string]string{}
	for name, q := range qs {
		prefix := "EXPLAIN QUERY PLAN "
		if p.kind == "postgres" {
			prefix = "EXPLAIN ANALYZE "
		}
		rows, err := p.db.QueryContext(ctx, prefix+q)
		if err != nil {
			o.logf("history: explain %s: %v", name, err)
			continue
		}
		var lines []string
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if rows.Scan(ptrs...) != nil {
				break
			}
			lines = append(lines, strings.TrimSpace(fmt.Sprint(vals[len(vals)-1]))) // SQLite: detail; PostgreSQL: QUERY PLAN
		}
		rows.Close()
		out[name+suffix] = strings.Join(lines, " | ")
	}
	return out
}

func printHistory(o *Options, r *HistoryResult) {
	t := &table{title: fmt.Sprintf("history (S6) — %s, one conversation of %s messages, pages of %d", r.Backend,
		num(float64(r.Messages)), r.PageSize)}
	t.add("filling (not the measure)", "%s msgs/s through the store's Append (%.1f s)", num(r.FillPerSec), r.FillSeconds)
	for _, k := range []struct {
		name string
		s    Summary
	}{{"history, backward from a random message", r.History}, {"pull, forward from a random seq", r.Pull}} {
		t.add(k.name, "p50 %.2f / p99 %.2f / max %.2f ms (%d reads)", k.s.P50, k.s.P99, k.s.Max, r.Reads)
	}
	t.add("target p99 ≤ 5 ms", "%s", verdict(r.Met))
	if r.Analyzed {
		t.add("statistics", "ANALYZE items after the fill (PostgreSQL)")
	}
	for _, name := range []string{"anchor (item by id)", "history (backward)", "pull (forward)"} {
		for _, suffix := range []string{" before ANALYZE", ""} {
			if p, ok := r.Plans[name+suffix]; ok {
				t.add("plan: "+name+suffix, "%s", p)
			}
		}
	}
	t.print(o.Out)
}
