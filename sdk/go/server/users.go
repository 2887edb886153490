package parleyserver

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Token is the answer of POST /{org}/{app}/token.
type Token struct {
	AccessToken string `json:"access_token"`
	// ExpiresIn is the lifetime in seconds; 0: never expires.
	ExpiresIn int64 `json:"expires_in"`
	// Application is the app's UUID (client_credentials).
	Application string `json:"application,omitempty"`
	// User is the signed-in user (password and inherit grants).
	User *User `json:"user,omitempty"`
}

type tokenRequest struct {
	GrantType      string `json:"grant_type"`
	ClientID       string `json:"client_id,omitempty"`
	ClientSecret   string `json:"client_secret,omitempty"`
	Username       string `json:"username,omitempty"`
	Password       string `json:"password,omitempty"`
	AutoCreateUser bool   `json:"autoCreateUser,omitempty"`
	TTL            *int64 `json:"ttl,omitempty"`
}

func ttlSeconds(ttl time.Duration) *int64 {
	if ttl <= 0 {
		return nil
	}
	s := int64((ttl + time.Second - 1) / time.Second)
	return &s
}

// ClientCredentialsToken gets a new app token with the Client's
// credentials (ttl 0: the server default). Calls get and refresh the app
// token themselves; use this to hand a token to another program.
func (c *Client) ClientCredentialsToken(ctx context.Context, ttl time.Duration) (*Token, error) {
	var t Token
	err := c.call(ctx, &request{method: http.MethodPost, path: "/token", noAuth: true, retry: true,
		body: tokenRequest{GrantType: "client_credentials", ClientID: c.cfg.ClientID,
			ClientSecret: c.cfg.ClientSecret, TTL: ttlSeconds(ttl)}}, &t)
	return &t, err
}

// PasswordToken signs a user in with a password (ttl 0: the server
// default).
func (c *Client) PasswordToken(ctx context.Context, username, password string, ttl time.Duration) (*Token, error) {
	if err := need("username", username, "password", password); err != nil {
		return nil, err
	}
	var t Token
	err := c.call(ctx, &request{method: http.MethodPost, path: "/token", noAuth: true, retry: true,
		body: tokenRequest{GrantType: "password", Username: username, Password: password, TTL: ttlSeconds(ttl)}}, &t)
	return &t, err
}

// UserToken gets a token for a user without their password (the inherit
// grant, with the app token); autoCreate creates a missing user.
func (c *Client) UserToken(ctx context.Context, username string, autoCreate bool, ttl time.Duration) (*Token, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	var t Token
	err := c.call(ctx, &request{method: http.MethodPost, path: "/token", retry: true,
		body: tokenRequest{GrantType: "inherit", Username: username, AutoCreateUser: autoCreate, TTL: ttlSeconds(ttl)}}, &t)
	return &t, err
}

// User is Easemob's user entity.
type User struct {
	UUID                     string `json:"uuid"`
	Type                     string `json:"type"`
	Created                  int64  `json:"created"`
	Modified                 int64  `json:"modified"`
	Username                 string `json:"username"`
	Activated                bool   `json:"activated"`
	Nickname                 string `json:"nickname,omitempty"`
	NotificationDisplayStyle *int   `json:"notification_display_style,omitempty"`
	NoDisturbing             *bool  `json:"notification_no_disturbing,omitempty"`
	NoDisturbingStart        *int   `json:"notification_no_disturbing_start,omitempty"`
	NoDisturbingEnd          *int   `json:"notification_no_disturbing_end,omitempty"`
}

// NewUser is one user to register.
type NewUser struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Nickname string `json:"nickname,omitempty"`
}

// RegisterFailure is a user a batch registration refused.
type RegisterFailure struct {
	Username string `json:"username"`
	Reason   string `json:"registerUserFailReason"`
}

// RegisterUser registers one user (POST /users).
func (c *Client) RegisterUser(ctx context.Context, u NewUser) (*User, error) {
	if err := need("username", u.Username, "password", u.Password); err != nil {
		return nil, err
	}
	e, err := c.envelope(ctx, &request{method: http.MethodPost, path: "/users", body: u})
	if err != nil {
		return nil, err
	}
	return firstUser(e)
}

// RegisterUsers registers 1..60 users in one call; the refused ones are in
// the failures.
func (c *Client) RegisterUsers(ctx context.Context, users []NewUser) ([]User, []RegisterFailure, error) {
	if len(users) == 0 || len(users) > 60 {
		return nil, nil, invalid("a batch registers 1..60 users, not %d", len(users))
	}
	for _, u := range users {
		if err := need("username", u.Username, "password", u.Password); err != nil {
			return nil, nil, err
		}
	}
	e, err := c.envelope(ctx, &request{method: http.MethodPost, path: "/users", body: users})
	if err != nil {
		return nil, nil, err
	}
	var created []User
	var failed []RegisterFailure
	if err := e.DecodeEntities(&created); err != nil {
		return nil, nil, err
	}
	if len(e.Data) > 0 && e.Data[0] == '[' {
		if err := e.DecodeData(&failed); err != nil {
			return nil, nil, err
		}
	}
	return created, failed, nil
}

func firstUser(e *Envelope) (*User, error) {
	var list []User
	if err := e.DecodeEntities(&list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, invalid("the answer has no user entity")
	}
	return &list[0], nil
}

