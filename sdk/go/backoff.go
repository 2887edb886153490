package parley

import (
	"math/rand/v2"
	"time"
)

// backoff returns the delay before reconnect attempt n (0-based): min
// doubled n times, capped at max, then jittered into [d/2, d] by r, a random
// number in [0, 1).
func backoff(n int, min, max time.Duration, r float64) time.Duration {
	d := min
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(float64(d-half)*r)
}

// jitter is the random source of backoff.
func jitter() float64 { return rand.Float64() }
