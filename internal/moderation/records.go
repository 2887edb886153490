package moderation

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

func encodeCursor(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func decodeCursor(c string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", c)
	}
	return b, nil
}

// Report is a user's (or the app's) report of a message.
type Report struct {
	MsgID  string
	Type   string // the report's category, free text (Easemob's "type")
	Reason string
}

// Record is a reported or flagged message as admins see it.
type Record struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	MsgID    string `json:"msg_id,omitempty"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	ChatType string `json:"chat_type,omitempty"`
	MsgType  string `json:"msg_type,omitempty"`
	Content  string `json:"content,omitempty"`
	Words    string `json:"words,omitempty"`
	Reporter string `json:"reporter,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Created  int64  `json:"created"`
}

func recordOf(r *store.ModerationRecord) Record {
	out := Record{ID: strconv.FormatInt(r.ID, 10), Kind: r.Kind, From: r.From, To: r.To, ChatType: r.ChatType,
		MsgType: r.MsgType, Content: r.Content, Words: r.Words, Reporter: r.Reporter, Reason: r.Reason, Created: r.Created}
	if r.MsgID != 0 {
		out.MsgID = strconv.FormatInt(r.MsgID, 10)
	}
	return out
}

// ReportMessage records username's report of a message: the user itself
// (user token) or the app (app token). A user may report a 1:1 message it
// sent or received, or a message of a group; the record keeps a copy of
// the message as it is now.
func (s *Service) ReportMessage(ctx context.Context, p *tenant.Principal, u *users.Service, username string, r Report) (*Record, error) {
	name, err := users.NormalizeUsername(username)
	if err != nil {
		return nil, err
	}
	if err := p.RequireSelfOrAdmin(name); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(r.Reason) > MaxReasonChars || utf8.RuneCountInString(r.Type) > MaxWordChars {
		return nil, errs.New(protocol.ErrIllegalArgument, "reason is at most %d characters, type at most %d", MaxReasonChars, MaxWordChars)
	}
	id, err := strconv.ParseInt(r.MsgID, 10, 64)
	if err != nil || id <= 0 {
		return nil, errs.New(protocol.ErrIllegalArgument, "msgId must be a message ID")
	}
	reporterID, _, err := u.Resolve(ctx, p.App, name)
	if err != nil {
		return nil, err
	}
	it, err := s.st.Messages().Item(ctx, p.App.ID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && it.Kind != store.ItemMsg) {
		return nil, errs.New(protocol.ErrMessageNotFound, "message %s not found", r.MsgID)
	}
	if err != nil {
		return nil, err
	}
	conv, err := s.st.Conversations().Get(ctx, it.ConvID)
	if err != nil {
		return nil, err
	}
	chatType, to := protocol.ChatTypeGroup, strconv.FormatInt(it.To, 10)
	if conv.Kind == store.ConvChat {
		chatType = protocol.ChatTypeChat
		if !p.Admin && it.From != reporterID && it.To != reporterID {
			return nil, errs.New(protocol.ErrMessageNotFound, "message %s not found", r.MsgID)
		}
		names, err := s.st.Users().Names(ctx, p.App.ID, []int64{it.To})
		if err != nil {
			return nil, err
		}
		to = names[it.To]
	}
	from := ""
	if names, err := s.st.Users().Names(ctx, p.App.ID, []int64{it.From}); err == nil {
		from = names[it.From]
	}
	reporter := name
	if p.Admin && !p.IsUser(name) {
		reporter = name + " (app)"
	}
	reason := r.Reason
	if r.Type != "" {
		reason = strings.TrimSpace(r.Type + ": " + r.Reason)
	}
	rec := &store.ModerationRecord{ID: s.ids.Next(), AppID: p.App.ID, Kind: store.RecordReport, MsgID: it.ID, From: from, To: to,
		ChatType: chatType, MsgType: it.Type, Content: string(it.Body), Reporter: reporter, Reason: reason, Created: s.now().UnixMilli()}
	if err := s.st.Moderation().AddRecord(ctx, rec); err != nil {
		return nil, err
	}
	out := recordOf(rec)
	return &out, nil
}

// RecordPage is a page of records, newest first.
type RecordPage struct {
	Records []Record
	Cursor  string
}

// Records lists reports and flags (kind "report", "flag" or "" for both),
// newest first (app token).
func (s *Service) Records(ctx context.Context, p *tenant.Principal, kind, cursor string, limit int) (*RecordPage, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if kind != "" && kind != store.RecordReport && kind != store.RecordFlag {
		return nil, errs.New(protocol.ErrIllegalArgument, "kind must be report or flag")
	}
	if limit == 0 {
		limit = DefaultPage
	}
	if limit < 1 || limit > MaxPage {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", MaxPage)
	}
	var before int64
	if cursor != "" {
		var err error
		if before, err = strconv.ParseInt(cursor, 10, 64); err != nil || before <= 0 {
			return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", cursor)
		}
	}
	rows, err := s.st.Moderation().Records(ctx, p.App.ID, kind, before, limit+1)
	if err != nil {
		return nil, err
	}
	page := &RecordPage{Records: []Record{}}
	for i := range rows {
		if i == limit {
			page.Cursor = strconv.FormatInt(rows[i-1].ID, 10)
			break
		}
		page.Records = append(page.Records, recordOf(&rows[i]))
	}
	return page, nil
}
