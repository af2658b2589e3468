package sqlstore

// Statements that SQLite and PostgreSQL share and MySQL words otherwise;
// each engine's Dialect picks its own.
const (
	// UpsertUsedOnConflict is Dialect.UpsertUsed where INSERT has ON
	// CONFLICT.
	UpsertUsedOnConflict = `INSERT INTO {used} (` + usedColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (hash) DO UPDATE SET kind = excluded.kind, grant_id = excluded.grant_id,
	expires_at = excluded.expires_at, client_id = excluded.client_id, redirect_uri = excluded.redirect_uri,
	code_challenge = excluded.code_challenge, code_challenge_method = excluded.code_challenge_method`

	// UpsertClientOnConflict is Dialect.UpsertClient where INSERT has ON
	// CONFLICT.
	UpsertClientOnConflict = `INSERT INTO {clients} (` + clientColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, domain = excluded.domain,
	redirect_uris = excluded.redirect_uris, grant_types = excluded.grant_types, scopes = excluded.scopes,
	public = excluded.public, user_id = excluded.user_id,
	token_endpoint_auth_method = excluded.token_endpoint_auth_method, jwks = excluded.jwks`

	// SweepTokensInSubquery and SweepUsedInSubquery are Dialect.SweepTokens
	// and SweepUsed where DELETE has no LIMIT: the batch is chosen by a
	// subquery on the expires_at index.
	SweepTokensInSubquery = `DELETE FROM {tokens} WHERE id IN
	(SELECT id FROM {tokens} WHERE expires_at <= ? LIMIT ?)`
	SweepUsedInSubquery = `DELETE FROM {used} WHERE hash IN
	(SELECT hash FROM {used} WHERE expires_at <= ? LIMIT ?)`
	SweepKVInSubquery = `DELETE FROM {kv} WHERE k IN
	(SELECT k FROM {kv} WHERE expires_at <= ? LIMIT ?)`

	// KVPutOnConflict, KVPutIfAbsentOnConflict and KVIncrOnConflict are
	// Dialect.KVPut, KVPutIfAbsent and KVIncr where INSERT has ON CONFLICT.
	// The time of the call is the inserted updated_at.
	KVPutOnConflict = `INSERT INTO {kv} (k, val, counter, expires_at, updated_at) VALUES (?, ?, 0, ?, ?)
	ON CONFLICT (k) DO UPDATE SET val = excluded.val, counter = 0, expires_at = excluded.expires_at,
	updated_at = excluded.updated_at`
	KVPutIfAbsentOnConflict = `INSERT INTO {kv} AS kv (k, val, counter, expires_at, updated_at) VALUES (?, ?, 0, ?, ?)
	ON CONFLICT (k) DO UPDATE SET val = excluded.val, counter = 0, expires_at = excluded.expires_at,
	updated_at = excluded.updated_at
	WHERE kv.expires_at <= excluded.updated_at`
	KVIncrOnConflict = `INSERT INTO {kv} AS kv (k, val, counter, expires_at, updated_at) VALUES (?, NULL, 1, ?, ?)
	ON CONFLICT (k) DO UPDATE SET
	counter = CASE WHEN kv.expires_at <= excluded.updated_at OR kv.val IS NOT NULL THEN 1 ELSE kv.counter + 1 END,
	expires_at = CASE WHEN kv.expires_at <= excluded.updated_at OR kv.val IS NOT NULL
		THEN excluded.expires_at ELSE kv.expires_at END,
	val = NULL, updated_at = excluded.updated_at`

	// UpsertUsedOnDuplicateKey, UpsertClientOnDuplicateKey, SweepTokensLimit
	// and SweepUsedLimit are the MySQL and MariaDB forms.
	UpsertUsedOnDuplicateKey = `INSERT INTO {used} (` + usedColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
	ON DUPLICATE KEY UPDATE kind = VALUES(kind), grant_id = VALUES(grant_id), expires_at = VALUES(expires_at),
	client_id = VALUES(client_id), redirect_uri = VALUES(redirect_uri),
	code_challenge = VALUES(code_challenge), code_challenge_method = VALUES(code_challenge_method)`
	UpsertClientOnDuplicateKey = `INSERT INTO {clients} (` + clientColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON DUPLICATE KEY UPDATE secret_hash = VALUES(secret_hash), domain = VALUES(domain),
	redirect_uris = VALUES(redirect_uris), grant_types = VALUES(grant_types), scopes = VALUES(scopes),
	public = VALUES(public), user_id = VALUES(user_id),
	token_endpoint_auth_method = VALUES(token_endpoint_auth_method), jwks = VALUES(jwks)`
	SweepTokensLimit = `DELETE FROM {tokens} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`
	SweepUsedLimit   = `DELETE FROM {used} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`
	SweepKVLimit     = `DELETE FROM {kv} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`

	// KVPutOnDuplicateKey, KVPutIfAbsentOnDuplicateKey and
	// KVIncrOnDuplicateKey are the MySQL and MariaDB forms. MySQL assigns
	// left to right, each assignment seeing the ones before it, so the
	// columns that the conditions read are assigned last.
	KVPutOnDuplicateKey = `INSERT INTO {kv} (k, val, counter, expires_at, updated_at) VALUES (?, ?, 0, ?, ?)
	ON DUPLICATE KEY UPDATE val = VALUES(val), counter = 0, expires_at = VALUES(expires_at),
	updated_at = VALUES(updated_at)`
	KVPutIfAbsentOnDuplicateKey = `INSERT INTO {kv} (k, val, counter, expires_at, updated_at) VALUES (?, ?, 0, ?, ?)
	ON DUPLICATE KEY UPDATE
	val = IF(expires_at <= VALUES(updated_at), VALUES(val), val),
	counter = IF(expires_at <= VALUES(updated_at), 0, counter),
	updated_at = IF(expires_at <= VALUES(updated_at), VALUES(updated_at), updated_at),
	expires_at = IF(expires_at <= VALUES(updated_at), VALUES(expires_at), expires_at)`
	KVIncrOnDuplicateKey = `INSERT INTO {kv} (k, val, counter, expires_at, updated_at) VALUES (?, NULL, 1, ?, ?)
	ON DUPLICATE KEY UPDATE
	counter = IF(expires_at <= VALUES(updated_at) OR val IS NOT NULL, 1, counter + 1),
	expires_at = IF(expires_at <= VALUES(updated_at) OR val IS NOT NULL, VALUES(expires_at), expires_at),
	val = NULL, updated_at = VALUES(updated_at)`

	// InsertDocumentOnConflict and InsertDocumentIgnore are
	// Dialect.InsertDocument where INSERT has ON CONFLICT, and the MySQL
	// and MariaDB form. INSERT IGNORE would also store a value cut to its
	// column, but the store checks every value against its column first
	// (oauth2.CheckDocument): only the duplicate key is ignored.
	InsertDocumentOnConflict = `INSERT INTO {documents} (kind, id, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	InsertDocumentIgnore     = `INSERT IGNORE INTO {documents} (kind, id, body) VALUES (?, ?, ?)`

	// BumpDocumentVersionOnConflict and BumpDocumentVersionOnDuplicateKey
	// are Dialect.BumpDocumentVersion where INSERT has ON CONFLICT, and the
	// MySQL and MariaDB form.
	BumpDocumentVersionOnConflict = `INSERT INTO {docversions} AS v (kind, version) VALUES (?, 1)
	ON CONFLICT (kind) DO UPDATE SET version = v.version + 1`
	BumpDocumentVersionOnDuplicateKey = `INSERT INTO {docversions} (kind, version) VALUES (?, 1)
	ON DUPLICATE KEY UPDATE version = version + 1`
)
