package blob

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/parleyim/parley/internal/atrest"
)

// Encrypted is a Store over another that encrypts contents at rest
// (atrest's stream format: 64 KiB segments, each sealed on its own, so Put
// streams and a range Get decrypts only the segments it spans). Objects
// stored before encryption was turned on (no stream header) are read as
// they are. Sizes, offsets and limits are those of the plaintext; the
// underlying store holds StreamSize(n) bytes for n.
//
// A range read starting past the first segment costs two requests to the
// underlying store (the header, then the segments).
type Encrypted struct {
	u    Store
	keys *atrest.Keyring
	// encrypt: Put encrypts (false: Put stores plaintext, Get still
	// decrypts what was encrypted — encryption turned off).
	encrypt bool
}

var _ Store = (*Encrypted)(nil)

// NewEncrypted wraps u. With encrypt false, new objects are stored in
// plaintext and existing encrypted ones stay readable.
func NewEncrypted(u Store, keys *atrest.Keyring, encrypt bool) *Encrypted {
	return &Encrypted{u: u, keys: keys, encrypt: encrypt}
}

// ErrDecrypt: an object's encryption is broken (unknown key, tampered or
// truncated content).
var ErrDecrypt = errors.New("blob: cannot decrypt")

// Put implements Store.
func (e *Encrypted) Put(ctx context.Context, key string, r io.Reader, limit int64, contentType string) (Info, error) {
	if !e.encrypt {
		return e.u.Put(ctx, key, r, limit, contentType)
	}
	if _, err := checkPut(key, limit, contentType); err != nil {
		return Info{}, err
	}
	h, c, err := e.keys.NewStream(key)
	if err != nil {
		return Info{}, err
	}
	er := &encReader{src: bufio.NewReaderSize(r, atrest.SegmentSize), c: c, out: h.Bytes()}
	info, err := e.u.Put(ctx, key, er, atrest.StreamSize(min(limit, 1<<60)), contentType)
	if err != nil {
		return Info{}, err
	}
	info.Size = er.plain
	return info, nil
}

// encReader turns plaintext into the stream format as it is read.
type encReader struct {
	src   *bufio.Reader
	c     *atrest.StreamCipher
	seg   int64
	plain int64
	buf   []byte
	sbuf  []byte // sealed segment
	out   []byte // pending output (in sbuf, or the header)
	done  bool
	err   error
}

