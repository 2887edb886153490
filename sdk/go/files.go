package parley

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parleyim/parley/protocol"
)

// File is an uploaded file (a chat attachment).
type File struct {
	UUID string
	// URL is the file's absolute address on the endpoint the Client
	// uploaded to: {BaseURL}/{org}/{app}/chatfiles/{UUID}. Message bodies
	// carry it; a body naming it makes the message refer to the upload.
	URL string
	// ShareSecret opens a Restricted file (DownloadOptions.ShareSecret, the
	// body's secret field).
	ShareSecret string
	// Size is the file's length in bytes.
	Size int64
	// ContentType is what the server decided the file is (it sniffs the
	// content; the declared type only breaks ties).
	ContentType string
	Filename    string
	// Restricted files are only served with their ShareSecret, or to their
	// uploader and app admins.
	Restricted bool
	// HasThumbnail: the server stored a separate thumbnail (an image over
	// 10 KB and larger than the thumbnail box). Any image can be downloaded
	// with Thumbnail set; one without a separate thumbnail is its own.
	HasThumbnail bool
	// Width and Height are an image's size in pixels (0 for other files).
	Width, Height int
}

// UploadOptions describe an upload. All fields are optional.
type UploadOptions struct {
	// Filename is the name the recipients see. Empty: the base name of an
	// *os.File reader.
	Filename string
	// ContentType is the type to declare; the server sniffs the content and
	// uses it only for content it cannot identify. Empty: from the file
	// name's extension, else application/octet-stream.
	ContentType string
	// Restricted files are downloadable only with their ShareSecret (or by
	// the uploader and app admins).
	Restricted bool
	// ThumbnailWidth and ThumbnailHeight (1-1024; 0: the server's default,
	// 170) bound the thumbnail the server makes of an image.
	ThumbnailWidth, ThumbnailHeight int
	// Size is the reader's length in bytes, if known: it is sent as the
	// request's Content-Length and is the progress total, and the reader
	// must yield exactly that many bytes. 0: unknown, unless the reader
	// tells (an *os.File of a regular file, or a reader with Len() int or
	// Size() int64, such as *bytes.Reader); then the request is chunked.
	Size int64
	// Progress, if set, is called as the file's bytes are sent, at most
	// every 100 ms, with total -1 while the size is unknown. The last call,
	// once the whole reader is sent, has sent == total. It is called from
	// the goroutine writing the request, and must return quickly.
	Progress func(sent, total int64)
}

// DownloadOptions describe a download. All fields are optional.
type DownloadOptions struct {
	// ShareSecret opens a restricted file (the body's secret field). The
	// uploader needs none.
	ShareSecret string
	// Thumbnail fetches an image's thumbnail instead of the image (other
	// files are served whole).
	Thumbnail bool
	// Offset resumes a download: the bytes from Offset on are written.
	Offset int64
	// Progress, if set, is called as bytes arrive, at most every 100 ms,
	// with received counted from the file's start (Offset included) and
	// total -1 while the size is unknown. The last call, when the download
	// is complete, has received == total.
	Progress func(received, total int64)
}

const (
	progressEvery = 100 * time.Millisecond
	maxThumbnail  = 1024
)

// errUploadEnded stops the goroutine feeding an upload once the request is
// over.
var errUploadEnded = errors.New("parley: upload request ended")

