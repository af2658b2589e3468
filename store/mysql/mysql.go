// Package mysql is the MySQL and MariaDB token and client store
// (github.com/go-sql-driver/mysql), tested against MariaDB. It shares its
// SQL logic with the SQLite and PostgreSQL stores (internal/sqlstore);
// what MySQL does its own way is in Dialect.
//
// A code or refresh token is consumed in one InnoDB transaction that locks
// its row (SELECT ... FOR UPDATE, which reads the latest committed version
// whatever the isolation level) and updates it in place: of any number of
// concurrent consumers, in any number of processes, exactly one finds the
// row; the others find it changed and get a *oauth2.ReusedError. A
// transaction that InnoDB aborts as a deadlock victim is run again.
//
// Concurrent writes share transactions and commits (group commit,
// internal/sqlstore): a token is answered once the commit that holds it is
// durable (with innodb_flush_log_at_trx_commit=1, the default), and one
// log flush serves every write of the batch. Batches run at READ
// COMMITTED, so that a replay's used row written by another process is
// seen inside a batch.
//
// Tables are InnoDB; every text column is binary (VARBINARY or BLOB), so
// values are compared byte for byte and kept whatever the connection's
// character set.
//
// Codes and tokens are kept as keys (a digest; the issue time and a digest
// for the values of generates.TimeOrderedAuthorizeGenerate and
// TimeOrderedAccessGenerate). With those generators
// (manage.Manager.MapAuthorizeGenerate, MapAccessGenerate) the unique
// indexes grow at their right edge instead of taking a random page per
// write; oauth2d uses them with this store.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
)

// Store is a token and client store in a MySQL or MariaDB database. It
// implements oauth2.TokenStore, oauth2.ClientStore, oauth2.KVStore (keys
// of at most 1024 bytes) and oauth2.DocumentStore and is safe for
// concurrent use by any number of processes.
type Store struct {
	*sqlstore.Store
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

// WithSweepInterval sets how often expired rows are deleted (default 1m);
// zero or less disables the background sweeper.
func WithSweepInterval(d time.Duration) Option { return sqlstore.WithSweepInterval(d) }

// WithSweepBatch sets how many rows one DELETE of the sweeper removes at
// most (default 256).
func WithSweepBatch(n int) Option { return sqlstore.WithSweepBatch(n) }

// maxConns bounds the connections of a store opened by Open.
const maxConns = 32

// Open connects to the database of dsn, in the driver's format
// ("user:password@tcp(host:3306)/dbname?param=value"), and migrates the
// schema. Without a timeout parameter in dsn, dialing is bounded by the
// store's timeout.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := sqlstore.NewConfig(opts...)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	mc, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		return nil, sqlstore.DSNError("mysql", dsn, err)
	}
	if mc.DBName == "" {
		return nil, fmt.Errorf("mysql: %w: no database name (user@tcp(host:port)/dbname)", sqlstore.ErrInvalidDSN)
	}
	if mc.Timeout == 0 {
		mc.Timeout = cfg.Timeout
	}
	// Every connection commits each statement run outside a transaction
	// on its own, whatever the DSN or the server's default: a batch of
	// issuances is then one INSERT, durable when it returns
	// (sqlstore.Config.Autocommit).
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	mc.Params["autocommit"] = "1"
	cfg.Autocommit = true
	// The driver logs broken connections it discards; the store reports
	// failures through its errors instead.
	mc.Logger = mysqldriver.Logger(log.New(io.Discard, "", 0))
	connector, err := mysqldriver.NewConnector(mc)
	if err != nil {
		return nil, sqlstore.DSNError("mysql", dsn, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s, err := sqlstore.Open(ctx, Dialect, db, db, true, cfg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("mysql: open %s@%s/%s: %w", mc.User, mc.Addr, mc.DBName, err)
	}
	return &Store{s}, nil
}

// New returns a store on db, an existing pool of the go-sql-driver/mysql
// driver, and migrates the schema. Close leaves db open. Its batches of
// issuances run in a transaction each, whatever db's autocommit setting;
// Open's pool, which sets autocommit=1, sends them as one statement.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	cfg, err := sqlstore.NewConfig(opts...)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	s, err := sqlstore.Open(ctx, Dialect, db, db, false, cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	return &Store{s}, nil
}

