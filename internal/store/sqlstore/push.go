package sqlstore

import (
	"context"
	"database/sql"

	"github.com/parleyim/parley/internal/store"
)

type push struct{ db *DB }

// Push implements store.Store.
func (db *DB) Push() store.PushStore { return push{db} }

const qAddJob = `INSERT INTO push_jobs (id, app_id, item_id, kind, user_id, device_id, payload, attempts, next_at, locked_until, created)
	VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?) ON CONFLICT DO NOTHING`

func (db *DB) jobArgs(j *store.PushJob) []any {
	return []any{j.ID, j.AppID, j.ItemID, j.Kind, j.UserID, j.DeviceID, db.seal([]byte(adPushPayload), j.Payload), j.NextAt, j.Created}
}

func (s push) PutNotifier(ctx context.Context, n *store.Notifier) error {
	_, err := s.db.exec(ctx, `INSERT INTO push_notifiers (app_id, name, provider, credentials, summary, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, name) DO UPDATE SET provider = excluded.provider,
		credentials = excluded.credentials, summary = excluded.summary, updated = excluded.updated`,
		n.AppID, n.Name, n.Provider, n.Credentials, n.Summary, n.Created, n.Updated)
	return err
}

const notifierCols = `app_id, name, provider, credentials, summary, created, updated`

func scanNotifier(row interface{ Scan(...any) error }) (*store.Notifier, error) {
	var n store.Notifier
	err := row.Scan(&n.AppID, &n.Name, &n.Provider, &n.Credentials, &n.Summary, &n.Created, &n.Updated)
	return &n, err
}

func (s push) Notifier(ctx context.Context, appID int64, name string) (*store.Notifier, error) {
	n, err := scanNotifier(s.db.readRow(ctx, `SELECT `+notifierCols+` FROM push_notifiers WHERE app_id = ? AND name = ?`, appID, name))
	if err != nil {
		return nil, s.db.classify(err)
	}
	return n, nil
}

