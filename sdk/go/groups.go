package parley

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleyim/parley/protocol"
)

// MaxGroupUsersPerCall is how many users one group call may name
// (CreateGroup, InviteToGroup, KickFromGroup, SetGroupAdmins,
// MuteGroupMembers, SetGroupBlocked, SetGroupAllowed).
const MaxGroupUsersPerCall = 60

// ErrTooManyGroupUsers is returned, without asking the server, by a group
// call that names more than MaxGroupUsersPerCall users.
var ErrTooManyGroupUsers = fmt.Errorf("parley: a group call may name at most %d users", MaxGroupUsersPerCall)

const (
	allMembersPage = 1000
	allGroupsPage  = 100
	allReadersPage = 100
)

// checkGroupUsers validates the users of a group call: at least one (the
// server refuses an empty list), at most MaxGroupUsersPerCall.
func checkGroupUsers(call string, users []string) error {
	switch {
	case len(users) == 0:
		return fmt.Errorf("parley: %s needs at least one user", call)
	case len(users) > MaxGroupUsersPerCall:
		return ErrTooManyGroupUsers
	}
	for _, u := range users {
		if u == "" {
			return fmt.Errorf("parley: %s names an empty user", call)
		}
	}
	return nil
}

func needGroup(call, group string) error {
	if group == "" {
		return fmt.Errorf("parley: %s needs a group ID", call)
	}
	return nil
}

// groupCall sends a group frame (op and fields in req) and returns its
// result.
func (c *Client) groupCall(ctx context.Context, req protocol.Request, retry bool) (*protocol.GroupResult, error) {
	req.T = protocol.FrameGroup
	r, err := c.call(ctx, req, retry)
	if err != nil {
		return nil, err
	}
	var res protocol.GroupResult
	if err := r.decode(&res); err != nil {
		return nil, err
	}
	return &res, nil
}

// groupOp makes a group call on one group that returns nothing.
func (c *Client) groupOp(ctx context.Context, call, group string, req protocol.Request, retry bool) error {
	if err := needGroup(call, group); err != nil {
		return err
	}
	req.Group = group
	_, err := c.groupCall(ctx, req, retry)
	return err
}

// CreateGroup creates a group owned by this user, with settings (nil
// fields take their defaults: private, 200 members at most, invitations
// need the invitee's consent) and members (at most MaxGroupUsersPerCall),
// who join at once. Every member's devices get a group_created
// GroupNoticeEvent. It returns the group, whose ID names it in every other
// group call and as the To of its messages. protocol.ErrUserNotFound if a
// member does not exist, protocol.ErrGroupFull beyond MaxUsers. It is not
// repeated after a lost connection (ErrConnectionLost): MyGroups tells
// whether it happened.
func (c *Client) CreateGroup(ctx context.Context, settings protocol.GroupSettings, members ...string) (*protocol.GroupInfo, error) {
	if len(members) > 0 {
		if err := checkGroupUsers("CreateGroup", members); err != nil {
			return nil, err
		}
	}
	res, err := c.groupCall(ctx, protocol.Request{Op: protocol.GroupOpCreate, Settings: &settings, Users: members}, false)
	if err != nil {
		return nil, err
	}
	if res.Group == nil {
		return nil, errors.New("parley: the server created a group without returning it")
	}
	return res.Group, nil
}

// GroupInfo returns a group's details, with its members in Affiliations
// (up to 1,000 members). Members may read it, and anyone a public group's;
// protocol.ErrNotGroupMember otherwise, protocol.ErrGroupNotFound if there
// is no such group (or it was dissolved).
func (c *Client) GroupInfo(ctx context.Context, group string) (*protocol.GroupInfo, error) {
	if err := needGroup("GroupInfo", group); err != nil {
		return nil, err
	}
	res, err := c.groupCall(ctx, protocol.Request{Op: protocol.GroupOpInfo, Group: group}, true)
	if err != nil {
		return nil, err
	}
	if res.Group == nil {
		return nil, errors.New("parley: the server answered info without the group")
	}
	return res.Group, nil
}

// UpdateGroup changes a group's settings (owner and admins): nil fields
// stay as they are. Members get a group_updated GroupNoticeEvent naming the
// fields that changed. Limits (protocol.ErrIllegalArgument): groupname 128
// characters, description 512, custom 1,024, maxusers 1-10,000 and not
// below the members the group has.
func (c *Client) UpdateGroup(ctx context.Context, group string, settings protocol.GroupSettings) error {
	return c.groupOp(ctx, "UpdateGroup", group, protocol.Request{Op: protocol.GroupOpUpdate, Settings: &settings}, true)
}

