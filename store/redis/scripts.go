package redis

import goredis "github.com/redis/go-redis/v9"

// The Lua scripts of the store. Each runs atomically in Redis, in one round
// trip (EVALSHA, falling back to EVAL once after a script cache flush).
//
// Values: a record is JSON (see record); a replay marker is '!', a 20-digit
// expiry stamp, a 26-character call nonce and the grant ID. Stamps are
// Unix nanoseconds of equal width, compared as strings.
//
// An issue block describes the keys a call writes, all with one value:
//
//	KEYS[kb .. kb+n-1]   the record keys
//	KEYS[kb+n]           the grant set, when the grant TTL is not ""
//	ARGV[ab]             the record
//	ARGV[ab+1]           n
//	ARGV[ab+2+2i]        TTL of key i in ms, -1 for none
//	ARGV[ab+3+2i]        the record field holding key i's expiry (cx, ax, rx)
//	ARGV[ab+2+2n]        TTL of the grant set in ms, -1 for none, "" for no grant
const prelude = `
local function live(v, field, now)
  if string.sub(v, 1, 1) == '!' then
    return string.sub(v, 2, 21) > now
  end
  local exp = cjson.decode(v)[field]
  return type(exp) == 'string' and exp > now
end

local function setv(k, v, ttl)
  if ttl < 0 then
    redis.call('SET', k, v)
  else
    redis.call('SET', k, v, 'PX', ttl)
  end
end

-- taken reports whether a key of the issue block holds a live value other
-- than the one to write (the same value is this call's own retried write).
local function taken(kb, ab, now, skip1, skip2)
  local value, n = ARGV[ab], tonumber(ARGV[ab + 1])
  for i = 0, n - 1 do
    local k = KEYS[kb + i]
    if k ~= skip1 and k ~= skip2 then
      local cur = redis.call('GET', k)
      if cur and cur ~= value and live(cur, ARGV[ab + 3 + 2 * i], now) then
        return true
      end
    end
  end
  return false
end

-- issue writes the issue block and adds its keys to the grant set, whose
-- TTL becomes the longest of its members'.
local function issue(kb, ab)
  local value, n = ARGV[ab], tonumber(ARGV[ab + 1])
  local keys = {}
  for i = 0, n - 1 do
    setv(KEYS[kb + i], value, tonumber(ARGV[ab + 2 + 2 * i]))
    keys[i + 1] = KEYS[kb + i]
  end
  local gttl = ARGV[ab + 2 + 2 * n]
  if gttl == '' or n == 0 then
    return
  end
  gttl = tonumber(gttl)
  local gk = KEYS[kb + n]
  local cur = redis.call('PTTL', gk)
  redis.call('SADD', gk, unpack(keys))
  if gttl < 0 then
    if cur >= 0 then
      redis.call('PERSIST', gk)
    end
  elseif cur == -2 or (cur >= 0 and cur < gttl) then
    redis.call('PEXPIRE', gk, gttl)
  end
end

-- forget removes keys from the set of grant g.
local function forget(prefix, g, keys)
  if type(g) == 'string' and g ~= '' and #keys > 0 then
    redis.call('SREM', prefix .. 'grant:' .. g, unpack(keys))
  end
end
`

// createScript stores a record under every key of the issue block, unless
// one of them holds a live value.
//
//	KEYS: issue block from 1
//	ARGV[1]: now; issue block from 2
//	returns 'O' (stored) or 'E' (a key is taken)
var createScript = goredis.NewScript(prelude + `
if taken(1, 2, ARGV[1]) then
  return 'E'
end
issue(1, 2)
return 'O'
`)

// consumeScript consumes a live code (mode 'code') or refresh token (mode
// 'refresh', or 'keep' when the issued record keeps the refresh value):
// it replaces the old record with a replay marker, removes the access token
// stored with a refresh token, and writes the issue block.
//
//	KEYS[1]: the code or refresh key; issue block from 2
//	ARGV[1] now, ARGV[2] key prefix, ARGV[3] nonce of this call,
//	ARGV[4] mode, ARGV[5] the expiry stamp to remember the old key until
//	(a code: until then; a refresh token: until then or its own expiry,
//	whichever is later; "" for its own expiry), ARGV[6] the TTL for it;
//	issue block from 7
//	returns 'O' (consumed), 'N' (not found), 'E' (an issued key is taken)
//	or 'R' .. grant ID (already consumed)
var consumeScript = goredis.NewScript(prelude + `
local now, prefix, nonce, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local v = redis.call('GET', KEYS[1])
if not v then
  return 'N'
end
if string.sub(v, 1, 1) == '!' then
  if string.sub(v, 2, 21) <= now then
    return 'N'
  end
  if string.sub(v, 22, 47) == nonce then
    return 'O'
  end
  return 'R' .. string.sub(v, 48)
end
local r = cjson.decode(v)
local own = r.cx
if mode ~= 'code' then
  own = r.rx
end
if type(own) ~= 'string' or own <= now then
  return 'N'
end
local access, keep
if mode ~= 'code' and type(r.ak) == 'string' then
  access = prefix .. 'access:' .. r.ak
end
if mode == 'keep' then
  keep = KEYS[1]
end
if taken(2, 7, now, keep, access) then
  return 'E'
end
local old = {}
if access then
  redis.call('DEL', access)
  old[#old + 1] = access
end
if mode ~= 'keep' then
  local exp, ttl = own, redis.call('PTTL', KEYS[1])
  if ARGV[5] ~= '' then
    local t = tonumber(ARGV[6])
    if mode == 'code' then
      exp, ttl = ARGV[5], t
    else
      if ARGV[5] > exp then
        exp = ARGV[5]
      end
      if ttl >= 0 and (t < 0 or t > ttl) then
        ttl = t
      end
    end
  end
  local g = r.g
  if type(g) ~= 'string' then
    g = ''
  end
  setv(KEYS[1], '!' .. exp .. nonce .. g, ttl)
  old[#old + 1] = KEYS[1]
end
forget(prefix, r.g, old)
issue(2, 7)
return 'O'
`)

// removeScript removes a live record's key and, when ARGV[2] is '1', the
// access token stored with it. A replay marker is left alone: it stays
// remembered.
//
//	KEYS[1]: the key
//	ARGV[1]: key prefix, ARGV[2]: '1' to remove the access token too
//	returns the number of keys removed
var removeScript = goredis.NewScript(prelude + `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 1) == '!' then
  return 0
end
local r = cjson.decode(v)
local gone = {KEYS[1]}
if ARGV[2] == '1' and type(r.ak) == 'string' then
  gone[2] = ARGV[1] .. 'access:' .. r.ak
end
redis.call('DEL', unpack(gone))
forget(ARGV[1], r.g, gone)
return #gone
`)

// revokeScript removes every live record of a grant and the grant's set;
// replay markers stay.
//
//	KEYS[1]: the grant set
//	returns the number of records removed
var revokeScript = goredis.NewScript(`
local n = 0
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', k)
  if v and string.sub(v, 1, 1) ~= '!' then
    redis.call('DEL', k)
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
`)
