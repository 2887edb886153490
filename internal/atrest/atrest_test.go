package atrest_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/atrest"
)

var (
	keyA = "a:" + strings.Repeat("A", 43) + "="
	keyB = "b-2:" + strings.Repeat("B", 43) + "="
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		ids     []string // in order; the last is active
		wantErr string
	}{
		{"one", keyA, []string{"a"}, ""},
		{"lines, comments, blanks", "# keys\n" + keyA + "  # old\n\n" + keyB + "\n", []string{"a", "b-2"}, ""},
		{"commas and spaces", keyA + ", " + keyB, []string{"a", "b-2"}, ""},
		{"CRLF", keyA + "\r\n" + keyB + "\r\n", []string{"a", "b-2"}, ""},
		{"empty", "", nil, "no keys"},
		{"only comments", "# nothing\n", nil, "no keys"},
		{"no colon", "abc", nil, "want ID:BASE64"},
		{"bad id", "a.b:" + strings.Repeat("A", 43) + "=", nil, "want ID:BASE64"},
		{"long id", strings.Repeat("x", 17) + ":" + strings.Repeat("A", 43) + "=", nil, "want ID:BASE64"},
		{"short key", "a:QUJD", nil, `key "a": want 32 bytes`},
		{"bad base64", "a:" + strings.Repeat("*", 44), nil, `key "a": want 32 bytes`},
		{"repeated id", keyA + "\n" + keyA, nil, `"a" is listed twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := atrest.Parse(tc.text)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "AAAA") {
					t.Fatalf("the error shows key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := k.IDs(); strings.Join(got, ",") != strings.Join(tc.ids, ",") || k.Active() != tc.ids[len(tc.ids)-1] {
				t.Fatalf("IDs %v active %q, want %v", got, k.Active(), tc.ids)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(path, []byte(keyA+"\n"), 0o600)
	k, err := atrest.Load(path, keyB)
	if err != nil || k.Active() != "b-2" || !k.Has("a") {
		t.Fatalf("file then inline: %v %v", err, k)
	}
	if _, err := atrest.Load(filepath.Join(t.TempDir(), "missing"), ""); err == nil {
		t.Fatal("missing file: no error")
	}
}

func TestKeyring_SealOpen(t *testing.T) {
	old, _ := atrest.Parse(keyA)
	both, _ := atrest.Parse(keyA + "\n" + keyB)
	onlyB, _ := atrest.Parse(keyB)
	plain := []byte(`{"msg":"hello"}`)
	ad := []byte("items.body:1")
	underA := old.Seal(plain, ad)
	underB := both.Seal(plain, ad)
	if id, ok := atrest.KeyOf(underA); !ok || id != "a" || !strings.HasPrefix(underA, "pe1:a:") {
		t.Fatalf("sealed under a: %q", underA)
	}
	if id, _ := atrest.KeyOf(underB); id != "b-2" {
		t.Fatalf("the active key is the last: %q", underB)
	}
	if old.Seal(plain, ad) == underA {
		t.Fatal("two seals are equal: the nonce is not random")
	}
	tests := []struct {
		name  string
		k     *atrest.Keyring
		value string
		ad    []byte
		want  []byte
		err   error
	}{
		{"old key, new keyring", both, underA, ad, plain, nil},
		{"new key", both, underB, ad, plain, nil},
		{"plaintext passes", onlyB, string(plain), ad, plain, nil},
		{"no keyring, plaintext", nil, string(plain), ad, plain, nil},
		{"no keyring, sealed", nil, underA, ad, nil, atrest.ErrUnknownKey},
		{"removed key", onlyB, underA, ad, nil, atrest.ErrUnknownKey},
		{"other row", both, underA, []byte("items.body:2"), nil, atrest.ErrCorrupt},
		{"flipped", both, flip(underA, len(underA)/2), ad, nil, atrest.ErrCorrupt},
		{"truncated", both, underA[:20], ad, nil, atrest.ErrCorrupt},
		{"bad base64", both, "pe1:a:***", ad, nil, atrest.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.k.Open(tc.value, tc.ad)
			if !errors.Is(err, tc.err) || !bytes.Equal(got, tc.want) {
				t.Fatalf("Open = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestStreamSizes(t *testing.T) {
	for _, n := range []int64{0, 1, atrest.SegmentSize - 1, atrest.SegmentSize, atrest.SegmentSize + 1, 10 * atrest.SegmentSize, 1 << 30} {
		size, segs, err := atrest.PlainSize(atrest.StreamSize(n))
		if err != nil || size != n || segs != max(1, (n+atrest.SegmentSize-1)/atrest.SegmentSize) {
			t.Fatalf("PlainSize(StreamSize(%d)) = %d, %d segments, %v", n, size, segs, err)
		}
	}
	for _, bad := range []int64{0, int64(atrest.StreamHeaderSize), int64(atrest.StreamHeaderSize) + 15} {
		if _, _, err := atrest.PlainSize(bad); err == nil {
			t.Fatalf("PlainSize(%d): no error", bad)
		}
	}
}

func TestStreamHeader(t *testing.T) {
	k, _ := atrest.Parse(keyB)
	h, c, err := k.NewStream("1/file")
	if err != nil {
		t.Fatal(err)
	}
	got, err := atrest.ParseStreamHeader(h.Bytes())
	if err != nil || got != h || len(h.Bytes()) != atrest.StreamHeaderSize {
		t.Fatalf("header round trip: %+v %v", got, err)
	}
	sealed := c.Seal(nil, []byte("segment"), 0, true)
	other, _ := k.OpenStream(h, "1/other") // another object: another key
	if _, err := other.Open(nil, sealed, 0, true); !errors.Is(err, atrest.ErrCorrupt) {
		t.Fatalf("opened under another object's name: %v", err)
	}
	same, _ := k.OpenStream(h, "1/file")
	for _, tc := range []struct {
		i     int64
		final bool
		ok    bool
	}{{0, true, true}, {1, true, false}, {0, false, false}} {
		if _, err := same.Open(nil, sealed, tc.i, tc.final); (err == nil) != tc.ok {
			t.Fatalf("segment %d final %v: %v", tc.i, tc.final, err)
		}
	}
	for _, bad := range [][]byte{nil, []byte("parleyb1xxxxxxxx"), append([]byte("parleye1\x00"), make([]byte, 48)...)} {
		if _, err := atrest.ParseStreamHeader(bad); err == nil {
			t.Fatalf("ParseStreamHeader(%q): no error", bad)
		}
	}
}

// Open never panics on stored bytes, and what Seal makes opens.
func FuzzOpen(f *testing.F) {
	k, _ := atrest.Parse(keyA + "," + keyB)
	f.Add("pe1:a:AAAA", []byte("x"))
	f.Add(k.Seal([]byte("hello"), []byte("ad")), []byte("ad"))
	f.Add(`{"msg":"hi"}`, []byte(nil))
	f.Fuzz(func(t *testing.T, value string, ad []byte) {
		k.Open(value, ad)
		atrest.KeyOf(value)
		atrest.ParseStreamHeader([]byte(value))
		got, err := k.Open(k.Seal([]byte(value), ad), ad)
		if err != nil || string(got) != value {
			t.Fatalf("round trip of %q: %q, %v", value, got, err)
		}
	})
}

// flip changes the base64 character at i to another one, so the sealed
// bytes differ (a fixed replacement would sometimes equal the original; i
// is mid-string, where every bit of a character is data, not padding).
func flip(s string, i int) string {
	c := byte('x')
	if s[i] == c {
		c = 'y'
	}
	return s[:i] + string(c) + s[i+1:]
}
