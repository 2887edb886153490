// Package blobtest is the blob.Store conformance suite, run against every
// implementation.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/blob"
)

// Sizes around which implementations change strategy (the S3 store sends
// content over one part as a multipart upload), so the suite crosses them.
const (
	mib   = 1 << 20
	large = 20 * mib // three parts of 8 MiB
)

// Run runs the suite. newStore returns an empty store for one test; the
// suite closes it. Backends check in their own t.Cleanup that nothing is
// left behind (temp files, incomplete uploads).
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	open := func(t *testing.T) blob.Store {
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	tests := []struct {
		name string
		f    func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Streams", testStreams},
		{"ContentType", testContentType},
		{"Stat", testStat},
		{"Ranges", testRanges},
		{"RangeErrors", testRangeErrors},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
		{"Limit", testLimit},
		{"FailedPutLeavesNothing", testFailedPut},
		{"InvalidKeys", testInvalidKeys},
		{"Concurrent", testConcurrent},
		{"ReadersSeeWholeObjects", testWholeObjects},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, open(t)) })
	}
}

// content is a deterministic pseudo-random stream of n bytes. It is a plain
// io.Reader (no Len, Seek or WriterTo), so a store cannot learn the size
// in advance and must stream.
func content(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8(seedBytes(seed)), n)
}

func seedBytes(seed uint64) (s [32]byte) {
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

func sum(t *testing.T, r io.Reader) ([32]byte, int64) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return [32]byte(h.Sum(nil)), n
}

func bytesOf(t *testing.T, seed uint64, n int64) []byte {
	t.Helper()
	b, err := io.ReadAll(content(seed, n))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, s blob.Store, key string, b []byte, ct string) blob.Info {
	t.Helper()
	info, err := s.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), ct)
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	return info
}

func get(t *testing.T, s blob.Store, key string, off, n int64) ([]byte, blob.Info) {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key, off, n)
	if err != nil {
		t.Fatalf("Get %s %d %d: %v", key, off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get %s: read: %v", key, err)
	}
	return b, info
}

// absent fails unless key has no object (Stat and Get both say so).
func absent(t *testing.T, s blob.Store, key string) {
	t.Helper()
	if info, err := s.Stat(context.Background(), key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat %s = %+v, %v; want ErrNotFound", key, info, err)
	}
	if rc, _, err := s.Get(context.Background(), key, 0, -1); !errors.Is(err, blob.ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Fatalf("Get %s: %v; want ErrNotFound", key, err)
	}
}

// holds fails unless key holds exactly b with content type ct.
func holds(t *testing.T, s blob.Store, key string, b []byte, ct string) {
	t.Helper()
	got, info := get(t, s, key, 0, -1)
	if !bytes.Equal(got, b) || info.Size != int64(len(b)) || info.ContentType != ct || info.Key != key {
		t.Fatalf("%s holds %d bytes (%+v), want %d bytes of type %q", key, len(got), info, len(b), ct)
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	tests := []struct {
		name string
		key  string
		size int64
	}{
		{"empty", "empty", 0},
		{"one byte", "one", 1},
		{"small", "app1/0d1f6a2e-small", 1000},
		{"exactly one part", "app1/part", 8 * mib},
		{"large streamed", "app2/a.b_c-D/large", large},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			seed := uint64(i + 1)
			before := time.Now().Add(-2 * time.Second)
			info, err := s.Put(ctx, tc.key, content(seed, tc.size), tc.size, "application/x-test")
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now().Add(2 * time.Second)
			if info.Key != tc.key || info.Size != tc.size || info.ContentType != "application/x-test" ||
				info.Modified.Before(before) || info.Modified.After(after) {
				t.Fatalf("Put info = %+v", info)
			}
			rc, ginfo, err := s.Get(ctx, tc.key, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, n := sum(t, rc)
			rc.Close()
			want, _ := sum(t, content(seed, tc.size))
			if got != want || n != tc.size {
				t.Fatalf("Get returned %d bytes that differ from the %d put", n, tc.size)
			}
			if ginfo.Key != tc.key || ginfo.Size != tc.size || ginfo.ContentType != "application/x-test" ||
				ginfo.Modified.Before(before) || ginfo.Modified.After(after) {
				t.Fatalf("Get info = %+v", ginfo)
			}
		})
	}
}

