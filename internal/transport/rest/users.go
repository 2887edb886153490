package rest

import (
	"bytes"
	"mime"
	"net/url"
	"strconv"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/identity"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

type tokenBody struct {
	GrantType      string `json:"grant_type"`
	ClientID       string `json:"client_id"`
	ClientSecret   string `json:"client_secret"`
	Username       string `json:"username"`
	Password       string `json:"password"`
	AutoCreateUser bool   `json:"autoCreateUser"`
	TTL            *int64 `json:"ttl"`
}

type tokenResponse struct {
	AccessToken string      `json:"access_token"`
	ExpiresIn   int64       `json:"expires_in"`
	Application string      `json:"application,omitempty"`
	User        *userEntity `json:"user,omitempty"`
}

// POST /{org}/{app}/token — JSON, or form-encoded as Usergrid also accepted.
func (s *Server) token(c *call) (any, error) {
	raw, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	var b tokenBody
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" && len(bytes.TrimSpace(raw)) > 0 && raw[0] != '{' {
		if b, err = tokenForm(raw); err != nil {
			return nil, err
		}
	} else if err := decodeJSON(raw, &b); err != nil {
		return nil, err
	}
	t, err := s.Identity.Issue(c.ctx(), c.p, identity.TokenRequest{
		GrantType: b.GrantType, ClientID: b.ClientID, ClientSecret: b.ClientSecret, Username: b.Username,
		Password: b.Password, AutoCreateUser: b.AutoCreateUser, TTL: b.TTL,
	})
	if err != nil {
		return nil, err
	}
	resp := tokenResponse{AccessToken: t.AccessToken, ExpiresIn: t.ExpiresIn}
	if t.User == nil {
		resp.Application = t.App.UUID
	} else {
		e := entity(t.User)
		resp.User = &e
	}
	return resp, nil
}

func tokenForm(raw []byte) (tokenBody, error) {
	v, err := url.ParseQuery(string(raw))
	if err != nil {
		return tokenBody{}, errs.New(protocol.ErrInvalidBody, "form body: %v", err)
	}
	b := tokenBody{GrantType: v.Get("grant_type"), ClientID: v.Get("client_id"), ClientSecret: v.Get("client_secret"),
		Username: v.Get("username"), Password: v.Get("password")}
	if a := v.Get("autoCreateUser"); a != "" {
		if b.AutoCreateUser, err = strconv.ParseBool(a); err != nil {
			return b, errs.New(protocol.ErrIllegalArgument, "autoCreateUser must be true or false")
		}
	}
	if t := v.Get("ttl"); t != "" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return b, errs.New(protocol.ErrIllegalArgument, "ttl must be a number of seconds")
		}
		b.TTL = &n
	}
	return b, nil
}

type newUserBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Nickname string `json:"nickname"`
}

// POST /{org}/{app}/users — one object registers one user, an array of up to
// 60 registers a batch.
func (s *Server) registerUsers(c *call) (any, error) {
	raw, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		var list []newUserBody
		if err := decodeJSON(raw, &list); err != nil {
			return nil, err
		}
		in := make([]users.NewUser, len(list))
		for i, u := range list {
			in[i] = users.NewUser(u)
		}
		created, failed, err := s.Users.RegisterBatch(c.ctx(), c.p, in)
		if err != nil {
			return nil, err
		}
		e := c.env("post", "/users")
		e.Entities = []any{}
		for _, u := range created {
			e.Entities = append(e.Entities, entity(u))
		}
		if len(failed) > 0 {
			e.Data = failed
		}
		return e, nil
	}
	var b newUserBody
	if err := decodeJSON(raw, &b); err != nil {
		return nil, err
	}
	u, err := s.Users.Register(c.ctx(), c.p, users.NewUser(b))
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/users")
	e.Entities = []any{entity(u)}
	return e, nil
}

// GET /{org}/{app}/users?limit=&cursor=
func (s *Server) listUsers(c *call) (any, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	page, err := s.Users.List(c.ctx(), c.p, limit, c.r.URL.Query().Get("cursor"))
	if err != nil {
		return nil, err
	}
	return c.pageEnvelope("get", page), nil
}