// GetUser returns a user.
func (c *Client) GetUser(ctx context.Context, username string) (*User, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	e, err := c.envelope(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username)})
	if err != nil {
		return nil, err
	}
	return firstUser(e)
}

// UserPage is one page of users.
type UserPage struct {
	Users []User
	// Cursor continues the list; empty on the last page.
	Cursor string
}

// ListUsers lists the app's users in creation order (limit 1..100).
func (c *Client) ListUsers(ctx context.Context, p Page) (*UserPage, error) {
	e, err := c.envelope(ctx, &request{method: http.MethodGet, path: "/users", query: p.query()})
	if err != nil {
		return nil, err
	}
	out := &UserPage{Cursor: e.Cursor}
	return out, e.DecodeEntities(&out.Users)
}

// DeleteUser deletes a user and returns it.
func (c *Client) DeleteUser(ctx context.Context, username string) (*User, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	e, err := c.envelope(ctx, &request{method: http.MethodDelete, path: "/users/" + seg(username)})
	if err != nil {
		return nil, err
	}
	return firstUser(e)
}

// Erasure is what EraseUser removed (Parley addition).
type Erasure struct {
	// User is the erased user as it was.
	User *User `json:"-"`
	// Messages counts the messages (and edits) turned into tombstones.
	Messages int64 `json:"messages"`
	// Files counts the uploaded files deleted.
	Files int `json:"files"`
	// GroupsDissolved and RoomsDeleted are the IDs of those the user owned.
	GroupsDissolved []string `json:"groups_dissolved"`
	RoomsDeleted    []string `json:"rooms_deleted"`
	// GroupsLeft and RoomsLeft count the memberships ended in others'.
	GroupsLeft int `json:"groups_left"`
	RoomsLeft  int `json:"rooms_left"`
}

// EraseUser erases a user completely (DELETE /users/{username}?erase=true,
// a Parley addition for privacy requests): their messages become
// tombstones, their files, contacts, attributes, devices and push
// bindings are deleted, the groups and rooms they own are dissolved. It
// cannot be undone; a failed call may be repeated.
func (c *Client) EraseUser(ctx context.Context, username string) (*Erasure, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	e, err := c.envelope(ctx, &request{method: http.MethodDelete, path: "/users/" + seg(username),
		query: url.Values{"erase": {"true"}}})
	if err != nil {
		return nil, err
	}
	var out Erasure
	if err := e.DecodeData(&out); err != nil {
		return nil, err
	}
	if out.User, err = firstUser(e); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteOldestUsers deletes the limit (1..100) oldest users (Easemob's
// DELETE /users). It is never retried: a repeat would delete more users.
func (c *Client) DeleteOldestUsers(ctx context.Context, limit int) (*UserPage, error) {
	if limit < 1 || limit > 100 {
		return nil, invalid("limit must be 1..100, not %d", limit)
	}
	e, err := c.envelope(ctx, &request{method: http.MethodDelete, path: "/users", noRetry: true,
		query: map[string][]string{"limit": {strconv.Itoa(limit)}}})
	if err != nil {
		return nil, err
	}
	out := &UserPage{Cursor: e.Cursor}
	return out, e.DecodeEntities(&out.Users)
}

// UserUpdate changes a user's profile; nil fields are left unchanged.
type UserUpdate struct {
	Nickname *string `json:"nickname,omitempty"`
	// NotificationDisplayStyle: 0 "You have a new message", 1 sender and
	// content.
	NotificationDisplayStyle *int  `json:"notification_display_style,omitempty"`
	NoDisturbing             *bool `json:"notification_no_disturbing,omitempty"`
	NoDisturbingStart        *int  `json:"notification_no_disturbing_start,omitempty"`
	NoDisturbingEnd          *int  `json:"notification_no_disturbing_end,omitempty"`
}

// UpdateUser changes a user's profile and returns the user.
func (c *Client) UpdateUser(ctx context.Context, username string, u UserUpdate) (*User, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	e, err := c.envelope(ctx, &request{method: http.MethodPut, path: "/users/" + seg(username), body: u})
	if err != nil {
		return nil, err
	}
	return firstUser(e)
}

// SetPassword sets a user's password (PUT /users/{u}/password; the server
// also accepts POST, which this SDK does not use).
func (c *Client) SetPassword(ctx context.Context, username, newPassword string) error {
	if err := need("username", username, "new password", newPassword); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPut, path: "/users/" + seg(username) + "/password",
		body: map[string]string{"newpassword": newPassword}}, nil)
}

// DeactivateUser bans a user: it revokes their tokens and closes their
// connections.
func (c *Client) DeactivateUser(ctx context.Context, username string) (*User, error) {
	return c.userAction(ctx, username, "/deactivate")
}

// ActivateUser lifts a ban (the user signs in again).
func (c *Client) ActivateUser(ctx context.Context, username string) (*User, error) {
	return c.userAction(ctx, username, "/activate")
}

func (c *Client) userAction(ctx context.Context, username, action string) (*User, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	e, err := c.envelope(ctx, &request{method: http.MethodPost, path: "/users/" + seg(username) + action, retry: true})
	if err != nil {
		return nil, err
	}
	if len(e.Entities) == 0 {
		return nil, nil
	}
	return firstUser(e)
}
