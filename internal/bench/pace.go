package bench

import "time"

// pace is the open-loop schedule of one sender among n that together offer
// rate messages per second: the aggregate stream is evenly spaced (one
// message every 1/rate s) and dealt round-robin, so sender idx sends the
// messages numbered idx, idx+n, idx+2n, ... of the aggregate. Message k of
// sender idx is due at floor((k·n + idx) · 1e9 / rate) ns after the start.
// Integer math keeps schedule and due count exactly consistent.
type pace struct {
	idx, n int
	rate   int64 // messages per second, all senders together
}

// at is the intended send offset of this sender's message k (0-based).
func (p pace) at(k int64) time.Duration {
	return time.Duration((k*int64(p.n) + int64(p.idx)) * int64(time.Second) / p.rate)
}

// due is how many of this sender's messages are due by offset t, that is
// the number of k >= 0 with at(k) <= t.
func (p pace) due(t time.Duration) int64 {
	if t < 0 || p.rate <= 0 || p.n <= 0 {
		return 0
	}
	// floor(a·1e9/rate) <= t  <=>  a <= (t+1)·rate/1e9 - 1/1e9, i.e.
	// a·1e9 < (t+1)·rate  <=>  a < ceil((t+1)·rate / 1e9).
	limit := ceilDiv((int64(t)+1)*p.rate, int64(time.Second)) // a < limit
	if limit <= int64(p.idx) {
		return 0
	}
	return (limit-1-int64(p.idx))/int64(p.n) + 1
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// maxPaceRate bounds --rate so that the schedule's int64 math cannot
// overflow for any duration up to maxPaceDuration.
const (
	maxPaceRate     = 1_000_000
	maxPaceDuration = time.Hour
)