// Upload uploads a file as this user (POST /{org}/{app}/chatfiles) and
// returns it; send it with SendImage, SendFile or a body built from it
// (File.ImageBody, File.AudioBody, ...). The reader is streamed, never held
// in memory whole.
//
// Cancelling ctx (or closing the Client) aborts the request at once and
// Upload returns ctx.Err() (ErrClosed); the server stores nothing. A Read of
// r that blocks keeps blocking on its goroutine until it returns, but
// Upload does not wait for it.
//
// When the server refuses the token (expired, revoked) and the Client has
// a password, Upload gets a new token and tries again, once, if nothing was
// read from r yet or r is an io.Seeker (it seeks back); otherwise it
// returns the bad_access_token error, and the next call uses a new token.
// Failures reported by the server are *Error: protocol.ErrFileTooLarge,
// protocol.ErrBadImage (an image that does not decode), and so on.
func (c *Client) Upload(ctx context.Context, r io.Reader, opts UploadOptions) (*File, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	parent := ctx
	ctx, stop := c.bind(ctx)
	defer stop()

	name, ctype := uploadName(r, opts)
	size := opts.Size
	if size <= 0 {
		size = readerSize(r)
	}
	start := int64(-1) // where a seekable reader starts
	if s, ok := r.(io.Seeker); ok {
		if p, err := s.Seek(0, io.SeekCurrent); err == nil {
			start = p
		}
	}
	for attempt := 0; ; attempt++ {
		base, token, err := c.restAuth(ctx)
		if err != nil {
			return nil, c.endErr(parent, ctx, err)
		}
		up := &uploader{r: r, size: size, progress: opts.Progress}
		f, err := c.uploadOnce(ctx, base, token, name, ctype, opts, up)
		if attempt > 0 || !IsCode(err, protocol.ErrBadAccessToken) || !c.canRefresh() {
			return f, c.endErr(parent, ctx, err)
		}
		c.dropToken(token)
		if up.consumed > 0 {
			if start < 0 {
				return nil, err // part of r is gone: the caller has to start over
			}
			if _, serr := r.(io.Seeker).Seek(start, io.SeekStart); serr != nil {
				return nil, err
			}
		}
		c.log.Info("the server refused the token for an upload; getting a new one")
	}
}

func (o *UploadOptions) check() error {
	for _, n := range []int{o.ThumbnailWidth, o.ThumbnailHeight} {
		if n < 0 || n > maxThumbnail {
			return fmt.Errorf("parley: thumbnail sizes must be 1-%d (0: the server's default)", maxThumbnail)
		}
	}
	if o.Size < 0 {
		return errors.New("parley: UploadOptions.Size must not be negative")
	}
	return nil
}

// uploadName picks the file name and declared content type.
func uploadName(r io.Reader, opts UploadOptions) (name, ctype string) {
	name = opts.Filename
	if f, ok := r.(*os.File); ok && name == "" {
		name = filepath.Base(f.Name())
	}
	// Control characters would break the part's header; the server drops
	// them too.
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	ctype = opts.ContentType
	if ctype == "" {
		ctype = mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return name, ctype
}

// readerSize is how many bytes r has left, or -1 if it does not tell.
func readerSize(r io.Reader) int64 {
	left := func(size int64) int64 {
		if s, ok := r.(io.Seeker); ok {
			if off, err := s.Seek(0, io.SeekCurrent); err == nil {
				return max(size-off, 0)
			}
		}
		return size
	}
	switch v := r.(type) {
	case *os.File:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			return left(st.Size())
		}
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Size() int64 }:
		return left(v.Size())
	}
	return -1
}

// uploader feeds one upload request from r; consumed and err are read after
// its goroutine ended.
type uploader struct {
	r        io.Reader
	size     int64 // -1: unknown
	progress func(sent, total int64)
	consumed int64 // bytes read from r
	err      error // r's failure, or a size mismatch
}

// run writes the multipart body to w: head, r's bytes, tail.
func (u *uploader) run(w io.Writer, head, tail []byte) error {
	if _, err := w.Write(head); err != nil {
		return err
	}
	buf := make([]byte, 32<<10)
	last := time.Now()
	for {
		n, rerr := u.r.Read(buf)
		u.consumed += int64(n)
		if u.size >= 0 && u.consumed > u.size {
			u.err = fmt.Errorf("parley: upload: the reader has more than the %d bytes of its size", u.size)
			return u.err
		}
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if u.progress != nil && time.Since(last) >= progressEvery {
				u.progress(u.consumed, u.size)
				last = time.Now()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			u.err = fmt.Errorf("parley: upload: reading the file: %w", rerr)
			return u.err
		}
	}
	if u.size >= 0 && u.consumed != u.size {
		u.err = fmt.Errorf("parley: upload: the reader ended after %d of its %d bytes", u.consumed, u.size)
		return u.err
	}
	if u.progress != nil {
		u.progress(u.consumed, u.consumed)
	}
	_, err := w.Write(tail)
	return err
}