// testStreams: Put of content far larger than any buffer allocates much
// less than the content in all (so it never holds it whole), and Get
// streams it back.
func testStreams(t *testing.T, s blob.Store) {
	const size = 192 * mib
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := s.Put(context.Background(), "stream", content(11, size), size, ""); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/2 {
		t.Errorf("Put of %d MiB allocated %d MiB: not streaming", size/mib, alloc/mib)
	}
	rc, _, err := s.Get(context.Background(), "stream", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&before)
	got, n := sum(t, rc)
	runtime.ReadMemStats(&after)
	rc.Close()
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/2 {
		t.Errorf("reading a %d MiB Get allocated %d MiB: not streaming", size/mib, alloc/mib)
	}
	if want, _ := sum(t, content(11, size)); got != want || n != size {
		t.Fatalf("Get returned %d bytes that differ from the %d put", n, int64(size))
	}
	if err := s.Delete(context.Background(), "stream"); err != nil {
		t.Fatal(err)
	}
}

func testContentType(t *testing.T, s blob.Store) {
	tests := []struct{ in, want string }{
		{"", blob.DefaultContentType},
		{"image/png", "image/png"},
		{"text/plain; charset=utf-8", "text/plain; charset=utf-8"},
		{strings.Repeat("x", 255), strings.Repeat("x", 255)},
	}
	for i, tc := range tests {
		key := fmt.Sprintf("ct%d", i)
		info := put(t, s, key, []byte("data"), tc.in)
		st, err := s.Stat(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		_, g := get(t, s, key, 0, -1)
		if info.ContentType != tc.want || st.ContentType != tc.want || g.ContentType != tc.want {
			t.Errorf("type %q: Put %q, Stat %q, Get %q; want %q", tc.in, info.ContentType, st.ContentType, g.ContentType, tc.want)
		}
	}
	for _, bad := range []string{"text/plain\r\nX-Evil: 1", "caf\xc3\xa9/x", strings.Repeat("x", 256)} {
		if _, err := s.Put(context.Background(), "badct", strings.NewReader("data"), 10, bad); err == nil {
			t.Errorf("Put with content type %q succeeded", bad)
		}
	}
	absent(t, s, "badct")
}

func testStat(t *testing.T, s blob.Store) {
	before := time.Now().Add(-2 * time.Second)
	b := bytesOf(t, 7, 12345)
	put(t, s, "dir/stat", b, "audio/ogg")
	info, err := s.Stat(context.Background(), "dir/stat")
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "dir/stat" || info.Size != 12345 || info.ContentType != "audio/ogg" ||
		info.Modified.Before(before) || info.Modified.After(time.Now().Add(2*time.Second)) {
		t.Fatalf("Stat = %+v", info)
	}
	// "dir" is only a prefix of a key, not an object.
	absent(t, s, "dir")
}

func testRanges(t *testing.T, s blob.Store) {
	const size = 1000
	b := bytesOf(t, 3, size)
	put(t, s, "r", b, "text/plain")
	tests := []struct {
		name   string
		off, n int64
	}{
		{"whole", 0, -1},
		{"whole, n = size", 0, size},
		{"start", 0, 10},
		{"middle", 500, 100},
		{"one byte in the middle", 123, 1},
		{"last byte", size - 1, 1},
		{"tail", 990, -1},
		{"n past the end", 990, 100},
		{"n huge", 5, 1<<63 - 1},
		{"from zero, n huge", 0, 1<<63 - 1},
		{"n zero", 10, 0},
		{"off at the end", size, -1},
		{"off at the end, n > 0", size, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, info := get(t, s, "r", tc.off, tc.n)
			end := int64(size)
			if tc.n >= 0 && tc.n < size-tc.off {
				end = tc.off + tc.n
			}
			if want := b[tc.off:end]; !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d (bytes %d..%d)", len(got), len(want), tc.off, end)
			}
			if info.Size != size || info.ContentType != "text/plain" || info.Key != "r" {
				t.Fatalf("info = %+v; Size must be the whole object's", info)
			}
		})
	}
	// A range of a large (multipart) object.
	lb := bytesOf(t, 4, 9*mib+17)
	put(t, s, "big", lb, "")
	off := int64(8*mib - 10)
	if got, _ := get(t, s, "big", off, 100); !bytes.Equal(got, lb[off:off+100]) {
		t.Fatal("range across the part boundary differs")
	}
}

