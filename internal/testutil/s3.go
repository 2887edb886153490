package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/parleyim/parley/internal/blob"
)

// S3Env names the variable holding the S3-compatible server for tests, as
// http(s)://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET (path-style addressing;
// optional ?region=R). scripts/test.sh points it at the versitygw that
// scripts/services.sh starts.
const S3Env = "PARLEY_TEST_S3"

// ParseS3URL turns a PARLEY_TEST_S3 value into store options.
func ParseS3URL(s string) (blob.S3Options, error) {
	u, err := url.Parse(s)
	if err != nil {
		return blob.S3Options{}, err
	}
	secret, _ := u.User.Password()
	o := blob.S3Options{
		Endpoint:  u.Scheme + "://" + u.Host,
		Bucket:    u.Path,
		Region:    u.Query().Get("region"),
		AccessKey: u.User.Username(),
		SecretKey: secret,
		PathStyle: true,
	}
	if len(o.Bucket) > 0 && o.Bucket[0] == '/' {
		o.Bucket = o.Bucket[1:]
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || o.Bucket == "" || o.AccessKey == "" || secret == "" {
		return blob.S3Options{}, fmt.Errorf("%s: want http(s)://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET", S3Env)
	}
	return o, nil
}

// S3Options returns options for the server named by $PARLEY_TEST_S3 with a
// key prefix of its own, so tests and runs sharing the bucket never meet.
// The bucket is created if missing; everything under the prefix (objects
// and unfinished uploads) is removed when the test ends. Without the
// variable the test is skipped, unless PARLEY_REQUIRE_S3=1 (set by
// scripts/test.sh and CI), in which case it fails.
func S3Options(t testing.TB) blob.S3Options {
	t.Helper()
	raw := os.Getenv(S3Env)
	if raw == "" {
		if os.Getenv("PARLEY_REQUIRE_S3") == "1" {
			t.Fatalf("%s is not set but PARLEY_REQUIRE_S3=1", S3Env)
		}
		t.Skipf("%s not set; skipping S3 test", S3Env)
	}
	o, err := ParseS3URL(raw)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	o.Prefix = "test-" + hex.EncodeToString(b)
	s, err := blob.NewS3(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatalf("%s: %v", S3Env, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, bucket := s.Client(), s.Bucket()
		for up := range c.ListIncompleteUploads(ctx, bucket, s.Prefix(), true) {
			if up.Err == nil {
				c.RemoveIncompleteUpload(ctx, bucket, up.Key)
			}
		}
		objs := c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: s.Prefix(), Recursive: true})
		for res := range c.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{}) {
			t.Logf("cleanup: remove %s: %v", res.ObjectName, res.Err)
		}
	})
	return o
}