// uploadOnce makes one upload request.
func (c *Client) uploadOnce(ctx context.Context, base, token, name, ctype string, opts UploadOptions, up *uploader) (*File, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", name))
	h.Set("Content-Type", ctype)
	if _, err := mw.CreatePart(h); err != nil {
		return nil, err
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	mw.Close()
	tail := bytes.Clone(buf.Bytes())

	// The body streams through a pipe, so cancellation can cut it off even
	// while a Read of r blocks: closing the pipe ends the transport's read.
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(up.run(pw, head, tail))
	}()
	defer pr.CloseWithError(errUploadEnded)
	stopCut := context.AfterFunc(ctx, func() { pr.CloseWithError(context.Cause(ctx)) })
	defer stopCut()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL(base, c.cfg.Org, c.cfg.App, "chatfiles"), pr)
	if err != nil {
		return nil, err
	}
	req.ContentLength = -1
	if up.size >= 0 {
		req.ContentLength = int64(len(head)+len(tail)) + up.size
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	// The server checks the token before it reads the body: a refused
	// token costs no upload, and leaves r unread for the retry.
	req.Header.Set("Expect", "100-continue")
	if opts.Restricted {
		req.Header.Set("restrict-access", "true")
	}
	if opts.ThumbnailWidth > 0 {
		req.Header.Set("thumbnail-width", strconv.Itoa(opts.ThumbnailWidth))
	}
	if opts.ThumbnailHeight > 0 {
		req.Header.Set("thumbnail-height", strconv.Itoa(opts.ThumbnailHeight))
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	pr.CloseWithError(errUploadEnded) // stops the feeding goroutine, if it still runs
	if err != nil {
		select {
		case <-done:
			if up.err != nil { // the reader's failure explains the request's
				return nil, up.err
			}
		default:
		}
		return nil, fmt.Errorf("parley: upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := responseError(resp, "upload", protocol.ErrFileTooLarge, protocol.ErrBadImage)
		if e.Code == protocol.ErrBadAccessToken.ID {
			// Whether r was read decides the retry: wait for the goroutine,
			// which the closed pipe ends unless it is inside a Read of r.
			select {
			case <-done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return nil, e
	}
	var env struct {
		Entities []struct {
			UUID        string `json:"uuid"`
			ShareSecret string `json:"share-secret"`
			FileLength  int64  `json:"file_length"`
			ContentType string `json:"content_type"`
			Filename    string `json:"filename"`
			Restricted  bool   `json:"restrict_access"`
			Thumbnail   bool   `json:"thumbnail"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
		} `json:"entities"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&env); err != nil {
		return nil, fmt.Errorf("parley: upload: reading the answer: %w", err)
	}
	if len(env.Entities) == 0 || !validFileID(env.Entities[0].UUID) {
		return nil, errors.New("parley: upload: the answer names no file")
	}
	e := env.Entities[0]
	c.log.Debug("uploaded a file", "file", e.UUID, "bytes", e.FileLength)
	return &File{UUID: e.UUID, URL: apiURL(base, c.cfg.Org, c.cfg.App, "chatfiles", e.UUID), ShareSecret: e.ShareSecret,
		Size: e.FileLength, ContentType: e.ContentType, Filename: e.Filename, Restricted: e.Restricted,
		HasThumbnail: e.Thumbnail, Width: e.Width, Height: e.Height}, nil
}

// Download writes a file to w and returns how many bytes it wrote. file is
// the file's URL (a body's url or thumb, File.URL) or its UUID. The
// request carries this user's token, so the uploader can fetch a restricted
// file without its secret; to keep the token from ever reaching another
// host, a URL must name this app's chatfiles on one of the configured
// endpoints (same scheme, host and port), else Download fails without
// sending anything. Fetch a file known by URL on another host name by its
// UUID instead.
//
// Server failures are *Error: protocol.ErrFileNotFound (never uploaded,
// or deleted when its message was recalled), protocol.ErrFileAccessDenied
// (restricted, and the secret is missing or wrong). A refused token is
// replaced and the request repeated once, as for Upload. Cancelling ctx
// (or closing the Client) stops the download; Download then returns the
// bytes written so far and ctx.Err() (ErrClosed), and Offset can resume it.
func (c *Client) Download(ctx context.Context, file string, w io.Writer, opts DownloadOptions) (int64, error) {
	if opts.Offset < 0 {
		return 0, errors.New("parley: DownloadOptions.Offset must not be negative")
	}
	if err := c.Err(); err != nil {
		return 0, err
	}
	parent := ctx
	ctx, stop := c.bind(ctx)
	defer stop()
	for attempt := 0; ; attempt++ {
		base, token, err := c.restAuth(ctx)
		if err != nil {
			return 0, c.endErr(parent, ctx, err)
		}
		u, err := c.fileURL(file, base)
		if err != nil {
			return 0, err
		}
		n, err := c.downloadOnce(ctx, u, token, w, opts)
		if attempt == 0 && n == 0 && IsCode(err, protocol.ErrBadAccessToken) && c.canRefresh() {
			c.dropToken(token)
			c.log.Info("the server refused the token for a download; getting a new one")
			continue
		}
		return n, c.endErr(parent, ctx, err)
	}
}

func (c *Client) downloadOnce(ctx context.Context, u, token string, w io.Writer, opts DownloadOptions) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if opts.ShareSecret != "" {
		req.Header.Set("share-secret", opts.ShareSecret)
	}
	if opts.Thumbnail {
		req.Header.Set("thumbnail", "true")
	}
	if opts.Offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", opts.Offset))
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("parley: download: %w", err)
	}
	defer resp.Body.Close()
	pw := &progressWriter{w: w, fn: opts.Progress, at: opts.Offset, total: -1}
	switch resp.StatusCode {
	case http.StatusOK:
		if resp.ContentLength >= 0 {
			pw.total = resp.ContentLength
		}
		if opts.Offset > 0 { // the range was not honoured: skip to Offset
			if _, err := io.CopyN(io.Discard, resp.Body, opts.Offset); err != nil {
				return 0, fmt.Errorf("parley: download: skipping to the offset: %w", err)
			}
		}
	case http.StatusPartialContent:
		first, size, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || first != opts.Offset {
			return 0, fmt.Errorf("parley: download: the server sent the range %q, not from %d", resp.Header.Get("Content-Range"), opts.Offset)
		}
		pw.total = size
	case http.StatusRequestedRangeNotSatisfiable:
		if _, size, ok := contentRange(resp.Header.Get("Content-Range")); ok && size == opts.Offset {
			pw.total = size
			pw.finish()
			return 0, nil // already complete
		}
		return 0, responseError(resp, "download")
	default:
		return 0, responseError(resp, "download", protocol.ErrFileAccessDenied, protocol.ErrFileNotFound)
	}
	n, err := io.Copy(pw, resp.Body)
	if err != nil {
		return n, fmt.Errorf("parley: download: %w", err)
	}
	pw.finish()
	return n, nil
}

// contentRange parses "bytes first-last/size" and "bytes */size" (first
// -1); size is -1 when the server gives "*".
func contentRange(v string) (first, size int64, ok bool) {
	rng, total, found := strings.Cut(strings.TrimPrefix(v, "bytes "), "/")
	if !found || !strings.HasPrefix(v, "bytes ") {
		return 0, 0, false
	}
	size = -1
	if total != "*" {
		n, err := strconv.ParseInt(total, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		size = n
	}
	if rng == "*" {
		return -1, size, true
	}
	f, _, found := strings.Cut(rng, "-")
	n, err := strconv.ParseInt(f, 10, 64)
	if !found || err != nil || n < 0 {
		return 0, 0, false
	}
	return n, size, true
}

// progressWriter reports a download's progress, at most every
// progressEvery, and once more when it finishes.
type progressWriter struct {
	w     io.Writer
	fn    func(received, total int64)
	at    int64 // received so far, counted from the file's start
	total int64
	last  time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.at += int64(n)
	if p.fn != nil && time.Since(p.last) >= progressEvery {
		p.fn(p.at, p.total)
		p.last = time.Now()
	}
	return n, err
}

func (p *progressWriter) finish() {
	if p.fn != nil {
		p.fn(p.at, p.at)
	}
}

// bind returns a context that also ends when the Client is closed.
func (c *Client) bind(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// endErr reports a failure caused by the end of a call's context as the
// caller's context error, or as ErrClosed when Close ended it. Answers from
// the server (*Error) are kept.
func (c *Client) endErr(parent, ctx context.Context, err error) error {
	var e *Error
	if err == nil || ctx.Err() == nil || errors.As(err, &e) {
		return err
	}
	if perr := parent.Err(); perr != nil {
		return perr
	}
	return ErrClosed
}

// restAuth returns the endpoint REST calls go to now and a user token,
// getting one with the password grant when the Client has none (it was
// refused).
func (c *Client) restAuth(ctx context.Context) (base, token string, err error) {
	c.mu.Lock()
	base, token = c.endpoints[c.endpoint], c.token
	c.mu.Unlock()
	if token != "" {
		return base, token, nil
	}
	// One password grant for concurrent calls.
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	c.mu.Lock()
	token = c.token
	c.mu.Unlock()
	if token != "" {
		return base, token, nil
	}
	if !c.canRefresh() {
		return "", "", errors.New("parley: the Client has no token and no password to get one")
	}
	token, err = c.newToken(ctx, base)
	return base, token, err
}

// dropToken forgets a token the server refused, unless it was replaced
// meanwhile, so the next call and the next connection get a new one. Only
// a Client with a password does: without one there is no other token.
func (c *Client) dropToken(token string) {
	if !c.canRefresh() {
		return
	}
	c.mu.Lock()
	if c.token == token {
		c.token = ""
	}
	c.mu.Unlock()
}

// apiURL is the REST address {base}/{org}/{app}/{path...}.
func apiURL(base, org, app string, path ...string) string {
	u := httpBase(base) + "/" + url.PathEscape(org) + "/" + url.PathEscape(app)
	for _, p := range path {
		u += "/" + url.PathEscape(p)
	}
	return u
}

// validFileID accepts what a file UUID may be: 1-64 characters of
// [A-Za-z0-9-].
func validFileID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// fileURL turns a file reference (URL or UUID) into the address to fetch.
// A UUID is fetched from base. A URL must be {endpoint}/{org}/{app}/chatfiles/{uuid}
// for a configured endpoint (same scheme, host and port) and this app;
// anything else is refused, since the request carries the user's token.
func (c *Client) fileURL(ref, base string) (string, error) {
	if !strings.Contains(ref, "/") {
		if !validFileID(ref) {
			return "", fmt.Errorf("parley: %q is neither a file URL nor a file UUID", ref)
		}
		return apiURL(base, c.cfg.Org, c.cfg.App, "chatfiles", ref), nil
	}
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", errors.New("parley: a file URL must be an absolute http or https URL")
	}
	for _, e := range c.endpoints {
		b, err := url.Parse(httpBase(e))
		if err != nil || !strings.EqualFold(b.Scheme, u.Scheme) || hostPort(b) != hostPort(u) {
			continue
		}
		rest, ok := strings.CutPrefix(u.Path, strings.TrimRight(b.Path, "/")+"/")
		parts := strings.Split(rest, "/")
		if ok && len(parts) == 4 && strings.EqualFold(parts[0], c.cfg.Org) && strings.EqualFold(parts[1], c.cfg.App) &&
			parts[2] == "chatfiles" && validFileID(parts[3]) {
			return apiURL(e, c.cfg.Org, c.cfg.App, "chatfiles", parts[3]), nil
		}
	}
	return "", fmt.Errorf("parley: %s://%s%s is not a file of this app on a configured endpoint; "+
		"the Client sends its token only there (fetch the file by its UUID instead)", u.Scheme, u.Host, u.EscapedPath())
}

// hostPort is a URL's host in lower case with its port, the scheme's
// default if none is given.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}
