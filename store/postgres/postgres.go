// Package postgres is the PostgreSQL token and client store, for servers
// that outgrow one machine: any number of processes sharing one database
// serve one issuer (docs/architecture.md section 4).
//
// Connections come from a pgx pool (github.com/jackc/pgx/v5/pgxpool),
// used through pgx's database/sql adapter (stdlib.OpenDBFromPool) so that
// the SQL logic is the one shared with the SQLite and MySQL stores
// (internal/sqlstore). The pool keeps pgx's per-connection statement
// cache, so every statement is prepared once per connection and then costs
// one round trip, as with pgx used directly.
//
// A code or refresh token is consumed in one READ COMMITTED transaction
// that locks its row (SELECT ... FOR UPDATE) and updates it in place: of
// any number of concurrent consumers, in any number of processes, exactly
// one finds the row; the others wait for the lock, find it changed, and
// get a *oauth2.ReusedError.
//
// Concurrent writes share transactions and commits (group commit,
// internal/sqlstore). A batch of issuances only is one multi-row INSERT,
// which PostgreSQL commits on its own; any other batch goes to the server
// on pgx's native pipeline (pgx.Batch, through the pool's connection):
// BEGIN, the batch's statements (its issuances again as one INSERT) and
// COMMIT in one round trip, plus one for each consumption's locking read.
// Each writer is answered once the commit that holds its write is durable
// (synchronous_commit on, the default).
//
// Every operation is bounded by a timeout (WithTimeout, default 3s). When
// the server cannot be reached, operations fail with an error wrapping
// oauth2.ErrUnavailable, and the pool reconnects by itself when the server
// is back.
//
// Codes and tokens are kept as keys (a digest; the issue time and a digest
// for the values of generates.TimeOrderedAuthorizeGenerate and
// TimeOrderedAccessGenerate). With those generators
// (manage.Manager.MapAuthorizeGenerate, MapAccessGenerate) the unique
// indexes grow at their right edge instead of taking a random page per
// write; oauth2d uses them with this store.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
)

// Store is a token and client store in a PostgreSQL database. It
// implements oauth2.TokenStore, oauth2.ClientStore, oauth2.KVStore and
// oauth2.DocumentStore and is safe for concurrent use by any number of
// processes.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

var (
	_ oauth2.TokenStore    = (*Store)(nil)
	_ oauth2.KVStore       = (*Store)(nil)
	_ oauth2.DocumentStore = (*Store)(nil)
)

// Option configures a Store.
type Option = sqlstore.Option

// WithClock makes the store read the time from now for every expiry
// decision, instead of time.Now (never the server's NOW()).
func WithClock(now func() time.Time) Option { return sqlstore.WithClock(now) }

// WithTimeout bounds every operation, including connecting (default 3s).
func WithTimeout(d time.Duration) Option { return sqlstore.WithTimeout(d) }

// WithTablePrefix sets the prefix of the table and index names (default
// "oauth2_").
func WithTablePrefix(prefix string) Option { return sqlstore.WithTablePrefix(prefix) }

// WithSchema puts the tables in schema, which Open creates if missing
// (default: the connection's search_path).
func WithSchema(schema string) Option { return sqlstore.WithSchema(schema) }

// WithSweepInterval sets how often expired rows are deleted (default 1m);
// zero or less disables the background sweeper.
func WithSweepInterval(d time.Duration) Option { return sqlstore.WithSweepInterval(d) }

// WithSweepBatch sets how many rows one DELETE of the sweeper removes at
// most (default 256).
func WithSweepBatch(n int) Option { return sqlstore.WithSweepBatch(n) }

// Open connects to the database of dsn, a postgres:// URL or a key=value
// connection string as pgx accepts (pool_max_conns and the other pgxpool
// parameters included), and migrates the schema. Without a
// connect_timeout in dsn, connecting is bounded by the store's timeout.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := sqlstore.NewConfig(opts...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, sqlstore.DSNError("postgres", dsn, err)
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = cfg.Timeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	// PostgreSQL commits a statement run outside a transaction on its own:
	// it has no autocommit switch.
	cfg.Autocommit = true
	s, err := sqlstore.Open(ctx, Dialect, db, db, true, cfg)
	if err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s@%s/%s: %w", pc.ConnConfig.User, pc.ConnConfig.Host, pc.ConnConfig.Database, err)
	}
	return &Store{Store: s, pool: pool}, nil
}

// New returns a store on db, an existing pool of the pgx driver
// (github.com/jackc/pgx/v5/stdlib), and migrates the schema. Close leaves
// db open.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	cfg, err := sqlstore.NewConfig(opts...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.Autocommit = true // as in Open
	s, err := sqlstore.Open(ctx, Dialect, db, db, false, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{Store: s}, nil
}