// DissolveGroup deletes a group (its owner). Every member's devices, this
// one's too, get a GroupDestroyedEvent; its messages are gone. It is not
// repeated after a lost connection: the event tells whether it happened.
func (c *Client) DissolveGroup(ctx context.Context, group string) error {
	if err := needGroup("DissolveGroup", group); err != nil {
		return err
	}
	return c.change(ctx, protocol.Request{T: protocol.FrameGroup, Op: protocol.GroupOpDissolve, Group: group}, false)
}

// TransferGroup makes another member the group's owner (its owner); this
// user becomes an admin. Members get an owner_changed GroupNoticeEvent. It
// is not repeated after a lost connection.
func (c *Client) TransferGroup(ctx context.Context, group, newOwner string) error {
	if err := needUser("TransferGroup", newOwner); err != nil {
		return err
	}
	return c.groupOp(ctx, "TransferGroup", group, protocol.Request{Op: protocol.GroupOpTransfer, User: newOwner}, false)
}

// ApplyToGroup asks to join a public group, with an optional reason (≤256
// characters). joined is true when the user is a member now (the group
// does not need approval, or the user was one already); otherwise the
// group's owner and admins get a GroupApplyEvent, and the user a
// GroupApplyAcceptedEvent or GroupApplyDeclinedEvent when one of them
// answers. protocol.ErrGroupForbidden for a private group,
// protocol.ErrGroupBlocked if the group blocks the user. It is not repeated
// after a lost connection.
func (c *Client) ApplyToGroup(ctx context.Context, group, reason string) (joined bool, err error) {
	if err := needGroup("ApplyToGroup", group); err != nil {
		return false, err
	}
	res, err := c.groupCall(ctx, protocol.Request{Op: protocol.GroupOpApply, Group: group, Reason: reason}, false)
	if err != nil {
		return false, err
	}
	return res.Joined, nil
}

// AnswerApplication accepts or declines a user's application to a group
// (owner and admins), with an optional reason. The applicant gets a
// GroupApplyAcceptedEvent or GroupApplyDeclinedEvent; accepted, they join
// (member_joined notice). protocol.ErrRequestNotFound if the user has no
// pending application. It is not repeated after a lost connection.
func (c *Client) AnswerApplication(ctx context.Context, group, user string, accept bool, reason string) error {
	if err := needUser("AnswerApplication", user); err != nil {
		return err
	}
	return c.groupOp(ctx, "AnswerApplication", group, protocol.Request{Op: protocol.GroupOpAnswerApply, User: user,
		Accept: &accept, Reason: reason}, false)
}

// InviteToGroup invites users (at most MaxGroupUsersPerCall) to a group,
// with an optional reason: its owner and admins may, and its members when
// the group allows invites. When invitations need the invitee's consent
// (the default), each invitee gets a GroupInviteEvent and answers with
// AnswerInvitation, and added is empty; otherwise the users join at once
// and added names them. Users who are members already are skipped.
// protocol.ErrGroupBlocked if one is on the group's block list,
// protocol.ErrGroupFull beyond MaxUsers (nobody is added). It is not
// repeated after a lost connection.
func (c *Client) InviteToGroup(ctx context.Context, group string, users []string, reason string) (added []string, err error) {
	if err := needGroup("InviteToGroup", group); err != nil {
		return nil, err
	}
	if err := checkGroupUsers("InviteToGroup", users); err != nil {
		return nil, err
	}
	res, err := c.groupCall(ctx, protocol.Request{Op: protocol.GroupOpInvite, Group: group, Users: users, Reason: reason}, false)
	if err != nil {
		return nil, err
	}
	if res.Users == nil {
		res.Users = []string{}
	}
	return res.Users, nil
}

// AnswerInvitation accepts or declines this user's invitation to a group,
// with an optional reason. The inviter gets a GroupInviteAcceptedEvent or
// GroupInviteDeclinedEvent; accepting, the user joins (member_joined
// notice, from which this user's devices deliver the group's stream).
// protocol.ErrRequestNotFound without a pending invitation. It is not
// repeated after a lost connection.
func (c *Client) AnswerInvitation(ctx context.Context, group string, accept bool, reason string) error {
	return c.groupOp(ctx, "AnswerInvitation", group, protocol.Request{Op: protocol.GroupOpAnswerInvite, Accept: &accept,
		Reason: reason}, false)
}

