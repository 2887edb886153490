package parleyserver

import (
	"context"
	"net/http"
	"time"
)

// Member is one member of a group or chat room and their role ("owner",
// "admin" or "member").
type Member struct {
	Username string
	Role     string
}

// MemberResult is the outcome for one user of a membership change.
type MemberResult struct {
	Result bool   `json:"result"`
	Action string `json:"action,omitempty"`
	User   string `json:"user"`
	// Expire is set by mutes: when the mute ends (ms since the epoch).
	Expire int64 `json:"expire,omitempty"`
	// Reason is set when Result is false.
	Reason string `json:"reason,omitempty"`
}

// MutedMember is a muted member and when the mute ends (ms since the
// epoch; -1 for ever).
type MutedMember struct {
	User   string `json:"user"`
	Expire int64  `json:"expire"`
}

// ListKind names a group's or chat room's user list.
type ListKind string

const (
	// BlockList holds users who may not join (blocking removes a member).
	BlockList ListKind = "blocks"
	// AllowList holds members who may speak while everyone is muted.
	AllowList ListKind = "white"
)

// chat is the part of the API groups and chat rooms share, under
// /chatgroups/{id} or /chatrooms/{id}.
type chat struct {
	c      *Client
	prefix string // "/chatgroups" or "/chatrooms"
	noun   string // "group ID" or "room ID"
}

func (h chat) path(id string, rest string) string { return h.prefix + "/" + seg(id) + rest }

func (h chat) members(ctx context.Context, id string, p PageNum) ([]Member, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	var list []map[string]string
	if _, err := h.c.data(ctx, &request{method: http.MethodGet, path: h.path(id, "/users"),
		query: p.query("pagenum", "pagesize")}, &list); err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(list))
	for _, m := range list {
		for role, u := range m {
			out = append(out, Member{Username: u, Role: role})
		}
	}
	return out, nil
}

func (h chat) addMembers(ctx context.Context, id string, usernames []string) ([]string, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 60); err != nil {
		return nil, err
	}
	var d struct {
		NewMembers []string `json:"newmembers"`
	}
	_, err := h.c.data(ctx, &request{method: http.MethodPost, path: h.path(id, "/users"), retry: true,
		body: map[string]any{"usernames": usernames}}, &d)
	return d.NewMembers, err
}

func (h chat) addMember(ctx context.Context, id, username string) ([]string, error) {
	if err := need(h.noun, id, "username", username); err != nil {
		return nil, err
	}
	var d struct {
		NewMembers []string `json:"newmembers"`
	}
	_, err := h.c.data(ctx, &request{method: http.MethodPost, path: h.path(id, "/users/"+seg(username)), retry: true}, &d)
	return d.NewMembers, err
}

func (h chat) removeMembers(ctx context.Context, id string, usernames []string) ([]MemberResult, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 100); err != nil {
		return nil, err
	}
	var out []MemberResult
	_, err := h.c.data(ctx, &request{method: http.MethodDelete, path: h.path(id, "/users/"+segs(usernames))}, &out)
	return out, err
}

func (h chat) admins(ctx context.Context, id string) ([]string, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	var out []string
	_, err := h.c.data(ctx, &request{method: http.MethodGet, path: h.path(id, "/admin")}, &out)
	return out, err
}

func (h chat) addAdmin(ctx context.Context, id, username string) error {
	if err := need(h.noun, id, "username", username); err != nil {
		return err
	}
	return h.c.call(ctx, &request{method: http.MethodPost, path: h.path(id, "/admin"), retry: true,
		body: map[string]string{"newadmin": username}}, nil)
}

func (h chat) removeAdmin(ctx context.Context, id, username string) error {
	if err := need(h.noun, id, "username", username); err != nil {
		return err
	}
	return h.c.call(ctx, &request{method: http.MethodDelete, path: h.path(id, "/admin/"+seg(username))}, nil)
}

