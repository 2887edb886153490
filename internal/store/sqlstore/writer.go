package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/store"
)

// Group commit. Hot writes (messages, receipts) go through write(): worker
// goroutines take whatever requests are waiting (up to maxBatch) and run them
// in one transaction, so one commit (one fsync on SQLite) covers many
// messages under load, while a lone request still commits at once. If the
// batch fails, each request is retried alone so one bad request cannot fail
// the others, and each caller gets its own outcome.

const maxBatch = 256

var errClosed = errors.New("store: closed")

type writeReq struct {
	// key orders requests inside a batch (stable, ascending): requests that
	// lock a conversation's rows pass its ID, so concurrent batches on
	// several writers (PostgreSQL) take row locks in the same order and
	// cannot deadlock each other. 0 sorts first.
	key int64
	fn  func(ctx context.Context, tx *sql.Tx) error
	// after runs once the request's transaction has committed, in commit
	// order, on the announcer goroutine.
	after func()
	done  chan error
}

type writers struct {
	ch   chan *writeReq
	quit chan struct{}
	wg   sync.WaitGroup
	// announce carries post-commit hooks, in commit order, to one goroutine,
	// so encoding and publishing do not take the writers' time.
	announce     chan func()
	announceDone chan struct{}
}

func (db *DB) startWriters(n int) {
	db.wr = &writers{ch: make(chan *writeReq), quit: make(chan struct{}),
		announce: make(chan func(), 4096), announceDone: make(chan struct{})}
	for range n {
		db.wr.wg.Add(1)
		go db.writeLoop()
	}
	go func() {
		defer close(db.wr.announceDone)
		for fn := range db.wr.announce {
			fn()
		}
	}()
}

func (db *DB) stopWriters() {
	if db.wr != nil {
		close(db.wr.quit)
		db.wr.wg.Wait()
		close(db.wr.announce)
		<-db.wr.announceDone
	}
}

// write runs fn in a (possibly shared) write transaction and returns once it
// is committed or failed. fn may run twice (alone, after a failed batch), so
// it must set its outputs afresh on every run.
func (db *DB) write(ctx context.Context, key int64, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return db.writeThen(ctx, key, fn, nil)
}

// writeThen is write with a hook that runs right after the commit.
func (db *DB) writeThen(ctx context.Context, key int64, fn func(ctx context.Context, tx *sql.Tx) error, after func()) error {
	r := &writeReq{key: key, fn: fn, after: after, done: make(chan error, 1)}
	select {
	case db.wr.ch <- r:
	case <-db.wr.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Taken by a worker: it will answer, and the write may commit, so wait.
	return <-r.done
}

func (db *DB) writeLoop() {
	defer db.wr.wg.Done()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-db.wr.quit:
			return
		case r := <-db.wr.ch:
			batch = append(batch[:0], r)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-db.wr.ch:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].key < batch[j].key })
		db.runBatch(batch)
	}
}

func (db *DB) runBatch(batch []*writeReq) {
	ctx := context.Background()
	start := time.Now()
	err := db.runTx(ctx, batch)
	if db.ObserveBatch != nil {
		db.ObserveBatch(len(batch), time.Since(start))
	}
	if err == nil {
		for _, r := range batch {
			if r.after != nil {
				db.wr.announce <- r.after
			}
			r.done <- nil
		}
		return
	}
	for _, r := range batch {
		r.done <- db.runAlone(ctx, r)
	}
}

// runAlone runs one request in its own transaction. A unique violation is
// retried once: with several writers (PostgreSQL), a concurrent transaction
// may have inserted the same key (an idempotent retry, a new conversation)
// and committed meanwhile, which the rerun then sees.
func (db *DB) runAlone(ctx context.Context, r *writeReq) error {
	err := db.classify(db.runTx(ctx, []*writeReq{r}))
	if errors.Is(err, store.ErrConflict) {
		err = db.classify(db.runTx(ctx, []*writeReq{r}))
	}
	if err == nil && r.after != nil {
		db.wr.announce <- r.after
	}
	return err
}

func (db *DB) runTx(ctx context.Context, batch []*writeReq) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, r := range batch {
		if err := r.fn(ctx, tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// hotQueries are prepared once at start (on SQLite the single writer
// connection is busy inside the batch transaction, so nothing can be
// prepared on the pool while a batch runs).
var hotQueries = []string{qDedupe, qFindConv, qCreateConv, qCreateMember, qNextSeq, qInsertItem,
	qDelivered, qRead, qReadPeer, qItemByID, qRecallMark}

func (db *DB) prepareHot(ctx context.Context) error {
	for _, q := range hotQueries {
		s, err := db.w.PrepareContext(ctx, db.rebind(q))
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		db.stmts[q] = s
	}
	return nil
}

// stmt returns the statement for q (in '?' form) bound to tx: the prepared
// one if q is hot, else one prepared on the transaction.
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	db.stmtMu.Lock()
	s, ok := db.stmts[q]
	db.stmtMu.Unlock()
	if ok {
		return tx.StmtContext(ctx, s), nil
	}
	return tx.PrepareContext(ctx, db.rebind(q))
}

// readStmt returns the prepared statement for q (in '?' form) on the reader
// pool; database/sql prepares it on each connection as needed and keeps it.
func (db *DB) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	key := "r:" + q
	db.stmtMu.Lock()
	s, ok := db.stmts[key]
	db.stmtMu.Unlock()
	if ok {
		return s, nil
	}
	s, err := db.r.PrepareContext(ctx, db.rebind(q))
	if err != nil {
		return nil, err
	}
	db.stmtMu.Lock()
	if prev, ok := db.stmts[key]; ok {
		s.Close()
		s = prev
	} else {
		db.stmts[key] = s
	}
	db.stmtMu.Unlock()
	return s, nil
}

// read runs a query through a prepared statement on the reader pool.
func (db *DB) read(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := db.readStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// rowScanner is a single row whose error surfaces at Scan.
type rowScanner struct {
	row *sql.Row
	err error
}

func (r rowScanner) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

// readRow runs a single-row query through a prepared statement.
func (db *DB) readRow(ctx context.Context, q string, args ...any) rowScanner {
	s, err := db.readStmt(ctx, q)
	if err != nil {
		return rowScanner{err: err}
	}
	return rowScanner{row: s.QueryRowContext(ctx, args...)}
}
