package parleyserver

import (
	"context"
	"net/http"
	"time"

	"github.com/parleyim/parley/protocol"
)

func (c *Client) groups() chat { return chat{c: c, prefix: "/chatgroups", noun: "group ID"} }

// NewGroup creates a group. Settings nil fields take the server defaults
// (public is required by the server: false if nil).
type NewGroup struct {
	protocol.GroupSettings
	Owner   string   `json:"owner"`
	Members []string `json:"members,omitempty"`
}

// CreateGroup creates a group and returns its ID.
func (c *Client) CreateGroup(ctx context.Context, g NewGroup) (string, error) {
	if err := need("owner", g.Owner); err != nil {
		return "", err
	}
	if len(g.Members) > 60 {
		return "", invalid("a group is created with at most 60 members, not %d", len(g.Members))
	}
	if g.Public == nil {
		f := false
		g.Public = &f
	}
	var d struct {
		GroupID string `json:"groupid"`
	}
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/chatgroups", body: g}, &d)
	return d.GroupID, err
}

// GroupSummary is a group as the app's group list shows it.
type GroupSummary struct {
	GroupID      string `json:"groupid"`
	GroupName    string `json:"groupname"`
	Owner        string `json:"owner"`
	Affiliations int    `json:"affiliations"`
	Type         string `json:"type"`
	LastModified int64  `json:"lastModified"`
}

// GroupPage is one page of the app's groups.
type GroupPage struct {
	Groups []GroupSummary
	Cursor string
}

// ListGroups lists the app's groups, newest first (limit 1..1000).
func (c *Client) ListGroups(ctx context.Context, p Page) (*GroupPage, error) {
	out := &GroupPage{}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/chatgroups", query: p.query()}, &out.Groups)
	if err != nil {
		return nil, err
	}
	out.Cursor = e.Cursor
	return out, nil
}

// GroupDetails returns the details of 1..100 groups; failed maps the
// unknown IDs to the reason.
func (c *Client) GroupDetails(ctx context.Context, ids ...string) (groups []protocol.GroupInfo, failed map[string]string, err error) {
	if err := needList("group IDs", ids, 100); err != nil {
		return nil, nil, err
	}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/chatgroups/" + segs(ids)}, &groups)
	if err != nil {
		return nil, nil, err
	}
	return groups, e.Failed, nil
}

// ModifyGroup changes a group's settings (nil fields unchanged) and
// returns the names of the fields changed.
func (c *Client) ModifyGroup(ctx context.Context, id string, s protocol.GroupSettings) ([]string, error) {
	if err := need("group ID", id); err != nil {
		return nil, err
	}
	var d map[string]bool
	if _, err := c.data(ctx, &request{method: http.MethodPut, path: "/chatgroups/" + seg(id), body: s}, &d); err != nil {
		return nil, err
	}
	var out []string
	for k, v := range d {
		if v {
			out = append(out, k)
		}
	}
	return out, nil
}

// TransferGroup makes newOwner the group's owner (PUT /chatgroups/{id}
// {newowner}).
func (c *Client) TransferGroup(ctx context.Context, id, newOwner string) error {
	if err := need("group ID", id, "new owner", newOwner); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPut, path: "/chatgroups/" + seg(id),
		body: map[string]string{"newowner": newOwner}}, nil)
}

// DissolveGroup deletes a group (and its shared files).
func (c *Client) DissolveGroup(ctx context.Context, id string) error {
	if err := need("group ID", id); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/chatgroups/" + seg(id)}, nil)
}

// DisableGroup disables a group (no messages) or, with disabled false,
// enables it again (POST /chatgroups/{id}/disable or /enable).
func (c *Client) DisableGroup(ctx context.Context, id string, disabled bool) error {
	if err := need("group ID", id); err != nil {
		return err
	}
	action := "/enable"
	if disabled {
		action = "/disable"
	}
	return c.call(ctx, &request{method: http.MethodPost, path: "/chatgroups/" + seg(id) + action, retry: true}, nil)
}

