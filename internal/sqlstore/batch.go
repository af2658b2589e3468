package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauth2d/oauth2"
)

// Group commit. Every write of the store
// (issuance, code exchange, rotation, revocation, the KV writes) is an op
// handed to the store's committer, which runs the ops waiting at that
// moment, in order, in one transaction, and commits once. A caller gets
// its result only after the commit that holds its write is durable, so a
// 200 still means "on disk", but one fsync serves a whole batch. Where the
// engine's commits are not durable by themselves (SQLite, Config.Sync),
// the syncer flushes them and answers the batch (syncer.go) while the
// committer goes on to the next. The
// committer starts a batch as soon as it is idle, so a lone write is not
// delayed; while a commit is in flight the next writes gather for the
// next batch, up to maxBatch.
//
// The Creates of a batch (issuances, the hot path) go as one multi-row
// INSERT, and a batch of Creates only as that statement alone, outside any
// transaction, where the pool commits each statement on its own
// (Config.Autocommit): a statement costs a round trip on MySQL, which does
// not pipeline, and on every engine its own work in the engine and the
// driver.
//
// Ops of one batch run one after the other in the transaction and see the
// writes of the ops before them, so the atomic operations keep their
// meaning: of two exchanges of one code in one batch the first consumes it
// and the second finds the used row. Every result is held back until the
// commit; when the commit fails, every op of the batch fails with it and
// nothing of the batch is written. When a statement fails for a reason of
// its own (a duplicate key, a value too long), the batch is rolled back
// and its ops run again one transaction each, so that only the op whose
// statement fails gets the error.

// maxBatch bounds how many ops one transaction holds.
const maxBatch = 256

// yieldEvery: while writes come alone, one batch in yieldEvery still lets
// the ready goroutines queue theirs first (see committer.loop).
const yieldEvery = 64

// togetherFor is how many batches of one write still count as writes
// coming together after a batch of several.
const togetherFor = 16

// maxInsertRows bounds the rows of one multi-row INSERT.
const maxInsertRows = 64

// BatchTx is the transaction a batch of writes runs in. Statements run in
// the order they are given; where the engine pipelines (Dialect.Begin)
// they are only queued, and Sync sends what is queued in one round trip
// and runs the callbacks. A callback's error, or the first statement
// error, ends the batch: every later call is a no-op and Sync and Commit
// return that error.
type BatchTx interface {
	// Exec runs query; fn, when not nil, gets the rows it changed.
	Exec(query string, args []any, fn func(rowsAffected int64) error)
	// QueryRow runs query; fn gets a scan of its first row, which returns
	// sql.ErrNoRows when there is none.
	QueryRow(query string, args []any, fn func(scan func(dest ...any) error) error)
	// Sync runs the queued statements and their callbacks.
	Sync() error
	// Commit runs what is queued and commits; the batch's writes are
	// durable when it returns nil, or after the next Sync where the store
	// has one (Config.Sync).
	Commit() error
	// Rollback abandons the transaction and releases its connection.
	Rollback()
}

// op is one write waiting for, or in, a batch.
type op struct {
	// run writes the op's statements to tx and arranges, through tx's
	// callbacks, for its result to be set. It is run again, from the
	// start, when its batch is retried or split. Nil for a Create.
	run func(tx BatchTx) error
	// insert, for a Create, holds the values of its one INSERT, so that a
	// batch sends the INSERTs of consecutive Creates as one statement; run
	// is not used then. The Create succeeded when its batch did: the
	// statement inserts every row or fails.
	insert []any
	// err is the engine's error for the op; nil when the op's own result
	// (set by run) stands.
	err    error
	queued time.Time // when do queued it
	taken  bool      // in a batch; guarded by committer.mu
	done   chan struct{}
}

