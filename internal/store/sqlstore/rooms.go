package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/parleyim/parley/internal/store"
)

type rooms struct{ db *DB }

// Rooms implements store.Store.
func (db *DB) Rooms() store.RoomStore { return rooms{db} }

const roomCols = `id, app_id, name, description, max_users, owner, custom, announcement, mute_all, members, created, updated`

func scanRoom(row interface{ Scan(...any) error }) (*store.Room, error) {
	var r store.Room
	err := row.Scan(&r.ID, &r.AppID, &r.Name, &r.Description, &r.MaxUsers, &r.Owner, &r.Custom, &r.Announcement, &r.MuteAll,
		&r.Members, &r.Created, &r.Updated)
	return &r, err
}

func (s rooms) scanRooms(rows *sql.Rows, err error) ([]store.Room, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Room
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func (s rooms) Create(ctx context.Context, r *store.Room, members []store.RoomMember) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.db.rebind(`INSERT INTO chat_rooms (app_id, name, description, max_users, owner,
			custom, announcement, mute_all, members, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`),
			r.AppID, r.Name, r.Description, r.MaxUsers, r.Owner, r.Custom, r.Announcement, r.MuteAll, r.Created, r.Updated).Scan(&r.ID); err != nil {
			return err
		}
		r.Members = 0
		_, err := s.insertMembers(ctx, tx, r, members)
		return err
	})
}

func (s rooms) insertMembers(ctx context.Context, tx *sql.Tx, r *store.Room, members []store.RoomMember) ([]int64, error) {
	var added []int64
	for _, m := range members {
		res, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO room_members (room_id, user_id, app_id, role, mute_until, joined)
			VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (room_id, user_id) DO NOTHING`), r.ID, m.UserID, r.AppID, m.Role, m.Joined)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			added = append(added, m.UserID)
		}
	}
	if err := tx.QueryRowContext(ctx, s.db.rebind(`UPDATE chat_rooms SET members = members + ? WHERE id = ? RETURNING members`),
		len(added), r.ID).Scan(&r.Members); err != nil {
		return nil, err
	}
	if r.Members > r.MaxUsers {
		return nil, store.ErrConflict
	}
	return added, nil
}

func (s rooms) Get(ctx context.Context, appID, id int64) (*store.Room, error) {
	r, err := scanRoom(s.db.readRow(ctx, `SELECT `+roomCols+` FROM chat_rooms WHERE app_id = ? AND id = ?`, appID, id))
	if err != nil {
		return nil, s.db.classify(err)
	}
	return r, nil
}

func (s rooms) Update(ctx context.Context, r *store.Room) error {
	res, err := s.db.exec(ctx, `UPDATE chat_rooms SET name = ?, description = ?, max_users = ?, owner = ?, custom = ?,
		announcement = ?, mute_all = ?, updated = ? WHERE id = ? AND app_id = ?`, r.Name, r.Description, r.MaxUsers, r.Owner,
		r.Custom, r.Announcement, r.MuteAll, r.Updated, r.ID, r.AppID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s rooms) Delete(ctx context.Context, appID, id int64) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM chat_rooms WHERE app_id = ? AND id = ?`), appID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		for _, q := range []string{`DELETE FROM room_members WHERE room_id = ?`, `DELETE FROM room_lists WHERE room_id = ?`,
			`DELETE FROM room_attrs WHERE room_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.db.rebind(q), id); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s rooms) List(ctx context.Context, appID, before int64, limit int) ([]store.Room, error) {
	if before <= 0 {
		before = 1 << 62
	}
	return s.scanRooms(s.db.read(ctx, `SELECT `+roomCols+` FROM chat_rooms WHERE app_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
		appID, before, limit))
}

func (s rooms) Search(ctx context.Context, appID int64, name string, before int64, limit int) ([]store.Room, error) {
	if before <= 0 {
		before = 1 << 62
	}
	return s.scanRooms(s.db.read(ctx, `SELECT `+roomCols+` FROM chat_rooms WHERE app_id = ? AND id < ?
		AND name `+s.db.ilike()+` ? ESCAPE '\' ORDER BY id DESC LIMIT ?`, appID, before, "%"+likeEscape(name)+"%", limit))
}

func (s rooms) All(ctx context.Context, appID int64) ([]int64, error) {
	return social{s.db}.ids(ctx, `SELECT id FROM chat_rooms WHERE app_id = ? ORDER BY id`, appID)
}

