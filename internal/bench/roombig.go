package bench

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// RoomBigResult is the outcome of the room-big scenario.
type RoomBigResult struct {
	loadFigures        // over the burst: first send until every member has every message
	Scenario    string `json:"scenario"`
	Backend     string `json:"backend"`
	Members     int    `json:"members"`   // room members, the sender included
	Connected   int    `json:"connected"` // recipients connected (the sender excluded), joiners included
	Joiners     int    `json:"joiners"`   // members asked to join over the protocol
	Joined      int    `json:"joined"`    // of them, joined
	Workers     int    `json:"workers"`
	BodyBytes   int    `json:"body_bytes"`

	UsersSeconds   float64 `json:"users_s"`   // registering the members
	ConnectSeconds float64 `json:"connect_s"` // the room, tokens and connections of the added members
	AddSeconds     float64 `json:"add_s"`     // adding them over REST, 60 per call
	JoinSeconds    float64 `json:"join_s"`    // the joiners connecting and joining
	// JoinMS is each join's time from the join frame to its answer, into
	// a room of about --members.
	JoinMS Summary `json:"join_ms"`

	// Paced phase: one message a second; for each, the time from its send
	// until the last (and the median) member had it, and to the ack.
	Messages     int               `json:"messages"`
	Runs         []GroupMessageRun `json:"runs"`
	LastMS       Stat              `json:"last_ms"`
	P50MS        Stat              `json:"p50_ms"`
	AckMS        Stat              `json:"ack_ms"`
	PacedCPUPct  float64           `json:"paced_server_cpu_pct"`
	PacedSeconds float64           `json:"paced_s"`

	// Burst: --burst messages written as fast as the connection takes them
	// (up to 64 waiting for their acks).
	Burst       int     `json:"burst"`
	BurstAcked  int     `json:"burst_acked"`
	BurstSendMS float64 `json:"burst_send_ms"` // first write → last write
	BurstAckMS  float64 `json:"burst_ack_ms"`  // first write → last ack
	// BurstDoneMS is from the first write until the last member had the
	// last burst message to reach it.
	BurstDoneMS float64 `json:"burst_done_ms"`
	// BurstDeliveries is burst messages received, all members together;
	// per second of BurstDoneMS.
	BurstDeliveries int64   `json:"burst_deliveries"`
	BurstPerSec     float64 `json:"burst_deliveries_per_s"`
	// Per burst message: its send → the last and the median member had it.
	BurstLastMS     Stat    `json:"burst_last_ms"`
	BurstP50MS      Stat    `json:"burst_p50_ms"`
	BurstFinalMS    float64 `json:"burst_final_last_ms"` // the last burst message: send → last member
	BurstIncomplete int     `json:"burst_incomplete"`    // burst messages some member lacks

	// Every message (warm-up, paced, burst) at every member.
	Expected  int64  `json:"expected_deliveries"`
	Received  int64  `json:"received_deliveries"`
	Missing   int64  `json:"missing"`
	Dups      int64  `json:"duplicates"`
	Extra     int64  `json:"unexpected"`
	Dropped   int    `json:"dropped"` // member connections closed by the server
	DropError string `json:"drop_error,omitempty"`
	FirstGap  string `json:"first_missing,omitempty"`
	// The server's room counters: their growth over the whole run (from
	// the warm-up) and over the burst. Dropped is by level.
	Server      roomCounters `json:"server"`
	ServerBurst roomCounters `json:"server_burst"`
}