// Dialect is what MySQL and MariaDB do their own way: no RETURNING, no ON
// CONFLICT, DELETE with LIMIT, DDL that commits by itself, named locks.
var Dialect = &sqlstore.Dialect{
	Name:        "mysql",
	Placeholder: sqlstore.QuestionMark,
	ForUpdate:   " FOR UPDATE",
	Prepare:     true,
	// READ COMMITTED, as PostgreSQL: a read in a batch's transaction sees
	// what other processes committed since the batch began (a replay's
	// used row), and locking reads take no gap locks.
	TxOptions: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	// Two batches in flight overlap one's round trips with the other's
	// log flush.
	Committers: 2,
	// DDL commits implicitly: each statement of a migration is idempotent,
	// and the named lock keeps other processes out meanwhile.
	TransactionalDDL: false,
	Setup: func(sqlstore.Tables) []string {
		return []string{`CREATE TABLE IF NOT EXISTS {migrations} (
	version INT NOT NULL PRIMARY KEY,
	applied_at BIGINT NOT NULL
) ENGINE=InnoDB`}
	},
	Migrations: func(sqlstore.Tables) []sqlstore.Migration {
		return []sqlstore.Migration{{Version: 1, Statements: []string{
			`CREATE TABLE IF NOT EXISTS {tokens} (
	id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	grant_id VARBINARY(512) NOT NULL,
	client_id BLOB NOT NULL,
	user_id BLOB NOT NULL,
	redirect_uri BLOB NOT NULL,
	scope BLOB NOT NULL,
	code_challenge BLOB NOT NULL,
	code_challenge_method BLOB NOT NULL,
	code_hash BINARY(32) NULL,
	code_created BIGINT NULL,
	code_ttl BIGINT NULL,
	code_expires BIGINT NULL,
	access_hash BINARY(32) NULL,
	access_created BIGINT NULL,
	access_ttl BIGINT NULL,
	access_expires BIGINT NULL,
	refresh_hash BINARY(32) NULL,
	refresh_created BIGINT NULL,
	refresh_ttl BIGINT NULL,
	refresh_expires BIGINT NULL,
	expires_at BIGINT NOT NULL,
	UNIQUE KEY {prefix}tokens_code (code_hash),
	UNIQUE KEY {prefix}tokens_access (access_hash),
	UNIQUE KEY {prefix}tokens_refresh (refresh_hash),
	KEY {prefix}tokens_grant (grant_id),
	KEY {prefix}tokens_expires (expires_at)
) ENGINE=InnoDB`,
			`CREATE TABLE IF NOT EXISTS {used} (
	hash BINARY(32) NOT NULL PRIMARY KEY,
	kind TINYINT NOT NULL,
	grant_id VARBINARY(512) NOT NULL,
	expires_at BIGINT NOT NULL,
	KEY {prefix}used_expires (expires_at)
) ENGINE=InnoDB`,
			`CREATE TABLE IF NOT EXISTS {clients} (
	id VARBINARY(255) NOT NULL PRIMARY KEY,
	secret_hash VARBINARY(512) NOT NULL,
	domain BLOB NOT NULL,
	redirect_uris MEDIUMBLOB NOT NULL,
	grant_types BLOB NOT NULL,
	scopes BLOB NOT NULL,
	public BOOLEAN NOT NULL,
	user_id BLOB NOT NULL,
	token_endpoint_auth_method BLOB NOT NULL,
	jwks MEDIUMBLOB NULL
) ENGINE=InnoDB`,
		}}, {Version: 2, Statements: []string{
			`CREATE TABLE IF NOT EXISTS {kv} (
	k VARBINARY(1024) NOT NULL PRIMARY KEY,
	val MEDIUMBLOB NULL,
	counter BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	KEY {prefix}kv_expires (expires_at)
) ENGINE=InnoDB`,
		}}, {Version: 3, Statements: []string{
			// Each ALTER is atomic; one that ran before a crash fails with
			// ER_DUP_FIELDNAME when the migration runs again, which
			// AlreadyApplied accepts.
			`ALTER TABLE {tokens} ADD COLUMN extension BLOB NULL`,
			`ALTER TABLE {used} ADD COLUMN client_id BLOB NULL, ADD COLUMN redirect_uri BLOB NULL,
	ADD COLUMN code_challenge BLOB NULL, ADD COLUMN code_challenge_method BLOB NULL`,
		}}, {Version: 4, Statements: []string{
			// VARBINARY compares byte by byte and does not pad: the
			// primary key (510 bytes, within InnoDB's 3072) orders IDs as
			// ListDocuments returns them. A body is up to 64 KiB, one
			// byte more than BLOB holds. Each statement is idempotent.
			`CREATE TABLE IF NOT EXISTS {documents} (
	kind VARBINARY(255) NOT NULL,
	id VARBINARY(255) NOT NULL,
	body MEDIUMBLOB NOT NULL,
	PRIMARY KEY (kind, id)
) ENGINE=InnoDB`,
			`CREATE TABLE IF NOT EXISTS {docversions} (
	kind VARBINARY(255) NOT NULL PRIMARY KEY,
	version BIGINT NOT NULL
) ENGINE=InnoDB`,
		}}}
	},
	LockMigrations:      lockMigrations,
	AlreadyApplied:      duplicateColumn,
	UpsertUsed:          sqlstore.UpsertUsedOnDuplicateKey,
	UpsertClient:        sqlstore.UpsertClientOnDuplicateKey,
	SweepTokens:         sqlstore.SweepTokensLimit,
	SweepUsed:           sqlstore.SweepUsedLimit,
	SweepKV:             sqlstore.SweepKVLimit,
	KVPut:               sqlstore.KVPutOnDuplicateKey,
	KVPutIfAbsent:       sqlstore.KVPutIfAbsentOnDuplicateKey,
	KVIncr:              sqlstore.KVIncrOnDuplicateKey,
	InsertDocument:      sqlstore.InsertDocumentIgnore,
	BumpDocumentVersion: sqlstore.BumpDocumentVersionOnDuplicateKey,
	Classify:            classify,
}

