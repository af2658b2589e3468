package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// Dialect is everything that differs between the SQL engines: the schema,
// the bind parameter syntax, the few statements whose syntax differs, the
// migration lock and the meaning of the driver's errors. Each engine's
// package fills in one Dialect; the rest of the store is shared.
type Dialect struct {
	// Name prefixes error messages: "sqlite", "postgres", "mysql".
	Name string
	// Placeholder returns the bind parameter of the n-th argument, from 1:
	// "?" or "$1".
	Placeholder func(n int) string
	// ForUpdate is appended to the SELECT that reads the row a consuming
	// operation is about to change: " FOR UPDATE" where the engine locks
	// rows, "" where a write transaction already excludes every other
	// writer (SQLite's BEGIN IMMEDIATE).
	ForUpdate string
	// Prepare makes the store prepare its statements once through
	// database/sql. It is false for drivers that cache prepared statements
	// per connection themselves (pgx), where database/sql's own statements
	// would be prepared and closed again on every pooled connection.
	Prepare bool
	// InProcess marks an engine that runs inside the process (SQLite),
	// whose reads cannot hang on a network and wait for another process's
	// lock only up to the busy_timeout the engine's package sets to the
	// store's timeout. Reads then run without a context deadline of their
	// own, which would cost database/sql a goroutine per query.
	InProcess bool
	// TxOptions are used for every write transaction.
	TxOptions *sql.TxOptions
	// Begin, when set, starts the transaction of a batch of writes on
	// conn, which the BatchTx releases when it ends: PostgreSQL's
	// pipeline, which sends the statements of a batch in one round trip.
	// Nil: a database/sql transaction with TxOptions, whose statements
	// run one at a time.
	Begin func(ctx context.Context, conn *sql.Conn) (BatchTx, error)
	// Committers is how many batches may be in flight at once (at least
	// one). SQLite has one writer; a server engine overlaps the round trips
	// and log flushes of a few, and orders them by its row locks as it
	// orders the batches of several processes.
	Committers int
	// RevokeWhere is appended to the condition of RevokeGrant's DELETE
	// (grant_id = ?), where the grant index leaves out the records of no
	// grant and the engine uses a partial index only for a query that
	// repeats its condition (SQLite: " AND grant_id <> x''").
	RevokeWhere string

	// Setup returns the statements run before migrations, after the
	// migration lock is taken: they create the schema if the engine has one
	// and the schema_migrations table, idempotently.
	Setup func(t Tables) []string
	// Migrations returns the schema migrations, in version order from 1.
	// A release only ever appends to the list.
	Migrations func(t Tables) []Migration
	// TransactionalDDL reports whether a migration's statements run in the
	// transaction that records its version. Without it (MySQL) each
	// statement commits on its own and must be idempotent.
	TransactionalDDL bool
	// AlreadyApplied, where DDL is not transactional, reports whether a
	// migration statement failed only because its change is already there
	// (a column added by a run that stopped before it recorded the
	// version), so that running the migration again completes it.
	AlreadyApplied func(error) bool
	// LockMigrations takes an engine-wide lock on conn so that processes
	// opening the store at the same time migrate one after the other, and
	// returns its release. Nil when a write transaction is already
	// exclusive (SQLite).
	LockMigrations func(ctx context.Context, conn *sql.Conn, t Tables) (unlock func(), err error)

	// UpsertUsed inserts or replaces a row of {used} from the arguments
	// in the order of usedColumns.
	UpsertUsed string
	// UpsertClient inserts or replaces a row of {clients} from the
	// arguments in the order of clientColumns.
	UpsertClient string
	// SweepTokens, SweepUsed and SweepKV delete at most a batch of expired
	// rows of {tokens}, {used} and {kv}, from the arguments (now, limit).
	SweepTokens, SweepUsed, SweepKV string

	// KVPut inserts or replaces a value of {kv}, from the arguments (k,
	// val, expires_at).
	KVPut string
	// KVPutIfAbsent inserts a value of {kv}, or replaces an expired one,
	// and changes nothing when a live one is there, from the arguments (k,
	// val, expires_at, now); the rows affected tell which.
	KVPutIfAbsent string
	// KVIncr adds one to the counter of {kv}, or starts it at one with a
	// new expiry when it is missing, expired or holds a value, from the
	// arguments (k, expires_at, now).
	KVIncr string

	// InsertDocument inserts a row of {documents} unless one with its key
	// is there, from the arguments (kind, id, body); the rows affected
	// tell which (InsertDocumentOnConflict, InsertDocumentIgnore).
	InsertDocument string
	// BumpDocumentVersion adds one to the version of a kind in
	// {docversions}, or starts it at one when the kind has no row, from
	// the argument (kind); it locks the kind's row until the transaction
	// ends (BumpDocumentVersionOnConflict,
	// BumpDocumentVersionOnDuplicateKey).
	BumpDocumentVersion string

	// Classify tells what an error of the driver means. The store applies
	// the checks every driver shares (context deadlines, broken
	// connections, network errors) before it.
	Classify func(error) Class
}

// Class is what an error means to the store.
type Class int

const (
	// Permanent: an error of the statement or of the data; retrying does
	// not help.
	Permanent Class = iota
	// Unavailable: the engine cannot be reached, the connection broke or
	// the operation timed out. Reported wrapping oauth2.ErrUnavailable.
	Unavailable
	// Conflict: the engine aborted the transaction because of concurrent
	// transactions (deadlock, serialization failure, database busy).
	// Nothing was written, and the store runs the transaction again.
	Conflict
)

// Migration is one version of the schema.
type Migration struct {
	Version    int
	Statements []string
}

// Tables holds the names of the store's tables, qualified by the schema
// where there is one, and the prefix that index names start with.
type Tables struct {
	Schema, Prefix                        string
	Tokens, Used, Clients, KV, Migrations string
	// Documents holds the documents of oauth2.DocumentStore,
	// DocumentVersions the change counter of each kind.
	Documents, DocumentVersions string
}

// newTables names the tables. schema and prefix are validated
// identifiers, so they need no quoting.
func newTables(schema, prefix string) Tables {
	name := func(n string) string {
		if schema == "" {
			return prefix + n
		}
		return schema + "." + prefix + n
	}
	return Tables{
		Schema: schema, Prefix: prefix,
		Tokens: name("tokens"), Used: name("used_keys"), Clients: name("clients"), KV: name("kv"),
		Migrations: name("schema_migrations"),
		Documents:  name("documents"), DocumentVersions: name("document_versions"),
	}
}

// Expand replaces {tokens}, {used}, {clients}, {kv}, {migrations},
// {documents}, {docversions} and {prefix} in a statement template with the
// names of t.
func (t Tables) Expand(s string) string {
	return strings.NewReplacer(
		"{tokens}", t.Tokens, "{used}", t.Used, "{clients}", t.Clients, "{kv}", t.KV,
		"{migrations}", t.Migrations, "{documents}", t.Documents, "{docversions}", t.DocumentVersions,
		"{prefix}", t.Prefix,
	).Replace(s)
}

// QuestionMark is the Placeholder of engines that bind "?".
func QuestionMark(int) string { return "?" }

// Dollar is the Placeholder of PostgreSQL: "$1", "$2", ...
func Dollar(n int) string { return "$" + strconv.Itoa(n) }

// rebind expands the table names of q and replaces each "?" with the
// dialect's placeholder. Statements hold no "?" in literals.
func (d *Dialect) rebind(t Tables, q string) string {
	q = t.Expand(q)
	if d.Placeholder == nil {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString(d.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