// runRoomBig: a chat room of o.Members (10,000), every member connected
// from worker processes (the last o.Joiners of them join over the
// protocol, the others are added over REST); the owner sends o.Messages
// messages one a second, then o.Burst pipelined. Every member times and
// checks every message.
func runRoomBig(ctx context.Context, e *env) (any, error) {
	o := e.o
	members, burst := o.roomSize("room-big")
	nmsg := o.timedMessages("room-big")
	if nmsg+burst > maxTimed {
		return nil, fmt.Errorf("--messages plus --burst must be at most %d (each member keeps every one's time)", maxTimed)
	}
	joiners := o.Joiners
	if joiners == 0 {
		joiners = 100
	}
	joiners = min(joiners, members-2)
	r := &RoomBigResult{Scenario: "room-big", Backend: e.backend, Members: members, Joiners: joiners, Messages: nmsg,
		Burst: burst, BodyBytes: o.BodyBytes}

	t0 := time.Now()
	o.logf("room-big: registering %d members", members)
	names, err := e.registerUsers(ctx, "rm", members)
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
	nAdd := members - 1 - joiners
	timed := nmsg + burst
	life := 10*time.Minute + time.Duration(nmsg)*time.Second
	o.logf("room-big: room %s; connecting %d members", rid, nAdd)
	// Connected before they are added: a member added while offline would
	// start the grace period after which the server removes them.
	pool, err := startPool(ctx, e, toks[1:1+nAdd], roomJob(rid, timed), life)
	if err != nil {
		return nil, err
	}
	defer pool.close()
	r.ConnectSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	o.logf("room-big: %d connected in %.1f s; adding them to the room", pool.ready, r.ConnectSeconds)
	if err := e.addRoomMembers(ctx, rid, names[1:1+nAdd]); err != nil {
		return nil, err
	}
	r.AddSeconds = time.Since(t0).Seconds()
	if joiners > 0 {
		o.logf("room-big: %d added in %.1f s; %d more connect and join", nAdd, r.AddSeconds, joiners)
		t0 = time.Now()
		job := roomJob(rid, timed)
		job.Join = rid
		jp, err := startPool(ctx, e, toks[1+nAdd:], job, life)
		if err != nil {
			return nil, err
		}
		r.JoinSeconds = time.Since(t0).Seconds()
		pool.absorb(jp)
		if pool.joinFailed > 0 {
			r.ConnFailures = append(r.ConnFailures, fmt.Sprintf("%d joins failed (first: %s)", pool.joinFailed, pool.joinErr))
		}
	}
	r.Joined, r.JoinMS = pool.joined, pool.joins.Summary()
	r.Connected, r.Workers = pool.ready, len(pool.workers)
	recipients := int64(r.Connected)
	// Room events of the additions (coalesced every 200 ms) are not what
	// is measured: let them go first.
	if err := sleepCtx(ctx, 300*time.Millisecond); err != nil {
		return nil, err
	}

	body := messageText(o.BodyBytes)
	// Streams: 0 the paced and burst messages (k < timed), 1 the warm-up.
	var warm, paced, bursted roomSent
	base := readRoomCounters(ctx, e)
	if err := sendRoom(ctx, sender, rid, []roomMsg{{tagUntimed, 1, 0, "normal"}}, 1, body, &warm); err != nil || warm.n != 1 {
		return r, fmt.Errorf("warm-up message: %v %v", err, warm.codes)
	}
	if _, err := waitItems(ctx, pool, nil, recipients, 10*time.Millisecond, 5*time.Second, 30*time.Second); err != nil {
		return r, err
	}

	o.logf("room-big: %d members; one message a second for %d s", r.Connected, nmsg)
	s0 := e.sample(ctx)
	tp := time.Now()
	msgs := make([]roomMsg, nmsg)
	for k := range msgs {
		msgs[k] = roomMsg{tagTimed, 0, int64(k), "normal"}
	}
	for k := range msgs {
		if err := sleepCtx(ctx, time.Until(tp.Add(time.Duration(k)*time.Second))); err != nil {
			return r, err
		}
		// One at a time: paced.sentAt and ackAt are indexed by k.
		var one roomSent
		if err := sendRoom(ctx, sender, rid, msgs[k:k+1], 1, body, &one); err != nil {
			return r, fmt.Errorf("paced message %d: %w", k, err)
		}
		paced.merge(&one, k)
	}
	if _, err := waitItems(ctx, pool, nil, int64(1+paced.n)*recipients, 20*time.Millisecond, 5*time.Second,
		30*time.Second); err != nil {
		return r, err
	}
	s1 := e.sample(ctx)
	r.PacedSeconds = time.Since(tp).Seconds()
	r.PacedCPUPct = -1
	if s0.CPUSeconds >= 0 && s1.CPUSeconds >= 0 {
		r.PacedCPUPct = cpuPct(s1.CPUSeconds-s0.CPUSeconds, r.PacedSeconds)
	}

	o.logf("room-big: a burst of %d messages", burst)
	msgs = make([]roomMsg, burst)
	for j := range msgs {
		msgs[j] = roomMsg{tagTimed, 0, int64(nmsg + j), "normal"}
	}
	cb := readRoomCounters(ctx, e)
	s0 = e.sample(ctx)
	c0 := selfCPU() + pool.cpu()
	mm := startMachineMeter()
	tb := time.Now()
	if err := sendRoom(ctx, sender, rid, msgs, protocolMaxPipelined, body, &bursted); err != nil {
		return r, fmt.Errorf("burst: %w", err)
	}
	if _, err := waitItems(ctx, pool, nil, int64(1+paced.n+bursted.n)*recipients, 20*time.Millisecond, 5*time.Second,
		time.Minute); err != nil {
		return r, err
	}
	wall := time.Since(tb).Seconds()
	s1 = e.sample(ctx)
	c1 := selfCPU() + pool.cpu()
	r.loadFigures = newLoadFigures(s0, s1, c1-c0, mm.pct(), wall)
	ce := readRoomCounters(ctx, e)
	r.Server, r.ServerBurst = ce.sub(base), ce.sub(cb)
	if pool.failed > 0 {
		r.ConnFailures = append(r.ConnFailures, fmt.Sprintf("%d members failed to connect (first: %s)", pool.failed, pool.firstErr))
	}
	for c, n := range paced.codes {
		r.Errors[c] += n
	}
	for c, n := range bursted.codes {
		r.Errors[c] += n
	}

	acked := []bitset{nil, nil}
	for _, s := range []*roomSent{&paced, &bursted} {
		if len(s.acked) > 0 {
			acked[0].or(s.acked[0])
		}
	}
	acked[1].set(0)
	rep, dropped, err := pool.verify(acked)
	if err != nil {
		return r, err
	}
	r.Dropped, r.DropError = dropped, pool.dropErr
	r.Expected = int64(warm.n+paced.n+bursted.n) * recipients
	r.Received, r.Missing, r.Dups, r.Extra, r.FirstGap = rep.Items, rep.Missing, rep.Dups, rep.Extra, rep.FirstMissing

	lats := func(k int) []int64 {
		var l []int64
		if k < len(rep.Timed) {
			l = rep.Timed[k]
		}
		slices.Sort(l)
		return l
	}
	var last, p50, ack []float64
	for k := range nmsg {
		l := lats(k)
		run := GroupMessageRun{Got: len(l)}
		if len(l) > 0 {
			run.LastMS, run.P50MS = float64(l[len(l)-1])/1000, float64(l[(len(l)-1)/2])/1000
		}
		if k < len(paced.ackAt) && !paced.ackAt[k].IsZero() {
			run.AckMS = ms(paced.ackAt[k].Sub(paced.sentAt[k]))
		}
		r.Runs = append(r.Runs, run)
		last, p50, ack = append(last, run.LastMS), append(p50, run.P50MS), append(ack, run.AckMS)
	}
	r.LastMS, r.P50MS, r.AckMS = statOf(last), statOf(p50), statOf(ack)

	r.BurstAcked = bursted.n
	var lastWrite, lastAck, done time.Time
	last, p50 = nil, nil
	for j := range burst {
		lastWrite = maxTime(lastWrite, bursted.sentAt[j])
		lastAck = maxTime(lastAck, bursted.ackAt[j])
		l := lats(nmsg + j)
		r.BurstDeliveries += int64(len(l))
		if int64(len(l)) < recipients {
			r.BurstIncomplete++
		}
		if len(l) == 0 {
			continue
		}
		lm := float64(l[len(l)-1]) / 1000
		last, p50 = append(last, lm), append(p50, float64(l[(len(l)-1)/2])/1000)
		done = maxTime(done, bursted.sentAt[j].Add(time.Duration(l[len(l)-1])*time.Microsecond))
		if j == burst-1 {
			r.BurstFinalMS = lm
		}
	}
	if burst > 0 {
		r.BurstSendMS, r.BurstAckMS = ms(lastWrite.Sub(tb)), ms(lastAck.Sub(tb))
		if !done.IsZero() {
			r.BurstDoneMS = ms(done.Sub(tb))
			r.BurstPerSec = float64(r.BurstDeliveries) / done.Sub(tb).Seconds()
		}
	}
	r.BurstLastMS, r.BurstP50MS = statOf(last), statOf(p50)
	pool.close()
	printRoomBig(o, r)
	shed := int64(r.Server.Dropped[0] + r.Server.Dropped[1] + r.Server.Dropped[2])
	if r.Dups > 0 || r.Extra > 0 || r.Missing > shed {
		return r, fmt.Errorf("room deliveries: %d missing (%d shed by the server), %d duplicated, %d unexpected (first missing: %s)",
			r.Missing, shed, r.Dups, r.Extra, r.FirstGap)
	}
	return r, nil
}

