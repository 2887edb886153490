package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options configure an S3 store.
type S3Options struct {
	// Endpoint is host:port, or a URL (http://host:port, https://host)
	// whose scheme then decides TLS.
	Endpoint string
	Bucket   string
	// Region; empty: asked from the server (GetBucketLocation).
	Region    string
	AccessKey string
	SecretKey string
	// TLS: use HTTPS when Endpoint has no scheme.
	TLS bool
	// PathStyle addresses buckets as host/bucket/key (MinIO, versitygw,
	// Ceph and most self-hosted stores); false: bucket.host/key (AWS).
	PathStyle bool
	// Prefix is put before every key ("parley/" stores key "a/b" as
	// "parley/a/b"); empty: none. Same characters as keys, under 512 bytes.
	Prefix string
	// PartSize of multipart uploads; 0: DefaultPartSize. A Put holds at
	// most about two parts in memory.
	PartSize int64
}

// DefaultPartSize is the multipart upload part size (S3's minimum is 5 MiB).
const DefaultPartSize = 8 << 20

// S3 stores objects in a bucket of an S3-compatible object store.
//
// Put reads the first part (up to PartSize) into memory: content that ends
// there is stored with one PUT. Longer content is sent as a multipart
// upload that streams the rest part by part, so memory stays bounded
// whatever the size; the object appears only when the upload completes,
// and an upload that fails (limit, reader error, ctx) is aborted, which
// deletes its parts. One gap no client can close: if ctx ends while the
// final request is in flight, the server may complete it although Put
// reports the error.
type S3 struct {
	client   *minio.Client
	bucket   string
	region   string
	prefix   string
	partSize int64
}

var _ Store = (*S3)(nil)

// NewS3 returns an S3 store. It makes no request; see EnsureBucket.
func NewS3(o S3Options) (*S3, error) {
	host, secure := o.Endpoint, o.TLS
	if strings.Contains(o.Endpoint, "://") {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("blob: s3 endpoint %q: want host:port or http(s)://host:port", o.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	if host == "" || o.Bucket == "" {
		return nil, errors.New("blob: s3 needs an endpoint and a bucket")
	}
	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		if err := CheckKey(prefix); err != nil || len(prefix) >= maxKeyLen {
			return nil, fmt.Errorf("blob: s3 prefix %q: want at most %d bytes of key characters", o.Prefix, maxKeyLen-1)
		}
		prefix += "/"
	}
	partSize := o.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < 5<<20 {
		return nil, fmt.Errorf("blob: s3 part size %d is below S3's minimum of 5 MiB", partSize)
	}
	lookup := minio.BucketLookupDNS
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       secure,
		Region:       o.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3: %w", err)
	}
	return &S3{client: c, bucket: o.Bucket, region: o.Region, prefix: prefix, partSize: partSize}, nil
}

// Client returns the underlying client, for tools and tests (listing,
// cleaning up a prefix).
func (s *S3) Client() *minio.Client { return s.client }

// Bucket returns the bucket name.
func (s *S3) Bucket() string { return s.bucket }

// Prefix returns the normalised key prefix ("" or ending in "/").
func (s *S3) Prefix() string { return s.prefix }

