package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// dbProbe reads row counts and sizes from the database of the server under
// test: the SQLite file of a server the bench started (or --target-db), or
// the PostgreSQL database (the run's fresh one on --db, or --target-db). It only reads, except for
// the WAL checkpoint that starts a SQLite measurement.
type dbProbe struct {
	kind string // "sqlite" or "postgres"
	path string // SQLite file
	url  string // PostgreSQL URL
	db   *sql.DB
}

// loopbackDB checks that a --target-db PostgreSQL URL names this machine
// (a loopback address, localhost, or a Unix socket): the probe counts
// every table's rows, which the bench never does to a remote database.
func loopbackDB(src string) error {
	if !strings.HasPrefix(src, "postgres://") && !strings.HasPrefix(src, "postgresql://") {
		return nil // a SQLite file
	}
	return loopbackPostgres("--target-db", src)
}

// openDBProbe opens the server's database, or returns nil when the bench
// does not know where it is (a --target without --target-db).
func openDBProbe(e *env) (*dbProbe, error) {
	o := e.o
	src := o.TargetDB
	if src == "" && e.started() {
		switch {
		case e.db != "":
			src = e.db
		case strings.HasPrefix(o.getenv("PARLEY_DB"), "postgres"):
			src = o.getenv("PARLEY_DB")
		default:
			src = filepath.Join(e.tmp, "data", "parley.db")
		}
	}
	if src == "" {
		return nil, nil
	}
	p := &dbProbe{}
	var err error
	if strings.HasPrefix(src, "postgres://") || strings.HasPrefix(src, "postgresql://") {
		p.kind, p.url = "postgres", src
		p.db, err = sql.Open("pgx", src)
	} else {
		if _, err := os.Stat(src); err != nil {
			return nil, fmt.Errorf("database file: %w", err)
		}
		p.kind, p.path = "sqlite", src
		p.db, err = sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(10000)")
	}
	if err != nil {
		return nil, err
	}
	p.db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.db.PingContext(ctx); err != nil {
		p.db.Close()
		return nil, fmt.Errorf("open %s database: %w", p.kind, err)
	}
	return p, nil
}

func (p *dbProbe) close() {
	if p != nil && p.db != nil {
		p.db.Close()
	}
}

// dbSnapshot is one reading of the database. Sizes are -1 when unknown.
type dbSnapshot struct {
	Items int64 `json:"items"` // rows of items (every app)
	Rows  int64 `json:"rows"`  // rows of every table together
	// Logical is the size of the data: SQLite's used pages (page_count -
	// freelist_count, WAL content included) × page size; PostgreSQL's
	// pg_database_size.
	Logical int64 `json:"logical_bytes"`
	// Tables is items and conversations with their indexes (SQLite's
	// dbstat; PostgreSQL's pg_total_relation_size).
	Tables int64 `json:"tables_bytes"`
	// Written is SQLite's database + WAL file sizes (after a TRUNCATE
	// checkpoint, their growth is the bytes written), or PostgreSQL's WAL
	// position (pg_current_wal_lsn, the whole cluster's).
	Written int64 `json:"written_bytes"`
}

