package parley

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// Download sends the user's token, so it only fetches this app's files
// from a configured endpoint.
func TestClient_FileURL(t *testing.T) {
	cfg := Config{BaseURL: "https://chat.example.com:8443/im/", Endpoints: []string{"ws://10.0.0.7:8080"}, Org: "Acme", App: "chat"}
	c := &Client{cfg: cfg, endpoints: cfg.endpoints()}
	const id = "0d4c2a5e-6b1f-4c84-9f0e-2f1a3b4c5d6e"
	tests := []struct {
		ref, base string
		want      string // "" for a refusal
	}{
		{id, "https://chat.example.com:8443/im", "https://chat.example.com:8443/im/Acme/chat/chatfiles/" + id},
		{id, "ws://10.0.0.7:8080", "http://10.0.0.7:8080/Acme/chat/chatfiles/" + id},
		{"https://CHAT.example.com:8443/im/acme/CHAT/chatfiles/" + id + "?em-redirect=true#x", "", "https://chat.example.com:8443/im/Acme/chat/chatfiles/" + id},
		{"http://10.0.0.7:8080/acme/chat/chatfiles/" + id, "", "http://10.0.0.7:8080/Acme/chat/chatfiles/" + id},
		{"http://10.0.0.7:80/acme/chat/chatfiles/" + id, "", ""},          // another port
		{"http://10.0.0.7/acme/chat/chatfiles/" + id, "", ""},             // the default port is another port
		{"https://10.0.0.7:8080/acme/chat/chatfiles/" + id, "", ""},       // another scheme
		{"https://chat.example.com/im/acme/chat/chatfiles/" + id, "", ""}, // 443, not 8443
		{"https://chat.example.com.evil.org:8443/im/acme/chat/chatfiles/" + id, "", ""},
		{"https://user:pw@chat.example.com:8443/im/acme/chat/chatfiles/" + id, "", ""},
		{"https://chat.example.com:8443/acme/chat/chatfiles/" + id, "", ""},     // outside the prefix
		{"https://chat.example.com:8443/im/acme/other/chatfiles/" + id, "", ""}, // another app
		{"https://chat.example.com:8443/im/acme/chat/users/" + id, "", ""},      // not a file
		{"https://chat.example.com:8443/im/acme/chat/chatfiles/" + id + "/x", "", ""},
		{"https://chat.example.com:8443/im/acme/chat/chatfiles/a%2Fb", "", ""},
		{"/im/acme/chat/chatfiles/" + id, "", ""}, // not absolute
		{"ftp://chat.example.com:8443/im/acme/chat/chatfiles/" + id, "", ""},
		{"not a uuid", "https://chat.example.com:8443/im", ""},
	}
	for _, tt := range tests {
		got, err := c.fileURL(tt.ref, tt.base)
		if tt.want == "" {
			if err == nil {
				t.Errorf("fileURL(%q) = %q, want a refusal", tt.ref, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("fileURL(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
}

func TestContentRange(t *testing.T) {
	tests := []struct {
		v           string
		first, size int64
		ok          bool
	}{
		{"bytes 10-19/100", 10, 100, true},
		{"bytes 0-0/*", 0, -1, true},
		{"bytes */100", -1, 100, true},
		{"bytes 5-/100", 5, 100, true},
		{"items 1-2/3", 0, 0, false},
		{"bytes 1-2", 0, 0, false},
		{"bytes x-2/3", 0, 0, false},
		{"bytes 1-2/-3", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		first, size, ok := contentRange(tt.v)
		if ok != tt.ok || (ok && (first != tt.first || size != tt.size)) {
			t.Errorf("contentRange(%q) = %d, %d, %v", tt.v, first, size, ok)
		}
	}
}

func TestReaderSize(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(make([]byte, 1000))
	f.Seek(100, io.SeekStart)
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	read := bytes.NewReader(make([]byte, 50))
	read.Seek(20, io.SeekStart)
	tests := []struct {
		name string
		r    io.Reader
		want int64
	}{
		{"file at an offset", f, 900},
		{"pipe", pipeR, -1},
		{"bytes.Reader partly read", read, 30},
		{"strings.Reader", strings.NewReader("abc"), 3},
		{"bytes.Buffer", bytes.NewBufferString("abcd"), 4},
		{"section", io.NewSectionReader(strings.NewReader("abcdef"), 1, 4), 4},
		{"plain reader", iotest.OneByteReader(strings.NewReader("abc")), -1},
	}
	for _, tt := range tests {
		if got := readerSize(tt.r); got != tt.want {
			t.Errorf("%s: readerSize = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// The upload body is head, the reader's bytes, tail; a reader that does not
// match its declared size fails the upload instead of truncating it.
func TestUploader_Run(t *testing.T) {
	tests := []struct {
		name    string
		content string
		size    int64
		wantErr string
	}{
		{"known size", "hello world", 11, ""},
		{"unknown size", "hello world", -1, ""},
		{"empty", "", 0, ""},
		{"longer than its size", "hello world", 5, "more than the 5 bytes"},
		{"shorter than its size", "hello", 11, "after 5 of its 11 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls [][2]int64
			u := &uploader{r: iotest.HalfReader(strings.NewReader(tt.content)), size: tt.size,
				progress: func(sent, total int64) { calls = append(calls, [2]int64{sent, total}) }}
			var out bytes.Buffer
			err := u.run(&out, []byte("<"), []byte(">"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || u.err != err {
					t.Fatalf("err = %v (recorded %v), want one containing %q", err, u.err, tt.wantErr)
				}
				return
			}
			n := int64(len(tt.content))
			if err != nil || out.String() != "<"+tt.content+">" || u.consumed != n {
				t.Fatalf("wrote %q, consumed %d, %v", out.String(), u.consumed, err)
			}
			if len(calls) == 0 || calls[len(calls)-1] != [2]int64{n, n} {
				t.Fatalf("progress calls %v, want the last to be {%d %d}", calls, n, n)
			}
		})
	}
}
