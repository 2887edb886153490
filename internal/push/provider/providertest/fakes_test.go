package providertest

// These tests speak raw HTTP to the fakes to show that each check the
// fakes promise rejects what the real service rejects: a fake that
// accepted anything would let client bugs through.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// compact encodes a JWS with sign over its input.
func compact(t *testing.T, header, claims map[string]any, sign func([]byte) []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	return input + "." + enc.EncodeToString(sign([]byte(input)))
}

func rs256(key *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		return sig
	}
}

func es256(key *ecdsa.PrivateKey, asn1 bool) func([]byte) []byte {
	return func(in []byte) []byte {
		sum := sha256.Sum256(in)
		if asn1 {
			sig, _ := ecdsa.SignASN1(rand.Reader, key, sum[:])
			return sig
		}
		r, s, _ := ecdsa.Sign(rand.Reader, key, sum[:])
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}
}

// with returns a copy of m with changes applied (a nil value deletes).
func with(m map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFCM_TokenEndpoint(t *testing.T) {
	f := NewFCM(t)
	clock := NewClock(t0)
	f.SetClock(clock.Now)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	header := map[string]any{"alg": "RS256", "typ": "JWT", "kid": f.KeyID}
	claims := map[string]any{
		"iss": f.ClientEmail, "scope": FCMScopes[0], "aud": f.TokenURI(),
		"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
	}
	good := compact(t, header, claims, rs256(f.Key))
	form := func(a string) string {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}.Encode()
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantError   string
	}{
		{"valid", "", form(good), 200, ""},
		{"valid without kid and typ", "", form(compact(t, map[string]any{"alg": "RS256"}, claims, rs256(f.Key))), 200, ""},
		{"cloud-platform scope", "", form(compact(t, header, with(claims, map[string]any{"scope": "openid " + FCMScopes[1]}), rs256(f.Key))), 200, ""},
		{"another key", "", form(compact(t, header, claims, rs256(other))), 400, "invalid_grant"},
		{"alg none", "", form(compact(t, with(header, map[string]any{"alg": "none"}), claims, func([]byte) []byte { return nil })), 400, "invalid_grant"},
		{"unknown kid", "", form(compact(t, with(header, map[string]any{"kid": "x"}), claims, rs256(f.Key))), 400, "invalid_grant"},
		{"wrong iss", "", form(compact(t, header, with(claims, map[string]any{"iss": "x@y"}), rs256(f.Key))), 400, "invalid_grant"},
		{"wrong aud", "", form(compact(t, header, with(claims, map[string]any{"aud": "https://oauth2.googleapis.com/token"}), rs256(f.Key))), 400, "invalid_grant"},
		{"no scope", "", form(compact(t, header, with(claims, map[string]any{"scope": nil}), rs256(f.Key))), 400, "invalid_scope"},
		{"other scope", "", form(compact(t, header, with(claims, map[string]any{"scope": "https://www.googleapis.com/auth/userinfo.email"}), rs256(f.Key))), 400, "invalid_scope"},
		{"lives too long", "", form(compact(t, header, with(claims, map[string]any{"exp": t0.Add(time.Hour + time.Second).Unix()}), rs256(f.Key))), 400, "invalid_grant"},
		{"expired", "", form(compact(t, header, with(claims, map[string]any{"iat": t0.Add(-2 * time.Hour).Unix(), "exp": t0.Add(-time.Hour).Unix()}), rs256(f.Key))), 400, "invalid_grant"},
		{"issued in the future", "", form(compact(t, header, with(claims, map[string]any{"iat": t0.Add(5 * time.Minute).Unix(), "exp": t0.Add(time.Hour).Unix()}), rs256(f.Key))), 400, "invalid_grant"},
		{"no exp", "", form(compact(t, header, with(claims, map[string]any{"exp": nil}), rs256(f.Key))), 400, "invalid_grant"},
		{"padded base64", "", form(good + "=="), 400, "invalid_grant"},
		{"no assertion", "", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer", 400, "invalid_grant"},
		{"wrong grant", "", strings.Replace(form(good), "jwt-bearer", "saml2-bearer", 1), 400, "unsupported_grant_type"},
		{"JSON body", "application/json", `{"grant_type":"urn:ietf:params:oauth:grant-type:jwt-bearer","assertion":"` + good + `"}`, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			resp, err := f.Client().Post(f.TokenURI(), ct, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(body, tt.wantError) {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantError)
			}
			if tt.wantStatus == 200 && !strings.Contains(body, `"access_token":"ya29.`) {
				t.Errorf("no access token in %s", body)
			}
		})
	}
}

