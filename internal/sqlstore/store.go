// Package sqlstore is the SQL logic shared by the SQLite, PostgreSQL and
// MySQL token and client stores (store/sqlite, store/postgres,
// store/mysql), written against database/sql. What differs between the
// engines is in one Dialect value per engine package.
//
// Schema (migration 1):
//
//   - {tokens}: one row per record (oauth2.TokenInfo): its grant, client,
//     user, redirect URI, scope, PKCE challenge, and for each of its code,
//     access and refresh parts a SHA-256 of the value (nullable, unique),
//     the create time, the lifetime and the expiry, in Unix nanoseconds.
//     expires_at, the latest expiry of its parts, is what the sweeper
//     deletes by. Indexed by each hash, by grant and by expires_at.
//   - {used}: the SHA-256 of each consumed code and rotated-out refresh
//     token with its grant, until expires_at, for replay detection.
//   - {clients}: registered clients, the secret only as an argon2id or
//     bcrypt hash.
//   - {migrations}: the applied schema versions.
//
// Migration 2 adds {kv}, the values, counters and expiries of
// oauth2.KVStore (signing keys, throttling counters, client assertion
// jti), shared by every process that uses the database.
//
// Migration 3 adds {tokens}.extension, the record's extension data
// (oauth2.ExtendableTokenInfo) in its url.Values.Encode form, NULL for
// none; and to {used} the client, redirect URI and PKCE challenge of the
// consumed record, which a *oauth2.ReusedError reports (NULL in rows
// written before it).
//
// Migration 4 adds {documents}, the documents of oauth2.DocumentStore by
// (kind, id) in binary columns, and {docversions}, the change counter of
// each kind, keyed by kind in a binary column (documents.go).
//
// Migration 5 (SQLite only, store/sqlite) makes the uniqueness of each
// hash a partial index that leaves out NULL, and the grant index one that
// leaves out the records of no grant, so that an insert changes only the
// B-trees of the parts the record has (Dialect.RevokeWhere).
//
// Only hashes of codes and tokens are at rest; a record read back carries
// the value it was looked up by and "" for its other secret values.
//
// Every write runs in a batch (batch.go): the writes waiting when the
// store's committer is free share one transaction and one commit.
//
// Consumption (ExchangeCode, RotateRefresh) runs in one transaction: a
// locking read of the live row by its hash (SELECT ... FOR UPDATE, or
// SQLite's exclusive BEGIN IMMEDIATE), the used row, and the issued record
// written in place of the consumed one. The row lock admits exactly one
// consumer, in any number of processes; the others find no live row and
// then the used row, and get a *oauth2.ReusedError. The issued record
// keeps the consumed row's identity rather than being a new row, so that a
// RevokeGrant that waited on the row lock deletes what replaced it (under
// READ COMMITTED, a DELETE that waited does not see rows inserted by the
// transaction it waited for, but does follow an update of the row).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/oauth2d/oauth2"
)

// Store is a token and client store on a SQL engine. It implements
// oauth2.TokenStore, oauth2.ClientStore, oauth2.KVStore and
// oauth2.DocumentStore and is safe for concurrent use.
type Store struct {
	d       *Dialect
	t       Tables
	w, r    *sql.DB // writes and reads; the same pool except on SQLite
	own     bool
	now     func() time.Time
	timeout time.Duration
	batch   int
	// autocommit: a batch of Creates only may run outside a transaction
	// (Config.Autocommit).
	autocommit bool

	q       queries
	stmts   []*sql.Stmt
	stmtOf  map[string]*sql.Stmt // the statements of w, by text
	c       *committer
	y       *syncer // nil unless Config.Sync
	stop    chan struct{}
	swept   chan struct{}
	closing sync.Once
}

var (
	_ oauth2.TokenStore  = (*Store)(nil)
	_ oauth2.ClientStore = (*Store)(nil)
)

// MigrateTimeout bounds Open's migrations on a server engine when its
// context has no deadline, so that an engine that stopped answering, or
// another process that holds the migration lock, fails Open instead of
// hanging it.
const MigrateTimeout = time.Minute

