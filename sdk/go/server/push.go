package parleyserver

import (
	"context"
	"encoding/json"
	"net/http"
)

// Binding is a device's push token.
type Binding struct {
	DeviceID     string `json:"device_id"`
	NotifierName string `json:"notifier_name"`
	DeviceToken  string `json:"device_token"`
	Updated      int64  `json:"updated,omitempty"`
}

// BindDevice stores a device's push token (an empty token or notifier
// unbinds it) and returns the user's bindings.
func (c *Client) BindDevice(ctx context.Context, username string, b Binding) ([]Binding, error) {
	if err := need("username", username, "device_id", b.DeviceID); err != nil {
		return nil, err
	}
	b.Updated = 0
	e, err := c.envelope(ctx, &request{method: http.MethodPut, path: "/users/" + seg(username) + "/push/binding", body: b})
	if err != nil {
		return nil, err
	}
	var out []Binding
	return out, e.DecodeEntities(&out)
}

// Bindings lists a user's push bindings.
func (c *Client) Bindings(ctx context.Context, username string) ([]Binding, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	e, err := c.envelope(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/push/binding"})
	if err != nil {
		return nil, err
	}
	var out []Binding
	return out, e.DecodeEntities(&out)
}

// Chat types of notification settings.
const (
	// NotifyUser: key is a peer's username, or the user's own name for
	// their default.
	NotifyUser = "user"
	// NotifyGroup: key is a group ID.
	NotifyGroup = "chatgroup"
)

// NotificationSetting is a notification mode. In a change nil fields are
// unchanged.
type NotificationSetting struct {
	// Type is "DEFAULT", "ALL", "AT" (mentions only) or "NONE".
	Type *string `json:"type,omitempty"`
	// IgnoreInterval is quiet hours "H:M-H:M" in UTC ("" clears).
	IgnoreInterval *string `json:"ignoreInterval,omitempty"`
	// IgnoreDuration is milliseconds to stay silent (≤604,800,000); in
	// answers, what is left.
	IgnoreDuration *int64 `json:"ignoreDuration,omitempty"`
}

// Notification is a notification mode as the server answers it.
type Notification struct {
	Type           string `json:"type"`
	IgnoreInterval string `json:"ignoreInterval"`
	IgnoreDuration int64  `json:"ignoreDuration"`
}

func checkChatType(chatType, key string) error {
	if chatType != NotifyUser && chatType != NotifyGroup {
		return invalid("chat type must be %q or %q, not %q", NotifyUser, NotifyGroup, chatType)
	}
	return need("key", key)
}

// SetNotification sets a user's notification mode for a peer, a group or
// (chatType NotifyUser, key the user's own name) their default.
func (c *Client) SetNotification(ctx context.Context, username, chatType, key string, s NotificationSetting) (*Notification, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	if err := checkChatType(chatType, key); err != nil {
		return nil, err
	}
	if s.IgnoreDuration != nil && (*s.IgnoreDuration < 0 || *s.IgnoreDuration > 604_800_000) {
		return nil, invalid("ignoreDuration must be 0..604800000 ms")
	}
	var out Notification
	_, err := c.data(ctx, &request{method: http.MethodPut,
		path: "/users/" + seg(username) + "/notification/" + chatType + "/" + seg(key), body: s}, &out)
	return &out, err
}

// Notification returns a user's notification mode for a peer or group.
func (c *Client) Notification(ctx context.Context, username, chatType, key string) (*Notification, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	if err := checkChatType(chatType, key); err != nil {
		return nil, err
	}
	var out Notification
	_, err := c.data(ctx, &request{method: http.MethodGet,
		path: "/users/" + seg(username) + "/notification/" + chatType + "/" + seg(key)}, &out)
	return &out, err
}

// PushPreferences are a user's push language and template.
type PushPreferences struct {
	Language     string `json:"language"`
	TemplateName string `json:"templateName"`
}

// SetPushLanguage stores a user's push language (pushes are not
// translated).
func (c *Client) SetPushLanguage(ctx context.Context, username, language string) error {
	if err := need("username", username); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPut, path: "/users/" + seg(username) + "/notification/language",
		body: map[string]string{"translationLanguage": language}}, nil)
}