func testRangeErrors(t *testing.T, s blob.Store) {
	put(t, s, "r", []byte("0123456789"), "")
	put(t, s, "e", nil, "")
	for _, tc := range []struct {
		key    string
		off, n int64
	}{{"r", 11, -1}, {"r", 11, 1}, {"r", 1 << 40, 10}, {"r", -1, -1}, {"r", -1, 5}, {"e", 1, -1}} {
		rc, _, err := s.Get(context.Background(), tc.key, tc.off, tc.n)
		if !errors.Is(err, blob.ErrRange) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Get(%s, %d, %d) err = %v, want ErrRange", tc.key, tc.off, tc.n, err)
		}
	}
	if got, _ := get(t, s, "e", 0, 10); len(got) != 0 {
		t.Fatalf("empty object gave %d bytes", len(got))
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	first := bytesOf(t, 1, 5000)
	second := []byte("short")
	put(t, s, "o", first, "image/jpeg")
	info := put(t, s, "o", second, "text/plain")
	if info.Size != int64(len(second)) {
		t.Fatalf("Put info = %+v", info)
	}
	holds(t, s, "o", second, "text/plain")
	// Replacing a large object with a small one and back.
	lb := bytesOf(t, 2, 9*mib)
	put(t, s, "o", lb, "video/mp4")
	holds(t, s, "o", lb, "video/mp4")
	put(t, s, "o", first, "image/jpeg")
	holds(t, s, "o", first, "image/jpeg")
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "a/d", []byte("x"), "")
	put(t, s, "a/keep", []byte("y"), "")
	if err := s.Delete(ctx, "a/d"); err != nil {
		t.Fatal(err)
	}
	absent(t, s, "a/d")
	holds(t, s, "a/keep", []byte("y"), blob.DefaultContentType)
	for _, key := range []string{"a/d", "never", "a", "a/keep/below"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete of missing %q: %v", key, err)
		}
	}
	holds(t, s, "a/keep", []byte("y"), blob.DefaultContentType)
	// A deleted key can be used again.
	put(t, s, "a/d", []byte("again"), "")
	holds(t, s, "a/d", []byte("again"), blob.DefaultContentType)
}

func testNotFound(t *testing.T, s blob.Store) {
	absent(t, s, "missing")
	absent(t, s, "no/such/dir/key")
	put(t, s, "x", []byte("x"), "")
	absent(t, s, "X") // keys are case-sensitive
	absent(t, s, "x.bak")
}

func testLimit(t *testing.T, s blob.Store) {
	ctx := context.Background()
	tests := []struct {
		name        string
		size, limit int64
	}{
		{"empty, limit 0", 0, 0},
		{"one byte, limit 0", 1, 0},
		{"small at the limit", 100, 100},
		{"small one over", 101, 100},
		{"far over", 100000, 100},
		{"one part at the limit", 8 * mib, 8 * mib},
		{"one part one over", 8*mib + 1, 8 * mib},
		{"large at the limit", 9 * mib, 9 * mib},
		{"large one over", 9*mib + 1, 9 * mib},
		{"large, small limit", 9 * mib, 1000},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("lim/%d", i)
			info, err := s.Put(ctx, key, content(uint64(i), tc.size), tc.limit, "")
			if tc.size > tc.limit {
				if !errors.Is(err, blob.ErrTooLarge) {
					t.Fatalf("Put of %d bytes with limit %d: %v, want ErrTooLarge", tc.size, tc.limit, err)
				}
				absent(t, s, key)
				return
			}
			if err != nil || info.Size != tc.size {
				t.Fatalf("Put of %d bytes with limit %d = %+v, %v", tc.size, tc.limit, info, err)
			}
			holds(t, s, key, bytesOf(t, uint64(i), tc.size), blob.DefaultContentType)
		})
	}
	t.Run("negative limit", func(t *testing.T) {
		if _, err := s.Put(ctx, "neg", strings.NewReader(""), -1, ""); err == nil {
			t.Fatal("Put with limit -1 succeeded")
		}
		absent(t, s, "neg")
	})
}

var errBoom = errors.New("boom")

