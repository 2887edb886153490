// Package sqlstore implements the store interfaces once, over database/sql,
// for every SQL backend. A backend (package sqlite or postgres) supplies a
// Dialect: its connections, placeholder style, error classification and
// numbered migrations. Queries are written with '?' placeholders and rebound
// for the backend when the store is built.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/store"
)

// Dialect is what a backend supplies.
type Dialect struct {
	// Name is the backend name ("sqlite", "postgres").
	Name string
	// Numbered placeholders ($1, $2...) instead of '?'.
	Numbered bool
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(error) bool
	// Migrations holds files named NNNN_title.sql, applied in order.
	Migrations fs.FS
	// Writers is how many group-commit workers run (SQLite: 1, the single
	// writer; PostgreSQL: a few, since each batch is bound by round trips).
	Writers int
	// BatchAppend: the writer appends a batch's plain messages (1:1 in a
	// known conversation, or a group stream's, without files or mentions)
	// together, with PostgreSQL array statements (unnest, = ANY): one
	// idempotency lookup, one sequence allocation and one insert per run of
	// messages. SQLite appends them one by one (no round trips to save).
	BatchAppend bool
	// ILike is the operator of a LIKE that ignores the case of ASCII
	// letters: SQLite's LIKE already does ("" means LIKE); PostgreSQL needs
	// ILIKE (which folds other letters too).
	ILike string
	// Lock, if set, serialises migrations across processes (PostgreSQL
	// advisory lock). It is called inside the migration transaction.
	Lock func(ctx context.Context, tx *sql.Tx) error
	// AfterErase, if set, runs on the writer after a user's erasure has
	// committed (SQLite: truncate the WAL, which still holds the erased
	// rows' old pages).
	AfterErase func(ctx context.Context, w *sql.DB)
}

// DB is the generic store.
type DB struct {
	d Dialect
	// w takes writes; r takes reads. For SQLite w has one connection (the
	// single writer); for PostgreSQL both are the same pool.
	w, r *sql.DB

	wr     *writers
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	convIDs sync.Map // convKey -> conversation ID

	crypto atomic.Pointer[Crypto] // set by UseCrypto; nil: none

	// ObserveBatch, if set before use, receives each group commit's size
	// and duration (for metrics).
	ObserveBatch func(size int, d time.Duration)
}

var _ store.Store = (*DB)(nil)

// New builds a store over the given pools and applies migrations.
func New(ctx context.Context, d Dialect, w, r *sql.DB) (*DB, error) {
	db := &DB{d: d, w: w, r: r, stmts: map[string]*sql.Stmt{}}
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	if err := db.prepareHot(ctx); err != nil {
		return nil, err
	}
	db.startWriters(max(1, d.Writers))
	return db, nil
}

// Backend implements store.Store.
func (db *DB) Backend() string { return db.d.Name }

// Ping implements store.Store.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return err
	}
	return db.w.PingContext(ctx)
}

// Close implements store.Store.
func (db *DB) Close() error {
	db.stopWriters()
	db.stmtMu.Lock()
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmtMu.Unlock()
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// ilike returns the dialect's case-insensitive LIKE operator.
func (db *DB) ilike() string {
	if db.d.ILike != "" {
		return db.d.ILike
	}
	return "LIKE"
}

// rebind turns '?' placeholders into $n for numbered dialects. Queries never
// contain a literal '?', so a plain scan is enough.
func (db *DB) rebind(q string) string {
	if !db.d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (db *DB) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case db.d.IsUnique != nil && db.d.IsUnique(err):
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return err
}

func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := db.w.ExecContext(ctx, db.rebind(q), args...)
	return res, db.classify(err)
}

// tx runs fn in a write transaction.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return db.classify(err)
	}
	return db.classify(tx.Commit())
}

func (db *DB) migrate(ctx context.Context) error {
	entries, err := fs.ReadDir(db.d.Migrations, ".")
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	type mig struct {
		version int
		name    string
	}
	var migs []mig
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %q: name must be NNNN_title.sql", e.Name())
		}
		migs = append(migs, mig{v, e.Name()})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })

	return db.tx(ctx, func(tx *sql.Tx) error {
		if db.d.Lock != nil {
			if err := db.d.Lock(ctx, tx); err != nil {
				return fmt.Errorf("migration lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		applied := map[int]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		for _, m := range migs {
			if applied[m.version] {
				continue
			}
			body, err := fs.ReadFile(db.d.Migrations, m.name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`),
				m.version, m.name, nowMillis()); err != nil {
				return err
			}
		}
		return nil
	})
}

func nowMillis() int64 { return time.Now().UnixMilli() }
