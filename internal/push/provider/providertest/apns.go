package providertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/push/provider"
)

// APNs is a local Apple Push Notification service: HTTP/2 over TLS,
// token-based authentication.
//
// POST /3/device/{token} is checked as Apple does, answering
// {"reason": ...} with Apple's status and reason:
//
//   - HTTP/2 only (an HTTP/1.x request gets 400 "HTTP2Required", a reason
//     of the fake: the real service does not speak HTTP/1 at all);
//   - the device token is hex (400 BadDeviceToken);
//   - authorization: bearer <JWT> with header alg ES256 and kid KeyID,
//     claims iss TeamID and iat, signed (r‖s, 64 bytes) with Key: 403
//     MissingProviderToken, InvalidProviderToken, or ExpiredProviderToken
//     when iat is an hour old; a new token less than 20 minutes after the
//     one in use gets 429 TooManyProviderTokenUpdates, unless the one in
//     use was rejected;
//   - apns-topic is Topic (400 MissingTopic, DeviceTokenNotForTopic);
//   - apns-push-type is present and known (400 InvalidPushType — Apple
//     requires it only for watchOS, Parley always sends it),
//     apns-priority 1, 5 or 10 (BadPriority), apns-expiration a number
//     (BadExpirationDate), apns-collapse-id at most 64 bytes
//     (BadCollapseId);
//   - the payload is a JSON object of at most 4096 bytes (413
//     PayloadTooLarge; 400 PayloadEmpty) with an aps object whose members
//     have the types Apple documents; an alert push has an alert, badge
//     or sound; a background push has content-available 1, no alert,
//     badge or sound, and priority 5. These payload checks answer 400
//     "BadPayload", a reason of the fake (the device, not APNs, would
//     ignore such a payload).
//
// Accepted pushes are recorded and answered 200 with an apns-id.
type APNs struct {
	KeyID  string
	TeamID string
	Topic  string
	Key    *ecdsa.PrivateKey

	srv    *httptest.Server
	keyPEM string

	mu         sync.Mutex
	now        func() time.Time
	pushes     []APNsPush
	fails      script
	gone       map[string]bool
	bad        map[string]bool
	current    string // the provider token in use
	currentIat int64
	revoked    map[string]bool
	tokens     int
}

// APNsPush is a push the fake accepted.
type APNsPush struct {
	Token      string
	Topic      string
	PushType   string
	Priority   string
	CollapseID string
	Expiration string
	Payload    json.RawMessage
}

// NewAPNs starts a fake APNs with a freshly generated P-256 key; it stops
// when the test ends.
func NewAPNs(t testing.TB) *APNs {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	a := &APNs{
		keyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		KeyID:   strings.ToUpper(randomHex(5)),
		TeamID:  strings.ToUpper(randomHex(5)),
		Topic:   "im.parley.test",
		Key:     key,
		now:     time.Now,
		gone:    make(map[string]bool),
		bad:     make(map[string]bool),
		revoked: make(map[string]bool),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /3/device/{token}", a.push)
	a.srv = httptest.NewUnstartedServer(mux)
	a.srv.EnableHTTP2 = true
	a.srv.Config.ErrorLog = quiet
	a.srv.StartTLS()
	t.Cleanup(a.srv.Close)
	return a
}

// Endpoint is the base URL to use as Credentials.Endpoint.
func (a *APNs) Endpoint() string { return a.srv.URL }

// Client returns an HTTP/2 client that trusts the fake's certificate.
func (a *APNs) Client() *http.Client { return a.srv.Client() }

// KeyP8 returns the key as Apple hands it out: PKCS #8 in PEM.
func (a *APNs) KeyP8() string { return a.keyPEM }

// Credentials returns APNs credentials for the fake.
func (a *APNs) Credentials() provider.Credentials {
	return provider.Credentials{Kind: provider.APNs, KeyP8: a.KeyP8(), KeyID: a.KeyID, TeamID: a.TeamID, Topic: a.Topic, Endpoint: a.Endpoint()}
}

// SetClock sets the fake's clock (provider token age).
func (a *APNs) SetClock(now func() time.Time) {
	a.mu.Lock()
	a.now = now
	a.mu.Unlock()
}

// FailNext makes the next n pushes (that pass the checks) answer fail;
// a 403 ExpiredProviderToken or InvalidProviderToken also marks the
// provider token rejected.
func (a *APNs) FailNext(n int, fail Failure) {
	a.mu.Lock()
	a.fails.add(n, fail)
	a.mu.Unlock()
}

// Unregister makes pushes to token answer 410 Unregistered.
func (a *APNs) Unregister(token string) {
	a.mu.Lock()
	a.gone[token] = true
	a.mu.Unlock()
}

// BadToken makes pushes to token answer 400 BadDeviceToken.
func (a *APNs) BadToken(token string) {
	a.mu.Lock()
	a.bad[token] = true
	a.mu.Unlock()
}

// ExpireProviderTokens makes every provider token seen so far answer 403
// ExpiredProviderToken.
func (a *APNs) ExpireProviderTokens() {
	a.mu.Lock()
	if a.current != "" {
		a.revoked[a.current] = true
	}
	a.mu.Unlock()
}

// ProviderTokens is the number of distinct provider tokens accepted.
func (a *APNs) ProviderTokens() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tokens
}

