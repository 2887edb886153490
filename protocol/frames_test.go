package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeRequest_Table(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		code  string // "" = valid
	}{
		{"auth", `{"t":"auth","token":"x","resource":"web_1"}`, ""},
		{"ping", `{"t":"ping","id":"1"}`, ""},
		{"send", `{"t":"send","to":"bob","type":"txt","body":{"msg":"hi"},"client_msg_id":"c1"}`, ""},
		{"pin", `{"t":"conv_pin","conv_id":"1","pinned":false}`, ""},
		{"not json", `hello`, ErrBadFrame.ID},
		{"array", `[1,2]`, ErrBadFrame.ID},
		{"no kind", `{"id":"1"}`, ErrBadFrame.ID},
		{"unknown kind", `{"t":"teleport"}`, ErrUnknownFrame.ID},
		{"unknown field", `{"t":"ping","extra":1}`, ErrBadFrame.ID},
		{"wrong type", `{"t":"pull","conv_id":"1","after_seq":"5"}`, ErrBadFrame.ID},
		{"trailing data", `{"t":"ping"} {"t":"ping"}`, ErrBadFrame.ID},
		{"auth without token", `{"t":"auth"}`, ErrBadFrame.ID},
		{"send without client_msg_id", `{"t":"send","to":"bob","type":"txt","body":{}}`, ErrBadFrame.ID},
		{"send without to", `{"t":"send","type":"txt","client_msg_id":"c"}`, ErrBadFrame.ID},
		{"client_msg_id too long", `{"t":"send","to":"b","type":"txt","client_msg_id":"` + strings.Repeat("x", 65) + `"}`, ErrBadFrame.ID},
		{"id too long", `{"t":"ping","id":"` + strings.Repeat("x", 65) + `"}`, ErrBadFrame.ID},
		{"pull without conv", `{"t":"pull"}`, ErrBadFrame.ID},
		{"read without target", `{"t":"read"}`, ErrBadFrame.ID},
		{"recall without msg", `{"t":"recall"}`, ErrBadFrame.ID},
		{"pin without pinned", `{"t":"conv_pin","conv_id":"1"}`, ErrBadFrame.ID},
		{"too large", `{"t":"ping","id":"` + strings.Repeat("x", MaxFrameBytes) + `"}`, ErrFrameTooLarge.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tc.frame))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("valid frame refused: %v", err)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Code != tc.code {
				t.Fatalf("got %v, want code %s", err, tc.code)
			}
		})
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"t":"auth","token":"x"}`, `{"t":"send","to":"b","type":"txt","body":{"msg":"x"},"ext":{},"client_msg_id":"c"}`,
		`{"t":"sync","since":"c123","latest":5}`, `{"t":"history","conv_id":"1","direction":"forward","time":5}`,
		`{"t":"conv_pin","conv_id":"1","pinned":true}`, `{"t":"read","msg_id":"9"}`, `{}`, `null`, `{"t":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Code == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		// Whatever decodes has a known kind and re-encodes.
		if r.T == "" {
			t.Fatal("decoded frame without kind")
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}
