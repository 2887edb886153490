package blob_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/parleyim/parley/internal/blob"
)

// A local store on a full disk: Put fails with ErrFull, leaves nothing
// behind, and works again once there is room. The disk is a 1 MB tmpfs,
// so the test needs root (it is skipped otherwise).
func TestLocal_Full(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounts a tmpfs: needs root")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	os.Mkdir(dir, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		size    int
		wantErr error
	}{
		{"larger than the disk", 2 << 20, blob.ErrFull},
		{"fits once the failed one is gone", 256 << 10, nil},
		{"no room left beside it", 900 << 10, blob.ErrFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "a/" + filepath.Base(t.Name())
			_, err := s.Put(ctx, key, bytes.NewReader(make([]byte, tt.size)), 4<<20, "")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put %d bytes: %v, want %v", tt.size, err, tt.wantErr)
			}
			_, err = s.Stat(ctx, key)
			if tt.wantErr != nil && !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("a failed Put left an object: %v", err)
			}
			if left, _ := os.ReadDir(filepath.Join(dir, "tmp~")); len(left) > 0 {
				t.Fatalf("temp files left behind: %v", left)
			}
		})
	}
}
