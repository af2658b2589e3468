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
// Entries of a grant, with a PKCE challenge or of a record with several
// parts also have an ext.
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

// meta holds the non-secret fields that records share: every client
// credentials token of one client and scope has the same meta.
type meta struct {
	clientID, userID, redirectURI, scope string
}

func metaOf(info oauth2.TokenInfo) meta {
	return meta{
		clientID:    info.GetClientID(),
		userID:      info.GetUserID(),
		redirectURI: info.GetRedirectURI(),
		scope:       info.GetScope(),
	}
}

// clone copies the strings into one allocation, so that an interned meta
// never pins a caller's larger buffer.
func (m meta) clone() meta {
	all := strings.Clone(m.clientID + m.userID + m.redirectURI + m.scope)
	a, b, c := len(m.clientID), len(m.clientID)+len(m.userID), len(m.clientID)+len(m.userID)+len(m.redirectURI)
	return meta{clientID: all[:a], userID: all[a:b], redirectURI: all[b:c], scope: all[c:]}
}

// grantInfo holds the fields of a record that no other record shares: its
// grant, its PKCE challenge (RFC 7636 4.2) and its extension data
// (oauth2.ExtendableTokenInfo), kept in its url.Values.Encode form: one
// immutable string, decoded again by a lookup.
type grantInfo struct {
	grant, challenge string
	method           oauth2.CodeChallengeMethod
	extension        string
}

func grantInfoOf(info oauth2.TokenInfo) grantInfo {
	g, c, m := info.GetGrantID(), info.GetCodeChallenge(), info.GetCodeChallengeMethod()
	x := extensionOf(info)
	if g == "" && c == "" && m == "" && x == "" {
		return grantInfo{}
	}
	all := strings.Clone(g + c + string(m) + x)
	a, b, d := len(g), len(g)+len(c), len(g)+len(c)+len(m)
	return grantInfo{grant: all[:a], challenge: all[a:b], method: oauth2.CodeChallengeMethod(all[b:d]), extension: all[d:]}
}

// extensionOf returns the extension data of info in its url.Values.Encode
// form, "" when there is none.
func extensionOf(info oauth2.TokenInfo) string {
	if e, ok := info.(oauth2.ExtendableTokenInfo); ok {
		if v := e.GetExtension(); len(v) > 0 {
			return v.Encode()
		}
	}
	return ""
}

func (g *grantInfo) empty() bool {
	return g.grant == "" && g.challenge == "" && g.method == "" && g.extension == ""
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

// ext holds what an entry needs beyond its meta, when it needs it: its
// grant and challenge, and the other parts of its record.
type ext struct {
	grantInfo
	sib [2]sibling
	n   int
}

// extTable holds the exts of a shard's entries in chunks that never move,
// so that growing it copies nothing.
type extTable struct {
	chunks [][]ext
	free   []uint32
	n      uint32 // exts ever placed, the next new index
}

const extChunk = 256

func (t *extTable) at(i uint32) *ext { return &t.chunks[i/extChunk][i%extChunk] }

func (t *extTable) add(x *ext) uint32 {
	if n := len(t.free); n > 0 {
		i := t.free[n-1]
		t.free = t.free[:n-1]
		*t.at(i) = *x
		return i
	}
	i := t.n
	if i%extChunk == 0 {
		t.chunks = append(t.chunks, make([]ext, extChunk))
	}
	t.n++
	*t.at(i) = *x
	return i
}

func (t *extTable) release(i uint32) {
	*t.at(i) = ext{}
	t.free = append(t.free, i)
}

// shard is one lock and the entries whose keys hash to it: an index from
// key to record, and the records in an arena ordered by expiry.
type shard struct {
	mu    sync.Mutex
	idx   index
	recs  arena
	hs    *hasher
	metas metaTable
	exts  extTable
	due   atomic.Int64 // recs.due(), readable without the lock
	_     [64]byte     // keeps neighbouring shards' locks off one cache line
}

func (sh *shard) init(hs *hasher) {
	sh.hs = hs
	sh.idx.init()
	sh.recs.init()
	sh.metas.idx = make(map[meta]uint32)
	sh.due.Store(neverAt)
}

// get returns the entry under k.
func (sh *shard) get(k *tkey) (entry, bool) {
	_, ref, ok := sh.idx.find(k, sh.hs.sum(k), &sh.recs)
	if !ok {
		return entry{}, false
	}
	return sh.recs.at(ref).e, true
}

// put stores e under k, replacing (and releasing) any entry there.
func (sh *shard) put(k *tkey, e entry) {
	h := sh.hs.sum(k)
	i, ref, ok := sh.idx.find(k, h, &sh.recs)
	if ok {
		old := sh.recs.at(ref)
		sh.release(old.e)
		sh.recs.free(ref, old)
		sh.idx.setRef(i, sh.recs.add(k, e))
	} else {
		sh.idx.insert(i, h, sh.recs.add(k, e))
	}
	if d := sh.recs.due(); d < sh.due.Load() {
		sh.due.Store(d)
	}
}

// del removes the entry under k, which must be e.
func (sh *shard) del(k *tkey, e entry) {
	i, ref, ok := sh.idx.find(k, sh.hs.sum(k), &sh.recs)
	if !ok {
		return
	}
	sh.release(e)
	sh.recs.free(ref, sh.recs.at(ref))
	sh.idx.remove(i)
}

func (sh *shard) release(e entry) {
	sh.metas.release(e.meta)
	if x, ok := e.ext(); ok {
		sh.exts.release(x)
	}
}

// grantOf returns the grant of entry e.
func (sh *shard) grantOf(e entry) string {
	if xi, ok := e.ext(); ok {
		return sh.exts.at(xi).grant
	}
	return ""
}

// dead is a removed entry of a grant, to drop from the grant index once the
// shard lock is released.
type dead struct {
	grant string
	key   tkey
}

// sweepDue reclaims a few expired entries of a locked shard, if any are
// due: the amortised part of the reclaim, run by each write.
func (sh *shard) sweepDue(now int64, out []dead) []dead {
	if sh.recs.due() > now {
		return out
	}
	return sh.sweep(now, sweepBatch, out)
}

// sweep removes up to limit expired records from the due buckets, oldest
// first, appending those of a grant to out.
func (sh *shard) sweep(now int64, limit int, out []dead) []dead {
	for limit > 0 {
		ref, r := sh.recs.next(now)
		if r == nil {
			break
		}
		limit--
		if r.e.info == 0 {
			continue // removed or replaced since
		}
		i, cur, ok := sh.idx.find(&r.key, sh.hs.sum(&r.key), &sh.recs)
		if !ok || cur != ref {
			continue
		}
		if g := sh.grantOf(r.e); g != "" && r.e.kind() <= kindRefresh {
			out = append(out, dead{grant: g, key: r.key})
		}
		sh.release(r.e)
		r.e = entry{}
		sh.idx.remove(i)
	}
	sh.due.Store(sh.recs.due())
	return out
}
