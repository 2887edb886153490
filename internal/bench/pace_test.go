package bench

import (
	"testing"
	"time"
)

func TestPaceSchedule(t *testing.T) {
	tests := []struct {
		name  string
		p     pace
		k     int64
		at    time.Duration
		dueAt time.Duration // due(dueAt) is checked against wantDue
		want  int64
	}{
		{"first of sender 0 is due at once", pace{0, 4, 1000}, 0, 0, 0, 1},
		{"sender 1 of 4 at 1000/s starts at 1 ms", pace{1, 4, 1000}, 0, time.Millisecond, time.Millisecond - 1, 0},
		{"sender 1 second message", pace{1, 4, 1000}, 1, 5 * time.Millisecond, 5 * time.Millisecond, 2},
		{"one sender, 3 per second", pace{0, 1, 3}, 1, 333333333, 333333333, 2},
		{"one sender, just before the 2nd", pace{0, 1, 3}, 2, 666666666, 333333332, 1},
		{"100 senders at 5000/s, one second", pace{99, 100, 5000}, 49, 999800 * time.Microsecond, time.Second, 50},
		{"negative time", pace{0, 10, 100}, 0, 0, -time.Second, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.at(tc.k); got != tc.at {
				t.Errorf("at(%d) = %v, want %v", tc.k, got, tc.at)
			}
			if got := tc.p.due(tc.dueAt); got != tc.want {
				t.Errorf("due(%v) = %d, want %d", tc.dueAt, got, tc.want)
			}
		})
	}
}

// due and at agree exactly: message k is due from at(k) on, not a
// nanosecond before; and all senders together offer exactly rate per second.
func TestPaceConsistency(t *testing.T) {
	for _, c := range []struct {
		n    int
		rate int64
	}{{1, 1}, {3, 7}, {100, 5000}, {7, 1_000_000}, {100, 333}} {
		total := int64(0)
		for idx := range c.n {
			p := pace{idx, c.n, c.rate}
			for k := int64(0); k < 50; k++ {
				at := p.at(k)
				if p.due(at) != k+1 || (at > 0 && p.due(at-1) != k) {
					t.Fatalf("n=%d rate=%d idx=%d k=%d: at=%v due(at)=%d due(at-1)=%d", c.n, c.rate, idx, k, at,
						p.due(at), p.due(at-1))
				}
			}
			total += p.due(10*time.Second - 1)
		}
		if total != 10*c.rate {
			t.Errorf("n=%d rate=%d: %d messages due in 10 s, want %d", c.n, c.rate, total, 10*c.rate)
		}
	}
	// No overflow at the limits: the last of 500,000 senders at 1M/s sends
	// two per second (at 0.499999 s, 0.999999 s, ...), 7,200 in an hour.
	p := pace{maxPaceRate/2 - 1, maxPaceRate / 2, maxPaceRate}
	if got := p.due(maxPaceDuration); got != 7200 {
		t.Errorf("due at the limits = %d, want 7200", got)
	}
	if got := p.at(7199); got != maxPaceDuration-time.Microsecond {
		t.Errorf("at(7199) = %v", got)
	}
}
