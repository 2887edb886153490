package parley

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleyim/parley/protocol"
)

// Chat rooms are large and transient: the server keeps their members,
// roles, mutes, lists and attributes, but not their messages. A room
// message reaches the members online when it is sent (RoomMessageEvent),
// and a joiner gets the room's last few (JoinRoom); nothing is fetched after
// a reconnect.

// MaxRoomUsersPerCall is how many users one chat room call may name
// (CreateRoom, KickFromRoom, MuteRoomMembers, SetRoomBlocked,
// SetRoomAllowed, SetRoomAdmins).
const MaxRoomUsersPerCall = 60

// MaxRoomAttrsPerCall is how many attributes one SetRoomAttributes or
// DeleteRoomAttributes call may name.
const MaxRoomAttrsPerCall = 10

// MuteForever mutes room members until they are unmuted
// (MuteRoomMembers).
const MuteForever time.Duration = -1

var (
	// ErrTooManyRoomUsers is returned, without asking the server, by a chat
	// room call that names more than MaxRoomUsersPerCall users.
	ErrTooManyRoomUsers = fmt.Errorf("parley: a chat room call may name at most %d users", MaxRoomUsersPerCall)
	// ErrTooManyRoomAttrs is returned, without asking the server, by a
	// chat room call that names more than MaxRoomAttrsPerCall attributes.
	ErrTooManyRoomAttrs = fmt.Errorf("parley: a chat room call may name at most %d attributes", MaxRoomAttrsPerCall)
)

const (
	allRoomMembersPage = 1000
	allRoomsPage       = 100
)

// RoomSettings are a chat room's settable fields; nil fields are left as
// they are (CreateRoom: take their defaults).
type RoomSettings struct {
	// Name is required by CreateRoom; at most 128 characters.
	Name *string
	// Description: at most 512 characters.
	Description *string
	// MaxUsers: 1 to the app's room_max_users (10,000 unless the app sets
	// it), and not below the members the room has; 1,000 by default.
	MaxUsers *int
	// Custom: the application's data, at most 1,024 characters.
	Custom *string
}

// wire is the settings of a room frame (the room frame shares the group
// frame's settings object; a room has these four of its fields).
func (s RoomSettings) wire() *protocol.GroupSettings {
	return &protocol.GroupSettings{Name: s.Name, Description: s.Description, MaxUsers: s.MaxUsers, Custom: s.Custom}
}

func (s RoomSettings) empty() bool {
	return s.Name == nil && s.Description == nil && s.MaxUsers == nil && s.Custom == nil
}

// checkRoomUsers validates the users of a room call: at least one (the
// server refuses an empty list), at most MaxRoomUsersPerCall, none empty.
func checkRoomUsers(call string, users []string) error {
	switch {
	case len(users) == 0:
		return fmt.Errorf("parley: %s needs at least one user", call)
	case len(users) > MaxRoomUsersPerCall:
		return ErrTooManyRoomUsers
	}
	for _, u := range users {
		if u == "" {
			return fmt.Errorf("parley: %s names an empty user", call)
		}
	}
	return nil
}

// checkRoomKeys validates the attribute keys of a room call.
func checkRoomKeys(call string, keys []string) error {
	switch {
	case len(keys) == 0:
		return fmt.Errorf("parley: %s needs at least one key", call)
	case len(keys) > MaxRoomAttrsPerCall:
		return ErrTooManyRoomAttrs
	}
	for _, k := range keys {
		if k == "" {
			return fmt.Errorf("parley: %s names an empty key", call)
		}
	}
	return nil
}

func needRoom(call, room string) error {
	if room == "" {
		return fmt.Errorf("parley: %s needs a chat room ID", call)
	}
	return nil
}