func checkKind(k ListKind) error {
	if k != BlockList && k != AllowList {
		return invalid("list kind must be BlockList or AllowList, not %q", string(k))
	}
	return nil
}

func (h chat) list(ctx context.Context, id string, k ListKind) ([]string, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	if err := checkKind(k); err != nil {
		return nil, err
	}
	var out []string
	_, err := h.c.data(ctx, &request{method: http.MethodGet, path: h.path(id, "/"+string(k)+"/users")}, &out)
	return out, err
}

func (h chat) listAdd(ctx context.Context, id string, k ListKind, usernames []string) ([]MemberResult, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	if err := checkKind(k); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 60); err != nil {
		return nil, err
	}
	r := &request{method: http.MethodPost, retry: true}
	if len(usernames) == 1 {
		r.path = h.path(id, "/"+string(k)+"/users/"+seg(usernames[0]))
	} else {
		r.path, r.body = h.path(id, "/"+string(k)+"/users"), map[string]any{"usernames": usernames}
	}
	var out []MemberResult
	_, err := h.c.data(ctx, r, &out)
	return out, err
}

func (h chat) listRemove(ctx context.Context, id string, k ListKind, usernames []string) ([]MemberResult, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	if err := checkKind(k); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 60); err != nil {
		return nil, err
	}
	var out []MemberResult
	_, err := h.c.data(ctx, &request{method: http.MethodDelete, path: h.path(id, "/"+string(k)+"/users/"+segs(usernames))}, &out)
	return out, err
}

func (h chat) mutes(ctx context.Context, id string) ([]MutedMember, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	var out []MutedMember
	_, err := h.c.data(ctx, &request{method: http.MethodGet, path: h.path(id, "/mute")}, &out)
	return out, err
}

// mute mutes members for d (negative: for ever).
func (h chat) mute(ctx context.Context, id string, usernames []string, d time.Duration) ([]MemberResult, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 60); err != nil {
		return nil, err
	}
	ms := d.Milliseconds()
	if d < 0 {
		ms = -1
	} else if ms == 0 {
		return nil, invalid("mute duration must be at least 1 ms (negative: for ever)")
	}
	var out []MemberResult
	_, err := h.c.data(ctx, &request{method: http.MethodPost, path: h.path(id, "/mute"), retry: true,
		body: map[string]any{"usernames": usernames, "mute_duration": ms}}, &out)
	return out, err
}

func (h chat) unmute(ctx context.Context, id string, usernames []string) ([]MemberResult, error) {
	if err := need(h.noun, id); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 60); err != nil {
		return nil, err
	}
	var out []MemberResult
	_, err := h.c.data(ctx, &request{method: http.MethodDelete, path: h.path(id, "/mute/"+segs(usernames))}, &out)
	return out, err
}

func (h chat) muteAll(ctx context.Context, id string, on bool) error {
	if err := need(h.noun, id); err != nil {
		return err
	}
	method := http.MethodPost
	if !on {
		method = http.MethodDelete
	}
	return h.c.call(ctx, &request{method: method, path: h.path(id, "/ban"), retry: true}, nil)
}

func (h chat) announcement(ctx context.Context, id string) (string, error) {
	if err := need(h.noun, id); err != nil {
		return "", err
	}
	var d struct {
		Announcement string `json:"announcement"`
	}
	_, err := h.c.data(ctx, &request{method: http.MethodGet, path: h.path(id, "/announcement")}, &d)
	return d.Announcement, err
}

func (h chat) setAnnouncement(ctx context.Context, id, text string) error {
	if err := need(h.noun, id); err != nil {
		return err
	}
	if len([]rune(text)) > 512 {
		return invalid("an announcement has at most 512 characters")
	}
	return h.c.call(ctx, &request{method: http.MethodPost, path: h.path(id, "/announcement"), retry: true,
		body: map[string]string{"announcement": text}}, nil)
}
