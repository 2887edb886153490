package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestBox(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k", "secret.key")
	b1, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st)
	}
	b2, err := Load(path) // the same key again
	if err != nil {
		t.Fatal(err)
	}
	c := b1.Seal([]byte("hunter2"), []byte("app1/fcm"))
	if bytes.Contains([]byte(c), []byte("hunter2")) {
		t.Fatal("plaintext visible")
	}
	if c == b1.Seal([]byte("hunter2"), []byte("app1/fcm")) {
		t.Fatal("no fresh nonce")
	}
	tests := []struct {
		name string
		box  *Box
		ct   string
		ad   string
		ok   bool
	}{
		{"same key", b2, c, "app1/fcm", true},
		{"other context", b2, c, "app2/fcm", false},
		{"tampered", b2, c[:len(c)-2] + "AA", "app1/fcm", false},
		{"no version", b2, c[3:], "app1/fcm", false},
		{"garbage", b2, "v1:%%%", "app1/fcm", false},
	}
	other, _ := Load(filepath.Join(dir, "other.key"))
	tests = append(tests, struct {
		name string
		box  *Box
		ct   string
		ad   string
		ok   bool
	}{"other key", other, c, "app1/fcm", false})
	for _, tc := range tests {
		got, err := tc.box.Open(tc.ct, []byte(tc.ad))
		if tc.ok != (err == nil) || (tc.ok && string(got) != "hunter2") {
			t.Errorf("%s: %q %v", tc.name, got, err)
		}
	}
	os.WriteFile(filepath.Join(dir, "bad.key"), []byte("short"), 0o600)
	if _, err := Load(filepath.Join(dir, "bad.key")); err == nil {
		t.Fatal("a bad key file loaded")
	}
}