// SetPushTemplate picks the push template of a user's notifications.
func (c *Client) SetPushTemplate(ctx context.Context, username, template string) error {
	if err := need("username", username); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPut, path: "/users/" + seg(username) + "/notification/template",
		body: map[string]string{"templateName": template}}, nil)
}

// PushPreferences returns a user's push language and template (GET
// /users/{u}/notification/language; the server answers the same at
// …/notification/template).
func (c *Client) PushPreferences(ctx context.Context, username string) (*PushPreferences, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	var out PushPreferences
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/notification/language"}, &out)
	return &out, err
}

// PushTemplate is a push template: patterns take {0}, {1} …
type PushTemplate struct {
	Name           string `json:"name"`
	TitlePattern   string `json:"title_pattern"`
	ContentPattern string `json:"content_pattern"`
	CreateAt       int64  `json:"createAt,omitempty"`
	UpdateAt       int64  `json:"updateAt,omitempty"`
}

// PutPushTemplate creates or replaces a template (POST
// /notification/template; safe to repeat).
func (c *Client) PutPushTemplate(ctx context.Context, t PushTemplate) (*PushTemplate, error) {
	if err := need("name", t.Name); err != nil {
		return nil, err
	}
	t.CreateAt, t.UpdateAt = 0, 0
	var out PushTemplate
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/notification/template", body: t, retry: true}, &out)
	return &out, err
}

// GetPushTemplate returns a template.
func (c *Client) GetPushTemplate(ctx context.Context, name string) (*PushTemplate, error) {
	if err := need("name", name); err != nil {
		return nil, err
	}
	var out PushTemplate
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/notification/template/" + seg(name)}, &out)
	return &out, err
}

// DeletePushTemplate deletes a template.
func (c *Client) DeletePushTemplate(ctx context.Context, name string) error {
	if err := need("name", name); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/notification/template/" + seg(name)}, nil)
}

// NotifierCredentials configure a push notifier (docs/operations.md).
type NotifierCredentials struct {
	// Provider is "fcm", "apns" or "webhook".
	Provider string `json:"provider"`
	// FCM: the service account JSON; ProjectID overrides its project_id.
	ServiceAccount json.RawMessage `json:"service_account,omitempty"`
	ProjectID      string          `json:"project_id,omitempty"`
	// APNs: the .p8 key (PEM), key ID, team ID, bundle ID, sandbox.
	KeyP8   string `json:"key_p8,omitempty"`
	KeyID   string `json:"key_id,omitempty"`
	TeamID  string `json:"team_id,omitempty"`
	Topic   string `json:"topic,omitempty"`
	Sandbox bool   `json:"sandbox,omitempty"`
	// Webhook: where to POST and the HMAC-SHA256 signing secret.
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"`
	// Endpoint overrides the service's base URL.
	Endpoint string `json:"endpoint,omitempty"`
}

// Notifier is a stored notifier; secrets are never returned.
type Notifier struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Summary  string `json:"summary"`
	Created  int64  `json:"created"`
	Updated  int64  `json:"updated"`
}

// PutNotifier creates or replaces a notifier.
func (c *Client) PutNotifier(ctx context.Context, name string, cred NotifierCredentials) (*Notifier, error) {
	if err := need("name", name, "provider", cred.Provider); err != nil {
		return nil, err
	}
	var out Notifier
	_, err := c.data(ctx, &request{method: http.MethodPut, path: "/push/notifiers/" + seg(name), body: cred}, &out)
	return &out, err
}

// Notifiers lists the app's notifiers.
func (c *Client) Notifiers(ctx context.Context) ([]Notifier, error) {
	var out []Notifier
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/push/notifiers"}, &out)
	return out, err
}

// DeleteNotifier deletes a notifier.
func (c *Client) DeleteNotifier(ctx context.Context, name string) error {
	if err := need("name", name); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/push/notifiers/" + seg(name)}, nil)
}
