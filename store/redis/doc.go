// Package redis is an oauth2.TokenStore (and oauth2.KVStore and
// oauth2.DocumentStore) on Redis, for deployments that run several server
// processes behind a load balancer: every process that uses the same Redis
// and key prefix serves one issuer (docs/architecture.md section 4).
//
// # Keys
//
// A code, access or refresh token is never written to Redis, only the
// base64url SHA-256 of it (RFC 9700 4.14.2 asks for replay detection, not for
// the token itself):
//
//	<prefix>code:<hash>     the record of an authorization code
//	<prefix>access:<hash>   the record of an access token
//	<prefix>refresh:<hash>  the record of a refresh token
//	<prefix>grant:<id>      the set of the live keys of one grant, for RevokeGrant
//	<prefix>kv:<key>        a value of the oauth2.KVStore capability
//	<prefix>doc:body:<kind> the bodies of the documents of one kind, by ID (a hash)
//	<prefix>doc:ids:<kind>  their IDs, for listing in byte order (a sorted set)
//	<prefix>doc:version:<kind> the number of changes of the documents of one kind
//
// Each key holds the whole record (client, user, scope, times, extension
// data and the hash of the access token stored with a refresh token), so
// that every lookup is one GET. A consumed code or a rotated-out refresh
// token keeps its key, which then holds a replay marker (its grant ID and
// how long it is remembered) instead of the record; its *oauth2.ReusedError
// reports that grant only (ClientID and Record empty), so that markers keep
// the one format every release reads. Keys expire in Redis a little after the
// token they hold, and every read also checks the expiry recorded in the
// value against the store's clock, so the store's clock decides.
//
// Create, ExchangeCode, RotateRefresh, the removals and RevokeGrant each run
// as one Lua script: atomic in Redis, so that of any number of processes
// consuming one code or refresh token exactly one wins. Create of a record
// of one token and no grant (a client_credentials token, the hottest
// write) is one native SET ... NX instead, which costs Redis a fraction of
// a script's CPU; when the key is taken, a GET tells a resend of the same
// record (stored) from another value, for which the script decides (the
// value may be dead by the store's clock). The scripts are
// safe to repeat, so the client's retries after a lost reply cannot turn a
// success into a replay. Each document write is one Lua script too
// (documents.go); a client's retry after a lost reply may report
// oauth2.ErrExists or oauth2.ErrNotFound for a write that took effect.
//
// # Pipelining
//
// The scripts and the lookups of concurrent callers share round trips: a
// caller that finds the connection idle sends its command at once, alone;
// the commands that arrive while it is on its way are sent together, as
// one pipeline, when it returns (at most 512 to a pipeline). Each command
// still runs on its own in Redis, atomically, and each caller reads its own
// reply. TokenStore.Pipelines tells how many commands shared each round
// trip. The KV writes other than PutIfAbsent and Incr are sent alone.
//
// # Deployment
//
// The store needs Redis 6.2 or later (GETDEL). Run it with
// maxmemory-policy noeviction: an evicted replay marker would let a replayed
// code or refresh token pass as unknown. On Redis Cluster, put a hash tag in
// the prefix (WithKeyPrefix("{oauth2}:")) so that the keys of a script share
// one slot.
//
// # Durability
//
// Redis answers a write before it is on disk; how much a crash of Redis
// loses depends on its persistence settings, not on this store:
//
//   - appendonly yes with appendfsync always: every write is in the
//     append-only file, fsynced, before Redis sends its reply, so a token
//     answered with 200 survives a crash of Redis or of its machine, as
//     with the SQL stores. Redis groups the fsyncs of the
//     commands of one event-loop turn (a pipeline), so pipelining keeps
//     this affordable.
//   - appendonly yes with appendfsync everysec (Redis's default once AOF is
//     on): fsync once a second. A crash of the Redis process loses nothing
//     (the kernel has the data), a crash or power loss of its machine loses
//     up to about the last second of writes: tokens answered with 200 may
//     be gone, which their clients see as a logout, and codes and refresh
//     tokens consumed in that second become unconsumed, so one replay of
//     each could pass unnoticed once.
//   - no AOF (RDB snapshots only, or none): a restart of Redis loses
//     everything since the last snapshot, including replay markers.
//
// For the guarantee of the SQL stores (a 200 means on disk), run
//
//	appendonly yes
//	appendfsync always
//
// and keep replicas for availability, not durability: replication to them
// is asynchronous.
package redis
