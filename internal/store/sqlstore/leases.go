package sqlstore

import (
	"context"

	"github.com/parleyim/parley/internal/store"
)

// Leases implements store.Store.
func (db *DB) Leases() store.LeaseStore { return leases{db} }

type leases struct{ db *DB }

func (s leases) Acquire(ctx context.Context, name, owner string, now, until int64) (bool, error) {
	// One statement: insert, or take over an expired lease, or renew our
	// own; the row lock (PostgreSQL) or the single writer (SQLite) makes
	// concurrent takers agree on one winner.
	res, err := s.db.exec(ctx, `INSERT INTO leases (name, owner, expires) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires
		WHERE leases.owner = excluded.owner OR leases.expires < ?`, name, owner, until, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s leases) Release(ctx context.Context, name, owner string) error {
	_, err := s.db.exec(ctx, `DELETE FROM leases WHERE name = ? AND owner = ?`, name, owner)
	return err
}
