package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/parleyim/parley/internal/store"
)

type conversations struct{ db *DB }

const (
	qDelivered = `UPDATE conversation_members SET delivered_seq = ? WHERE conv_id = ? AND user_id = ? AND delivered_seq < ?`
	qRead      = `UPDATE conversation_members SET read_seq = ?,
		delivered_seq = CASE WHEN delivered_seq < ? THEN ? ELSE delivered_seq END,
		version = ? WHERE conv_id = ? AND user_id = ? AND read_seq < ?`
	// A read mark reaches the peer of a 1:1 conversation only (group read
	// receipts are per message: group_acks).
	qReadPeer = `UPDATE conversation_members SET version = ? WHERE conv_id = ? AND user_id <> ?
		AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = conversation_members.conv_id AND c.kind = 'chat')`
)

// Conversations implements store.Store.
func (db *DB) Conversations() store.ConversationStore { return conversations{db} }

// viewSelect reads a member's view. Its stamp is the later of the member's
// own version (read marks, pins, clears) and the conversation's last item;
// unread is counted from the stream, so a message touches no member row.
const viewStamp = `CASE WHEN m.version > c.last_item_id THEN m.version ELSE c.last_item_id END`

const unreadCount = `(SELECT COUNT(*) FROM (SELECT 1 FROM items i WHERE i.conv_id = m.conv_id AND i.seq > m.read_seq
		AND i.kind = 'msg' AND i.from_user <> m.user_id AND i.recalled = FALSE LIMIT 999) u)`

const viewSelect = `SELECT m.conv_id, m.user_id, m.read_seq, m.delivered_seq, m.cleared_seq,
	` + unreadCount + `, m.pinned,
	CASE WHEN m.mention_seq > m.read_seq OR c.mention_all_seq > m.read_seq THEN 1 ELSE 0 END,
	` + viewStamp + `, m.updated, c.id, c.app_id, c.kind, c.user_a, c.user_b, c.last_seq, c.last_item_id, c.created, c.updated,
	COALESCE(p.user_id, 0), COALESCE(p.read_seq, 0), COALESCE(p.delivered_seq, 0)
	FROM conversation_members m JOIN conversations c ON c.id = m.conv_id
	LEFT JOIN conversation_members p ON p.conv_id = m.conv_id AND p.user_id <> m.user_id AND c.kind = 'chat' `

// stateSelect is viewSelect without the unread count, for calls that only
// need membership and watermarks (pull, history, receipts).
var stateSelect = strings.Replace(viewSelect, unreadCount, "0", 1)

func scanView(row interface{ Scan(...any) error }) (*store.ConvView, error) {
	var v store.ConvView
	m, c := &v.Member, &v.Conv
	var mentioned int
	err := row.Scan(&m.ConvID, &m.UserID, &m.ReadSeq, &m.DeliveredSeq, &m.ClearedSeq, &m.Unread, &m.Pinned, &mentioned, &m.Version,
		&m.Updated, &c.ID, &c.AppID, &c.Kind, &c.UserA, &c.UserB, &c.LastSeq, &c.LastItemID, &c.Created, &c.Updated,
		&v.PeerID, &v.PeerReadSeq, &v.PeerDeliveredSeq)
	if err != nil {
		return nil, err
	}
	m.Mentioned = mentioned == 1
	return &v, nil
}

