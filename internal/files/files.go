// Package files is uploads and downloads of chat attachments: it streams an
// upload into the blob store under a size limit, sniffs its content type,
// makes a thumbnail of images, records the file's metadata, serves it back
// (restricted files need their share-secret) and deletes files no message
// needs any more. It knows nothing of HTTP: the REST API adapts it.
package files

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/parleyim/parley/internal/blob"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Limits and defaults (docs/rest.md, "Files").
const (
	DefaultThumbnail = 170  // px, the box a thumbnail fits in (Easemob's default)
	MaxThumbnail     = 1024 // px
	// OwnThumbnailBytes: images up to this size are their own thumbnail.
	OwnThumbnailBytes = 10 * 1024
	MaxFilenameChars  = 255
)

// Service is the files domain service.
type Service struct {
	st    store.Store
	blobs blob.Store
	log   *slog.Logger
	now   func() time.Time
	// decode bounds concurrent image decoding (memory: up to 64
	// megapixels each).
	decode chan struct{}
}

// New builds the service.
func New(st store.Store, blobs blob.Store, log *slog.Logger) *Service {
	return &Service{st: st, blobs: blobs, log: log, now: time.Now, decode: make(chan struct{}, 2)}
}

// Upload is one file to store.
type Upload struct {
	Name         string // the client's file name (may be empty)
	DeclaredType string // the Content-Type the client gave the part (may be empty)
	Body         io.Reader
	Restrict     bool // downloads need the share-secret
	ThumbWidth   int  // 0: DefaultThumbnail
	ThumbHeight  int
}

// BodyError marks a failure to read the client's upload (a truncated or
// malformed request), as opposed to a storage failure.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "reading the upload: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// bodyReader records the client's read errors.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// Key is where a file's bytes are in the blob store; the thumbnail is at
// Key + ".thumb".
func Key(appID int64, id string) string { return fmt.Sprintf("%d/%s", appID, id) }

// Store uploads a file as the caller (a user, or an app admin) and returns
// its metadata. Nothing is left behind when it fails.
func (s *Service) Store(ctx context.Context, p *tenant.Principal, up Upload) (*store.File, error) {
	if p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "uploading needs a user or app token")
	}
	tw, th := up.ThumbWidth, up.ThumbHeight
	if tw == 0 {
		tw = DefaultThumbnail
	}
	if th == 0 {
		th = DefaultThumbnail
	}
	if tw < 1 || tw > MaxThumbnail || th < 1 || th > MaxThumbnail {
		return nil, errs.New(protocol.ErrIllegalArgument, "thumbnail-width and thumbnail-height must be 1..%d", MaxThumbnail)
	}
	name := cleanName(up.Name)
	body := &bodyReader{r: up.Body}
	br := bufio.NewReaderSize(body, 512)
	head, _ := br.Peek(512)
	if body.err != nil {
		return nil, errs.New(protocol.ErrInvalidBody, "reading the upload failed: %v", body.err)
	}
	ct := contentType(head, name, up.DeclaredType)
	f := &store.File{AppID: p.App.ID, UUID: uuid.NewString(), Owner: p.UserID, Name: name, ContentType: ct,
		Restricted: up.Restrict, Secret: newSecret(), Created: s.now().UnixMilli()}
	key := Key(p.App.ID, f.UUID)
	info, err := s.blobs.Put(ctx, key, br, p.App.Settings.FileBytes(), ct)
	switch {
	case errors.Is(err, blob.ErrTooLarge) || errors.As(body.err, new(*http.MaxBytesError)):
		return nil, errs.New(protocol.ErrFileTooLarge, "the file is larger than %d bytes, the app's limit", p.App.Settings.FileBytes())
	case body.err != nil:
		return nil, errs.New(protocol.ErrInvalidBody, "the upload is truncated or malformed: %v", body.err)
	case errors.Is(err, blob.ErrFull):
		return nil, s.storageFull(p, err)
	case err != nil:
		return nil, fmt.Errorf("store upload: %w", err)
	}
	f.Size = info.Size
	if isImage(ct) {
		if err := s.thumbnail(ctx, f, key, tw, th); err != nil {
			s.blobs.Delete(context.WithoutCancel(ctx), key)
			if errors.Is(err, blob.ErrFull) {
				return nil, s.storageFull(p, err)
			}
			return nil, err
		}
	}
	if err := s.st.Files().Create(ctx, f); err != nil {
		s.deleteBlobs(context.WithoutCancel(ctx), f)
		return nil, fmt.Errorf("record upload: %w", err)
	}
	return f, nil
}

// storageFull logs that the blob store refused an upload for want of space
// (the operator must act) and is the client's error.
func (s *Service) storageFull(p *tenant.Principal, err error) error {
	s.log.Error("file store full: upload refused", "app", p.App.ID, "err", err)
	return errs.New(protocol.ErrStorageFull, "the file store is full; retry later")
}

func newSecret() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cleanName keeps the base name of a client's file name, valid UTF-8 without
// control characters, at most MaxFilenameChars.
func cleanName(n string) string {
	n = strings.ToValidUTF8(n, "")
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, n)
	if utf8.RuneCountInString(n) > MaxFilenameChars {
		n = string([]rune(n)[:MaxFilenameChars])
	}
	return n
}

