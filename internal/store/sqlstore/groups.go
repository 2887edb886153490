package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/parleyim/parley/internal/store"
)

type groups struct{ db *DB }

// Groups implements store.Store.
func (db *DB) Groups() store.GroupStore { return groups{db} }

const groupCols = `id, app_id, conv_id, name, description, avatar, public, max_users, allow_invites, members_only,
	invite_need_confirm, owner, custom, announcement, mute_all, disabled, members, created, updated`

func scanGroup(row interface{ Scan(...any) error }) (*store.Group, error) {
	var g store.Group
	err := row.Scan(&g.ID, &g.AppID, &g.ConvID, &g.Name, &g.Description, &g.Avatar, &g.Public, &g.MaxUsers, &g.AllowInvites,
		&g.MembersOnly, &g.InviteNeedConfirm, &g.Owner, &g.Custom, &g.Announcement, &g.MuteAll, &g.Disabled, &g.Members,
		&g.Created, &g.Updated)
	return &g, err
}

func scanGroups(rows *sql.Rows) ([]store.Group, error) {
	defer rows.Close()
	var out []store.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *g)
	}
	return out, rows.Err()
}

// notice appends a group notice inside tx.
func (s groups) notice(ctx context.Context, tx *sql.Tx, op *store.AppendOp) error {
	if op == nil {
		return nil
	}
	op.Item.Kind = store.ItemNotice
	return txq{ctx, s.db, tx}.appendOne(op)
}

// addConvMembers gives users a row in the group's conversation, starting
// after what the stream holds now: a new member sees neither the history
// from before they joined nor any of it as unread.
func (s groups) addConvMembers(ctx context.Context, tx *sql.Tx, g *store.Group, ids []int64, version int64) error {
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO conversation_members (conv_id, user_id, app_id, read_seq,
			delivered_seq, cleared_seq, version, updated)
			SELECT ?, ?, ?, last_seq, last_seq, last_seq, ?, ? FROM conversations WHERE id = ?
			ON CONFLICT (conv_id, user_id) DO NOTHING`), g.ConvID, id, g.AppID, version, g.Updated, g.ConvID); err != nil {
			return err
		}
	}
	return nil
}

func (s groups) Create(ctx context.Context, g *store.Group, members []store.GroupMember, version int64) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.db.rebind(`INSERT INTO chat_groups (app_id, conv_id, name, description, avatar,
			public, max_users, allow_invites, members_only, invite_need_confirm, owner, custom, announcement, mute_all,
			disabled, members, created, updated) VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`),
			g.AppID, g.Name, g.Description, g.Avatar, g.Public, g.MaxUsers, g.AllowInvites, g.MembersOnly, g.InviteNeedConfirm,
			g.Owner, g.Custom, g.Announcement, g.MuteAll, g.Disabled, g.Created, g.Updated).Scan(&g.ID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, s.db.rebind(`INSERT INTO conversations (app_id, kind, user_a, user_b, last_seq,
			last_item_id, created, updated) VALUES (?, ?, ?, 0, 0, 0, ?, ?) RETURNING id`),
			g.AppID, store.ConvGroup, g.ID, g.Created, g.Created).Scan(&g.ConvID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.db.rebind(`UPDATE chat_groups SET conv_id = ? WHERE id = ?`), g.ConvID, g.ID); err != nil {
			return err
		}
		g.Members = 0
		_, err := s.insertMembers(ctx, tx, g, members, version)
		return err
	})
}

// insertMembers adds members, skipping existing ones, within max_users.
func (s groups) insertMembers(ctx context.Context, tx *sql.Tx, g *store.Group, members []store.GroupMember, version int64) ([]int64, error) {
	var added []int64
	for _, m := range members {
		attrs, _ := json.Marshal(m.Attrs)
		if m.Attrs == nil {
			attrs = []byte("{}")
		}
		res, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO group_members (group_id, user_id, app_id, role, mute_until, attrs, joined)
			VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (group_id, user_id) DO NOTHING`), g.ID, m.UserID, g.AppID, m.Role, string(attrs), m.Joined)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			added = append(added, m.UserID)
		}
		if _, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM group_requests WHERE group_id = ? AND user_id = ?`), g.ID, m.UserID); err != nil {
			return nil, err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.db.rebind(`UPDATE chat_groups SET members = members + ? WHERE id = ? RETURNING members`),
		len(added), g.ID).Scan(&n); err != nil {
		return nil, err
	}
	if n > g.MaxUsers {
		return nil, store.ErrConflict
	}
	g.Members = n
	return added, s.addConvMembers(ctx, tx, g, added, version)
}

func (s groups) Get(ctx context.Context, appID, id int64) (*store.Group, error) {
	g, err := scanGroup(s.db.readRow(ctx, `SELECT `+groupCols+` FROM chat_groups WHERE app_id = ? AND id = ?`, appID, id))
	if err != nil {
		return nil, s.db.classify(err)
	}
	return g, nil
}

func (s groups) Update(ctx context.Context, g *store.Group, notice *store.AppendOp) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.rebind(`UPDATE chat_groups SET name = ?, description = ?, avatar = ?, public = ?,
			max_users = ?, allow_invites = ?, members_only = ?, invite_need_confirm = ?, custom = ?, announcement = ?,
			mute_all = ?, disabled = ?, updated = ? WHERE id = ? AND app_id = ?`), g.Name, g.Description, g.Avatar, g.Public,
			g.MaxUsers, g.AllowInvites, g.MembersOnly, g.InviteNeedConfirm, g.Custom, g.Announcement, g.MuteAll, g.Disabled,
			g.Updated, g.ID, g.AppID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return s.notice(ctx, tx, notice)
	})
}

func (s groups) Delete(ctx context.Context, appID, id int64) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		var conv int64
		if err := tx.QueryRowContext(ctx, s.db.rebind(`DELETE FROM chat_groups WHERE app_id = ? AND id = ? RETURNING conv_id`),
			appID, id).Scan(&conv); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM group_members WHERE group_id = ?`, `DELETE FROM group_lists WHERE group_id = ?`,
			`DELETE FROM group_requests WHERE group_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.db.rebind(q), id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM conversation_members WHERE conv_id = ?`), conv)
		return err
	})
}

