package parleyserver

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// AddContact makes owner and friend friends at once, with no request.
func (c *Client) AddContact(ctx context.Context, owner, friend string) error {
	if err := need("owner", owner, "friend", friend); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPost, retry: true,
		path: "/users/" + seg(owner) + "/contacts/users/" + seg(friend)}, nil)
}

// RemoveContact ends a friendship.
func (c *Client) RemoveContact(ctx context.Context, owner, friend string) error {
	if err := need("owner", owner, "friend", friend); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete,
		path: "/users/" + seg(owner) + "/contacts/users/" + seg(friend)}, nil)
}

// SetContactRemark sets owner's remark (≤100 characters) on a friend
// (PUT /users/{owner}/contacts/users/{friend}; the server also answers it
// under /user/).
func (c *Client) SetContactRemark(ctx context.Context, owner, friend, remark string) error {
	if err := need("owner", owner, "friend", friend); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPut, path: "/users/" + seg(owner) + "/contacts/users/" + seg(friend),
		body: map[string]string{"remark": remark}}, nil)
}

// Contact is a friend and owner's remark on them.
type Contact struct {
	Username string  `json:"username"`
	Remark   *string `json:"remark,omitempty"`
}

// ContactPage is one page of a user's friends.
type ContactPage struct {
	Contacts []Contact
	Cursor   string
}

// Contacts lists a page of owner's friends (limit 1..50) with their
// remarks (GET /users/{owner}/contacts; also under /user/).
func (c *Client) Contacts(ctx context.Context, owner string, p Page) (*ContactPage, error) {
	if err := need("owner", owner); err != nil {
		return nil, err
	}
	q := p.query()
	q.Set("needReturnRemark", "true")
	var d struct {
		Contacts []Contact `json:"contacts"`
	}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/users/" + seg(owner) + "/contacts", query: q}, &d)
	if err != nil {
		return nil, err
	}
	return &ContactPage{Contacts: d.Contacts, Cursor: e.Cursor}, nil
}

// AllContacts returns the usernames of all of owner's friends.
func (c *Client) AllContacts(ctx context.Context, owner string) ([]string, error) {
	if err := need("owner", owner); err != nil {
		return nil, err
	}
	var out []string
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/users/" + seg(owner) + "/contacts/users"}, &out)
	return out, err
}

// ImportResult sorts the users of ImportContacts.
type ImportResult struct {
	Success        []string `json:"success"`
	NotExistFailed []string `json:"NotExistFailed"`
	MaxLimitFailed []string `json:"maxLimitFailed"`
	UnknownFailed  []string `json:"UnKnowFailed"`
}

// ImportContacts makes 1..10 users owner's friends at once.
func (c *Client) ImportContacts(ctx context.Context, owner string, usernames []string) (*ImportResult, error) {
	if err := need("owner", owner); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 10); err != nil {
		return nil, err
	}
	var out ImportResult
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/users/" + seg(owner) + "/contacts/import", retry: true,
		body: map[string]any{"usernames": usernames}}, &out)
	return &out, err
}

// RequestContacts sends friend requests from username to 1..10 users. The
// server takes it only with username's own token: pass it as userToken
// (see UserToken).
func (c *Client) RequestContacts(ctx context.Context, userToken, username string, to []string, reason string) error {
	if err := need("user token", userToken, "username", username); err != nil {
		return err
	}
	if err := needList("usernames", to, 10); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPost, path: "/users/" + seg(username) + "/contacts/apply",
		bearer: userToken, body: map[string]any{"usernames": to, "reason": reason}}, nil)
}

// AnswerContactRequest accepts (or declines) from's friend request to
// username, with username's own token.
func (c *Client) AnswerContactRequest(ctx context.Context, userToken, username, from string, accept bool) error {
	if err := need("user token", userToken, "username", username, "from", from); err != nil {
		return err
	}
	verb := "/contacts/decline/users/"
	if accept {
		verb = "/contacts/accept/users/"
	}
	return c.call(ctx, &request{method: http.MethodPost, path: "/users/" + seg(username) + verb + seg(from),
		bearer: userToken}, nil)
}

