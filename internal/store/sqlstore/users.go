package sqlstore

import (
	"context"
	"database/sql"
	"sort"
	"strings"

	"github.com/parleyim/parley/internal/store"
)

type users struct{ db *DB }

// Users implements store.Store.
func (db *DB) Users() store.UserStore { return users{db} }

const userCols = `id, app_id, uuid, username, nickname, password_hash, activated, token_epoch,
	notification_display_style, no_disturbing, no_disturbing_start, no_disturbing_end, created, modified`

func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.AppID, &u.UUID, &u.Username, &u.Nickname, &u.PasswordHash, &u.Activated,
		&u.TokenEpoch, &u.NotificationDisplayStyle, &u.NoDisturbing, &u.NoDisturbingStart, &u.NoDisturbingEnd,
		&u.Created, &u.Modified)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func scanUsers(rows *sql.Rows) ([]store.User, error) {
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

const insertUser = `INSERT INTO users (app_id, uuid, username, nickname, password_hash, activated, token_epoch,
	notification_display_style, no_disturbing, no_disturbing_start, no_disturbing_end, created, modified)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

func userArgs(u *store.User) []any {
	return []any{u.AppID, u.UUID, u.Username, u.Nickname, u.PasswordHash, u.Activated, u.TokenEpoch,
		u.NotificationDisplayStyle, u.NoDisturbing, u.NoDisturbingStart, u.NoDisturbingEnd, u.Created, u.Modified}
}

func (s users) Create(ctx context.Context, u *store.User) error {
	return s.db.classify(s.db.w.QueryRowContext(ctx, s.db.rebind(insertUser), userArgs(u)...).Scan(&u.ID))
}

func (s users) CreateBatch(ctx context.Context, list []*store.User) ([]error, error) {
	errs := make([]error, len(list))
	if len(list) == 0 {
		return errs, nil
	}
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		// Find clashes first so one duplicate does not abort the transaction
		// (PostgreSQL aborts a transaction on any failed statement).
		seen := map[string]bool{}
		names := make([]any, 0, len(list)+1)
		names = append(names, list[0].AppID)
		for _, u := range list {
			names = append(names, u.Username)
		}
		q := `SELECT username FROM users WHERE app_id = ? AND username IN (?` + strings.Repeat(",?", len(list)-1) + `)`
		rows, err := tx.QueryContext(ctx, s.db.rebind(q), names...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			seen[n] = true
		}
		rows.Close()
		stmt, err := tx.PrepareContext(ctx, s.db.rebind(insertUser))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, u := range list {
			if seen[u.Username] {
				errs[i] = store.ErrConflict
				continue
			}
			seen[u.Username] = true
			if err := stmt.QueryRowContext(ctx, userArgs(u)...).Scan(&u.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// The batch rolled back: nothing was stored.
		for _, u := range list {
			u.ID = 0
		}
		return nil, err
	}
	return errs, nil
}

func (s users) Get(ctx context.Context, appID int64, username string) (*store.User, error) {
	u, err := scanUser(s.db.readRow(ctx, (`SELECT ` + userCols + ` FROM users WHERE app_id = ? AND username = ?`), appID, username))
	return u, s.db.classify(err)
}

func (s users) GetByID(ctx context.Context, appID, id int64) (*store.User, error) {
	u, err := scanUser(s.db.readRow(ctx, (`SELECT ` + userCols + ` FROM users WHERE app_id = ? AND id = ?`), appID, id))
	return u, s.db.classify(err)
}

func (s users) Names(ctx context.Context, appID int64, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := []any{appID}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.db.r.QueryContext(ctx, s.db.rebind(`SELECT id, username FROM users WHERE app_id = ? AND id IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s users) List(ctx context.Context, appID, afterID int64, limit int) ([]store.User, error) {
	rows, err := s.db.read(ctx, (`SELECT ` + userCols + ` FROM users WHERE app_id = ? AND id > ? ORDER BY id LIMIT ?`),
		appID, afterID, limit)
	if err != nil {
		return nil, err
	}
	return scanUsers(rows)
}

func (s users) Count(ctx context.Context, appID int64) (int64, error) {
	var n int64
	err := s.db.readRow(ctx, (`SELECT COUNT(*) FROM users WHERE app_id = ?`), appID).Scan(&n)
	return n, err
}

