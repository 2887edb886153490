package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/parleyim/parley/internal/store"
)

type social struct{ db *DB }

// Social implements store.Store.
func (db *DB) Social() store.SocialStore { return social{db} }

// addEvents records events inside tx.
func (s social) addEvents(ctx context.Context, tx *sql.Tx, evs []store.Event) error {
	for _, e := range evs {
		if _, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO user_events (id, app_id, user_id, payload, created)
			VALUES (?, ?, ?, ?, ?)`), e.ID, e.AppID, e.UserID, string(e.Payload), e.Created); err != nil {
			return err
		}
	}
	return nil
}

func (s social) AddEvents(ctx context.Context, evs []store.Event) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error { return s.addEvents(ctx, tx, evs) })
}

func (s social) AddContact(ctx context.Context, appID, a, b, now int64, evs []store.Event) (bool, error) {
	var added bool
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		added = false
		for _, d := range [][2]int64{{a, b}, {b, a}} {
			res, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO contacts (owner, friend, app_id, created)
				VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), d[0], d[1], appID, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				added = true
			}
		}
		if _, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM contact_requests
			WHERE (from_user = ? AND to_user = ?) OR (from_user = ? AND to_user = ?)`), a, b, b, a); err != nil {
			return err
		}
		if !added {
			return nil // nothing changed: no events
		}
		return s.addEvents(ctx, tx, evs)
	})
	return added, err
}

func (s social) RemoveContact(ctx context.Context, a, b int64, evs []store.Event) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM contacts WHERE (owner = ? AND friend = ?) OR (owner = ? AND friend = ?)`), a, b, b, a)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return s.addEvents(ctx, tx, evs)
	})
}

func (s social) SetRemark(ctx context.Context, owner, friend int64, remark string) error {
	res, err := s.db.exec(ctx, `UPDATE contacts SET remark = ? WHERE owner = ? AND friend = ?`, remark, owner, friend)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s social) Contacts(ctx context.Context, owner, after int64, limit int) ([]store.Contact, error) {
	rows, err := s.db.read(ctx, `SELECT owner, friend, remark, created FROM contacts WHERE owner = ? AND friend > ?
		ORDER BY friend LIMIT ?`, owner, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Contact
	for rows.Next() {
		var c store.Contact
		if err := rows.Scan(&c.Owner, &c.Friend, &c.Remark, &c.Created); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s social) exists(ctx context.Context, q string, args ...any) (bool, error) {
	var one int
	err := s.db.readRow(ctx, q, args...).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

func (s social) count(ctx context.Context, q string, args ...any) (int, error) {
	var n int
	err := s.db.readRow(ctx, q, args...).Scan(&n)
	return n, err
}

func (s social) IsContact(ctx context.Context, owner, friend int64) (bool, error) {
	return s.exists(ctx, `SELECT 1 FROM contacts WHERE owner = ? AND friend = ?`, owner, friend)
}

func (s social) CountContacts(ctx context.Context, owner int64) (int, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM contacts WHERE owner = ?`, owner)
}