// UserGroup is a group in a user's group list.
type UserGroup struct {
	GroupID      string `json:"groupId"`
	Name         string `json:"name"`
	Avatar       string `json:"avatar"`
	Owner        string `json:"owner"`
	Description  string `json:"description"`
	Disabled     bool   `json:"disabled"`
	Public       bool   `json:"public"`
	AllowInvites bool   `json:"allowinvites"`
	MembersOnly  bool   `json:"membersonly"`
	MaxUsers     int    `json:"maxusers"`
	Created      int64  `json:"created"`
}

// UserGroups lists a page (size 1..100) of the groups a user is in, and
// the total (GET /users/{u}/joined_chatgroups; the server answers the same
// at GET /chatgroups/user/{u}).
func (c *Client) UserGroups(ctx context.Context, username string, p PageNum) ([]UserGroup, int, error) {
	if err := need("username", username); err != nil {
		return nil, 0, err
	}
	e, err := c.envelope(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/joined_chatgroups",
		query: p.query("pagenum", "pagesize")})
	if err != nil {
		return nil, 0, err
	}
	var out []UserGroup
	return out, e.Total, e.DecodeEntities(&out)
}

// IsGroupMember reports whether a user is in a group (GET; the server also
// answers POST).
func (c *Client) IsGroupMember(ctx context.Context, id, username string) (bool, error) {
	if err := need("group ID", id, "username", username); err != nil {
		return false, err
	}
	var ok bool
	_, err := c.data(ctx, &request{method: http.MethodGet,
		path: "/chatgroups/" + seg(id) + "/user/" + seg(username) + "/is_joined"}, &ok)
	return ok, err
}

// GroupAnnouncement returns a group's announcement.
func (c *Client) GroupAnnouncement(ctx context.Context, id string) (string, error) {
	return c.groups().announcement(ctx, id)
}

// SetGroupAnnouncement sets a group's announcement (≤512 characters).
func (c *Client) SetGroupAnnouncement(ctx context.Context, id, text string) error {
	return c.groups().setAnnouncement(ctx, id, text)
}

// GroupMembers lists a page (size 1..1000) of a group's members.
func (c *Client) GroupMembers(ctx context.Context, id string, p PageNum) ([]Member, error) {
	return c.groups().members(ctx, id, p)
}

// AddGroupMembers adds 1..60 users to a group and returns those added.
func (c *Client) AddGroupMembers(ctx context.Context, id string, usernames ...string) ([]string, error) {
	return c.groups().addMembers(ctx, id, usernames)
}

// AddGroupMember adds one user (POST /chatgroups/{id}/users/{username}).
func (c *Client) AddGroupMember(ctx context.Context, id, username string) ([]string, error) {
	return c.groups().addMember(ctx, id, username)
}

// RemoveGroupMembers removes 1..100 members.
func (c *Client) RemoveGroupMembers(ctx context.Context, id string, usernames ...string) ([]MemberResult, error) {
	return c.groups().removeMembers(ctx, id, usernames)
}

// GroupAdmins lists a group's admins.
func (c *Client) GroupAdmins(ctx context.Context, id string) ([]string, error) {
	return c.groups().admins(ctx, id)
}

// AddGroupAdmin makes a member an admin.
func (c *Client) AddGroupAdmin(ctx context.Context, id, username string) error {
	return c.groups().addAdmin(ctx, id, username)
}

// RemoveGroupAdmin makes an admin a plain member.
func (c *Client) RemoveGroupAdmin(ctx context.Context, id, username string) error {
	return c.groups().removeAdmin(ctx, id, username)
}

// GroupList returns a group's block or allow list.
func (c *Client) GroupList(ctx context.Context, id string, k ListKind) ([]string, error) {
	return c.groups().list(ctx, id, k)
}

// AddToGroupList adds 1..60 users to a group's block or allow list (one
// user: POST …/users/{username}; several: POST …/users).
func (c *Client) AddToGroupList(ctx context.Context, id string, k ListKind, usernames ...string) ([]MemberResult, error) {
	return c.groups().listAdd(ctx, id, k, usernames)
}

