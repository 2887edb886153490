package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/cli"
	"github.com/parleyim/parley/internal/server/servertest"
)

// buildBinary compiles cmd/parley once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/parleyim/parley/cmd/parley")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The binary: serve on embedded defaults answers /healthz within 10 s,
// `app create` works while it runs on the same data, SIGTERM exits cleanly.
func TestBinary_ServeAppCreateSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	addr := freePort(t)
	srv := exec.Command(bin, "serve", "--listen", addr, "--data", data)
	srv.Env = append(os.Environ(), "PARLEY_AUTH_KDF_MEMORY_KIB=1024", "PARLEY_LOG_FORMAT=json")
	logs := &servertest.LogBuffer{}
	srv.Stderr = logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /healthz within 10s; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	out, err := exec.Command(bin, "app", "create", "--data", data, "acme", "chat").Output()
	if err != nil {
		t.Fatalf("app create while serving: %v", err)
	}
	var created map[string]any
	if err := json.Unmarshal(out, &created); err != nil {
		t.Fatalf("app create output: %q", out)
	}
	for _, k := range []string{"appkey", "org_name", "app_name", "client_id", "client_secret"} {
		if created[k] == nil || created[k] == "" {
			t.Fatalf("app create output lacks %s: %s", k, out)
		}
	}
	if created["appkey"] != "acme#chat" {
		t.Fatalf("appkey: %v", created["appkey"])
	}
	// The running server sees the new app at once.
	body := fmt.Sprintf(`{"grant_type":"client_credentials","client_id":%q,"client_secret":%q}`, created["client_id"], created["client_secret"])
	resp, err := http.Post("http://"+addr+"/acme/chat/token", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token from new app: %v %v", err, resp)
	}
	resp.Body.Close()

	list, err := exec.Command(bin, "app", "list", "--data", data).Output()
	if err != nil || !strings.Contains(string(list), `"appkey": "acme#chat"`) || strings.Contains(string(list), "client_secret") {
		t.Fatalf("app list: %v %s", err, list)
	}

	// The owner password was written once, and only its file name was logged.
	pw, err := os.ReadFile(filepath.Join(data, "console-owner-password"))
	if err != nil || len(strings.TrimSpace(string(pw))) < 20 {
		t.Fatalf("owner password file: %v %q", err, pw)
	}
	if strings.Contains(logs.String(), strings.TrimSpace(string(pw))) {
		t.Fatal("owner password reached the log")
	}

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), "shutdown complete") {
		t.Fatalf("no clean shutdown in logs:\n%s", logs.String())
	}

	// A second start keeps the owner password file as it was.
	srv2 := exec.Command(bin, "serve", "--listen", freePort(t), "--data", data)
	srv2.Env = srv.Env
	stderr, _ := srv2.StderrPipe()
	if err := srv2.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "parley serving") {
			break
		}
	}
	srv2.Process.Signal(syscall.SIGTERM)
	go io.Copy(io.Discard, stderr)
	srv2.Wait()
	pw2, _ := os.ReadFile(filepath.Join(data, "console-owner-password"))
	if string(pw2) != string(pw) {
		t.Fatal("owner password file rewritten on second start")
	}
}

func TestMain_Commands(t *testing.T) {
	env := func(string) string { return "" }
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{nil, 2, "", "Usage"},
		{[]string{"bogus"}, 2, "", "unknown command"},
		{[]string{"config"}, 0, "PARLEY_LISTEN", ""},
		{[]string{"version"}, 0, "parley", ""},
		{[]string{"serve", "--listen", "nonsense"}, 1, "", "listen"},
		{[]string{"app"}, 1, "", "want create"},
		{[]string{"app", "create", "--data", t.TempDir(), "only-org"}, 1, "", "want 2 arguments"},
		{[]string{"app", "create", "--data", t.TempDir(), "bad org", "x"}, 1, "", "org_name"},
		{[]string{"app", "list", "--data", t.TempDir()}, 0, "[]", ""},
		{[]string{"app", "create", "--data", t.TempDir(), "--setting", "friends_only=true", "--setting=max_devices=2", "acme", "s"}, 0, "client_secret", ""},
		{[]string{"app", "create", "--data", t.TempDir(), "--setting", "no_such=1", "acme", "s"}, 1, "", "unknown field"},
		{[]string{"app", "create", "--data", t.TempDir(), "--setting", "max_devices=many", "acme", "s"}, 1, "", "--setting"},
		{[]string{"app", "create", "--data", t.TempDir(), "--setting", "max_devices=1000", "acme", "s"}, 1, "", "max_devices"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[:min(len(tc.args), 2)], " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cli.Main(tc.args, &out, &errb, env)
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
				t.Fatalf("code %d out %q err %q", code, out.String(), errb.String())
			}
		})
	}
}
