package bench

import (
	"math"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 4095, 4096, 1 << 20, 123456789, 1 << 40} {
		i := bucketOf(v)
		lo, hi := bucketLow(i), bucketHigh(i)
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d [%d, %d]", v, i, lo, hi)
		}
		if v >= subCount && float64(hi-lo+1)/float64(lo) > 1.0/subCount+1e-9 {
			t.Errorf("bucket %d [%d, %d] is wider than 1/%d", i, lo, hi, subCount)
		}
	}
	// Buckets tile the line: each starts right after the previous ends.
	for i := 1; i < histBuckets; i++ {
		if bucketLow(i) != bucketHigh(i-1)+1 {
			t.Fatalf("gap between buckets %d and %d: %d, %d", i-1, i, bucketHigh(i-1), bucketLow(i))
		}
	}
	if bucketOf(math.MaxUint64) != histBuckets-1 {
		t.Error("huge values must land in the last bucket")
	}
}

func TestQuantiles(t *testing.T) {
	uniform := func(n int) []uint64 {
		v := make([]uint64, n)
		for i := range v {
			v[i] = uint64(i + 1)
		}
		return v
	}
	tests := []struct {
		name   string
		values []uint64 // µs
		q      float64
		want   uint64 // exact quantile, µs
	}{
		{"single", []uint64{700}, 0.5, 700},
		{"single p99.9", []uint64{700}, 0.999, 700},
		{"small exact p50", []uint64{1, 2, 3, 4, 5}, 0.5, 3},
		{"small exact max", []uint64{1, 2, 3, 4, 5}, 1, 5},
		{"small exact min", []uint64{10, 20, 30}, 0, 10},
		{"uniform p50", uniform(100000), 0.5, 50000},
		{"uniform p90", uniform(100000), 0.9, 90000},
		{"uniform p99", uniform(100000), 0.99, 99000},
		{"uniform p99.9", uniform(100000), 0.999, 99900},
		{"tail", append(uniform(990), 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000,
			1_000_000, 1_000_000, 1_000_000), 0.99, 990},
		{"tail p99.9", append(uniform(990), 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000,
			1_000_000, 1_000_000, 1_000_000), 0.999, 1_000_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Hist
			for _, v := range tc.values {
				h.RecordMicros(v)
			}
			got := uint64(h.Quantile(tc.q) / time.Microsecond)
			// The upper edge of the right bucket: never below the truth,
			// at most 1/64 above it.
			if got < tc.want || float64(got) > float64(tc.want)*(1+1.0/subCount)+1 {
				t.Errorf("quantile %v = %d µs, want %d (+1.6%%)", tc.q, got, tc.want)
			}
		})
	}
}

func TestHistMergeAndSummary(t *testing.T) {
	var a, b, empty Hist
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 || empty.Summary().Count != 0 {
		t.Error("empty histogram must report zeros")
	}
	for i := 1; i <= 500; i++ {
		a.Record(time.Duration(i) * time.Millisecond)
	}
	for i := 501; i <= 1000; i++ {
		b.Record(time.Duration(i) * time.Millisecond)
	}
	b.Record(-time.Second) // clock skew: counts as 0
	a.Merge(&b)
	a.Merge(&empty)
	s := a.Summary()
	if s.Count != 1001 || s.Max != 1000 {
		t.Errorf("count %d max %v", s.Count, s.Max)
	}
	if s.P50 < 500 || s.P50 > 500*1.02 {
		t.Errorf("p50 = %v ms, want ~500", s.P50)
	}
	if s.P99 < 990 || s.P99 > 1000 {
		t.Errorf("p99 = %v ms, want 990..1000", s.P99)
	}
	if a.Quantile(0) != 0 {
		t.Errorf("min = %v, want 0", a.Quantile(0))
	}
}

func TestHist_JSONRoundTrip(t *testing.T) {
	var h Hist
	for _, v := range []uint64{0, 3, 64, 1000, 1000, 123456, 1 << 30} {
		h.RecordMicros(v)
	}
	for _, in := range []*Hist{{}, &h} {
		b, err := in.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var out Hist
		if err := out.UnmarshalJSON(b); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if out != *in {
			t.Errorf("round trip of %s changed the histogram", b)
		}
	}
	var bad Hist
	for _, b := range []string{`{"buckets":[[1,2]],"n":3}`, `{"buckets":[[999999,1]],"n":1}`, `[`} {
		if err := bad.UnmarshalJSON([]byte(b)); err == nil {
			t.Errorf("%s: want an error", b)
		}
	}
}
