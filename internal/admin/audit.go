package admin

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

// Entry is one line of the audit log. Detail must hold no secret
// (passwords, client secrets, push credentials, message bodies).
type Entry struct {
	ID     int64          `json:"id"`
	TS     int64          `json:"ts"`
	Actor  string         `json:"actor"`
	IP     string         `json:"ip"`
	Action string         `json:"action"`
	App    string         `json:"app"`
	Target string         `json:"target"`
	Detail map[string]any `json:"detail"`
}

// clip bounds a field taken from a request (a failed sign-in's username).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// Record appends an entry to the audit log, stamped now. A failure is
// logged, not returned: the change it describes has happened.
func (s *Service) Record(ctx context.Context, e Entry) {
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		b, err := json.Marshal(e.Detail)
		if err == nil {
			detail = b
		}
	}
	row := &store.AuditEntry{TS: s.now().UnixMilli(), Actor: clip(e.Actor, 128), IP: clip(e.IP, 64), Action: e.Action,
		App: clip(e.App, 200), Target: clip(e.Target, 256), Detail: detail}
	if err := s.st.Admins().AddAudit(context.WithoutCancel(ctx), row); err != nil {
		s.log.Error("audit log write failed", "action", e.Action, "actor", row.Actor, "err", err)
	}
}

// AuditQuery filters the audit log (owner only).
type AuditQuery struct {
	Actor, Action, App string
	Since, Until       int64
	Cursor             string
	Limit              int
}

// MaxAuditPage bounds one page of the audit log.
const MaxAuditPage = 200

// Audit returns entries matching q, newest first, and the cursor of the
// next page ("" at the end).
func (s *Service) Audit(ctx context.Context, actor *Account, q AuditQuery) ([]Entry, string, error) {
	if err := actor.RequireOwner(); err != nil {
		return nil, "", err
	}
	if q.Limit < 1 || q.Limit > MaxAuditPage {
		return nil, "", errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", MaxAuditPage)
	}
	if q.Since < 0 || q.Until < 0 {
		return nil, "", errs.New(protocol.ErrIllegalArgument, "since and until are Unix milliseconds")
	}
	var before int64
	if q.Cursor != "" {
		v, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || v <= 0 {
			return nil, "", errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", q.Cursor)
		}
		before = v
	}
	rows, err := s.st.Admins().Audit(ctx, store.AuditQuery{Actor: q.Actor, Action: q.Action, App: q.App, Since: q.Since,
		Until: q.Until, Before: before, Limit: q.Limit + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		next = strconv.FormatInt(rows[len(rows)-1].ID, 10)
	}
	out := make([]Entry, 0, len(rows))
	for _, r := range rows {
		e := Entry{ID: r.ID, TS: r.TS, Actor: r.Actor, IP: r.IP, Action: r.Action, App: r.App, Target: r.Target, Detail: map[string]any{}}
		if err := json.Unmarshal(r.Detail, &e.Detail); err != nil || e.Detail == nil {
			e.Detail = map[string]any{}
		}
		out = append(out, e)
	}
	return out, next, nil
}

// RunAuditPruner deletes audit entries older than retention once an hour
// until ctx ends (run it on one node: cluster.Node.Singleton).
func (s *Service) RunAuditPruner(ctx context.Context, retention time.Duration) {
	if retention <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := s.st.Admins().PruneAudit(ctx, s.now().Add(-retention).UnixMilli())
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("prune audit log", "err", err)
		case n > 0:
			s.log.Info("pruned audit log", "entries", n, "older_than", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