// roomCall sends a room frame (op and fields in req) and returns its
// result.
func (c *Client) roomCall(ctx context.Context, req protocol.Request, retry bool) (*protocol.RoomResult, error) {
	req.T = protocol.FrameRoom
	r, err := c.call(ctx, req, retry)
	if err != nil {
		return nil, err
	}
	var res protocol.RoomResult
	if err := r.decode(&res); err != nil {
		return nil, err
	}
	return &res, nil
}

// roomOp makes a room call on one room that returns nothing.
func (c *Client) roomOp(ctx context.Context, call, room string, req protocol.Request, retry bool) error {
	if err := needRoom(call, room); err != nil {
		return err
	}
	req.Room = room
	_, err := c.roomCall(ctx, req, retry)
	return err
}

// CreateRoom creates a chat room owned by this user, which must be one of
// the app's room super admins (set through REST with the app token;
// protocol.ErrRoomForbidden otherwise). settings.Name is required; members
// (at most MaxRoomUsersPerCall) join at once. It returns the room, whose ID
// names it in every other room call and as the To of its messages. It is
// not repeated after a lost connection (ErrConnectionLost): MyRooms tells
// whether it happened.
func (c *Client) CreateRoom(ctx context.Context, settings RoomSettings, members ...string) (*protocol.RoomInfo, error) {
	if settings.Name == nil || *settings.Name == "" {
		return nil, errors.New("parley: CreateRoom needs a name")
	}
	if len(members) > 0 {
		if err := checkRoomUsers("CreateRoom", members); err != nil {
			return nil, err
		}
	}
	res, err := c.roomCall(ctx, protocol.Request{Op: protocol.RoomOpCreate, Settings: settings.wire(), Users: members}, false)
	if err != nil {
		return nil, err
	}
	if res.Room == nil {
		return nil, errors.New("parley: the server created a chat room without returning it")
	}
	return res.Room, nil
}

// JoinRoom makes this user a member of a chat room (joining again is
// harmless) and returns the room and its last messages, oldest first (the
// app's room_recent_messages, 10 by default). From then on the room's
// messages arrive as RoomMessageEvents and its changes as RoomEvents, while
// a device of the user is connected; a user with no device connected for
// longer than the app's grace period (room_grace_seconds, 2 minutes by
// default) leaves the room by itself, unless on its allow list (or its
// owner or an admin). Each message reaches the application once: a message
// that arrives live while the join is under way is left out of recent if
// it was delivered as an event, and not delivered as an event after
// JoinRoom returned it in recent. Errors: protocol.ErrRoomNotFound,
// protocol.ErrRoomBlocked, protocol.ErrRoomFull.
func (c *Client) JoinRoom(ctx context.Context, room string) (*protocol.RoomInfo, []*protocol.Item, error) {
	if err := needRoom("JoinRoom", room); err != nil {
		return nil, nil, err
	}
	w := c.rooms.startJoin(room)
	res, err := c.roomCall(ctx, protocol.Request{Op: protocol.RoomOpJoin, Room: room}, true)
	if err != nil {
		c.rooms.endJoin(room, w, nil)
		return nil, nil, err
	}
	recent := c.rooms.endJoin(room, w, res.Recent)
	if res.Room == nil {
		return nil, nil, errors.New("parley: the server answered join without the room")
	}
	return res.Room, recent, nil
}

// LeaveRoom ends this user's membership of a chat room (the owner cannot
// leave: protocol.ErrRoomForbidden; protocol.ErrNotRoomMember if the user
// is not a member). Attributes the user set with autoDelete are removed.
// It is not repeated after a lost connection: MyRooms tells whether it
// happened.
func (c *Client) LeaveRoom(ctx context.Context, room string) error {
	return c.roomOp(ctx, "LeaveRoom", room, protocol.Request{Op: protocol.RoomOpLeave}, false)
}