func (s rooms) OfUser(ctx context.Context, appID, userID int64, offset, limit int) ([]store.Room, error) {
	return s.scanRooms(s.db.read(ctx, `SELECT `+prefixed("r.", roomCols)+` FROM room_members m JOIN chat_rooms r ON r.id = m.room_id
		WHERE m.user_id = ? AND m.app_id = ? ORDER BY m.room_id DESC LIMIT ? OFFSET ?`, userID, appID, limit, offset))
}

const roomMemberCols = `room_id, user_id, role, mute_until, joined`

func (s rooms) Member(ctx context.Context, roomID, userID int64) (*store.RoomMember, error) {
	var m store.RoomMember
	err := s.db.readRow(ctx, `SELECT `+roomMemberCols+` FROM room_members WHERE room_id = ? AND user_id = ?`, roomID, userID).
		Scan(&m.RoomID, &m.UserID, &m.Role, &m.MuteUntil, &m.Joined)
	if err != nil {
		return nil, s.db.classify(err)
	}
	return &m, nil
}

func (s rooms) Members(ctx context.Context, roomID, after int64, limit int) ([]store.RoomMember, error) {
	rows, err := s.db.read(ctx, `SELECT `+roomMemberCols+` FROM room_members WHERE room_id = ? AND user_id > ?
		ORDER BY user_id LIMIT ?`, roomID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.RoomMember
	for rows.Next() {
		var m store.RoomMember
		if err := rows.Scan(&m.RoomID, &m.UserID, &m.Role, &m.MuteUntil, &m.Joined); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s rooms) AddMembers(ctx context.Context, r *store.Room, members []store.RoomMember) ([]int64, error) {
	var added []int64
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		added, err = s.insertMembers(ctx, tx, r, members)
		return err
	})
	return added, err
}

func (s rooms) RemoveMembers(ctx context.Context, r *store.Room, userIDs []int64) ([]int64, []string, error) {
	var removed []int64
	var keys []string
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		removed, keys = removed[:0], keys[:0]
		for _, id := range userIDs {
			res, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM room_members WHERE room_id = ? AND user_id = ?`), r.ID, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			removed = append(removed, id)
			rows, err := tx.QueryContext(ctx, s.db.rebind(`DELETE FROM room_attrs WHERE room_id = ? AND owner = ? AND auto_delete = TRUE
				RETURNING k`), r.ID, id)
			if err != nil {
				return err
			}
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					rows.Close()
					return err
				}
				keys = append(keys, k)
			}
			rows.Close()
		}
		return tx.QueryRowContext(ctx, s.db.rebind(`UPDATE chat_rooms SET members = members - ? WHERE id = ? RETURNING members`),
			len(removed), r.ID).Scan(&r.Members)
	})
	return removed, keys, err
}

func (s rooms) each(ctx context.Context, q string, ids []int64, args func(id int64) []any) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, s.db.rebind(q), args(id)...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s rooms) SetRole(ctx context.Context, roomID int64, userIDs []int64, role string) error {
	return s.each(ctx, `UPDATE room_members SET role = ? WHERE room_id = ? AND user_id = ?`, userIDs,
		func(id int64) []any { return []any{role, roomID, id} })
}

func (s rooms) SetMute(ctx context.Context, roomID int64, userIDs []int64, until int64) error {
	return s.each(ctx, `UPDATE room_members SET mute_until = ? WHERE room_id = ? AND user_id = ?`, userIDs,
		func(id int64) []any { return []any{until, roomID, id} })
}

func (s rooms) ListAdd(ctx context.Context, roomID int64, kind string, userIDs []int64, now int64) error {
	return s.each(ctx, `INSERT INTO room_lists (room_id, kind, user_id, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, userIDs,
		func(id int64) []any { return []any{roomID, kind, id, now} })
}

func (s rooms) ListRemove(ctx context.Context, roomID int64, kind string, userIDs []int64) error {
	return s.each(ctx, `DELETE FROM room_lists WHERE room_id = ? AND kind = ? AND user_id = ?`, userIDs,
		func(id int64) []any { return []any{roomID, kind, id} })
}

func (s rooms) ListUsers(ctx context.Context, roomID int64, kind string) ([]int64, error) {
	return social{s.db}.ids(ctx, `SELECT user_id FROM room_lists WHERE room_id = ? AND kind = ? ORDER BY user_id`, roomID, kind)
}

func (s rooms) Attrs(ctx context.Context, roomID int64, keys []string) ([]store.RoomAttr, error) {
	q := `SELECT k, v, owner, auto_delete, updated FROM room_attrs WHERE room_id = ?`
	args := []any{roomID}
	if len(keys) > 0 {
		q += ` AND k IN (?` + strings.Repeat(", ?", len(keys)-1) + `)`
		for _, k := range keys {
			args = append(args, k)
		}
	}
	rows, err := s.db.r.QueryContext(ctx, s.db.rebind(q+` ORDER BY k`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.RoomAttr
	for rows.Next() {
		var a store.RoomAttr
		if err := rows.Scan(&a.Key, &a.Value, &a.Owner, &a.AutoDelete, &a.Updated); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s rooms) PutAttrs(ctx context.Context, roomID int64, attrs []store.RoomAttr, force bool) ([]string, error) {
	var refused []string
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		refused = refused[:0]
		for _, a := range attrs {
			q := `INSERT INTO room_attrs (room_id, k, v, owner, auto_delete, updated) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (room_id, k) DO UPDATE SET v = excluded.v, owner = excluded.owner,
				auto_delete = excluded.auto_delete, updated = excluded.updated`
			if !force {
				q += ` WHERE room_attrs.owner = excluded.owner`
			}
			res, err := tx.ExecContext(ctx, s.db.rebind(q), roomID, a.Key, a.Value, a.Owner, a.AutoDelete, a.Updated)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				refused = append(refused, a.Key)
			}
		}
		return nil
	})
	return refused, err
}

func (s rooms) DeleteAttrs(ctx context.Context, roomID, owner int64, keys []string, force bool) ([]string, []string, error) {
	var deleted, refused []string
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		deleted, refused = deleted[:0], refused[:0]
		for _, k := range keys {
			q, args := `DELETE FROM room_attrs WHERE room_id = ? AND k = ?`, []any{roomID, k}
			if !force {
				q, args = q+` AND owner = ?`, append(args, owner)
			}
			res, err := tx.ExecContext(ctx, s.db.rebind(q), args...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				deleted = append(deleted, k)
			} else {
				refused = append(refused, k)
			}
		}
		return nil
	})
	return deleted, refused, err
}

