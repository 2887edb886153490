package parley

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/parleyim/parley/protocol"
)

// Each typed body marshals to the server's field names and decodes back
// from them (DecodeBody, by the item's type).
func TestBody_JSON(t *testing.T) {
	tests := []struct {
		body Body
		wire string
	}{
		{TextBody{Msg: "hi"}, `{"msg":"hi"}`},
		{TextBody{}, `{"msg":""}`},
		{CmdBody{Action: "typing"}, `{"action":"typing"}`},
		{CustomBody{CustomEvent: "gift", CustomExts: map[string]string{"n": "1"}}, `{"customEvent":"gift","customExts":{"n":"1"}}`},
		{ImageBody{URL: "https://h/o/a/chatfiles/u", Filename: "a.png", Secret: "s", Width: 640, Height: 480, FileLength: 9,
			Thumb: "https://h/o/a/chatfiles/u", ThumbSecret: "s"},
			`{"url":"https://h/o/a/chatfiles/u","filename":"a.png","secret":"s","size":{"width":640,"height":480},"file_length":9,"thumb":"https://h/o/a/chatfiles/u","thumb_secret":"s"}`},
		{ImageBody{URL: "https://h/x"}, `{"url":"https://h/x"}`},
		{AudioBody{URL: "https://h/v", Filename: "v.amr", Length: 7, Secret: "s", FileLength: 3},
			`{"url":"https://h/v","filename":"v.amr","length":7,"secret":"s","file_length":3}`},
		{VideoBody{URL: "https://h/v", Filename: "v.mp4", Thumb: "https://h/t", ThumbSecret: "ts", Length: 12, FileLength: 5,
			Secret: "s", Width: 1280, Height: 720},
			`{"url":"https://h/v","filename":"v.mp4","thumb":"https://h/t","length":12,"file_length":5,"secret":"s","thumb_secret":"ts","size":{"width":1280,"height":720}}`},
		{FileBody{URL: "https://h/f", Filename: "f.pdf"}, `{"url":"https://h/f","filename":"f.pdf"}`},
		{LocationBody{Lat: 0, Lng: -0.5, Addr: "a", BuildingName: "b"}, `{"lat":0,"lng":-0.5,"addr":"a","buildingName":"b"}`},
		{CombineBody{URL: "https://h/c", Title: "t", Summary: "s", CombineLevel: 1, Filename: "c", Secret: "x", FileLength: 2, SubType: "sub_combine"},
			`{"url":"https://h/c","title":"t","summary":"s","combineLevel":1,"filename":"c","secret":"x","file_length":2,"subType":"sub_combine"}`},
	}
	for _, tt := range tests {
		t.Run(tt.body.MsgType(), func(t *testing.T) {
			raw, err := json.Marshal(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if string(raw) != tt.wire {
				t.Fatalf("marshal:\n got %s\nwant %s", raw, tt.wire)
			}
			got, err := DecodeBody(&protocol.Item{Kind: protocol.ItemMsg, Type: tt.body.MsgType(), Body: raw})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.body) {
				t.Fatalf("decoded %#v, want %#v", got, tt.body)
			}
		})
	}
}

// Bodies written by other clients: coordinates as strings, sizes with
// fractions, fields of no type's; and the failures.
func TestDecodeBody(t *testing.T) {
	tests := []struct {
		name    string
		item    protocol.Item
		want    Body
		wantErr string
	}{
		{"coordinates as strings", protocol.Item{Type: "loc", Body: json.RawMessage(`{"lat":" 39.9 ","lng":"-116.25","addr":"x"}`)},
			LocationBody{Lat: 39.9, Lng: -116.25, Addr: "x"}, ""},
		{"fractional size, unknown fields", protocol.Item{Type: "img", Body: json.RawMessage(`{"url":"u","size":{"width":10.6,"height":2},"extra":1}`)},
			ImageBody{URL: "u", Width: 11, Height: 2}, ""},
		{"bad coordinate", protocol.Item{Type: "loc", Body: json.RawMessage(`{"lat":"north","lng":1}`)}, nil, "not a number"},
		{"wrong field type", protocol.Item{Type: "txt", Body: json.RawMessage(`{"msg":5}`)}, nil, "txt message body"},
		{"unknown type", protocol.Item{Type: "poll", Body: json.RawMessage(`{}`)}, nil, `"poll" has no typed body`},
		{"recall item", protocol.Item{Kind: protocol.ItemRecall, Target: "1"}, nil, "not a message"},
		{"no body", protocol.Item{Type: "txt"}, nil, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBody(&tt.item)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
	if _, err := (MessageEvent{Item: &protocol.Item{Type: "txt", Recalled: true}}).Body(); !errors.Is(err, ErrRecalled) {
		t.Fatalf("recalled message: %v", err)
	}
}

// A typed Body names the message type; a Type that contradicts it is an
// error.
func TestOutgoingMessage_Request(t *testing.T) {
	tests := []struct {
		name     string
		m        OutgoingMessage
		wantType string
		wantBody string
		wantErr  string
	}{
		{"type from the body", OutgoingMessage{To: "bob", Body: LocationBody{Lat: 1, Lng: 2}}, "loc", `{"lat":1,"lng":2}`, ""},
		{"pointer body", OutgoingMessage{To: "bob", Body: &FileBody{URL: "u", Filename: "f"}}, "file", `{"url":"u","filename":"f"}`, ""},
		{"matching type", OutgoingMessage{To: "bob", Type: "img", Body: ImageBody{URL: "u"}}, "img", `{"url":"u"}`, ""},
		{"untyped body", OutgoingMessage{To: "bob", Type: "txt", Body: map[string]string{"msg": "x"}}, "txt", `{"msg":"x"}`, ""},
		{"contradicting type", OutgoingMessage{To: "bob", Type: "txt", Body: ImageBody{URL: "u"}}, "", "", `does not match`},
		{"no type", OutgoingMessage{To: "bob", Body: map[string]string{"msg": "x"}}, "", "", "needs To and Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.m.request()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || r.Type != tt.wantType || string(r.Body) != tt.wantBody {
				t.Fatalf("request: type %q body %s, %v", r.Type, r.Body, err)
			}
		})
	}
}

// Bodies built from an upload carry the secret only for restricted files.
func TestFile_Bodies(t *testing.T) {
	open := &File{UUID: "u1", URL: "https://h/o/a/chatfiles/u1", ShareSecret: "s1", Size: 10, Filename: "a.png", Width: 4, Height: 3}
	locked := &File{UUID: "u2", URL: "https://h/o/a/chatfiles/u2", ShareSecret: "s2", Size: 20, Restricted: true}
	tests := []struct {
		name string
		got  Body
		want Body
	}{
		{"image", open.ImageBody(), ImageBody{URL: open.URL, Filename: "a.png", Width: 4, Height: 3, FileLength: 10, Thumb: open.URL}},
		{"restricted image", locked.ImageBody(), ImageBody{URL: locked.URL, Secret: "s2", FileLength: 20, Thumb: locked.URL, ThumbSecret: "s2"}},
		{"unnamed file", locked.FileBody(), FileBody{URL: locked.URL, Filename: "file", Secret: "s2", FileLength: 20}},
		{"audio", locked.AudioBody(9), AudioBody{URL: locked.URL, Length: 9, Secret: "s2", FileLength: 20}},
		{"video", locked.VideoBody(5, open), VideoBody{URL: locked.URL, Length: 5, FileLength: 20, Secret: "s2", Thumb: open.URL}},
		{"combine", open.CombineBody("t", "s"), CombineBody{URL: open.URL, Title: "t", Summary: "s", Filename: "a.png", FileLength: 10}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}
