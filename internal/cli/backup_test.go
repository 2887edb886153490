package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/cli"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// backupEnv talks to one app of a running server.
type backupEnv struct {
	s           *servertest.Server
	base, admin string
	alice       string // alice's token
}

func (e *backupEnv) send(t *testing.T, text string) string {
	r := e.s.Do(t, "POST", e.base+"/messages/users", e.admin, map[string]any{
		"from": "alice", "to": []string{"bob"}, "type": "txt", "body": map[string]string{"msg": text}})
	id, _ := r.Body["data"].(map[string]any)["bob"].(string)
	if r.Status != 200 || id == "" {
		t.Errorf("send: %d %s", r.Status, r.Raw)
	}
	return id
}

func (e *backupEnv) upload(t *testing.T, content []byte) string {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	pw, _ := mw.CreateFormFile("file", "f.bin")
	pw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", e.s.URL+e.base+"/chatfiles", &buf)
	req.Header.Set("Authorization", "Bearer "+e.alice)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	i := bytes.Index(raw, []byte(`"uuid":"`))
	if res.StatusCode != 200 || i < 0 {
		t.Errorf("upload: %d %s", res.StatusCode, raw)
		return ""
	}
	id := raw[i+len(`"uuid":"`):]
	return string(id[:bytes.IndexByte(id, '"')])
}

func (e *backupEnv) download(t *testing.T, uuid string) []byte {
	req, _ := http.NewRequest("GET", e.s.URL+e.base+"/chatfiles/"+uuid, nil)
	req.Header.Set("Authorization", "Bearer "+e.alice)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("download %s: %d %s", uuid, res.StatusCode, raw)
	}
	return raw
}

func newBackupEnv(t *testing.T, s *servertest.Server, app *tenant.Created) *backupEnv {
	e := &backupEnv{s: s, base: "/" + app.OrgName + "/" + app.AppName, admin: s.AppToken(t, app)}
	e.alice = s.Do(t, "POST", e.base+"/token", "", map[string]string{"grant_type": "password", "username": "alice",
		"password": "pw"}).Str("access_token")
	return e
}

func run(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	if code := cli.Main(args, &out, &errOut, func(string) string { return "" }); code != 0 {
		return out.String(), fmt.Errorf("exit %d: %s", code, errOut.String())
	}
	return out.String(), nil
}

