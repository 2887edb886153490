package sqlstore

import (
	"context"
	"database/sql"

	"github.com/parleyim/parley/internal/secret"
	"github.com/parleyim/parley/internal/store"
)

type apps struct{ db *DB }

// Apps implements store.Store.
func (db *DB) Apps() store.AppStore { return apps{db} }

const appCols = `id, uuid, org, name, client_id, client_secret_hash, token_key, settings, created, modified`

func (db *DB) scanApp(row interface{ Scan(...any) error }) (*store.App, error) {
	var a store.App
	var settings string
	if err := row.Scan(&a.ID, &a.UUID, &a.Org, &a.Name, &a.ClientID, &a.ClientSecretHash, &a.TokenKey,
		&settings, &a.Created, &a.Modified); err != nil {
		return nil, err
	}
	a.Settings = []byte(settings)
	// The token key signs the app's tokens: sealed with the secrets key
	// (keys stored before that are the raw 32 bytes).
	if len(a.TokenKey) != rawTokenKey && secret.Sealed(string(a.TokenKey)) {
		k, err := db.openSecret([]byte(adTokenKey+a.UUID), string(a.TokenKey))
		if err != nil {
			return nil, err
		}
		a.TokenKey = []byte(k)
	}
	return &a, nil
}

func (s apps) Create(ctx context.Context, a *store.App) error {
	row := s.db.w.QueryRowContext(ctx, s.db.rebind(`INSERT INTO apps (uuid, org, name, client_id, client_secret_hash,
		token_key, settings, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.UUID, a.Org, a.Name, a.ClientID, a.ClientSecretHash, s.db.sealTokenKey(a.UUID, a.TokenKey), string(a.Settings), a.Created, a.Modified)
	return s.db.classify(row.Scan(&a.ID))
}

func (s apps) getOne(ctx context.Context, where string, args ...any) (*store.App, error) {
	a, err := s.db.scanApp(s.db.readRow(ctx, (`SELECT ` + appCols + ` FROM apps WHERE ` + where), args...))
	return a, s.db.classify(err)
}

func (s apps) Get(ctx context.Context, id int64) (*store.App, error) {
	return s.getOne(ctx, `id = ?`, id)
}

func (s apps) GetByName(ctx context.Context, org, name string) (*store.App, error) {
	return s.getOne(ctx, `org = ? AND name = ?`, org, name)
}

func (s apps) GetByClientID(ctx context.Context, clientID string) (*store.App, error) {
	return s.getOne(ctx, `client_id = ?`, clientID)
}

func (s apps) List(ctx context.Context) ([]store.App, error) {
	rows, err := s.db.read(ctx, `SELECT `+appCols+` FROM apps ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.App
	for rows.Next() {
		a, err := s.db.scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

func (s apps) update(ctx context.Context, q string, args ...any) error {
	res, err := s.db.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	return mustAffect(res)
}

func (s apps) SetCredentials(ctx context.Context, id int64, secretHash, tokenKey []byte, modified int64) error {
	var uuid string
	if err := s.db.readRow(ctx, `SELECT uuid FROM apps WHERE id = ?`, id).Scan(&uuid); err != nil {
		return s.db.classify(err)
	}
	return s.update(ctx, `UPDATE apps SET client_secret_hash = ?, token_key = ?, modified = ? WHERE id = ?`,
		secretHash, s.db.sealTokenKey(uuid, tokenKey), modified, id)
}

func (s apps) SetSettings(ctx context.Context, id int64, settings []byte, modified int64) error {
	return s.update(ctx, `UPDATE apps SET settings = ?, modified = ? WHERE id = ?`, string(settings), modified, id)
}

// rawTokenKey is the size of a token key stored unsealed.
const rawTokenKey = 32

// sealTokenKey seals an app's token key, bound to the app's UUID.
func (db *DB) sealTokenKey(uuid string, key []byte) []byte {
	box := db.cr().Secrets
	if box == nil {
		return key
	}
	return []byte(box.Seal(key, []byte(adTokenKey+uuid)))
}

func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
