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
	app := &tenant.App{Org: "acme", Name: "chat", Settings: tenant.Settings{MaxMessageBytes: 400}}
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
		{"unknown chat type", "txt", `{"msg":"x"}`, ``, "channel", protocol.ErrIllegalArgument.ID, "", ""},
		{"too large", "txt", `{"msg":"` + strings.Repeat("x", 395) + `"}`, ``, "", protocol.ErrMessageTooLarge.ID, "", ""},
		{"too large with ext", "txt", `{"msg":"x"}`, `{"k":"` + strings.Repeat("y", 390) + `"}`, "", protocol.ErrMessageTooLarge.ID, "", ""},
		{"img", "img", `{"url":"https://x.example/acme/chat/chatfiles/u1","filename":"a.jpg","secret":"s","size":{"width":10,"height":20}}`, `{"em_x":1}`, "", "",
			`{"url":"https://x.example/acme/chat/chatfiles/u1","filename":"a.jpg","secret":"s","size":{"width":10,"height":20}}`, `{"em_x":1}`},
		{"img external url", "img", `{"url":"http://cdn.example/cat.png"}`, ``, "", "", `{"url":"http://cdn.example/cat.png"}`, ``},
		{"img without url", "img", `{"filename":"a.jpg"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"img url not http", "img", `{"url":"javascript:alert(1)"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"img relative url", "img", `{"url":"/acme/chat/chatfiles/u1"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"img size not object", "img", `{"url":"http://a.b/c","size":5}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"img negative width", "img", `{"url":"http://a.b/c","size":{"width":-1,"height":2}}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"audio", "audio", `{"url":"http://a.b/c","filename":"v.amr","length":12,"secret":""}`, ``, "", "", `{"url":"http://a.b/c","filename":"v.amr","length":12,"secret":""}`, ``},
		{"audio length fraction", "audio", `{"url":"http://a.b/c","length":1.5}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"audio length string", "audio", `{"url":"http://a.b/c","length":"12"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"video", "video", `{"url":"http://a.b/v","thumb":"http://a.b/t","length":3,"file_length":1000,"thumb_secret":"x"}`, ``, "", "",
			`{"url":"http://a.b/v","thumb":"http://a.b/t","length":3,"file_length":1000,"thumb_secret":"x"}`, ``},
		{"video bad thumb", "video", `{"url":"http://a.b/v","thumb":"nope"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"file", "file", `{"url":"http://a.b/f","filename":"r.pdf","file_length":5}`, ``, "", "", `{"url":"http://a.b/f","filename":"r.pdf","file_length":5}`, ``},
		{"file without filename", "file", `{"url":"http://a.b/f"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"file long filename", "file", `{"url":"http://a.b/f","filename":"` + strings.Repeat("n", 256) + `"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"loc numbers", "loc", `{"lat":39.9,"lng":116.4,"addr":"Beijing"}`, ``, "", "", `{"lat":39.9,"lng":116.4,"addr":"Beijing"}`, ``},
		{"loc strings", "loc", `{"lat":"-33.86","lng":"151.2"}`, ``, "", "", `{"lat":"-33.86","lng":"151.2"}`, ``},
		{"loc lat out of range", "loc", `{"lat":91,"lng":0}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"loc lng out of range", "loc", `{"lat":0,"lng":"-180.5"}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"loc lat not numeric", "loc", `{"lat":"north","lng":0}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"loc without lng", "loc", `{"lat":1}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"loc lat null", "loc", `{"lat":null,"lng":1}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
		{"combine", "combine", `{"url":"http://a.b/c","title":"Chat","summary":"a: hi","combineLevel":1}`, ``, "", "",
			`{"url":"http://a.b/c","title":"Chat","summary":"a: hi","combineLevel":1}`, ``},
		{"combine too deep", "combine", `{"url":"http://a.b/c","combineLevel":11}`, ``, "", protocol.ErrIllegalArgument.ID, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &SendRequest{Type: tc.typ, Body: json.RawMessage(tc.body), ChatType: tc.chatType}
			if tc.ext != "" {
				req.Ext = json.RawMessage(tc.ext)
			}
			body, ext, _, err := validate(app, req)
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

func TestValidate_FileReferences(t *testing.T) {
	app := &tenant.App{Org: "acme", Name: "chat", Settings: tenant.Settings{}}
	tests := []struct {
		typ, body string
		want      []string
	}{
		{"img", `{"url":"https://im.example.com/acme/chat/chatfiles/u-1"}`, []string{"u-1"}},
		{"img", `{"url":"https://im.example.com/ACME/Chat/chatfiles/u-1"}`, []string{"u-1"}},
		{"img", `{"url":"https://im.example.com/prefix/acme/chat/chatfiles/u-1"}`, []string{"u-1"}},
		{"img", `{"url":"https://im.example.com/other/chat/chatfiles/u-1"}`, nil},
		{"img", `{"url":"https://cdn.example.com/u-1.png"}`, nil},
		{"video", `{"url":"http://h/acme/chat/chatfiles/v","thumb":"http://h/acme/chat/chatfiles/t"}`, []string{"v", "t"}},
		{"file", `{"url":"http://h/acme/chat/chatfiles/f","filename":"a"}`, []string{"f"}},
	}
	for _, tc := range tests {
		_, _, files, err := validate(app, &SendRequest{Type: tc.typ, Body: json.RawMessage(tc.body)})
		if err != nil || strings.Join(files, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s %s: got %v %v, want %v", tc.typ, tc.body, files, err, tc.want)
		}
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