// Block adds 1..100 users to owner's block list; the result lists those
// blocked, Failed the unknown users.
func (c *Client) Block(ctx context.Context, owner string, usernames []string) (blocked []string, failed map[string]string, err error) {
	if err := need("owner", owner); err != nil {
		return nil, nil, err
	}
	if err := needList("usernames", usernames, 100); err != nil {
		return nil, nil, err
	}
	e, err := c.data(ctx, &request{method: http.MethodPost, path: "/users/" + seg(owner) + "/blocks/users", retry: true,
		body: map[string]any{"usernames": usernames}}, &blocked)
	if err != nil {
		return nil, nil, err
	}
	return blocked, e.Failed, nil
}

// BlockedPage is one page of a block list.
type BlockedPage struct {
	Usernames []string
	Cursor    string
}

// Blocked lists owner's block list (p.Limit 1..50 as pageSize; 0: up to
// 500 at once).
func (c *Client) Blocked(ctx context.Context, owner string, p Page) (*BlockedPage, error) {
	if err := need("owner", owner); err != nil {
		return nil, err
	}
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("pageSize", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	out := &BlockedPage{}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/users/" + seg(owner) + "/blocks/users", query: q}, &out.Usernames)
	if err != nil {
		return nil, err
	}
	out.Cursor = e.Cursor
	return out, nil
}

// Unblock removes a user from owner's block list.
func (c *Client) Unblock(ctx context.Context, owner, blocked string) error {
	if err := need("owner", owner, "blocked", blocked); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete,
		path: "/users/" + seg(owner) + "/blocks/users/" + seg(blocked)}, nil)
}

// SetUserAttributes merges attributes into a user's (an empty value
// removes a key) and returns the pairs set.
func (c *Client) SetUserAttributes(ctx context.Context, username string, attrs map[string]string) (map[string]string, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	if len(attrs) == 0 {
		return nil, invalid("attributes are empty")
	}
	form := url.Values{}
	for k, v := range attrs {
		if k == "" {
			return nil, invalid("an attribute key is empty")
		}
		form.Set(k, v)
	}
	var out map[string]string
	_, err := c.data(ctx, &request{method: http.MethodPut, path: "/metadata/user/" + seg(username), form: form}, &out)
	return out, err
}

// UserAttributes returns a user's attributes.
func (c *Client) UserAttributes(ctx context.Context, username string) (map[string]string, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	var out map[string]string
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/metadata/user/" + seg(username)}, &out)
	return out, err
}

// UsersAttributes returns the attributes of 1..100 users, only the keys
// listed (all if none); unknown users are left out.
func (c *Client) UsersAttributes(ctx context.Context, usernames []string, keys ...string) (map[string]map[string]string, error) {
	if err := needList("usernames", usernames, 100); err != nil {
		return nil, err
	}
	body := map[string]any{"targets": usernames}
	if len(keys) > 0 {
		body["properties"] = keys
	}
	var out map[string]map[string]string
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/metadata/user/get", retry: true, body: body}, &out)
	return out, err
}

// DeleteUserAttributes deletes all of a user's attributes.
func (c *Client) DeleteUserAttributes(ctx context.Context, username string) error {
	if err := need("username", username); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/metadata/user/" + seg(username)}, nil)
}

// UserAttributesCapacity returns the bytes the app's user attributes use.
func (c *Client) UserAttributesCapacity(ctx context.Context) (int64, error) {
	var n int64
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/metadata/user/capacity"}, &n)
	return n, err
}

// Presence is a user's presence (Easemob's shape).
type Presence struct {
	UID      string `json:"uid"`
	LastTime int64  `json:"last_time"`
	Expiry   int64  `json:"expiry,omitempty"`
	// Ext is the custom status text.
	Ext string `json:"ext"`
	// Status maps each online resource to "1".
	Status map[string]string `json:"status"`
}

type presenceResult[T any] struct {
	Result T `json:"result"`
}

// SetPresence sets a user's custom status text (≤1 KB) for a resource;
// status is Easemob's digits ("0", "1" or custom).
func (c *Client) SetPresence(ctx context.Context, username, resource, status, ext string) error {
	if err := need("username", username, "resource", resource, "status", status); err != nil {
		return err
	}
	if _, err := strconv.ParseUint(status, 10, 32); err != nil {
		return invalid("status must be digits, not %q", status)
	}
	return c.call(ctx, &request{method: http.MethodPost, retry: true,
		path: "/users/" + seg(username) + "/presence/" + seg(resource) + "/" + seg(status),
		body: map[string]string{"ext": ext}}, nil)
}

