package bench

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// GroupMessageRun is one timed message of group-big.
type GroupMessageRun struct {
	AckMS  float64 `json:"ack_ms"`
	P50MS  float64 `json:"p50_ms"`  // the median online member had it
	LastMS float64 `json:"last_ms"` // the last online member had it
	Got    int     `json:"got"`     // online members that got it
}

// GroupBigResult is the outcome of the group-big scenario.
type GroupBigResult struct {
	loadFigures
	Scenario  string `json:"scenario"`
	Backend   string `json:"backend"`
	Members   int    `json:"members"`
	Online    int    `json:"online"`    // member connections asked for (the sender's included)
	Connected int    `json:"connected"` // recipients connected (the sender excluded)
	Workers   int    `json:"workers"`
	BodyBytes int    `json:"body_bytes"`

	UsersSeconds   float64 `json:"users_s"`   // registering the members
	GroupSeconds   float64 `json:"group_s"`   // creating the group and adding them
	ConnectSeconds float64 `json:"connect_s"` // tokens and connections of the online members

	Messages int               `json:"messages"`
	Runs     []GroupMessageRun `json:"runs"`
	// Over the timed messages: min / median / max of each message's time
	// until the last (and the median) online member had it, and to the ack.
	LastMS Stat `json:"last_ms"`
	P50MS  Stat `json:"p50_ms"`
	AckMS  Stat `json:"ack_ms"`

	// Loss check over the warm-up and timed messages, every recipient.
	Expected int64  `json:"expected_deliveries"`
	Received int64  `json:"received_deliveries"`
	Missing  int64  `json:"missing"`
	Dups     int64  `json:"duplicates"`
	Extra    int64  `json:"unexpected"`
	Dropped  int    `json:"dropped"` // member connections closed by the server
	FirstGap string `json:"first_missing,omitempty"`

	// Storage per message in this group and in a small one, for comparison
	// (empty when the bench cannot read the database).
	Storage     []*GroupStorage `json:"storage,omitempty"`
	StorageNote string          `json:"storage_note,omitempty"`
}

