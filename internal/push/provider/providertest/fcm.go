package providertest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/push/provider"
)

// FCM is a local FCM HTTP v1 API with its OAuth2 token endpoint.
//
// The token endpoint (POST /token) takes the JWT-bearer grant and verifies
// the assertion: RS256 signed with the key of ServiceAccount (kid, when
// given, must be its private_key_id), iss the client_email, aud the
// token_uri, a scope that allows FCM, exp after now and at most an hour
// after iat, iat not in the future. It issues access tokens that live
// for an hour (SetTokenLifetime). Failures answer 400 with an OAuth2
// error (invalid_grant, invalid_scope, unsupported_grant_type).
//
// The send endpoint (POST /v1/projects/{project}/messages:send) wants
// one of those access tokens, unexpired and not revoked (else 401
// UNAUTHENTICATED), the project of the service account (else 403), and
// a JSON body {"message":{...}} with only the fields FCM defines (the
// subset in FCMMessage, snake_case), a token, string data values, no
// reserved data keys, a valid android.ttl and priority, APNs headers and
// aps values Apple would accept, and at most 4096 bytes of notification
// and data (else 400 INVALID_ARGUMENT). Accepted messages are recorded.
type FCM struct {
	ProjectID   string
	ClientEmail string
	KeyID       string
	Key         *rsa.PrivateKey

	srv    *httptest.Server
	keyPEM string

	mu            sync.Mutex
	now           func() time.Time
	lifetime      time.Duration
	issued        map[string]time.Time // access token → expiry
	tokenRequests int
	unauthorized  int
	messages      []FCMMessage
	sendFails     script
	tokenFails    script
	unregistered  map[string]bool
	invalid       map[string]bool
}