// parley backup while the server takes messages and uploads, then parley
// restore into a new data dir: a server started on it has every message
// and file acknowledged before the backup started (and the same key), and
// a restore refuses a non-empty target unless --force.
func TestBackup_WhileServing(t *testing.T) {
	s1 := servertest.StartBackend(t, "sqlite")
	app := s1.App(t, "acme", "chat", tenant.Settings{})
	e := newBackupEnv(t, s1, app)
	for _, u := range []string{"alice", "bob"} {
		if r := s1.Do(t, "POST", e.base+"/users", e.admin, map[string]string{"username": u, "password": "pw"}); r.Status != 200 {
			t.Fatalf("register: %d %s", r.Status, r.Raw)
		}
	}
	e = newBackupEnv(t, s1, app)

	var msgs []string
	files := map[string][]byte{}
	for i := range 30 {
		msgs = append(msgs, e.send(t, fmt.Sprintf("before %d", i)))
		if i%10 == 0 {
			content := bytes.Repeat([]byte{byte(i)}, 5000+i)
			files[e.upload(t, content)] = content
		}
	}

	// Load goes on while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e.send(t, fmt.Sprintf("during %d", i))
			if i%5 == 0 {
				e.upload(t, []byte(fmt.Sprintf("during %d", i)))
			}
		}
	}()
	archive := filepath.Join(t.TempDir(), "backup.tar.gz")
	_, err := run("backup", "--data", s1.Cfg.DataDir, archive)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run("backup", "--data", s1.Cfg.DataDir, archive); err == nil {
		t.Fatal("backup over an existing archive succeeded")
	}

	// Restore: refused into a non-empty directory, which stays as it was.
	busy := t.TempDir()
	os.WriteFile(filepath.Join(busy, "keep"), []byte("x"), 0o600)
	if _, err := run("restore", "--data", busy, archive); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty dir: %v", err)
	}
	if entries, _ := os.ReadDir(busy); len(entries) != 1 {
		t.Fatalf("the refused restore wrote: %v", entries)
	}
	if _, err := run("restore", "--data", filepath.Join(t.TempDir(), "nope"), filepath.Join(t.TempDir(), "missing.tar.gz")); err == nil {
		t.Fatal("restore of a missing archive succeeded")
	}
	data := filepath.Join(t.TempDir(), "restored")
	if _, err := run("restore", "--data", data, archive); err != nil {
		t.Fatal(err)
	}
	if _, err := run("restore", "--force", "--data", busy, archive); err != nil {
		t.Fatalf("restore --force: %v", err)
	}
	for _, dir := range []string{data, busy} {
		k1, _ := os.ReadFile(filepath.Join(s1.Cfg.DataDir, "secret.key"))
		k2, err := os.ReadFile(filepath.Join(dir, "secret.key"))
		if err != nil || len(k1) == 0 || !bytes.Equal(k1, k2) {
			t.Fatalf("%s: the key differs: %v", dir, err)
		}
	}

	// A server on the restored data has everything acknowledged before.
	cfg := servertest.Config(t, "sqlite")
	cfg.DataDir = data
	s2 := servertest.Start(t, cfg)
	e2 := newBackupEnv(t, s2, app)
	if e2.alice == "" {
		t.Fatal("alice cannot sign in on the restored server")
	}
	ctx := context.Background()
	a2, err := s2.Apps.Resolve(ctx, "acme", "chat")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s2.Users.Lookup(ctx, a2, "bob")
	if err != nil {
		t.Fatal(err)
	}
	p := &tenant.Principal{App: a2, UserID: bob.ID, Username: "bob"}
	list, err := s2.Messages.Conversations(ctx, p, "", 10)
	if err != nil || len(list.Conversations) != 1 {
		t.Fatalf("conversations: %v %+v", err, list)
	}
	have := map[string]bool{}
	q := messaging.HistoryQuery{Forward: true, Limit: 50}
	for {
		page, err := s2.Messages.History(ctx, p, list.Conversations[0].ConvID, q)
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range page.Items {
			have[it.MsgID] = true
			if i > 0 && it.Seq != page.Items[i-1].Seq+1 {
				t.Fatalf("seq gap: %d after %d", it.Seq, page.Items[i-1].Seq)
			}
		}
		if len(page.Items) == 0 {
			break
		}
		q.MsgID = page.Items[len(page.Items)-1].MsgID
	}
	for _, id := range msgs {
		if !have[id] {
			t.Fatalf("message %s acknowledged before the backup is missing (%d restored)", id, len(have))
		}
	}
	for id, content := range files {
		if got := e2.download(t, id); !bytes.Equal(got, content) {
			t.Fatalf("file %s differs after the restore", id)
		}
	}
}

// What backup and restore refuse, each without writing anything.
func TestBackup_Refusals(t *testing.T) {
	dir := t.TempDir()
	notArchive := filepath.Join(dir, "plain.tar.gz")
	os.WriteFile(notArchive, []byte("not gzip"), 0o600)
	empty := filepath.Join(dir, "empty-data")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"backup on PostgreSQL", []string{"backup", "--db", "postgres://u@127.0.0.1:1/x", filepath.Join(dir, "a.tar.gz")}, "pg_dump"},
		{"backup without a file", []string{"backup", "--data", empty}, "want one argument"},
		{"backup without a database", []string{"backup", "--data", empty, filepath.Join(dir, "b.tar.gz")}, "no database"},
		{"restore without a file", []string{"restore", "--data", empty}, "want one argument"},
		{"restore of a non-archive", []string{"restore", "--data", empty, notArchive}, "not a parley backup"},
		{"restore on PostgreSQL", []string{"restore", "--db", "postgres://u@127.0.0.1:1/x", notArchive}, "pg_dump"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Fatalf("the refusal wrote: %v", entries)
			}
		})
	}
}
