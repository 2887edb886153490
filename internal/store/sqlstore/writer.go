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

// Group commit. Hot writes (messages, receipts) go through submit(): each
// request is routed to one writer goroutine by its route key; a writer takes
// whatever requests are queued (up to maxBatch) and runs them in one
// transaction, so one commit (one fsync on SQLite) covers many writes under
// load, while a lone request still commits at once. If the batch fails,
// each request is retried alone so one bad request cannot fail the others,
// and each caller gets its own outcome.
//
// Order: requests with the same route key go to the same writer's FIFO
// queue, so they commit in submission order. Callers that need an order (one
// conversation's messages, pipelined by one connection) give them the same
// route. Completions run on one announcer goroutine, in commit order.

const (
	maxBatch = 512
	// queueLen is each writer's queue: submitters block (backpressure) when
	// it is full.
	queueLen = 2048
)

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
	// done receives the outcome, on the announcer goroutine, after after.
	// It must not block.
	done func(error)
	// app, if set, is a plain message append that fn would run: with
	// Dialect.BatchAppend, adjacent ones in a batch run together
	// (appendRun) instead of through fn.
	app *appendReq
}

type writers struct {
	mu     sync.RWMutex // held for reading while queueing; closing takes it
	closed bool
	queues []chan *writeReq
	wg     sync.WaitGroup
	// announce carries completions, in commit order, to one goroutine, so
	// encoding, publishing and answering do not take the writers' time.
	announce     chan func()
	announceDone chan struct{}
}

func (db *DB) startWriters(n int) {
	db.wr = &writers{announce: make(chan func(), 4096), announceDone: make(chan struct{})}
	for range n {
		q := make(chan *writeReq, queueLen)
		db.wr.queues = append(db.wr.queues, q)
		db.wr.wg.Add(1)
		go db.writeLoop(q)
	}
	go func() {
		defer close(db.wr.announceDone)
		for fn := range db.wr.announce {
			fn()
		}
	}()
}

// stopWriters stops taking requests, lets the writers commit what is
// queued, and waits for every completion to run.
func (db *DB) stopWriters() {
	if db.wr == nil {
		return
	}
	db.wr.mu.Lock()
	if db.wr.closed {
		db.wr.mu.Unlock()
		return
	}
	db.wr.closed = true
	for _, q := range db.wr.queues {
		close(q)
	}
	db.wr.mu.Unlock()
	db.wr.wg.Wait()
	close(db.wr.announce)
	<-db.wr.announceDone
}

// submit queues fn for the writer chosen by route and returns once it is
// queued (nil) or could not be (the store is closed, or ctx ended while the
// queue was full). Once queued, done will be called exactly once. fn may run
// twice (alone, after a failed batch), so it must set its outputs afresh on
// every run.
func (db *DB) submit(ctx context.Context, route uint64, key int64, fn func(ctx context.Context, tx *sql.Tx) error,
	after func(), done func(error)) error {
	return db.submitReq(ctx, route, &writeReq{key: key, fn: fn, after: after, done: done})
}

// submitReq is submit for a request built by the caller.
func (db *DB) submitReq(ctx context.Context, route uint64, r *writeReq) error {
	db.wr.mu.RLock()
	defer db.wr.mu.RUnlock()
	if db.wr.closed {
		return errClosed
	}
	q := db.wr.queues[route%uint64(len(db.wr.queues))]
	select {
	case q <- r:
		return nil
	default:
	}
	select {
	case q <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write runs fn in a (possibly shared) write transaction and returns once it
// is committed or failed. Writes on one conversation pass its ID as key.
func (db *DB) write(ctx context.Context, key int64, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ch := make(chan error, 1)
	if err := db.submit(ctx, uint64(key), key, fn, nil, func(err error) { ch <- err }); err != nil {
		return err
	}
	// Queued: it will be answered, and it may commit, so wait.
	return <-ch
}

func (db *DB) writeLoop(q chan *writeReq) {
	defer db.wr.wg.Done()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		r, ok := <-q
		if !ok {
			return
		}
		batch = append(batch[:0], r)
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-q:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].key < batch[j].key })
		db.runBatch(batch)
	}
}

// complete hands a request's outcome to the announcer.
func (db *DB) complete(r *writeReq, err error) {
	after, done := r.after, r.done
	if err != nil {
		after = nil
	}
	db.wr.announce <- func() {
		if after != nil {
			after()
		}
		if done != nil {
			done(err)
		}
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
			db.complete(r, nil)
		}
		return
	}
	for _, r := range batch {
		db.complete(r, db.runAlone(ctx, r))
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
	return err
}

func (db *DB) runTx(ctx context.Context, batch []*writeReq) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// With BatchAppend, a run of adjacent plain appends (in the batch's
	// order, so row locks are still taken in key order) is written with a
	// few array statements instead of a few statements per message.
	var run []*writeReq
	flush := func() error {
		defer func() { run = run[:0] }()
		switch len(run) {
		case 0:
			return nil
		case 1:
			return run[0].fn(ctx, tx)
		}
		return db.appendRun(ctx, tx, run)
	}
	for _, r := range batch {
		if r.app != nil && db.d.BatchAppend {
			run = append(run, r)
			continue
		}
		if err := flush(); err != nil {
			tx.Rollback()
			return err
		}
		if err := r.fn(ctx, tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := flush(); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// hotQueries are prepared once at start (on SQLite the single writer
// connection is busy inside the batch transaction, so nothing can be
// prepared on the pool while a batch runs).
var hotQueries = []string{qDedupe, qFindConv, qCreateConv, qCreateMember, qNextSeq, qInsertItem,
	qDelivered, qRead, qReadPeer, qItemByID, qRecallMark, qFileRef, qAddJob}

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
