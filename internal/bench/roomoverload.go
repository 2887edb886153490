package bench

import (
	"context"
	"fmt"
	"time"
)

const (
	defaultOverloadMembers = 1000
	defaultOverloadBurst   = 3000
)

// RoomLevel is what became of one priority's messages in room-overload.
type RoomLevel struct {
	Level string `json:"level"`
	Acked int    `json:"acked"` // messages of this level acknowledged
	// At the members that stopped reading, and at the others, all
	// together: deliveries received, and acknowledged messages they never
	// got.
	SlowDelivered int64 `json:"slow_delivered"`
	SlowDropped   int64 `json:"slow_dropped"`
	FastDelivered int64 `json:"fast_delivered"`
	FastDropped   int64 `json:"fast_dropped"`
	// ServerDropped is parley_room_dropped_total{level}'s growth.
	ServerDropped float64 `json:"server_dropped"`
}

// RoomOverloadResult is the outcome of the room-overload scenario.
type RoomOverloadResult struct {
	loadFigures        // first send until every member has what it will get
	Scenario    string `json:"scenario"`
	Backend     string `json:"backend"`
	Members     int    `json:"members"` // the sender included
	Slow        int    `json:"slow"`    // members that stop reading, connected
	Fast        int    `json:"fast"`    // the other recipients, connected
	Workers     int    `json:"workers"`
	BodyBytes   int    `json:"body_bytes"`
	// SlowSockets: the slow members' receive buffer and segment size
	// (bytes), so that their kernel buffers hold little.
	SlowRcvBuf int `json:"slow_rcvbuf"`
	SlowMaxSeg int `json:"slow_maxseg"`

	UsersSeconds float64 `json:"users_s"`
	SetupSeconds float64 `json:"setup_s"` // room, tokens, connections, additions

	Burst      int     `json:"burst"` // messages written, low/normal/high in turn
	Acked      int     `json:"acked"`
	SendMS     float64 `json:"send_ms"` // first write → last ack
	SentPerSec float64 `json:"sent_per_s"`
	// FanoutMS is from the first write until the server's fan-out had
	// queued or shed every frame (-1: not within the pause).
	FanoutMS float64 `json:"fanout_ms"`
	PausedMS float64 `json:"paused_ms"` // how long the slow members read nothing
	// DrainMS is from the slow members' resume until every member had
	// all it would get (polled every 20 ms; 3 s without progress ends it).
	DrainMS float64 `json:"drain_ms"`

	Levels []RoomLevel `json:"levels"` // low, normal, high
	// ShedInOrder: low dropped ≥ normal ≥ high, and some low (server's
	// counts).
	ShedInOrder bool `json:"shed_in_order"`
	// FastLatency is send → arrival at the members that kept reading.
	FastLatency Summary `json:"fast_latency"`
	// Unexplained is acknowledged messages members lack beyond what the
	// server counts as shed (a loss the policy does not account for).
	Unexplained int64        `json:"unexplained"`
	Dups        int64        `json:"duplicates"`
	Extra       int64        `json:"unexpected"`
	Dropped     int          `json:"dropped"` // member connections closed by the server
	DropError   string       `json:"drop_error,omitempty"`
	Server      roomCounters `json:"server"` // growth over the burst
}

