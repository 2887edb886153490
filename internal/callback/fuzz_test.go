package callback

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeAnswer: the receiver's pre-send answer is untrusted. Decoding
// never panics, and what it accepts is a JSON object whose replacement
// body and ext are JSON objects.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{`{"valid":true}`, `{"valid":false,"code":"spam","message":"no"}`,
		`{"valid":true,"payload":{"body":{"msg":"x"},"ext":{"a":1}}}`, `{"valid":"true"}`, `[]`, `null`, `{"valid":true,"payload":{"body":"x"}}`,
		`{"valid":true,"payload":null}`, `{"valid":true,"code":1}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAnswer(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if p := a.Payload; p != nil {
			for _, f := range []json.RawMessage{p.Body, p.Ext} {
				var m map[string]any
				if len(f) > 0 && string(f) != "null" && json.Unmarshal(f, &m) != nil {
					t.Fatalf("accepted a non-object payload field %q", f)
				}
			}
		}
	})
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"id":"1"}`)
	sig := Sign([]byte("k"), 1700000000000, body)
	if !Verify([]byte("k"), "1700000000000", body, sig) {
		t.Fatal("own signature does not verify")
	}
	for _, bad := range [][3]string{{"k2", "1700000000000", string(body)}, {"k", "1700000000001", string(body)}, {"k", "x", string(body)},
		{"k", "1700000000000", `{"id":"2"}`}} {
		if Verify([]byte(bad[0]), bad[1], []byte(bad[2]), sig) {
			t.Fatalf("verified %v", bad)
		}
	}
	if sig[:3] != "v1=" || len(sig) != 3+64 {
		t.Fatalf("signature shape %q", sig)
	}
}