// Close stops the sweeper and closes the connections the store opened.
func (s *Store) Close() error {
	err := s.Store.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

// Dialect is what PostgreSQL does its own way.
var Dialect = &sqlstore.Dialect{
	Name:        "postgres",
	Placeholder: sqlstore.Dollar,
	ForUpdate:   " FOR UPDATE",
	// pgx caches prepared statements per connection by itself.
	Prepare: false,
	Begin:   beginPipeline,
	// Two batches in flight overlap one's round trip with the other's WAL
	// flush.
	Committers:       2,
	TransactionalDDL: true,
	Setup: func(t sqlstore.Tables) []string {
		var stmts []string
		if t.Schema != "" {
			stmts = append(stmts, `CREATE SCHEMA IF NOT EXISTS `+t.Schema)
		}
		return append(stmts, `CREATE TABLE IF NOT EXISTS {migrations} (
	version INTEGER PRIMARY KEY,
	applied_at BIGINT NOT NULL
)`)
	},
	Migrations: func(sqlstore.Tables) []sqlstore.Migration {
		return []sqlstore.Migration{{Version: 1, Statements: []string{
			`CREATE TABLE {tokens} (
	id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	grant_id BYTEA NOT NULL,
	client_id BYTEA NOT NULL,
	user_id BYTEA NOT NULL,
	redirect_uri BYTEA NOT NULL,
	scope BYTEA NOT NULL,
	code_challenge BYTEA NOT NULL,
	code_challenge_method BYTEA NOT NULL,
	code_hash BYTEA UNIQUE,
	code_created BIGINT,
	code_ttl BIGINT,
	code_expires BIGINT,
	access_hash BYTEA UNIQUE,
	access_created BIGINT,
	access_ttl BIGINT,
	access_expires BIGINT,
	refresh_hash BYTEA UNIQUE,
	refresh_created BIGINT,
	refresh_ttl BIGINT,
	refresh_expires BIGINT,
	expires_at BIGINT NOT NULL
)`,
			`CREATE INDEX {prefix}tokens_grant ON {tokens} (grant_id)`,
			`CREATE INDEX {prefix}tokens_expires ON {tokens} (expires_at)`,
			`CREATE TABLE {used} (
	hash BYTEA PRIMARY KEY,
	kind SMALLINT NOT NULL,
	grant_id BYTEA NOT NULL,
	expires_at BIGINT NOT NULL
)`,
			`CREATE INDEX {prefix}used_expires ON {used} (expires_at)`,
			`CREATE TABLE {clients} (
	id BYTEA PRIMARY KEY,
	secret_hash BYTEA NOT NULL,
	domain BYTEA NOT NULL,
	redirect_uris BYTEA NOT NULL,
	grant_types BYTEA NOT NULL,
	scopes BYTEA NOT NULL,
	public BOOLEAN NOT NULL,
	user_id BYTEA NOT NULL,
	token_endpoint_auth_method BYTEA NOT NULL,
	jwks BYTEA
)`,
		}}, {Version: 2, Statements: []string{
			`CREATE TABLE {kv} (
	k BYTEA PRIMARY KEY,
	val BYTEA,
	counter BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
)`,
			`CREATE INDEX {prefix}kv_expires ON {kv} (expires_at)`,
		}}, {Version: 3, Statements: []string{
			`ALTER TABLE {tokens} ADD COLUMN extension BYTEA`,
			`ALTER TABLE {used} ADD COLUMN client_id BYTEA, ADD COLUMN redirect_uri BYTEA,
	ADD COLUMN code_challenge BYTEA, ADD COLUMN code_challenge_method BYTEA`,
		}}, {Version: 4, Statements: []string{
			// bytea compares byte by byte, whatever the collation: the
			// primary key orders IDs as ListDocuments returns them.
			`CREATE TABLE {documents} (
	kind BYTEA NOT NULL,
	id BYTEA NOT NULL,
	body BYTEA NOT NULL,
	PRIMARY KEY (kind, id)
)`,
			`CREATE TABLE {docversions} (
	kind BYTEA PRIMARY KEY,
	version BIGINT NOT NULL
)`,
		}}}
	},
	LockMigrations:      lockMigrations,
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

// lockMigrations takes a session advisory lock named after the migrations
// table, so that processes opening the same tables migrate one at a time
// (CREATE ... IF NOT EXISTS alone races in PostgreSQL).
func lockMigrations(ctx context.Context, conn *sql.Conn, t sqlstore.Tables) (func(), error) {
	h := fnv.New64a()
	h.Write([]byte("oauth2d migrations " + t.Migrations))
	key := int64(h.Sum64())
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, key)
	}, nil
}

// classify tells what a pgx error means. Serialization failures and
// deadlocks are conflicts the store retries; connection failures, server
// shutdown, lack of resources and a read-only server (a standby after a
// failover) leave the store unavailable.
func classify(err error) sqlstore.Class {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03":
			return sqlstore.Conflict
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", pe.Code == "25006":
			return sqlstore.Unavailable
		}
		return sqlstore.Permanent
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return sqlstore.Unavailable
	}
	return sqlstore.Permanent
}
