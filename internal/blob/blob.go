// Package blob stores file contents (chat attachments, thumbnails, group
// shared files) behind one small interface, with two implementations: a
// directory on local disk (the default, under the data directory) and any
// S3-compatible object store. Metadata (owner, name, restrictions,
// references) lives in the database; a blob store only holds bytes under a
// key. Both implementations pass the same conformance suite (blobtest).
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

var (
	// ErrNotFound: no object under that key.
	ErrNotFound = errors.New("blob: not found")
	// ErrTooLarge: the content was longer than the limit given to Put.
	// Nothing is left stored.
	ErrTooLarge = errors.New("blob: content larger than the limit")
	// ErrInvalidKey: the key breaks the rules on Store (every method checks
	// it before any I/O).
	ErrInvalidKey = errors.New("blob: invalid key")
	// ErrRange: Get's offset is beyond the object's size.
	ErrRange = errors.New("blob: offset beyond the end")
	// ErrFull: the store has no room for the content (the local disk is
	// full or over quota; the S3 server answered InsufficientStorage or
	// QuotaExceeded). Nothing is left stored; a Put may succeed again once
	// space is freed.
	ErrFull = errors.New("blob: storage full")
)

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ContentType string
	Modified    time.Time
}

// Store holds objects by key. Keys are relative slash-separated paths of
// [A-Za-z0-9._-] segments (no "..", no leading slash); implementations
// reject others with ErrInvalidKey (see CheckKey). Implementations are safe
// for concurrent use.
type Store interface {
	// Put stores r under key, streaming (never holding the whole content in
	// memory), reading at most limit bytes: longer content fails with
	// ErrTooLarge. An existing object under key is replaced. A Put that
	// fails for any reason (limit, r's error, ctx) leaves nothing new under
	// key — the key stays absent, or keeps its previous object — and no
	// partial object elsewhere. Readers never see a partly written object.
	// contentType must be printable ASCII of at most 255 bytes (see
	// CheckContentType); empty means "application/octet-stream".
	Put(ctx context.Context, key string, r io.Reader, limit int64, contentType string) (Info, error)
	// Get returns the content from byte offset off, n bytes (n < 0: to the
	// end), and the object's Info. off < 0 or beyond the size is ErrRange (off
	// equal to the size gives empty content); n past the end is cut to the
	// size.
	Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error)
	// Stat returns an object's Info.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// Close releases resources.
	Close() error
}