// checkpoint empties SQLite's WAL into the database (TRUNCATE), so the
// WAL's growth from here is what the next writes append. It needs a
// read-write connection of its own, which it closes again.
func (p *dbProbe) checkpoint(ctx context.Context) error {
	if p.kind != "sqlite" {
		return nil
	}
	rw, err := sql.Open("sqlite", "file:"+p.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer rw.Close()
	for attempt := 0; attempt < 20; attempt++ {
		var busy, logPages, done int64
		if err := rw.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &done); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("checkpoint: the database stayed busy")
}

// snapshot reads the counts and sizes.
func (p *dbProbe) snapshot(ctx context.Context) (dbSnapshot, error) {
	s := dbSnapshot{Logical: -1, Tables: -1, Written: -1}
	var tables []string
	var listQ string
	if p.kind == "sqlite" {
		listQ = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	} else {
		listQ = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	rows, err := p.db.QueryContext(ctx, listQ)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return s, err
		}
		tables = append(tables, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, err
	}
	for _, t := range tables {
		var n int64
		if err := p.db.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(t, `"`, `""`)+`"`).Scan(&n); err != nil {
			return s, fmt.Errorf("count %s: %w", t, err)
		}
		s.Rows += n
		if t == "items" {
			s.Items = n
		}
	}
	if p.kind == "sqlite" {
		var pages, free, size int64
		if p.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages) == nil &&
			p.db.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free) == nil &&
			p.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size) == nil {
			s.Logical = (pages - free) * size
		}
		var t int64
		if p.db.QueryRowContext(ctx, `SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN
			(SELECT name FROM sqlite_master WHERE tbl_name IN ('items', 'conversations'))`).Scan(&t) == nil {
			s.Tables = t
		}
		if a, err := os.Stat(p.path); err == nil {
			s.Written = a.Size()
			if b, err := os.Stat(p.path + "-wal"); err == nil {
				s.Written += b.Size()
			}
		}
		return s, nil
	}
	var v int64
	if p.db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&v) == nil {
		s.Logical = v
	}
	if p.db.QueryRowContext(ctx, `SELECT pg_total_relation_size('items') + pg_total_relation_size('conversations')`).Scan(&v) == nil {
		s.Tables = v
	}
	if p.db.QueryRowContext(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&v) == nil {
		s.Written = v
	}
	return s, nil
}

// GroupStorage is what a batch of group messages added to the database,
// per message.
type GroupStorage struct {
	Database string  `json:"database"` // sqlite or postgres
	Members  int     `json:"members"`
	Messages int     `json:"messages"` // acknowledged in the batch
	Seconds  float64 `json:"seconds"`
	// ItemsPerMsg is items rows added per message (1: one row whatever the
	// group's size); OtherRowsPerMsg, rows added to every other table.
	ItemsPerMsg     float64 `json:"items_rows_per_msg"`
	OtherRowsPerMsg float64 `json:"other_rows_per_msg"`
	// Bytes per message (-1: unknown); see dbSnapshot.
	LogicalPerMsg float64 `json:"logical_bytes_per_msg"`
	TablesPerMsg  float64 `json:"tables_bytes_per_msg"`
	WrittenPerMsg float64 `json:"written_bytes_per_msg"`
	// Group commit during the batch: how many messages shared a commit.
	GroupCommit *groupCommit     `json:"group_commit,omitempty"`
	Errors      map[string]int64 `json:"errors,omitempty"`
}

// measureGroupStorage sends n messages to a group through s (pipelined)
// and reads what the database gained.
func measureGroupStorage(ctx context.Context, e *env, p *dbProbe, s *groupSender, gid string, members, stream, n int) (*GroupStorage, error) {
	if err := p.checkpoint(ctx); err != nil {
		return nil, err
	}
	a, err := p.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	m0 := e.sample(ctx)
	t0 := time.Now()
	acked, codes, err := s.sendBatch(ctx, gid, stream, n, protocolMaxPipelined, messageText(e.o.BodyBytes))
	if err != nil {
		return nil, err
	}
	wall := time.Since(t0).Seconds()
	m1 := e.sample(ctx)
	b, err := p.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	g := &GroupStorage{Database: p.kind, Members: members, Messages: acked, Seconds: wall, GroupCommit: commitsBetween(m0, m1, wall),
		LogicalPerMsg: -1, TablesPerMsg: -1, WrittenPerMsg: -1}
	if len(codes) > 0 {
		g.Errors = codes
	}
	if acked == 0 {
		return g, fmt.Errorf("no message of the batch was acknowledged: %v", codes)
	}
	per := func(x, y int64) float64 {
		if x < 0 || y < 0 {
			return -1
		}
		return float64(y-x) / float64(acked)
	}
	g.ItemsPerMsg = per(a.Items, b.Items)
	g.OtherRowsPerMsg = per(a.Rows-a.Items, b.Rows-b.Items)
	g.LogicalPerMsg = per(a.Logical, b.Logical)
	g.TablesPerMsg = per(a.Tables, b.Tables)
	g.WrittenPerMsg = per(a.Written, b.Written)
	return g, nil
}
