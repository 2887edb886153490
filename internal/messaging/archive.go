package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// HourFormat is the layout of a history export's hour (UTC), as in
// Easemob's GET /chatmessages/{yyyyMMddHH}.
const HourFormat = "2006010215"

// ExportRecord is one line of a history export file (Easemob's format).
type ExportRecord struct {
	MsgID     string        `json:"msg_id"`
	Timestamp int64         `json:"timestamp"`
	Direction string        `json:"direction"`
	To        string        `json:"to"`
	From      string        `json:"from"`
	ChatType  string        `json:"chat_type"`
	Payload   ExportPayload `json:"payload"`
}

// ExportPayload is a record's message.
type ExportPayload struct {
	Bodies []json.RawMessage `json:"bodies"`
	Ext    json.RawMessage   `json:"ext"`
	From   string            `json:"from"`
	To     string            `json:"to"`
}

// ParseHour parses an export hour (yyyyMMddHH, UTC).
func ParseHour(hour string) (time.Time, error) {
	t, err := time.Parse(HourFormat, hour)
	if err != nil || len(hour) != len(HourFormat) {
		return time.Time{}, errs.New(protocol.ErrIllegalArgument, "time %q must be an hour written yyyyMMddHH (UTC)", hour)
	}
	return t, nil
}

const exportBatch = 500

// ExportHour writes the app's stored 1:1 and group messages created in one
// UTC hour to w, one JSON record (ExportRecord) per line, by creation time
// (app token). Recalled messages are left out; edited ones carry their
// latest content; imported ones are in the hour of their original time.
// Chat room messages are not stored, so not exported. It returns how many
// records it wrote.
func (s *Service) ExportHour(ctx context.Context, p *tenant.Principal, hour string, w io.Writer) (int, error) {
	if err := p.RequireAdmin(); err != nil {
		return 0, err
	}
	t, err := ParseHour(hour)
	if err != nil {
		return 0, err
	}
	since, until := t.UnixMilli(), t.Add(time.Hour).UnixMilli()
	var afterCreated, afterID int64
	n := 0
	for {
		items, err := s.st.Archive().Span(ctx, p.App.ID, since, until, afterCreated, afterID, exportBatch)
		if err != nil {
			return n, err
		}
		for i := range items {
			it := &items[i]
			afterCreated, afterID = it.Created, it.ID
			line, err := json.Marshal(s.exportRecord(ctx, it))
			if err != nil {
				return n, err
			}
			if _, err := w.Write(append(line, '\n')); err != nil {
				return n, err
			}
			n++
		}
		if len(items) < exportBatch {
			return n, nil
		}
	}
}

func (s *Service) exportRecord(ctx context.Context, it *store.ArchivedItem) *ExportRecord {
	from := s.name(ctx, it.AppID, it.From)
	to, chatType := strconv.FormatInt(it.To, 10), protocol.ChatTypeGroup
	if it.ConvKind == store.ConvChat {
		to, chatType = s.name(ctx, it.AppID, it.To), protocol.ChatTypeChat
	}
	// A body is the message's body object with its type, as in Easemob's
	// files: {"type":"txt","msg":"..."}.
	var fields map[string]json.RawMessage
	if json.Unmarshal(it.Body, &fields) != nil || fields == nil {
		fields = map[string]json.RawMessage{}
	}
	fields["type"], _ = json.Marshal(it.Type)
	body, _ := json.Marshal(fields)
	ext := json.RawMessage(it.Ext)
	if len(ext) == 0 {
		ext = json.RawMessage(`{}`)
	}
	return &ExportRecord{MsgID: strconv.FormatInt(it.ID, 10), Timestamp: it.Created, Direction: "outgoing", To: to, From: from,
		ChatType: chatType, Payload: ExportPayload{Bodies: []json.RawMessage{body}, Ext: ext, From: from, To: to}}
}

// ImportRequest is one historical message to import (Easemob's
// /messages/users/import and /messages/chatgroups/import).
type ImportRequest struct {
	ChatType string // chat or groupchat
	From     string
	Target   string // a username (chat) or group ID (groupchat)
	Type     string
	Body     json.RawMessage
	Ext      json.RawMessage
	// Timestamp is the message's original time (ms); 0 means now.
	Timestamp int64
	// AckRead marks a 1:1 message read by the recipient.
	AckRead bool
}

// MaxImportSkew is how far in the future an imported timestamp may be.
const MaxImportSkew = time.Minute

