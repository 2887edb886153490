package ws_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// Sends over a connection's limit get a rate_limited error with a retry
// hint, store nothing, and leave the connection open.
func TestWS_SendRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   string
		sends   int
		wantAck int
	}{
		{"over the burst", "1/m burst 5", 12, 5},
		{"within the burst", "1/m burst 20", 12, 12},
		{"off", "off", 12, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := servertest.Config(t, "sqlite")
			cfg.RateLimit.Enabled = true
			s := servertest.Start(t, cfg)
			app := s.App(t, "acme", "chat", tenant.Settings{RateLimits: map[string]string{"ws_send": tc.limit}})
			e := &env{s: s, app: app, admin: s.AppToken(t, app)}
			for _, u := range []string{"alice", "bob"} {
				if r := s.Do(t, "POST", "/acme/chat/users", e.admin, map[string]string{"username": u, "password": "pw"}); r.Status != 200 {
					t.Fatalf("register %s: %s", u, r.Raw)
				}
			}
			c := e.login(t, "alice", "phone")
			// Pipelined, as fast as the client can write.
			for i := range tc.sends {
				m := text("bob", fmt.Sprint("c", i), fmt.Sprint("m", i))
				m["id"] = fmt.Sprint("s", i)
				c.send(m)
			}
			acks, limited := 0, 0
			for acks+limited < tc.sends {
				f := c.frame()
				switch f["t"] {
				case "ack":
					acks++
				case "error":
					if f["code"] != "rate_limited" {
						t.Fatalf("error frame: %v", f)
					}
					if ms, _ := f["retry_after_ms"].(float64); ms < 1 {
						t.Fatalf("no retry hint: %v", f)
					}
					limited++
				}
			}
			if acks != tc.wantAck {
				t.Fatalf("%d acks and %d rate_limited, want %d acks", acks, limited, tc.wantAck)
			}
			// Still open and usable.
			if f := c.request(map[string]any{"t": "ping"}); f["t"] != "pong" {
				t.Fatalf("after the refusals: %v", f)
			}
			// Only the acknowledged messages were stored.
			r := s.Do(t, "GET", "/acme/chat/users/bob/offline_msg_count", e.admin, nil)
			data, _ := r.Body["data"].(map[string]any)
			if n, _ := data["bob"].(float64); int(n) != tc.wantAck {
				t.Fatalf("bob has %v undelivered messages, want %d: %s", data["bob"], tc.wantAck, r.Raw)
			}
		})
	}
}

// frame reads the next frame.
func (c *client) frame() map[string]any {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}
