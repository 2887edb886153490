package blob_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/parleyim/parley/internal/blob"
	"github.com/parleyim/parley/internal/testutil"
)

// benchSize is the object the throughput benchmarks move: 10 MB, over one
// S3 part, so the S3 store streams it as a multipart upload.
const benchSize = 10_000_000

func BenchmarkLocal(b *testing.B) {
	s, err := blob.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	benchStore(b, s)
}

func BenchmarkS3(b *testing.B) {
	o := testutil.S3Options(b)
	s, err := blob.NewS3(o)
	if err != nil {
		b.Fatal(err)
	}
	benchStore(b, s)
}

// benchStore measures Put and Get of a 10 MB object (MB/s from SetBytes).
func benchStore(b *testing.B, s blob.Store) {
	data := make([]byte, benchSize)
	rand.NewChaCha8([32]byte{1}).Read(data)
	b.Run("Put", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			if _, err := s.Put(ctx, "bench/put", bytes.NewReader(data), benchSize, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	if _, err := s.Put(ctx, "bench/get", bytes.NewReader(data), benchSize, ""); err != nil {
		b.Fatal(err)
	}
	b.Run("Get", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			rc, _, err := s.Get(ctx, "bench/get", 0, -1)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil || n != benchSize {
				b.Fatalf("read %d bytes: %v", n, err)
			}
		}
	})
}

// BenchmarkEncryptedLocal is BenchmarkLocal through encryption at rest
// (docs/operations.md reports the ratio).
func BenchmarkEncryptedLocal(b *testing.B) {
	s, err := blob.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	benchStore(b, blob.NewEncrypted(s, key(b, "k1"), true))
}