// merge records one message sent alone (one's index 0) as message i.
func (s *roomSent) merge(one *roomSent, i int) {
	if s.codes == nil {
		s.codes = map[string]int64{}
	}
	for len(s.sentAt) <= i {
		s.sentAt, s.ackAt = append(s.sentAt, time.Time{}), append(s.ackAt, time.Time{})
	}
	if len(one.sentAt) > 0 {
		s.sentAt[i], s.ackAt[i] = one.sentAt[0], one.ackAt[0]
	}
	for st, b := range one.acked {
		for len(s.acked) <= st {
			s.acked = append(s.acked, nil)
		}
		s.acked[st].or(b)
	}
	for c, n := range one.codes {
		s.codes[c] += n
	}
	s.n += one.n
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func printRoomBig(o *Options, r *RoomBigResult) {
	t := &table{title: fmt.Sprintf("room-big — %s, a chat room of %s members, all connected; %d messages one a second, then a burst of %d; %d-byte text",
		r.Backend, num(float64(r.Members)), r.Messages, r.Burst, r.BodyBytes)}
	t.add("setup", "users %.1f s, room+tokens+connections %.1f s (%d workers), added over REST %.1f s", r.UsersSeconds,
		r.ConnectSeconds, r.Workers, r.AddSeconds)
	if r.Joiners > 0 {
		j := r.JoinMS
		t.add("joined over the protocol", "%d of %d in %.1f s; per join p50 %s  p99 %s  max %s", r.Joined, r.Joiners,
			r.JoinSeconds, fmtMS(j.P50), fmtMS(j.P99), fmtMS(j.Max))
	}
	t.add("recipients connected", "%s (the sender's device excluded)", num(float64(r.Connected)))
	ok := r.LastMS.Max > 0 && r.LastMS.Max < 1000 && r.Missing == 0
	t.add("paced: send → last member", "min %s  median %s  max %s   (target < 1 s: %s)", fmtMS(r.LastMS.Min),
		fmtMS(r.LastMS.Median), fmtMS(r.LastMS.Max), verdict(ok))
	t.add("paced: send → median member", "min %s  median %s  max %s", fmtMS(r.P50MS.Min), fmtMS(r.P50MS.Median),
		fmtMS(r.P50MS.Max))
	t.add("paced: send → ack", "min %s  median %s  max %s", fmtMS(r.AckMS.Min), fmtMS(r.AckMS.Median), fmtMS(r.AckMS.Max))
	t.add("paced: server CPU", "%s", pct(r.PacedCPUPct))
	t.add("burst: written / acked", "%d in %s / %d in %s", r.Burst, fmtMS(r.BurstSendMS), r.BurstAcked, fmtMS(r.BurstAckMS))
	t.add("burst: every member has every message", "%s after the first send; deliveries %s /s (%s)", fmtMS(r.BurstDoneMS),
		num(r.BurstPerSec), num(float64(r.BurstDeliveries)))
	t.add("burst: per message, send → last member", "min %s  median %s  max %s; the last message %s",
		fmtMS(r.BurstLastMS.Min), fmtMS(r.BurstLastMS.Median), fmtMS(r.BurstLastMS.Max), fmtMS(r.BurstFinalMS))
	t.add("burst: per message, send → median member", "min %s  median %s  max %s", fmtMS(r.BurstP50MS.Min),
		fmtMS(r.BurstP50MS.Median), fmtMS(r.BurstP50MS.Max))
	t.add("deliveries expected / received", "%s / %s", num(float64(r.Expected)), num(float64(r.Received)))
	t.add("missing / duplicated / unexpected", "%d / %d / %d", r.Missing, r.Dups, r.Extra)
	if r.Missing > 0 {
		t.add("  first missing", "%s; burst messages some member lacks: %d", r.FirstGap, r.BurstIncomplete)
	}
	t.add("server: room frames queued / shed", "%s / low %s, normal %s, high %s (whole run; burst: %s shed)",
		num(r.Server.Deliveries), num(r.Server.Dropped[0]), num(r.Server.Dropped[1]), num(r.Server.Dropped[2]),
		num(r.ServerBurst.Dropped[0]+r.ServerBurst.Dropped[1]+r.ServerBurst.Dropped[2]))
	if r.DropError != "" {
		t.add("member connections dropped", "%d (first: %s)", r.Dropped, r.DropError)
	} else {
		t.add("member connections dropped", "%d", r.Dropped)
	}
	r.loadFigures.addTo(t)
	t.print(o.Out)
}
