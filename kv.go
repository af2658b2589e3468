package oauth2

import (
	"context"
	"time"
)

// KVStore is an optional capability of a TokenStore: small values with an
// expiry, shared by every server process that uses the same store. The
// server keeps in it what must hold across processes besides tokens:
// signing keys, remembered consent, login and client-authentication
// throttling counters, the jti of client assertions (RFC 7523 3) and device
// codes (RFC 8628). Callers find it with a type assertion on the TokenStore.
//
// Keys are chosen by the caller and never hold a secret in the clear (the
// caller hashes them first where they would). Every method is atomic across
// processes.
type KVStore interface {
	// Put stores value under key. A ttl of zero or less keeps it until it is
	// deleted.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// PutIfAbsent stores value only if key has no live value, and reports
	// whether it stored it.
	PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Get returns the live value of key, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Take returns and deletes the live value of key: of concurrent callers
	// exactly one gets it, the others get ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Incr adds one to the counter under key and returns the new count. A
	// counter created by Incr expires ttl after its creation (a fixed
	// window); later increments do not extend it.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
}
