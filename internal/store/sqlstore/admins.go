package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/parleyim/parley/internal/store"
)

type admins struct{ db *DB }

// Admins implements store.Store.
func (db *DB) Admins() store.AdminStore { return admins{db} }

const adminCols = `a.id, a.username, a.password_hash, a.role, a.created, a.modified`

func scanAdmin(row interface{ Scan(...any) error }, extra ...any) (*store.Admin, error) {
	var a store.Admin
	dst := append([]any{&a.ID, &a.Username, &a.PasswordHash, &a.Role, &a.Created, &a.Modified}, extra...)
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	return &a, nil
}

func (s admins) Create(ctx context.Context, a *store.Admin) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.db.rebind(`INSERT INTO admins (username, password_hash, role, created, modified)
			VALUES (?, ?, ?, ?, ?) RETURNING id`), a.Username, a.PasswordHash, a.Role, a.Created, a.Modified).Scan(&a.ID)
		if err != nil {
			return err
		}
		return s.setApps(ctx, tx, a.ID, a.Apps)
	})
}

func (s admins) setApps(ctx context.Context, tx *sql.Tx, adminID int64, apps []int64) error {
	if _, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM admin_apps WHERE admin_id = ?`), adminID); err != nil {
		return err
	}
	for _, app := range apps {
		if _, err := tx.ExecContext(ctx, s.db.rebind(`INSERT INTO admin_apps (admin_id, app_id) VALUES (?, ?)
			ON CONFLICT DO NOTHING`), adminID, app); err != nil {
			return err
		}
	}
	return nil
}

// withApps fills the app scopes of the given accounts.
func (s admins) withApps(ctx context.Context, list ...*store.Admin) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[int64]*store.Admin, len(list))
	for _, a := range list {
		a.Apps = nil
		byID[a.ID] = a
	}
	q, args := `SELECT admin_id, app_id FROM admin_apps ORDER BY admin_id, app_id`, []any(nil)
	if len(list) == 1 {
		q, args = `SELECT admin_id, app_id FROM admin_apps WHERE admin_id = ? ORDER BY app_id`, []any{list[0].ID}
	}
	rows, err := s.db.read(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var admin, app int64
		if err := rows.Scan(&admin, &app); err != nil {
			return err
		}
		if a := byID[admin]; a != nil {
			a.Apps = append(a.Apps, app)
		}
	}
	return rows.Err()
}

func (s admins) getOne(ctx context.Context, q string, args ...any) (*store.Admin, error) {
	a, err := scanAdmin(s.db.readRow(ctx, `SELECT `+adminCols+` FROM admins a `+q, args...))
	if err != nil {
		return nil, s.db.classify(err)
	}
	return a, s.withApps(ctx, a)
}

func (s admins) Get(ctx context.Context, username string) (*store.Admin, error) {
	return s.getOne(ctx, `WHERE a.username = ?`, username)
}

func (s admins) List(ctx context.Context) ([]store.Admin, error) {
	rows, err := s.db.read(ctx, `SELECT `+adminCols+` FROM admins a ORDER BY a.username`)
	if err != nil {
		return nil, err
	}
	var out []store.Admin
	for rows.Next() {
		a, err := scanAdmin(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, *a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ptrs := make([]*store.Admin, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, s.withApps(ctx, ptrs...)
}

func (s admins) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.readRow(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n)
	return n, err
}

// lockOwners takes the owner rows' write locks (PostgreSQL row locks; the
// SQLite writer is already exclusive) and counts them, so that two
// transactions removing different owners cannot both see another one left.
func (s admins) lockOwners(ctx context.Context, tx *sql.Tx) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, s.db.rebind(`UPDATE admins SET modified = modified WHERE role = ? RETURNING id`), store.AdminOwner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	owners := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		owners[id] = true
	}
	return owners, rows.Err()
}

func (s admins) Update(ctx context.Context, a *store.Admin) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		owners, err := s.lockOwners(ctx, tx)
		if err != nil {
			return err
		}
		if owners[a.ID] && len(owners) == 1 && a.Role != store.AdminOwner {
			return store.ErrLastOwner
		}
		res, err := tx.ExecContext(ctx, s.db.rebind(`UPDATE admins SET role = ?, password_hash = ?, modified = ? WHERE id = ?`),
			a.Role, a.PasswordHash, a.Modified, a.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return s.setApps(ctx, tx, a.ID, a.Apps)
	})
}

func (s admins) Delete(ctx context.Context, id int64) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		owners, err := s.lockOwners(ctx, tx)
		if err != nil {
			return err
		}
		if owners[id] && len(owners) == 1 {
			return store.ErrLastOwner
		}
		// The foreign keys cascade; delete explicitly as well, so nothing
		// depends on the connection's foreign_keys setting.
		for _, q := range []string{`DELETE FROM admin_apps WHERE admin_id = ?`, `DELETE FROM admin_sessions WHERE admin_id = ?`,
			`DELETE FROM admin_tokens WHERE admin_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.db.rebind(q), id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM admins WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
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

func (s admins) CreateSession(ctx context.Context, ss *store.AdminSession) error {
	_, err := s.db.exec(ctx, `INSERT INTO admin_sessions (hash, admin_id, created, expires) VALUES (?, ?, ?, ?)`,
		ss.Hash, ss.AdminID, ss.Created, ss.Expires)
	return err
}

func (s admins) GetSession(ctx context.Context, hash []byte, now int64) (*store.AdminSession, *store.Admin, error) {
	ss := store.AdminSession{Hash: hash}
	a, err := scanAdmin(s.db.readRow(ctx, `SELECT `+adminCols+`, t.admin_id, t.created, t.expires FROM admins a
		JOIN admin_sessions t ON t.admin_id = a.id WHERE t.hash = ? AND t.expires > ?`, hash, now),
		&ss.AdminID, &ss.Created, &ss.Expires)
	if err != nil {
		return nil, nil, s.db.classify(err)
	}
	return &ss, a, s.withApps(ctx, a)
}

func (s admins) ExtendSession(ctx context.Context, hash []byte, expires int64) error {
	res, err := s.db.exec(ctx, `UPDATE admin_sessions SET expires = ? WHERE hash = ?`, expires, hash)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s admins) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.db.exec(ctx, `DELETE FROM admin_sessions WHERE hash = ?`, hash)
	return err
}

