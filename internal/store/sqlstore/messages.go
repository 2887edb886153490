package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/parleyim/parley/internal/store"
)

type messages struct{ db *DB }

// Messages implements store.Store.
func (db *DB) Messages() store.MessageStore { return messages{db} }

const itemCols = `id, app_id, conv_id, seq, kind, from_user, to_user, type, body, ext, client_msg_id, target, recalled, created`

// itemRead is what reads select: itemCols and the edit count.
const itemRead = itemCols + `, edits`

func (db *DB) scanItem(row interface{ Scan(...any) error }) (*store.Item, error) {
	var it store.Item
	var body, ext string
	if err := row.Scan(&it.ID, &it.AppID, &it.ConvID, &it.Seq, &it.Kind, &it.From, &it.To, &it.Type, &body, &ext,
		&it.ClientMsgID, &it.Target, &it.Recalled, &it.Created, &it.Edits); err != nil {
		return nil, err
	}
	var err error
	if it.Body, err = db.open(rowAD(adItemBody, it.ID), body); err != nil {
		return nil, err
	}
	if it.Ext, err = db.open(rowAD(adItemExt, it.ID), ext); err != nil {
		return nil, err
	}
	return &it, nil
}

// itemContent returns an item's body and ext as stored.
func (db *DB) itemContent(id int64, body, ext []byte) (string, string) {
	return db.seal(rowAD(adItemBody, id), body), db.seal(rowAD(adItemExt, id), ext)
}

func (db *DB) scanItems(rows *sql.Rows) ([]store.Item, error) {
	defer rows.Close()
	var out []store.Item
	for rows.Next() {
		it, err := db.scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *it)
	}
	return out, rows.Err()
}

const (
	qDedupe     = `SELECT ` + itemRead + ` FROM items WHERE app_id = ? AND from_user = ? AND client_msg_id = ? AND client_msg_id <> ''` // the last term lets the partial unique index serve it
	qFindConv   = `SELECT id FROM conversations WHERE app_id = ? AND kind = ? AND user_a = ? AND user_b = ?`
	qCreateConv = `INSERT INTO conversations (app_id, kind, user_a, user_b, last_seq, last_item_id, created, updated)
		VALUES (?, ?, ?, ?, 0, 0, ?, ?) ON CONFLICT DO NOTHING RETURNING id`
	qCreateMember = `INSERT INTO conversation_members (conv_id, user_id, app_id, version, updated) VALUES (?, ?, ?, ?, ?)`
	qNextSeq      = `UPDATE conversations SET last_seq = last_seq + 1, last_item_id = ?, updated = ? WHERE id = ? RETURNING last_seq`
	qInsertItem   = `INSERT INTO items (` + itemCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qItemByID     = `SELECT ` + itemRead + ` FROM items WHERE app_id = ? AND id = ?`
	qRecallMark   = `UPDATE items SET recalled = ?, body = '', ext = '' WHERE id = ?`
	qEditMark     = `UPDATE items SET body = ?, ext = ?, edits = edits + 1 WHERE id = ?`
	qFileRef      = `INSERT INTO file_refs (file_id, item_id) VALUES (?, ?) ON CONFLICT DO NOTHING`
	qFileUnref    = `DELETE FROM file_refs WHERE item_id = ? RETURNING file_id`
)

func pair(a, b int64) (int64, int64) {
	if a < b {
		return a, b
	}
	return b, a
}

// txq runs a prepared statement inside tx.
type txq struct {
	ctx context.Context
	db  *DB
	tx  *sql.Tx
}