func (s groups) List(ctx context.Context, appID, before int64, limit int) ([]store.Group, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := s.db.read(ctx, `SELECT `+groupCols+` FROM chat_groups WHERE app_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
		appID, before, limit)
	if err != nil {
		return nil, err
	}
	return scanGroups(rows)
}

func (s groups) Search(ctx context.Context, appID int64, name string, before int64, limit int) ([]store.Group, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := s.db.read(ctx, `SELECT `+groupCols+` FROM chat_groups WHERE app_id = ? AND id < ?
		AND name `+s.db.ilike()+` ? ESCAPE '\' ORDER BY id DESC LIMIT ?`, appID, before, "%"+likeEscape(name)+"%", limit)
	if err != nil {
		return nil, err
	}
	return scanGroups(rows)
}

func (s groups) OfUser(ctx context.Context, appID, userID int64, offset, limit int) ([]store.Group, int, error) {
	var total int
	if err := s.db.readRow(ctx, `SELECT COUNT(*) FROM group_members WHERE user_id = ? AND app_id = ?`, userID, appID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.read(ctx, `SELECT `+prefixed("g.", groupCols)+` FROM group_members m JOIN chat_groups g ON g.id = m.group_id
		WHERE m.user_id = ? AND m.app_id = ? ORDER BY m.group_id LIMIT ? OFFSET ?`, userID, appID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	list, err := scanGroups(rows)
	return list, total, err
}

// prefixed qualifies a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

const memberCols = `group_id, user_id, role, mute_until, shield, attrs, joined`

func scanMember(row interface{ Scan(...any) error }) (*store.GroupMember, error) {
	var m store.GroupMember
	var attrs string
	if err := row.Scan(&m.GroupID, &m.UserID, &m.Role, &m.MuteUntil, &m.Shield, &attrs, &m.Joined); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &m.Attrs); err != nil {
		return nil, err
	}
	return &m, nil
}

func (s groups) members(ctx context.Context, q string, args ...any) ([]store.GroupMember, error) {
	rows, err := s.db.read(ctx, `SELECT `+memberCols+` FROM group_members `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.GroupMember
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

func (s groups) Member(ctx context.Context, groupID, userID int64) (*store.GroupMember, error) {
	m, err := scanMember(s.db.readRow(ctx, `SELECT `+memberCols+` FROM group_members WHERE group_id = ? AND user_id = ?`, groupID, userID))
	if err != nil {
		return nil, s.db.classify(err)
	}
	return m, nil
}

func (s groups) Members(ctx context.Context, groupID, after int64, limit int) ([]store.GroupMember, error) {
	return s.members(ctx, `WHERE group_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`, groupID, after, limit)
}

func (s groups) MemberIDs(ctx context.Context, groupID int64) ([]int64, error) {
	return social{s.db}.ids(ctx, `SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id`, groupID)
}

func (s groups) AddMembers(ctx context.Context, g *store.Group, members []store.GroupMember, version int64, notice *store.AppendOp) ([]int64, error) {
	var added []int64
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if added, err = s.insertMembers(ctx, tx, g, members, version); err != nil {
			return err
		}
		if len(added) == 0 {
			return nil
		}
		return s.notice(ctx, tx, notice)
	})
	return added, err
}

func (s groups) RemoveMembers(ctx context.Context, g *store.Group, userIDs []int64, notice *store.AppendOp) ([]int64, error) {
	var removed []int64
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		removed = removed[:0]
		for _, id := range userIDs {
			res, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM group_members WHERE group_id = ? AND user_id = ?`), g.ID, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			removed = append(removed, id)
			if _, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM conversation_members WHERE conv_id = ? AND user_id = ?`),
				g.ConvID, id); err != nil {
				return err
			}
		}
		if len(removed) == 0 {
			return nil
		}
		if err := tx.QueryRowContext(ctx, s.db.rebind(`UPDATE chat_groups SET members = members - ? WHERE id = ? RETURNING members`),
			len(removed), g.ID).Scan(&g.Members); err != nil {
			return err
		}
		return s.notice(ctx, tx, notice)
	})
	return removed, err
}