func (s admins) DeleteSessions(ctx context.Context, adminID int64, keep []byte) error {
	if keep == nil {
		_, err := s.db.exec(ctx, `DELETE FROM admin_sessions WHERE admin_id = ?`, adminID)
		return err
	}
	_, err := s.db.exec(ctx, `DELETE FROM admin_sessions WHERE admin_id = ? AND hash <> ?`, adminID, keep)
	return err
}

func (s admins) DeleteExpiredSessions(ctx context.Context, now int64) error {
	_, err := s.db.exec(ctx, `DELETE FROM admin_sessions WHERE expires <= ?`, now)
	return err
}

func (s admins) AddAudit(ctx context.Context, e *store.AuditEntry) error {
	detail := e.Detail
	if len(detail) == 0 {
		detail = []byte("{}")
	}
	err := s.db.w.QueryRowContext(ctx, s.db.rebind(`INSERT INTO audit_log (ts, actor, ip, action, app, target, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), e.TS, e.Actor, e.IP, e.Action, e.App, e.Target, string(detail)).Scan(&e.ID)
	return s.db.classify(err)
}

func (s admins) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if q.App != "" {
		add("app = ?", q.App)
	}
	if q.Since > 0 {
		add("ts >= ?", q.Since)
	}
	if q.Until > 0 {
		add("ts < ?", q.Until)
	}
	if q.Before > 0 {
		add("id < ?", q.Before)
	}
	sqlq := `SELECT id, ts, actor, ip, action, app, target, detail FROM audit_log`
	if len(where) > 0 {
		sqlq += ` WHERE ` + strings.Join(where, " AND ")
	}
	sqlq += ` ORDER BY id DESC LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.db.read(ctx, sqlq, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var detail string
		if err := rows.Scan(&e.ID, &e.TS, &e.Actor, &e.IP, &e.Action, &e.App, &e.Target, &detail); err != nil {
			return nil, err
		}
		e.Detail = []byte(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s admins) PruneAudit(ctx context.Context, before int64) (int64, error) {
	res, err := s.db.exec(ctx, `DELETE FROM audit_log WHERE ts < ?`, before)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