// accessToken gets an access token from f the proper way.
func accessToken(t *testing.T, f *FCM, now time.Time) string {
	t.Helper()
	a := compact(t, map[string]any{"alg": "RS256"}, map[string]any{
		"iss": f.ClientEmail, "scope": FCMScopes[0], "aud": f.TokenURI(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}, rs256(f.Key))
	resp, err := f.Client().PostForm(f.TokenURI(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(readAll(t, resp)), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("no access token: %v", err)
	}
	return tok.AccessToken
}

func TestFCM_SendEndpoint(t *testing.T) {
	const msg = `{"token":"abc","notification":{"title":"t","body":"b"},"data":{"m":"1"},
		"android":{"collapse_key":"c","priority":"HIGH","ttl":"3600s","notification":{"sound":"default","tag":"c"}},
		"apns":{"headers":{"apns-push-type":"alert","apns-priority":"10"},"payload":{"aps":{"badge":1,"sound":"default"}}}}`
	tests := []struct {
		name       string
		auth       string // "" the token, "-" none
		path       string // "" the project's
		expire     bool   // advance the clock past the token's life
		message    string
		wantStatus int
		wantText   string
	}{
		{name: "valid", message: msg, wantStatus: 200, wantText: "messages/"},
		{name: "data message", message: `{"token":"abc","data":{"m":"1"},"android":{"priority":"NORMAL"},
			"apns":{"headers":{"apns-push-type":"background","apns-priority":"5"},"payload":{"aps":{"content-available":1}}}}`, wantStatus: 200},
		{name: "no bearer", auth: "-", message: msg, wantStatus: 401, wantText: "UNAUTHENTICATED"},
		{name: "token not issued", auth: "ya29.made-up", message: msg, wantStatus: 401},
		{name: "expired token", expire: true, message: msg, wantStatus: 401},
		{name: "another project", path: "/v1/projects/other/messages:send", message: msg, wantStatus: 403},
		{name: "unknown field", message: `{"token":"abc","notification":{"title":"t","text":"b"}}`, wantStatus: 400, wantText: "text"},
		{name: "camelCase is not known here", message: `{"token":"abc","android":{"collapseKey":"c"}}`, wantStatus: 400},
		{name: "no token", message: `{"notification":{"title":"t"}}`, wantStatus: 400},
		{name: "number in data", message: `{"token":"abc","data":{"badge":1}}`, wantStatus: 400},
		{name: "reserved data key", message: `{"token":"abc","data":{"google.x":"1"}}`, wantStatus: 400, wantText: "google.x"},
		{name: "too big", message: `{"token":"abc","data":{"k":"` + strings.Repeat("x", 4100) + `"}}`, wantStatus: 400, wantText: "too big"},
		{name: "ttl not a duration", message: `{"token":"abc","android":{"ttl":"1h"}}`, wantStatus: 400, wantText: "ttl"},
		{name: "ttl a number", message: `{"token":"abc","android":{"ttl":3600}}`, wantStatus: 400},
		{name: "lowercase priority", message: `{"token":"abc","android":{"priority":"high"}}`, wantStatus: 400},
		{name: "apns priority 7", message: `{"token":"abc","apns":{"headers":{"apns-priority":"7"}}}`, wantStatus: 400, wantText: "BadPriority"},
		{name: "apns badge a string", message: `{"token":"abc","apns":{"payload":{"aps":{"badge":"1"}}}}`, wantStatus: 400},
		{name: "apns background with a sound", message: `{"token":"abc","apns":{"headers":{"apns-push-type":"background","apns-priority":"5"},
			"payload":{"aps":{"content-available":1,"sound":"default"}}}}`, wantStatus: 400},
		{name: "apns background at priority 10", message: `{"token":"abc","apns":{"headers":{"apns-push-type":"background","apns-priority":"10"},
			"payload":{"aps":{"content-available":1}}}}`, wantStatus: 400, wantText: "BadPriority"},
		{name: "message not an object", message: `"abc"`, wantStatus: 400},
	}
	f := NewFCM(t)
	clock := NewClock(t0)
	f.SetClock(clock.Now)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := accessToken(t, f, clock.Now())
			if tt.expire {
				clock.Advance(time.Hour)
				defer clock.Advance(-time.Hour)
			}
			before := len(f.Messages())
			path := tt.path
			if path == "" {
				path = "/v1/projects/" + f.ProjectID + "/messages:send"
			}
			req, _ := http.NewRequest("POST", f.Endpoint()+path, strings.NewReader(`{"message":`+tt.message+`}`))
			req.Header.Set("Content-Type", "application/json")
			switch tt.auth {
			case "":
				req.Header.Set("Authorization", "Bearer "+tok)
			case "-":
			default:
				req.Header.Set("Authorization", "Bearer "+tt.auth)
			}
			resp, err := f.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(body, tt.wantText) {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantText)
			}
			if got, want := len(f.Messages())-before, map[bool]int{true: 1, false: 0}[tt.wantStatus == 200]; got != want {
				t.Errorf("%d messages recorded, want %d", got, want)
			}
		})
	}
}

