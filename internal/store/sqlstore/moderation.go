package sqlstore

import (
	"context"
	"database/sql"

	"github.com/parleyim/parley/internal/store"
)

type moderation struct{ db *DB }

// Moderation implements store.Store.
func (db *DB) Moderation() store.ModerationStore { return moderation{db} }

func (s moderation) PutWords(ctx context.Context, words []store.ModerationWord) error {
	if len(words) == 0 {
		return nil
	}
	q := s.db.rebind(`INSERT INTO moderation_words (app_id, word, action, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (app_id, word) DO UPDATE SET action = excluded.action`)
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, w := range words {
			if _, err := tx.ExecContext(ctx, q, w.AppID, w.Word, w.Action, w.Created); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s moderation) DeleteWords(ctx context.Context, appID int64, words []string) (int, error) {
	n := 0
	q := s.db.rebind(`DELETE FROM moderation_words WHERE app_id = ? AND word = ?`)
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, w := range words {
			res, err := tx.ExecContext(ctx, q, appID, w)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

func (s moderation) Words(ctx context.Context, appID int64, contains, after string, limit int) ([]store.ModerationWord, error) {
	q := `SELECT app_id, word, action, created FROM moderation_words WHERE app_id = ? AND word > ?`
	args := []any{appID, after}
	if contains != "" {
		q += ` AND word LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscape(contains)+"%")
	}
	q += ` ORDER BY word`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.read(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ModerationWord
	for rows.Next() {
		var w store.ModerationWord
		if err := rows.Scan(&w.AppID, &w.Word, &w.Action, &w.Created); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (s moderation) AddRecord(ctx context.Context, r *store.ModerationRecord) error {
	_, err := s.db.exec(ctx, `INSERT INTO moderation_records (id, app_id, kind, msg_id, from_user, to_target, chat_type,
		msg_type, content, words, reporter, reason, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.AppID, r.Kind, r.MsgID, r.From, r.To, r.ChatType, r.MsgType, s.db.seal(rowAD(adModContent, r.ID), []byte(r.Content)),
		r.Words, r.Reporter, r.Reason, r.Created)
	return err
}

func (s moderation) Records(ctx context.Context, appID int64, kind string, beforeID int64, limit int) ([]store.ModerationRecord, error) {
	q := `SELECT id, app_id, kind, msg_id, from_user, to_target, chat_type, msg_type, content, words, reporter, reason, created
		FROM moderation_records WHERE app_id = ?`
	args := []any{appID}
	if kind != "" {
		q += ` AND kind = ?`
		args = append(args, kind)
	}
	if beforeID > 0 {
		q += ` AND id < ?`
		args = append(args, beforeID)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.read(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ModerationRecord
	for rows.Next() {
		var r store.ModerationRecord
		var content string
		if err := rows.Scan(&r.ID, &r.AppID, &r.Kind, &r.MsgID, &r.From, &r.To, &r.ChatType, &r.MsgType, &content,
			&r.Words, &r.Reporter, &r.Reason, &r.Created); err != nil {
			return nil, err
		}
		// A copy of what someone wrote (a nickname may look like a
		// ciphertext): one that does not open is shown as stored.
		if b, err := s.db.open(rowAD(adModContent, r.ID), content); err == nil {
			r.Content = string(b)
		} else {
			r.Content = content
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

type archive struct{ db *DB }

// Archive implements store.Store.
func (db *DB) Archive() store.ArchiveStore { return archive{db} }

func (s archive) Span(ctx context.Context, appID, since, until, afterCreated, afterID int64, limit int) ([]store.ArchivedItem, error) {
	rows, err := s.db.read(ctx, `SELECT i.id, i.app_id, i.conv_id, i.seq, i.kind, i.from_user, i.to_user, i.type, i.body, i.ext,
		i.client_msg_id, i.created, c.kind
		FROM items i JOIN conversations c ON c.id = i.conv_id
		WHERE i.app_id = ? AND i.kind = 'msg' AND i.created >= ? AND i.created < ? AND NOT i.recalled
		AND (i.created > ? OR (i.created = ? AND i.id > ?))
		ORDER BY i.created, i.id LIMIT ?`, appID, since, until, afterCreated, afterCreated, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ArchivedItem
	for rows.Next() {
		var it store.ArchivedItem
		var body, ext string
		if err := rows.Scan(&it.ID, &it.AppID, &it.ConvID, &it.Seq, &it.Kind, &it.From, &it.To, &it.Type, &body, &ext,
			&it.ClientMsgID, &it.Created, &it.ConvKind); err != nil {
			return nil, err
		}
		var err error
		if it.Body, err = s.db.open(rowAD(adItemBody, it.ID), body); err != nil {
			return nil, err
		}
		if it.Ext, err = s.db.open(rowAD(adItemExt, it.ID), ext); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
