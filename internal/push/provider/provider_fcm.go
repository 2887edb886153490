package provider

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// FCMEndpoint is the FCM HTTP v1 API.
	FCMEndpoint = "https://fcm.googleapis.com"
	// GoogleTokenURI is the OAuth2 token endpoint, for service accounts
	// whose JSON names none.
	GoogleTokenURI = "https://oauth2.googleapis.com/token"
	// FCMScope is the OAuth2 scope of the FCM v1 API.
	FCMScope = "https://www.googleapis.com/auth/firebase.messaging"

	// fcmAssertionLife is the lifetime of the signed assertion (Google's
	// maximum).
	fcmAssertionLife = time.Hour
	// fcmTokenSlack: an access token is replaced this long before it
	// expires (at most a quarter of its life).
	fcmTokenSlack = 5 * time.Minute
)

// serviceAccount is the part of a Google service account JSON key that
// matters here.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// fcmProvider sends through the FCM HTTP v1 API, with an OAuth2 access
// token it gets by signing a JWT with the service account's key (RFC 7523).
type fcmProvider struct {
	sendURL string
	client  *http.Client
	now     func() time.Time
	token   *cachedToken
}

func newFCM(c Credentials, opts Options) (Provider, error) {
	var p problems
	raw := bytes.TrimSpace(c.ServiceAccount)
	if len(raw) > 0 && raw[0] == '"' {
		// The JSON file's text as a string.
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			raw = []byte(s)
		}
	}
	var sa serviceAccount
	if len(raw) == 0 || string(raw) == "null" {
		p.add("service_account", "missing (the service account JSON key from Google Cloud)")
		return nil, p.err()
	}
	if err := json.Unmarshal(raw, &sa); err != nil {
		p.add("service_account", "invalid JSON: %v", err)
		return nil, p.err()
	}
	if sa.Type != "" && sa.Type != "service_account" {
		p.add("service_account.type", "is %q, want \"service_account\" (a service account key, not the app's google-services.json)", sa.Type)
	}
	project := strings.TrimSpace(c.ProjectID)
	if project == "" {
		project = strings.TrimSpace(sa.ProjectID)
	}
	switch {
	case project == "":
		p.add("service_account.project_id", "missing")
	case strings.ContainsAny(project, "/?#% \t\r\n"):
		p.add("service_account.project_id", "%q is not a project ID", project)
	}
	email := strings.TrimSpace(sa.ClientEmail)
	if email == "" {
		p.add("service_account.client_email", "missing")
	}
	var key *rsa.PrivateKey
	if strings.TrimSpace(sa.PrivateKey) == "" {
		p.add("service_account.private_key", "missing")
	} else if k, err := parseRSAKey(sa.PrivateKey); err != nil {
		p.add("service_account.private_key", "%v", err)
	} else {
		key = k
	}
	tokenURI := strings.TrimSpace(sa.TokenURI)
	if tokenURI == "" {
		tokenURI = GoogleTokenURI
	} else {
		p.checkURL("service_account.token_uri", tokenURI, false)
	}
	base := FCMEndpoint
	if c.Endpoint != "" {
		p.checkURL("endpoint", c.Endpoint, false)
		base = strings.TrimRight(c.Endpoint, "/")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	f := &fcmProvider{
		sendURL: base + "/v1/projects/" + url.PathEscape(project) + "/messages:send",
		client:  httpClient(opts.HTTPClient, func() http.RoundTripper { return sharedTransport() }),
		now:     opts.Now,
	}
	header := struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid,omitempty"`
	}{"RS256", "JWT", sa.PrivateKeyID}
	sign := signRS256(key)
	f.token = newCachedToken(opts.Now, 0, func(ctx context.Context) (string, time.Time, error) {
		return f.fetchToken(ctx, tokenURI, email, header, sign)
	})
	return f, nil
}

