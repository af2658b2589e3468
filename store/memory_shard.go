package store

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauth2d/oauth2"
)

// Kinds of entry. A consumed code and a rotated-out refresh token stay in
// the map as used entries, so that a replay is told apart from an unknown
// value (RFC 6749 4.1.2, RFC 9700 4.14.2).
const (
	kindCode uint32 = 1 + iota
	kindAccess
	kindRefresh
	kindUsedCode
	kindUsedRefresh
)

// used returns the kind a live kind turns into once consumed; 0 for access
// tokens, which are never consumed.
func used(kind uint32) uint32 {
	switch kind {
	case kindCode:
		return kindUsedCode
	case kindRefresh:
		return kindUsedRefresh
	}
	return 0
}

// entry is one code, token or used value. It holds no pointer, so that the
// garbage collector never scans the maps, and it is small: a client
// credentials token costs its 32-byte key and these 24 bytes in the map.
type entry struct {
	created int64  // unix nanoseconds; zeroTime for the zero time.Time
	ttl     int64  // nanoseconds; <= 0: never expires
	meta    uint32 // index in the shard's metaTable
	info    uint32 // kind (bits 0-2), hashed key (bit 3), ext index + 1 (bits 4-31)
}

const (
	kindMask   = 0x7
	hashedBit  = 0x8
	extShift   = 4
	maxExts    = math.MaxUint32 >> extShift
	zeroTime   = math.MinInt64
	neverAt    = math.MaxInt64
	wheelRes   = int64(time.Second)
	segMax     = 256
	sweepBatch = 16
)

func (e entry) kind() uint32 { return e.info & kindMask }
func (e entry) hashed() bool { return e.info&hashedBit != 0 }

// ext returns the entry's ext index and whether it has one.
func (e entry) ext() (uint32, bool) {
	x := e.info >> extShift
	return x - 1, x != 0
}

// expiresAt returns when the entry expires, neverAt if it does not.
func (e entry) expiresAt() int64 { return expiry(e.created, e.ttl) }

func (e entry) live(now int64) bool { return now < e.expiresAt() }

func expiry(created, ttl int64) int64 {
	switch {
	case ttl <= 0:
		return neverAt
	case created > neverAt-ttl:
		return neverAt - 1
	}
	return created + ttl
}

