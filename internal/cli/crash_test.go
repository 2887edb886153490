package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/server/servertest"
)

type proc struct {
	cmd  *exec.Cmd
	addr string
	logs *servertest.LogBuffer
}

func startServer(t *testing.T, bin, data, addr string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data", data)
	cmd.Env = append(os.Environ(), "PARLEY_AUTH_KDF_MEMORY_KIB=1024", "PARLEY_AUTH_KDF_TIME=1",
		"PARLEY_CONSOLE_OWNER_PASSWORD="+servertest.OwnerPassword)
	logs := &servertest.LogBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", logs.String())
		}
		time.Sleep(30 * time.Millisecond)
	}
	return &proc{cmd: cmd, addr: addr, logs: logs}
}

func postJSON(t *testing.T, url, token string, body any) map[string]any {
	t.Helper()
	r := servertest.Call(t, url, "POST", "", token, body)
	if r.Status != 200 {
		t.Fatalf("POST %s: %d %s", url, r.Status, r.Raw)
	}
	return r.Body
}

func wsLogin(t *testing.T, addr, token, resource string) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws?v=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.WriteJSON(map[string]any{"t": "auth", "token": token, "resource": resource})
	var m map[string]any
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := conn.ReadJSON(&m); err != nil || m["t"] != "auth_ok" {
		t.Fatalf("auth: %v %v", err, m)
	}
	return conn
}

// crashEnv builds the binary, starts it on fresh data with an app acme/chat,
// and returns what the crash tests need, with the app's admin token.
func crashEnv(t *testing.T) (bin, data, addr string, p *proc, base, admin string) {
	t.Helper()
	bin = buildBinary(t)
	data = t.TempDir()
	addr = freePort(t)
	p = startServer(t, bin, data, addr)
	base = "http://" + addr
	out, err := exec.Command(bin, "app", "create", "--data", data, "acme", "chat").Output()
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]string
	json.Unmarshal(out, &app)
	admin = postJSON(t, base+"/acme/chat/token", "", map[string]string{"grant_type": "client_credentials",
		"client_id": app["client_id"], "client_secret": app["client_secret"]})["access_token"].(string)
	return bin, data, addr, p, base, admin
}

// A kill -9 while senders are busy loses no acknowledged message: after a
// restart on the same data, the recipient syncs every one of them.
func TestCrash_Kill9KeepsAckedMessages(t *testing.T) {
	bin, data, addr, p, base, admin := crashEnv(t)
	const senders = 4
	for i := range senders {
		postJSON(t, base+"/acme/chat/users", admin, map[string]string{"username": fmt.Sprint("s", i), "password": "pw"})
	}
	postJSON(t, base+"/acme/chat/users", admin, map[string]string{"username": "bob", "password": "pw"})
	userToken := func(u string) string {
		return postJSON(t, base+"/acme/chat/token", admin, map[string]any{"grant_type": "inherit", "username": u})["access_token"].(string)
	}

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for i := range senders {
		conn := wsLogin(t, addr, userToken(fmt.Sprint("s", i)), "dev")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			for n := 0; ; n++ {
				err := conn.WriteJSON(map[string]any{"t": "send", "id": fmt.Sprint(n), "to": "bob", "type": "txt",
					"body": map[string]string{"msg": fmt.Sprint("m", n)}, "client_msg_id": fmt.Sprint("c", n)})
				if err != nil {
					return
				}
				var m map[string]any
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				for {
					if err := conn.ReadJSON(&m); err != nil {
						return // the server died
					}
					if m["t"] == "ack" {
						break
					}
				}
				mu.Lock()
				acked[m["msg_id"].(string)] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < 50 {
		t.Fatalf("only %d messages acknowledged before the kill; the test proves nothing", n)
	}

	p = startServer(t, bin, data, addr)
	conn := wsLogin(t, addr, userToken("bob"), "phone")
	defer conn.Close()
	req := func(v map[string]any) map[string]any {
		conn.WriteJSON(v)
		for {
			var m map[string]any
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if err := conn.ReadJSON(&m); err != nil {
				t.Fatal(err)
			}
			if m["id"] == v["id"] {
				return m
			}
		}
	}
	found := map[string]bool{}
	res := req(map[string]any{"t": "sync", "id": "s", "since": "0", "latest": 1})
	for _, c := range res["conversations"].([]any) {
		conv := c.(map[string]any)["conv_id"].(string)
		after := 0.0
		for k := 0; ; k++ {
			items := req(map[string]any{"t": "pull", "id": fmt.Sprint("p", k), "conv_id": conv, "after_seq": after})
			list := items["items"].([]any)
			for _, it := range list {
				m := it.(map[string]any)
				if m["seq"].(float64) != after+1 {
					t.Fatalf("conversation %s: seq %v after %v: gap", conv, m["seq"], after)
				}
				after = m["seq"].(float64)
				found[m["msg_id"].(string)] = true
			}
			if items["more"] != true {
				break
			}
		}
	}
	missing := 0
	for id := range acked {
		if !found[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged messages lost after kill -9", missing, n)
	}
	t.Logf("%d acknowledged messages before kill -9, all delivered after restart (%d stored)", n, len(found))
}

// A kill -9 after a message was acknowledged but before its push went out,
// then a restart: the push is sent, once. The push goes to a webhook that
// is down until the server has died, so the first attempt cannot succeed.
func TestCrash_Kill9KeepsPushes(t *testing.T) {
	bin, data, addr, p, base, admin := crashEnv(t)
	hookAddr := freePort(t) // nothing listens yet: the first attempt fails
	if r := servertest.Call(t, base, "PUT", "/acme/chat/push/notifiers/hook", admin, map[string]any{"provider": "webhook",
		"url": "http://" + hookAddr + "/push"}); r.Status != 200 {
		t.Fatalf("notifier: %s", r.Raw)
	}
	for _, u := range []string{"alice", "bob"} {
		postJSON(t, base+"/acme/chat/users", admin, map[string]string{"username": u, "password": "pw"})
	}
	if r := servertest.Call(t, base, "PUT", "/acme/chat/users/bob/push/binding", admin, map[string]string{"device_id": "d",
		"notifier_name": "hook", "device_token": "tok"}); r.Status != 200 {
		t.Fatalf("bind: %s", r.Raw)
	}
	postJSON(t, base+"/acme/chat/messages/users", admin, map[string]any{"from": "alice", "to": []string{"bob"}, "type": "txt",
		"body": map[string]string{"msg": "do not lose me"}})
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()

	var mu sync.Mutex
	var got []string
	srv := &http.Server{Addr: hookAddr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			Token string `json:"token"`
			Body  string `json:"body"`
		}
		json.NewDecoder(r.Body).Decode(&n)
		mu.Lock()
		got = append(got, n.Token+"/"+n.Body)
		mu.Unlock()
	})}
	go srv.ListenAndServe()
	t.Cleanup(func() { srv.Close() })

	startServer(t, bin, data, addr)
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would arrive here
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[tok/You have a new message]" {
		t.Fatalf("pushes after the restart: %v", got)
	}
}