// runRoomOverload: a chat room of o.Members (1,000), all connected; o.Slow
// of them (half the recipients) stop reading — small socket buffers, so
// the server's writes to them block at once — while the owner writes
// o.Burst (3,000) messages as fast as it can, low, normal and high in
// turn. The slow members resume once the server's fan-out has handled
// every frame (at most maxPause, below the write timeout). Per priority:
// what each side received and what the server shed.
func runRoomOverload(ctx context.Context, e *env) (any, error) {
	o := e.o
	members, burst := o.roomSize("room-overload")
	slow := o.Slow
	if slow == 0 {
		slow = (members - 1) / 2
	}
	slow = min(slow, members-2)
	fast := members - 1 - slow
	r := &RoomOverloadResult{Scenario: "room-overload", Backend: e.backend, Members: members, BodyBytes: o.BodyBytes,
		SlowRcvBuf: smallRcvBuf, SlowMaxSeg: smallMaxSeg, Burst: burst}

	t0 := time.Now()
	o.logf("room-overload: registering %d members", members)
	names, err := e.registerUsers(ctx, "ro", members)
	if err != nil {
		return nil, err
	}
	r.UsersSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	rid, err := e.createRoom(ctx, names[0], members)
	if err != nil {
		return nil, err
	}
	toks, err := e.userTokens(ctx, names)
	if err != nil {
		return nil, err
	}
	sender, err := dialGroupSender(ctx, e, toks[0], "send", nil, -1, nil)
	if err != nil {
		return nil, err
	}
	defer sender.close()
	life := 10 * time.Minute
	o.logf("room-overload: room %s; connecting %d members that keep reading and %d that will stop", rid, fast, slow)
	fp, err := startPool(ctx, e, toks[1:1+fast], roomJob(rid, 0), life)
	if err != nil {
		return nil, err
	}
	defer fp.close()
	job := roomJob(rid, 0)
	job.Resource, job.SmallSockets = "slow", true
	sp, err := startPool(ctx, e, toks[1+fast:], job, life)
	if err != nil {
		return nil, err
	}
	defer sp.close()
	if err := e.addRoomMembers(ctx, rid, names[1:]); err != nil {
		return nil, err
	}
	r.SetupSeconds = time.Since(t0).Seconds()
	r.Fast, r.Slow, r.Workers = fp.ready, sp.ready, len(fp.workers)+len(sp.workers)
	recipients := int64(r.Fast + r.Slow)
	for _, p := range []*memberPool{fp, sp} {
		if p.failed > 0 {
			r.ConnFailures = append(r.ConnFailures, fmt.Sprintf("%d members failed to connect (first: %s)", p.failed, p.firstErr))
		}
	}
	// Let the room events of the additions (coalesced every 200 ms) go
	// before anything is counted, then a warm-up message loads the room.
	if err := sleepCtx(ctx, 300*time.Millisecond); err != nil {
		return nil, err
	}
	body := messageText(o.BodyBytes)
	// Streams 0, 1, 2: the burst's low, normal and high messages; 3: the
	// warm-up.
	const warmStream = 3
	var warm, sent roomSent
	if err := sendRoom(ctx, sender, rid, []roomMsg{{tagUntimed, warmStream, 0, "normal"}}, 1, body, &warm); err != nil || warm.n != 1 {
		return r, fmt.Errorf("warm-up message: %v %v", err, warm.codes)
	}
	pools := []*memberPool{fp, sp}
	if _, _, err := waitPools(ctx, pools, recipients, 10*time.Millisecond, 5*time.Second, 30*time.Second); err != nil {
		return r, err
	}

	msgs := make([]roomMsg, burst)
	for i := range msgs {
		l := i % len(roomLevels)
		msgs[i] = roomMsg{tagMeasured, l, int64(i / len(roomLevels)), roomLevels[l]}
	}
	o.logf("room-overload: %d members stop reading; %d messages, low/normal/high in turn", r.Slow, burst)
	c0 := readRoomCounters(ctx, e)
	s0 := e.sample(ctx)
	cpu0 := selfCPU() + fp.cpu() + sp.cpu()
	mm := startMachineMeter()
	if err := sp.pause(maxPause); err != nil {
		return r, err
	}
	tp := time.Now()
	tb := time.Now()
	if err := sendRoom(ctx, sender, rid, msgs, protocolMaxPipelined, body, &sent); err != nil {
		sp.resume()
		return r, fmt.Errorf("burst: %w", err)
	}
	var lastAck time.Time
	for _, a := range sent.ackAt {
		lastAck = maxTime(lastAck, a)
	}
	r.Acked = sent.n
	r.SendMS = ms(lastAck.Sub(tb))
	if r.SendMS > 0 {
		r.SentPerSec = float64(r.Acked) / lastAck.Sub(tb).Seconds()
	}
	// The slow members read again once every frame is queued or shed, or
	// just before the server's write timeout would close them.
	want := float64(int64(r.Acked) * recipients)
	c1, err := waitHandled(ctx, e, c0, want, 10*time.Millisecond, time.Until(tp.Add(maxPause-500*time.Millisecond)))
	r.FanoutMS = -1
	if c1.sub(c0).handled() >= want {
		r.FanoutMS = ms(time.Since(tb))
	}
	rerr := sp.resume()
	r.PausedMS = ms(time.Since(tp))
	if err != nil {
		return r, err
	}
	if rerr != nil {
		return r, rerr
	}
	// Now every member gets what was queued for it.
	c1 = readRoomCounters(ctx, e)
	shed := c1.sub(c0)
	expect := recipients*int64(1+r.Acked) - int64(shed.Dropped[0]+shed.Dropped[1]+shed.Dropped[2])
	tr := time.Now()
	_, lastItem, err := waitPools(ctx, pools, expect, 20*time.Millisecond, 3*time.Second, time.Minute)
	if err != nil {
		return r, err
	}
	r.DrainMS = ms(lastItem.Sub(tr))
	wall := time.Since(tb).Seconds()
	s1 := e.sample(ctx)
	cpu1 := selfCPU() + fp.cpu() + sp.cpu()
	r.loadFigures = newLoadFigures(s0, s1, cpu1-cpu0, mm.pct(), wall)
	r.Server = readRoomCounters(ctx, e).sub(c0)
	for c, n := range sent.codes {
		r.Errors[c] += n
	}

	acked := make([]bitset, warmStream+1)
	copy(acked, sent.acked)
	acked[warmStream].set(0)
	fr, fd, err := fp.verify(acked)
	if err != nil {
		return r, err
	}
	sr, sd, err := sp.verify(acked)
	if err != nil {
		return r, err
	}
	r.Dropped = fd + sd
	r.DropError = sp.dropErr + fp.dropErr
	r.Dups, r.Extra = fr.Dups+sr.Dups, fr.Extra+sr.Extra
	if fr.Hist != nil {
		r.FastLatency = fr.Hist.Summary()
	}
	missingAt := func(g *groupReport, s int) int64 {
		if s < len(g.MissingByStream) {
			return g.MissingByStream[s]
		}
		return 0
	}
	var lacked float64
	for l, name := range roomLevels {
		n := 0
		if l < len(sent.acked) {
			n = sent.acked[l].count()
		}
		lv := RoomLevel{Level: name, Acked: n, SlowDropped: missingAt(sr, l), FastDropped: missingAt(fr, l),
			ServerDropped: r.Server.Dropped[l]}
		lv.SlowDelivered = int64(n*r.Slow) - lv.SlowDropped
		lv.FastDelivered = int64(n*r.Fast) - lv.FastDropped
		lacked += float64(lv.SlowDropped + lv.FastDropped)
		r.Levels = append(r.Levels, lv)
	}
	r.Unexplained = int64(lacked - (r.Server.Dropped[0] + r.Server.Dropped[1] + r.Server.Dropped[2]))
	d := r.Server.Dropped
	r.ShedInOrder = d[0] > 0 && d[0] >= d[1] && d[1] >= d[2]
	printRoomOverload(o, r)
	if r.Dups > 0 || r.Extra > 0 || r.Unexplained > 0 {
		return r, fmt.Errorf("room deliveries: %d lacking beyond what the server shed, %d duplicated, %d unexpected",
			r.Unexplained, r.Dups, r.Extra)
	}
	return r, nil
}