func unixNano(t time.Time) int64 {
	switch {
	case t.IsZero():
		return zeroTime
	case t.Year() < 1678:
		return zeroTime + 1
	case t.Year() > 2261:
		return neverAt - 1
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// meta holds the non-secret fields of a record. Records share them: every
// client credentials token of one client and scope has the same meta.
type meta struct {
	clientID, userID, redirectURI, scope, grantID, challenge string
	method                                                   oauth2.CodeChallengeMethod
}

func metaOf(info oauth2.TokenInfo) meta {
	return meta{
		clientID:    info.GetClientID(),
		userID:      info.GetUserID(),
		redirectURI: info.GetRedirectURI(),
		scope:       info.GetScope(),
		grantID:     info.GetGrantID(),
		challenge:   info.GetCodeChallenge(),
		method:      info.GetCodeChallengeMethod(),
	}
}

// clone copies the strings, so that an interned meta never pins a caller's
// larger buffer.
func (m meta) clone() meta {
	return meta{
		clientID:    strings.Clone(m.clientID),
		userID:      strings.Clone(m.userID),
		redirectURI: strings.Clone(m.redirectURI),
		scope:       strings.Clone(m.scope),
		grantID:     strings.Clone(m.grantID),
		challenge:   strings.Clone(m.challenge),
		method:      oauth2.CodeChallengeMethod(strings.Clone(string(m.method))),
	}
}

// metaTable interns metas with a reference count, per shard.
type metaTable struct {
	list []meta
	refs []uint32
	idx  map[meta]uint32
	free []uint32
	last uint32 // index of the last meta interned, a cache for runs of one client
}

func (t *metaTable) intern(m *meta) uint32 {
	if int(t.last) < len(t.list) && t.refs[t.last] > 0 && t.list[t.last] == *m {
		t.refs[t.last]++
		return t.last
	}
	i, ok := t.idx[*m]
	if !ok {
		c := m.clone()
		if n := len(t.free); n > 0 {
			i, t.free = t.free[n-1], t.free[:n-1]
			t.list[i] = c
		} else {
			i = uint32(len(t.list))
			t.list = append(t.list, c)
			t.refs = append(t.refs, 0)
		}
		t.idx[c] = i
	}
	t.refs[i]++
	t.last = i
	return i
}

func (t *metaTable) release(i uint32) {
	if t.refs[i]--; t.refs[i] == 0 {
		delete(t.idx, t.list[i])
		t.list[i] = meta{}
		t.free = append(t.free, i)
	}
}

// sibling is another part of the same record, kept so that a lookup by one
// part returns the whole record and removing a refresh token finds its
// access token.
type sibling struct {
	key     tkey
	created int64
	ttl     int64
	kind    uint32
	hashed  bool
}

// ext lists the siblings of an entry of a record with several parts.
type ext struct {
	sib [2]sibling
	n   int
}

// extTable holds the exts of a shard's entries.
type extTable struct {
	list []ext
	free []uint32
}

func (t *extTable) add(x *ext) uint32 {
	if n := len(t.free); n > 0 {
		i := t.free[n-1]
		t.free = t.free[:n-1]
		t.list[i] = *x
		return i
	}
	t.list = append(t.list, *x)
	return uint32(len(t.list) - 1)
}

func (t *extTable) release(i uint32) {
	t.list[i] = ext{}
	t.free = append(t.free, i)
}

// wheel indexes a shard's keys by the second they expire in, so that
// expired entries are reclaimed a bucket at a time without scanning the
// map. A key whose entry changed since is checked and skipped.
type wheel struct {
	buckets map[int64]*bucket
	heap    []int64 // bucket ids, a min-heap
}

// bucket holds keys in segments of at most segMax, so that growing a
// bucket never copies a large array.
type bucket struct {
	segs [][]tkey
}

func (w *wheel) add(k *tkey, at int64) {
	id := at / wheelRes
	b := w.buckets[id]
	if b == nil {
		b = &bucket{}
		w.buckets[id] = b
		w.push(id)
	}
	n := len(b.segs)
	if n == 0 || (len(b.segs[n-1]) == cap(b.segs[n-1]) && cap(b.segs[n-1]) >= segMax) {
		c := 4
		if n > 0 {
			c = segMax
		}
		b.segs = append(b.segs, make([]tkey, 0, c))
		n++
	}
	b.segs[n-1] = append(b.segs[n-1], *k)
}

// due returns when the first bucket is over, neverAt when there is none.
func (w *wheel) due() int64 {
	if len(w.heap) == 0 {
		return neverAt
	}
	return (w.heap[0] + 1) * wheelRes
}

func (w *wheel) push(id int64) {
	h := append(w.heap, id)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p] <= h[i] {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	w.heap = h
}

func (w *wheel) pop() {
	h := w.heap
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h[l] < h[m] {
			m = l
		}
		if l+1 < n && h[l+1] < h[m] {
			m = l + 1
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	w.heap = h
}

// shard is one lock and the entries whose keys hash to it.
type shard struct {
	mu    sync.Mutex
	m     map[tkey]entry
	metas metaTable
	exts  extTable
	wheel wheel
	due   atomic.Int64 // wheel.due(), readable without the lock
	_     [64]byte     // keeps neighbouring shards' locks off one cache line
}

func (sh *shard) init() {
	sh.m = make(map[tkey]entry)
	sh.metas.idx = make(map[meta]uint32)
	sh.wheel.buckets = make(map[int64]*bucket)
	sh.due.Store(neverAt)
}

// put stores e under k, replacing (and releasing) any entry there, and
// schedules its reclaim.
func (sh *shard) put(k *tkey, e entry) {
	if old, ok := sh.m[*k]; ok {
		sh.release(old)
	}
	sh.m[*k] = e
	if at := e.expiresAt(); at != neverAt {
		sh.wheel.add(k, at)
		if d := sh.wheel.due(); d < sh.due.Load() {
			sh.due.Store(d)
		}
	}
}

// del removes the entry under k.
func (sh *shard) del(k *tkey, e entry) {
	delete(sh.m, *k)
	sh.release(e)
}

func (sh *shard) release(e entry) {
	sh.metas.release(e.meta)
	if x, ok := e.ext(); ok {
		sh.exts.release(x)
	}
}

// dead is a removed entry of a grant, to drop from the grant index once the
// shard lock is released.
type dead struct {
	grant string
	key   tkey
}

// sweep removes up to limit expired entries from the wheel's due buckets,
// appending those of a grant to out.
func (sh *shard) sweep(now int64, limit int, out []dead) []dead {
	w := &sh.wheel
	for limit > 0 && len(w.heap) > 0 && w.due() <= now {
		id := w.heap[0]
		b := w.buckets[id]
		for limit > 0 && len(b.segs) > 0 {
			s := b.segs[len(b.segs)-1]
			k := s[len(s)-1]
			if s = s[:len(s)-1]; len(s) == 0 {
				b.segs[len(b.segs)-1] = nil
				b.segs = b.segs[:len(b.segs)-1]
			} else {
				b.segs[len(b.segs)-1] = s
			}
			limit--
			e, ok := sh.m[k]
			if !ok || e.live(now) {
				continue
			}
			if g := sh.metas.list[e.meta].grantID; g != "" && e.kind() <= kindRefresh {
				out = append(out, dead{grant: g, key: k})
			}
			sh.del(&k, e)
		}
		if len(b.segs) == 0 {
			delete(w.buckets, id)
			w.pop()
		}
	}
	sh.due.Store(w.due())
	return out
}