// RemoveFromGroupList removes users from a group's block or allow list.
func (c *Client) RemoveFromGroupList(ctx context.Context, id string, k ListKind, usernames ...string) ([]MemberResult, error) {
	return c.groups().listRemove(ctx, id, k, usernames)
}

// GroupMutes lists a group's muted members.
func (c *Client) GroupMutes(ctx context.Context, id string) ([]MutedMember, error) {
	return c.groups().mutes(ctx, id)
}

// MuteGroupMembers mutes members for d (negative: for ever).
func (c *Client) MuteGroupMembers(ctx context.Context, id string, d time.Duration, usernames ...string) ([]MemberResult, error) {
	return c.groups().mute(ctx, id, usernames, d)
}

// UnmuteGroupMembers lifts members' mutes.
func (c *Client) UnmuteGroupMembers(ctx context.Context, id string, usernames ...string) ([]MemberResult, error) {
	return c.groups().unmute(ctx, id, usernames)
}

// MuteAllGroup mutes (or with on false unmutes) everyone but the admins
// and the allow list (POST / DELETE /chatgroups/{id}/ban).
func (c *Client) MuteAllGroup(ctx context.Context, id string, on bool) error {
	return c.groups().muteAll(ctx, id, on)
}

// SetGroupMemberAttributes merges a member's attributes in a group (an
// empty value removes a key) and returns them.
func (c *Client) SetGroupMemberAttributes(ctx context.Context, id, username string, attrs map[string]string) (map[string]string, error) {
	if err := need("group ID", id, "username", username); err != nil {
		return nil, err
	}
	if len(attrs) == 0 {
		return nil, invalid("attributes are empty")
	}
	var out map[string]string
	_, err := c.data(ctx, &request{method: http.MethodPut, path: "/metadata/chatgroup/" + seg(id) + "/user/" + seg(username),
		body: map[string]any{"metaData": attrs}}, &out)
	return out, err
}

// GroupMemberAttributes returns a member's attributes in a group.
func (c *Client) GroupMemberAttributes(ctx context.Context, id, username string) (map[string]string, error) {
	if err := need("group ID", id, "username", username); err != nil {
		return nil, err
	}
	var out map[string]string
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/metadata/chatgroup/" + seg(id) + "/user/" + seg(username)}, &out)
	return out, err
}

// MemberAttributes are one member's attributes to set.
type MemberAttributes struct {
	Username string            `json:"username"`
	Metadata map[string]string `json:"metadata"`
}

// MemberAttributesFailure is a member whose attributes were not set.
type MemberAttributesFailure struct {
	Username string `json:"username"`
	Reason   string `json:"reason"`
}

// SetGroupMembersAttributes sets the attributes of 1..20 members.
func (c *Client) SetGroupMembersAttributes(ctx context.Context, id string, list []MemberAttributes) (succeeded []string, failed []MemberAttributesFailure, err error) {
	if err := need("group ID", id); err != nil {
		return nil, nil, err
	}
	if len(list) == 0 || len(list) > 20 {
		return nil, nil, invalid("give 1..20 members, not %d", len(list))
	}
	var d struct {
		OK     []string                  `json:"updateMetadataSucceeded"`
		Failed []MemberAttributesFailure `json:"updateMetadataFailed"`
	}
	_, err = c.data(ctx, &request{method: http.MethodPut, path: "/metadata/chatgroup/" + seg(id) + "/users/batch", body: list}, &d)
	return d.OK, d.Failed, err
}

// GroupMembersAttributes returns the attributes of 1..10 members, only
// the keys listed (all if none).
func (c *Client) GroupMembersAttributes(ctx context.Context, id string, usernames []string, keys ...string) (map[string]map[string]string, error) {
	if err := need("group ID", id); err != nil {
		return nil, err
	}
	if err := needList("usernames", usernames, 10); err != nil {
		return nil, err
	}
	body := map[string]any{"targets": usernames}
	if len(keys) > 0 {
		body["properties"] = keys
	}
	var out map[string]map[string]string
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/metadata/chatgroup/" + seg(id) + "/get", retry: true, body: body}, &out)
	return out, err
}