// RoomInfo returns a chat room's details, with up to 1,000 of its members
// in Affiliations. protocol.ErrRoomNotFound if there is no such room.
func (c *Client) RoomInfo(ctx context.Context, room string) (*protocol.RoomInfo, error) {
	if err := needRoom("RoomInfo", room); err != nil {
		return nil, err
	}
	res, err := c.roomCall(ctx, protocol.Request{Op: protocol.RoomOpInfo, Room: room}, true)
	if err != nil {
		return nil, err
	}
	if res.Room == nil {
		return nil, errors.New("parley: the server answered info without the room")
	}
	return res.Room, nil
}

// UpdateRoom changes a chat room's settings (owner and admins); nil fields
// stay as they are. Members get a RoomEvent of kind protocol.RoomUpdated
// whose Keys name the fields that changed ("name", "description",
// "maxusers", "custom").
func (c *Client) UpdateRoom(ctx context.Context, room string, settings RoomSettings) error {
	if settings.empty() {
		return errors.New("parley: UpdateRoom needs a setting to change")
	}
	return c.roomOp(ctx, "UpdateRoom", room, protocol.Request{Op: protocol.RoomOpUpdate, Settings: settings.wire()}, true)
}

// DeleteRoom deletes a chat room (its owner). Members get a RoomEvent of
// kind protocol.RoomDestroyed. It is not repeated after a lost connection.
func (c *Client) DeleteRoom(ctx context.Context, room string) error {
	return c.roomOp(ctx, "DeleteRoom", room, protocol.Request{Op: protocol.RoomOpDelete}, false)
}

// TransferRoom makes another member the chat room's owner (its owner);
// this user becomes an admin. Members get a RoomEvent of kind
// protocol.RoomOwnerChanged naming the new owner in Users. It is not
// repeated after a lost connection.
func (c *Client) TransferRoom(ctx context.Context, room, newOwner string) error {
	if err := needUser("TransferRoom", newOwner); err != nil {
		return err
	}
	return c.roomOp(ctx, "TransferRoom", room, protocol.Request{Op: protocol.RoomOpTransfer, User: newOwner}, false)
}

// RoomMembers returns a page of a chat room's members and the cursor of
// the next page ("" on the last). limit is 1-1000; 0 means the server
// default (100). Members may list them (protocol.ErrNotRoomMember
// otherwise).
func (c *Client) RoomMembers(ctx context.Context, room string, limit int, cursor string) ([]*protocol.GroupMember, string, error) {
	if err := needRoom("RoomMembers", room); err != nil {
		return nil, "", err
	}
	res, err := c.roomCall(ctx, protocol.Request{Op: protocol.RoomOpMembers, Room: room, Limit: limit, Cursor: cursor}, true)
	if err != nil {
		return nil, "", err
	}
	return res.Members, res.Cursor, nil
}

// AllRoomMembers returns all of a chat room's members, fetching page after
// page.
func (c *Client) AllRoomMembers(ctx context.Context, room string) ([]*protocol.GroupMember, error) {
	return all(func(cursor string) ([]*protocol.GroupMember, string, error) {
		return c.RoomMembers(ctx, room, allRoomMembersPage, cursor)
	})
}

// MyRooms returns a page of the chat rooms this user is a member of
// (without their members) and the cursor of the next page ("" on the
// last). limit is 1-1000; 0 means the server default (100).
func (c *Client) MyRooms(ctx context.Context, limit int, cursor string) ([]*protocol.RoomInfo, string, error) {
	res, err := c.roomCall(ctx, protocol.Request{Op: protocol.RoomOpMine, Limit: limit, Cursor: cursor}, true)
	if err != nil {
		return nil, "", err
	}
	return res.Rooms, res.Cursor, nil
}