// runGroupBig: a group of o.Members (10,000) with o.Online (2,000) of them
// connected; one member sends o.Messages messages one at a time, and every
// online member's arrival time is taken. Then the storage cost per message
// is measured with a batch in this group and in a 100-member group.
func runGroupBig(ctx context.Context, e *env) (any, error) {
	o := e.o
	members, online := o.groupSize("group-big")
	nmsg := o.timedMessages("group-big")
	r := &GroupBigResult{Scenario: "group-big", Backend: e.backend, Members: members, Online: online, Messages: nmsg,
		BodyBytes: o.BodyBytes}

	t0 := time.Now()
	o.logf("group-big: registering %d members", members)
	names, err := e.registerUsers(ctx, "gm", members)
	if err != nil {
		return nil, err
	}
	r.UsersSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	o.logf("group-big: creating the group and adding %d members", members)
	gid, err := e.createGroup(ctx, names, members)
	if err != nil {
		return nil, err
	}
	r.GroupSeconds = time.Since(t0).Seconds()
	o.logf("group-big: group %s ready in %.1f s (users %.1f s); connecting %d online members", gid, r.GroupSeconds,
		r.UsersSeconds, online)

	t0 = time.Now()
	toks, err := e.userTokens(ctx, names[:online])
	if err != nil {
		return nil, err
	}
	sender, err := dialGroupSender(ctx, e, toks[0], "send", nil, -1, nil)
	if err != nil {
		return nil, err
	}
	defer sender.close()
	life := 10*time.Minute + time.Duration(nmsg)*11*time.Second
	pool, err := startMemberPool(ctx, e, toks[1:], "member", groupJob{ID: gid, Timed: nmsg}, life)
	if err != nil {
		return nil, err
	}
	defer pool.close()
	r.ConnectSeconds = time.Since(t0).Seconds()
	r.Connected, r.Workers = pool.ready, len(pool.workers)
	o.logf("group-big: %d recipients connected from %d workers in %.1f s", r.Connected, r.Workers, r.ConnectSeconds)

	body := messageText(o.BodyBytes)
	buf := make([]byte, 0, 256+len(body))
	cmid := make([]byte, 0, 64)
	// Streams: 0 the timed messages, 1 the warm-up.
	acked := make([]bitset, 2)
	sent := int64(0)
	send := func(tag byte, stream int, k int64) (groupAck, error) {
		cmid = appendGroupCMID(cmid[:0], tag, stream, k, time.Now().UnixNano())
		buf = appendGroupSend(buf[:0], k, gid, cmid, body)
		if err := sender.c.write(buf); err != nil {
			return groupAck{}, err
		}
		a, err := sender.awaitAck(ctx, 30*time.Second)
		if err != nil {
			return a, err
		}
		if a.code != "" {
			return a, fmt.Errorf("send refused: %s", a.code)
		}
		acked[stream].set(k)
		sent++
		return a, nil
	}
	wait := func() (*groupReport, error) {
		return waitItems(ctx, pool, nil, sent*int64(r.Connected), 10*time.Millisecond, 5*time.Second, 30*time.Second)
	}
	// Warm-up: the first message after the members were added loads the
	// group's member list into the server's cache.
	if _, err := send(tagUntimed, 1, 0); err != nil {
		return r, fmt.Errorf("warm-up message: %w", err)
	}
	if _, err := wait(); err != nil {
		return r, err
	}
	o.logf("group-big: sending %d timed messages one at a time", nmsg)
	s0 := e.sample(ctx)
	c0 := selfCPU() + pool.cpu()
	mm := startMachineMeter()
	tm := time.Now()
	for k := range nmsg {
		// A pause between messages: each one starts on a quiet server.
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return r, err
		}
		start := time.Now()
		a, err := send(tagTimed, 0, int64(k))
		if err != nil {
			return r, fmt.Errorf("timed message %d: %w", k, err)
		}
		r.Runs = append(r.Runs, GroupMessageRun{AckMS: ms(a.at.Sub(start))})
		if _, err := wait(); err != nil {
			return r, err
		}
	}
	wall := time.Since(tm).Seconds()
	s1 := e.sample(ctx)
	c1 := selfCPU() + pool.cpu()
	r.loadFigures = newLoadFigures(s0, s1, c1-c0, mm.pct(), wall)
	if pool.failed > 0 {
		r.ConnFailures = append(r.ConnFailures, fmt.Sprintf("%d members failed to connect (first: %s)", pool.failed, pool.firstErr))
	}

	rep, dropped, err := pool.verify(acked)
	if err != nil {
		return r, err
	}
	r.Dropped = dropped
	r.Expected = sent * int64(r.Connected)
	r.Received, r.Missing, r.Dups, r.Extra, r.FirstGap = rep.Items, rep.Missing, rep.Dups, rep.Extra, rep.FirstMissing
	var last, p50, ack []float64
	for k := range r.Runs {
		var lat []int64
		if k < len(rep.Timed) {
			lat = rep.Timed[k]
		}
		slices.Sort(lat)
		run := &r.Runs[k]
		run.Got = len(lat)
		if len(lat) > 0 {
			run.LastMS = float64(lat[len(lat)-1]) / 1000
			run.P50MS = float64(lat[(len(lat)-1)/2]) / 1000
		}
		last, p50, ack = append(last, run.LastMS), append(p50, run.P50MS), append(ack, run.AckMS)
	}
	r.LastMS, r.P50MS, r.AckMS = statOf(last), statOf(p50), statOf(ack)
	pool.close()

	if o.BatchMessages > 0 {
		if err := groupStorage(ctx, e, r, sender, gid); err != nil {
			printGroupBig(o, r)
			return r, err
		}
	}
	printGroupBig(o, r)
	if r.Missing > 0 || r.Dups > 0 || r.Extra > 0 {
		return r, fmt.Errorf("group deliveries: %d missing, %d duplicated, %d unexpected (first missing: %s)",
			r.Missing, r.Dups, r.Extra, r.FirstGap)
	}
	return r, nil
}

// smallGroup is the size of the comparison group of the storage figures.
const smallGroup = 100