func (s social) PutRequest(ctx context.Context, r store.ContactRequest, evs []store.Event) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO contact_requests (from_user, to_user, app_id, reason, created)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (from_user, to_user) DO UPDATE SET reason = excluded.reason, created = excluded.created`),
			r.From, r.To, r.AppID, r.Reason, r.Created); err != nil {
			return err
		}
		return s.addEvents(ctx, tx, evs)
	})
}

func (s social) DeleteRequest(ctx context.Context, from, to int64, evs []store.Event) (*store.ContactRequest, error) {
	var r store.ContactRequest
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.db.rebind(`DELETE FROM contact_requests WHERE from_user = ? AND to_user = ?
			RETURNING app_id, from_user, to_user, reason, created`), from, to).Scan(&r.AppID, &r.From, &r.To, &r.Reason, &r.Created); err != nil {
			return err
		}
		return s.addEvents(ctx, tx, evs)
	})
	if err != nil {
		return nil, s.db.classify(err)
	}
	return &r, nil
}

func (s social) Requests(ctx context.Context, to int64) ([]store.ContactRequest, error) {
	rows, err := s.db.read(ctx, `SELECT app_id, from_user, to_user, reason, created FROM contact_requests WHERE to_user = ?
		ORDER BY created, from_user`, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ContactRequest
	for rows.Next() {
		var r store.ContactRequest
		if err := rows.Scan(&r.AppID, &r.From, &r.To, &r.Reason, &r.Created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s social) Block(ctx context.Context, appID, owner int64, blocked []int64, now int64, evs []store.Event) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, b := range blocked {
			if _, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO blocks (owner, blocked, app_id, created) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`), owner, b, appID, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM contact_requests WHERE from_user = ? AND to_user = ?`), b, owner); err != nil {
				return err
			}
		}
		return s.addEvents(ctx, tx, evs)
	})
}

func (s social) Unblock(ctx context.Context, owner, blocked int64, evs []store.Event) error {
	return s.db.classify(s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM blocks WHERE owner = ? AND blocked = ?`), owner, blocked)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return s.addEvents(ctx, tx, evs)
	}))
}

func (s social) Blocked(ctx context.Context, owner, after int64, limit int) ([]int64, error) {
	return s.ids(ctx, `SELECT blocked FROM blocks WHERE owner = ? AND blocked > ? ORDER BY blocked LIMIT ?`, owner, after, limit)
}

func (s social) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := s.db.read(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (s social) IsBlocked(ctx context.Context, owner, other int64) (bool, error) {
	return s.exists(ctx, `SELECT 1 FROM blocks WHERE owner = ? AND blocked = ?`, owner, other)
}

func (s social) CountBlocked(ctx context.Context, owner int64) (int, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM blocks WHERE owner = ?`, owner)
}

func (s social) Profiles(ctx context.Context, userIDs []int64) (map[int64]*store.Profile, error) {
	out := map[int64]*store.Profile{}
	if len(userIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(userIDs))
	for i, id := range userIDs {
		args[i] = id
	}
	rows, err := s.db.r.QueryContext(ctx, s.db.rebind(`SELECT user_id, attrs, attrs_bytes, status, status_updated
		FROM user_profiles WHERE user_id IN (?`+strings.Repeat(", ?", len(userIDs)-1)+`)`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p store.Profile
		var attrs string
		if err := rows.Scan(&p.UserID, &attrs, &p.Bytes, &p.Status, &p.StatusUpdated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(attrs), &p.Attrs); err != nil {
			return nil, err
		}
		out[p.UserID] = &p
	}
	return out, rows.Err()
}

func (s social) SetAttrs(ctx context.Context, appID, userID int64, attrs map[string]string, size int, now int64, evs []store.Event) error {
	b, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO user_profiles (user_id, app_id, attrs, attrs_bytes, updated)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET attrs = excluded.attrs,
			attrs_bytes = excluded.attrs_bytes, updated = excluded.updated`), userID, appID, string(b), size, now); err != nil {
			return err
		}
		return s.addEvents(ctx, tx, evs)
	})
}

func (s social) SetStatus(ctx context.Context, appID, userID int64, status string, now int64) error {
	_, err := s.db.exec(ctx, `INSERT INTO user_profiles (user_id, app_id, status, status_updated, updated) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, status_updated = excluded.status_updated,
		updated = excluded.updated`, userID, appID, status, now, now)
	return err
}

func (s social) AttrsBytes(ctx context.Context, appID int64) (int64, error) {
	var n int64
	err := s.db.readRow(ctx, `SELECT COALESCE(SUM(attrs_bytes), 0) FROM user_profiles WHERE app_id = ?`, appID).Scan(&n)
	return n, err
}

