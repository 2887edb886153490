package cli_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/atrest"
	"github.com/parleyim/parley/internal/cli"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/server"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/testutil"
)

// runServer starts a server with cfg and returns its base URL and a stop
// function (also called when the test ends).
func runServer(t *testing.T, cfg config.Config) (string, func()) {
	url, stop, _ := runServerLogs(t, cfg)
	return url, stop
}

func runServerLogs(t *testing.T, cfg config.Config) (string, func(), *servertest.LogBuffer) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &servertest.LogBuffer{}
	s, err := server.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	return "http://" + s.Addr(), stop, logs
}

// encEnv is an app with two users on a running server.
type encEnv struct {
	url, base, admin string
}

func (e *encEnv) send(t *testing.T, text string) {
	t.Helper()
	r := servertest.Call(t, e.url, "POST", e.base+"/messages/users", e.admin, map[string]any{
		"from": "alice", "to": []string{"bob"}, "type": "txt", "body": map[string]any{"msg": text}, "ext": map[string]any{"note": text}})
	if r.Status != 200 {
		t.Fatalf("send: %d %s", r.Status, r.Raw)
	}
}

func (e *encEnv) upload(t *testing.T, content []byte) (uuid, secret string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	pw, _ := mw.CreateFormFile("file", "notes.txt")
	pw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", e.url+e.base+"/chatfiles", &buf)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("restrict-access", "true")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Entities []struct {
			UUID   string `json:"uuid"`
			Secret string `json:"share-secret"`
		} `json:"entities"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 || len(body.Entities) != 1 {
		t.Fatalf("upload: %d %v", res.StatusCode, err)
	}
	return body.Entities[0].UUID, body.Entities[0].Secret
}

// download returns the file's bytes (rng: a Range header, or "").
func (e *encEnv) download(t *testing.T, path, rng string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", e.url+path, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if want := map[bool]int{false: 200, true: 206}[rng != ""]; res.StatusCode != want {
		t.Fatalf("GET %s (%s): %d %s, want %d", path, rng, res.StatusCode, b, want)
	}
	return b
}

func (e *encEnv) file(t *testing.T, uuid, secret, rng string) []byte {
	return e.download(t, e.base+"/chatfiles/"+uuid+"?share-secret="+secret, rng)
}

// exported returns the app's exported messages of the current hour (and
// the previous one, in case the hour turned during the test).
func (e *encEnv) exported(t *testing.T) string {
	t.Helper()
	var all strings.Builder
	now := time.Now().UTC()
	for _, h := range []time.Time{now.Add(-time.Hour), now} {
		r := servertest.Call(t, e.url, "GET", e.base+"/chatmessages/"+h.Format("2006010215"), e.admin, nil)
		if r.Status != 200 {
			t.Fatalf("export: %d %s", r.Status, r.Raw)
		}
		link := r.Body["data"].([]any)[0].(map[string]any)["url"].(string)
		zr, err := gzip.NewReader(bytes.NewReader(e.download(t, strings.TrimPrefix(link, e.url), "")))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	return all.String()
}

// stored returns every byte Parley stored: the SQLite files (database and
// WAL) or PostgreSQL's rows, and the blob directory.
func stored(t *testing.T, cfg config.Config) []byte {
	t.Helper()
	var all []byte
	if cfg.DB != "" {
		all = testutil.PostgresRows(t, cfg.DB)
	} else {
		for _, name := range []string{"parley.db", "parley.db-wal"} {
			b, err := os.ReadFile(filepath.Join(cfg.DataDir, name))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
	}
	filepath.WalkDir(filepath.Join(cfg.DataDir, "files"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	return all
}

// blobKeys returns the key ID of every stored file ("" for plaintext).
func blobKeys(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	filepath.WalkDir(filepath.Join(dir, "files"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "tmp~") {
			return nil
		}
		b, _ := os.ReadFile(p)
		// Past the local store's own header (magic, type length, type).
		b = b[9+int(b[8]):]
		id := ""
		if h, err := atrest.ParseStreamHeader(b); err == nil {
			id = h.KeyID
		}
		out[id]++
		return nil
	})
	return out
}

func writeKeys(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("# parley encryption keys\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func keyLine(t *testing.T, id string) string {
	var out bytes.Buffer
	if code := cli.Main([]string{"encryption", "keygen", id}, &out, io.Discard, func(string) string { return "" }); code != 0 {
		t.Fatalf("keygen: exit %d", code)
	}
	return strings.TrimSpace(out.String())
}

// Acceptance: with encryption on, messages and files sent through the real
// server are not stored in the clear; after adding a key, old data stays
// readable and new data uses the new key; parley encryption rotate (run
// while the server serves) moves everything to the new key; with the old
// key removed everything still reads.
func TestEncryption_EndToEnd(t *testing.T) {
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			cfg := servertest.Config(t, backend)
			keyFile := filepath.Join(t.TempDir(), "encryption.keys")
			k1, k2 := keyLine(t, "k1"), keyLine(t, "k2")
			writeKeys(t, keyFile, k1)
			cfg.Encryption = config.Encryption{Enabled: true, KeyFile: keyFile}

			const marker = "E2E-ATREST-MARKER-c41d"
			content := []byte(strings.Repeat(marker+" file line\n", 8000)) // ~250 KB: four segments
			url, stop, logs := runServerLogs(t, cfg)
			if l := logs.String(); !strings.Contains(l, `"active_key":"k1"`) || strings.Contains(l, strings.TrimPrefix(k1, "k1:")) {
				t.Fatalf("start log: want the active key's ID and no key material: %s", l)
			}
			e := &encEnv{url: url, base: "/acme/chat"}
			st, err := server.OpenStore(context.Background(), &cfg) // to create the app (as parley app create)
			if err != nil {
				t.Fatal(err)
			}
			app, err := tenant.NewService(st).Create(context.Background(), "acme", "chat", tenant.Settings{})
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			r := servertest.Call(t, url, "POST", e.base+"/token", "", map[string]any{
				"grant_type": "client_credentials", "client_id": app.ClientID, "client_secret": app.ClientSecret})
			if e.admin = r.Str("access_token"); e.admin == "" {
				t.Fatalf("token: %d %s", r.Status, r.Raw)
			}
			for _, u := range []string{"alice", "bob"} {
				if r := servertest.Call(t, url, "POST", e.base+"/users", e.admin, map[string]string{"username": u, "password": "pw"}); r.Status != 200 {
					t.Fatalf("register: %d %s", r.Status, r.Raw)
				}
			}
			e.send(t, marker+" one")
			f1, s1 := e.upload(t, content)
			if got := e.file(t, f1, s1, ""); !bytes.Equal(got, content) {
				t.Fatalf("download: %d bytes, want %d", len(got), len(content))
			}
			if got := e.file(t, f1, s1, "bytes=100000-100099"); string(got) != string(content[100000:100100]) {
				t.Fatalf("range: %q", got)
			}
			if x := e.exported(t); !strings.Contains(x, marker+" one") {
				t.Fatalf("export lacks the message: %s", x)
			}
			check := func(when string) {
				t.Helper()
				if raw := stored(t, cfg); bytes.Contains(raw, []byte(marker)) || bytes.Contains(raw, []byte(s1)) {
					t.Fatalf("%s: the marker or a share-secret is stored in the clear", when)
				}
			}
			check("server running")
			stop()
			check("server stopped")

			// k2 added (and active): old data reads, new data uses k2.
			writeKeys(t, keyFile, k1, k2)
			url, stop = runServer(t, cfg)
			e.url = url
			e.send(t, marker+" two")
			f2, s2 := e.upload(t, content)
			if got := blobKeys(t, cfg.DataDir); got["k1"] == 0 || got["k2"] == 0 {
				t.Fatalf("files by key before rotation: %v", got)
			}
			// Rotate while the server runs.
			args := []string{"encryption", "rotate", "--batch", "1", "--data", cfg.DataDir, "--encryption-enabled", "true",
				"--encryption-key-file", keyFile}
			if cfg.DB != "" {
				args = append(args, "--db", cfg.DB)
			}
			var out, errOut bytes.Buffer
			// Keys without encryption.enabled would decrypt: refused
			// without --decrypt, and nothing changes.
			noEnable := append(append([]string{}, args[:6]...), args[8:]...)
			if code := cli.Main(noEnable, &out, &errOut, func(string) string { return "" }); code != 1 ||
				!strings.Contains(errOut.String(), "--decrypt") {
				t.Fatalf("rotate with encryption off: exit %d: %s", code, errOut.String())
			}
			if got := blobKeys(t, cfg.DataDir); got["k1"] == 0 {
				t.Fatalf("a refused rotate changed files: %v", got)
			}
			errOut.Reset()
			if code := cli.Main(args, &out, &errOut, func(string) string { return "" }); code != 0 {
				t.Fatalf("rotate: exit %d: %s", code, errOut.String())
			}
			if got := blobKeys(t, cfg.DataDir); len(got) != 1 || got["k2"] == 0 {
				t.Fatalf("files by key after rotation: %v", got)
			}
			out.Reset()
			if code := cli.Main(append([]string{"encryption", "status", "--files"}, args[4:]...), &out, &errOut, func(string) string { return "" }); code != 0 {
				t.Fatalf("status: exit %d: %s", code, errOut.String())
			}
			var status struct {
				Use   map[string]int `json:"values_by_key"`
				Files map[string]int `json:"files_by_key"`
			}
			if err := json.Unmarshal(out.Bytes(), &status); err != nil || len(status.Use) != 1 || status.Use["k2"] == 0 ||
				len(status.Files) != 1 || status.Files["k2"] == 0 {
				t.Fatalf("status after rotation: %s (%v)", out.String(), err)
			}
			check("after rotation")
			stop()

			// k1 removed: everything still reads.
			writeKeys(t, keyFile, k2)
			url, _ = runServer(t, cfg)
			e.url = url
			x := e.exported(t)
			for _, m := range []string{marker + " one", marker + " two"} {
				if !strings.Contains(x, m) {
					t.Fatalf("export after removing k1 lacks %q", m)
				}
			}
			for _, f := range [][2]string{{f1, s1}, {f2, s2}} {
				if got := e.file(t, f[0], f[1], ""); !bytes.Equal(got, content) {
					t.Fatalf("file %s after removing k1: %d bytes", f[0], len(got))
				}
				if got := e.file(t, f[0], f[1], fmt.Sprintf("bytes=%d-", len(content)-70000)); !bytes.Equal(got, content[len(content)-70000:]) {
					t.Fatalf("file %s tail after removing k1: %d bytes", f[0], len(got))
				}
			}
		})
	}
}
