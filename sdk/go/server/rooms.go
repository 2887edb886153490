package parleyserver

import (
	"context"
	"net/http"
	"time"

	"github.com/parleyim/parley/protocol"
)

func (c *Client) rooms() chat { return chat{c: c, prefix: "/chatrooms", noun: "room ID"} }

// RoomSettings are a chat room's settings; nil fields are unchanged (or
// the server defaults on create).
type RoomSettings struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	MaxUsers    *int    `json:"maxusers,omitempty"`
	Custom      *string `json:"custom,omitempty"`
}

// NewRoom creates a chat room.
type NewRoom struct {
	RoomSettings
	Owner   string   `json:"owner"`
	Members []string `json:"members,omitempty"`
}

// CreateRoom creates a chat room and returns its ID.
func (c *Client) CreateRoom(ctx context.Context, r NewRoom) (string, error) {
	if err := need("owner", r.Owner); err != nil {
		return "", err
	}
	if r.Name == nil || *r.Name == "" {
		return "", invalid("room name is empty")
	}
	if len(r.Members) > 60 {
		return "", invalid("a room is created with at most 60 members, not %d", len(r.Members))
	}
	var d struct {
		ID string `json:"id"`
	}
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/chatrooms", body: r}, &d)
	return d.ID, err
}

// RoomSummary is a room as the app's room list shows it.
type RoomSummary struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Owner        string `json:"owner"`
	Affiliations int    `json:"affiliations_count"`
	Disabled     bool   `json:"disabled,omitempty"`
}

// RoomPage is one page of the app's chat rooms.
type RoomPage struct {
	Rooms  []RoomSummary
	Cursor string
}

// ListRooms lists the app's chat rooms (limit 1..1000).
func (c *Client) ListRooms(ctx context.Context, p Page) (*RoomPage, error) {
	out := &RoomPage{}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/chatrooms", query: p.query()}, &out.Rooms)
	if err != nil {
		return nil, err
	}
	out.Cursor = e.Cursor
	return out, nil
}

// UserRooms lists a page of the rooms a user is in (ID and name).
func (c *Client) UserRooms(ctx context.Context, username string, p PageNum) ([]RoomSummary, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	var out []RoomSummary
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/joined_chatrooms",
		query: p.query("pagenum", "pagesize")}, &out)
	return out, err
}

// RoomDetails returns the details of 1..100 rooms; failed maps unknown IDs
// to the reason.
func (c *Client) RoomDetails(ctx context.Context, ids ...string) (rooms []protocol.RoomInfo, failed map[string]string, err error) {
	if err := needList("room IDs", ids, 100); err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		if id == "super_admin" {
			return nil, nil, invalid("super_admin is not a room ID (see SuperAdmins)")
		}
	}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/chatrooms/" + segs(ids)}, &rooms)
	if err != nil {
		return nil, nil, err
	}
	return rooms, e.Failed, nil
}

// ModifyRoom changes a room's settings.
func (c *Client) ModifyRoom(ctx context.Context, id string, s RoomSettings) error {
	if err := need("room ID", id); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPut, path: "/chatrooms/" + seg(id), body: s}, nil)
}

// TransferRoom makes newOwner the room's owner.
func (c *Client) TransferRoom(ctx context.Context, id, newOwner string) error {
	if err := need("room ID", id, "new owner", newOwner); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPut, path: "/chatrooms/" + seg(id),
		body: map[string]string{"newowner": newOwner}}, nil)
}

// DeleteRoom deletes a chat room.
func (c *Client) DeleteRoom(ctx context.Context, id string) error {
	if err := need("room ID", id); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/chatrooms/" + seg(id)}, nil)
}

// RoomAnnouncement returns a room's announcement.
func (c *Client) RoomAnnouncement(ctx context.Context, id string) (string, error) {
	return c.rooms().announcement(ctx, id)
}

// SetRoomAnnouncement sets a room's announcement (≤512 characters).
func (c *Client) SetRoomAnnouncement(ctx context.Context, id, text string) error {
	return c.rooms().setAnnouncement(ctx, id, text)
}

// RoomMembers lists a page (size 1..1000) of a room's members.
func (c *Client) RoomMembers(ctx context.Context, id string, p PageNum) ([]Member, error) {
	return c.rooms().members(ctx, id, p)
}

// AddRoomMembers adds 1..60 users to a room and returns those added.
func (c *Client) AddRoomMembers(ctx context.Context, id string, usernames ...string) ([]string, error) {
	return c.rooms().addMembers(ctx, id, usernames)
}

// AddRoomMember adds one user (POST /chatrooms/{id}/users/{username}).
func (c *Client) AddRoomMember(ctx context.Context, id, username string) ([]string, error) {
	return c.rooms().addMember(ctx, id, username)
}

// RemoveRoomMembers removes 1..100 members.
func (c *Client) RemoveRoomMembers(ctx context.Context, id string, usernames ...string) ([]MemberResult, error) {
	return c.rooms().removeMembers(ctx, id, usernames)
}

// RoomAdmins lists a room's admins.
func (c *Client) RoomAdmins(ctx context.Context, id string) ([]string, error) {
	return c.rooms().admins(ctx, id)
}

// AddRoomAdmin makes a member an admin.
func (c *Client) AddRoomAdmin(ctx context.Context, id, username string) error {
	return c.rooms().addAdmin(ctx, id, username)
}

// RemoveRoomAdmin makes an admin a plain member.
func (c *Client) RemoveRoomAdmin(ctx context.Context, id, username string) error {
	return c.rooms().removeAdmin(ctx, id, username)
}

