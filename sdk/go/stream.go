package parley

import (
	"context"
	"log/slog"

	"github.com/parleyim/parley/protocol"
)

// puller fetches a conversation's items after a seq (the pull request).
type puller func(ctx context.Context, convID string, afterSeq int64) (items []*protocol.Item, more bool, err error)

// stream turns conversation items from pushes, syncs, pulls and acks into
// events: each (conv_id, seq) once, in seq order per conversation, with any
// gap pulled before a later item is delivered. It is owned by the Client's
// processing goroutine.
type stream struct {
	seq   *sequencer
	rcpt  *receiptBatcher
	state State
	self  func() string // the signed-in user
	emit  func(ev Event, commit func())
	log   *slog.Logger
	// outside holds the group conversations whose last delivered item is a
	// notice of the user leaving: their items are skipped until a notice of
	// the user joining again (groupnotices.go).
	outside map[string]bool
}

// apply handles one item that arrived on its own: a live push, or the item
// built from the ack of an own send.
func (s *stream) apply(ctx context.Context, pull puller, it *protocol.Item) error {
	if it.Seq == 0 { // ROUTE_ONLINE: not part of the stream
		s.deliver(it)
		return nil
	}
	switch s.seq.check(it.ConvID, it.Seq) {
	case seqDuplicate:
		return nil
	case seqGap:
		if it.ChatType == protocol.ChatTypeGroup && s.seq.local(it.ConvID) == 0 && joins(it, s.self()) {
			// The user's join, in a group this device has nothing of yet: its
			// stream starts here.
			s.skipTo(it.ConvID, it.Seq-1)
			break
		}
		if it.ChatType == protocol.ChatTypeGroup {
			if err := s.startGroup(ctx, pull, it.ConvID, it.Seq); err != nil {
				return err
			}
		}
		if err := s.catchUp(ctx, pull, it.ConvID, it.Seq); err != nil {
			return err
		}
		switch s.seq.check(it.ConvID, it.Seq) {
		case seqDuplicate:
			return nil
		case seqGap:
			// The server pushed an item its pull does not return yet. Leave it to
			// the next sync rather than break the order.
			s.log.Warn("pull did not reach a pushed item; leaving it to the next sync",
				"conv_id", it.ConvID, "seq", it.Seq, "local_seq", s.seq.local(it.ConvID))
			return nil
		}
	}
	s.deliver(it)
	return nil
}

// catchUp pulls a conversation from its local seq until it reaches upTo (0:
// until the server has no more) and delivers what it gets.
func (s *stream) catchUp(ctx context.Context, pull puller, convID string, upTo int64) error {
	for {
		after := s.seq.local(convID)
		if upTo > 0 && after >= upTo {
			return nil
		}
		items, more, err := pull(ctx, convID, after)
		if err != nil {
			return err
		}
		moved := false
		for _, it := range items {
			if it == nil || it.ConvID != convID || it.Seq <= s.seq.local(convID) {
				continue
			}
			if l := s.seq.local(convID); it.Seq > l+1 {
				// The pull answer is authoritative: items the user deleted
				// (cleared_seq) are not returned.
				s.log.Debug("pull skipped seqs", "conv_id", convID, "from", l+1, "to", it.Seq-1)
			}
			s.deliver(it)
			moved = true
		}
		if !more || !moved {
			return nil
		}
	}
}

// startGroup places a group conversation this device has nothing of yet
// (local seq 0) just before the notice of the user's latest join at or
// below upTo, so that catching up delivers the user's membership, not the
// group's history. Without such a notice it starts from the beginning.
func (s *stream) startGroup(ctx context.Context, pull puller, convID string, upTo int64) error {
	if s.seq.local(convID) != 0 {
		return nil
	}
	join, err := s.findJoin(ctx, pull, convID, upTo)
	if err != nil {
		return err
	}
	if join > 1 {
		s.skipTo(convID, join-1)
	}
	return nil
}

// deliver emits an item as an event and advances the conversation's seq.
func (s *stream) deliver(it *protocol.Item) {
	if it.Seq > 0 && !s.seq.advance(it.ConvID, it.Seq) {
		return
	}
	group := it.ChatType == protocol.ChatTypeGroup
	self := s.self()
	if group && it.Seq > 0 {
		switch {
		case joins(it, self):
			delete(s.outside, it.ConvID)
		case s.outside[it.ConvID]:
			// Between the user leaving the group and joining it again.
			conv, seq := it.ConvID, it.Seq
			s.emit(nil, func() { s.state.SetSeq(conv, seq) })
			return
		case leaves(it, self):
			if s.outside == nil {
				s.outside = map[string]bool{}
			}
			s.outside[it.ConvID] = true
		}
	}
	var ev Event
	switch it.Kind {
	case protocol.ItemMsg:
		ev = MessageEvent{Item: it, Mentioned: group && it.From != self && mentions(it.Ext, self)}
	case protocol.ItemRecall:
		ev = RecallEvent{Item: it}
	case protocol.ItemEdit:
		ev = EditEvent{Item: it}
	case protocol.ItemNotice:
		ev = s.newGroupNoticeEvent(it)
	default:
		s.log.Debug("skipping an item of unknown kind", "kind", it.Kind, "conv_id", it.ConvID, "seq", it.Seq)
	}
	if it.Seq == 0 {
		s.emit(ev, nil)
		return
	}
	if it.From != self {
		s.rcpt.note(it.ConvID, it.Seq)
	}
	conv, seq := it.ConvID, it.Seq
	s.emit(ev, func() { s.state.SetSeq(conv, seq) })
}

// skipTo advances a conversation's seq without delivering items: the items
// up to seq were deleted by the user (cleared_seq), or this is a new device
// that starts at the conversation's last seq.
func (s *stream) skipTo(convID string, seq int64) {
	if s.seq.advance(convID, seq) {
		s.emit(nil, func() { s.state.SetSeq(convID, seq) })
	}
}
