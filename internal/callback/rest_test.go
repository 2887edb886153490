package callback_test

import (
	"strings"
	"testing"
)

// The REST API validates rules and never shows a secret.
func TestRules_RESTValidation(t *testing.T) {
	e := newEnv(t, "alice")
	good := func() map[string]any {
		return map[string]any{"name": "hook", "url": "https://example.com/cb", "secret": testSecret, "events": []string{"chat"}}
	}
	with := func(k string, v any) map[string]any {
		b := good()
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	userTok := e.s.Do(t, "POST", e.base+"/token", "", map[string]string{"grant_type": "password", "username": "alice", "password": "pw"}).Str("access_token")
	cases := []struct {
		name   string
		token  string
		body   any
		status int
		want   string
	}{
		{"user token", userTok, good(), 403, ""},
		{"no token", "", good(), 401, ""},
		{"bad JSON", "admin", "{", 400, "invalid_request_body"},
		{"unknown field", "admin", with("retries", 3), 400, `unknown field`},
		{"no name", "admin", with("name", nil), 400, "name must be"},
		{"bad name", "admin", with("name", "a b"), 400, "name must be"},
		{"reserved name", "admin", with("name", "storage"), 400, "name must be"},
		{"long name", "admin", with("name", strings.Repeat("n", 65)), 400, "name must be"},
		{"no url", "admin", with("url", nil), 400, "url must"},
		{"relative url", "admin", with("url", "/cb"), 400, "url must"},
		{"http url", "admin", with("url", "http://example.com/cb"), 400, "http is allowed for loopback"},
		{"ftp url", "admin", with("url", "ftp://example.com/cb"), 400, "url must use https"},
		{"credentials in url", "admin", with("url", "https://u:p@example.com/cb"), 400, "without credentials"},
		{"no secret", "admin", with("secret", nil), 400, "secret must be"},
		{"short secret", "admin", with("secret", "short"), 400, "secret must be"},
		{"no events", "admin", with("events", []string{}), 400, "events must name"},
		{"unknown event", "admin", with("events", []string{"chat", "typing"}), 400, `unknown event \"typing\"`},
		{"twice", "admin", with("events", []string{"chat", "chat"}), 400, "listed twice"},
		{"zero timeout", "admin", with("timeout_ms", 0), 400, "timeout_ms must be"},
		{"long timeout", "admin", with("timeout_ms", 10001), 400, "timeout_ms must be"},
		{"timeout not a number", "admin", with("timeout_ms", "2s"), 400, "timeout_ms must be a number"},
		{"loopback http", "admin", with("url", "http://127.0.0.1:9/cb"), 200, ""},
		{"duplicate", "admin", good(), 400, "exists"},
		{"pre-send", "admin", map[string]any{"name": "check", "url": "https://example.com/c", "secret": testSecret,
			"events": []string{"pre_send"}, "timeout_ms": 10000, "fail_open": false}, 200, ""},
		{"second pre-send", "admin", map[string]any{"name": "check2", "url": "https://example.com/c", "secret": testSecret,
			"events": []string{"pre_send", "chat"}}, 400, "one pre-send rule"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token
			if tok == "admin" {
				tok = e.admin
			}
			body := tc.body
			if tc.name == "loopback http" {
				body = with("url", "http://127.0.0.1:9/cb")
				body.(map[string]any)["name"] = "hook"
			}
			r := e.s.Do(t, "POST", e.base+"/callbacks", tok, body)
			if r.Status != tc.status || !strings.Contains(string(r.Raw), tc.want) {
				t.Fatalf("%d %s, want %d %q", r.Status, r.Raw, tc.status, tc.want)
			}
			if strings.Contains(string(r.Raw), testSecret) {
				t.Fatalf("the secret is shown: %s", r.Raw)
			}
		})
	}
	r := e.s.Do(t, "GET", e.base+"/callbacks", e.admin, nil)
	list := r.Entities()
	if r.Status != 200 || len(list) != 2 || list[0]["name"] != "check" || list[0]["timeout_ms"] != float64(10000) ||
		list[0]["fail_open"] != false || list[1]["name"] != "hook" || list[1]["timeout_ms"] != nil || strings.Contains(string(r.Raw), testSecret) {
		t.Fatalf("list: %s", r.Raw)
	}
	// Updates keep what they do not name, including the secret.
	if r := e.s.Do(t, "PUT", e.base+"/callbacks/hook", e.admin, map[string]any{"events": []string{"chat", "pre_send"}}); r.Status != 400 {
		t.Fatalf("update to a second pre-send rule: %s", r.Raw)
	}
	r = e.s.Do(t, "PUT", e.base+"/callbacks/hook", e.admin, map[string]any{"events": []string{"login", "logout"}})
	if got := r.Entities(); r.Status != 200 || len(got) != 1 || got[0]["url"] != "http://127.0.0.1:9/cb" {
		t.Fatalf("update: %s", r.Raw)
	}
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"PUT", "/callbacks/nope", map[string]any{"events": []string{"chat"}}, 404},
		{"PUT", "/callbacks/hook", map[string]any{"name": "other"}, 400},
		{"PUT", "/callbacks/hook", map[string]any{"url": "http://example.com"}, 400},
		{"GET", "/callbacks/nope", nil, 404},
		{"GET", "/callbacks/hook", nil, 200},
		{"GET", "/callbacks/storage/info?limit=101", nil, 400},
		{"GET", "/callbacks/storage/info?cursor=x", nil, 400},
		{"POST", "/callbacks/storage/retry", map[string]any{"id": "x"}, 400},
		{"DELETE", "/callbacks/nope", nil, 404},
		{"DELETE", "/callbacks/hook", nil, 200},
		{"GET", "/callbacks/hook", nil, 404},
	} {
		if r := e.s.Do(t, tc.method, e.base+tc.path, e.admin, tc.body); r.Status != tc.status {
			t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, r.Status, r.Raw, tc.status)
		}
	}
}