// Pushes returns the accepted pushes, in order.
func (a *APNs) Pushes() []APNsPush {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]APNsPush(nil), a.pushes...)
}

func apnsFail(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, map[string]string{"reason": reason})
}

func (a *APNs) push(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		apnsFail(w, http.StatusBadRequest, "HTTP2Required")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	token := r.PathValue("token")
	if !isHex(token) {
		apnsFail(w, http.StatusBadRequest, "BadDeviceToken")
		return
	}
	jwt, status, reason := a.checkProviderToken(r.Header.Get("Authorization"))
	if status != 0 {
		apnsFail(w, status, reason)
		return
	}
	h := r.Header
	switch topic := h.Get("apns-topic"); {
	case topic == "":
		apnsFail(w, http.StatusBadRequest, "MissingTopic")
		return
	case topic != a.Topic:
		apnsFail(w, http.StatusBadRequest, "DeviceTokenNotForTopic")
		return
	}
	if h.Get("apns-push-type") == "" {
		apnsFail(w, http.StatusBadRequest, "InvalidPushType")
		return
	}
	if reason := checkAPNsHeaders(h); reason != "" {
		apnsFail(w, http.StatusBadRequest, reason)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4097))
	if err != nil {
		apnsFail(w, http.StatusBadRequest, "PayloadEmpty")
		return
	}
	if len(body) > 4096 {
		apnsFail(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
		return
	}
	var payload map[string]json.RawMessage
	if err := json.Unmarshal(body, &payload); err != nil || len(payload) == 0 {
		apnsFail(w, http.StatusBadRequest, "PayloadEmpty")
		return
	}
	if reason := checkAPS(payload, h.Get("apns-push-type"), h.Get("apns-priority"), false); reason != "" {
		apnsFail(w, http.StatusBadRequest, reason)
		return
	}
	if fail, ok := a.fails.next(); ok {
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		if fail.Reason == "ExpiredProviderToken" || fail.Reason == "InvalidProviderToken" {
			a.revoked[jwt] = true
		}
		reason := fail.Reason
		if reason == "" {
			reason = map[int]string{429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable", 410: "Unregistered", 400: "BadDeviceToken", 403: "InvalidProviderToken"}[fail.Status]
		}
		apnsFail(w, fail.Status, reason)
		return
	}
	switch {
	case a.gone[token]:
		writeJSON(w, http.StatusGone, map[string]any{"reason": "Unregistered", "timestamp": a.now().UnixMilli()})
		return
	case a.bad[token]:
		apnsFail(w, http.StatusBadRequest, "BadDeviceToken")
		return
	}
	a.pushes = append(a.pushes, APNsPush{
		Token:      token,
		Topic:      h.Get("apns-topic"),
		PushType:   h.Get("apns-push-type"),
		Priority:   h.Get("apns-priority"),
		CollapseID: h.Get("apns-collapse-id"),
		Expiration: h.Get("apns-expiration"),
		Payload:    body,
	})
	id := randomHex(16)
	w.Header().Set("apns-id", strings.ToUpper(id[:8]+"-"+id[8:12]+"-"+id[12:16]+"-"+id[16:20]+"-"+id[20:]))
	w.WriteHeader(http.StatusOK)
}

// checkProviderToken verifies the authorization header; status 0: fine.
func (a *APNs) checkProviderToken(auth string) (jwt string, status int, reason string) {
	scheme, tok, _ := strings.Cut(auth, " ")
	if auth == "" || !strings.EqualFold(scheme, "bearer") || tok == "" {
		return "", http.StatusForbidden, "MissingProviderToken"
	}
	j, err := parseJWT(tok)
	if err != nil || str(j.header, "alg") != "ES256" || str(j.header, "kid") != a.KeyID || str(j.claims, "iss") != a.TeamID {
		return tok, http.StatusForbidden, "InvalidProviderToken"
	}
	iat, err := num(j.claims, "iat")
	if err != nil || len(j.sig) != 64 {
		return tok, http.StatusForbidden, "InvalidProviderToken"
	}
	sum := sha256.Sum256(j.input)
	rr, ss := new(big.Int).SetBytes(j.sig[:32]), new(big.Int).SetBytes(j.sig[32:])
	if !ecdsa.Verify(&a.Key.PublicKey, sum[:], rr, ss) {
		return tok, http.StatusForbidden, "InvalidProviderToken"
	}
	now := a.now().Unix()
	switch {
	case iat > now+60:
		return tok, http.StatusForbidden, "InvalidProviderToken"
	case now-iat >= 3600 || a.revoked[tok]:
		return tok, http.StatusForbidden, "ExpiredProviderToken"
	}
	if tok != a.current {
		if a.current != "" && !a.revoked[a.current] && iat-a.currentIat < 20*60 {
			return tok, http.StatusTooManyRequests, "TooManyProviderTokenUpdates"
		}
		a.current, a.currentIat = tok, iat
		a.tokens++
	}
	return tok, 0, ""
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

var pushTypes = map[string]bool{
	"alert": true, "background": true, "location": true, "voip": true, "complication": true,
	"fileprovider": true, "mdm": true, "liveactivity": true, "pushtotalk": true, "widgets": true,
}

// checkAPNsHeaders checks the apns-* request headers; "" when fine, else
// Apple's reason.
func checkAPNsHeaders(h http.Header) string {
	if t := h.Get("apns-push-type"); t != "" && !pushTypes[t] {
		return "InvalidPushType"
	}
	switch h.Get("apns-priority") {
	case "", "1", "5", "10":
	default:
		return "BadPriority"
	}
	if e := h.Get("apns-expiration"); e != "" {
		if _, err := strconv.ParseUint(e, 10, 63); err != nil {
			return "BadExpirationDate"
		}
	}
	if len(h.Get("apns-collapse-id")) > 64 {
		return "BadCollapseId"
	}
	return ""
}

// checkAPS checks the aps dictionary of payload against pushType and
// priority ("" when not given); "" when fine, else a reason. viaFCM: FCM
// fills aps.alert from message.notification, so an alert push may lack it.
func checkAPS(payload map[string]json.RawMessage, pushType, priority string, viaFCM bool) string {
	raw, ok := payload["aps"]
	if !ok {
		if viaFCM {
			return ""
		}
		return "BadPayload: no aps"
	}
	var aps map[string]json.RawMessage
	if json.Unmarshal(raw, &aps) != nil || aps == nil {
		return "BadPayload: aps is not an object"
	}
	for k, v := range aps {
		var ok bool
		switch k {
		case "alert":
			ok = isAlert(v)
		case "badge":
			var n uint32
			ok = json.Unmarshal(v, &n) == nil
		case "sound":
			var s string
			var m map[string]json.RawMessage
			ok = json.Unmarshal(v, &s) == nil || json.Unmarshal(v, &m) == nil && m != nil
		case "content-available", "mutable-content":
			var n int
			ok = json.Unmarshal(v, &n) == nil && n == 1
		case "category", "thread-id", "target-content-id", "interruption-level", "filter-criteria":
			var s string
			ok = json.Unmarshal(v, &s) == nil
		case "relevance-score":
			var f float64
			ok = json.Unmarshal(v, &f) == nil
		default:
			ok = true // newer keys; devices ignore unknown ones
		}
		if !ok {
			return "BadPayload: aps." + k + " has the wrong type or value"
		}
	}
	_, alert := aps["alert"]
	_, badge := aps["badge"]
	_, sound := aps["sound"]
	switch pushType {
	case "alert":
		if !alert && !badge && !sound && !viaFCM {
			return "BadPayload: an alert push needs an alert, badge or sound"
		}
	case "background":
		if _, ok := aps["content-available"]; !ok {
			return "BadPayload: a background push needs content-available 1"
		}
		if alert || badge || sound {
			return "BadPayload: a background push has no alert, badge or sound"
		}
		if priority != "5" {
			return "BadPriority"
		}
	}
	return ""
}

// isAlert reports whether v is an aps.alert: a string, or an object of
// strings (and string arrays for the *-args keys).
func isAlert(v json.RawMessage) bool {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || m == nil {
		return false
	}
	for k, x := range m {
		if strings.HasSuffix(k, "-args") {
			var a []string
			if json.Unmarshal(x, &a) != nil {
				return false
			}
			continue
		}
		if json.Unmarshal(x, &s) != nil {
			return false
		}
	}
	return true
}