func (s conversations) views(ctx context.Context, q string, args ...any) ([]store.ConvView, error) {
	rows, err := s.db.read(ctx, (viewSelect + q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ConvView
	for rows.Next() {
		v, err := scanView(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

func (s conversations) Find(ctx context.Context, appID int64, kind string, userA, userB int64) (*store.Conversation, error) {
	a, b := pair(userA, userB)
	var c store.Conversation
	err := s.db.readRow(ctx, (`SELECT id, app_id, kind, user_a, user_b, last_seq, last_item_id, created, updated
		FROM conversations WHERE app_id = ? AND kind = ? AND user_a = ? AND user_b = ?`), appID, kind, a, b).
		Scan(&c.ID, &c.AppID, &c.Kind, &c.UserA, &c.UserB, &c.LastSeq, &c.LastItemID, &c.Created, &c.Updated)
	if err != nil {
		return nil, s.db.classify(err)
	}
	return &c, nil
}

func (s conversations) Get(ctx context.Context, id int64) (*store.Conversation, error) {
	var c store.Conversation
	err := s.db.readRow(ctx, `SELECT id, app_id, kind, user_a, user_b, last_seq, last_item_id, created, updated
		FROM conversations WHERE id = ?`, id).Scan(&c.ID, &c.AppID, &c.Kind, &c.UserA, &c.UserB, &c.LastSeq, &c.LastItemID,
		&c.Created, &c.Updated)
	if err != nil {
		return nil, s.db.classify(err)
	}
	return &c, nil
}

func (s conversations) View(ctx context.Context, convID, userID int64) (*store.ConvView, error) {
	v, err := scanView(s.db.readRow(ctx, (viewSelect + `WHERE m.conv_id = ? AND m.user_id = ?`), convID, userID))
	return v, s.db.classify(err)
}

func (s conversations) State(ctx context.Context, convID, userID int64) (*store.ConvView, error) {
	v, err := scanView(s.db.readRow(ctx, stateSelect+`WHERE m.conv_id = ? AND m.user_id = ?`, convID, userID))
	return v, s.db.classify(err)
}

func (s conversations) Changed(ctx context.Context, appID, userID, since int64, limit int) ([]store.ConvView, error) {
	return s.views(ctx, `WHERE m.app_id = ? AND m.user_id = ? AND (m.version > ? OR c.last_item_id > ?)
		ORDER BY `+viewStamp+` LIMIT ?`, appID, userID, since, since, limit)
}

func (s conversations) List(ctx context.Context, appID, userID int64, offset, limit int) ([]store.ConvView, error) {
	return s.views(ctx, `WHERE m.app_id = ? AND m.user_id = ? AND c.last_seq > m.cleared_seq
		ORDER BY m.pinned DESC, c.updated DESC, m.conv_id DESC LIMIT ? OFFSET ?`, appID, userID, limit, offset)
}

func (s conversations) MarkDelivered(ctx context.Context, convID, userID, seq int64) (bool, error) {
	var changed bool
	err := s.db.write(ctx, convID, func(ctx context.Context, tx *sql.Tx) error {
		res, err := txq{ctx, s.db, tx}.exec(qDelivered, seq, convID, userID, seq)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		changed = n > 0
		return err
	})
	return changed, err
}

func (s conversations) MarkRead(ctx context.Context, convID, userID, seq, version int64) (*store.ConvView, bool, error) {
	var changed bool
	err := s.db.write(ctx, convID, func(ctx context.Context, tx *sql.Tx) error {
		t := txq{ctx, s.db, tx}
		res, err := t.exec(qRead, seq, seq, seq, version, convID, userID, seq)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		changed = n > 0
		if changed {
			// The peer sees the new read mark on its next sync.
			_, err = t.exec(qReadPeer, version, convID, userID)
		}
		return err
	})
	if err != nil {
		return nil, false, s.db.classify(err)
	}
	v, err := s.View(ctx, convID, userID)
	return v, changed, err
}

func (s conversations) update(ctx context.Context, convID, userID int64, q string, args ...any) (*store.ConvView, error) {
	err := s.db.write(ctx, convID, func(ctx context.Context, tx *sql.Tx) error {
		res, err := txq{ctx, s.db, tx}.exec(q, args...)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return nil, s.db.classify(err)
	}
	return s.View(ctx, convID, userID)
}

func (s conversations) SetPinned(ctx context.Context, convID, userID int64, pinned bool, version int64) (*store.ConvView, error) {
	return s.update(ctx, convID, userID, `UPDATE conversation_members SET pinned = ?, version = ? WHERE conv_id = ? AND user_id = ?`,
		pinned, version, convID, userID)
}

func (s conversations) Clear(ctx context.Context, convID, userID, version int64) (*store.ConvView, error) {
	return s.update(ctx, convID, userID, `UPDATE conversation_members SET
		cleared_seq = (SELECT last_seq FROM conversations WHERE id = ?),
		read_seq = (SELECT last_seq FROM conversations WHERE id = ?),
		delivered_seq = (SELECT last_seq FROM conversations WHERE id = ?),
		version = ? WHERE conv_id = ? AND user_id = ?`, convID, convID, convID, version, convID, userID)
}

func (s conversations) Undelivered(ctx context.Context, appID, userID int64) (int64, error) {
	var n int64
	err := s.db.readRow(ctx, (`SELECT COUNT(*) FROM conversation_members m
		JOIN items i ON i.conv_id = m.conv_id AND i.seq > m.delivered_seq
		WHERE m.app_id = ? AND m.user_id = ? AND i.kind = 'msg' AND i.from_user <> m.user_id AND i.recalled = ?`),
		appID, userID, false).Scan(&n)
	return n, err
}
