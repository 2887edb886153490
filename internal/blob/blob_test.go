package blob_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/parleyim/parley/internal/blob"
	"github.com/parleyim/parley/internal/blob/blobtest"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/testutil"
)

var ctx = context.Background()

// newLocal returns a local store in a fresh directory and checks, when the
// test ends, that no temp file was left behind.
func newLocal(t *testing.T) blob.Store {
	dir := t.TempDir()
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		left, err := os.ReadDir(filepath.Join(dir, "tmp~"))
		if err != nil || len(left) > 0 {
			t.Errorf("temp files left behind: %v %v", left, err)
		}
	})
	return s
}

// newS3 returns an S3 store under a fresh prefix and checks, when the test
// ends, that no multipart upload was left unfinished.
func newS3(t *testing.T) blob.Store {
	s, err := blob.NewS3(testutil.S3Options(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for up := range s.Client().ListIncompleteUploads(ctx, s.Bucket(), s.Prefix(), true) {
			t.Errorf("unfinished upload left behind: %s %v", up.Key, up.Err)
		}
	})
	return s
}

func TestLocal_Conformance(t *testing.T) { blobtest.Run(t, newLocal) }

// The check in newS3 can fail: an unfinished upload under the prefix is
// listed.
func TestS3_UnfinishedUploadsAreListed(t *testing.T) {
	s, err := blob.NewS3(testutil.S3Options(t))
	if err != nil {
		t.Fatal(err)
	}
	core := minio.Core{Client: s.Client()}
	id, err := core.NewMultipartUpload(ctx, s.Bucket(), s.Prefix()+"pending", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer core.AbortMultipartUpload(ctx, s.Bucket(), s.Prefix()+"pending", id)
	n := 0
	for up := range s.Client().ListIncompleteUploads(ctx, s.Bucket(), s.Prefix(), true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("listed %d unfinished uploads, want 1", n)
	}
}

func TestS3_Conformance(t *testing.T) { blobtest.Run(t, newS3) }

// The file layout is the documented one: key a/b at <dir>/a/b, a header
// with the content type, then the content.
func TestLocal_Layout(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "app/f1", strings.NewReader("hello"), 5, "text/plain"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "app", "f1"))
	if want := "parleyb1\x0atext/plainhello"; err != nil || string(b) != want {
		t.Fatalf("file = %q, %v; want %q", b, err, want)
	}
}

func TestLocal_BadFile(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"short": "parl", "foreign": "not a blob file at all", "cut": "parleyb1\x09text/"} {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600)
		if _, err := s.Stat(ctx, name); err == nil || errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat of %s file: %v, want a format error", name, err)
		}
	}
}

// A key cannot be both an object and a prefix on disk; the conflicting Put
// fails cleanly and the first object stays.
func TestLocal_ObjectAndPrefix(t *testing.T) {
	s := newLocal(t)
	if _, err := s.Put(ctx, "a", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "a/b", strings.NewReader("y"), 1, ""); err == nil {
		t.Fatal("Put a/b over object a succeeded")
	}
	if info, err := s.Stat(ctx, "a"); err != nil || info.Size != 1 {
		t.Fatalf("Stat a = %+v, %v", info, err)
	}
}

func TestNewLocal_RemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp~")
	os.MkdirAll(tmp, 0o750)
	old, fresh := filepath.Join(tmp, "put-old"), filepath.Join(tmp, "put-fresh")
	os.WriteFile(old, nil, 0o600)
	os.WriteFile(fresh, nil, 0o600)
	os.Chtimes(old, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour))
	if _, err := blob.NewLocal(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file (a Put in progress elsewhere) removed: %v", err)
	}
}

func TestNewS3_Options(t *testing.T) {
	tests := []struct {
		name string
		o    blob.S3Options
		ok   bool
	}{
		{"host:port", blob.S3Options{Endpoint: "127.0.0.1:7070", Bucket: "b"}, true},
		{"URL", blob.S3Options{Endpoint: "https://s3.example.com", Bucket: "b", Prefix: "/parley/files/"}, true},
		{"no endpoint", blob.S3Options{Bucket: "b"}, false},
		{"no bucket", blob.S3Options{Endpoint: "127.0.0.1:7070"}, false},
		{"bad scheme", blob.S3Options{Endpoint: "ftp://h", Bucket: "b"}, false},
		{"URL with a path", blob.S3Options{Endpoint: "http://h/bucket", Bucket: "b"}, false},
		{"bad prefix", blob.S3Options{Endpoint: "h:1", Bucket: "b", Prefix: "a/../b"}, false},
		{"long prefix", blob.S3Options{Endpoint: "h:1", Bucket: "b", Prefix: strings.Repeat("p", 512)}, false},
		{"small parts", blob.S3Options{Endpoint: "h:1", Bucket: "b", PartSize: 1 << 20}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := blob.NewS3(tc.o)
			if (err == nil) != tc.ok {
				t.Fatalf("NewS3 err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && tc.o.Prefix != "" && s.Prefix() != "parley/files/" {
				t.Fatalf("prefix %q not normalised: %q", tc.o.Prefix, s.Prefix())
			}
		})
	}
}