// FCMMessage is a message the fake accepted: the subset of FCM's v1
// Message it knows (JSON field names as Parley sends them).
type FCMMessage struct {
	Token        string            `json:"token"`
	Notification *FCMNotification  `json:"notification,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
	Android      *FCMAndroid       `json:"android,omitempty"`
	APNs         *FCMAPNs          `json:"apns,omitempty"`
	// Raw is the message object as received.
	Raw json.RawMessage `json:"-"`
}

// FCMNotification is Message.notification.
type FCMNotification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

// FCMAndroid is Message.android.
type FCMAndroid struct {
	CollapseKey           string                  `json:"collapse_key,omitempty"`
	Priority              string                  `json:"priority,omitempty"`
	TTL                   string                  `json:"ttl,omitempty"`
	RestrictedPackageName string                  `json:"restricted_package_name,omitempty"`
	Data                  map[string]string       `json:"data,omitempty"`
	Notification          *FCMAndroidNotification `json:"notification,omitempty"`
	DirectBootOK          bool                    `json:"direct_boot_ok,omitempty"`
}

// FCMAndroidNotification is Message.android.notification.
type FCMAndroidNotification struct {
	Title             string `json:"title,omitempty"`
	Body              string `json:"body,omitempty"`
	Icon              string `json:"icon,omitempty"`
	Color             string `json:"color,omitempty"`
	Sound             string `json:"sound,omitempty"`
	Tag               string `json:"tag,omitempty"`
	ClickAction       string `json:"click_action,omitempty"`
	ChannelID         string `json:"channel_id,omitempty"`
	Image             string `json:"image,omitempty"`
	NotificationCount *int   `json:"notification_count,omitempty"`
}

// FCMAPNs is Message.apns.
type FCMAPNs struct {
	Headers map[string]string `json:"headers,omitempty"`
	Payload json.RawMessage   `json:"payload,omitempty"`
}

// FCMScopes are the OAuth2 scopes the token endpoint accepts.
var FCMScopes = []string{provider.FCMScope, "https://www.googleapis.com/auth/cloud-platform"}

// NewFCM starts a fake FCM with a freshly generated 2048-bit service
// account key; it stops when the test ends.
func NewFCM(t testing.TB) *FCM {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f := &FCM{
		keyPEM:       string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		ProjectID:    "parley-test-" + randomHex(3),
		ClientEmail:  "push@parley-test.iam.gserviceaccount.com",
		KeyID:        randomHex(20),
		Key:          key,
		now:          time.Now,
		lifetime:     time.Hour,
		issued:       make(map[string]time.Time),
		unregistered: make(map[string]bool),
		invalid:      make(map[string]bool),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", f.send)
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.EnableHTTP2 = true
	f.srv.Config.ErrorLog = quiet
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

// Endpoint is the base URL to use as Credentials.Endpoint.
func (f *FCM) Endpoint() string { return f.srv.URL }

// TokenURI is the token endpoint, as in ServiceAccount.
func (f *FCM) TokenURI() string { return f.srv.URL + "/token" }

// Client returns an HTTP client that trusts the fake's certificate.
func (f *FCM) Client() *http.Client { return f.srv.Client() }

// ServiceAccount returns a service account JSON key for the fake, as
// Google Cloud hands them out (PKCS #8 PEM key, token_uri the fake's).
func (f *FCM) ServiceAccount() []byte {
	b, _ := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  f.ProjectID,
		"private_key_id":              f.KeyID,
		"private_key":                 f.keyPEM,
		"client_email":                f.ClientEmail,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   f.TokenURI(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	return b
}

// Credentials returns FCM credentials for the fake.
func (f *FCM) Credentials() provider.Credentials {
	return provider.Credentials{Kind: provider.FCM, ServiceAccount: f.ServiceAccount(), Endpoint: f.Endpoint()}
}

// SetClock sets the fake's clock (token expiry and assertion times).
func (f *FCM) SetClock(now func() time.Time) {
	f.mu.Lock()
	f.now = now
	f.mu.Unlock()
}

// SetTokenLifetime sets the lifetime of access tokens issued from now on.
func (f *FCM) SetTokenLifetime(d time.Duration) {
	f.mu.Lock()
	f.lifetime = d
	f.mu.Unlock()
}

// FailSends makes the next n sends (that pass authentication and
// validation) answer fail, with FCM's error body for its status.
func (f *FCM) FailSends(n int, fail Failure) {
	f.mu.Lock()
	f.sendFails.add(n, fail)
	f.mu.Unlock()
}

// FailTokenRequests makes the next n token requests answer fail.
func (f *FCM) FailTokenRequests(n int, fail Failure) {
	f.mu.Lock()
	f.tokenFails.add(n, fail)
	f.mu.Unlock()
}

// Unregister makes sends to token answer 404 UNREGISTERED.
func (f *FCM) Unregister(token string) {
	f.mu.Lock()
	f.unregistered[token] = true
	f.mu.Unlock()
}

// MarkInvalid makes sends to token answer 400 INVALID_ARGUMENT "The
// registration token is not a valid FCM registration token".
func (f *FCM) MarkInvalid(token string) {
	f.mu.Lock()
	f.invalid[token] = true
	f.mu.Unlock()
}

// RevokeAccessTokens invalidates every access token issued so far.
func (f *FCM) RevokeAccessTokens() {
	f.mu.Lock()
	clear(f.issued)
	f.mu.Unlock()
}

// TokenRequests is the number of token requests, successful or not.
func (f *FCM) TokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenRequests
}

// Unauthorized is the number of sends answered 401 for a missing,
// unknown, expired or revoked access token.
func (f *FCM) Unauthorized() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unauthorized
}

// Messages returns the accepted messages, in order.
func (f *FCM) Messages() []FCMMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FCMMessage(nil), f.messages...)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// token is the OAuth2 token endpoint (RFC 7523 JWT bearer grant).
func (f *FCM) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenRequests++
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded, not "+ct)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+g)
		return
	}
	if fail, ok := f.tokenFails.next(); ok {
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		code := fail.Reason
		if code == "" {
			code = "internal_failure"
		}
		oauthError(w, fail.Status, code, "scripted failure")
		return
	}
	if err := f.checkAssertion(r.PostForm.Get("assertion")); err != nil {
		code := "invalid_grant"
		if strings.HasPrefix(err.Error(), "scope") {
			code = "invalid_scope"
		}
		oauthError(w, http.StatusBadRequest, code, err.Error())
		return
	}
	tok := "ya29.fake-" + randomHex(24)
	f.issued[tok] = f.now().Add(f.lifetime)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   int64(f.lifetime / time.Second),
		"token_type":   "Bearer",
	})
}

// checkAssertion verifies the signed JWT of a token request.
func (f *FCM) checkAssertion(assertion string) error {
	if assertion == "" {
		return fmt.Errorf("missing assertion")
	}
	j, err := parseJWT(assertion)
	if err != nil {
		return fmt.Errorf("Invalid JWT: %v", err)
	}
	if alg := str(j.header, "alg"); alg != "RS256" {
		return fmt.Errorf("Invalid JWT: alg %q, want RS256", alg)
	}
	if typ, ok := j.header["typ"]; ok && typ != "JWT" {
		return fmt.Errorf("Invalid JWT: typ %v", typ)
	}
	if kid, ok := j.header["kid"]; ok && kid != f.KeyID {
		return fmt.Errorf("Invalid JWT Signature.: unknown kid %v", kid)
	}
	sum := sha256.Sum256(j.input)
	if err := rsa.VerifyPKCS1v15(&f.Key.PublicKey, crypto.SHA256, sum[:], j.sig); err != nil {
		return fmt.Errorf("Invalid JWT Signature.")
	}
	if iss := str(j.claims, "iss"); iss != f.ClientEmail {
		return fmt.Errorf("Invalid email or User ID: iss %q", iss)
	}
	if aud := str(j.claims, "aud"); aud != f.TokenURI() {
		return fmt.Errorf("Invalid JWT: Failed audience check: aud %q, want %q", aud, f.TokenURI())
	}
	scopeOK := false
	for _, s := range strings.Fields(str(j.claims, "scope")) {
		for _, want := range FCMScopes {
			scopeOK = scopeOK || s == want
		}
	}
	if !scopeOK {
		return fmt.Errorf("scope %q does not allow FCM", str(j.claims, "scope"))
	}
	iat, err := num(j.claims, "iat")
	if err != nil {
		return fmt.Errorf("Invalid JWT: %v", err)
	}
	exp, err := num(j.claims, "exp")
	if err != nil {
		return fmt.Errorf("Invalid JWT: %v", err)
	}
	now := f.now().Unix()
	const skew = 60
	if exp <= iat || exp-iat > 3600 || iat > now+skew || exp <= now {
		return fmt.Errorf("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	}
	return nil
}

// fcmError answers Google's error shape.
func fcmError(w http.ResponseWriter, status int, code, message string) {
	statusText := map[int]string{
		400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
		429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
	}[status]
	if statusText == "" {
		statusText = "UNKNOWN"
	}
	e := map[string]any{"code": status, "message": message, "status": statusText}
	if code != "" {
		e["details"] = []map[string]string{{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

var fcmDefaultCode = map[int]string{
	400: "INVALID_ARGUMENT", 401: "", 403: "SENDER_ID_MISMATCH", 404: "UNREGISTERED",
	429: "QUOTA_EXCEEDED", 500: "INTERNAL", 503: "UNAVAILABLE",
}

var ttlRE = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,9})?s$`)