// contentType decides a file's type from its first bytes; where they say
// nothing specific, from its name's extension, then the declared type.
// (Downloads are served inline only for images, audio and video, so no
// type a browser would run as a page is ever rendered from our origin.)
func contentType(head []byte, name, declared string) string {
	sniffed := http.DetectContentType(head)
	if sniffed != "application/octet-stream" && !strings.HasPrefix(sniffed, "text/plain") {
		return sniffed
	}
	for _, c := range []string{mime.TypeByExtension(strings.ToLower(path.Ext(name))), declared} {
		if mt, params, err := mime.ParseMediaType(c); err == nil && mt != "application/octet-stream" && len(c) <= 255 {
			return mime.FormatMediaType(mt, params)
		}
	}
	return sniffed
}

// Inline reports whether a type may be shown in the browser (images,
// audio, video); anything else is served as an attachment.
func Inline(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	switch {
	case isImage(mt), strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"):
		return true
	}
	return false
}

func isImage(ct string) bool {
	switch ct {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return true
	}
	return false
}

// Download is an open file to serve.
type Download struct {
	File        *store.File
	Thumbnail   bool
	ContentType string
	Size        int64
	Modified    time.Time
	Content     io.ReadSeeker // reads the blob lazily, from where it is sought to
	close       func()
}

// Close releases the download.
func (d *Download) Close() { d.close() }

// Open opens an app's file for download. A restricted file needs its
// share-secret unless the caller uploaded it or is an app admin; an
// unrestricted one is readable by anyone who has its UUID.
func (s *Service) Open(ctx context.Context, app *tenant.App, p *tenant.Principal, id, secret string, thumbnail bool) (*Download, error) {
	f, err := s.st.Files().Get(ctx, app.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrFileNotFound, "file %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	if f.Restricted && subtle.ConstantTimeCompare([]byte(secret), []byte(f.Secret)) != 1 &&
		!(p != nil && (p.Admin || (p.UserID != 0 && p.UserID == f.Owner))) {
		return nil, errs.New(protocol.ErrFileAccessDenied, "file %s is restricted: send its share-secret", id)
	}
	key, ct, size := Key(app.ID, f.UUID), f.ContentType, f.Size
	if thumbnail && f.ThumbSize > 0 {
		key, ct, size = key+".thumb", thumbType(f.ContentType), f.ThumbSize
	}
	r := &lazyReader{ctx: ctx, blobs: s.blobs, key: key, size: size}
	return &Download{File: f, Thumbnail: thumbnail, ContentType: ct, Size: size, Modified: time.UnixMilli(f.Created),
		Content: r, close: r.close}, nil
}

// lazyReader is an io.ReadSeeker over a blob: it opens the blob at the
// current offset on the first Read after a Seek, so serving a range reads
// only from its start.
type lazyReader struct {
	ctx   context.Context
	blobs blob.Store
	key   string
	size  int64
	off   int64
	rc    io.ReadCloser
}

func (l *lazyReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = l.off + offset
	case io.SeekEnd:
		abs = l.size + offset
	default:
		return 0, errors.New("files: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("files: negative position")
	}
	if abs != l.off {
		l.close()
		l.off = abs
	}
	return abs, nil
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.off >= l.size {
		return 0, io.EOF
	}
	if l.rc == nil {
		rc, _, err := l.blobs.Get(l.ctx, l.key, l.off, -1)
		if err != nil {
			return 0, err
		}
		l.rc = rc
	}
	n, err := l.rc.Read(p)
	l.off += int64(n)
	return n, err
}

func (l *lazyReader) close() {
	if l.rc != nil {
		l.rc.Close()
		l.rc = nil
	}
}

// Release deletes those of the given files no message references any more
// (called after a recall). Failures are logged: the orphan collector
// retries them.
func (s *Service) Release(ctx context.Context, ids []int64) {
	for _, id := range ids {
		f, err := s.st.Files().DeleteUnreferenced(ctx, id)
		switch {
		case errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound):
			continue // still referenced, or gone already
		case err != nil:
			s.log.Warn("release file", "file", id, "err", err)
			continue
		}
		s.deleteBlobs(ctx, f)
	}
}

// Erased finishes a user's erasure: it deletes the bytes of the files they
// uploaded (their rows are gone already) and releases the files of others
// their messages referenced.
func (s *Service) Erased(ctx context.Context, uploaded []store.File, referenced []int64) {
	for i := range uploaded {
		s.deleteBlobs(ctx, &uploaded[i])
	}
	s.Release(ctx, referenced)
}

func (s *Service) deleteBlobs(ctx context.Context, f *store.File) {
	key := Key(f.AppID, f.UUID)
	for _, k := range []string{key, key + ".thumb"} {
		if err := s.blobs.Delete(ctx, k); err != nil {
			s.log.Warn("delete file contents", "key", k, "err", err)
		}
	}
}

// CollectOrphans deletes files uploaded before the cutoff that no message
// references, and returns how many it deleted.
func (s *Service) CollectOrphans(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := s.now().Add(-olderThan).UnixMilli()
	n := 0
	for {
		list, err := s.st.Files().Orphans(ctx, cutoff, 100)
		if err != nil || len(list) == 0 {
			return n, err
		}
		for i := range list {
			f, err := s.st.Files().DeleteUnreferenced(ctx, list[i].ID)
			if err != nil {
				continue // referenced meanwhile, or gone
			}
			s.deleteBlobs(ctx, f)
			n++
		}
		if len(list) < 100 {
			return n, nil
		}
	}
}

// RunCollector collects orphans every interval until ctx ends.
func (s *Service) RunCollector(ctx context.Context, olderThan, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.CollectOrphans(ctx, olderThan); err != nil {
				s.log.Warn("collect orphan uploads", "err", err)
			} else if n > 0 {
				s.log.Info("collected orphan uploads", "files", n)
			}
		}
	}
}