// lockName is a named lock (at most 64 characters) per database and
// migrations table.
const lockName = `CONCAT('oauth2d:', SHA1(CONCAT(COALESCE(DATABASE(), ''), '.', ?)))`

// lockMigrations takes a named lock (GET_LOCK) on conn, so that processes
// opening the same tables migrate one at a time.
func lockMigrations(ctx context.Context, conn *sql.Conn, t sqlstore.Tables) (func(), error) {
	wait := 30
	if d, ok := ctx.Deadline(); ok {
		wait = max(1, int(time.Until(d).Seconds()))
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(`+lockName+`, ?)`, t.Migrations, wait).Scan(&got); err != nil {
		return nil, err
	}
	if got.Int64 != 1 {
		return nil, fmt.Errorf("migration lock: not granted within %ds", wait)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, `SELECT RELEASE_LOCK(`+lockName+`)`, t.Migrations)
	}, nil
}

// classify tells what a MySQL error means. Deadlocks and lock wait
// timeouts are conflicts the store retries; too many connections, a
// server shutting down, a killed connection, network errors and a
// read-only server (after a failover) leave the store unavailable.
func classify(err error) sqlstore.Class {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1213, 1205, 1020: // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT, ER_CHECKREAD
			return sqlstore.Conflict
		case 1040, 1053, 1158, 1159, 1160, 1161, 1290, 1836, 1927, 2002, 2003, 2006, 2013:
			// ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_NET_*,
			// ER_OPTION_PREVENTS_STATEMENT (read-only), ER_READ_ONLY_MODE,
			// ER_CONNECTION_KILLED, CR_CONNECTION_ERROR,
			// CR_CONN_HOST_ERROR, CR_SERVER_GONE_ERROR, CR_SERVER_LOST
			return sqlstore.Unavailable
		}
		return sqlstore.Permanent
	}
	if errors.Is(err, mysqldriver.ErrInvalidConn) {
		return sqlstore.Unavailable
	}
	return sqlstore.Permanent
}

// duplicateColumn reports ER_DUP_FIELDNAME: the column a migration adds is
// already there.
func duplicateColumn(err error) bool {
	var me *mysqldriver.MySQLError
	return errors.As(err, &me) && me.Number == 1060
}
