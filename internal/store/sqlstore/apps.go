package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"

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
	if tokenKeySealed(a.TokenKey) {
		k, err := db.openSecret([]byte(adTokenKey+a.UUID), string(a.TokenKey))
		if err != nil {
			// Another secrets key (CheckSecrets stops a server from
			// starting on it): a random key, so no token verifies and
			// the app can be given new credentials (rotate-secret).
			k = string(randomKey())
		}
		a.TokenKey = []byte(k)
	}
	return &a, nil
}

func tokenKeySealed(k []byte) bool { return len(k) != rawTokenKey && secret.Sealed(string(k)) }

func randomKey() []byte {
	k := make([]byte, rawTokenKey)
	rand.Read(k)
	return k
}

// CheckSecrets reports whether the secrets key opens every app's sealed
// token key: a server started with another key (a node given the wrong
// key file, a lost key) would refuse every token. The error names the
// apps; giving them new credentials (parley app rotate-secret) seals new
// keys.
func (db *DB) CheckSecrets(ctx context.Context) error {
	rows, err := db.r.QueryContext(ctx, `SELECT uuid, org, name, token_key FROM apps ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var uuid, org, name string
		var key []byte
		if err := rows.Scan(&uuid, &org, &name, &key); err != nil {
			return err
		}
		if tokenKeySealed(key) {
			if _, err := db.openSecret([]byte(adTokenKey+uuid), string(key)); err != nil {
				bad = append(bad, org+"/"+name)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("the secrets key (secrets.key_file) does not open the token keys of %d apps (%s): "+
			"every node needs the same key file; if the key is lost, give each app new credentials with parley app rotate-secret",
			len(bad), strings.Join(bad[:min(len(bad), 5)], ", "))
	}
	return nil
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
