// Package ratelimit is token-bucket rate limiting: a Rate ("100/s burst
// 200"), a Bucket for one caller (a WebSocket connection), and a Limiter of
// buckets by key (apps, users, client addresses) whose idle buckets expire,
// so its memory stays bounded. Limits are kept in this node's memory; how
// they add up across a cluster is the caller's business (docs/operations.md,
// "Rate limits").
package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/protocol"
)

// Rate is a token bucket's refill rate and capacity: Burst requests at
// once, then PerSecond on average. The zero Rate is unlimited.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Unlimited reports whether r lets everything through.
func (r Rate) Unlimited() bool { return r.PerSecond <= 0 || r.Burst <= 0 }

// MaxCount bounds N in a rate ("N/s") and a burst.
const MaxCount = 1_000_000

// ParseRate reads "N/s" or "N/m" (N requests per second or minute, at most
// N at once), optionally followed by " burst B" (at most B at once), or
// "off" (unlimited).
func ParseRate(s string) (Rate, error) {
	f := strings.Fields(s)
	if len(f) == 1 && strings.EqualFold(f[0], "off") {
		return Rate{}, nil
	}
	if len(f) != 1 && (len(f) != 3 || !strings.EqualFold(f[1], "burst")) {
		return Rate{}, fmt.Errorf("want N/s, N/m, \"N/s burst B\" or off, got %q", s)
	}
	num, unit, ok := strings.Cut(f[0], "/")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 || n > MaxCount {
		return Rate{}, fmt.Errorf("want N/s or N/m with N 1..%d, got %q", MaxCount, f[0])
	}
	r := Rate{Burst: n}
	switch unit {
	case "s":
		r.PerSecond = float64(n)
	case "m":
		r.PerSecond = float64(n) / 60
	default:
		return Rate{}, fmt.Errorf("want a rate per second (/s) or minute (/m), got %q", f[0])
	}
	if len(f) == 3 {
		b, err := strconv.Atoi(f[2])
		if err != nil || b < 1 || b > MaxCount {
			return Rate{}, fmt.Errorf("want a burst 1..%d, got %q", MaxCount, f[2])
		}
		r.Burst = b
	}
	return r, nil
}

// MustRate is ParseRate for constants.
func MustRate(s string) Rate {
	r, err := ParseRate(s)
	if err != nil {
		panic(err)
	}
	return r
}

// String writes r back in ParseRate's syntax.
func (r Rate) String() string {
	if r.Unlimited() {
		return "off"
	}
	n, unit := r.PerSecond, "s"
	if n < 1 || n != math.Trunc(n) {
		n, unit = r.PerSecond*60, "m"
	}
	s := strconv.FormatFloat(n, 'f', -1, 64) + "/" + unit
	if float64(r.Burst) != n {
		s += " burst " + strconv.Itoa(r.Burst)
	}
	return s
}

// Share is the part of r one of n nodes enforces, so that n nodes together
// let about r through: rate and burst divided by n (the burst at least 1).
func (r Rate) Share(n int) Rate {
	if n <= 1 || r.Unlimited() {
		return r
	}
	return Rate{PerSecond: r.PerSecond / float64(n), Burst: max(1, r.Burst/n)}
}

// Bucket is one caller's token bucket. The zero Bucket is full. It is not
// safe for concurrent use (a Limiter guards its own).
type Bucket struct {
	tokens float64
	last   time.Time
}

// Take spends a token under rate r at now. It returns 0 when the request
// may go ahead, else how long until a token is there (nothing is spent).
// The rate may change between calls; the bucket keeps its level, capped at
// the new burst.
func (b *Bucket) Take(r Rate, now time.Time) time.Duration {
	if r.Unlimited() {
		return 0
	}
	burst := float64(r.Burst)
	if b.last.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Seconds() * r.PerSecond
	}
	b.tokens = min(b.tokens, burst)
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration(math.Ceil((1 - b.tokens) / r.PerSecond * float64(time.Second)))
}

// fullAt is when the bucket will be full again under r: from then on it is
// indistinguishable from a new one and may be forgotten.
func (b *Bucket) fullAt(r Rate) time.Time {
	if r.Unlimited() {
		return b.last
	}
	return b.last.Add(time.Duration((float64(r.Burst) - b.tokens) / r.PerSecond * float64(time.Second)))
}

// sweepEvery is how often a Limiter forgets buckets that are full again.
const sweepEvery = 10 * time.Second

// Limiter holds a bucket per key. Buckets that have refilled are dropped
// (every 10 s), and at most MaxKeys are kept: when a flood of distinct keys
// fills it with live buckets, a tenth of them (arbitrary ones) are
// forgotten, which lets those keys start again with a full bucket — it errs
// towards letting requests through rather than growing without bound.
type Limiter struct {
	MaxKeys int

	mu        sync.Mutex
	buckets   map[string]*entry
	lastSweep time.Time
}

type entry struct {
	Bucket
	full time.Time // when it will be full again (may be forgotten)
}

// NewLimiter builds a limiter keeping at most maxKeys buckets.
func NewLimiter(maxKeys int) *Limiter {
	return &Limiter{MaxKeys: max(maxKeys, 1), buckets: map[string]*entry{}}
}

// Take spends a token from key's bucket under r (see Bucket.Take).
func (l *Limiter) Take(key string, r Rate, now time.Time) time.Duration {
	if r.Unlimited() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	e := l.buckets[key]
	if e == nil {
		if len(l.buckets) >= l.MaxKeys {
			l.sweep(now)
			l.evict(max(1, l.MaxKeys/10))
		}
		e = &entry{}
		l.buckets[key] = e
	}
	wait := e.Take(r, now)
	e.full = e.fullAt(r)
	return wait
}

// Len is how many buckets are held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// sweep drops the buckets that are full again (mu held).
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, e := range l.buckets {
		if !now.Before(e.full) {
			delete(l.buckets, k)
		}
	}
}

// evict drops up to n arbitrary buckets while over the limit (mu held).
func (l *Limiter) evict(n int) {
	for k := range l.buckets {
		if n == 0 || len(l.buckets) < l.MaxKeys {
			return
		}
		delete(l.buckets, k)
		n--
	}
}

// Error is a request refused by a rate limit: an *errs.Error of kind
// rate_limited (through Unwrap) and when to retry.
type Error struct {
	RetryAfter time.Duration
	Err        *errs.Error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// RetrySeconds is RetryAfter in whole seconds, rounded up, at least 1 (the
// Retry-After header's unit).
func (e *Error) RetrySeconds() int64 {
	return max(1, int64((e.RetryAfter+time.Second-1)/time.Second))
}

// Refused builds the error of a request over the limit named by what
// ("app acme#chat, class token"), to retry after wait.
func Refused(what string, wait time.Duration) *Error {
	e := &Error{RetryAfter: wait}
	e.Err = errs.New(protocol.ErrRateLimited, "rate limit of %s exceeded; retry after %d s", what, e.RetrySeconds())
	return e
}