// failingReader returns n bytes of content, then err.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// cancelingReader returns n bytes, then cancels its context and keeps
// returning content, as a client body would while the server gives up.
type cancelingReader struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	if c.n > 0 && int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// testFailedPut: a Put that fails midway (reader error, limit, context)
// leaves a new key absent and an existing key's object untouched.
func testFailedPut(t *testing.T, s blob.Store) {
	old := []byte("the previous object")
	tests := []struct {
		name  string
		after int64 // bytes read before the failure
		cause string
	}{
		{"reader error at once", 0, "reader"},
		{"reader error in first part", 1000, "reader"},
		{"reader error in a later part", 12 * mib, "reader"},
		{"cancel before Put", -1, "cancel"},
		{"cancel in first part", 1000, "cancel"},
		{"cancel in a later part", 12 * mib, "cancel"},
		{"limit in a later part", 12 * mib, "limit"},
	}
	for i, tc := range tests {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/existing=%v", tc.name, existing), func(t *testing.T) {
				key := fmt.Sprintf("fail/%d-%v", i, existing)
				if existing {
					put(t, s, key, old, "text/old")
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var r io.Reader
				limit := int64(large)
				want := errBoom
				switch tc.cause {
				case "reader":
					r = &failingReader{content(9, large), tc.after, errBoom}
				case "cancel":
					if tc.after < 0 {
						cancel()
						r = content(9, 100)
					} else {
						r = &cancelingReader{content(9, large), tc.after, cancel}
					}
					want = context.Canceled
				case "limit":
					limit = tc.after
					r = content(9, large)
					want = blob.ErrTooLarge
				}
				_, err := s.Put(ctx, key, r, limit, "text/new")
				if !errors.Is(err, want) {
					t.Fatalf("Put err = %v, want %v", err, want)
				}
				if existing {
					holds(t, s, key, old, "text/old")
				} else {
					absent(t, s, key)
				}
			})
		}
	}
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "b", []byte("b"), "")
	bad := []struct {
		key, victim string // victim: a valid key the bad one might touch
	}{
		{"", ""},
		{"/a", "a"},
		{"a/", "a"},
		{"a//b", "a/b"},
		{".", ""},
		{"..", ""},
		{"../a", "a"},
		{"a/../b", "b"},
		{"a/./b", "a/b"},
		{"a b", ""},
		{"a\\b", ""},
		{"a:b", ""},
		{"caf\xc3\xa9", ""},
		{"a\x00b", ""},
		{"a~", ""},
		{"a%2Fb", ""},
		{strings.Repeat("k", 256), ""},
		{strings.Repeat("k/", 256) + "k", ""}, // 513 bytes
	}
	for _, tc := range bad {
		if _, err := s.Put(ctx, tc.key, strings.NewReader("evil"), 100, ""); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put(%q) err = %v, want ErrInvalidKey", tc.key, err)
		}
		if _, _, err := s.Get(ctx, tc.key, 0, -1); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Get(%q) err = %v, want ErrInvalidKey", tc.key, err)
		}
		if _, err := s.Stat(ctx, tc.key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Stat(%q) err = %v, want ErrInvalidKey", tc.key, err)
		}
		if err := s.Delete(ctx, tc.key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%q) err = %v, want ErrInvalidKey", tc.key, err)
		}
		if tc.victim != "" && tc.victim != "b" {
			absent(t, s, tc.victim)
		}
	}
	holds(t, s, "b", []byte("b"), blob.DefaultContentType) // "a/../b" deleted nothing
	// The longest valid key is accepted.
	long := strings.Repeat("k", 255) + "/" + strings.Repeat("k", 254) + "/k" // 512 bytes
	put(t, s, long, []byte("long"), "")
	holds(t, s, long, []byte("long"), blob.DefaultContentType)
}

// testConcurrent runs Puts and Gets of distinct keys at once (meant for
// -race).
func testConcurrent(t *testing.T, s blob.Store) {
	const workers, rounds = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				key := fmt.Sprintf("c/%d/%d", w, r)
				seed := uint64(w*100 + r)
				size := int64(1000 * (w*rounds + r + 1))
				ctx := context.Background()
				if _, err := s.Put(ctx, key, content(seed, size), size, "x/y"); err != nil {
					errs <- fmt.Errorf("Put %s: %w", key, err)
					return
				}
				rc, info, err := s.Get(ctx, key, 0, -1)
				if err != nil {
					errs <- fmt.Errorf("Get %s: %w", key, err)
					return
				}
				h := sha256.New()
				_, err = io.Copy(h, rc)
				rc.Close()
				want := sha256.New()
				io.Copy(want, content(seed, size))
				if err != nil || !bytes.Equal(h.Sum(nil), want.Sum(nil)) || info.Size != size {
					errs <- fmt.Errorf("Get %s: content differs (%v)", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testWholeObjects: while a key is overwritten again and again, readers
// see one whole version or another, never a mix or a truncated one.
func testWholeObjects(t *testing.T, s blob.Store) {
	const size = 64 << 10
	versions := [][]byte{bytes.Repeat([]byte{'a'}, size), bytes.Repeat([]byte{'b'}, size)}
	put(t, s, "w", versions[0], "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Go(func() {
		for i := range 40 {
			v := versions[i%2]
			if _, err := s.Put(ctx, "w", bytes.NewReader(v), size, ""); err != nil {
				errs <- err
				return
			}
		}
	})
	var reads int
	var mu sync.Mutex
	for range 3 {
		wg.Go(func() {
			for range 40 {
				rc, info, err := s.Get(ctx, "w", 0, -1)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					errs <- err
					return
				}
				if info.Size != size || !(bytes.Equal(b, versions[0]) || bytes.Equal(b, versions[1])) {
					errs <- fmt.Errorf("read %d bytes that are not one whole version (info %+v)", len(b), info)
					return
				}
				mu.Lock()
				reads++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads != 120 {
		t.Errorf("%d reads completed, want 120", reads)
	}
}
