package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Hist is a log-bucketed latency histogram in microseconds, HDR style: values
// below 64 µs have their own bucket, above that every power of two is split
// into 64 buckets, so a reported percentile is within 1/64 (1.6 %) of the
// true value. Exact count, sum, min and max are kept beside the buckets.
// A Hist is not safe for concurrent use: give each goroutine its own and
// Merge them.
type Hist struct {
	counts [histBuckets]uint64
	n      uint64
	sum    uint64
	min    uint64
	max    uint64
}

const (
	subBits     = 6
	subCount    = 1 << subBits
	maxExp      = 40 // values up to 2^46 µs (~2 years) have a bucket
	histBuckets = (maxExp + 1) * subCount
)

// bucketOf returns the bucket index of v (µs).
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v >> e is in [64, 128)
	i := (e+1)<<subBits + int(v>>uint(e)-subCount)
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// bucketLow and bucketHigh are the smallest and largest values of bucket i.
func bucketLow(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := i>>subBits - 1
	return (uint64(i&(subCount-1)) + subCount) << uint(e)
}

func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := i>>subBits - 1
	return bucketLow(i) + (1 << uint(e)) - 1
}

// Record adds one duration (negative counts as 0).
func (h *Hist) Record(d time.Duration) {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	h.RecordMicros(us)
}

// RecordMicros adds one value in microseconds.
func (h *Hist) RecordMicros(us uint64) {
	h.counts[bucketOf(us)]++
	if h.n == 0 || us < h.min {
		h.min = us
	}
	if us > h.max {
		h.max = us
	}
	h.n++
	h.sum += us
}

// Merge adds o's values to h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of recorded values.
func (h *Hist) Count() uint64 { return h.n }

// Max is the largest recorded value.
func (h *Hist) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Mean is the mean of the recorded values.
func (h *Hist) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/h.n) * time.Microsecond
}

// Quantile returns the value at quantile q (0..1): the upper edge of the
// bucket holding the ceil(q·n)-th smallest value, clamped to the recorded
// min and max, so it never understates a tail.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := min(max(bucketHigh(i), h.min), h.max)
			return time.Duration(v) * time.Microsecond
		}
	}
	return h.Max()
}

// Summary is a histogram's percentiles in milliseconds, for reports.
type Summary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// Summary returns the standard percentiles.
func (h *Hist) Summary() Summary {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Summary{Count: h.n, Mean: ms(h.Mean()), P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max())}
}

// histJSON is a Hist on the wire between a worker process and the bench:
// the non-empty buckets as [index, count] pairs, and the exact figures.
type histJSON struct {
	Buckets [][2]uint64 `json:"buckets"`
	N       uint64      `json:"n"`
	Sum     uint64      `json:"sum"`
	Min     uint64      `json:"min"`
	Max     uint64      `json:"max"`
}

// MarshalJSON encodes the histogram losslessly (sparse buckets).
func (h *Hist) MarshalJSON() ([]byte, error) {
	j := histJSON{Buckets: [][2]uint64{}, N: h.n, Sum: h.sum, Min: h.min, Max: h.max}
	for i, c := range h.counts {
		if c > 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote, replacing h's values.
func (h *Hist) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var n uint64
	for _, bc := range j.Buckets {
		if bc[0] >= histBuckets {
			return fmt.Errorf("histogram bucket %d out of range", bc[0])
		}
		n += bc[1]
	}
	if n != j.N {
		return fmt.Errorf("histogram buckets hold %d values, want %d", n, j.N)
	}
	*h = Hist{n: j.N, sum: j.Sum, min: j.Min, max: j.Max}
	for _, bc := range j.Buckets {
		h.counts[bc[0]] += bc[1]
	}
	return nil
}
