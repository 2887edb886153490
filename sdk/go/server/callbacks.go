package parleyserver

import (
	"context"
	"encoding/json"
	"net/http"
)

// Callback event types (docs/callbacks.md).
const (
	CallbackPreSend     = "pre_send"
	CallbackChat        = "chat"
	CallbackOffline     = "chat_offline"
	CallbackRecall      = "recall"
	CallbackLogin       = "login"
	CallbackLogout      = "logout"
	CallbackGroupMember = "group_member"
	CallbackRoomMember  = "room_member"
)

// CallbackRule is one of the app's callback endpoints as the server shows
// it (never its secret).
type CallbackRule struct {
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	TimeoutMS int64    `json:"timeout_ms,omitempty"` // pre_send
	FailOpen  *bool    `json:"fail_open,omitempty"`  // pre_send
	Created   int64    `json:"created"`
	Updated   int64    `json:"updated"`
}

// CallbackRuleSpec sets a rule. On update, empty or nil fields keep their
// values (Secret too).
type CallbackRuleSpec struct {
	URL       string   `json:"url,omitempty"`
	Secret    string   `json:"secret,omitempty"`
	Events    []string `json:"events,omitempty"`
	TimeoutMS *int64   `json:"timeout_ms,omitempty"`
	FailOpen  *bool    `json:"fail_open,omitempty"`
}

// FailedCallback is a delivery that used up its attempts.
type FailedCallback struct {
	ID        string          `json:"id"`
	Rule      string          `json:"rule"`
	Event     string          `json:"event"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"last_error"`
	Created   int64           `json:"created"`
	Body      json.RawMessage `json:"body,omitempty"`
}

// FailedCallbackPage is a page of failed deliveries, by event ID.
type FailedCallbackPage struct {
	Deliveries []FailedCallback
	Cursor     string
}

func (c *Client) oneRule(ctx context.Context, r *request) (*CallbackRule, error) {
	e, err := c.envelope(ctx, r)
	if err != nil {
		return nil, err
	}
	var list []CallbackRule
	if err := e.DecodeEntities(&list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, invalid("the server returned no rule")
	}
	return &list[0], nil
}

// CreateCallback adds a callback rule.
func (c *Client) CreateCallback(ctx context.Context, name string, spec CallbackRuleSpec) (*CallbackRule, error) {
	if err := need("name", name, "url", spec.URL, "secret", spec.Secret); err != nil {
		return nil, err
	}
	body := struct {
		Name string `json:"name"`
		CallbackRuleSpec
	}{name, spec}
	return c.oneRule(ctx, &request{method: http.MethodPost, path: "/callbacks", body: body})
}

// UpdateCallback changes a callback rule.
func (c *Client) UpdateCallback(ctx context.Context, name string, spec CallbackRuleSpec) (*CallbackRule, error) {
	if err := need("name", name); err != nil {
		return nil, err
	}
	return c.oneRule(ctx, &request{method: http.MethodPut, path: "/callbacks/" + seg(name), body: spec})
}

// Callback returns one callback rule.
func (c *Client) Callback(ctx context.Context, name string) (*CallbackRule, error) {
	if err := need("name", name); err != nil {
		return nil, err
	}
	return c.oneRule(ctx, &request{method: http.MethodGet, path: "/callbacks/" + seg(name)})
}

// Callbacks lists the app's callback rules by name.
func (c *Client) Callbacks(ctx context.Context) ([]CallbackRule, error) {
	e, err := c.envelope(ctx, &request{method: http.MethodGet, path: "/callbacks"})
	if err != nil {
		return nil, err
	}
	var list []CallbackRule
	return list, e.DecodeEntities(&list)
}

// DeleteCallback deletes a callback rule with its pending and failed
// deliveries.
func (c *Client) DeleteCallback(ctx context.Context, name string) error {
	if err := need("name", name); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/callbacks/" + seg(name)}, nil)
}

// FailedCallbacks lists failed deliveries (Limit 1..100).
func (c *Client) FailedCallbacks(ctx context.Context, p Page) (*FailedCallbackPage, error) {
	out := &FailedCallbackPage{}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/callbacks/storage/info", query: p.query()}, &out.Deliveries)
	if err != nil {
		return nil, err
	}
	out.Cursor = e.Cursor
	return out, nil
}

// RetryCallbacks makes failed deliveries due again: those of event id, or
// all when id is "". It returns how many.
func (c *Client) RetryCallbacks(ctx context.Context, id string) (int64, error) {
	var out struct {
		Requeued int64 `json:"requeued"`
	}
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/callbacks/storage/retry", body: map[string]string{"id": id}}, &out)
	return out.Requeued, err
}