func (s push) Notifiers(ctx context.Context, appID int64) ([]store.Notifier, error) {
	rows, err := s.db.read(ctx, `SELECT `+notifierCols+` FROM push_notifiers WHERE app_id = ? ORDER BY name`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Notifier
	for rows.Next() {
		n, err := scanNotifier(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *n)
	}
	return out, rows.Err()
}

func (s push) DeleteNotifier(ctx context.Context, appID int64, name string) error {
	res, err := s.db.exec(ctx, `DELETE FROM push_notifiers WHERE app_id = ? AND name = ?`, appID, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s push) AppsWithNotifiers(ctx context.Context) ([]int64, error) {
	return social{s.db}.ids(ctx, `SELECT DISTINCT app_id FROM push_notifiers ORDER BY app_id`)
}

func (s push) PutBinding(ctx context.Context, b *store.Binding) error {
	if b.Token == "" {
		_, err := s.db.exec(ctx, `DELETE FROM push_bindings WHERE user_id = ? AND device_id = ?`, b.UserID, b.DeviceID)
		return err
	}
	_, err := s.db.exec(ctx, `INSERT INTO push_bindings (user_id, device_id, app_id, notifier, token, updated) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, device_id) DO UPDATE SET notifier = excluded.notifier, token = excluded.token, updated = excluded.updated`,
		b.UserID, b.DeviceID, b.AppID, b.Notifier, b.Token, b.Updated)
	return err
}

func (s push) Bindings(ctx context.Context, userID int64) ([]store.Binding, error) {
	rows, err := s.db.read(ctx, `SELECT user_id, device_id, app_id, notifier, token, updated FROM push_bindings
		WHERE user_id = ? ORDER BY device_id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Binding
	for rows.Next() {
		var b store.Binding
		if err := rows.Scan(&b.UserID, &b.DeviceID, &b.AppID, &b.Notifier, &b.Token, &b.Updated); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (s push) DropBinding(ctx context.Context, userID int64, deviceID, token string) (bool, error) {
	res, err := s.db.exec(ctx, `DELETE FROM push_bindings WHERE user_id = ? AND device_id = ? AND token = ?`, userID, deviceID, token)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (s push) PutSetting(ctx context.Context, st *store.PushSetting) error {
	_, err := s.db.exec(ctx, `INSERT INTO push_settings (user_id, scope, app_id, mode, ignore_interval, ignore_until, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, scope) DO UPDATE SET mode = excluded.mode,
		ignore_interval = excluded.ignore_interval, ignore_until = excluded.ignore_until, updated = excluded.updated`,
		st.UserID, st.Scope, st.AppID, st.Mode, st.IgnoreInterval, st.IgnoreUntil, st.Updated)
	return err
}

func (s push) Settings(ctx context.Context, userID int64) (map[string]store.PushSetting, error) {
	rows, err := s.db.read(ctx, `SELECT user_id, scope, app_id, mode, ignore_interval, ignore_until, updated FROM push_settings
		WHERE user_id = ?`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]store.PushSetting{}
	for rows.Next() {
		var st store.PushSetting
		if err := rows.Scan(&st.UserID, &st.Scope, &st.AppID, &st.Mode, &st.IgnoreInterval, &st.IgnoreUntil, &st.Updated); err != nil {
			return nil, err
		}
		out[st.Scope] = st
	}
	return out, rows.Err()
}

func (s push) PutPrefs(ctx context.Context, p *store.PushPrefs) error {
	_, err := s.db.exec(ctx, `INSERT INTO push_prefs (user_id, app_id, language, template, updated) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET language = excluded.language, template = excluded.template, updated = excluded.updated`,
		p.UserID, p.AppID, p.Language, p.Template, p.Updated)
	return err
}

func (s push) Prefs(ctx context.Context, userID int64) (*store.PushPrefs, error) {
	var p store.PushPrefs
	err := s.db.readRow(ctx, `SELECT user_id, app_id, language, template, updated FROM push_prefs WHERE user_id = ?`, userID).
		Scan(&p.UserID, &p.AppID, &p.Language, &p.Template, &p.Updated)
	if err != nil {
		return nil, s.db.classify(err)
	}
	return &p, nil
}

func (s push) PutTemplate(ctx context.Context, t *store.PushTemplate) error {
	_, err := s.db.exec(ctx, `INSERT INTO push_templates (app_id, name, title_pattern, content_pattern, created, updated)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, name) DO UPDATE SET title_pattern = excluded.title_pattern,
		content_pattern = excluded.content_pattern, updated = excluded.updated`,
		t.AppID, t.Name, t.TitlePattern, t.ContentPattern, t.Created, t.Updated)
	return err
}

func (s push) Template(ctx context.Context, appID int64, name string) (*store.PushTemplate, error) {
	var t store.PushTemplate
	err := s.db.readRow(ctx, `SELECT app_id, name, title_pattern, content_pattern, created, updated FROM push_templates
		WHERE app_id = ? AND name = ?`, appID, name).Scan(&t.AppID, &t.Name, &t.TitlePattern, &t.ContentPattern, &t.Created, &t.Updated)
	if err != nil {
		return nil, s.db.classify(err)
	}
	return &t, nil
}

func (s push) DeleteTemplate(ctx context.Context, appID int64, name string) error {
	res, err := s.db.exec(ctx, `DELETE FROM push_templates WHERE app_id = ? AND name = ?`, appID, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s push) AddJob(ctx context.Context, j *store.PushJob) error {
	_, err := s.db.exec(ctx, qAddJob, s.db.jobArgs(j)...)
	return err
}

func (s push) Release(ctx context.Context, owner int64) error {
	_, err := s.db.exec(ctx, `UPDATE push_jobs SET locked_until = 0 WHERE owner = ? AND locked_until > 0`, owner)
	return err
}

func (s push) Claim(ctx context.Context, owner, now, leaseUntil int64, limit int) ([]store.PushJob, error) {
	var out []store.PushJob
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, s.db.rebind(`UPDATE push_jobs SET locked_until = ?, owner = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM push_jobs WHERE next_at <= ? AND locked_until < ? ORDER BY next_at LIMIT ?)
			AND locked_until < ?
			RETURNING id, app_id, item_id, kind, user_id, device_id, payload, attempts, next_at, created`),
			leaseUntil, owner, now, now, limit, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var j store.PushJob
			var payload string
			if err := rows.Scan(&j.ID, &j.AppID, &j.ItemID, &j.Kind, &j.UserID, &j.DeviceID, &payload, &j.Attempts, &j.NextAt, &j.Created); err != nil {
				return err
			}
			if j.Payload, err = s.db.open([]byte(adPushPayload), payload); err != nil {
				return err
			}
			out = append(out, j)
		}
		return rows.Err()
	})
	return out, err
}

func (s push) Done(ctx context.Context, id int64) error {
	_, err := s.db.exec(ctx, `DELETE FROM push_jobs WHERE id = ?`, id)
	return err
}

func (s push) Retry(ctx context.Context, id, nextAt int64) error {
	_, err := s.db.exec(ctx, `UPDATE push_jobs SET next_at = ?, locked_until = 0 WHERE id = ?`, nextAt, id)
	return err
}
