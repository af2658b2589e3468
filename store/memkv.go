package store

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/oauth2d/oauth2"
)

const kvShards = 32

// MemoryKV is the in-memory oauth2.KVStore: sharded, each shard its own
// lock, with expiry checked on every read and expired entries reclaimed a
// shard at a time by Sweep. It serves one process only.
type MemoryKV struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [kvShards]kvShard
}

type kvShard struct {
	mu sync.Mutex
	m  map[string]kvEntry
}

type kvEntry struct {
	value   []byte
	count   int64
	expires int64 // unix nanoseconds; 0: never
}

var _ oauth2.KVStore = (*MemoryKV)(nil)

// NewMemoryKV returns an empty MemoryKV reading time from now (time.Now when
// nil).
func NewMemoryKV(now func() time.Time) *MemoryKV {
	if now == nil {
		now = time.Now
	}
	kv := &MemoryKV{now: now, seed: maphash.MakeSeed()}
	for i := range kv.shards {
		kv.shards[i].m = make(map[string]kvEntry)
	}
	return kv
}

func (kv *MemoryKV) shard(key string) *kvShard {
	return &kv.shards[maphash.String(kv.seed, key)%kvShards]
}

func (kv *MemoryKV) expiry(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return kv.now().Add(ttl).UnixNano()
}

func (e kvEntry) live(now int64) bool { return e.expires == 0 || now < e.expires }

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// Put stores value under key.
func (kv *MemoryKV) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	s := kv.shard(key)
	s.mu.Lock()
	s.m[key] = kvEntry{value: clone(value), expires: kv.expiry(ttl)}
	s.mu.Unlock()
	return nil
}

// PutIfAbsent stores value only if key has no live value.
func (kv *MemoryKV) PutIfAbsent(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now := kv.now().UnixNano()
	s := kv.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[key]; ok && e.live(now) {
		return false, nil
	}
	s.m[key] = kvEntry{value: clone(value), expires: kv.expiry(ttl)}
	return true, nil
}

// Get returns the live value of key.
func (kv *MemoryKV) Get(_ context.Context, key string) ([]byte, error) {
	now := kv.now().UnixNano()
	s := kv.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	s.mu.Unlock()
	if !ok || !e.live(now) || e.value == nil {
		return nil, fmt.Errorf("kv get: %w", oauth2.ErrNotFound)
	}
	return clone(e.value), nil
}

// Take returns and deletes the live value of key.
func (kv *MemoryKV) Take(_ context.Context, key string) ([]byte, error) {
	now := kv.now().UnixNano()
	s := kv.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	if ok {
		delete(s.m, key)
	}
	s.mu.Unlock()
	if !ok || !e.live(now) || e.value == nil {
		return nil, fmt.Errorf("kv take: %w", oauth2.ErrNotFound)
	}
	return e.value, nil
}

// Delete removes key.
func (kv *MemoryKV) Delete(_ context.Context, key string) error {
	s := kv.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}

// Incr adds one to the counter under key; a new counter expires ttl after
// its creation.
func (kv *MemoryKV) Incr(_ context.Context, key string, ttl time.Duration) (int64, error) {
	now := kv.now().UnixNano()
	s := kv.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !e.live(now) || e.value != nil {
		e = kvEntry{expires: kv.expiry(ttl)}
	}
	e.count++
	s.m[key] = e
	return e.count, nil
}

// Sweep removes expired entries, one shard lock at a time, so that no
// request waits for more than one shard's sweep.
func (kv *MemoryKV) Sweep() {
	now := kv.now().UnixNano()
	for i := range kv.shards {
		s := &kv.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if !e.live(now) {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
}
