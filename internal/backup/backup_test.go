package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// archiveOf writes a tar.gz holding a manifest and the given entries.
func archiveOf(t *testing.T, entries map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for name, body := range entries {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	m := `{"format":1}`
	tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(m)), Typeflag: tar.TypeReg})
	tw.Write([]byte(m))
	tw.Close()
	gz.Close()
	f.Close()
	return p
}

// Entries that would land outside the target are refused before anything
// outside is written; unknown entries too.
func TestRestore_RefusesEscapingEntries(t *testing.T) {
	tests := []struct {
		name, entry, want string
	}{
		{"parent", "../evil", "not a plain relative path"},
		{"data parent", "data/../../evil", "not a plain relative path"},
		{"absolute", "/tmp/evil", "not a plain relative path"},
		{"unclean", "data//x", "not a plain relative path"},
		{"unknown", "other/x", "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			p := Paths{DataDir: filepath.Join(root, "data"), FilesDir: filepath.Join(root, "data", "files"),
				KeyFile: filepath.Join(root, "data", "secret.key")}
			_, err := Restore(context.Background(), archiveOf(t, map[string]string{tc.entry: "x"}), p, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(root, "evil")); err == nil {
				t.Fatal("wrote outside the target")
			}
		})
	}
}

// An archive's files go to the configured places; files of a store the
// node does not keep locally (S3) are left out.
func TestRestore_Targets(t *testing.T) {
	root := t.TempDir()
	a := archiveOf(t, map[string]string{"data/parley.db": "db", "files/1/u": "bytes", "secret.key": "key"})
	p := Paths{DataDir: filepath.Join(root, "d"), FilesDir: filepath.Join(root, "f"), KeyFile: filepath.Join(root, "k", "key")}
	if _, err := Restore(context.Background(), a, p, false); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{filepath.Join(p.DataDir, "parley.db"): "db",
		filepath.Join(p.FilesDir, "1", "u"): "bytes", p.KeyFile: "key"} {
		if b, err := os.ReadFile(path); err != nil || string(b) != want {
			t.Fatalf("%s: %q %v", path, b, err)
		}
	}
	p2 := Paths{DataDir: filepath.Join(root, "d2"), KeyFile: filepath.Join(root, "d2", "secret.key")}
	if _, err := Restore(context.Background(), a, p2, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "d2", "files")); err == nil {
		t.Fatal("files restored without a local store")
	}
	if _, err := Restore(context.Background(), filepath.Join(root, "d", "parley.db"), p2, true); err == nil {
		t.Fatal("a file that is not an archive was restored")
	}
}
