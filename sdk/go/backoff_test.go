package parley

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const min, max = 500 * time.Millisecond, 30 * time.Second
	tests := []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{0, 0.999999, 500 * time.Millisecond},
		{0, 0, 250 * time.Millisecond},
		{1, 0.999999, time.Second},
		{2, 0.999999, 2 * time.Second},
		{3, 0.5, 3 * time.Second}, // 4s jittered to the middle of [2s, 4s]
		{5, 0.999999, 16 * time.Second},
		{6, 0.999999, 30 * time.Second}, // 32s capped
		{6, 0, 15 * time.Second},
		{60, 0.999999, 30 * time.Second}, // no overflow
		{1000, 0, 15 * time.Second},
	}
	for _, tt := range tests {
		got := backoff(tt.attempt, min, max, tt.r)
		if diff := got - tt.want; diff < -time.Millisecond || diff > time.Millisecond {
			t.Errorf("backoff(%d, r=%v) = %v, want %v", tt.attempt, tt.r, got, tt.want)
		}
	}
}

func TestBackoff_Bounds(t *testing.T) {
	for attempt := range 20 {
		for range 50 {
			d := backoff(attempt, 50*time.Millisecond, time.Second, jitter())
			if d < 25*time.Millisecond || d > time.Second {
				t.Fatalf("backoff(%d) = %v, outside [25ms, 1s]", attempt, d)
			}
		}
	}
}