func (r *encReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.fill()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// fill seals the next segment into out.
func (r *encReader) fill() {
	if r.buf == nil {
		r.buf = make([]byte, atrest.SegmentSize)
	}
	// Not io.ReadFull: its io.ErrUnexpectedEOF for a short read would
	// hide the same error from src (a truncated upload).
	n := 0
	var err error
	for n < len(r.buf) && err == nil {
		var m int
		m, err = r.src.Read(r.buf[n:])
		n += m
	}
	final := false
	switch {
	case err == io.EOF:
		final = true
	case err != nil:
		r.err = err
		return
	default: // a full segment: final if nothing follows
		if _, err := r.src.Peek(1); err == io.EOF {
			final = true
		} else if err != nil {
			r.err = err
			return
		}
	}
	r.plain += int64(n)
	r.sbuf = r.c.Seal(r.sbuf[:0], r.buf[:n], r.seg, final)
	r.out = r.sbuf
	r.seg++
	r.done = final
}

// header reads the object's first bytes: the stream header of an
// encrypted object (nil header for plaintext).
func (e *Encrypted) header(ctx context.Context, key string) (*atrest.StreamHeader, Info, error) {
	rc, info, err := e.u.Get(ctx, key, 0, int64(atrest.StreamHeaderSize))
	if err != nil {
		return nil, Info{}, err
	}
	defer rc.Close()
	b := make([]byte, atrest.StreamHeaderSize)
	n, err := io.ReadFull(rc, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, Info{}, err
	}
	if !atrest.IsStream(b[:n]) {
		return nil, info, nil
	}
	h, err := atrest.ParseStreamHeader(b[:n])
	if err != nil {
		return nil, Info{}, fmt.Errorf("%w %s: %v", ErrDecrypt, key, err)
	}
	return &h, info, nil
}

// plainInfo turns an encrypted object's info into the plaintext's.
func plainInfo(key string, info Info) (Info, int64, error) {
	size, segs, err := atrest.PlainSize(info.Size)
	if err != nil {
		return Info{}, 0, fmt.Errorf("%w %s: %v", ErrDecrypt, key, err)
	}
	info.Size = size
	return info, segs, nil
}

// Get implements Store. A range within the first segment (every whole-file
// read) is one request to the underlying store, so it sees one version of
// an object that is being replaced. A later range needs the header first,
// then the segments: the first segment is decrypted before Get returns,
// and if the object was replaced in between (sizes differ, or the segment
// does not authenticate under the header's key) the pair is read again.
func (e *Encrypted) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error) {
	if err := checkGet(key, off); err != nil {
		return nil, Info{}, err
	}
	const full = atrest.SegmentSize + atrest.SegmentOverhead
	if off < atrest.SegmentSize {
		// One request from the start: the header, then the segments
		// [0, last] (or, for a plaintext object, bytes 0..off+n).
		end := int64(-1)
		if n >= 0 && n <= 1<<60 {
			end = int64(atrest.StreamHeaderSize) + ((off+n)/atrest.SegmentSize+1)*full
		}
		rc, info, err := e.u.Get(ctx, key, 0, end)
		if err != nil {
			return nil, Info{}, err
		}
		br := bufio.NewReaderSize(rc, atrest.StreamHeaderSize)
		head, _ := br.Peek(atrest.StreamHeaderSize)
		if !atrest.IsStream(head) {
			if n, err = span(info.Size, off, n); err != nil {
				rc.Close()
				return nil, Info{}, err
			}
			if _, err := br.Discard(int(off)); err != nil {
				rc.Close()
				return nil, Info{}, err
			}
			return readCloser{io.LimitReader(br, n), rc}, info, nil
		}
		d, pinfo, err := e.open(key, head, info, off, n)
		if err != nil {
			rc.Close()
			return nil, Info{}, err
		}
		if _, err := br.Discard(atrest.StreamHeaderSize); err != nil {
			rc.Close()
			return nil, Info{}, err
		}
		d.r, d.rc = br, rc
		return d, pinfo, nil
	}
	var err error
	for range 3 {
		var rc io.ReadCloser
		var info, info2 Info
		var h *atrest.StreamHeader
		h, info, err = e.header(ctx, key)
		if err != nil {
			return nil, Info{}, err
		}
		if h == nil {
			if rc, info2, err = e.u.Get(ctx, key, off, n); err != nil {
				return nil, Info{}, err
			}
			if info2.Size == info.Size {
				return rc, info2, nil
			}
			rc.Close()
			continue // replaced in between
		}
		var d *decReader
		var pinfo Info
		d, pinfo, err = e.open(key, h.Bytes(), info, off, n)
		if err != nil {
			return nil, Info{}, err
		}
		if d.left == 0 {
			return d, pinfo, nil
		}
		last := min((off+d.left-1)/atrest.SegmentSize, d.segs-1) // the last segment the range needs
		rc, info2, err = e.u.Get(ctx, key, int64(atrest.StreamHeaderSize)+d.seg*full, (last-d.seg+1)*full)
		if err != nil {
			return nil, Info{}, err
		}
		if info2.Size != info.Size {
			rc.Close()
			continue
		}
		d.r, d.rc = rc, rc
		if err = d.next(); err != nil {
			rc.Close()
			continue // replaced in between (or corrupt: reported after the retries)
		}
		return d, pinfo, nil
	}
	if err == nil {
		err = fmt.Errorf("blob: %s is being replaced too often to read", key)
	}
	return nil, Info{}, err
}

type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error { return r.c.Close() }