// groupStorage measures the database rows and bytes per message: a batch
// of o.BatchMessages into the big group (its members offline by now: fan-
// out is not stored, and the batch would only measure the bench's
// readers), then the same batch into a 100-member group.
func groupStorage(ctx context.Context, e *env, r *GroupBigResult, big *groupSender, gid string) error {
	o := e.o
	p, err := openDBProbe(e)
	if err != nil {
		return err
	}
	if p == nil {
		r.StorageNote = "not measured: the bench does not know the target's database (--target-db)"
		return nil
	}
	defer p.close()
	o.logf("group-big: storage: %d messages into the %d-member group", o.BatchMessages, r.Members)
	g, err := measureGroupStorage(ctx, e, p, big, gid, r.Members, 2, o.BatchMessages)
	if err != nil {
		return fmt.Errorf("storage, big group: %w", err)
	}
	r.Storage = append(r.Storage, g)

	names, err := e.registerUsers(ctx, "gs", smallGroup)
	if err != nil {
		return err
	}
	sgid, err := e.createGroup(ctx, names, smallGroup)
	if err != nil {
		return err
	}
	toks, err := e.userTokens(ctx, names[:1])
	if err != nil {
		return err
	}
	s, err := dialGroupSender(ctx, e, toks[0], "send", nil, -1, nil)
	if err != nil {
		return err
	}
	defer s.close()
	o.logf("group-big: storage: %d messages into a %d-member group", o.BatchMessages, smallGroup)
	// A first message loads the small group into the server's cache.
	if _, _, err := s.sendBatch(ctx, sgid, 3, 1, 1, messageText(o.BodyBytes)); err != nil {
		return err
	}
	g, err = measureGroupStorage(ctx, e, p, s, sgid, smallGroup, 2, o.BatchMessages)
	if err != nil {
		return fmt.Errorf("storage, small group: %w", err)
	}
	r.Storage = append(r.Storage, g)
	r.StorageNote = "batches of pipelined sends (window 64) from one member, no member online"
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printGroupBig(o *Options, r *GroupBigResult) {
	t := &table{title: fmt.Sprintf("group-big — %s, %s members, %s online, %d timed messages one at a time, %d-byte text",
		r.Backend, num(float64(r.Members)), num(float64(r.Online)), r.Messages, r.BodyBytes)}
	t.add("setup", "users %.1f s, group %.1f s, tokens+connections %.1f s (%s recipients, %d workers)",
		r.UsersSeconds, r.GroupSeconds, r.ConnectSeconds, num(float64(r.Connected)), r.Workers)
	stat := func(s Stat) string {
		return fmt.Sprintf("min %s  median %s  max %s", fmtMS(s.Min), fmtMS(s.Median), fmtMS(s.Max))
	}
	t.add("send → LAST online member has it", "%s   (target < 1 s: %s)", stat(r.LastMS),
		verdict(len(r.Runs) > 0 && r.LastMS.Max < 1000 && r.Missing == 0))
	t.add("send → median member has it", "%s", stat(r.P50MS))
	t.add("send → ack", "%s", stat(r.AckMS))
	t.add("deliveries received / expected", "%s / %s", num(float64(r.Received)), num(float64(r.Expected)))
	t.add("missing / duplicated / unexpected", "%d / %d / %d", r.Missing, r.Dups, r.Extra)
	if r.FirstGap != "" {
		t.add("first missing", "%s", r.FirstGap)
	}
	t.add("member connections dropped", "%d", r.Dropped)
	for _, g := range r.Storage {
		name := fmt.Sprintf("storage, %s-member group", num(float64(g.Members)))
		t.add(name, "%s msgs in %.2f s: %.2f items rows/msg, %.2f other rows/msg", num(float64(g.Messages)), g.Seconds,
			g.ItemsPerMsg, g.OtherRowsPerMsg)
		t.add("  bytes per message", "%s", storageBytes(g))
		if g.GroupCommit != nil {
			t.add("  group commit", "%s", g.GroupCommit)
		}
		if len(g.Errors) > 0 {
			t.add("  errors", "%v", g.Errors)
		}
	}
	if r.StorageNote != "" {
		t.add("storage note", "%s", r.StorageNote)
	}
	r.loadFigures.addTo(t)
	t.print(o.Out)
}

func storageBytes(g *GroupStorage) string {
	b := func(v float64) string {
		if v < 0 {
			return "n/a"
		}
		return num(v)
	}
	if g.Database == "postgres" {
		return fmt.Sprintf("database %s, items+conversations %s, WAL %s (whole cluster)", b(g.LogicalPerMsg),
			b(g.TablesPerMsg), b(g.WrittenPerMsg))
	}
	return fmt.Sprintf("data %s, items+conversations %s, written to WAL %s", b(g.LogicalPerMsg), b(g.TablesPerMsg),
		b(g.WrittenPerMsg))
}