func (s groups) SetRole(ctx context.Context, groupID int64, userIDs []int64, role string, notice *store.AppendOp) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range userIDs {
			if _, err := tx.ExecContext(ctx, s.db.rebind(`UPDATE group_members SET role = ? WHERE group_id = ? AND user_id = ?`),
				role, groupID, id); err != nil {
				return err
			}
		}
		return s.notice(ctx, tx, notice)
	})
}

func (s groups) TransferOwner(ctx context.Context, g *store.Group, from, to int64, notice *store.AppendOp) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`UPDATE group_members SET role = ? WHERE group_id = ? AND user_id = ?`, []any{store.RoleAdmin, g.ID, from}},
			{`UPDATE group_members SET role = ? WHERE group_id = ? AND user_id = ?`, []any{store.RoleOwner, g.ID, to}},
			{`UPDATE chat_groups SET owner = ?, updated = ? WHERE id = ?`, []any{to, g.Updated, g.ID}},
		} {
			if _, err := tx.ExecContext(ctx, s.db.rebind(st.q), st.args...); err != nil {
				return err
			}
		}
		return s.notice(ctx, tx, notice)
	})
}

func (s groups) SetMute(ctx context.Context, groupID int64, userIDs []int64, until int64, notice *store.AppendOp) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range userIDs {
			if _, err := tx.ExecContext(ctx, s.db.rebind(`UPDATE group_members SET mute_until = ? WHERE group_id = ? AND user_id = ?`),
				until, groupID, id); err != nil {
				return err
			}
		}
		return s.notice(ctx, tx, notice)
	})
}

func (s groups) Muted(ctx context.Context, groupID, now int64) ([]store.GroupMember, error) {
	return s.members(ctx, `WHERE group_id = ? AND mute_until > ? ORDER BY user_id`, groupID, now)
}

func (s groups) SetShield(ctx context.Context, groupID, userID int64, shield bool) error {
	res, err := s.db.exec(ctx, `UPDATE group_members SET shield = ? WHERE group_id = ? AND user_id = ?`, shield, groupID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s groups) SetMemberAttrs(ctx context.Context, groupID, userID int64, attrs map[string]string) error {
	b, _ := json.Marshal(attrs)
	res, err := s.db.exec(ctx, `UPDATE group_members SET attrs = ? WHERE group_id = ? AND user_id = ?`, string(b), groupID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s groups) ListAdd(ctx context.Context, groupID int64, kind string, userIDs []int64, now int64) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range userIDs {
			if _, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO group_lists (group_id, kind, user_id, created) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`), groupID, kind, id, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s groups) ListRemove(ctx context.Context, groupID int64, kind string, userIDs []int64) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range userIDs {
			if _, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM group_lists WHERE group_id = ? AND kind = ? AND user_id = ?`),
				groupID, kind, id); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s groups) ListUsers(ctx context.Context, groupID int64, kind string) ([]int64, error) {
	return social{s.db}.ids(ctx, `SELECT user_id FROM group_lists WHERE group_id = ? AND kind = ? ORDER BY user_id`, groupID, kind)
}