// open prepares a decReader for plaintext bytes [off, off+n) of the
// encrypted object with header head and (underlying) info.
func (e *Encrypted) open(key string, head []byte, info Info, off, n int64) (*decReader, Info, error) {
	h, err := atrest.ParseStreamHeader(head)
	if err != nil {
		return nil, Info{}, fmt.Errorf("%w %s: %v", ErrDecrypt, key, err)
	}
	pinfo, segs, err := plainInfo(key, info)
	if err != nil {
		return nil, Info{}, err
	}
	if n, err = span(pinfo.Size, off, n); err != nil {
		return nil, Info{}, err
	}
	c, err := e.keys.OpenStream(h, key)
	if err != nil {
		return nil, Info{}, fmt.Errorf("%w %s: %v", ErrDecrypt, key, err)
	}
	first := off / atrest.SegmentSize
	return &decReader{c: c, key: key, seg: first, segs: segs, skip: off - first*atrest.SegmentSize, left: n}, pinfo, nil
}

// decReader decrypts segments as they are read.
type decReader struct {
	r         io.Reader
	rc        io.Closer
	c         *atrest.StreamCipher
	key       string
	seg, segs int64 // the next segment, and how many the object has
	skip      int64 // plaintext bytes to drop from the first segment
	left      int64 // plaintext bytes still to return
	in, plain []byte
	out       []byte
}

// next decrypts the next segment into out.
func (d *decReader) next() error {
	if d.seg >= d.segs {
		return io.ErrUnexpectedEOF
	}
	if d.in == nil {
		d.in = make([]byte, atrest.SegmentSize+atrest.SegmentOverhead)
		d.plain = make([]byte, 0, atrest.SegmentSize)
	}
	final := d.seg == d.segs-1
	n, err := io.ReadFull(d.r, d.in)
	if err == io.ErrUnexpectedEOF && final {
		err = nil
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	out, err := d.c.Open(d.plain[:0], d.in[:n], d.seg, final)
	if err != nil {
		return fmt.Errorf("%w %s: segment %d: %v", ErrDecrypt, d.key, d.seg, err)
	}
	d.seg++
	if d.skip > 0 {
		out = out[min(d.skip, int64(len(out))):]
		d.skip = 0
	}
	d.out = out
	return nil
}

func (d *decReader) Read(p []byte) (int, error) {
	if d.left <= 0 {
		return 0, io.EOF
	}
	for len(d.out) == 0 {
		if err := d.next(); err != nil {
			return 0, err
		}
	}
	m := min(int64(len(p)), int64(len(d.out)), d.left)
	copy(p, d.out[:m])
	d.out = d.out[m:]
	d.left -= m
	return int(m), nil
}

func (d *decReader) Close() error {
	if d.rc == nil {
		return nil
	}
	return d.rc.Close()
}

// Stat implements Store.
func (e *Encrypted) Stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	h, info, err := e.header(ctx, key)
	if err != nil || h == nil {
		return info, err
	}
	info, _, err = plainInfo(key, info)
	return info, err
}

// Delete implements Store.
func (e *Encrypted) Delete(ctx context.Context, key string) error { return e.u.Delete(ctx, key) }

// Close implements Store.
func (e *Encrypted) Close() error { return e.u.Close() }

// KeyOf returns the key ID an object is encrypted under ("" for
// plaintext).
func (e *Encrypted) KeyOf(ctx context.Context, key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	h, _, err := e.header(ctx, key)
	if err != nil || h == nil {
		return "", err
	}
	return h.KeyID, nil
}

// Rewrite re-stores an object under the current setting (the active key,
// or plaintext when encryption is off) unless it is already so, and
// reports whether it did. The object is replaced atomically (Put's
// guarantee); a concurrent Put of the same key may be overwritten by the
// older content, so call it only for objects that are not rewritten in
// place (Parley's files never are).
func (e *Encrypted) Rewrite(ctx context.Context, key string) (bool, error) {
	id, err := e.KeyOf(ctx, key)
	if err != nil {
		return false, err
	}
	if (e.encrypt && id == e.keys.Active()) || (!e.encrypt && id == "") {
		return false, nil
	}
	rc, info, err := e.Get(ctx, key, 0, -1)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	if _, err := e.Put(ctx, key, rc, info.Size, info.ContentType); err != nil {
		return false, err
	}
	return true, nil
}