// RoomList returns a room's block or allow list.
func (c *Client) RoomList(ctx context.Context, id string, k ListKind) ([]string, error) {
	return c.rooms().list(ctx, id, k)
}

// AddToRoomList adds users to a room's block or allow list (one user:
// POST …/users/{username}; several: POST …/users).
func (c *Client) AddToRoomList(ctx context.Context, id string, k ListKind, usernames ...string) ([]MemberResult, error) {
	return c.rooms().listAdd(ctx, id, k, usernames)
}

// RemoveFromRoomList removes users from a room's block or allow list.
func (c *Client) RemoveFromRoomList(ctx context.Context, id string, k ListKind, usernames ...string) ([]MemberResult, error) {
	return c.rooms().listRemove(ctx, id, k, usernames)
}

// RoomMutes lists a room's muted members.
func (c *Client) RoomMutes(ctx context.Context, id string) ([]MutedMember, error) {
	return c.rooms().mutes(ctx, id)
}

// MuteRoomMembers mutes members for d (negative: for ever).
func (c *Client) MuteRoomMembers(ctx context.Context, id string, d time.Duration, usernames ...string) ([]MemberResult, error) {
	return c.rooms().mute(ctx, id, usernames, d)
}

// UnmuteRoomMembers lifts members' mutes.
func (c *Client) UnmuteRoomMembers(ctx context.Context, id string, usernames ...string) ([]MemberResult, error) {
	return c.rooms().unmute(ctx, id, usernames)
}

// MuteAllRoom mutes (or with on false unmutes) everyone but the admins
// and the allow list.
func (c *Client) MuteAllRoom(ctx context.Context, id string, on bool) error {
	return c.rooms().muteAll(ctx, id, on)
}

// RoomAttributes returns a room's attributes, only the keys listed (all
// if none) (POST /metadata/chatroom/{id}).
func (c *Client) RoomAttributes(ctx context.Context, id string, keys ...string) (map[string]string, error) {
	if err := need("room ID", id); err != nil {
		return nil, err
	}
	r := &request{method: http.MethodPost, path: "/metadata/chatroom/" + seg(id), retry: true}
	if len(keys) > 0 {
		r.body = map[string]any{"keys": keys}
	}
	var out map[string]string
	_, err := c.data(ctx, r, &out)
	return out, err
}

// AttributesResult is the outcome of setting or deleting room attributes.
type AttributesResult struct {
	SuccessKeys []string          `json:"successKeys"`
	ErrorKeys   map[string]string `json:"errorKeys"`
}

// SetRoomAttributes sets 1..10 room attributes as username; autoDelete
// removes them when the user leaves; forced (admins) overwrites keys other
// members set.
func (c *Client) SetRoomAttributes(ctx context.Context, id, username string, attrs map[string]string, autoDelete, forced bool) (*AttributesResult, error) {
	if err := need("room ID", id, "username", username); err != nil {
		return nil, err
	}
	if len(attrs) == 0 || len(attrs) > 10 {
		return nil, invalid("give 1..10 attributes, not %d", len(attrs))
	}
	ad := "NO_DELETE"
	if autoDelete {
		ad = "DELETE"
	}
	path := "/metadata/chatroom/" + seg(id) + "/user/" + seg(username)
	if forced {
		path += "/forced"
	}
	var out AttributesResult
	_, err := c.data(ctx, &request{method: http.MethodPut, path: path,
		body: map[string]any{"metaData": attrs, "autoDelete": ad}}, &out)
	return &out, err
}

// DeleteRoomAttributes deletes 1..10 room attributes as username (forced:
// keys other members set, admins only).
func (c *Client) DeleteRoomAttributes(ctx context.Context, id, username string, keys []string, forced bool) (*AttributesResult, error) {
	if err := need("room ID", id, "username", username); err != nil {
		return nil, err
	}
	if err := needList("keys", keys, 10); err != nil {
		return nil, err
	}
	path := "/metadata/chatroom/" + seg(id) + "/user/" + seg(username)
	if forced {
		path += "/forced"
	}
	var out AttributesResult
	_, err := c.data(ctx, &request{method: http.MethodDelete, path: path, body: map[string]any{"keys": keys}}, &out)
	return &out, err
}

// SuperAdmins lists the users who may create rooms from clients
// (GET /chatrooms/super_admin).
func (c *Client) SuperAdmins(ctx context.Context) ([]string, error) {
	var out []string
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/chatrooms/super_admin"}, &out)
	return out, err
}

// AddSuperAdmin makes a user a room super admin.
func (c *Client) AddSuperAdmin(ctx context.Context, username string) error {
	if err := need("username", username); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodPost, path: "/chatrooms/super_admin", retry: true,
		body: map[string]string{"superadmin": username}}, nil)
}

// RemoveSuperAdmin takes a user's room super admin right away.
func (c *Client) RemoveSuperAdmin(ctx context.Context, username string) error {
	if err := need("username", username); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/chatrooms/super_admin/" + seg(username)}, nil)
}

// RoomMessage is a send to 1..10 chat rooms.
type RoomMessage struct {
	Message
	To []string `json:"to"`
	// Level is the message priority: "high", "normal" or "low".
	Level string `json:"chatroom_msg_level,omitempty"`
}

// SendToRooms sends a message to 1..10 rooms (not stored; sent once).
func (c *Client) SendToRooms(ctx context.Context, m RoomMessage) (*SendResult, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := needList("to", m.To, 10); err != nil {
		return nil, err
	}
	return c.sendMessage(ctx, &request{method: http.MethodPost, path: "/messages/chatrooms", body: m})
}