func (s groups) InList(ctx context.Context, groupID int64, kind string, userID int64) (bool, error) {
	return social{s.db}.exists(ctx, `SELECT 1 FROM group_lists WHERE group_id = ? AND kind = ? AND user_id = ?`, groupID, kind, userID)
}

func (s groups) PutRequest(ctx context.Context, r store.GroupRequest) error {
	_, err := s.db.exec(ctx, `INSERT INTO group_requests (group_id, user_id, kind, inviter, reason, created) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_id, user_id, kind) DO UPDATE SET inviter = excluded.inviter, reason = excluded.reason,
		created = excluded.created`, r.GroupID, r.UserID, r.Kind, r.Inviter, r.Reason, r.Created)
	return err
}

func (s groups) TakeRequest(ctx context.Context, groupID, userID int64, kind string) (*store.GroupRequest, error) {
	var r store.GroupRequest
	err := s.db.w.QueryRowContext(ctx, s.db.rebind(`DELETE FROM group_requests WHERE group_id = ? AND user_id = ? AND kind = ?
		RETURNING group_id, user_id, kind, inviter, reason, created`), groupID, userID, kind).Scan(&r.GroupID, &r.UserID,
		&r.Kind, &r.Inviter, &r.Reason, &r.Created)
	if err != nil {
		return nil, s.db.classify(err)
	}
	return &r, nil
}

func (s groups) Requests(ctx context.Context, groupID int64, kind string) ([]store.GroupRequest, error) {
	rows, err := s.db.read(ctx, `SELECT group_id, user_id, kind, inviter, reason, created FROM group_requests
		WHERE group_id = ? AND kind = ? ORDER BY created, user_id`, groupID, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.GroupRequest
	for rows.Next() {
		var r store.GroupRequest
		if err := rows.Scan(&r.GroupID, &r.UserID, &r.Kind, &r.Inviter, &r.Reason, &r.Created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s groups) Ack(ctx context.Context, itemID, userID, now int64) (bool, error) {
	res, err := s.db.exec(ctx, `INSERT INTO group_acks (item_id, user_id, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		itemID, userID, now)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (s groups) Acks(ctx context.Context, itemID, after int64, limit int) ([]int64, int, error) {
	var n int
	if err := s.db.readRow(ctx, `SELECT COUNT(*) FROM group_acks WHERE item_id = ?`, itemID).Scan(&n); err != nil {
		return nil, 0, err
	}
	ids, err := social{s.db}.ids(ctx, `SELECT user_id FROM group_acks WHERE item_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`,
		itemID, after, limit)
	return ids, n, err
}

func (s groups) ShareFile(ctx context.Context, groupID, fileID, owner, now int64) error {
	_, err := s.db.exec(ctx, `INSERT INTO group_files (group_id, file_id, owner, created) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, groupID, fileID, owner, now)
	return err
}

func (s groups) UnshareFile(ctx context.Context, groupID, fileID int64) error {
	res, err := s.db.exec(ctx, `DELETE FROM group_files WHERE group_id = ? AND file_id = ?`, groupID, fileID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s groups) SharedFiles(ctx context.Context, groupID int64, offset, limit int) ([]store.SharedFile, error) {
	rows, err := s.db.read(ctx, `SELECT `+prefixed("f.", fileCols)+`, gf.owner, gf.created FROM group_files gf
		JOIN files f ON f.id = gf.file_id WHERE gf.group_id = ? ORDER BY gf.created DESC, gf.file_id DESC LIMIT ? OFFSET ?`,
		groupID, limit, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SharedFile
	for rows.Next() {
		var sf store.SharedFile
		f, err := s.db.scanFile(rows, &sf.Owner, &sf.Created)
		if err != nil {
			return nil, err
		}
		sf.File = *f
		out = append(out, sf)
	}
	return out, rows.Err()
}

func (s groups) SharedFileIDs(ctx context.Context, groupID int64) ([]int64, error) {
	return social{s.db}.ids(ctx, `SELECT file_id FROM group_files WHERE group_id = ?`, groupID)
}
