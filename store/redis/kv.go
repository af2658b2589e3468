package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The oauth2.KVStore capability keeps each value under <prefix>kv:<key> as
// a tag ('v' for a value, 'n' for a counter), the 20-digit expiry stamp by
// the store's clock, and the value or the decimal count. Like the records,
// keys expire in Redis a little after their stamp, and reads check the
// stamp.

const (
	kvValue  = 'v' // the tag of a value; a counter's is 'n'
	kvHeader = 1 + stampLen
)

func (s *TokenStore) kvKey(key string) string { return s.prefix + "kv:" + key }

// kvExpiry returns the expiry stamp and Redis TTL of a value written now
// that lives for d (forever when d <= 0).
func (s *TokenStore) kvExpiry(now time.Time, d time.Duration) (string, int64) {
	if d <= 0 {
		return never, -1
	}
	exp := now.Add(d)
	return stamp(exp), ttl(exp, now)
}

func kvEncode(tag byte, exp string, payload []byte) []byte {
	b := make([]byte, 0, kvHeader+len(payload))
	b = append(b, tag)
	b = append(b, exp...)
	return append(b, payload...)
}

// kvLive returns the payload of a stored value of kind tag that is live at
// now.
func kvLive(v []byte, tag byte, now string) ([]byte, bool) {
	if len(v) < kvHeader || v[0] != tag || string(v[1:kvHeader]) <= now {
		return nil, false
	}
	return v[kvHeader:], true
}

// expiration returns go-redis's SET expiration for a Redis TTL in ms: 0
// for none.
func expiration(ms int64) time.Duration {
	if ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// Put stores value under key for ttl (forever when ttl <= 0).
func (s *TokenStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	exp, ms := s.kvExpiry(s.now(), ttl)
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.client.Set(ctx, s.kvKey(key), kvEncode(kvValue, exp, value), expiration(ms)).Err()
	return classify("kv put", err)
}

// putIfAbsentScript stores a value unless the key holds a live one.
//
//	KEYS[1]: the key; ARGV[1]: now, ARGV[2]: the value, ARGV[3]: TTL in ms
//	or -1; returns 1 when stored
var putIfAbsentScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 2, 21) > ARGV[1] then
  return 0
end
local ttl = tonumber(ARGV[3])
if ttl < 0 then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
end
return 1
`)

// PutIfAbsent stores value under key only if key has no live value, and
// reports whether it stored it; of concurrent callers across processes one
// stores.
func (s *TokenStore) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now := s.now()
	exp, ms := s.kvExpiry(now, ttl)
	ctx, cancel := s.bound(ctx)
	defer cancel()
	n, err := putIfAbsentScript.Run(ctx, s.pipe, []string{s.kvKey(key)},
		stamp(now), kvEncode(kvValue, exp, value), ms).Int()
	if err != nil {
		return false, classify("kv put if absent", err)
	}
	return n == 1, nil
}

// Get returns the live value of key, or an error wrapping
// oauth2.ErrNotFound.
func (s *TokenStore) Get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.client.Get(ctx, s.kvKey(key)).Bytes()
	if err != nil {
		return nil, classify("kv get", err)
	}
	payload, ok := kvLive(v, kvValue, stamp(s.now()))
	if !ok {
		return nil, notFound("kv get")
	}
	return payload, nil
}

// Take returns and deletes the live value of key with GETDEL: of concurrent
// callers across processes exactly one gets it, the others get an error
// wrapping oauth2.ErrNotFound.
func (s *TokenStore) Take(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.client.GetDel(ctx, s.kvKey(key)).Bytes()
	if err != nil {
		return nil, classify("kv take", err)
	}
	payload, ok := kvLive(v, kvValue, stamp(s.now()))
	if !ok {
		return nil, notFound("kv take")
	}
	return payload, nil
}

// Delete removes key. Deleting a missing key is not an error.
func (s *TokenStore) Delete(ctx context.Context, key string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return classify("kv delete", s.client.Del(ctx, s.kvKey(key)).Err())
}

// incrScript adds one to a live counter, keeping its expiry, or starts a
// new one.
//
//	KEYS[1]: the key; ARGV[1]: now, ARGV[2]: expiry stamp of a new counter,
//	ARGV[3]: its TTL in ms or -1; returns the new count
var incrScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, 1) == 'n' and string.sub(cur, 2, 21) > ARGV[1] then
  local n = tonumber(string.sub(cur, 22)) + 1
  redis.call('SET', KEYS[1], string.sub(cur, 1, 21) .. string.format('%d', n), 'KEEPTTL')
  return n
end
local ttl = tonumber(ARGV[3])
if ttl < 0 then
  redis.call('SET', KEYS[1], 'n' .. ARGV[2] .. '1')
else
  redis.call('SET', KEYS[1], 'n' .. ARGV[2] .. '1', 'PX', ttl)
end
return 1
`)

// Incr adds one to the counter under key and returns the new count. A new
// counter expires ttl after its creation; later increments do not extend
// it (a fixed window, for throttling).
func (s *TokenStore) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	now := s.now()
	exp, ms := s.kvExpiry(now, ttl)
	ctx, cancel := s.bound(ctx)
	defer cancel()
	n, err := incrScript.Run(ctx, s.pipe, []string{s.kvKey(key)}, stamp(now), exp, ms).Int64()
	if err != nil {
		return 0, classify("kv incr", err)
	}
	return n, nil
}