func TestAPNs_Checks(t *testing.T) {
	const alert = `{"aps":{"alert":{"title":"t","body":"b"},"badge":1,"sound":"default"}}`
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	type req struct {
		http1   bool
		token   string // device token; "" a valid one
		jwt     func(a *APNs) string
		headers map[string]string // over the valid ones; "" deletes
		payload string
	}
	valid := func(a *APNs) string {
		return compact(t, map[string]any{"alg": "ES256", "kid": a.KeyID}, map[string]any{"iss": a.TeamID, "iat": t0.Unix()}, es256(a.Key, false))
	}
	tests := []struct {
		name       string
		r          req
		wantStatus int
		wantReason string
	}{
		{"valid alert", req{payload: alert}, 200, ""},
		{"valid background", req{headers: map[string]string{"apns-push-type": "background", "apns-priority": "5"},
			payload: `{"aps":{"content-available":1},"m":"1"}`}, 200, ""},
		{"HTTP/1.1", req{http1: true, payload: alert}, 400, "HTTP2Required"},
		{"token not hex", req{token: "xyz", payload: alert}, 400, "BadDeviceToken"},
		{"no authorization", req{jwt: func(*APNs) string { return "" }, payload: alert}, 403, "MissingProviderToken"},
		{"ASN.1 signature", req{jwt: func(a *APNs) string {
			return compact(t, map[string]any{"alg": "ES256", "kid": a.KeyID}, map[string]any{"iss": a.TeamID, "iat": t0.Unix()}, es256(a.Key, true))
		}, payload: alert}, 403, "InvalidProviderToken"},
		{"another key", req{jwt: func(a *APNs) string {
			return compact(t, map[string]any{"alg": "ES256", "kid": a.KeyID}, map[string]any{"iss": a.TeamID, "iat": t0.Unix()}, es256(other, false))
		}, payload: alert}, 403, "InvalidProviderToken"},
		{"wrong kid", req{jwt: func(a *APNs) string {
			return compact(t, map[string]any{"alg": "ES256", "kid": "X"}, map[string]any{"iss": a.TeamID, "iat": t0.Unix()}, es256(a.Key, false))
		}, payload: alert}, 403, "InvalidProviderToken"},
		{"wrong iss", req{jwt: func(a *APNs) string {
			return compact(t, map[string]any{"alg": "ES256", "kid": a.KeyID}, map[string]any{"iss": "X", "iat": t0.Unix()}, es256(a.Key, false))
		}, payload: alert}, 403, "InvalidProviderToken"},
		{"an hour old", req{jwt: func(a *APNs) string {
			return compact(t, map[string]any{"alg": "ES256", "kid": a.KeyID}, map[string]any{"iss": a.TeamID, "iat": t0.Add(-time.Hour).Unix()}, es256(a.Key, false))
		}, payload: alert}, 403, "ExpiredProviderToken"},
		{"from the future", req{jwt: func(a *APNs) string {
			return compact(t, map[string]any{"alg": "ES256", "kid": a.KeyID}, map[string]any{"iss": a.TeamID, "iat": t0.Add(10 * time.Minute).Unix()}, es256(a.Key, false))
		}, payload: alert}, 403, "InvalidProviderToken"},
		{"no topic", req{headers: map[string]string{"apns-topic": ""}, payload: alert}, 400, "MissingTopic"},
		{"another topic", req{headers: map[string]string{"apns-topic": "com.example"}, payload: alert}, 400, "DeviceTokenNotForTopic"},
		{"no push type", req{headers: map[string]string{"apns-push-type": ""}, payload: alert}, 400, "InvalidPushType"},
		{"unknown push type", req{headers: map[string]string{"apns-push-type": "silent"}, payload: alert}, 400, "InvalidPushType"},
		{"priority 7", req{headers: map[string]string{"apns-priority": "7"}, payload: alert}, 400, "BadPriority"},
		{"background at 10", req{headers: map[string]string{"apns-push-type": "background"}, payload: `{"aps":{"content-available":1}}`}, 400, "BadPriority"},
		{"long collapse id", req{headers: map[string]string{"apns-collapse-id": strings.Repeat("c", 65)}, payload: alert}, 400, "BadCollapseId"},
		{"expiration a date", req{headers: map[string]string{"apns-expiration": "2026-01-01"}, payload: alert}, 400, "BadExpirationDate"},
		{"too large", req{payload: `{"aps":{"alert":"` + strings.Repeat("x", 4090) + `"}}`}, 413, "PayloadTooLarge"},
		{"not JSON", req{payload: `aps`}, 400, "PayloadEmpty"},
		{"no aps", req{payload: `{"alert":"hi"}`}, 400, "BadPayload"},
		{"badge a string", req{payload: `{"aps":{"badge":"1"}}`}, 400, "BadPayload"},
		{"badge negative", req{payload: `{"aps":{"badge":-1}}`}, 400, "BadPayload"},
		{"alert a number", req{payload: `{"aps":{"alert":1}}`}, 400, "BadPayload"},
		{"mutable-content true", req{payload: `{"aps":{"alert":"hi","mutable-content":true}}`}, 400, "BadPayload"},
		{"alert push without an alert", req{payload: `{"aps":{"category":"c"}}`}, 400, "BadPayload"},
		{"background without content-available", req{headers: map[string]string{"apns-push-type": "background", "apns-priority": "5"},
			payload: `{"aps":{}}`}, 400, "BadPayload"},
		{"background with a badge", req{headers: map[string]string{"apns-push-type": "background", "apns-priority": "5"},
			payload: `{"aps":{"content-available":1,"badge":2}}`}, 400, "BadPayload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAPNs(t)
			a.SetClock(NewClock(t0).Now)
			token := tt.r.token
			if token == "" {
				token = DeviceToken()
			}
			jwt := valid(a)
			if tt.r.jwt != nil {
				jwt = tt.r.jwt(a)
			}
			h := map[string]string{"apns-topic": a.Topic, "apns-push-type": "alert", "apns-priority": "10"}
			if jwt != "" {
				h["authorization"] = "bearer " + jwt
			}
			for k, v := range tt.r.headers {
				if v == "" {
					delete(h, k)
				} else {
					h[k] = v
				}
			}
			r, _ := http.NewRequest("POST", a.Endpoint()+"/3/device/"+token, strings.NewReader(tt.r.payload))
			for k, v := range h {
				r.Header.Set(k, v)
			}
			client := a.Client()
			if tt.r.http1 {
				tr := client.Transport.(*http.Transport).Clone()
				tr.ForceAttemptHTTP2 = false
				tr.TLSClientConfig.NextProtos = nil
				var p http.Protocols
				p.SetHTTP1(true)
				tr.Protocols = &p
				client = &http.Client{Transport: tr}
			}
			resp, err := client.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(body, tt.wantReason) {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantReason)
			}
			if tt.wantStatus == 200 && resp.Header.Get("apns-id") == "" {
				t.Errorf("no apns-id")
			}
			if got, want := len(a.Pushes()), map[bool]int{true: 1, false: 0}[tt.wantStatus == 200]; got != want {
				t.Errorf("%d pushes recorded, want %d", got, want)
			}
		})
	}
}

