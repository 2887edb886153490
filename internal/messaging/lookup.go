package messaging

import (
	"context"
	"errors"
	"strconv"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// LookupQuery names one conversation (a 1:1 chat between User and Peer, or
// a Group) and filters its messages. Zero values do not filter; Since <=
// time < Until.
type LookupQuery struct {
	User, Peer string
	Group      string
	Since      int64 // ms
	Until      int64 // ms
	Type       string
	From       string // sender's username
	Cursor     string
	Limit      int
}

// Lookup limits: a page holds at most MaxLookupLimit messages, and one call
// reads at most lookupScan items to fill it (a narrow filter over a long
// conversation then answers a short page with a cursor to go on).
const (
	MaxLookupLimit = 200
	lookupScan     = 2000
	lookupBatch    = 200
)

// LookupPage is a page of Lookup: newest first.
type LookupPage struct {
	Items  []*protocol.Item
	Cursor string // "" at the end
}

// Lookup lets an app admin read one conversation's messages, newest first,
// with their bodies (recalled messages come without). It is what the
// console's conversation lookup calls; users read through History.
func (s *Service) Lookup(ctx context.Context, p *tenant.Principal, q LookupQuery) (*LookupPage, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if q.Limit < 1 || q.Limit > MaxLookupLimit {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", MaxLookupLimit)
	}
	if q.Since < 0 || q.Until < 0 || (q.Until > 0 && q.Until <= q.Since) {
		return nil, errs.New(protocol.ErrIllegalArgument, "since and until are Unix milliseconds, since before until")
	}
	empty := &LookupPage{Items: []*protocol.Item{}}
	conv, err := s.lookupConv(ctx, p.App, q)
	if err != nil || conv == 0 {
		return empty, err
	}
	var from int64
	if q.From != "" {
		id, _, err := s.users.Resolve(ctx, p.App, q.From)
		if errs.Is(err, protocol.ErrUserNotFound) {
			return empty, nil
		}
		if err != nil {
			return nil, err
		}
		from = id
	}
	before := int64(0) // exclusive; 0: from the newest
	if q.Cursor != "" {
		if before, err = strconv.ParseInt(q.Cursor, 10, 64); err != nil || before <= 1 {
			return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", q.Cursor)
		}
	}
	if q.Until > 0 {
		seq, err := s.st.Messages().SeqAt(ctx, conv, q.Until)
		if err != nil {
			return nil, err
		}
		if before == 0 || seq < before {
			before = seq
		}
		if before <= 1 {
			return empty, nil
		}
	}
	var minSeq int64
	if q.Since > 0 {
		seq, err := s.st.Messages().SeqAt(ctx, conv, q.Since)
		if err != nil {
			return nil, err
		}
		minSeq = seq - 1
	}
	page := &LookupPage{Items: []*protocol.Item{}}
	scanned := 0
	for {
		batch, err := s.st.Messages().History(ctx, conv, store.HistoryQuery{BeforeSeq: before, MinSeq: minSeq, Limit: lookupBatch})
		if err != nil {
			return nil, err
		}
		// Oldest first: walk it backwards.
		for i := len(batch) - 1; i >= 0; i-- {
			it := &batch[i]
			before = it.Seq
			scanned++
			if (q.Type == "" || it.Type == q.Type) && (from == 0 || it.From == from) {
				page.Items = append(page.Items, s.toWire(ctx, it))
			}
			if len(page.Items) == q.Limit || scanned >= lookupScan {
				if before > minSeq+1 {
					page.Cursor = strconv.FormatInt(before, 10)
				}
				return page, nil
			}
		}
		if len(batch) < lookupBatch || before <= minSeq+1 {
			return page, nil
		}
	}
}

// lookupConv finds the conversation a query names; 0 if there is none.
func (s *Service) lookupConv(ctx context.Context, app *tenant.App, q LookupQuery) (int64, error) {
	switch {
	case q.Group != "" && (q.User != "" || q.Peer != ""):
		return 0, errs.New(protocol.ErrIllegalArgument, "give user and peer, or group, not both")
	case q.Group != "":
		gid, err := strconv.ParseInt(q.Group, 10, 64)
		if err != nil || gid <= 0 || s.Groups == nil {
			return 0, errs.New(protocol.ErrGroupNotFound, "group id %q doesn't exist", q.Group)
		}
		return s.Groups.GroupConv(ctx, app.ID, gid)
	case q.User == "" || q.Peer == "":
		return 0, errs.New(protocol.ErrIllegalArgument, "give user and peer (a 1:1 chat), or group")
	}
	a, _, err := s.users.Resolve(ctx, app, q.User)
	if err != nil {
		return 0, err
	}
	b, _, err := s.users.Resolve(ctx, app, q.Peer)
	if err != nil {
		return 0, err
	}
	c, err := s.st.Conversations().Find(ctx, app.ID, store.ConvChat, a, b)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return c.ID, nil
}
