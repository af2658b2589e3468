// Package sqlite is the embedded SQLite token and client store, the
// standalone server's default (docs/architecture.md section 4). It uses
// modernc.org/sqlite, pure Go without cgo.
//
// The database is in WAL mode, and a token whose Create has returned is on
// disk: it survives a process crash (kill -9) and a power loss. SQLite
// runs at synchronous=NORMAL, where a commit writes the log without
// flushing it, and the store flushes the log itself (fdatasync, through
// Linux AIO where it can) before it answers any write: one flush that
// started after a commit makes that commit durable, so a write is never
// answered before it is on disk. synchronous=FULL would flush inside
// COMMIT instead, where the next batch waits for the disk and the process
// waits for the blocking system call (walsync.go). After a failed flush
// the store takes no more writes until it is opened again.
//
// Writes go through one connection and BEGIN IMMEDIATE transactions, and
// the concurrent writes of one process share them (group commit,
// internal/sqlstore): one transaction serves every write waiting when it
// starts, one flush every transaction committed before it starts, and
// each writer is answered once its commit is on disk, so a 200 still
// means durable while the flush is shared. The
// writers of several processes sharing the file wait for each other with
// busy_timeout (bounded by each operation's timeout), so an exchange or a
// rotation has exactly one winner across processes.
// Reads go through a pool of read-only connections that WAL lets run
// alongside the writer. Expired rows are deleted by a background sweeper
// in small batches.
//
// Codes and tokens are kept as keys (a digest; the issue time and a digest
// for the values of generates.TimeOrderedAuthorizeGenerate and
// TimeOrderedAccessGenerate). With those generators
// (manage.Manager.MapAuthorizeGenerate, MapAccessGenerate) the unique
// indexes grow at their right edge instead of taking a random page per
// write; oauth2d uses them with this store.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
)

// Store is a token and client store in a SQLite file. It implements
// oauth2.TokenStore, oauth2.ClientStore, oauth2.KVStore and
// oauth2.DocumentStore and is safe for concurrent use, also by several
// processes that open the same file.
type Store struct {
	*sqlstore.Store
	wal *walSync // nil for a store made by New
}

var (
	_ oauth2.TokenStore    = (*Store)(nil)
	_ oauth2.KVStore       = (*Store)(nil)
	_ oauth2.DocumentStore = (*Store)(nil)
)

// Option configures a Store.
type Option = sqlstore.Option

// WithClock makes the store read the time from now for every expiry
// decision, instead of time.Now.
func WithClock(now func() time.Time) Option { return sqlstore.WithClock(now) }

// WithTimeout bounds every operation, including waiting for another
// process's write lock (default 3s).
func WithTimeout(d time.Duration) Option { return sqlstore.WithTimeout(d) }

// WithTablePrefix sets the prefix of the table and index names (default
// "oauth2_").
func WithTablePrefix(prefix string) Option { return sqlstore.WithTablePrefix(prefix) }

// WithSweepInterval sets how often expired rows are deleted (default 1m);
// zero or less disables the background sweeper.
func WithSweepInterval(d time.Duration) Option { return sqlstore.WithSweepInterval(d) }

// WithSweepBatch sets how many rows one DELETE of the sweeper removes at
// most (default 256).
func WithSweepBatch(n int) Option { return sqlstore.WithSweepBatch(n) }

// walCheckpointPages is the size of the write-ahead log, in pages, past
// which a commit checkpoints it.
const walCheckpointPages = 16000

// mmapSize is how much of the database file each read connection maps
// (address space; the pages are the OS page cache, shared).
const mmapSize = 1 << 30

// ErrBadPath is returned by Open for a path it cannot use.
var ErrBadPath = errors.New("sqlite: bad database path")

// Open opens the database file at path, or creates it readable by its
// owner only, and migrates its schema. A file that is not a readable
// SQLite database stops Open with an error naming the file; Open never
// starts over with an empty store.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	return open(ctx, path, nil, opts...)
}

