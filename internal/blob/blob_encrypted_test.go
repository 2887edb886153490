package blob_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/atrest"
	"github.com/parleyim/parley/internal/blob"
	"github.com/parleyim/parley/internal/blob/blobtest"
	"github.com/parleyim/parley/internal/testutil"
)

// The encrypted store is a Store like the others: same suite, over both
// drivers.
func TestEncrypted_Conformance(t *testing.T) {
	for name, under := range map[string]func(*testing.T) blob.Store{"local": newLocal, "s3": newS3} {
		t.Run(name, func(t *testing.T) {
			blobtest.Run(t, func(t *testing.T) blob.Store {
				return blob.NewEncrypted(under(t), key(t, "k1"), true)
			})
		})
	}
}

// readAll returns every byte under dir (the files as stored on disk).
func readAll(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	return all
}

func getString(t *testing.T, s blob.Store, key string, off, n int64) string {
	t.Helper()
	rc, _, err := s.Get(ctx, key, off, n)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b)
}

// Contents are not on disk in the clear, old plaintext objects stay
// readable, and rotation moves objects to the new key.
func TestEncrypted_AtRestAndRotation(t *testing.T) {
	dir := t.TempDir()
	local, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	const marker = "MARKER-7f3a-plaintext"
	content := strings.Repeat(marker+" ", 20000) // ~440 KB: several segments
	if _, err := local.Put(ctx, "old", strings.NewReader(content), int64(len(content)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	k1 := key(t, "k1")
	enc := blob.NewEncrypted(local, k1, true)
	info, err := enc.Put(ctx, "new", strings.NewReader(content), int64(len(content)), "text/plain")
	if err != nil || info.Size != int64(len(content)) {
		t.Fatalf("Put = %+v, %v", info, err)
	}
	os.Remove(filepath.Join(dir, "old")) // only the encrypted one now
	if bytes.Contains(readAll(t, dir), []byte(marker)) {
		t.Fatal("the marker is on disk in the clear")
	}
	local.Put(ctx, "old", strings.NewReader(content), int64(len(content)), "text/plain")
	for _, key := range []string{"old", "new"} {
		if got := getString(t, enc, key, 0, -1); got != content {
			t.Fatalf("%s: read back %d bytes, want %d", key, len(got), len(content))
		}
		if got := getString(t, enc, key, 70000, 100); got != content[70000:70100] {
			t.Fatalf("%s: range = %q", key, got)
		}
	}

	// Add k2: new writes use it, k1's objects stay readable; Rewrite moves
	// the old ones (plaintext and k1) to k2.
	ring := func(lines ...string) *atrest.Keyring {
		k, err := atrest.Parse(strings.Join(lines, "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	l1, _ := atrest.NewKeyLine("k1")
	l2, _ := atrest.NewKeyLine("k2")
	encA := blob.NewEncrypted(local, ring(l1), true)
	if _, err := encA.Put(ctx, "a", strings.NewReader(content), int64(len(content)), ""); err != nil {
		t.Fatal(err)
	}
	encB := blob.NewEncrypted(local, ring(l1, l2), true)
	if _, err := encB.Put(ctx, "b", strings.NewReader(content), int64(len(content)), ""); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"a": "k1", "b": "k2", "old": ""} {
		if id, err := encB.KeyOf(ctx, key); err != nil || id != want {
			t.Fatalf("KeyOf(%s) = %q, %v; want %q", key, id, err, want)
		}
	}
	for key, want := range map[string]bool{"a": true, "b": false, "old": true} {
		if changed, err := encB.Rewrite(ctx, key); err != nil || changed != want {
			t.Fatalf("Rewrite(%s) = %v, %v; want %v", key, changed, err, want)
		}
	}
	encC := blob.NewEncrypted(local, ring(l2), true) // k1 removed
	for _, key := range []string{"a", "b", "old"} {
		if id, _ := encC.KeyOf(ctx, key); id != "k2" {
			t.Fatalf("%s under %q after rotation", key, id)
		}
		if got := getString(t, encC, key, 0, -1); got != content {
			t.Fatalf("%s after removing k1: %d bytes", key, len(got))
		}
	}
	// Without k1, an object still under k1 does not open.
	encA.Put(ctx, "a", strings.NewReader(content), int64(len(content)), "")
	if _, _, err := encC.Get(ctx, "a", 0, -1); !errors.Is(err, blob.ErrDecrypt) {
		t.Fatalf("Get under a removed key: %v, want ErrDecrypt", err)
	}
	// Encryption turned off: new objects are plaintext, old ones readable.
	off := blob.NewEncrypted(local, ring(l2), false)
	if _, err := off.Put(ctx, "plain", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if id, _ := off.KeyOf(ctx, "plain"); id != "" {
		t.Fatalf("encryption off: stored under %q", id)
	}
	if got := getString(t, off, "b", 0, -1); got != content {
		t.Fatal("encryption off: an encrypted object is unreadable")
	}
}

// Tampering and truncation are detected, not served.
func TestEncrypted_Tamper(t *testing.T) {
	dir := t.TempDir()
	local, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	enc := blob.NewEncrypted(local, key(t, "k1"), true)
	content := strings.Repeat("z", 3*atrest.SegmentSize) // exactly 3 full segments
	p := filepath.Join(dir, "f")
	tests := []struct {
		name   string
		change func([]byte) []byte
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)-100] ^= 1; return b }},
		{"last segment cut", func(b []byte) []byte { return b[:len(b)-(atrest.SegmentSize+atrest.SegmentOverhead)] }},
		{"segments swapped", func(b []byte) []byte {
			const full = atrest.SegmentSize + atrest.SegmentOverhead
			s := len(b) - 3*full
			out := append([]byte(nil), b[:s]...)
			out = append(out, b[s+full:s+2*full]...)
			out = append(out, b[s:s+full]...)
			return append(out, b[s+2*full:]...)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := enc.Put(ctx, "f", strings.NewReader(content), int64(len(content)), ""); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			os.WriteFile(p, tc.change(b), 0o600)
			rc, _, err := enc.Get(ctx, "f", 0, -1)
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			if !errors.Is(err, blob.ErrDecrypt) {
				t.Fatalf("read of a %s object: %v, want ErrDecrypt", tc.name, err)
			}
		})
	}
}

// failingReader returns its bytes, then err.
type failingReader struct {
	b   []byte
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, f.err
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

// A source that fails, even with io.ErrUnexpectedEOF (a truncated
// multipart upload), fails the Put and leaves nothing.
func TestEncrypted_PutSourceError(t *testing.T) {
	for _, size := range []int{10, atrest.SegmentSize, atrest.SegmentSize + 10} {
		for _, srcErr := range []error{io.ErrUnexpectedEOF, errors.New("connection reset")} {
			t.Run(fmt.Sprintf("%d bytes, %v", size, srcErr), func(t *testing.T) {
				enc := blob.NewEncrypted(newLocal(t), key(t, "k1"), true)
				_, err := enc.Put(ctx, "f", &failingReader{b: make([]byte, size), err: srcErr}, 1<<20, "")
				if !errors.Is(err, srcErr) {
					t.Fatalf("Put = %v, want %v", err, srcErr)
				}
				if _, err := enc.Stat(ctx, "f"); !errors.Is(err, blob.ErrNotFound) {
					t.Fatalf("Stat after a failed Put: %v", err)
				}
			})
		}
	}
}

// key is a keyring of one new key.
func key(t testing.TB, id string) *atrest.Keyring {
	k, _ := testutil.Keyring(t, id)
	return k
}