func (s rooms) SuperAdmins(ctx context.Context, appID int64) ([]int64, error) {
	return social{s.db}.ids(ctx, `SELECT user_id FROM room_super_admins WHERE app_id = ? ORDER BY created, user_id`, appID)
}

func (s rooms) SetSuperAdmin(ctx context.Context, appID, userID int64, on bool, now int64) error {
	if on {
		_, err := s.db.exec(ctx, `INSERT INTO room_super_admins (app_id, user_id, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			appID, userID, now)
		return err
	}
	res, err := s.db.exec(ctx, `DELETE FROM room_super_admins WHERE app_id = ? AND user_id = ?`, appID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s rooms) IsSuperAdmin(ctx context.Context, appID, userID int64) (bool, error) {
	return social{s.db}.exists(ctx, `SELECT 1 FROM room_super_admins WHERE app_id = ? AND user_id = ?`, appID, userID)
}

func (s rooms) AddBroadcast(ctx context.Context, b *store.Broadcast) error {
	_, err := s.db.exec(ctx, `INSERT INTO broadcasts (id, app_id, from_user, type, body, ext, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.AppID, b.From, b.Type, s.db.seal(rowAD(adBroadcastBody, b.ID), b.Body), s.db.seal(rowAD(adBroadcastExt, b.ID), b.Ext), b.Created)
	return err
}

func (s rooms) Broadcasts(ctx context.Context, appID, after, since int64, limit int) ([]store.Broadcast, error) {
	rows, err := s.db.read(ctx, `SELECT id, app_id, from_user, type, body, ext, created FROM broadcasts
		WHERE app_id = ? AND id > ? AND created >= ? ORDER BY id LIMIT ?`, appID, after, since, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Broadcast
	for rows.Next() {
		var b store.Broadcast
		var body, ext string
		if err := rows.Scan(&b.ID, &b.AppID, &b.From, &b.Type, &body, &ext, &b.Created); err != nil {
			return nil, err
		}
		if b.Body, err = s.db.open(rowAD(adBroadcastBody, b.ID), body); err != nil {
			return nil, err
		}
		if b.Ext, err = s.db.open(rowAD(adBroadcastExt, b.ID), ext); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
