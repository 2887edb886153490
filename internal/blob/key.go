package blob

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Limits on keys, shared by every implementation so that a key accepted by
// one store is accepted by all: S3 caps keys at 1,024 bytes (half is left
// for the S3 store's prefix), most file systems cap a name at 255.
const (
	maxKeyLen     = 512
	maxSegmentLen = 255
	maxTypeLen    = 255
)

// DefaultContentType is stored when Put is given no content type.
const DefaultContentType = "application/octet-stream"

// CheckKey reports whether key is valid: slash-separated segments of
// [A-Za-z0-9._-], none empty, "." or "..", no leading or trailing slash, at
// most 512 bytes, segments at most 255. Errors wrap ErrInvalidKey.
func CheckKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("%w: length %d (want 1..%d)", ErrInvalidKey, len(key), maxKeyLen)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." || len(seg) > maxSegmentLen {
			return fmt.Errorf("%w %q: empty, \".\", \"..\" or over-long segment", ErrInvalidKey, key)
		}
		for i := range len(seg) {
			if !keyByte(seg[i]) {
				return fmt.Errorf("%w %q: byte %#x outside [A-Za-z0-9._-/]", ErrInvalidKey, key, seg[i])
			}
		}
	}
	return nil
}

func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// CheckContentType returns the content type Put stores for ct: ct itself
// if it is printable ASCII of at most 255 bytes, DefaultContentType if it
// is empty, an error otherwise (a newline would break an HTTP header).
func CheckContentType(ct string) (string, error) {
	if ct == "" {
		return DefaultContentType, nil
	}
	if len(ct) > maxTypeLen {
		return "", fmt.Errorf("blob: content type longer than %d bytes", maxTypeLen)
	}
	for i := range len(ct) {
		if ct[i] < 0x20 || ct[i] > 0x7e {
			return "", fmt.Errorf("blob: content type %q has byte %#x outside printable ASCII", ct, ct[i])
		}
	}
	return ct, nil
}

// limitReader passes through at most limit bytes of r; one byte more fails
// with ErrTooLarge. It also fails once ctx is done, so a Put stops reading
// a slow client as soon as its caller gives up.
type limitReader struct {
	ctx      context.Context
	r        io.Reader
	limit, n int64
	exceeded bool
}

func newLimitReader(ctx context.Context, r io.Reader, limit int64) *limitReader {
	return &limitReader{ctx: ctx, r: r, limit: limit}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	if l.exceeded {
		return 0, ErrTooLarge
	}
	// Ask for at most one byte past the limit: enough to tell "too long"
	// from "exactly at the limit" without reading further.
	if rem := l.limit - l.n; rem < int64(len(p)) {
		p = p[:rem+1]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.limit {
		l.exceeded = true
		return n - int(l.n-l.limit), ErrTooLarge
	}
	return n, err
}

func checkPut(key string, limit int64, contentType string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	if limit < 0 {
		return "", fmt.Errorf("blob: negative limit %d", limit)
	}
	return CheckContentType(contentType)
}

func checkGet(key string, off int64) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if off < 0 {
		return fmt.Errorf("%w: negative offset %d", ErrRange, off)
	}
	return nil
}

// span returns how many bytes Get(off, n) serves from an object of size
// bytes, or ErrRange when off is past the end.
func span(size, off, n int64) (int64, error) {
	if off > size {
		return 0, fmt.Errorf("%w: offset %d, size %d", ErrRange, off, size)
	}
	if n < 0 || n > size-off {
		n = size - off
	}
	return n, nil
}