func TestParseS3URL(t *testing.T) {
	o, err := testutil.ParseS3URL("http://AK:SK@127.0.0.1:7070/parley-test?region=eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	want := blob.S3Options{Endpoint: "http://127.0.0.1:7070", Bucket: "parley-test", Region: "eu-west-1",
		AccessKey: "AK", SecretKey: "SK", PathStyle: true}
	if o != want {
		t.Fatalf("got %+v, want %+v", o, want)
	}
	for _, bad := range []string{"127.0.0.1:7070", "http://127.0.0.1:7070/b", "http://AK:SK@127.0.0.1:7070/", "s3://AK:SK@h/b"} {
		if _, err := testutil.ParseS3URL(bad); err == nil {
			t.Errorf("ParseS3URL(%q) succeeded", bad)
		}
	}
}

// A second store on the same bucket sees the first one's objects, and a
// store with another prefix does not.
func TestS3_Prefix(t *testing.T) {
	o := testutil.S3Options(t)
	a, _ := blob.NewS3(o)
	o2 := o
	o2.Prefix += "/other"
	b, _ := blob.NewS3(o2)
	if _, err := a.Put(ctx, "k", strings.NewReader("v"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "k"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("store with prefix %q sees key k of %q: %v", b.Prefix(), a.Prefix(), err)
	}
	if info, err := a.Stat(ctx, "other/k"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat other/k = %+v, %v", info, err)
	}
	if _, err := b.Put(ctx, "k", strings.NewReader("w"), 1, ""); err != nil {
		t.Fatal(err)
	}
	rc, _, err := a.Get(ctx, "other/k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	buf.ReadFrom(rc)
	if buf.String() != "w" {
		t.Fatalf("a.Get(other/k) = %q", buf.String())
	}
}

func TestS3_EnsureBucket(t *testing.T) {
	o := testutil.S3Options(t)
	o.Bucket = "parley-ensure-" + strings.TrimPrefix(o.Prefix, "test-")
	s, err := blob.NewS3(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Client().RemoveBucket(ctx, o.Bucket)
	for range 2 { // creates, then finds it
		if err := s.EnsureBucket(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.Client().BucketExists(ctx, o.Bucket); !ok || err != nil {
		t.Fatalf("bucket %s: exists=%v, %v", o.Bucket, ok, err)
	}
}

// A missing bucket is an error of its own, not ErrNotFound: it is a
// configuration problem, and a server must not report files as gone.
func TestS3_MissingBucket(t *testing.T) {
	o := testutil.S3Options(t)
	o.Bucket = "parley-no-such-bucket-" + strings.TrimPrefix(o.Prefix, "test-")
	s, err := blob.NewS3(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "k", 0, -1); err == nil || errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get in a missing bucket: %v", err)
	}
	if _, err := s.Stat(ctx, "k"); err == nil || errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat in a missing bucket: %v", err)
	}
	if err := s.Delete(ctx, "k"); err == nil {
		t.Error("Delete in a missing bucket succeeded")
	}
}

func TestOpen(t *testing.T) {
	data := t.TempDir()
	cfg := config.Default().Blob
	s, err := blob.Open(ctx, cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(ctx, "app/x", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "files", "app", "x")); err != nil {
		t.Fatalf("default local store is not <data>/files: %v", err)
	}
	cfg.Dir = filepath.Join(data, "elsewhere")
	s2, err := blob.Open(ctx, cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	s2.Put(ctx, "y", strings.NewReader("y"), 1, "")
	if _, err := os.Stat(filepath.Join(data, "elsewhere", "y")); err != nil {
		t.Fatalf("blob.dir not used: %v", err)
	}
	if _, err := blob.Open(ctx, config.Blob{Driver: "ftp"}, data); err == nil {
		t.Fatal("Open with an unknown driver succeeded")
	}
}

func TestOpen_S3(t *testing.T) {
	o := testutil.S3Options(t)
	cfg := config.Blob{Driver: "s3", S3Endpoint: o.Endpoint, S3Bucket: o.Bucket, S3Region: o.Region,
		S3AccessKey: o.AccessKey, S3SecretKey: o.SecretKey, S3PathStyle: true, S3Prefix: o.Prefix}
	s, err := blob.Open(ctx, cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(ctx, "k", strings.NewReader("v"), 1, ""); err != nil {
		t.Fatal(err)
	}
	cfg.S3SecretKey = "wrong"
	if _, err := blob.Open(ctx, cfg, t.TempDir()); err == nil {
		t.Fatal("Open with a wrong secret key succeeded")
	}
}