// A new provider token within 20 minutes of the one in use is refused,
// unless the one in use was rejected.
func TestAPNs_TokenUpdates(t *testing.T) {
	a := NewAPNs(t)
	clock := NewClock(t0)
	a.SetClock(clock.Now)
	post := func() (int, string) {
		jwt := compact(t, map[string]any{"alg": "ES256", "kid": a.KeyID}, map[string]any{"iss": a.TeamID, "iat": clock.Now().Unix()}, es256(a.Key, false))
		r, _ := http.NewRequest("POST", a.Endpoint()+"/3/device/"+DeviceToken(), strings.NewReader(`{"aps":{"badge":1}}`))
		r.Header.Set("authorization", "bearer "+jwt)
		r.Header.Set("apns-topic", a.Topic)
		r.Header.Set("apns-push-type", "alert")
		resp, err := a.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(t, resp)
	}
	steps := []struct {
		advance time.Duration
		expire  bool
		want    int
		reason  string
	}{
		{0, false, 200, ""},
		{time.Minute, false, 429, "TooManyProviderTokenUpdates"},
		{0, true, 200, ""}, // the one in use was rejected: a new one is welcome
		{19 * time.Minute, false, 429, "TooManyProviderTokenUpdates"},
		{2 * time.Minute, false, 200, ""},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if s.expire {
			a.ExpireProviderTokens()
		}
		if status, body := post(); status != s.want || !strings.Contains(body, s.reason) {
			t.Errorf("step %d: %d %s, want %d %s", i, status, body, s.want, s.reason)
		}
	}
	if got := a.ProviderTokens(); got != 3 {
		t.Errorf("%d provider tokens, want 3", got)
	}
}