// QuitGroup leaves a group (the owner must transfer or dissolve it
// instead: protocol.ErrGroupForbidden). The remaining members get a
// member_left GroupNoticeEvent. It is not repeated after a lost connection.
func (c *Client) QuitGroup(ctx context.Context, group string) error {
	return c.groupOp(ctx, "QuitGroup", group, protocol.Request{Op: protocol.GroupOpQuit}, false)
}

// KickFromGroup removes members (at most MaxGroupUsersPerCall): the owner
// removes anyone but themself, admins plain members
// (protocol.ErrGroupForbidden otherwise; protocol.ErrNotGroupMember if one
// is not a member, and then nobody is removed). The remaining members get a
// member_removed GroupNoticeEvent, the removed users a GroupRemovedEvent.
// It is not repeated after a lost connection.
func (c *Client) KickFromGroup(ctx context.Context, group string, users ...string) error {
	if err := checkGroupUsers("KickFromGroup", users); err != nil {
		return err
	}
	return c.groupOp(ctx, "KickFromGroup", group, protocol.Request{Op: protocol.GroupOpKick, Users: users}, false)
}

// SetGroupAdmins makes members admins (on) or plain members again (the
// owner; the owner and admins are at most 100, protocol.ErrGroupFull).
// Members get an admin_added or admin_removed GroupNoticeEvent.
func (c *Client) SetGroupAdmins(ctx context.Context, group string, users []string, on bool) error {
	if err := checkGroupUsers("SetGroupAdmins", users); err != nil {
		return err
	}
	return c.groupOp(ctx, "SetGroupAdmins", group, protocol.Request{Op: protocol.GroupOpAdmin, Users: users, On: &on}, true)
}

// MuteGroupMembers mutes members in a group for d (rounded up to whole
// milliseconds; 0 unmutes): the owner mutes anyone but themself, admins
// plain members. Their sends to the group fail with protocol.ErrGroupMuted
// meanwhile. Members get a member_muted (with Until) or member_unmuted
// GroupNoticeEvent.
func (c *Client) MuteGroupMembers(ctx context.Context, group string, users []string, d time.Duration) error {
	if err := checkGroupUsers("MuteGroupMembers", users); err != nil {
		return err
	}
	if d < 0 {
		return errors.New("parley: MuteGroupMembers needs a duration of 0 (unmute) or more")
	}
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	return c.groupOp(ctx, "MuteGroupMembers", group, protocol.Request{Op: protocol.GroupOpMute, Users: users, Duration: ms}, true)
}

// MuteGroup turns a group's mute-all on or off (owner and admins): while
// it is on, only the owner, admins and the allow list (SetGroupAllowed) may
// send; others get protocol.ErrGroupMuted. Members get a mute_all or
// unmute_all GroupNoticeEvent.
func (c *Client) MuteGroup(ctx context.Context, group string, on bool) error {
	return c.groupOp(ctx, "MuteGroup", group, protocol.Request{Op: protocol.GroupOpMuteAll, On: &on}, true)
}

// SetGroupAnnouncement sets a group's announcement (owner and admins; ≤512
// characters, "" clears it). Members get an announcement
// GroupNoticeEvent; GroupInfo returns it.
func (c *Client) SetGroupAnnouncement(ctx context.Context, group, text string) error {
	return c.groupOp(ctx, "SetGroupAnnouncement", group, protocol.Request{Op: protocol.GroupOpAnnounce, Text: &text}, true)
}

// ShieldGroup stops (on) or resumes live delivery of a group's items to
// this user's devices, without leaving it: while shielded, they arrive
// with the next sync (after a reconnect).
func (c *Client) ShieldGroup(ctx context.Context, group string, on bool) error {
	return c.groupOp(ctx, "ShieldGroup", group, protocol.Request{Op: protocol.GroupOpShield, On: &on}, true)
}

