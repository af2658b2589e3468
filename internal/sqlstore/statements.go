package sqlstore

// Statements that SQLite and PostgreSQL share and MySQL words otherwise;
// each engine's Dialect picks its own.
const (
	// UpsertUsedOnConflict is Dialect.UpsertUsed where INSERT has ON
	// CONFLICT.
	UpsertUsedOnConflict = `INSERT INTO {used} (hash, kind, grant_id, expires_at) VALUES (?, ?, ?, ?)
	ON CONFLICT (hash) DO UPDATE SET kind = excluded.kind, grant_id = excluded.grant_id,
	expires_at = excluded.expires_at`

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

	// UpsertUsedOnDuplicateKey, UpsertClientOnDuplicateKey, SweepTokensLimit
	// and SweepUsedLimit are the MySQL and MariaDB forms.
	UpsertUsedOnDuplicateKey = `INSERT INTO {used} (hash, kind, grant_id, expires_at) VALUES (?, ?, ?, ?)
	ON DUPLICATE KEY UPDATE kind = VALUES(kind), grant_id = VALUES(grant_id), expires_at = VALUES(expires_at)`
	UpsertClientOnDuplicateKey = `INSERT INTO {clients} (` + clientColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON DUPLICATE KEY UPDATE secret_hash = VALUES(secret_hash), domain = VALUES(domain),
	redirect_uris = VALUES(redirect_uris), grant_types = VALUES(grant_types), scopes = VALUES(scopes),
	public = VALUES(public), user_id = VALUES(user_id),
	token_endpoint_auth_method = VALUES(token_endpoint_auth_method), jwks = VALUES(jwks)`
	SweepTokensLimit = `DELETE FROM {tokens} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`
	SweepUsedLimit   = `DELETE FROM {used} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`
)