func (c *call) pageEnvelope(action string, page *users.Page) *envelope {
	e := c.env(action, "/users")
	e.Params = c.r.URL.Query()
	e.Entities = []any{}
	for i := range page.Users {
		e.Entities = append(e.Entities, entity(&page.Users[i]))
	}
	e.Cursor = page.Cursor
	e.Count = count(len(page.Users))
	return e
}

// DELETE /{org}/{app}/users?limit= — deletes the oldest users.
func (s *Server) deleteOldestUsers(c *call) (any, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	page, err := s.Users.DeleteOldest(c.ctx(), c.p, limit)
	if err != nil {
		return nil, err
	}
	return c.pageEnvelope("delete", page), nil
}

func (s *Server) getUser(c *call) (any, error) {
	u, err := s.Users.Get(c.ctx(), c.p, c.r.PathValue("username"))
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/users")
	e.Entities = []any{entity(u)}
	e.Count = count(1)
	return e, nil
}

type profileBody struct {
	Nickname                 *string `json:"nickname"`
	NotificationDisplayStyle *int    `json:"notification_display_style"`
	NoDisturbing             *bool   `json:"notification_no_disturbing"`
	NoDisturbingStart        *int    `json:"notification_no_disturbing_start"`
	NoDisturbingEnd          *int    `json:"notification_no_disturbing_end"`
}

func (s *Server) updateUser(c *call) (any, error) {
	var b profileBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	u, err := s.Users.Update(c.ctx(), c.p, c.r.PathValue("username"), users.Profile(b))
	if err != nil {
		return nil, err
	}
	e := c.env("put", "/users")
	e.Entities = []any{entity(u)}
	return e, nil
}

// erasureData is the data of DELETE /users/{username}?erase=true.
type erasureData struct {
	Erased          bool     `json:"erased"`
	Messages        int64    `json:"messages"`
	Files           int      `json:"files"`
	GroupsDissolved []string `json:"groups_dissolved"`
	GroupsLeft      int      `json:"groups_left"`
	RoomsDeleted    []string `json:"rooms_deleted"`
	RoomsLeft       int      `json:"rooms_left"`
}

// DELETE /{org}/{app}/users/{username}: Easemob's delete (the account
// only), or with ?erase=true a full erasure (package erasure).
func (s *Server) deleteUser(c *call) (any, error) {
	erase := false
	if v := c.r.URL.Query().Get("erase"); v != "" {
		var err error
		if erase, err = strconv.ParseBool(v); err != nil {
			return nil, errs.New(protocol.ErrIllegalArgument, "erase must be true or false, got %q", v)
		}
	}
	if erase {
		if s.Erasure == nil {
			return nil, errs.New(protocol.ErrIllegalArgument, "erasure is not available on this server")
		}
		res, err := s.Erasure.Erase(c.ctx(), c.p, c.r.PathValue("username"))
		if err != nil {
			return nil, err
		}
		e := c.env("delete", "/users")
		e.Entities = []any{entity(&res.User)}
		e.Data = erasureData{Erased: true, Messages: res.Messages, Files: res.Files, GroupsDissolved: nonNil(res.GroupsDissolved),
			GroupsLeft: res.GroupsLeft, RoomsDeleted: nonNil(res.RoomsDeleted), RoomsLeft: res.RoomsLeft}
		return e, nil
	}
	u, err := s.Users.Delete(c.ctx(), c.p, c.r.PathValue("username"))
	if err != nil {
		return nil, err
	}
	e := c.env("delete", "/users")
	e.Entities = []any{entity(u)}
	return e, nil
}

func (s *Server) setPassword(c *call) (any, error) {
	var b struct {
		NewPassword *string `json:"newpassword"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.NewPassword == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "newpassword must be provided")
	}
	if err := s.Users.SetPassword(c.ctx(), c.p, c.r.PathValue("username"), *b.NewPassword); err != nil {
		return nil, err
	}
	return c.short("set user password"), nil
}

func (s *Server) deactivateUser(c *call) (any, error) {
	u, err := s.Users.SetActivated(c.ctx(), c.p, c.r.PathValue("username"), false)
	if err != nil {
		return nil, err
	}
	e := c.env("Deactivate user", "/users")
	e.Entities = []any{entity(u)}
	return e, nil
}

func (s *Server) activateUser(c *call) (any, error) {
	if _, err := s.Users.SetActivated(c.ctx(), c.p, c.r.PathValue("username"), true); err != nil {
		return nil, err
	}
	return c.short("activate user"), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