// AllMyRooms returns all the chat rooms this user is a member of. The
// server pages by position, so a room joined or left meanwhile may be
// missed or seen twice; AllMyRooms drops the repeats.
func (c *Client) AllMyRooms(ctx context.Context) ([]*protocol.RoomInfo, error) {
	list, err := all(func(cursor string) ([]*protocol.RoomInfo, string, error) {
		return c.MyRooms(ctx, allRoomsPage, cursor)
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := list[:0]
	for _, r := range list {
		if r != nil && !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// RoomAttributes returns a chat room's attributes, only keys if any are
// given (members; protocol.ErrNotRoomMember otherwise).
func (c *Client) RoomAttributes(ctx context.Context, room string, keys ...string) (map[string]string, error) {
	if err := needRoom("RoomAttributes", room); err != nil {
		return nil, err
	}
	res, err := c.roomCall(ctx, protocol.Request{Op: protocol.RoomOpAttrs, Room: room, Keys: keys}, true)
	if err != nil {
		return nil, err
	}
	if res.Attrs == nil {
		res.Attrs = map[string]string{}
	}
	return res.Attrs, nil
}

// SetRoomAttributes sets attributes of a chat room as this user (a
// member), at most MaxRoomAttrsPerCall per call and 100 per room; keys are
// 1-128 characters, values at most 4,096. A key another member set stays
// theirs (it is in failed) unless force is set, which the owner and admins
// may do (protocol.ErrRoomForbidden for others). With autoDelete, the keys
// are removed when this user leaves the room. success names the keys set,
// failed the others with why; members get a RoomEvent of kind
// protocol.RoomAttrsSet with the new values.
func (c *Client) SetRoomAttributes(ctx context.Context, room string, attrs map[string]string, autoDelete, force bool) (success []string, failed map[string]string, err error) {
	if err := needRoom("SetRoomAttributes", room); err != nil {
		return nil, nil, err
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	if err := checkRoomKeys("SetRoomAttributes", keys); err != nil {
		return nil, nil, err
	}
	// Setting the same values again leaves the same attributes (at worst a
	// second event), so a lost reply is retried.
	res, err := c.roomCall(ctx, protocol.Request{Op: protocol.RoomOpSetAttrs, Room: room, Attrs: attrs, AutoDelete: autoDelete,
		Force: force}, true)
	if err != nil {
		return nil, nil, err
	}
	return attrResult(res)
}

// DeleteRoomAttributes deletes attributes of a chat room (at most
// MaxRoomAttrsPerCall): this user's own, or anyone's with force (owner and
// admins). success names the keys deleted, failed the others; members get
// a RoomEvent of kind protocol.RoomAttrsDeleted. It is not repeated after a
// lost connection (a repeat would report the deleted keys as failed):
// RoomAttributes tells what is left.
func (c *Client) DeleteRoomAttributes(ctx context.Context, room string, keys []string, force bool) (success []string, failed map[string]string, err error) {
	if err := needRoom("DeleteRoomAttributes", room); err != nil {
		return nil, nil, err
	}
	if err := checkRoomKeys("DeleteRoomAttributes", keys); err != nil {
		return nil, nil, err
	}
	res, err := c.roomCall(ctx, protocol.Request{Op: protocol.RoomOpDelAttrs, Room: room, Keys: keys, Force: force}, false)
	if err != nil {
		return nil, nil, err
	}
	return attrResult(res)
}

func attrResult(res *protocol.RoomResult) ([]string, map[string]string, error) {
	success, failed := res.Success, res.Errors
	if success == nil {
		success = []string{}
	}
	if failed == nil {
		failed = map[string]string{}
	}
	return success, failed, nil
}

// KickFromRoom removes members from a chat room (at most
// MaxRoomUsersPerCall): the owner removes anyone but themself, admins plain
// members (protocol.ErrRoomForbidden otherwise; protocol.ErrNotRoomMember
// if one is not a member, and then nobody is removed). The removed users'
// devices get a RoomEvent of kind protocol.RoomRemoved, the others a
// protocol.RoomMembersLeft. It is not repeated after a lost connection.
func (c *Client) KickFromRoom(ctx context.Context, room string, users ...string) error {
	if err := checkRoomUsers("KickFromRoom", users); err != nil {
		return err
	}
	return c.roomOp(ctx, "KickFromRoom", room, protocol.Request{Op: protocol.RoomOpKick, Users: users}, false)
}

// MuteRoomMembers mutes members of a chat room for d (rounded up to whole
// milliseconds), or until unmuted with MuteForever; 0 unmutes. The owner
// mutes anyone but themself, admins plain members. Their sends to the room
// fail with protocol.ErrRoomMuted meanwhile. Members get a RoomEvent of
// kind protocol.RoomMuted (Until: when it ends, ms; -1 for ever) or
// protocol.RoomUnmuted.
func (c *Client) MuteRoomMembers(ctx context.Context, room string, users []string, d time.Duration) error {
	if err := checkRoomUsers("MuteRoomMembers", users); err != nil {
		return err
	}
	var ms int64
	switch {
	case d == MuteForever:
		ms = -1
	case d < 0:
		return errors.New("parley: MuteRoomMembers needs a duration of 0 (unmute), more, or MuteForever")
	default:
		ms = int64((d + time.Millisecond - 1) / time.Millisecond)
	}
	return c.roomOp(ctx, "MuteRoomMembers", room, protocol.Request{Op: protocol.RoomOpMute, Users: users, Duration: ms}, true)
}

// MuteRoom turns a chat room's mute-all on or off (owner and admins): while
// it is on, only the owner, admins and the allow list (SetRoomAllowed) may
// send; others get protocol.ErrRoomMuted. Members get a RoomEvent of kind
// protocol.RoomMuteAll or protocol.RoomUnmuteAll.
func (c *Client) MuteRoom(ctx context.Context, room string, on bool) error {
	return c.roomOp(ctx, "MuteRoom", room, protocol.Request{Op: protocol.RoomOpMuteAll, On: &on}, true)
}

// SetRoomAnnouncement sets a chat room's announcement (owner and admins;
// at most 512 characters, "" clears it). Members get a RoomEvent of kind
// protocol.RoomAnnouncement with the text; RoomInfo returns it.
func (c *Client) SetRoomAnnouncement(ctx context.Context, room, text string) error {
	return c.roomOp(ctx, "SetRoomAnnouncement", room, protocol.Request{Op: protocol.RoomOpAnnounce, Text: &text}, true)
}

// SetRoomBlocked adds users to a chat room's block list (on) or takes them
// off it (owner and admins). Blocked members are removed (they get a
// RoomEvent of kind protocol.RoomRemoved), and blocked users cannot join
// (protocol.ErrRoomBlocked).
func (c *Client) SetRoomBlocked(ctx context.Context, room string, users []string, on bool) error {
	if err := checkRoomUsers("SetRoomBlocked", users); err != nil {
		return err
	}
	return c.roomOp(ctx, "SetRoomBlocked", room, protocol.Request{Op: protocol.RoomOpBlock, Users: users, On: &on}, true)
}

// SetRoomAllowed adds users to a chat room's allow list (on) or takes them
// off it (owner and admins): members on it may send while the room is
// muted for all (MuteRoom), and stay members while offline.
func (c *Client) SetRoomAllowed(ctx context.Context, room string, users []string, on bool) error {
	if err := checkRoomUsers("SetRoomAllowed", users); err != nil {
		return err
	}
	return c.roomOp(ctx, "SetRoomAllowed", room, protocol.Request{Op: protocol.RoomOpAllow, Users: users, On: &on}, true)
}

// SetRoomAdmins makes members admins of a chat room (on) or plain members
// again (the owner). It makes no RoomEvent; AllRoomMembers shows the roles.
func (c *Client) SetRoomAdmins(ctx context.Context, room string, users []string, on bool) error {
	if err := checkRoomUsers("SetRoomAdmins", users); err != nil {
		return err
	}
	return c.roomOp(ctx, "SetRoomAdmins", room, protocol.Request{Op: protocol.RoomOpAdmin, Users: users, On: &on}, true)
}
