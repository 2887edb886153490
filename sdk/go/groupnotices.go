package parley

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/parleyim/parley/protocol"
)

// Group notice types: what a GroupNoticeEvent reports (its Type).
const (
	NoticeGroupCreated  = "group_created"  // Owner created the group with Members
	NoticeMemberJoined  = "member_joined"  // Users joined
	NoticeMemberLeft    = "member_left"    // Users quit
	NoticeMemberRemoved = "member_removed" // By removed Users (a kick, or a block)
	NoticeOwnerChanged  = "owner_changed"  // the group passed from OldOwner to NewOwner
	NoticeAdminAdded    = "admin_added"    // By made Users admins
	NoticeAdminRemoved  = "admin_removed"  // By made Users plain members again
	NoticeMemberMuted   = "member_muted"   // By muted Users until Until
	NoticeMemberUnmuted = "member_unmuted" // By unmuted Users
	NoticeMuteAll       = "mute_all"       // By muted the group for all but its owner, admins and allow list
	NoticeUnmuteAll     = "unmute_all"     // By ended the mute-all
	NoticeAnnouncement  = "announcement"   // By set the Announcement
	NoticeGroupUpdated  = "group_updated"  // By changed the settings named in Fields
	NoticeGroupDisabled = "group_disabled" // an app admin disabled the group: nobody may send
	NoticeGroupEnabled  = "group_enabled"  // an app admin enabled it again
)

// GroupNoticeEvent is a change to a group, as its members see it: an item
// of the group's stream (Item.Kind "notice"), delivered exactly once per
// device and in seq order with the group's messages, also to devices that
// were offline. Which fields are set depends on Type (see the Notice*
// constants); Item keeps the notice as the server sent it, and its Body the
// details as JSON, including fields a newer server may add.
type GroupNoticeEvent struct {
	Item *protocol.Item
	// Type is the notice type (Item.Type), one of the Notice* constants.
	Type string
	// Group is the group's ID.
	Group string
	// By is who made the change: the member who acted, the joining user
	// when they accepted an invitation or joined an open group, "" when an
	// app admin did it.
	By string
	// Users are the members the notice is about (joined, left, removed,
	// admins added or removed, muted, unmuted).
	Users []string
	// Owner and Members: group_created.
	Owner   string
	Members []string
	// OldOwner and NewOwner: owner_changed.
	OldOwner string
	NewOwner string
	// Until: member_muted, when the mute ends (ms since the epoch).
	Until int64
	// Announcement: the group's new announcement.
	Announcement string
	// Fields: group_updated, the settings that changed (their JSON names,
	// such as "groupname" or "maxusers"); read them with GroupInfo.
	Fields []string
}

// noticeBody is a notice's details as the server writes them.
type noticeBody struct {
	By           *string  `json:"by"`
	Users        []string `json:"users"`
	Owner        string   `json:"owner"`
	Members      []string `json:"members"`
	From         string   `json:"from"`
	To           string   `json:"to"`
	Until        int64    `json:"until"`
	Announcement string   `json:"announcement"`
	Fields       []string `json:"fields"`
}

func decodeNotice(it *protocol.Item) (noticeBody, bool) {
	var b noticeBody
	if len(it.Body) == 0 {
		return b, true
	}
	return b, json.Unmarshal(it.Body, &b) == nil
}

// newGroupNoticeEvent builds the event of a notice item. A body that does
// not decode leaves the detail fields empty; the notice is delivered all
// the same (Item.Body holds what came).
func (s *stream) newGroupNoticeEvent(it *protocol.Item) GroupNoticeEvent {
	ev := GroupNoticeEvent{Item: it, Type: it.Type, Group: it.To}
	b, ok := decodeNotice(it)
	if !ok {
		s.log.Debug("a group notice with a body that does not decode", "conv_id", it.ConvID, "seq", it.Seq, "type", it.Type)
	}
	switch {
	case b.By != nil:
		ev.By = *b.By
	case it.Type == NoticeGroupCreated || it.Type == NoticeOwnerChanged:
		ev.By = it.From // the creator; who transferred the group
	}
	ev.Users, ev.Owner, ev.Members = b.Users, b.Owner, b.Members
	ev.OldOwner, ev.NewOwner, ev.Until = b.From, b.To, b.Until
	ev.Announcement, ev.Fields = b.Announcement, b.Fields
	return ev
}

func hasUser(list []string, user string) bool {
	return slices.ContainsFunc(list, func(u string) bool { return strings.EqualFold(u, user) })
}

// joins reports whether a stream item is the notice of user becoming a
// member: the group's creation (as its owner or a first member), or a join.
func joins(it *protocol.Item, user string) bool {
	if it == nil || it.Kind != protocol.ItemNotice || user == "" ||
		(it.Type != NoticeMemberJoined && it.Type != NoticeGroupCreated) {
		return false
	}
	b, _ := decodeNotice(it)
	if it.Type == NoticeGroupCreated {
		return strings.EqualFold(b.Owner, user) || hasUser(b.Members, user)
	}
	return hasUser(b.Users, user)
}

// leaves reports whether a stream item is the notice of user leaving the
// group (quit, removed or blocked).
func leaves(it *protocol.Item, user string) bool {
	if it == nil || it.Kind != protocol.ItemNotice || user == "" ||
		(it.Type != NoticeMemberLeft && it.Type != NoticeMemberRemoved) {
		return false
	}
	b, _ := decodeNotice(it)
	return hasUser(b.Users, user)
}

// A group's stream holds everything since the group was created, and the
// server lets a member pull all of it; but a member's view starts when they
// joined, and pauses while they were not a member. The stream therefore
// delivers a group conversation this device has never delivered from (local
// seq 0) from the notice of the user's latest join on (findJoin), and skips
// the items between a notice of the user leaving and the next of their
// joining (stream.outside).

// findJoin returns the seq of the latest notice at or below upTo of the
// user joining a group conversation, or 0 if the items the server returns
// hold none. It looks back from upTo a window at a time, so its cost is
// about that of delivering the items after the join.
func (s *stream) findJoin(ctx context.Context, pull puller, convID string, upTo int64) (int64, error) {
	self := s.self()
	hi := upTo
	for hi > 0 {
		lo := max(0, hi-pullLimit)
		after, found := lo, int64(0)
		for after < hi {
			items, more, err := pull(ctx, convID, after)
			if err != nil {
				return 0, err
			}
			if len(items) > 0 && items[0] != nil && items[0].Seq > after+1 && after == lo {
				// Items up to the user's cleared_seq are not returned: nothing
				// older is visible.
				lo = 0
			}
			moved := false
			for _, it := range items {
				if it == nil || it.ConvID != convID || it.Seq <= after || it.Seq > hi {
					continue
				}
				if joins(it, self) {
					found = it.Seq
				}
				after, moved = it.Seq, true
			}
			if !more || !moved {
				break
			}
		}
		if found > 0 || lo == 0 {
			return found, nil
		}
		hi = lo
	}
	return 0, nil
}