func (s social) Subscribe(ctx context.Context, appID, subscriber int64, targets []int64, expires int64) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, t := range targets {
			if _, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO presence_subs (subscriber, target, app_id, expires)
				VALUES (?, ?, ?, ?) ON CONFLICT (subscriber, target) DO UPDATE SET expires = excluded.expires`),
				subscriber, t, appID, expires); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s social) Unsubscribe(ctx context.Context, subscriber int64, targets []int64) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, t := range targets {
			if _, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM presence_subs WHERE subscriber = ? AND target = ?`),
				subscriber, t); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s social) Subscriptions(ctx context.Context, subscriber, now int64, offset, limit int) ([]store.Subscription, int, error) {
	total, err := s.count(ctx, `SELECT COUNT(*) FROM presence_subs WHERE subscriber = ? AND expires > ?`, subscriber, now)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.db.read(ctx, `SELECT subscriber, target, expires FROM presence_subs WHERE subscriber = ? AND expires > ?
		ORDER BY target LIMIT ? OFFSET ?`, subscriber, now, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []store.Subscription
	for rows.Next() {
		var sub store.Subscription
		if err := rows.Scan(&sub.Subscriber, &sub.Target, &sub.Expires); err != nil {
			return nil, 0, err
		}
		out = append(out, sub)
	}
	return out, total, rows.Err()
}

func (s social) Subscribers(ctx context.Context, target, now int64) ([]int64, error) {
	return s.ids(ctx, `SELECT subscriber FROM presence_subs WHERE target = ? AND expires > ? ORDER BY subscriber`, target, now)
}

func (s social) SetMute(ctx context.Context, m store.Mute) error {
	if m.ChatUntil == 0 && m.GroupChatUntil == 0 && m.ChatRoomUntil == 0 {
		_, err := s.db.exec(ctx, `DELETE FROM mutes WHERE user_id = ?`, m.UserID)
		return err
	}
	_, err := s.db.exec(ctx, `INSERT INTO mutes (user_id, app_id, chat_until, groupchat_until, chatroom_until, updated)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET chat_until = excluded.chat_until,
		groupchat_until = excluded.groupchat_until, chatroom_until = excluded.chatroom_until, updated = excluded.updated`,
		m.UserID, m.AppID, m.ChatUntil, m.GroupChatUntil, m.ChatRoomUntil, m.Updated)
	return err
}

const muteCols = `user_id, app_id, chat_until, groupchat_until, chatroom_until, updated`

func scanMute(row interface{ Scan(...any) error }) (*store.Mute, error) {
	var m store.Mute
	err := row.Scan(&m.UserID, &m.AppID, &m.ChatUntil, &m.GroupChatUntil, &m.ChatRoomUntil, &m.Updated)
	return &m, err
}

func (s social) Mute(ctx context.Context, userID int64) (*store.Mute, error) {
	m, err := scanMute(s.db.readRow(ctx, `SELECT `+muteCols+` FROM mutes WHERE user_id = ?`, userID))
	if err != nil {
		return nil, s.db.classify(err)
	}
	return m, nil
}

func (s social) Mutes(ctx context.Context, appID, now int64, offset, limit int) ([]store.Mute, error) {
	rows, err := s.db.read(ctx, `SELECT `+muteCols+` FROM mutes WHERE app_id = ?
		AND (chat_until > ? OR groupchat_until > ? OR chatroom_until > ?) ORDER BY user_id LIMIT ? OFFSET ?`,
		appID, now, now, now, limit, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Mute
	for rows.Next() {
		m, err := scanMute(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

func (s social) Events(ctx context.Context, userID, after int64, limit int) ([]store.Event, error) {
	rows, err := s.db.read(ctx, `SELECT id, app_id, user_id, payload, created FROM user_events WHERE user_id = ? AND id > ?
		ORDER BY id LIMIT ?`, userID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var payload string
		if err := rows.Scan(&e.ID, &e.AppID, &e.UserID, &payload, &e.Created); err != nil {
			return nil, err
		}
		e.Payload = []byte(payload)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s social) PruneEvents(ctx context.Context, before int64) (int, error) {
	res, err := s.db.exec(ctx, `DELETE FROM user_events WHERE created < ?`, before)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
