// Package provider sends push notifications to the services that reach
// devices: Firebase Cloud Messaging (HTTP v1), Apple Push Notification
// service (HTTP/2, token auth), a generic webhook, and a log sink for
// development. Each is a light client of its own (no vendor SDK). The push
// worker (internal/push) decides what to send and when; a Provider only
// sends one notification and says how it went.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kinds of provider (a notifier's "provider" field).
const (
	FCM     = "fcm"
	APNs    = "apns"
	Webhook = "webhook"
	Log     = "log"
)

// Notification is one push to one device.
type Notification struct {
	Token       string            // the device token the binding holds
	Title       string            // may be empty (generic display style)
	Body        string            //
	Badge       int               // the user's unread total; -1: leave unchanged
	Sound       string            // "" for the default sound
	CollapseKey string            // em_push_collapse_key: newer replaces older
	Data        map[string]string // custom data for the app (message ID, conversation, sender, em_push_ext.custom ...)
	APNs        json.RawMessage   // em_apns_ext: merged into the APNs payload's aps / top level
	TTL         time.Duration     // 0: the provider's default
}

// Provider sends notifications through one push service with one set of
// credentials. Implementations are safe for concurrent use.
type Provider interface {
	// Send delivers one notification. Errors: ErrInvalidToken when the
	// service says the token is dead (the binding should go),
	// *RetryError for throttling and server errors (try again later),
	// anything else is permanent for this notification.
	Send(ctx context.Context, n Notification) error
}

// ErrInvalidToken: the device token is unregistered or malformed.
var ErrInvalidToken = errors.New("push: invalid device token")

// RetryError is a temporary failure (429, 5xx, network); After is the
// service's Retry-After when it gave one.
type RetryError struct {
	Status int
	After  time.Duration
	Err    error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("push: temporary failure (status %d, retry after %s): %v", e.Status, e.After, e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// Credentials configure one provider; which fields apply depends on Kind.
// They are validated by New (a bad key, JSON or URL is an error naming the
// field) and stored encrypted by the caller.
type Credentials struct {
	Kind string `json:"provider"`
	// FCM: the service account JSON as downloaded from Google Cloud
	// (type, project_id, private_key, client_email, token_uri); ProjectID
	// overrides the JSON's project_id.
	ServiceAccount json.RawMessage `json:"service_account,omitempty"`
	ProjectID      string          `json:"project_id,omitempty"`
	// APNs: the .p8 key (PEM), its key ID, the team ID, the app's bundle ID
	// (apns-topic), and whether to use the sandbox.
	KeyP8   string `json:"key_p8,omitempty"`
	KeyID   string `json:"key_id,omitempty"`
	TeamID  string `json:"team_id,omitempty"`
	Topic   string `json:"topic,omitempty"`
	Sandbox bool   `json:"sandbox,omitempty"`
	// Webhook: where to POST, and a secret to sign the body with
	// (HMAC-SHA256, header X-Parley-Signature).
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"`
	// Endpoint overrides the service's base URL (tests, proxies); empty:
	// the real service.
	Endpoint string `json:"endpoint,omitempty"`
}