func (f *FCM) send(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if exp, issued := f.issued[tok]; !ok || !issued || !f.now().Before(exp) {
		f.unauthorized++
		fcmError(w, http.StatusUnauthorized, "", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	if p := r.PathValue("project"); p != f.ProjectID {
		fcmError(w, http.StatusForbidden, "", fmt.Sprintf("Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/%s'", p))
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid Content-Type "+ct)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		fcmError(w, http.StatusRequestEntityTooLarge, "", err.Error())
		return
	}
	var req struct {
		Message      json.RawMessage `json:"message"`
		ValidateOnly bool            `json:"validate_only"`
	}
	var m FCMMessage
	if err := decodeStrict(body, &req); err != nil {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	if err := decodeStrict(req.Message, &m); err != nil {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	m.Raw = req.Message
	if err := checkFCMMessage(&m); err != nil {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	if fail, ok := f.sendFails.next(); ok {
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		code := fail.Reason
		if code == "" {
			code = fcmDefaultCode[fail.Status]
		}
		fcmError(w, fail.Status, code, "scripted failure")
		return
	}
	switch {
	case f.unregistered[m.Token]:
		fcmError(w, http.StatusNotFound, "UNREGISTERED", "Requested entity was not found.")
		return
	case f.invalid[m.Token]:
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token")
		return
	}
	if !req.ValidateOnly {
		f.messages = append(f.messages, m)
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": "projects/" + f.ProjectID + "/messages/" + randomHex(8)})
}

// checkFCMMessage applies FCM's rules to a decoded message.
func checkFCMMessage(m *FCMMessage) error {
	if m.Token == "" {
		return fmt.Errorf("Recipient of the message is not set.")
	}
	size := 0
	for k, v := range m.Data {
		lk := strings.ToLower(k)
		if lk == "from" || lk == "message_type" || strings.HasPrefix(lk, "google") || strings.HasPrefix(lk, "gcm") {
			return fmt.Errorf("Invalid data payload key: %s", k)
		}
		size += len(k) + len(v)
	}
	if n := m.Notification; n != nil {
		size += len(n.Title) + len(n.Body)
	}
	if size > 4096 {
		return fmt.Errorf("Message is too big")
	}
	if a := m.Android; a != nil {
		if a.Priority != "" && a.Priority != "NORMAL" && a.Priority != "HIGH" {
			return fmt.Errorf("Invalid value at 'message.android.priority' (%q)", a.Priority)
		}
		if a.TTL != "" && !ttlRE.MatchString(a.TTL) {
			return fmt.Errorf("Invalid value at 'message.android.ttl' (%q)", a.TTL)
		}
	}
	if a := m.APNs; a != nil {
		h := make(http.Header)
		for k, v := range a.Headers {
			h.Set(k, v)
		}
		var payload map[string]json.RawMessage
		if len(a.Payload) > 0 {
			if err := json.Unmarshal(a.Payload, &payload); err != nil || payload == nil {
				return fmt.Errorf("Invalid value at 'message.apns.payload': not an object")
			}
		}
		if reason := checkAPNsHeaders(h); reason != "" {
			return fmt.Errorf("Invalid APNs headers: %s", reason)
		}
		if payload != nil {
			if reason := checkAPS(payload, h.Get("apns-push-type"), h.Get("apns-priority"), true); reason != "" {
				return fmt.Errorf("Invalid APNs payload: %s", reason)
			}
		}
	}
	return nil
}
