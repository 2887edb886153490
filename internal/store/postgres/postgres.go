// Package postgres is the PostgreSQL storage backend, through pgx's
// database/sql driver. Every node of a cluster shares one database;
// migrations are serialised with an advisory lock so nodes may start together.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/parleyim/parley/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockID is the advisory lock key that serialises migrations.
const migrationLockID = 0x7061726c6579 // "parley"

// Open connects to the database at url (postgres://...) and applies migrations.
func Open(ctx context.Context, url string, maxConns int) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	if maxConns <= 0 {
		maxConns = 16
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	s, err := sqlstore.New(ctx, sqlstore.Dialect{
		Name:     "postgres",
		Numbered: true,
		ILike:    "ILIKE",
		Writers:  4,
		// Runs of messages are appended with unnest() array statements:
		// a few round trips per batch instead of per message.
		BatchAppend: true,
		IsUnique:    isUnique,
		Migrations:  sub,
		Lock: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockID))
			return err
		},
	}, db, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

func isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