// The calls below are the client flows (Easemob's SDK paths). as is the
// acting user's token (see UserToken); empty: the app token, where the
// server allows it.

// ApplyToGroup asks to join a group, with the applicant's token.
func (c *Client) ApplyToGroup(ctx context.Context, as, id, message string) error {
	if err := need("group ID", id); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPost, path: "/chatgroups/" + seg(id) + "/apply", bearer: as,
		body: map[string]string{"message": message}}, nil)
}

// AnswerGroupApplication accepts or declines an application (admins).
func (c *Client) AnswerGroupApplication(ctx context.Context, as, id, applicant string, accept bool, reason string) error {
	if err := need("group ID", id, "applicant", applicant); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPost, path: "/chatgroups/" + seg(id) + "/apply_verify", bearer: as,
		body: map[string]any{"applicant": applicant, "verifyResult": accept, "reason": reason}}, nil)
}

// InviteToGroup invites 1..60 users, with a member's token.
func (c *Client) InviteToGroup(ctx context.Context, as, id string, usernames []string, welcome string) error {
	if err := need("group ID", id); err != nil {
		return err
	}
	if err := needList("usernames", usernames, 60); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPost, path: "/chatgroups/" + seg(id) + "/invite", bearer: as,
		body: map[string]any{"usernames": usernames, "welcome": welcome}}, nil)
}

// AnswerGroupInvitation accepts or declines an invitation, with the
// invitee's token.
func (c *Client) AnswerGroupInvitation(ctx context.Context, as, id, invitee string, accept bool, reason string) error {
	if err := need("group ID", id, "invitee", invitee); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPost, path: "/chatgroups/" + seg(id) + "/invite_verify", bearer: as,
		body: map[string]any{"invitee": invitee, "verifyResult": accept, "reason": reason}}, nil)
}

// QuitGroup leaves a group, with the member's token.
func (c *Client) QuitGroup(ctx context.Context, as, id string) error {
	if err := need("group ID", id, "user token", as); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/chatgroups/" + seg(id) + "/quit", bearer: as}, nil)
}

// ShieldGroup stops (or with on false resumes) a member's pushes and
// deliveries of a group's messages, with the member's token.
func (c *Client) ShieldGroup(ctx context.Context, as, id string, on bool) error {
	if err := need("group ID", id, "user token", as); err != nil {
		return err
	}
	method := http.MethodPost
	if !on {
		method = http.MethodDelete
	}
	return c.call(ctx, &request{method: method, path: "/chatgroups/" + seg(id) + "/shield", bearer: as}, nil)
}

// GroupMessage is a send to 1..3 groups.
type GroupMessage struct {
	Message
	To           []string `json:"to"`
	NeedGroupAck bool     `json:"need_group_ack,omitempty"`
	// RouteOnline delivers only to devices online now and stores nothing.
	RouteOnline bool `json:"-"`
}

// SendToGroups sends a message to 1..3 groups (app-token sends need no
// membership). It is sent once: group sends carry no idempotency key.
func (c *Client) SendToGroups(ctx context.Context, m GroupMessage) (*SendResult, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := needList("to", m.To, 3); err != nil {
		return nil, err
	}
	body := struct {
		GroupMessage
		RouteType string `json:"routetype,omitempty"`
	}{GroupMessage: m}
	if m.RouteOnline {
		body.RouteType = protocol.RouteOnline
	}
	return c.sendMessage(ctx, &request{method: http.MethodPost, path: "/messages/chatgroups", body: body})
}

// SendToGroupMembers delivers a message live to 1..20 members of a group
// (their online devices only; not stored).
func (c *Client) SendToGroupMembers(ctx context.Context, groupID string, users []string, m Message) (*SendResult, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := need("group ID", groupID); err != nil {
		return nil, err
	}
	if err := needList("users", users, 20); err != nil {
		return nil, err
	}
	body := struct {
		Message
		To    []string `json:"to"`
		Users []string `json:"users"`
	}{Message: m, To: []string{groupID}, Users: users}
	return c.sendMessage(ctx, &request{method: http.MethodPost, path: "/messages/chatgroups/users", body: body})
}