// SubscribePresence subscribes username to the presence of 1..100 users
// for expiry seconds (≤2,592,000) and returns their presence now.
func (c *Client) SubscribePresence(ctx context.Context, username string, usernames []string, expiry int64) ([]Presence, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 100); err != nil {
		return nil, err
	}
	if expiry < 1 || expiry > 2592000 {
		return nil, invalid("expiry must be 1..2592000 seconds, not %d", expiry)
	}
	var out presenceResult[[]Presence]
	err := c.call(ctx, &request{method: http.MethodPost, retry: true,
		path: "/users/" + seg(username) + "/presence/" + strconv.FormatInt(expiry, 10),
		body: map[string]any{"usernames": usernames}}, &out)
	return out.Result, err
}

// GetPresence returns the presence of 1..100 users (username is whose
// path is used; any user of the app).
func (c *Client) GetPresence(ctx context.Context, username string, usernames []string) ([]Presence, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 100); err != nil {
		return nil, err
	}
	var out presenceResult[[]Presence]
	err := c.call(ctx, &request{method: http.MethodPost, retry: true, path: "/users/" + seg(username) + "/presence",
		body: map[string]any{"usernames": usernames}}, &out)
	return out.Result, err
}

// UnsubscribePresence ends username's subscriptions to the users listed.
func (c *Client) UnsubscribePresence(ctx context.Context, username string, usernames []string) error {
	if err := need("username", username); err != nil {
		return err
	}
	if err := needList("usernames", usernames, 100); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/users/" + seg(username) + "/presence", body: usernames}, nil)
}

// PresenceSubscription is one of a user's presence subscriptions.
type PresenceSubscription struct {
	UID    string `json:"uid"`
	Expiry int64  `json:"expiry"`
}

// PresenceSubscriptions lists a page of username's subscriptions
// (size 1..500) and the total.
func (c *Client) PresenceSubscriptions(ctx context.Context, username string, p PageNum) ([]PresenceSubscription, int, error) {
	if err := need("username", username); err != nil {
		return nil, 0, err
	}
	var out presenceResult[struct {
		Total   int                    `json:"totalnum"`
		Sublist []PresenceSubscription `json:"sublist"`
	}]
	err := c.call(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/presence/sublist",
		query: p.query("pageNum", "pageSize")}, &out)
	return out.Result.Sublist, out.Result.Total, err
}

// GlobalMute sets a user's app-wide mutes per chat type, in seconds: 0
// lifts, -1 is forever; nil leaves a type unchanged.
type GlobalMute struct {
	Username  string `json:"username"`
	Chat      *int64 `json:"chat,omitempty"`
	GroupChat *int64 `json:"groupchat,omitempty"`
	ChatRoom  *int64 `json:"chatroom,omitempty"`
}

// MuteStatus is a user's global mutes: seconds left (-1 forever, 0 none).
type MuteStatus struct {
	Username  string `json:"userid"`
	Chat      int64  `json:"chat"`
	GroupChat int64  `json:"groupchat"`
	ChatRoom  int64  `json:"chatroom"`
	UnixTime  int64  `json:"unixtime"`
}

// SetGlobalMute sets a user's global mutes (POST /mutes; safe to repeat).
func (c *Client) SetGlobalMute(ctx context.Context, m GlobalMute) error {
	if err := need("username", m.Username); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPost, path: "/mutes", retry: true, body: m}, nil)
}

// GlobalMuteStatus returns a user's global mutes.
func (c *Client) GlobalMuteStatus(ctx context.Context, username string) (*MuteStatus, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	var out MuteStatus
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/mutes/" + seg(username)}, &out)
	return &out, err
}

// MutedUser is a user muted now: seconds left per muted chat type.
type MutedUser struct {
	Username  string `json:"username"`
	Chat      int64  `json:"chat,omitempty"`
	GroupChat int64  `json:"groupchat,omitempty"`
	ChatRoom  int64  `json:"chatroom,omitempty"`
}

// GlobalMutes lists a page (size 1..50) of the users muted now.
func (c *Client) GlobalMutes(ctx context.Context, p PageNum) ([]MutedUser, error) {
	var d struct {
		Data []MutedUser `json:"data"`
	}
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/mutes", query: p.query("pageNum", "pageSize")}, &d)
	return d.Data, err
}
