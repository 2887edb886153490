package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/parleyim/parley/internal/store"
)

type files struct{ db *DB }

// Files implements store.Store.
func (db *DB) Files() store.FileStore { return files{db} }

// unreferenced holds for a file no message references and no group shares.
const unreferenced = `NOT EXISTS (SELECT 1 FROM file_refs r WHERE r.file_id = files.id)
	AND NOT EXISTS (SELECT 1 FROM group_files gf WHERE gf.file_id = files.id)`

const fileCols = `id, app_id, uuid, owner, name, content_type, size, restricted, secret, thumb_size, width, height, created`

func (db *DB) scanFile(row interface{ Scan(...any) error }, more ...any) (*store.File, error) {
	var f store.File
	err := row.Scan(append([]any{&f.ID, &f.AppID, &f.UUID, &f.Owner, &f.Name, &f.ContentType, &f.Size, &f.Restricted, &f.Secret,
		&f.ThumbSize, &f.Width, &f.Height, &f.Created}, more...)...)
	if err != nil {
		return nil, err
	}
	// The share-secret opens a restricted file: sealed with the secrets
	// key (rows written before that are read as they are). Under another
	// secrets key (a lost one) it reads as a random secret, so the file
	// still opens for its uploader and app admins only.
	if f.Secret, err = db.openSecret(fileSecretAD(f.UUID), f.Secret); err != nil {
		f.Secret = base64.RawURLEncoding.EncodeToString(randomKey())
	}
	return &f, nil
}

func fileSecretAD(uuid string) []byte { return []byte(adFileSecret + uuid) }

func (s files) Create(ctx context.Context, f *store.File) error {
	row := s.db.w.QueryRowContext(ctx, s.db.rebind(`INSERT INTO files (app_id, uuid, owner, name, content_type, size,
		restricted, secret, thumb_size, width, height, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		f.AppID, f.UUID, f.Owner, f.Name, f.ContentType, f.Size, f.Restricted, s.db.sealSecret(fileSecretAD(f.UUID), f.Secret), f.ThumbSize, f.Width, f.Height, f.Created)
	return s.db.classify(row.Scan(&f.ID))
}

func (s files) Get(ctx context.Context, appID int64, uuid string) (*store.File, error) {
	f, err := s.db.scanFile(s.db.readRow(ctx, `SELECT `+fileCols+` FROM files WHERE uuid = ? AND app_id = ?`, uuid, appID))
	if err != nil {
		return nil, s.db.classify(err)
	}
	return f, nil
}

func (s files) IDs(ctx context.Context, appID int64, uuids []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(uuids) == 0 {
		return out, nil
	}
	args := []any{appID}
	for _, u := range uuids {
		args = append(args, u)
	}
	q := `SELECT uuid, id FROM files WHERE app_id = ? AND uuid IN (?` + strings.Repeat(", ?", len(uuids)-1) + `)`
	rows, err := s.db.r.QueryContext(ctx, s.db.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		var id int64
		if err := rows.Scan(&u, &id); err != nil {
			return nil, err
		}
		out[u] = id
	}
	return out, rows.Err()
}

func (s files) DeleteUnreferenced(ctx context.Context, id int64) (*store.File, error) {
	var f *store.File
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		f, err = s.db.scanFile(tx.QueryRowContext(ctx, s.db.rebind(`DELETE FROM files WHERE id = ? AND `+unreferenced+
			` RETURNING `+fileCols), id))
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if tx.QueryRowContext(ctx, s.db.rebind(`SELECT 1 FROM files WHERE id = ?`), id).Scan(&n) == nil {
				return store.ErrConflict
			}
		}
		return err
	})
	if err != nil {
		return nil, s.db.classify(err)
	}
	return f, nil
}

func (s files) Orphans(ctx context.Context, createdBefore int64, limit int) ([]store.File, error) {
	rows, err := s.db.r.QueryContext(ctx, s.db.rebind(`SELECT `+fileCols+` FROM files WHERE created < ? AND `+unreferenced+
		` ORDER BY created LIMIT ?`), createdBefore, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.File
	for rows.Next() {
		f, err := s.db.scanFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}