// waitPools polls pools until together they hold want items, progress
// stalls for stall, or maxWait passes. It returns the last counts and when
// they were first seen.
func waitPools(ctx context.Context, pools []*memberPool, want int64, every, stall, maxWait time.Duration) (*groupReport, time.Time, error) {
	end := time.Now().Add(maxWait)
	last, lastChange := int64(-1), time.Now()
	for {
		all := &groupReport{}
		for _, p := range pools {
			r, _, err := p.status()
			if err != nil {
				return nil, lastChange, err
			}
			all.merge(r)
		}
		if all.Items != last {
			last, lastChange = all.Items, time.Now()
		}
		if all.Items >= want || time.Now().After(end) || time.Since(lastChange) > stall {
			return all, lastChange, nil
		}
		if err := sleepCtx(ctx, every); err != nil {
			return all, lastChange, err
		}
	}
}

func printRoomOverload(o *Options, r *RoomOverloadResult) {
	t := &table{title: fmt.Sprintf("room-overload — %s, a chat room of %s members: %s stop reading (receive buffer %d KiB, segments of %d B), %s keep reading; %s messages low/normal/high in turn, %d-byte text",
		r.Backend, num(float64(r.Members)), num(float64(r.Slow)), r.SlowRcvBuf>>10, r.SlowMaxSeg, num(float64(r.Fast)), num(float64(r.Burst)),
		r.BodyBytes)}
	t.add("setup", "users %.1f s, room+tokens+connections+additions %.1f s (%d workers)", r.UsersSeconds, r.SetupSeconds,
		r.Workers)
	t.add("sent", "%s acked in %s (%s msgs/s)", num(float64(r.Acked)), fmtMS(r.SendMS), num(r.SentPerSec))
	if r.FanoutMS >= 0 {
		t.add("server fan-out done (queued or shed)", "%s after the first send", fmtMS(r.FanoutMS))
	} else {
		t.add("server fan-out done (queued or shed)", "not within the pause")
	}
	t.add("slow members read nothing for", "%s, then had all they would get %s later", fmtMS(r.PausedMS), fmtMS(r.DrainMS))
	for _, l := range r.Levels {
		share := func(d int64, n int) string {
			if n == 0 || l.Acked == 0 {
				return "n/a"
			}
			return fmt.Sprintf("%.1f %%", 100*float64(d)/float64(int64(l.Acked)*int64(n)))
		}
		t.add(l.Level+": delivered / dropped", "slow members %s / %s (%s), others %s / %s (%s); server shed %s",
			num(float64(l.SlowDelivered)), num(float64(l.SlowDropped)), share(l.SlowDropped, r.Slow),
			num(float64(l.FastDelivered)), num(float64(l.FastDropped)), share(l.FastDropped, r.Fast), num(l.ServerDropped))
	}
	if r.Slow > 0 && len(r.Levels) == 3 {
		per := func(l RoomLevel) float64 { return float64(l.SlowDelivered) / float64(r.Slow) }
		t.add("each slow member got (of each level)", "low %.0f, normal %.0f, high %.0f of %d", per(r.Levels[0]),
			per(r.Levels[1]), per(r.Levels[2]), r.Levels[0].Acked)
	}
	t.add("shed low first, high least", "%v", r.ShedInOrder)
	l := r.FastLatency
	t.add("others: send → arrival", "p50 %s  p99 %s  max %s", fmtMS(l.P50), fmtMS(l.P99), fmtMS(l.Max))
	t.add("lacking beyond shed / dup / unexpected", "%d / %d / %d", r.Unexplained, r.Dups, r.Extra)
	if r.DropError != "" {
		t.add("member connections dropped", "%d (first: %s)", r.Dropped, r.DropError)
	} else {
		t.add("member connections dropped", "%d", r.Dropped)
	}
	r.loadFigures.addTo(t)
	t.print(o.Out)
}
