// Package backup copies an embedded-mode node (SQLite, local files, key
// files) into one tar.gz archive while the server runs, and restores such
// an archive into an empty data directory.
//
// Consistency: the database is copied first, as one snapshot (SQLite's
// VACUUM INTO reads in a single transaction, so it sees every commit before
// it started and none after, whatever the server writes meanwhile); the
// file store is copied after. A file's bytes are written before its row
// (package files), so every file the snapshot knows is already on disk
// when the copy starts; a file uploaded after the snapshot is copied or
// not, and without its row it is an orphan of no consequence. A file
// deleted between the snapshot and its copy (a recall, an erasure) is
// missing from the archive while its row is in it: downloads of it answer
// file_not_found, as they would have on the live server a moment later.
//
// Archive layout:
//
//	parley-backup.json   manifest (format version, time, what is included)
//	data/...             the data directory: data/parley.db (the snapshot) and
//	                     other files (the console owner password file, ...)
//	files/...            the local file store (driver local), wherever it lives
//	secret.key           the key of secrets at rest (secrets.key_file)
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Format is the archive format version in the manifest.
const Format = 1

// Names inside the data directory and the archive.
const (
	DBFile       = "parley.db"
	manifestName = "parley-backup.json"
	dataPrefix   = "data/"
	filesPrefix  = "files/"
	keyName      = "secret.key"
	blobTmpDir   = "tmp~" // the local blob store's partial uploads
)

// Paths names what a node keeps on disk.
type Paths struct {
	// DataDir holds the database (DataDir/parley.db).
	DataDir string
	// FilesDir is the local file store; empty when files are elsewhere
	// (S3: back the bucket up on its side).
	FilesDir string
	// KeyFile is the key of secrets at rest.
	KeyFile string
}

// Manifest describes an archive.
type Manifest struct {
	Format  int    `json:"format"`
	Created string `json:"created"` // RFC 3339, UTC
	Version string `json:"parley_version"`
	Files   bool   `json:"files"` // the local file store is included
	Key     bool   `json:"key"`
}

// Create writes an archive of p to out (a new file; it must not exist).
// It is safe while a server runs on p: see the package comment.
func Create(ctx context.Context, p Paths, out, version string) (*Manifest, error) {
	if _, err := os.Stat(out); err == nil {
		return nil, fmt.Errorf("%s exists; give a new file", out)
	}
	db := filepath.Join(p.DataDir, DBFile)
	if _, err := os.Stat(db); err != nil {
		return nil, fmt.Errorf("no database to back up: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".parley-backup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	snap := filepath.Join(tmp, DBFile)
	if err := snapshot(ctx, db, snap); err != nil {
		return nil, err
	}
	partial := out + ".partial"
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer os.Remove(partial) // after the rename, a no-op
	m := &Manifest{Format: Format, Created: time.Now().UTC().Format(time.RFC3339), Version: version}
	w := newWriter(f)
	err = func() error {
		if err := w.file(snap, dataPrefix+DBFile); err != nil {
			return err
		}
		skip := map[string]bool{}
		for _, q := range []string{p.FilesDir, p.KeyFile} {
			if q != "" {
				skip[filepath.Clean(q)] = true
			}
		}
		if err := w.tree(ctx, p.DataDir, dataPrefix, func(rel string, abs string) bool {
			if skip[abs] {
				return true
			}
			switch rel {
			case DBFile, DBFile + "-wal", DBFile + "-shm", DBFile + "-journal":
				return true
			}
			return false
		}); err != nil {
			return err
		}
		if p.FilesDir != "" {
			if _, err := os.Stat(p.FilesDir); err == nil {
				m.Files = true
				if err := w.tree(ctx, p.FilesDir, filesPrefix, func(rel, _ string) bool {
					return rel == blobTmpDir
				}); err != nil {
					return err
				}
			}
		}
		if p.KeyFile != "" {
			if _, err := os.Stat(p.KeyFile); err == nil {
				m.Key = true
				if err := w.file(p.KeyFile, keyName); err != nil {
					return err
				}
			}
		}
		mb, _ := json.MarshalIndent(m, "", "  ")
		return w.bytes(manifestName, mb)
	}()
	if err == nil {
		err = w.close()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return m, os.Rename(partial, out)
}

// snapshot copies the database at src into dst (a new file) in one read
// transaction.
func snapshot(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("database snapshot: %w", err)
	}
	return nil
}

type writer struct {
	gz *gzip.Writer
	tw *tar.Writer
}

func newWriter(w io.Writer) *writer {
	gz := gzip.NewWriter(w)
	return &writer{gz: gz, tw: tar.NewWriter(gz)}
}

func (w *writer) close() error {
	if err := w.tw.Close(); err != nil {
		return err
	}
	return w.gz.Close()
}

func (w *writer) bytes(name string, b []byte) error {
	if err := w.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), ModTime: time.Now()}); err != nil {
		return err
	}
	_, err := w.tw.Write(b)
	return err
}

