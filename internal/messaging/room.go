package messaging

import (
	"context"
	"encoding/binary"
	"strconv"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Chat room messages are not stored: a send is checked, given an ID and
// published once on RoomSubject; every gateway hands the one encoded frame
// to the room's members it holds, dropping low-priority messages first
// when a member's queue fills (counted in metrics), and the rooms service
// on every node keeps the last few for joiners.

// RoomSubject carries every room's live traffic to every node.
const RoomSubject = "room"

// EventRoom is a room deliver event on RoomSubject.
const EventRoom = 'R'

// Room message priorities (chatroom_msg_level).
const (
	PriorityLow    byte = 0
	PriorityNormal byte = 1
	PriorityHigh   byte = 2
)

// ParsePriority reads a chatroom_msg_level ("" is normal).
func ParsePriority(level string) (byte, error) {
	switch level {
	case "", "normal":
		return PriorityNormal, nil
	case "low":
		return PriorityLow, nil
	case "high":
		return PriorityHigh, nil
	}
	return 0, errs.New(protocol.ErrIllegalArgument, "chatroom_msg_level must be high, normal or low")
}

// RoomGate is what messaging needs to know about rooms (internal/rooms).
type RoomGate interface {
	// CheckRoomSend allows a member's send (not muted, the room not muted
	// for them).
	CheckRoomSend(ctx context.Context, app *tenant.App, userID, roomID int64) error
	// RoomExists is for app-token sends, which need no membership.
	RoomExists(ctx context.Context, appID, roomID int64) error
}

// EncodeRoomDeliver builds a room deliver event.
func EncodeRoomDeliver(appID, roomID, skipUser int64, skipResource string, prio byte, frame []byte) []byte {
	if len(skipResource) > 255 {
		skipResource = skipResource[:255]
	}
	b := make([]byte, 0, 27+len(skipResource)+len(frame))
	b = append(b, EventRoom)
	b = binary.BigEndian.AppendUint64(b, uint64(appID))
	b = binary.BigEndian.AppendUint64(b, uint64(roomID))
	b = binary.BigEndian.AppendUint64(b, uint64(skipUser))
	b = append(b, prio, byte(len(skipResource)))
	b = append(b, skipResource...)
	return append(b, frame...)
}

// RoomDeliver is a decoded room deliver event.
type RoomDeliver struct {
	AppID, RoomID, SkipUser int64
	Priority                byte
	SkipResource            string
	Frame                   []byte
}

// DecodeRoomDeliver parses a room deliver event.
func DecodeRoomDeliver(b []byte) (RoomDeliver, bool) {
	if len(b) < 27 || b[0] != EventRoom {
		return RoomDeliver{}, false
	}
	d := RoomDeliver{AppID: int64(binary.BigEndian.Uint64(b[1:])), RoomID: int64(binary.BigEndian.Uint64(b[9:])),
		SkipUser: int64(binary.BigEndian.Uint64(b[17:])), Priority: b[25]}
	n := int(b[26])
	if len(b) < 27+n {
		return RoomDeliver{}, false
	}
	d.SkipResource, d.Frame = string(b[27:27+n]), b[27+n:]
	return d, true
}

// sendRoom sends to chat rooms: checked, not stored, published once.
func (s *Service) sendRoom(ctx context.Context, app *tenant.App, fromID int64, fromName string, cp copyTo, to []string,
	req SendRequest, body, ext []byte) ([]Result, error) {
	if s.Rooms == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "chat rooms are not available")
	}
	prio, err := ParsePriority(req.Priority)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(to))
	for i, r := range to {
		results[i].To = r
		rid, err := strconv.ParseInt(r, 10, 64)
		if err != nil || rid <= 0 {
			results[i].Err = errs.New(protocol.ErrRoomNotFound, "chat room id %q doesn't exist", r)
			continue
		}
		if cp.gated {
			err = s.Rooms.CheckRoomSend(ctx, app, fromID, rid)
		} else {
			err = s.Rooms.RoomExists(ctx, app.ID, rid)
		}
		if err != nil {
			results[i].Err = err
			continue
		}
		it := store.Item{ID: s.ids.Next(), AppID: app.ID, Kind: store.ItemMsg, From: fromID, To: rid, Type: req.Type,
			Body: body, Ext: ext, ClientMsgID: req.ClientMsgID, Created: s.now().UnixMilli()}
		w := s.wireItem(&it, fromName, r, protocol.ChatTypeRoom)
		w.Priority = req.Priority
		if err := s.bus.Publish(ctx, RoomSubject, EncodeRoomDeliver(app.ID, rid, fromID, cp.skip, prio, encodeItem(w))); err != nil {
			results[i].Err = err
			continue
		}
		results[i].Ack = &protocol.Ack{T: protocol.FrameAck, MsgID: strconv.FormatInt(it.ID, 10), TS: it.Created}
		s.sent(protocol.ChatTypeRoom, it.Type)
	}
	return results, nil
}

// Validate checks a message's type, body and ext as a send would, and
// returns the compacted body and ext (for broadcasts, which are not sends).
func Validate(app *tenant.App, typ string, body, ext []byte) ([]byte, []byte, error) {
	b, e, _, err := validate(app, &SendRequest{Type: typ, Body: body, Ext: ext})
	return b, e, err
}

// BroadcastSubject carries app-wide broadcasts to every node.
const BroadcastSubject = "bcast"

// EventBroadcast is a broadcast deliver event.
const EventBroadcast = 'B'

// EncodeBroadcast builds a broadcast event for an app's online users.
func EncodeBroadcast(appID int64, frame []byte) []byte {
	b := make([]byte, 0, 9+len(frame))
	b = append(b, EventBroadcast)
	b = binary.BigEndian.AppendUint64(b, uint64(appID))
	return append(b, frame...)
}

// DecodeBroadcast parses a broadcast event.
func DecodeBroadcast(b []byte) (appID int64, frame []byte, ok bool) {
	if len(b) < 9 || b[0] != EventBroadcast {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(b[1:])), b[9:], true
}

// WireItem is the wire form of an item from a named sender to a target.
func (s *Service) WireItem(it *store.Item, from, to, chatType string) *protocol.Item {
	return s.wireItem(it, from, to, chatType)
}