// committer gathers ops into batches and runs them: one batch at a time
// on each of its loops (Dialect.Committers).
type committer struct {
	s      *Store
	mu     sync.Mutex
	queue  []*op
	closed bool
	wake   chan struct{}
	loops  sync.WaitGroup
	// together counts down the batches since one held several writes or
	// left some queued: while it is above zero, writes come together.
	together   atomic.Int32
	sinceYield atomic.Uint32

	batches, ops atomic.Int64
}

// BatchStats tells how the store's writes were grouped: Batches
// transactions committed (or failed) held Ops writes, and Syncs flushes
// made them durable where the store flushes its commits itself
// (Config.Sync; 0 elsewhere).
type BatchStats struct {
	Batches, Ops, Syncs int64
}

// Batches returns how many batches the store ran and how many writes they
// held since it opened, and how many flushes it made.
func (s *Store) Batches() BatchStats {
	b := BatchStats{Batches: s.c.batches.Load(), Ops: s.c.ops.Load()}
	if s.y != nil {
		s.y.mu.Lock()
		b.Syncs = s.y.syncs
		s.y.mu.Unlock()
	}
	return b
}

func newCommitter(s *Store) *committer {
	n := max(s.d.Committers, 1)
	c := &committer{s: s, wake: make(chan struct{}, n)}
	for range n {
		c.loops.Go(c.loop)
	}
	return c
}

// errClosed is the error of a write handed to a closed store.
var errClosed = fmt.Errorf("store closed: %w", oauth2.ErrUnavailable)

// errQueuedTooLong is the error of a write that waited in the queue for
// longer than the store's timeout, or behind a batch that the engine did
// not finish within it: the batches ahead of it were slow (the engine is
// failing), and it is answered with that instead of being run.
var errQueuedTooLong = fmt.Errorf("queued for longer than the timeout: %w", context.DeadlineExceeded)

// close runs the ops already queued, then stops the committer.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	close(c.wake)
	c.mu.Unlock()
	c.loops.Wait()
}