func TestWebhook_Checks(t *testing.T) {
	const secret = "s3cret"
	body := func(ts int64, extra string) string {
		return `{"token":"t","title":"","body":"hi","badge":1,"sound":"","collapse_key":"","ttl":0,"data":{},` + extra + `"timestamp":` + strconv.FormatInt(ts, 10) + `}`
	}
	sign := func(b string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(b))
		return hex.EncodeToString(m.Sum(nil))
	}
	now := t0.Unix()
	tests := []struct {
		name       string
		secret     string
		body       string
		ts         string // X-Parley-Timestamp; "" the body's
		sig        string // "" computed, "-" none
		wantStatus int
	}{
		{name: "signed", secret: secret, body: body(now, ""), wantStatus: 204},
		{name: "unsigned", body: body(now, ""), sig: "-", wantStatus: 204},
		{name: "with apns", secret: secret, body: body(now, `"apns":{"em_push_category":"c"},`), wantStatus: 204},
		{name: "no signature", secret: secret, body: body(now, ""), sig: "-", wantStatus: 401},
		{name: "wrong signature", secret: secret, body: body(now, ""), sig: sign("other"), wantStatus: 401},
		{name: "signature not hex", secret: secret, body: body(now, ""), sig: "zz", wantStatus: 401},
		{name: "signed for an unsigned receiver", body: body(now, ""), sig: sign("x"), wantStatus: 401},
		{name: "stale", secret: secret, body: body(now-301, ""), wantStatus: 401},
		{name: "no timestamp header", secret: secret, body: body(now, ""), ts: "-", wantStatus: 401},
		{name: "timestamps differ", secret: secret, body: body(now, ""), ts: strconv.FormatInt(now-1, 10), wantStatus: 400},
		{name: "unknown field", secret: secret, body: body(now, `"extra":1,`), wantStatus: 400},
		{name: "missing field", secret: secret, body: strings.Replace(body(now, ""), `"sound":"",`, "", 1), wantStatus: 400},
		{name: "data null", secret: secret, body: strings.Replace(body(now, ""), `"data":{}`, `"data":null`, 1), wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewWebhook(t, tt.secret)
			h.SetClock(NewClock(t0).Now)
			r, _ := http.NewRequest("POST", h.URL(), bytes.NewReader([]byte(tt.body)))
			r.Header.Set("Content-Type", "application/json")
			var b struct {
				Timestamp int64 `json:"timestamp"`
			}
			_ = json.Unmarshal([]byte(tt.body), &b)
			switch tt.ts {
			case "":
				r.Header.Set("X-Parley-Timestamp", strconv.FormatInt(b.Timestamp, 10))
			case "-":
			default:
				r.Header.Set("X-Parley-Timestamp", tt.ts)
			}
			switch tt.sig {
			case "":
				r.Header.Set("X-Parley-Signature", sign(tt.body))
			case "-":
			default:
				r.Header.Set("X-Parley-Signature", tt.sig)
			}
			resp, err := h.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			if msg := readAll(t, resp); resp.StatusCode != tt.wantStatus {
				t.Errorf("%d %s, want %d", resp.StatusCode, msg, tt.wantStatus)
			}
			if got, want := len(h.Requests()), map[bool]int{true: 1, false: 0}[tt.wantStatus == 204]; got != want {
				t.Errorf("%d requests recorded, want %d", got, want)
			}
		})
	}
}

// One fake's client reaches every fake, over HTTP/2 where it is offered.
func TestClient_Shared(t *testing.T) {
	f, a, h := NewFCM(t), NewAPNs(t), NewWebhook(t, "")
	for _, c := range []*http.Client{f.Client(), a.Client(), h.Client()} {
		for _, u := range []string{f.TokenURI(), a.Endpoint() + "/3/device/00", h.URL()} {
			resp, err := c.Get(u)
			if err != nil {
				t.Fatalf("GET %s: %v", u, err)
			}
			readAll(t, resp)
			if resp.ProtoMajor != 2 {
				t.Errorf("GET %s: %s, want HTTP/2", u, resp.Proto)
			}
		}
	}
}