// Open migrates the schema and returns a store that writes through w and
// reads through r (r may be w). Connecting is bounded by the store's
// timeout, the migrations by ctx or, when ctx has no deadline, on a server
// engine by MigrateTimeout. An engine in the process (SQLite) cannot stop
// answering and waits for another process's lock only up to its busy
// timeout per statement, so its migrations are bounded by ctx alone: a
// migration that copies a large table (SQLite's migration 5, about 6 s a
// million rows) runs to its end. When own is set, Close closes both pools. On error the
// pools are left open for the caller to close; the error wraps
// oauth2.ErrUnavailable when the engine could not be reached, and the
// caller adds the engine's name.
func Open(ctx context.Context, d *Dialect, w, r *sql.DB, own bool, cfg Config) (*Store, error) {
	s := &Store{
		d: d, t: newTables(cfg.Schema, cfg.TablePrefix), w: w, r: r, own: own,
		now: cfg.Now, timeout: cfg.Timeout, batch: cfg.SweepBatch, autocommit: cfg.Autocommit,
		stop: make(chan struct{}), swept: make(chan struct{}),
	}
	pctx, cancel := s.op(ctx)
	err := w.PingContext(pctx)
	cancel()
	if err != nil {
		return nil, s.wrap(pctx, "connect", err)
	}
	if _, ok := ctx.Deadline(); !ok && !d.InProcess {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, MigrateTimeout)
		defer cancel()
	}
	if err := s.migrate(ctx); err != nil {
		return nil, s.wrap(ctx, "migrate", err)
	}
	if err := s.prepare(ctx); err != nil {
		s.closeStmts()
		return nil, s.wrap(ctx, "prepare", err)
	}
	if cfg.Sync != nil {
		// Writes come one at a time when the committer has not seen them
		// come together lately (committer.together).
		s.y = newSyncer(cfg.Sync, func() bool { return s.c.together.Load() == 0 })
	}
	s.c = newCommitter(s)
	if cfg.SweepInterval > 0 {
		go s.sweepEvery(cfg.SweepInterval)
	} else {
		close(s.swept)
	}
	return s, nil
}

// TablesOf returns the table names of s, for tests and tools that read
// the tables directly.
func TablesOf(s *Store) Tables { return s.t }

// Versions returns the schema versions of s's engine, in order: what a
// migrated database records.
func Versions(s *Store) []int {
	var vs []int
	for _, m := range s.d.Migrations(s.t) {
		vs = append(vs, m.Version)
	}
	return vs
}

// DBOf returns the pool s writes through.
func DBOf(s *Store) *sql.DB { return s.w }

// Rebind expands the table names of q for s and writes its "?" bind
// parameters as s's dialect does.
func Rebind(s *Store, q string) string { return s.d.rebind(s.t, q) }

// Ping checks that the engine answers, within the store's timeout.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return s.fail(ctx, "ping", s.w.PingContext(ctx))
}

// Close stops the sweeper, waiting for a sweep in progress, and closes the
// store's statements and, when the store opened them, its connections.
func (s *Store) Close() error {
	var err error
	s.closing.Do(func() {
		close(s.stop)
		<-s.swept
		s.c.close()
		if s.y != nil {
			s.y.close()
		}
		s.closeStmts()
		if s.own {
			err = s.w.Close()
			if s.r != s.w {
				err = errors.Join(err, s.r.Close())
			}
		}
	})
	return err
}

func (s *Store) closeStmts() {
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
}

// op bounds one operation by the store's timeout.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// readOp bounds one read by the store's timeout, through the context
// except where the engine bounds it by itself (Dialect.InProcess).
func (s *Store) readOp(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.d.InProcess {
		return ctx, func() {}
	}
	return s.op(ctx)
}

func (s *Store) nowNanos() int64 { return unixNanos(s.now()) }

// maxConflictRetries bounds how often a transaction aborted by a conflict
// is run again, within the operation's timeout.
const maxConflictRetries = 8

// retry runs fn again while it fails with a Conflict, backing off, until
// it succeeds, fails otherwise or ctx ends.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	backoff := time.Millisecond
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxConflictRetries || s.classify(ctx, err) != Conflict {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff *= 2
	}
}

// fail wraps err with the engine and operation, and with
// oauth2.ErrUnavailable when the engine could not be reached in time. The
// store's own ErrNotFound and *ReusedError pass through.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if err == nil || errors.Is(err, oauth2.ErrNotFound) || errors.Is(err, oauth2.ErrReused) {
		return err
	}
	return fmt.Errorf("%s: %w", s.d.Name, s.wrap(ctx, op, err))
}

// wrap is fail without the engine's name.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	switch s.classify(ctx, err) {
	case Unavailable, Conflict:
		return fmt.Errorf("%s: %w: %w", op, oauth2.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func (s *Store) notFound(op string) error {
	return fmt.Errorf("%s: %s: %w", s.d.Name, op, oauth2.ErrNotFound)
}