// SetGroupBlocked adds users to a group's block list (on) or takes them
// off it (owner and admins). Blocked members are removed (member_removed
// notice, GroupRemovedEvent), and blocked users cannot join, be invited or
// apply (protocol.ErrGroupBlocked).
func (c *Client) SetGroupBlocked(ctx context.Context, group string, users []string, on bool) error {
	if err := checkGroupUsers("SetGroupBlocked", users); err != nil {
		return err
	}
	return c.groupOp(ctx, "SetGroupBlocked", group, protocol.Request{Op: protocol.GroupOpBlock, Users: users, On: &on}, true)
}

// SetGroupAllowed adds users to a group's allow list (on) or takes them
// off it (owner and admins): members on it may send while the group is
// muted for all (MuteGroup).
func (c *Client) SetGroupAllowed(ctx context.Context, group string, users []string, on bool) error {
	if err := checkGroupUsers("SetGroupAllowed", users); err != nil {
		return err
	}
	return c.groupOp(ctx, "SetGroupAllowed", group, protocol.Request{Op: protocol.GroupOpAllow, Users: users, On: &on}, true)
}

// GroupMembers returns a page of a group's members (by when they were
// registered, not by role) and the cursor of the next page ("" on the
// last). limit is 1-1000; 0 means the server default (100). Members may
// list them, and anyone a public group's.
func (c *Client) GroupMembers(ctx context.Context, group string, limit int, cursor string) ([]*protocol.GroupMember, string, error) {
	if err := needGroup("GroupMembers", group); err != nil {
		return nil, "", err
	}
	res, err := c.groupCall(ctx, protocol.Request{Op: protocol.GroupOpMembers, Group: group, Limit: limit, Cursor: cursor}, true)
	if err != nil {
		return nil, "", err
	}
	return res.Members, res.Cursor, nil
}

// AllGroupMembers returns all of a group's members, fetching page after
// page.
func (c *Client) AllGroupMembers(ctx context.Context, group string) ([]*protocol.GroupMember, error) {
	return all(func(cursor string) ([]*protocol.GroupMember, string, error) {
		return c.GroupMembers(ctx, group, allMembersPage, cursor)
	})
}

// MyGroups returns a page of the groups this user belongs to (without
// their members) and the cursor of the next page ("" on the last). limit is
// 1-100; 0 means the server default (50).
func (c *Client) MyGroups(ctx context.Context, limit int, cursor string) ([]*protocol.GroupInfo, string, error) {
	res, err := c.groupCall(ctx, protocol.Request{Op: protocol.GroupOpMine, Limit: limit, Cursor: cursor}, true)
	if err != nil {
		return nil, "", err
	}
	return res.Groups, res.Cursor, nil
}

// AllMyGroups returns all the groups this user belongs to. The server
// pages by position, so a group joined or left while the pages are fetched
// may be missed or seen twice; AllMyGroups drops the repeats.
func (c *Client) AllMyGroups(ctx context.Context) ([]*protocol.GroupInfo, error) {
	list, err := all(func(cursor string) ([]*protocol.GroupInfo, string, error) {
		return c.MyGroups(ctx, allGroupsPage, cursor)
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := list[:0]
	for _, g := range list {
		if g != nil && !seen[g.ID] {
			seen[g.ID] = true
			out = append(out, g)
		}
	}
	return out, nil
}

// GroupReaders returns a page of the members who read a group message
// sent with NeedGroupAck (MarkMessageRead), how many read it in all, and
// the cursor of the next page ("" on the last). limit is 1-100; 0 means
// 100. Its sender and the group's members may ask.
func (c *Client) GroupReaders(ctx context.Context, msgID string, limit int, cursor string) (readers []string, count int, next string, err error) {
	if msgID == "" {
		return nil, 0, "", errors.New("parley: GroupReaders needs a message ID")
	}
	res, err := c.groupCall(ctx, protocol.Request{Op: protocol.GroupOpAcks, MsgID: msgID, Limit: limit, Cursor: cursor}, true)
	if err != nil {
		return nil, 0, "", err
	}
	if res.Users == nil {
		res.Users = []string{}
	}
	return res.Users, res.Count, res.Cursor, nil
}

// AllGroupReaders returns every member who read a group message sent with
// NeedGroupAck.
func (c *Client) AllGroupReaders(ctx context.Context, msgID string) ([]string, error) {
	return all(func(cursor string) ([]string, string, error) {
		users, _, next, err := c.GroupReaders(ctx, msgID, allReadersPage, cursor)
		return users, next, err
	})
}