// EnsureBucket creates the bucket if it does not exist. It is also the
// first request a server makes, so bad credentials fail here.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: s3 bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
		err = nil // created meanwhile by another node or test
	}
	if err != nil {
		return fmt.Errorf("blob: s3 create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, limit int64, contentType string) (Info, error) {
	ct, err := checkPut(key, limit, contentType)
	if err != nil {
		return Info{}, err
	}
	lr := newLimitReader(ctx, r, limit)
	head, err := readHead(lr, s.partSize)
	if lr.exceeded {
		return Info{}, ErrTooLarge
	}
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	opts := minio.PutObjectOptions{ContentType: ct, PartSize: uint64(s.partSize)}
	var up minio.UploadInfo
	if int64(len(head)) < s.partSize {
		// The whole content is in head: one PUT, atomic by itself.
		up, err = s.client.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(head), int64(len(head)), opts)
	} else {
		// Size -1: a multipart upload that reads one part at a time and
		// is aborted (its parts deleted) on any error, including the
		// ErrTooLarge that lr returns one byte past the limit.
		up, err = s.client.PutObject(ctx, s.bucket, s.prefix+key, io.MultiReader(bytes.NewReader(head), lr), -1, opts)
	}
	if lr.exceeded {
		return Info{}, ErrTooLarge
	}
	if err != nil {
		if full(err) {
			return Info{}, fmt.Errorf("blob: put %s: %w (%w)", key, ErrFull, err)
		}
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	mod := up.LastModified
	if mod.IsZero() { // PUT and CompleteMultipartUpload responses rarely carry it
		mod = time.Now().UTC().Truncate(time.Second)
	}
	return Info{Key: key, Size: up.Size, ContentType: ct, Modified: mod}, nil
}

// readHead reads up to max bytes of r, growing its buffer as content
// arrives so a small object costs memory of its own size, not a part's.
// It returns nil error at EOF and when max bytes were read.
func readHead(r io.Reader, max int64) ([]byte, error) {
	buf := make([]byte, 0, min(max, 64<<10))
	for int64(len(buf)) < max {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(int64(cap(buf)), max-int64(len(buf)))))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), int(max))])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error) {
	if err := checkGet(key, off); err != nil {
		return nil, Info{}, err
	}
	if n == 0 {
		return s.empty(ctx, key, off)
	}
	var opts minio.GetObjectOptions
	switch {
	case n > 0 && n-1 <= (1<<63-1)-off:
		opts.SetRange(off, off+n-1)
	case off > 0:
		opts.SetRange(off, 0) // bytes=off-
	}
	core := minio.Core{Client: s.client}
	body, oi, hdr, err := core.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusRequestedRangeNotSatisfiable {
			// off is at or past the end (S3 has no range for "nothing").
			return s.empty(ctx, key, off)
		}
		return nil, Info{}, s.err("get", key, err)
	}
	info := s.info(key, oi)
	if cr := hdr.Get("Content-Range"); cr != "" { // bytes a-b/size
		_, total, _ := strings.Cut(cr, "/")
		if info.Size, err = strconv.ParseInt(total, 10, 64); err != nil {
			body.Close()
			return nil, Info{}, fmt.Errorf("blob: get %s: bad Content-Range %q", key, cr)
		}
	}
	return body, info, nil
}

// empty answers a Get that serves no bytes: off at the end, or n == 0.
func (s *S3) empty(ctx context.Context, key string, off int64) (io.ReadCloser, Info, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	if _, err := span(info.Size, off, 0); err != nil {
		return nil, Info{}, err
	}
	return io.NopCloser(strings.NewReader("")), info, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.err("stat", key, err)
	}
	return s.info(key, oi), nil
}

func (s *S3) info(key string, oi minio.ObjectInfo) Info {
	return Info{Key: key, Size: oi.Size, ContentType: oi.ContentType, Modified: oi.LastModified}
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		if err := s.err("delete", key, err); !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// err maps a missing object to ErrNotFound. A missing bucket stays an
// error of its own: it is a configuration problem, not a missing file.
func (s *S3) err(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == minio.NoSuchKey || (resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket) {
		return ErrNotFound
	}
	return fmt.Errorf("blob: %s %s: %w", op, key, err)
}

// full reports whether the S3 server refused a write for want of space:
// 507 InsufficientStorage (versitygw, MinIO's XMinioStorageFull and
// others) or a quota.
func full(err error) bool {
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "InsufficientStorage", "XMinioStorageFull", "QuotaExceeded", "XMinioAdminBucketQuotaExceeded":
		return true
	}
	return resp.StatusCode == http.StatusInsufficientStorage
}

// Close implements Store; the client holds only idle connections.
func (s *S3) Close() error { return nil }