func (s users) Update(ctx context.Context, appID int64, username string, p store.UserPatch, modified int64) (*store.User, error) {
	sets := []string{"modified = ?"}
	args := []any{modified}
	add := func(col string, v any) {
		sets = append(sets, col+" = ?")
		args = append(args, v)
	}
	if p.Nickname != nil {
		add("nickname", *p.Nickname)
	}
	if p.NotificationDisplayStyle != nil {
		add("notification_display_style", *p.NotificationDisplayStyle)
	}
	if p.NoDisturbing != nil {
		add("no_disturbing", *p.NoDisturbing)
	}
	if p.NoDisturbingStart != nil {
		add("no_disturbing_start", *p.NoDisturbingStart)
	}
	if p.NoDisturbingEnd != nil {
		add("no_disturbing_end", *p.NoDisturbingEnd)
	}
	args = append(args, appID, username)
	q := `UPDATE users SET ` + strings.Join(sets, ", ") + ` WHERE app_id = ? AND username = ? RETURNING ` + userCols
	u, err := scanUser(s.db.w.QueryRowContext(ctx, s.db.rebind(q), args...))
	return u, s.db.classify(err)
}

func (s users) SetPassword(ctx context.Context, appID int64, username, hash string, modified int64) error {
	res, err := s.db.exec(ctx, `UPDATE users SET password_hash = ?, modified = ? WHERE app_id = ? AND username = ?`,
		hash, modified, appID, username)
	if err != nil {
		return err
	}
	return mustAffect(res)
}

func (s users) SetActivated(ctx context.Context, appID int64, username string, activated, revoke bool, modified int64) (*store.User, error) {
	bump := 0
	if revoke {
		bump = 1
	}
	u, err := scanUser(s.db.w.QueryRowContext(ctx, s.db.rebind(`UPDATE users SET activated = ?, token_epoch = token_epoch + ?,
		modified = ? WHERE app_id = ? AND username = ? RETURNING `+userCols), activated, bump, modified, appID, username))
	return u, s.db.classify(err)
}

func (s users) Delete(ctx context.Context, appID int64, username string) (*store.User, error) {
	u, err := scanUser(s.db.w.QueryRowContext(ctx, s.db.rebind(`DELETE FROM users WHERE app_id = ? AND username = ? RETURNING `+userCols),
		appID, username))
	return u, s.db.classify(err)
}

func (s users) DeleteOldest(ctx context.Context, appID int64, limit int) ([]store.User, error) {
	rows, err := s.db.w.QueryContext(ctx, s.db.rebind(`DELETE FROM users WHERE id IN
		(SELECT id FROM users WHERE app_id = ? ORDER BY id LIMIT ?) RETURNING `+userCols), appID, limit)
	if err != nil {
		return nil, s.db.classify(err)
	}
	out, err := scanUsers(rows)
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

type admins struct{ db *DB }

// Admins implements store.Store.
func (db *DB) Admins() store.AdminStore { return admins{db} }

func (s admins) Create(ctx context.Context, a *store.Admin) error {
	return s.db.classify(s.db.w.QueryRowContext(ctx, s.db.rebind(`INSERT INTO admins (username, password_hash, role, created, modified)
		VALUES (?, ?, ?, ?, ?) RETURNING id`), a.Username, a.PasswordHash, a.Role, a.Created, a.Modified).Scan(&a.ID))
}

func (s admins) getOne(ctx context.Context, q string, args ...any) (*store.Admin, error) {
	var a store.Admin
	err := s.db.readRow(ctx, (`SELECT a.id, a.username, a.password_hash, a.role, a.created, a.modified
		FROM admins a `+q), args...).Scan(&a.ID, &a.Username, &a.PasswordHash, &a.Role, &a.Created, &a.Modified)
	if err != nil {
		return nil, s.db.classify(err)
	}
	return &a, nil
}

func (s admins) Get(ctx context.Context, username string) (*store.Admin, error) {
	return s.getOne(ctx, `WHERE a.username = ?`, username)
}

func (s admins) CreateToken(ctx context.Context, hash []byte, adminID, expires, created int64) error {
	_, err := s.db.exec(ctx, `INSERT INTO admin_tokens (hash, admin_id, expires, created) VALUES (?, ?, ?, ?)`,
		hash, adminID, expires, created)
	return err
}

func (s admins) GetToken(ctx context.Context, hash []byte, now int64) (*store.Admin, error) {
	return s.getOne(ctx, `JOIN admin_tokens t ON t.admin_id = a.id WHERE t.hash = ? AND t.expires > ?`, hash, now)
}

func (s admins) DeleteTokens(ctx context.Context, adminID int64) error {
	_, err := s.db.exec(ctx, `DELETE FROM admin_tokens WHERE admin_id = ?`, adminID)
	return err
}

func (s admins) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.readRow(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n)
	return n, err
}