// fetchToken exchanges a signed assertion for an access token.
func (f *fcmProvider) fetchToken(ctx context.Context, tokenURI, email string, header any, sign func([]byte) ([]byte, error)) (string, time.Time, error) {
	// Issued a little in the past, as Google's own libraries do, so a
	// clock slightly ahead of Google's is no problem.
	iat := f.now().Add(-10 * time.Second)
	claims := struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Iat   int64  `json:"iat"`
		Exp   int64  `json:"exp"`
	}{email, FCMScope, tokenURI, iat.Unix(), iat.Add(fcmAssertionLife).Unix()}
	assertion, err := signJWT(header, claims, sign)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fcm: signing the assertion: %w", err)
	}
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	}
	req, err := http.NewRequest(http.MethodPost, tokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fcm: token endpoint: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	r, err := do(ctx, f.client, req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fcm: token endpoint: %w", err)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(r.body, &body)
	switch {
	case r.status == http.StatusOK && body.AccessToken != "":
	case r.status == http.StatusOK:
		return "", time.Time{}, fmt.Errorf("fcm: token endpoint: no access_token in %s", snippet(r.body))
	case temporary(r.status):
		return "", time.Time{}, retryError(r, f.now(), fmt.Errorf("fcm: token endpoint: %s", snippet(r.body)))
	case body.Error != "":
		// invalid_grant, invalid_client, unauthorized_client...: the
		// service account, its key or its clock is wrong.
		return "", time.Time{}, fmt.Errorf("fcm: token endpoint: %w: %s: %s", ErrCredentialsRejected, body.Error, body.Description)
	default:
		return "", time.Time{}, fmt.Errorf("fcm: token endpoint: status %d: %s", r.status, snippet(r.body))
	}
	if body.TokenType != "" && !strings.EqualFold(body.TokenType, "Bearer") {
		return "", time.Time{}, fmt.Errorf("fcm: token endpoint: token_type %q, want Bearer", body.TokenType)
	}
	life := time.Duration(body.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	return body.AccessToken, f.now().Add(life - min(fcmTokenSlack, life/4)), nil
}

// The FCM v1 message, as much of it as Parley sets.
type (
	fcmRequest struct {
		Message fcmMessage `json:"message"`
	}
	fcmMessage struct {
		Token        string            `json:"token"`
		Notification *fcmNotification  `json:"notification,omitempty"`
		Data         map[string]string `json:"data,omitempty"`
		Android      *fcmAndroid       `json:"android,omitempty"`
		APNs         *fcmAPNs          `json:"apns,omitempty"`
	}
	fcmNotification struct {
		Title string `json:"title,omitempty"`
		Body  string `json:"body,omitempty"`
	}
	fcmAndroid struct {
		CollapseKey  string                  `json:"collapse_key,omitempty"`
		Priority     string                  `json:"priority,omitempty"`
		TTL          string                  `json:"ttl,omitempty"`
		Notification *fcmAndroidNotification `json:"notification,omitempty"`
	}
	fcmAndroidNotification struct {
		Sound string `json:"sound,omitempty"`
		Tag   string `json:"tag,omitempty"`
	}
	fcmAPNs struct {
		Headers map[string]string `json:"headers,omitempty"`
		Payload map[string]any    `json:"payload,omitempty"`
	}
)

// message builds the request body for n:
//
//	{"message":{"token":…,
//	  "notification":{"title","body"},          (when either is set)
//	  "data":{…},                               (Notification.Data)
//	  "android":{"collapse_key","priority":"HIGH","ttl":"3600s",
//	             "notification":{"sound","tag"}},
//	  "apns":{"headers":{"apns-push-type","apns-priority","apns-collapse-id","apns-expiration"},
//	          "payload":{"aps":{"badge","sound",…},…}}}}
//
// Without a title and a body it is a data message: no notification,
// Android priority NORMAL, and for iOS a background push
// (content-available). The apns payload follows apnsPayload, so
// em_apns_ext works through FCM too; the Android sound and tag (the
// collapse key: a newer notification replaces the shown one) are set for
// notifications only.
func (f *fcmProvider) message(n Notification) ([]byte, error) {
	m := fcmMessage{Token: n.Token, Data: n.Data}
	notify := n.Title != "" || n.Body != ""
	android := &fcmAndroid{CollapseKey: n.CollapseKey, Priority: "NORMAL"}
	if notify {
		m.Notification = &fcmNotification{Title: n.Title, Body: n.Body}
		sound := n.Sound
		if sound == "" {
			sound = "default"
		}
		android.Priority = "HIGH"
		android.Notification = &fcmAndroidNotification{Sound: sound, Tag: n.CollapseKey}
	}
	if n.TTL > 0 {
		android.TTL = fcmDuration(n.TTL)
	}
	m.Android = android
	payload, alert, err := apnsPayload(n, true)
	if err != nil {
		return nil, err
	}
	headers := map[string]string{"apns-push-type": "background", "apns-priority": "5"}
	if alert {
		headers["apns-push-type"], headers["apns-priority"] = "alert", "10"
	}
	if n.CollapseKey != "" {
		headers["apns-collapse-id"] = collapseID(n.CollapseKey)
	}
	if n.TTL > 0 {
		headers["apns-expiration"] = strconv.FormatInt(f.now().Add(n.TTL).Unix(), 10)
	}
	m.APNs = &fcmAPNs{Headers: headers, Payload: payload}
	return json.Marshal(fcmRequest{Message: m})
}

// fcmDuration formats d as a protobuf Duration in JSON ("3600s", "1.5s").
func fcmDuration(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// Send posts n to messages:send, refreshing the access token once if FCM
// answers 401.
func (f *fcmProvider) Send(ctx context.Context, n Notification) error {
	if n.Token == "" {
		return fmt.Errorf("fcm: %w: empty", ErrInvalidToken)
	}
	body, err := f.message(n)
	if err != nil {
		return fmt.Errorf("fcm: %w", err)
	}
	tok, err := f.token.get(ctx, "")
	if err != nil {
		return err
	}
	r, err := f.post(ctx, tok, body)
	if err != nil {
		return err
	}
	if r.status == http.StatusUnauthorized {
		if tok, err = f.token.get(ctx, tok); err != nil {
			return err
		}
		if r, err = f.post(ctx, tok, body); err != nil {
			return err
		}
		if r.status == http.StatusUnauthorized {
			return fmt.Errorf("fcm: %w: %s", ErrCredentialsRejected, fcmErrorOf(r).Error.Message)
		}
	}
	return f.result(r)
}

func (f *fcmProvider) post(ctx context.Context, tok string, body []byte) (*response, error) {
	req, err := http.NewRequest(http.MethodPost, f.sendURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	r, err := do(ctx, f.client, req)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	return r, nil
}

// fcmError is Google's error body.
type fcmError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type            string `json:"@type"`
			ErrorCode       string `json:"errorCode"`
			FieldViolations []struct {
				Field       string `json:"field"`
				Description string `json:"description"`
			} `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

func fcmErrorOf(r *response) fcmError {
	var e fcmError
	if json.Unmarshal(r.body, &e) != nil || e.Error.Message == "" {
		e.Error.Message = snippet(r.body)
	}
	return e
}

// errorCode is the FcmError code in the details ("UNREGISTERED"...).
func (e fcmError) errorCode() string {
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			return d.ErrorCode
		}
	}
	return ""
}

// badToken reports a 400 about the registration token itself.
func (e fcmError) badToken() bool {
	if strings.Contains(strings.ToLower(e.Error.Message), "registration token") {
		return true
	}
	for _, d := range e.Error.Details {
		for _, v := range d.FieldViolations {
			if v.Field == "message.token" {
				return true
			}
		}
	}
	return false
}

// result maps FCM's answer to Send's error.
func (f *fcmProvider) result(r *response) error {
	if r.status == http.StatusOK {
		return nil
	}
	e := fcmErrorOf(r)
	code := e.errorCode()
	switch {
	case r.status == http.StatusNotFound && code == "UNREGISTERED":
		return fmt.Errorf("fcm: %w (UNREGISTERED)", ErrInvalidToken)
	case r.status == http.StatusBadRequest && (e.Error.Status == "INVALID_ARGUMENT" || code == "INVALID_ARGUMENT") && e.badToken():
		return fmt.Errorf("fcm: %w: %s", ErrInvalidToken, e.Error.Message)
	case temporary(r.status):
		return retryError(r, f.now(), errors.New("fcm: "+e.Error.Message))
	default:
		what := e.Error.Status
		if code != "" {
			what = code
		}
		return fmt.Errorf("fcm: status %d %s: %s", r.status, what, e.Error.Message)
	}
}