func (t txq) row(q string, args ...any) (*sql.Row, error) {
	s, err := t.db.stmt(t.ctx, t.tx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryRowContext(t.ctx, args...), nil
}

func (t txq) exec(q string, args ...any) (sql.Result, error) {
	s, err := t.db.stmt(t.ctx, t.tx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(t.ctx, args...)
}

type convKey struct{ app, a, b int64 }

// conversation finds or creates the 1:1 conversation of two users. IDs of
// committed conversations are cached (Append fills the cache after its
// commit): a conversation row is never replaced.
func (t txq) conversation(appID, from, to, now, version int64) (id int64, err error) {
	a, b := pair(from, to)
	if v, ok := t.db.convIDs.Load(convKey{appID, a, b}); ok {
		return v.(int64), nil
	}
	row, err := t.row(qFindConv, appID, store.ConvChat, a, b)
	if err != nil {
		return 0, err
	}
	err = row.Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if row, err = t.row(qCreateConv, appID, store.ConvChat, a, b, now, now); err != nil {
		return 0, err
	}
	if err := row.Scan(&id); errors.Is(err, sql.ErrNoRows) {
		// Another node created it concurrently (PostgreSQL waited for its
		// commit): use that one.
		if row, err = t.row(qFindConv, appID, store.ConvChat, a, b); err != nil {
			return 0, err
		}
		return id, row.Scan(&id)
	} else if err != nil {
		return 0, err
	}
	for _, u := range []int64{a, b} {
		if _, err := t.exec(qCreateMember, id, u, appID, version, now); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (t txq) appendOne(op *store.AppendOp) error {
	it := &op.Item
	op.Duplicate = false
	if it.ClientMsgID != "" {
		row, err := t.row(qDedupe, it.AppID, it.From, it.ClientMsgID)
		if err != nil {
			return err
		}
		prev, err := t.db.scanItem(row)
		if err == nil {
			op.Item, op.Duplicate = *prev, true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	conv := it.ConvID // set by the caller for group streams
	if conv == 0 {
		var err error
		if conv, err = t.conversation(it.AppID, it.From, it.To, it.Created, it.ID); err != nil {
			return err
		}
	}
	row, err := t.row(qNextSeq, it.ID, it.Created, conv)
	if err != nil {
		return err
	}
	if err := row.Scan(&it.Seq); err != nil {
		return err
	}
	it.ConvID = conv
	if it.Kind == "" {
		it.Kind = store.ItemMsg
	}
	body, ext := t.db.itemContent(it.ID, it.Body, it.Ext)
	if _, err := t.exec(qInsertItem, it.ID, it.AppID, it.ConvID, it.Seq, it.Kind, it.From, it.To, it.Type,
		body, ext, it.ClientMsgID, int64(0), false, it.Created); err != nil {
		return err
	}
	for _, f := range op.Files {
		if _, err := t.exec(qFileRef, f, it.ID); err != nil {
			return err
		}
	}
	if op.MentionAll {
		if _, err := t.exec(`UPDATE conversations SET mention_all_seq = ? WHERE id = ?`, it.Seq, conv); err != nil {
			return err
		}
	}
	for _, u := range op.Mentions {
		if _, err := t.exec(`UPDATE conversation_members SET mention_seq = ? WHERE conv_id = ? AND user_id = ?`, it.Seq, conv, u); err != nil {
			return err
		}
	}
	if j := op.Push; j != nil {
		j.ID, j.ItemID, j.AppID = it.ID, it.ID, it.AppID
		if _, err := t.exec(qAddJob, t.db.jobArgs(j)...); err != nil {
			return err
		}
	}
	if j := op.Callback; j != nil {
		j.ID, j.ItemID, j.AppID, j.Rule = it.ID, it.ID, it.AppID, ""
		if _, err := t.exec(qAddCallbackJob, t.db.callbackJobArgs(j)...); err != nil {
			return err
		}
	}
	// Members' rows are not touched: the conversation's last_item_id is
	// their change stamp for messages, and unread is counted when read.
	return nil
}

func (s messages) Append(ctx context.Context, ops []*store.AppendOp) error {
	// One group-commit request per op: they share transactions with other
	// callers' ops, and a failing op is isolated by the writer's retry.
	var wg sync.WaitGroup
	var queueErr error
	for _, op := range ops {
		wg.Add(1)
		if err := s.Submit(ctx, op, func(*store.AppendOp) { wg.Done() }); err != nil {
			wg.Done()
			op.Err, queueErr = err, err
		}
	}
	wg.Wait()
	for _, op := range ops {
		if op.Err == nil || !errors.Is(op.Err, queueErr) {
			return nil
		}
	}
	return queueErr
}

// route sends all messages of one 1:1 conversation to the same writer, so
// they commit (and are announced) in submission order.
func route(appID, a, b int64) uint64 {
	h := uint64(appID)*0x9E3779B97F4A7C15 ^ uint64(a)*0xBF58476D1CE4E5B9 ^ uint64(b)*0x94D049BB133111EB
	return h ^ h>>31
}

func (s messages) Submit(ctx context.Context, op *store.AppendOp, done func(*store.AppendOp)) error {
	input := op.Item
	a, b := pair(input.From, input.To)
	var key int64 // lock order: the conversation, once known
	r := route(input.AppID, a, b)
	if input.ConvID != 0 { // a group stream: known, and its own route
		key, r = input.ConvID, uint64(input.ConvID)
	} else if v, ok := s.db.convIDs.Load(convKey{input.AppID, a, b}); ok {
		key = v.(int64)
	}
	var after func()
	if op.OnCommit != nil {
		after = func() {
			if !op.Duplicate {
				op.OnCommit(op)
			}
		}
	}
	req := &writeReq{key: key, fn: func(ctx context.Context, tx *sql.Tx) error {
		op.Item = input // a rerun starts from the caller's input
		return txq{ctx, s.db, tx}.appendOne(op)
	}, after: after, done: func(err error) {
		op.Err = err
		if err == nil && input.ConvID == 0 {
			s.db.convIDs.Store(convKey{op.Item.AppID, a, b}, op.Item.ConvID)
		}
		done(op)
	}}
	// A message into a known conversation (key) with nothing beside its
	// item and jobs may be appended with its neighbours (appendRun).
	if key != 0 && len(op.Files) == 0 && len(op.Mentions) == 0 && !op.MentionAll {
		req.app = &appendReq{op: op, input: input}
	}
	return s.db.submitReq(ctx, r, req)
}

func (s messages) Item(ctx context.Context, appID, id int64) (*store.Item, error) {
	it, err := s.db.scanItem(s.db.readRow(ctx, (`SELECT ` + itemRead + ` FROM items WHERE app_id = ? AND id = ?`), appID, id))
	return it, s.db.classify(err)
}

func (s messages) Items(ctx context.Context, convID, afterSeq int64, limit int) ([]store.Item, error) {
	rows, err := s.db.read(ctx, (`SELECT ` + itemRead + ` FROM items WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
		convID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	return s.db.scanItems(rows)
}

func (s messages) History(ctx context.Context, convID int64, q store.HistoryQuery) ([]store.Item, error) {
	var rows *sql.Rows
	var err error
	if q.Forward {
		after := max(q.AfterSeq, q.MinSeq)
		rows, err = s.db.read(ctx, (`SELECT ` + itemRead + ` FROM items
			WHERE conv_id = ? AND kind = 'msg' AND seq > ? ORDER BY seq LIMIT ?`), convID, after, q.Limit)
	} else {
		before := q.BeforeSeq
		if before <= 0 {
			before = 1 << 62
		}
		rows, err = s.db.read(ctx, (`SELECT ` + itemRead + ` FROM items
			WHERE conv_id = ? AND kind = 'msg' AND seq < ? AND seq > ? ORDER BY seq DESC LIMIT ?`), convID, before, q.MinSeq, q.Limit)
	}
	if err != nil {
		return nil, err
	}
	items, err := s.db.scanItems(rows)
	if err != nil {
		return nil, err
	}
	if !q.Forward {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	return items, nil
}

func (s messages) SeqAt(ctx context.Context, convID, t int64) (int64, error) {
	// Items are created in seq order (to the millisecond, among concurrent
	// senders), so a binary search over seq finds the first item at or
	// after t with a few point reads, and items need no time index.
	var last int64
	if err := s.db.readRow(ctx, `SELECT last_seq FROM conversations WHERE id = ?`, convID).Scan(&last); err != nil {
		return 0, s.db.classify(err)
	}
	lo, hi := int64(1), last+1 // the answer is in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo)/2
		var created int64
		err := s.db.readRow(ctx, `SELECT created FROM items WHERE conv_id = ? AND seq = ?`, convID, mid).Scan(&created)
		if err != nil {
			return 0, s.db.classify(err)
		}
		if created >= t {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

func (s messages) Recall(ctx context.Context, op *store.RecallOp) error {
	return s.db.write(ctx, op.ConvHint, func(ctx context.Context, tx *sql.Tx) error {
		t := txq{ctx, s.db, tx}
		row, err := t.row(qItemByID, op.AppID, op.TargetID)
		if err != nil {
			return err
		}
		target, err := s.db.scanItem(row)
		if err != nil {
			return err // ErrNoRows -> ErrNotFound
		}
		if target.Kind != store.ItemMsg || target.Recalled {
			return fmt.Errorf("%w: item %d is not a recallable message", store.ErrConflict, target.ID)
		}
		op.Target = *target
		if _, err := t.exec(qRecallMark, true, target.ID); err != nil {
			return err
		}
		if row, err = t.row(qNextSeq, op.RecallID, op.Created, target.ConvID); err != nil {
			return err
		}
		ev := store.Item{ID: op.RecallID, AppID: op.AppID, ConvID: target.ConvID, Kind: store.ItemRecall,
			From: target.From, To: target.To, Target: target.ID, Created: op.Created}
		if err := row.Scan(&ev.Seq); err != nil {
			return err
		}
		if _, err := t.exec(qInsertItem, ev.ID, ev.AppID, ev.ConvID, ev.Seq, ev.Kind, ev.From, ev.To, "", "", "", "",
			ev.Target, false, ev.Created); err != nil {
			return err
		}
		op.Event = ev
		if j := op.Callback; j != nil {
			j.ID, j.ItemID, j.AppID, j.Rule = ev.ID, ev.ID, ev.AppID, ""
			if _, err := t.exec(qAddCallbackJob, t.db.callbackJobArgs(j)...); err != nil {
				return err
			}
		}
		// The recalled message no longer holds its files.
		op.Files = op.Files[:0]
		rows, err := tx.QueryContext(ctx, s.db.rebind(qFileUnref), target.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f int64
			if err := rows.Scan(&f); err != nil {
				return err
			}
			op.Files = append(op.Files, f)
		}
		return rows.Err()
	})
}

func (s messages) Edit(ctx context.Context, op *store.EditOp) error {
	return s.db.write(ctx, op.ConvHint, func(ctx context.Context, tx *sql.Tx) error {
		t := txq{ctx, s.db, tx}
		row, err := t.row(qItemByID, op.AppID, op.TargetID)
		if err != nil {
			return err
		}
		target, err := s.db.scanItem(row)
		if err != nil {
			return err // ErrNoRows -> ErrNotFound
		}
		if target.Kind != store.ItemMsg || target.Recalled {
			return fmt.Errorf("%w: item %d is not an editable message", store.ErrConflict, target.ID)
		}
		if op.MaxEdits > 0 && target.Edits >= op.MaxEdits {
			return fmt.Errorf("%w: message %d was edited %d times", store.ErrLimit, target.ID, target.Edits)
		}
		op.Target = *target
		body, ext := s.db.itemContent(target.ID, op.Body, op.Ext)
		if _, err := t.exec(qEditMark, body, ext, target.ID); err != nil {
			return err
		}
		if row, err = t.row(qNextSeq, op.EditID, op.Created, target.ConvID); err != nil {
			return err
		}
		ev := store.Item{ID: op.EditID, AppID: op.AppID, ConvID: target.ConvID, Kind: store.ItemEdit,
			From: target.From, To: target.To, Type: target.Type, Body: op.Body, Ext: op.Ext, Target: target.ID,
			Created: op.Created, Edits: target.Edits + 1}
		if err := row.Scan(&ev.Seq); err != nil {
			return err
		}
		body, ext = s.db.itemContent(ev.ID, ev.Body, ev.Ext)
		if _, err := t.exec(qInsertItem, ev.ID, ev.AppID, ev.ConvID, ev.Seq, ev.Kind, ev.From, ev.To, ev.Type,
			body, ext, "", ev.Target, false, ev.Created); err != nil {
			return err
		}
		op.Event = ev
		return nil
	})
}
