package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/parleyim/parley/internal/store"
)

// eraseItems selects the user's stream items; every statement below that
// needs them repeats it (one scan of items each, on an erasure only).
const eraseItems = `SELECT id FROM items WHERE app_id = ? AND from_user = ?`

// eraseSteps are the deletes and updates of an erasure, after the user's
// row is gone: in each, the first placeholder is the app ID and every
// other one the user ID (see eraseArgs). Order matters where a step reads
// rows a later one changes.
var eraseSteps = []string{
	// Queued work about the user's messages carries their bodies.
	`DELETE FROM push_jobs WHERE item_id IN (` + eraseItems + `)`,
	`DELETE FROM callback_jobs WHERE item_id IN (` + eraseItems + `)`,
	// Edits they made carry the new bodies.
	`UPDATE items SET body = '', ext = '' WHERE app_id = ? AND from_user = ? AND kind = 'edit'`,
	// Their conversations' read marks (the conversations stay: the other
	// party keeps their history).
	`DELETE FROM conversation_members WHERE app_id = ? AND user_id = ?`,
	// The social graph, both directions.
	`DELETE FROM contacts WHERE app_id = ? AND (owner = ? OR friend = ?)`,
	`DELETE FROM contact_requests WHERE app_id = ? AND (from_user = ? OR to_user = ?)`,
	`DELETE FROM blocks WHERE app_id = ? AND (owner = ? OR blocked = ?)`,
	`DELETE FROM presence_subs WHERE app_id = ? AND (subscriber = ? OR target = ?)`,
	`DELETE FROM user_profiles WHERE app_id = ? AND user_id = ?`,
	`DELETE FROM mutes WHERE app_id = ? AND user_id = ?`,
	`DELETE FROM user_events WHERE app_id = ? AND user_id = ?`,
	// Push: devices, settings, queued notifications to them.
	`DELETE FROM push_bindings WHERE app_id = ? AND user_id = ?`,
	`DELETE FROM push_settings WHERE app_id = ? AND user_id = ?`,
	`DELETE FROM push_prefs WHERE app_id = ? AND user_id = ?`,
	`DELETE FROM push_jobs WHERE app_id = ? AND user_id = ?`,
	// Group and room leftovers (memberships are ended by the services).
	`DELETE FROM group_lists WHERE group_id IN (SELECT id FROM chat_groups WHERE app_id = ?) AND user_id = ?`,
	`DELETE FROM group_requests WHERE group_id IN (SELECT id FROM chat_groups WHERE app_id = ?) AND (user_id = ? OR inviter = ?)`,
	// (group_acks has no app column; user IDs are unique across apps.)
	`DELETE FROM group_acks WHERE EXISTS (SELECT 1 FROM apps WHERE id = ?) AND user_id = ?`,
	`DELETE FROM room_lists WHERE room_id IN (SELECT id FROM chat_rooms WHERE app_id = ?) AND user_id = ?`,
	`DELETE FROM room_attrs WHERE room_id IN (SELECT id FROM chat_rooms WHERE app_id = ?) AND owner = ?`,
	`DELETE FROM room_super_admins WHERE app_id = ? AND user_id = ?`,
}

func (s users) Erase(ctx context.Context, appID int64, username string) (*store.Erasure, error) {
	var out *store.Erasure
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		out = &store.Erasure{}
		u, err := scanUser(tx.QueryRowContext(ctx, s.db.rebind(`DELETE FROM users WHERE app_id = ? AND username = ? RETURNING `+userCols),
			appID, username))
		if err != nil {
			return err // ErrNoRows -> ErrNotFound
		}
		out.User = *u
		exec := func(q string, args ...any) (sql.Result, error) {
			return tx.ExecContext(ctx, s.db.rebind(q), args...)
		}
		// Files their messages reference, and the files they uploaded.
		rows, err := tx.QueryContext(ctx, s.db.rebind(`DELETE FROM file_refs WHERE item_id IN (`+eraseItems+`) RETURNING file_id`), appID, u.ID)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			if !seen[id] {
				seen[id] = true
				out.Released = append(out.Released, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		owned := `SELECT id FROM files WHERE app_id = ? AND owner = ?`
		for _, q := range []string{`DELETE FROM file_refs WHERE file_id IN (` + owned + `)`,
			`DELETE FROM group_files WHERE file_id IN (` + owned + `)`} {
			if _, err := exec(q, appID, u.ID); err != nil {
				return err
			}
		}
		rows, err = tx.QueryContext(ctx, s.db.rebind(`DELETE FROM files WHERE app_id = ? AND owner = ? RETURNING `+fileCols), appID, u.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			f, err := s.db.scanFile(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out.Files = append(out.Files, *f)
			delete(seen, f.ID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Released lists only files of others (their own are gone).
		kept := out.Released[:0]
		for _, id := range out.Released {
			if seen[id] {
				kept = append(kept, id)
			}
		}
		out.Released = kept
		for _, q := range eraseSteps {
			if _, err := exec(q, eraseArgs(q, appID, u.ID)...); err != nil {
				return err
			}
		}
		// Tombstones: the recall shape, without a recall event per message.
		res, err := exec(`UPDATE items SET recalled = ?, body = '', ext = '', client_msg_id = ''
			WHERE app_id = ? AND from_user = ? AND kind IN ('msg', 'edit')`, true, appID, u.ID)
		if err != nil {
			return err
		}
		if out.Messages, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = exec(`DELETE FROM moderation_records WHERE app_id = ? AND (from_user = ? OR reporter = ?)`,
			appID, u.Username, u.Username)
		return err
	})
	if err != nil {
		return nil, err
	}
	if s.db.d.AfterErase != nil {
		s.db.d.AfterErase(ctx, s.db.w)
	}
	return out, nil
}

// eraseArgs gives q's placeholders their values: the app ID first, the user
// ID for every other one.
func eraseArgs(q string, appID, userID int64) []any {
	args := []any{appID}
	for range strings.Count(q, "?") - 1 {
		args = append(args, userID)
	}
	return args
}
