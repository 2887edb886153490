package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/parleyim/parley/internal/store"
)

type callbacks struct{ db *DB }

// Callbacks implements store.Store.
func (db *DB) Callbacks() store.CallbackStore { return callbacks{db} }

const qAddCallbackJob = `INSERT INTO callback_jobs (id, rule, app_id, event, item_id, payload, attempts, next_at, locked_until, created)
	VALUES (?, ?, ?, ?, ?, ?, 0, ?, 0, ?) ON CONFLICT DO NOTHING`

func (db *DB) callbackJobArgs(j *store.CallbackJob) []any {
	return []any{j.ID, j.Rule, j.AppID, j.Event, j.ItemID, db.seal([]byte(adCallbackPay), j.Payload), j.NextAt, j.Created}
}

func (s callbacks) PutRule(ctx context.Context, r *store.CallbackRule) error {
	_, err := s.db.exec(ctx, `INSERT INTO callback_rules (app_id, name, url, secret, events, timeout_ms, fail_open, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, name) DO UPDATE SET url = excluded.url, secret = excluded.secret,
		events = excluded.events, timeout_ms = excluded.timeout_ms, fail_open = excluded.fail_open, updated = excluded.updated`,
		r.AppID, r.Name, r.URL, r.Secret, strings.Join(r.Events, ","), r.TimeoutMS, r.FailOpen, r.Created, r.Updated)
	return err
}

func (s callbacks) Rules(ctx context.Context, appID int64) ([]store.CallbackRule, error) {
	rows, err := s.db.read(ctx, `SELECT app_id, name, url, secret, events, timeout_ms, fail_open, created, updated
		FROM callback_rules WHERE app_id = ? ORDER BY name`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.CallbackRule
	for rows.Next() {
		var r store.CallbackRule
		var events string
		if err := rows.Scan(&r.AppID, &r.Name, &r.URL, &r.Secret, &events, &r.TimeoutMS, &r.FailOpen, &r.Created, &r.Updated); err != nil {
			return nil, err
		}
		if events != "" {
			r.Events = strings.Split(events, ",")
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s callbacks) DeleteRule(ctx context.Context, appID int64, name string) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM callback_rules WHERE app_id = ? AND name = ?`), appID, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, s.db.rebind(`DELETE FROM callback_jobs WHERE app_id = ? AND rule = ?`), appID, name)
		return err
	})
}

func (s callbacks) AddJobs(ctx context.Context, jobs []store.CallbackJob) error {
	if len(jobs) == 0 {
		return nil
	}
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for i := range jobs {
			if _, err := tx.ExecContext(ctx, s.db.rebind(qAddCallbackJob), s.db.callbackJobArgs(&jobs[i])...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s callbacks) Expand(ctx context.Context, id int64, jobs []store.CallbackJob) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.rebind(`DELETE FROM callback_jobs WHERE id = ? AND rule = ''`), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		for i := range jobs {
			if _, err := tx.ExecContext(ctx, s.db.rebind(qAddCallbackJob), s.db.callbackJobArgs(&jobs[i])...); err != nil {
				return err
			}
		}
		return nil
	})
}

const callbackJobCols = `id, rule, app_id, event, item_id, payload, attempts, next_at, failed, last_error, created`

func (db *DB) scanCallbackJobs(rows *sql.Rows) ([]store.CallbackJob, error) {
	defer rows.Close()
	var out []store.CallbackJob
	for rows.Next() {
		var j store.CallbackJob
		var payload string
		if err := rows.Scan(&j.ID, &j.Rule, &j.AppID, &j.Event, &j.ItemID, &payload, &j.Attempts, &j.NextAt, &j.Failed,
			&j.LastError, &j.Created); err != nil {
			return nil, err
		}
		var err error
		if j.Payload, err = db.open([]byte(adCallbackPay), payload); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func (s callbacks) Claim(ctx context.Context, owner, now, leaseUntil int64, limit int) ([]store.CallbackJob, error) {
	var out []store.CallbackJob
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.db.rebind(`UPDATE callback_jobs SET locked_until = ?, owner = ?, attempts = attempts + 1
			WHERE (id, rule) IN (SELECT id, rule FROM callback_jobs WHERE failed = FALSE AND next_at <= ? AND locked_until < ?
				ORDER BY next_at LIMIT ?)
			AND failed = FALSE AND locked_until < ?
			RETURNING `+callbackJobCols), leaseUntil, owner, now, now, limit, now)
		if err != nil {
			return err
		}
		out, err = s.db.scanCallbackJobs(rows)
		return err
	})
	return out, err
}

func (s callbacks) Release(ctx context.Context, owner int64) error {
	_, err := s.db.exec(ctx, `UPDATE callback_jobs SET locked_until = 0 WHERE owner = ? AND locked_until > 0`, owner)
	return err
}

func (s callbacks) Done(ctx context.Context, id int64, rule string) error {
	_, err := s.db.exec(ctx, `DELETE FROM callback_jobs WHERE id = ? AND rule = ?`, id, rule)
	return err
}

func (s callbacks) Retry(ctx context.Context, id int64, rule string, nextAt int64, lastErr string) error {
	_, err := s.db.exec(ctx, `UPDATE callback_jobs SET next_at = ?, locked_until = 0, last_error = ? WHERE id = ? AND rule = ?`,
		nextAt, lastErr, id, rule)
	return err
}

func (s callbacks) Fail(ctx context.Context, id int64, rule string, lastErr string) error {
	_, err := s.db.exec(ctx, `UPDATE callback_jobs SET failed = TRUE, locked_until = 0, last_error = ? WHERE id = ? AND rule = ?`,
		lastErr, id, rule)
	return err
}

func (s callbacks) Failed(ctx context.Context, appID, afterID int64, afterRule string, limit int) ([]store.CallbackJob, error) {
	rows, err := s.db.read(ctx, `SELECT `+callbackJobCols+` FROM callback_jobs WHERE app_id = ? AND failed = TRUE
		AND (id > ? OR (id = ? AND rule > ?)) ORDER BY id, rule LIMIT ?`, appID, afterID, afterID, afterRule, limit)
	if err != nil {
		return nil, err
	}
	return s.db.scanCallbackJobs(rows)
}

func (s callbacks) Requeue(ctx context.Context, appID, id, now int64) (int64, error) {
	q := `UPDATE callback_jobs SET failed = FALSE, attempts = 0, next_at = ?, locked_until = 0 WHERE app_id = ? AND failed = TRUE`
	args := []any{now, appID}
	if id != 0 {
		q += ` AND id = ?`
		args = append(args, id)
	}
	res, err := s.db.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