// file adds one regular file; a file gone meanwhile is skipped.
func (w *writer) file(src, name string) error {
	f, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := w.tw.WriteHeader(&tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
		return err
	}
	// The size was read from the open file: blob files are replaced by a
	// rename, never rewritten, so it cannot change under us.
	_, err = io.CopyN(w.tw, f, fi.Size())
	return err
}

// tree adds the regular files under dir as prefix+relative path, leaving
// out those (and directories) for which skip is true.
func (w *writer) tree(ctx context.Context, dir, prefix string, skip func(rel, abs string) bool) error {
	dir = filepath.Clean(dir)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if skip(filepath.ToSlash(rel), p) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return w.file(p, prefix+filepath.ToSlash(rel))
	})
}

// ErrNotEmpty means a restore would overwrite data.
var ErrNotEmpty = errors.New("the target is not empty")

// Restore unpacks the archive at from into p: the data directory, the
// file store (when the archive has one and p.FilesDir is set) and the key
// file. It refuses (ErrNotEmpty) when the data directory, the file store or
// the key file already hold anything, unless force is set: then the
// database (with its WAL), the file store and the key file are replaced.
// No server may run on p meanwhile.
func Restore(ctx context.Context, from string, p Paths, force bool) (*Manifest, error) {
	m, err := readManifest(from)
	if err != nil {
		return nil, err
	}
	if m.Format != Format {
		return nil, fmt.Errorf("archive format %d; this parley reads %d", m.Format, Format)
	}
	if !force {
		for _, q := range []string{p.DataDir, p.FilesDir, p.KeyFile} {
			if q != "" && !empty(q) {
				return nil, fmt.Errorf("%w: %s (use --force to replace it)", ErrNotEmpty, q)
			}
		}
	} else {
		for _, q := range []string{DBFile, DBFile + "-wal", DBFile + "-shm", DBFile + "-journal"} {
			if err := os.Remove(filepath.Join(p.DataDir, q)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		if m.Files && p.FilesDir != "" {
			if err := os.RemoveAll(p.FilesDir); err != nil {
				return nil, err
			}
		}
	}
	if err := os.MkdirAll(p.DataDir, 0o750); err != nil {
		return nil, err
	}
	tr, closer, err := openArchive(from)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg || h.Name == manifestName {
			continue
		}
		dst, err := target(h.Name, p)
		if err != nil {
			return nil, err
		}
		if dst == "" {
			continue // files of a store this node does not keep locally
		}
		if err := extract(tr, dst, h); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// target maps an archive name to its path, refusing names that would
// leave their directory.
func target(name string, p Paths) (string, error) {
	clean := path.Clean(name)
	if clean != name || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("archive entry %q: not a plain relative path", name)
	}
	switch {
	case name == keyName:
		if p.KeyFile == "" {
			return "", nil
		}
		return p.KeyFile, nil
	case strings.HasPrefix(name, dataPrefix):
		return filepath.Join(p.DataDir, filepath.FromSlash(strings.TrimPrefix(name, dataPrefix))), nil
	case strings.HasPrefix(name, filesPrefix):
		if p.FilesDir == "" {
			return "", nil
		}
		return filepath.Join(p.FilesDir, filepath.FromSlash(strings.TrimPrefix(name, filesPrefix))), nil
	}
	return "", fmt.Errorf("archive entry %q: unknown", name)
}

func extract(r io.Reader, dst string, h *tar.Header) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(h.Mode).Perm()|0o600)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, h.Size); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// openArchive opens a tar.gz for reading.
func openArchive(from string) (*tar.Reader, io.Closer, error) {
	f, err := os.Open(from)
	if err != nil {
		return nil, nil, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a parley backup: %w", from, err)
	}
	return tar.NewReader(gz), f, nil
}

// readManifest finds the manifest (the archive's last entry).
func readManifest(from string) (*Manifest, error) {
	tr, closer, err := openArchive(from)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: not a parley backup (no %s)", from, manifestName)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		if h.Name == manifestName {
			var m Manifest
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil {
				return nil, fmt.Errorf("%s: bad manifest: %w", from, err)
			}
			return &m, nil
		}
	}
}

// empty reports whether p is missing, an empty directory, or an empty
// file.
func empty(p string) bool {
	fi, err := os.Stat(p)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	if !fi.IsDir() {
		return fi.Size() == 0
	}
	entries, err := os.ReadDir(p)
	return err == nil && len(entries) == 0
}
