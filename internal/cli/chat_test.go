package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

func TestParseChatFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want chatOptions
		err  string
	}{
		{"all flags", []string{"--url", "http://h:1", "--org", "o", "--app", "a", "--user", "u", "--password", "p", "--to", "Bob"},
			nil, chatOptions{url: "http://h:1", org: "o", app: "a", user: "u", password: "p", to: "Bob"}, ""},
		{"password from the environment", []string{"--org", "o", "--app", "a", "--user", "u"},
			map[string]string{"PARLEY_PASSWORD": "p"}, chatOptions{url: "http://127.0.0.1:8080", org: "o", app: "a", user: "u", password: "p"}, ""},
		{"missing", []string{"--org", "o"}, nil, chatOptions{}, "missing --app, --user, --password"},
		{"extra arguments", []string{"--org", "o", "x"}, nil, chatOptions{}, "unexpected arguments"},
		{"unknown flag", []string{"--nope"}, nil, chatOptions{}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseChatFlags(tt.args, &bytes.Buffer{}, env(tt.env))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestFormatItem(t *testing.T) {
	ts := time.Date(2024, 1, 2, 15, 4, 5, 0, time.Local).UnixMilli()
	body := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	tests := []struct {
		name string
		it   protocol.Item
		want string
	}{
		{"incoming text", protocol.Item{From: "bob", To: "alice", Seq: 4, MsgID: "99", Type: "txt", TS: ts,
			Body: body(map[string]string{"msg": "hi"})}, "15:04:05 #4 bob: hi [99]"},
		{"own text", protocol.Item{From: "alice", To: "bob", Seq: 5, MsgID: "100", Type: "txt", TS: ts,
			Body: body(map[string]string{"msg": "yo"})}, "15:04:05 #5 you → bob: yo [100]"},
		{"recalled", protocol.Item{From: "bob", Seq: 6, MsgID: "101", Type: "txt", TS: ts, Recalled: true},
			"15:04:05 #6 bob: (recalled) [101]"},
		{"command", protocol.Item{From: "bob", Seq: 7, MsgID: "102", Type: "cmd", TS: ts,
			Body: body(map[string]string{"action": "typing"})}, "15:04:05 #7 bob: (command typing) [102]"},
		{"online only", protocol.Item{From: "bob", Type: "custom", TS: ts, Online: true,
			Body: body(map[string]string{"customEvent": "poke"})}, "15:04:05 bob: (custom poke) (online only)"},
		{"other type", protocol.Item{From: "bob", Seq: 8, MsgID: "103", Type: "img", TS: ts},
			"15:04:05 #8 bob: (img message) [103]"},
	}
	for _, tt := range tests {
		if got := formatItem(&tt.it, "alice"); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