// open is Open; wrapSync, when not nil, wraps the flush of the log (tests).
func open(ctx context.Context, path string, wrapSync func(sync func(alone bool) error) func(alone bool) error, opts ...Option) (*Store, error) {
	cfg, err := sqlstore.NewConfig(opts...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	switch {
	case path == "":
		return nil, fmt.Errorf("%w: empty", ErrBadPath)
	case strings.Contains(path, "?"), strings.HasPrefix(path, "file:"), strings.HasPrefix(path, ":memory:"):
		return nil, fmt.Errorf("%w: %q is not a plain file name", ErrBadPath, path)
	}
	// A new file is readable by its owner only: it holds client secret
	// hashes and, through the key-value table, the server's signing keys.
	// SQLite gives its -wal and -shm files the same permissions.
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	busy := max(cfg.Timeout.Milliseconds(), 1000)
	params := func(p ...string) string {
		v := url.Values{}
		for i := 0; i < len(p); i += 2 {
			v.Add(p[i], p[i+1])
		}
		return path + "?" + v.Encode()
	}
	w, err := sql.Open("sqlite", params(
		"_txlock", "immediate",
		"_pragma", fmt.Sprintf("busy_timeout(%d)", busy),
		"_pragma", "journal_mode(WAL)",
		// A commit writes the log without flushing it; the store flushes
		// the log before it answers (walsync.go).
		"_pragma", "synchronous(NORMAL)",
		// A checkpoint copies the log's pages back into the database
		// file, in the commit that finds the log past this many pages.
		// SQLite's default, 1000 pages, checkpoints every few dozen
		// batches under load, copying again and again the index pages
		// that every batch changes; 16000 (64 MiB of log) copies each of
		// them once for many batches (README, Performance).
		"_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walCheckpointPages),
	))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writer connection: the process's writers queue in the pool.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Readers map the file (up to mmapSize): a lookup in a large table
	// reads its B-tree pages from the OS page cache without a system call
	// per page, so it costs about the same with a million records as with
	// ten thousand.
	r, err := sql.Open("sqlite", params(
		"_pragma", fmt.Sprintf("busy_timeout(%d)", busy),
		"_pragma", "query_only(1)",
		"_pragma", fmt.Sprintf("mmap_size(%d)", mmapSize),
	))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	// SQLite commits a statement run outside a transaction on its own: it
	// has no autocommit switch.
	cfg.Autocommit = true
	wal := newWALSync(path)
	cfg.Sync = wal.sync
	if wrapSync != nil {
		cfg.Sync = wrapSync(wal.sync)
	}
	s, err := sqlstore.Open(ctx, Dialect, w, r, true, cfg)
	if err != nil {
		w.Close()
		r.Close()
		wal.close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &Store{Store: s, wal: wal}, nil
}

// Close waits for the writes in progress, flushed, and closes the store.
func (s *Store) Close() error {
	err := s.Store.Close()
	if s.wal != nil {
		s.wal.close()
	}
	return err
}

// New returns a store on db, migrating its schema. db is used for reads
// and writes; for the guarantees of Open, it should be opened on a file
// with the DSN parameters _txlock=immediate, a busy_timeout,
// journal_mode(WAL) and synchronous(FULL): a store made by New does not
// flush the log itself, so a commit is as durable as db's settings make
// it. Close leaves db open.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	cfg, err := sqlstore.NewConfig(opts...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	cfg.Autocommit = true // as in Open: SQLite has no autocommit switch
	s, err := sqlstore.Open(ctx, Dialect, db, db, false, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return &Store{Store: s}, nil
}

// Dialect is what SQLite does its own way.
var Dialect = &sqlstore.Dialect{
	Name:        "sqlite",
	Placeholder: sqlstore.QuestionMark,
	// BEGIN IMMEDIATE (_txlock) takes the database's write lock at the
	// start of every write transaction: no other writer, in this process
	// or another, runs until it ends.
	ForUpdate:        "",
	Prepare:          true,
	InProcess:        true,
	TransactionalDDL: true,
	Setup: func(sqlstore.Tables) []string {
		return []string{`CREATE TABLE IF NOT EXISTS {migrations} (
	version INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL
)`}
	},
	Migrations: func(sqlstore.Tables) []sqlstore.Migration {
		return []sqlstore.Migration{{Version: 1, Statements: []string{
			`CREATE TABLE {tokens} (
	id INTEGER PRIMARY KEY,
	grant_id BLOB NOT NULL,
	client_id BLOB NOT NULL,
	user_id BLOB NOT NULL,
	redirect_uri BLOB NOT NULL,
	scope BLOB NOT NULL,
	code_challenge BLOB NOT NULL,
	code_challenge_method BLOB NOT NULL,
	code_hash BLOB UNIQUE,
	code_created INTEGER,
	code_ttl INTEGER,
	code_expires INTEGER,
	access_hash BLOB UNIQUE,
	access_created INTEGER,
	access_ttl INTEGER,
	access_expires INTEGER,
	refresh_hash BLOB UNIQUE,
	refresh_created INTEGER,
	refresh_ttl INTEGER,
	refresh_expires INTEGER,
	expires_at INTEGER NOT NULL
)`,
			`CREATE INDEX {prefix}tokens_grant ON {tokens} (grant_id)`,
			`CREATE INDEX {prefix}tokens_expires ON {tokens} (expires_at)`,
			`CREATE TABLE {used} (
	hash BLOB PRIMARY KEY,
	kind INTEGER NOT NULL,
	grant_id BLOB NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID`,
			`CREATE INDEX {prefix}used_expires ON {used} (expires_at)`,
			`CREATE TABLE {clients} (
	id BLOB PRIMARY KEY,
	secret_hash BLOB NOT NULL,
	domain BLOB NOT NULL,
	redirect_uris BLOB NOT NULL,
	grant_types BLOB NOT NULL,
	scopes BLOB NOT NULL,
	public INTEGER NOT NULL,
	user_id BLOB NOT NULL,
	token_endpoint_auth_method BLOB NOT NULL,
	jwks BLOB
) WITHOUT ROWID`,
		}}, {Version: 2, Statements: []string{
			`CREATE TABLE {kv} (
	k BLOB PRIMARY KEY,
	val BLOB,
	counter INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID`,
			`CREATE INDEX {prefix}kv_expires ON {kv} (expires_at)`,
		}}, {Version: 3, Statements: []string{
			`ALTER TABLE {tokens} ADD COLUMN extension BLOB`,
			`ALTER TABLE {used} ADD COLUMN client_id BLOB`,
			`ALTER TABLE {used} ADD COLUMN redirect_uri BLOB`,
			`ALTER TABLE {used} ADD COLUMN code_challenge BLOB`,
			`ALTER TABLE {used} ADD COLUMN code_challenge_method BLOB`,
		}}, {Version: 4, Statements: []string{
			// BLOB keys compare byte by byte (memcmp): the primary key
			// orders IDs as ListDocuments returns them.
			`CREATE TABLE {documents} (
	kind BLOB NOT NULL,
	id BLOB NOT NULL,
	body BLOB NOT NULL,
	PRIMARY KEY (kind, id)
) WITHOUT ROWID`,
			`CREATE TABLE {docversions} (
	kind BLOB PRIMARY KEY,
	version INTEGER NOT NULL
) WITHOUT ROWID`,
		}}, {Version: 5, Statements: partialIndexes}}
	},
	RevokeWhere:         " AND grant_id <> x''",
	UpsertUsed:          sqlstore.UpsertUsedOnConflict,
	UpsertClient:        sqlstore.UpsertClientOnConflict,
	SweepTokens:         sqlstore.SweepTokensInSubquery,
	SweepUsed:           sqlstore.SweepUsedInSubquery,
	SweepKV:             sqlstore.SweepKVInSubquery,
	KVPut:               sqlstore.KVPutOnConflict,
	KVPutIfAbsent:       sqlstore.KVPutIfAbsentOnConflict,
	KVIncr:              sqlstore.KVIncrOnConflict,
	InsertDocument:      sqlstore.InsertDocumentOnConflict,
	BumpDocumentVersion: sqlstore.BumpDocumentVersionOnConflict,
	Classify:            classify,
}

// partialIndexes is migration 5: {tokens} rebuilt with its hash columns no
// longer UNIQUE, each unique through a partial index that leaves out NULL,
// and its grant index without the records of no grant (an empty
// grant_id). A record has one or two of its three hashes, and a
// client_credentials token no grant, so the full indexes took an entry
// per row for every NULL and every empty grant: two or three of the six
// B-trees an insert changed, and pages of the write-ahead log at every
// commit. The lookups (code_hash =
// ?, ...) imply IS NOT NULL and use the partial indexes; RevokeGrant
// repeats the grant index's condition (Dialect.RevokeWhere). SQLite
// cannot drop a column's UNIQUE, hence the copy into a new table, in the
// migration's transaction.
var partialIndexes = []string{
	`CREATE TABLE {tokens}_v5 (
	id INTEGER PRIMARY KEY,
	grant_id BLOB NOT NULL,
	client_id BLOB NOT NULL,
	user_id BLOB NOT NULL,
	redirect_uri BLOB NOT NULL,
	scope BLOB NOT NULL,
	code_challenge BLOB NOT NULL,
	code_challenge_method BLOB NOT NULL,
	code_hash BLOB,
	code_created INTEGER,
	code_ttl INTEGER,
	code_expires INTEGER,
	access_hash BLOB,
	access_created INTEGER,
	access_ttl INTEGER,
	access_expires INTEGER,
	refresh_hash BLOB,
	refresh_created INTEGER,
	refresh_ttl INTEGER,
	refresh_expires INTEGER,
	expires_at INTEGER NOT NULL,
	extension BLOB
)`,
	`INSERT INTO {tokens}_v5 (id, ` + sqlstore.RecordColumns + `) SELECT id, ` + sqlstore.RecordColumns + ` FROM {tokens}`,
	`DROP TABLE {tokens}`,
	`ALTER TABLE {tokens}_v5 RENAME TO {tokens}`,
	`CREATE INDEX {prefix}tokens_grant ON {tokens} (grant_id) WHERE grant_id <> x''`,
	`CREATE INDEX {prefix}tokens_expires ON {tokens} (expires_at)`,
	`CREATE UNIQUE INDEX {prefix}tokens_code ON {tokens} (code_hash) WHERE code_hash IS NOT NULL`,
	`CREATE UNIQUE INDEX {prefix}tokens_access ON {tokens} (access_hash) WHERE access_hash IS NOT NULL`,
	`CREATE UNIQUE INDEX {prefix}tokens_refresh ON {tokens} (refresh_hash) WHERE refresh_hash IS NOT NULL`,
}

// classify tells what a SQLite error means: a busy or locked database is a
// conflict that the store retries, an I/O error or a file it cannot open
// leaves the store unavailable.
func classify(err error) sqlstore.Class {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.Permanent
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return sqlstore.Conflict
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL, sqlite3.SQLITE_PROTOCOL,
		sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_NOLFS:
		return sqlstore.Unavailable
	}
	return sqlstore.Permanent
}