// Import stores one historical message with its original time (app
// token). It gets a fresh ID and the next seq of its conversation, so a
// conversation's imported messages must come in timestamp order and
// before its newer messages: a timestamp older than the conversation's
// last message is refused, which keeps the messages' seq order and time
// order the same (history by time, SeqAt, relies on it). Imports are not delivered live
// and do not pass the send filters (they are history); devices get them on
// sync and in roaming history at their original times. The body is checked
// as a send's.
func (s *Service) Import(ctx context.Context, p *tenant.Principal, req ImportRequest) (string, error) {
	if err := p.RequireAdmin(); err != nil {
		return "", err
	}
	if req.From == "" || req.Target == "" {
		return "", errs.New(protocol.ErrIllegalArgument, "from and target are required")
	}
	now := s.now()
	ts := req.Timestamp
	switch {
	case ts == 0:
		ts = now.UnixMilli()
	case ts < 0 || ts > now.Add(MaxImportSkew).UnixMilli():
		return "", errs.New(protocol.ErrIllegalArgument, "msg_timestamp must be a past time in Unix milliseconds")
	}
	body, ext, uuids, err := validate(p.App, &SendRequest{ChatType: req.ChatType, Type: req.Type, Body: req.Body, Ext: req.Ext})
	if err != nil {
		return "", err
	}
	fileIDs, err := s.attachments(ctx, p.App, uuids)
	if err != nil {
		return "", err
	}
	from, err := s.users.Lookup(ctx, p.App, req.From)
	if err != nil {
		return "", err
	}
	it := store.Item{ID: s.ids.Next(), AppID: p.App.ID, Kind: store.ItemMsg, From: from.ID, Type: req.Type, Body: body, Ext: ext,
		Created: ts}
	var convID, toID int64
	switch req.ChatType {
	case protocol.ChatTypeChat:
		to, err := s.users.Lookup(ctx, p.App, req.Target)
		if err != nil {
			return "", err
		}
		if to.ID == from.ID {
			return "", errs.New(protocol.ErrIllegalArgument, "from and target are the same user")
		}
		it.To, toID = to.ID, to.ID
		c, err := s.st.Conversations().Find(ctx, p.App.ID, store.ConvChat, min(from.ID, to.ID), max(from.ID, to.ID))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if c != nil {
			convID = c.ID
		}
	case protocol.ChatTypeGroup:
		gid, err := strconv.ParseInt(req.Target, 10, 64)
		if err != nil || gid <= 0 || s.Groups == nil {
			return "", errs.New(protocol.ErrGroupNotFound, "group id %q doesn't exist", req.Target)
		}
		if convID, err = s.Groups.GroupConv(ctx, p.App.ID, gid); err != nil {
			return "", err
		}
		it.ConvID, it.To = convID, gid
		s.kinds.m.Store(convID, gid)
	default:
		return "", errs.New(protocol.ErrIllegalArgument, "chat type %q cannot be imported", req.ChatType)
	}
	if convID != 0 {
		if err := s.checkImportOrder(ctx, convID, ts); err != nil {
			return "", err
		}
	}
	op := &store.AppendOp{Item: it, Files: fileIDs}
	if err := s.st.Messages().Append(ctx, []*store.AppendOp{op}); err != nil {
		return "", err
	}
	if op.Err != nil {
		return "", op.Err
	}
	if req.AckRead && req.ChatType == protocol.ChatTypeChat {
		if _, _, err := s.st.Conversations().MarkRead(ctx, op.Item.ConvID, toID, op.Item.Seq, s.ids.Next()); err != nil {
			s.log.Warn("mark an imported message read", "err", err)
		}
	}
	return strconv.FormatInt(op.Item.ID, 10), nil
}

// checkImportOrder refuses a timestamp older than the conversation's last
// message. Other items (group notices: the group's creation, members
// joining) are not considered, so that a group created to receive a
// migrated history can take it; a notice then sits before older imports
// in seq order, and a time anchor that lands on it is approximate to it.
// (Two concurrent writes to one conversation may also interleave.)
func (s *Service) checkImportOrder(ctx context.Context, convID, ts int64) error {
	last, err := s.st.Messages().History(ctx, convID, store.HistoryQuery{Limit: 1})
	if err != nil || len(last) == 0 {
		return err
	}
	if ts < last[0].Created {
		return errs.New(protocol.ErrIllegalArgument,
			"msg_timestamp %d is older than the conversation's last message (%d): import a conversation's messages in timestamp order, before its newer messages",
			ts, last[0].Created)
	}
	return nil
}
