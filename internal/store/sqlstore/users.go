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

// likeEscape escapes s for a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func (s users) Search(ctx context.Context, appID int64, prefix, after string, limit int) ([]store.User, error) {
	// The lower bound lets the (app_id, username) index start at the
	// prefix (or the cursor); LIKE keeps the matches.
	cmp, from := ">=", prefix
	if after != "" && after >= prefix {
		cmp, from = ">", after
	}
	rows, err := s.db.read(ctx, `SELECT `+userCols+` FROM users WHERE app_id = ? AND username `+cmp+` ?
		AND username LIKE ? ESCAPE '\' ORDER BY username LIMIT ?`, appID, from, likeEscape(prefix)+"%", limit)
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
