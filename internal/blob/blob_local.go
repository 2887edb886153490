package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Local stores objects as files in a directory: key "a/b" is the file
// <dir>/a/b (the caller's key decides the subdirectories; Parley uses
// <app>/<uuid>). A file starts with a small header holding the content
// type, so content and type are replaced together by one rename:
//
//	"parleyb1"  8-byte magic
//	n           1 byte, length of the content type
//	type        n bytes of printable ASCII
//	content     the rest
//
// Put writes into <dir>/tmp~ (a name no key can take, since keys have no
// '~'), fsyncs, renames into place and fsyncs the directory, so readers
// never see a partial file and a failed Put leaves nothing behind. Temp
// files older than a day (left by a crash) are removed by NewLocal.
//
// One limit the S3 store does not share: a key cannot be both an object and
// a prefix of another ("a" and "a/b"); the second Put fails.
type Local struct {
	dir, tmp string
}

var _ Store = (*Local)(nil)

const (
	localMagic  = "parleyb1"
	localTmpDir = "tmp~"
	staleTemp   = 24 * time.Hour
)

// NewLocal opens (creating it if needed) a local store in dir.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("blob: empty directory")
	}
	dir = filepath.Clean(dir)
	tmp := filepath.Join(dir, localTmpDir)
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	if entries, err := os.ReadDir(tmp); err == nil {
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
				os.Remove(filepath.Join(tmp, e.Name()))
			}
		}
	}
	return &Local{dir: dir, tmp: tmp}, nil
}

func (l *Local) path(key string) string { return filepath.Join(l.dir, filepath.FromSlash(key)) }

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, limit int64, contentType string) (info Info, err error) {
	ct, err := checkPut(key, limit, contentType)
	if err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	f, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return Info{}, fmt.Errorf("blob: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
				err = fmt.Errorf("%w: %w", ErrFull, err)
			}
		}
	}()
	hdr := append([]byte(localMagic), byte(len(ct)))
	if _, err := f.Write(append(hdr, ct...)); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	lr := newLimitReader(ctx, r, limit)
	n, err := io.Copy(f, lr)
	if lr.exceeded {
		return Info{}, ErrTooLarge
	}
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	// A caller that gave up while the last bytes were written gets no
	// object, like one that gave up earlier.
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	dst := l.path(key)
	if err := l.mkdirs(filepath.Dir(dst)); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	return Info{Key: key, Size: n, ContentType: ct, Modified: fi.ModTime()}, nil
}

// mkdirs creates dir and any missing parents below l.dir, fsyncing each
// parent whose entries changed so the new path survives a power loss.
func (l *Local) mkdirs(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	for d := dir; d != l.dir && strings.HasPrefix(d, l.dir); d = filepath.Dir(d) {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// open opens key's file and reads its header.
func (l *Local) open(key string) (*os.File, Info, int64, error) {
	f, err := os.Open(l.path(key))
	if err != nil {
		if notFound(err) {
			return nil, Info{}, 0, ErrNotFound
		}
		return nil, Info{}, 0, fmt.Errorf("blob: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, 0, fmt.Errorf("blob: %w", err)
	}
	if fi.IsDir() { // a prefix of other keys, not an object
		f.Close()
		return nil, Info{}, 0, ErrNotFound
	}
	var hdr [len(localMagic) + 1]byte
	var ct []byte
	_, err = io.ReadFull(f, hdr[:])
	if err == nil && string(hdr[:len(localMagic)]) == localMagic {
		ct = make([]byte, hdr[len(localMagic)])
		_, err = io.ReadFull(f, ct)
	} else if err == nil {
		err = errors.New("not a blob file (bad header)")
	}
	if err != nil {
		f.Close()
		return nil, Info{}, 0, fmt.Errorf("blob: %s: %w", key, err)
	}
	hlen := int64(len(hdr) + len(ct))
	return f, Info{Key: key, Size: fi.Size() - hlen, ContentType: string(ct), Modified: fi.ModTime()}, hlen, nil
}

func notFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Get implements Store.
func (l *Local) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error) {
	if err := checkGet(key, off); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	f, info, hlen, err := l.open(key)
	if err != nil {
		return nil, Info{}, err
	}
	n, err = span(info.Size, off, n)
	if err != nil {
		f.Close()
		return nil, Info{}, err
	}
	// The open file keeps this version's bytes even if a Put replaces or a
	// Delete removes the name meanwhile.
	return sectionReadCloser{io.NewSectionReader(f, hlen+off, n), f}, info, nil
}

type sectionReadCloser struct {
	*io.SectionReader
	f *os.File
}

func (s sectionReadCloser) Close() error { return s.f.Close() }

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	f, info, _, err := l.open(key)
	if err != nil {
		return Info{}, err
	}
	f.Close()
	return info, nil
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := l.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if notFound(err) {
			return nil
		}
		return fmt.Errorf("blob: %w", err)
	}
	if fi.IsDir() { // a prefix of other keys: no object under key
		return nil
	}
	if err := os.Remove(p); err != nil && !notFound(err) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return syncDir(filepath.Dir(p))
}

// Close implements Store; a Local holds no resources.
func (l *Local) Close() error { return nil }
