package store

import (
	"context"
	"time"
)

// The MemoryTokenStore is also an oauth2.KVStore, through a MemoryKV on the
// same clock, so that a server on the memory store finds the capability
// with a type assertion as it does on the persistent stores.

// Put stores value under key; a ttl of zero or less keeps it until deleted.
func (s *MemoryTokenStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.kv.Put(ctx, key, value, ttl)
}

// PutIfAbsent stores value only if key has no live value, and reports
// whether it did.
func (s *MemoryTokenStore) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	return s.kv.PutIfAbsent(ctx, key, value, ttl)
}

// Get returns the live value of key, or an error wrapping
// oauth2.ErrNotFound.
func (s *MemoryTokenStore) Get(ctx context.Context, key string) ([]byte, error) {
	return s.kv.Get(ctx, key)
}

// Take returns and deletes the live value of key; of concurrent callers
// exactly one gets it.
func (s *MemoryTokenStore) Take(ctx context.Context, key string) ([]byte, error) {
	return s.kv.Take(ctx, key)
}

// Delete removes key; deleting a missing key is not an error.
func (s *MemoryTokenStore) Delete(ctx context.Context, key string) error {
	return s.kv.Delete(ctx, key)
}

// Incr adds one to the counter under key and returns the count; a new
// counter expires ttl after its creation.
func (s *MemoryTokenStore) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	return s.kv.Incr(ctx, key, ttl)
}
