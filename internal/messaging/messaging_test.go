package messaging

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

func TestValidate(t *testing.T) {
	app := &tenant.App{Settings: tenant.Settings{MaxMessageBytes: 100}}
	tests := []struct {
		name, typ, body, ext string
		chatType             string
		wantErr              string // registry ID, "" = valid
		wantBody, wantExt    string
	}{
		{"txt", "txt", `{ "msg" : "hi" }`, ``, "", "", `{"msg":"hi"}`, ``},
		{"txt with ext and unknown body keys", "txt", `{"msg":"hi","x":1}`, `{"em_push_ext":{"title":"t"}}`, "chat", "", `{"msg":"hi","x":1}`, `{"em_push_ext":{"title":"t"}}`},
		{"cmd", "cmd", `{"action":"typing"}`, ``, "", "", `{"action":"typing"}`, ``},
		{"custom", "custom", `{"customEvent":"gift/rose","customExts":{"n":"3"}}`, ``, "", "", `{"customEvent":"gift/rose","customExts":{"n":"3"}}`, ``},
		{"custom without event", "custom", `{}`, ``, "", "", `{}`, ``},
		{"txt without msg", "txt", `{}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"txt msg not string", "txt", `{"msg":5}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"cmd without action", "cmd", `{"msg":"x"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"custom bad event", "custom", `{"customEvent":"a b"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"custom exts not strings", "custom", `{"customExts":{"n":3}}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"custom too many exts", "custom", `{"customExts":{` + manyExts(17) + `}}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"unknown type", "hologram", `{}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"no type", "", `{}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"body array", "txt", `["msg"]`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"body null", "txt", `null`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"ext array", "txt", `{"msg":"x"}`, `[1]`, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"ext null", "txt", `{"msg":"x"}`, `null`, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"group chat type not yet", "txt", `{"msg":"x"}`, ``, "groupchat", protocol.ErrIllegalArgument.ID, "", ""},
		{"too large", "txt", `{"msg":"` + strings.Repeat("x", 95) + `"}`, ``, "", protocol.ErrMessageTooLarge.ID, "", ""},
		{"too large with ext", "txt", `{"msg":"x"}`, `{"k":"` + strings.Repeat("y", 90) + `"}`, "", protocol.ErrMessageTooLarge.ID, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &SendRequest{Type: tc.typ, Body: json.RawMessage(tc.body), ChatType: tc.chatType}
			if tc.ext != "" {
				req.Ext = json.RawMessage(tc.ext)
			}
			body, ext, err := validate(app, req)
			if tc.wantErr != "" {
				if !errs.Is(err, kind(tc.wantErr)) {
					t.Fatalf("got %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(body) != tc.wantBody || string(ext) != tc.wantExt {
				t.Fatalf("got %s %s %v", body, ext, err)
			}
		})
	}
}

func kind(id string) protocol.ErrorKind {
	for _, k := range protocol.Registry {
		if k.ID == id {
			return k
		}
	}
	return protocol.ErrorKind{}
}

func manyExts(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, `"k`+string(rune('a'+i))+`":"v"`)
	}
	return strings.Join(parts, ",")
}

func TestDeliverEvent_RoundTrip(t *testing.T) {
	for _, skip := range []string{"", "web_1", strings.Repeat("r", 64)} {
		ev := EncodeDeliver(skip, []byte(`{"t":"item"}`))
		gotSkip, frame, ok := DecodeDeliver(ev)
		if !ok || gotSkip != skip || string(frame) != `{"t":"item"}` {
			t.Fatalf("round trip %q: %q %q %v", skip, gotSkip, frame, ok)
		}
	}
	for _, bad := range [][]byte{nil, {EventDeliver}, {EventDeliver, 5, 'a'}, {EventKick, 0}} {
		if _, _, ok := DecodeDeliver(bad); ok {
			t.Fatalf("accepted %v", bad)
		}
	}
	k := KickEvent{Resource: "web_1", Code: 4004, Reason: "bye"}
	if got, ok := DecodeKick(EncodeKick(k)); !ok || got != k {
		t.Fatalf("kick round trip: %+v", got)
	}
}