// do hands o to the committer and waits for its result. While o is
// queued, ctx ending takes it back out, unwritten; once in a batch, o is
// waited for (the batch is bounded by the store's timeout), so that the
// caller never misses the outcome of a write that may be committed. A
// write still queued after the store's timeout, or queued before a batch
// that the engine did not finish in time ended, is answered
// errQueuedTooLong, unwritten, when a loop next takes a batch (the batch
// ahead of it ended, bounded by the timeout too): a caller without a
// deadline of its own waits about twice the timeout at most, as it would
// with a timer of its own, without the cost of one per write.
func (c *committer) do(ctx context.Context, o *op) error {
	o.done = make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	o.queued = time.Now() // under mu: the queue is in the order of queued
	c.queue = append(c.queue, o)
	select {
	case c.wake <- struct{}{}:
	default: // every loop is awake already, or will look at the queue
	}
	c.mu.Unlock()
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	if !o.taken {
		for i, q := range c.queue {
			if q == o {
				c.queue = append(c.queue[:i], c.queue[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
	c.mu.Unlock()
	<-o.done
	return o.err
}

func (c *committer) loop() {
	var batch []*op
	// stalledAt is when this loop's last batch that the engine did not
	// finish within the timeout ended: the writes queued before then
	// waited on a stuck engine, and are answered, not run (each would
	// wait another timeout of its own).
	var stalledAt time.Time
	for {
		// While writes come together, let the goroutines that are ready to
		// run (requests on their way to a write) queue theirs first: where
		// the process is short of CPU, the committer would otherwise run
		// as soon as one write is queued, and every commit would hold one.
		// A lone writer is not made to wait behind unrelated goroutines,
		// but one batch in yieldEvery yields anyway, to find out whether
		// writes would come together if let.
		if c.together.Load() > 0 || c.sinceYield.Add(1)%yieldEvery == 0 {
			runtime.Gosched()
		}
		c.mu.Lock()
		n := min(len(c.queue), maxBatch)
		if n == 0 {
			closed := c.closed
			c.mu.Unlock()
			if closed {
				return
			}
			<-c.wake // closed by close: then drain the queue and return
			continue
		}
		batch = append(batch[:0], c.queue[:n]...)
		for _, o := range batch {
			o.taken = true
		}
		// The ops that waited past the timeout, or behind a batch the
		// engine did not finish in time, are answered, not run; the first
		// op is the oldest.
		var expired []*op
		now := time.Now()
		late := func(o *op) bool { return now.Sub(o.queued) > c.s.timeout || o.queued.Before(stalledAt) }
		if late(batch[0]) {
			kept := batch[:0]
			for _, o := range batch {
				if late(o) {
					expired = append(expired, o)
					continue
				}
				kept = append(kept, o)
			}
			clear(batch[len(kept):])
			batch = kept
		}
		// The rest moves to the front, in the same array.
		rest := copy(c.queue, c.queue[n:])
		clear(c.queue[rest:])
		c.queue = c.queue[:rest]
		if n > 1 || rest > 0 {
			c.together.Store(togetherFor)
		} else if c.together.Load() > 0 {
			c.together.Add(-1)
		}
		c.mu.Unlock()

		for _, o := range expired {
			o.err = errQueuedTooLong
			close(o.done)
		}
		if len(batch) == 0 {
			continue
		}
		c.batches.Add(1)
		c.ops.Add(int64(len(batch)))
		if c.s.runBatch(batch) {
			stalledAt = time.Now()
		}
		if c.s.y != nil {
			c.s.y.handOver(batch)
		} else {
			for _, o := range batch {
				close(o.done)
			}
		}
		clear(batch)
	}
}

// runBatch runs ops in one transaction, again after a conflict, and one
// transaction each after a statement of one of them failed. It sets each
// op's err, and reports stalled when the engine did not finish a
// transaction within the store's timeout.
func (s *Store) runBatch(ops []*op) (stalled bool) {
	ctx, cancel := s.op(context.Background())
	defer cancel()
	backoff := time.Millisecond
	for attempt := 0; ; attempt++ {
		err := s.runTx(ctx, ops)
		if err == nil {
			for _, o := range ops {
				o.err = nil
			}
			return false
		}
		class := s.classify(ctx, err)
		if class == Conflict && attempt < maxConflictRetries && ctx.Err() == nil {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			backoff *= 2
			continue
		}
		if class == Permanent && len(ops) > 1 {
			for _, o := range ops {
				stalled = s.runBatch([]*op{o}) || stalled
			}
			return stalled
		}
		for _, o := range ops {
			o.err = err
		}
		return ctx.Err() != nil
	}
}

// runTx runs ops in one transaction and commits it.
func (s *Store) runTx(ctx context.Context, ops []*op) error {
	if n := s.insertRun(ops); s.autocommit && n > 0 && n == len(ops) {
		return s.insertAlone(ctx, ops)
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < len(ops); {
		if n := s.insertRun(ops[i:]); n > 0 {
			s.insertRows(tx, ops[i:i+n])
			i += n
			continue
		}
		if err := ops[i].run(tx); err != nil {
			tx.Rollback()
			return err
		}
		i++
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		return err
	}
	return nil
}

// insertRun returns how many of the first ops are Creates that one
// multi-row INSERT can carry, up to maxInsertRows.
func (s *Store) insertRun(ops []*op) int {
	n := 0
	for n < len(ops) && n < maxInsertRows && ops[n].insert != nil {
		n++
	}
	return n
}

// insertArgs returns the values of the rows of ops, Creates, in order.
func insertArgs(ops []*op) []any {
	args := make([]any, 0, len(ops)*len(ops[0].insert))
	for _, o := range ops {
		args = append(args, o.insert...)
	}
	return args
}

// insertRows sends the INSERTs of ops, Creates, as one statement. The
// statement fails whole when one row would duplicate a key, and the batch
// then runs again one write per transaction, so each op's result is
// exact.
func (s *Store) insertRows(tx BatchTx, ops []*op) {
	tx.Exec(s.q.insertRows[len(ops)-1].text, insertArgs(ops), nil)
}

// insertAlone runs a batch of Creates only, as one multi-row INSERT
// outside any transaction: a statement in autocommit mode (which the store
// made sure of: Config.Autocommit) is a transaction of its own, all rows
// or none, committed (durably: InnoDB's default
// innodb_flush_log_at_trx_commit=1, PostgreSQL's synchronous_commit=on;
// SQLite's after the store's flush, Config.Sync) before the engine
// answers. The batch then
// costs one statement instead of three (BEGIN, INSERT, COMMIT), and on a
// server engine one round trip. A duplicate fails the statement whole,
// and runBatch runs each write alone.
func (s *Store) insertAlone(ctx context.Context, ops []*op) error {
	_, err := s.q.insertRows[len(ops)-1].exec(ctx, nil, insertArgs(ops)...)
	return err
}

// begin starts a batch transaction: the dialect's own (a pipeline) where
// it has one, else database/sql's.
func (s *Store) begin(ctx context.Context) (BatchTx, error) {
	if s.d.Begin != nil {
		conn, err := s.w.Conn(ctx)
		if err != nil {
			return nil, err
		}
		tx, err := s.d.Begin(ctx, conn)
		if err != nil {
			conn.Close()
			return nil, err
		}
		return tx, nil
	}
	tx, err := s.w.BeginTx(ctx, s.d.TxOptions)
	if err != nil {
		return nil, err
	}
	return &sqlTx{ctx: ctx, tx: tx, stmts: s.stmtOf}, nil
}

// sqlTx is a BatchTx on a database/sql transaction: every statement runs
// at once.
type sqlTx struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	inTx  map[*sql.Stmt]*sql.Stmt // the statements of stmts bound to tx so far
	err   error
}

// stmt returns the prepared statement of query bound to the transaction,
// once per batch; nil when query is not prepared.
func (t *sqlTx) stmt(query string) *sql.Stmt {
	ps := t.stmts[query]
	if ps == nil {
		return nil
	}
	if st := t.inTx[ps]; st != nil {
		return st
	}
	if t.inTx == nil {
		t.inTx = make(map[*sql.Stmt]*sql.Stmt, 4)
	}
	st := t.tx.StmtContext(t.ctx, ps)
	t.inTx[ps] = st
	return st
}

func (t *sqlTx) Exec(query string, args []any, fn func(int64) error) {
	if t.err != nil {
		return
	}
	var res sql.Result
	if st := t.stmt(query); st != nil {
		res, t.err = st.ExecContext(t.ctx, args...)
	} else {
		res, t.err = t.tx.ExecContext(t.ctx, query, args...)
	}
	if t.err != nil || fn == nil {
		return
	}
	n, err := res.RowsAffected()
	if err != nil {
		t.err = err
		return
	}
	t.err = fn(n)
}

func (t *sqlTx) QueryRow(query string, args []any, fn func(func(...any) error) error) {
	if t.err != nil {
		return
	}
	var r *sql.Row
	if st := t.stmt(query); st != nil {
		r = st.QueryRowContext(t.ctx, args...)
	} else {
		r = t.tx.QueryRowContext(t.ctx, query, args...)
	}
	t.err = fn(r.Scan)
}

func (t *sqlTx) Sync() error { return t.err }

func (t *sqlTx) Commit() error {
	if t.err != nil {
		return t.err
	}
	return t.tx.Commit()
}

func (t *sqlTx) Rollback() { _ = t.tx.Rollback() }

// noRows reports whether a scan found no row (BatchTx scans report
// sql.ErrNoRows, whatever the driver).
func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// Queued returns how many writes wait for a batch, for tests that need
// writes to gather behind one in flight.
func Queued(s *Store) int {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return len(s.c.queue)
}
