package store

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"net/url"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// MemoryTokenStore is the in-memory oauth2.TokenStore, the library default.
// It serves one process and is safe for concurrent use.
//
// Entries are spread over shards by a keyed hash of their key, each shard
// with its own lock, so that no lock is global, and every operation is
// O(1). In a shard, records sit in an arena ordered by expiry time behind
// a compact index. A part is found until its own expiry by the store's
// clock; expired records are reclaimed in expiry order, a few at a time by
// the writes that follow and in batches by a background sweep, never by a
// scan of the store. Operations on a grant (exchange, rotation,
// revocation) also take the grant's lock, so that a revocation racing with
// them never leaves a live token of the grant (RFC 9700 4.14.2).
//
// A client credentials token costs about 120 bytes of heap: a 56-byte
// record (its key and entry) and an 8-byte index slot kept between 3/8 and
// 3/4 full; client ID, scope and the other non-secret fields are shared
// between records. The maps hold no pointer, so the garbage collector does
// not scan them.
type MemoryTokenStore struct {
	now     func() time.Time
	shards  []shard
	mask    uint64
	grants  []grantStripe
	gmask   uint64
	seed    maphash.Seed
	hs      *hasher
	kv      *MemoryKV
	docs    *MemoryDocuments
	stopper *stopper
}

// grantStripe indexes the live keys of the grants that hash to it, under
// the lock that orders every insert into those grants with their
// revocation.
type grantStripe struct {
	mu sync.Mutex
	m  map[string][]tkey
	_  [64]byte
}

var (
	_ oauth2.TokenStore    = (*MemoryTokenStore)(nil)
	_ oauth2.KVStore       = (*MemoryTokenStore)(nil)
	_ oauth2.DocumentStore = (*MemoryTokenStore)(nil)
)

// MemoryOption configures NewMemoryTokenStore.
type MemoryOption func(*memoryConfig)

type memoryConfig struct {
	now    func() time.Time
	shards int
	sweep  time.Duration
}

// WithClock makes the store read the time from now instead of time.Now.
func WithClock(now func() time.Time) MemoryOption {
	return func(c *memoryConfig) { c.now = now }
}

// WithShards sets the number of shards, rounded up to a power of two
// (default 64). More shards mean less lock contention between cores.
func WithShards(n int) MemoryOption {
	return func(c *memoryConfig) { c.shards = n }
}

// WithSweepInterval sets how often a background goroutine reclaims expired
// entries (default one minute); zero or less turns it off, leaving the
// reclaim to the writes. Close, or the store becoming unreachable, stops
// it.
func WithSweepInterval(d time.Duration) MemoryOption {
	return func(c *memoryConfig) { c.sweep = d }
}

const maxShards = 1 << 16

// NewMemoryTokenStore returns an empty in-memory token store; its concrete
// type is *MemoryTokenStore.
func NewMemoryTokenStore(opts ...MemoryOption) (oauth2.TokenStore, error) {
	s, err := newMemoryTokenStore(opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func newMemoryTokenStore(opts []MemoryOption) (*MemoryTokenStore, error) {
	c := memoryConfig{now: time.Now, shards: 64, sweep: time.Minute}
	for _, o := range opts {
		o(&c)
	}
	if c.now == nil {
		return nil, errors.New("store: WithClock(nil)")
	}
	if c.shards <= 0 || c.shards > maxShards {
		return nil, fmt.Errorf("store: WithShards(%d): want 1 to %d", c.shards, maxShards)
	}
	n := 1 << bits.Len(uint(c.shards-1))
	s := &MemoryTokenStore{
		now:    c.now,
		shards: make([]shard, n),
		mask:   uint64(n - 1),
		grants: make([]grantStripe, n),
		gmask:  uint64(n - 1),
		seed:   maphash.MakeSeed(),
		hs:     newHasher(),
		kv:     NewMemoryKV(c.now),
		docs:   NewMemoryDocuments(),
	}
	for i := range s.shards {
		s.shards[i].init(s.hs)
		s.grants[i].m = make(map[string][]tkey)
	}
	if c.sweep > 0 {
		s.stopper = startSweeper(s, c.sweep)
	}
	return s, nil
}

// stopper stops the background sweep once.
type stopper struct {
	once sync.Once
	ch   chan struct{}
}

func (st *stopper) stop() { st.once.Do(func() { close(st.ch) }) }

// startSweeper runs Sweep every interval. The goroutine holds the store
// only weakly, and a cleanup stops it when the store is collected, so that
// a store dropped without Close (as the seed's users do) leaks nothing.
func startSweeper(s *MemoryTokenStore, every time.Duration) *stopper {
	st := &stopper{ch: make(chan struct{})}
	wp := weak.Make(s)
	runtime.AddCleanup(s, (*stopper).stop, st)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-st.ch:
				return
			case <-t.C:
			}
			if s := wp.Value(); s != nil {
				s.Sweep()
			}
		}
	}()
	return st
}

// Close stops the background sweep. The store stays usable.
func (s *MemoryTokenStore) Close() error {
	if s.stopper != nil {
		s.stopper.stop()
	}
	return nil
}

// Sweep reclaims every expired entry now, a batch at a time per shard, so
// that no request waits behind it for long.
func (s *MemoryTokenStore) Sweep() {
	now := s.nowNS()
	var buf []dead
	for i := range s.shards {
		sh := &s.shards[i]
		for sh.due.Load() <= now {
			sh.mu.Lock()
			buf = sh.sweep(now, 1024, buf[:0])
			sh.mu.Unlock()
			s.unindexDead(buf)
		}
	}
	s.kv.Sweep()
}

func (s *MemoryTokenStore) nowNS() int64 { return unixNano(s.now()) }

func (s *MemoryTokenStore) shardIndex(k *tkey) uint32 {
	return uint32((s.hs.sum(k) >> 40) & s.mask)
}

func (s *MemoryTokenStore) stripeIndex(grant string) uint32 {
	return uint32(maphash.String(s.seed, grant) & s.gmask)
}

var (
	errNotFound  = fmt.Errorf("store: memory: %w", oauth2.ErrNotFound)
	errDuplicate = errors.New("store: memory: a live code or token has the same value")
)

// reusedOf returns the *oauth2.ReusedError of the used entry e of sh,
// whose lock is held: its grant, and the client, redirect URI and PKCE
// challenge that markUsed kept of the consumed record.
func reusedOf(sh *shard, e entry) error {
	m := sh.metas.list[e.meta]
	var g grantInfo
	if xi, ok := e.ext(); ok {
		g = sh.exts.at(xi).grantInfo
	}
	return &oauth2.ReusedError{
		GrantID:  g.grant,
		ClientID: m.clientID,
		Record: &models.Token{
			ClientID:            m.clientID,
			RedirectURI:         m.redirectURI,
			GrantID:             g.grant,
			CodeChallenge:       g.challenge,
			CodeChallengeMethod: g.method,
		},
	}
}

// part is one non-empty part of a TokenInfo to store.
type part struct {
	key     tkey
	hashed  bool
	kind    uint32
	created int64
	ttl     int64
	shard   uint32
}

// parts is the up to three parts of a record.
type parts struct {
	p [3]part
	n int
}

func (s *MemoryTokenStore) partsOf(info oauth2.TokenInfo) (ps parts) {
	add := func(v string, kind uint32, created time.Time, ttl time.Duration) {
		if v == "" {
			return
		}
		p := &ps.p[ps.n]
		p.key, p.hashed = keyOf(v)
		p.kind, p.created, p.ttl = kind, unixNano(created), int64(ttl)
		p.shard = s.shardIndex(&p.key)
		ps.n++
	}
	add(info.GetCode(), kindCode, info.GetCodeCreateAt(), info.GetCodeExpiresIn())
	add(info.GetAccess(), kindAccess, info.GetAccessCreateAt(), info.GetAccessExpiresIn())
	add(info.GetRefresh(), kindRefresh, info.GetRefreshCreateAt(), info.GetRefreshExpiresIn())
	return ps
}

// repeats reports whether two parts have the same value.
func (ps *parts) repeats() bool {
	for i := range ps.n {
		for j := range i {
			if ps.p[i].key == ps.p[j].key {
				return true
			}
		}
	}
	return false
}

func (ps *parts) has(k *tkey) bool {
	for i := range ps.n {
		if ps.p[i].key == *k {
			return true
		}
	}
	return false
}

// lockset is a sorted set of shard or stripe indices, locked in order so
// that operations taking several never deadlock.
type lockset struct {
	idx [6]uint32
	n   int
}

func (l *lockset) add(i uint32) {
	j := 0
	for j < l.n && l.idx[j] < i {
		j++
	}
	if j < l.n && l.idx[j] == i {
		return
	}
	copy(l.idx[j+1:l.n+1], l.idx[j:l.n])
	l.idx[j] = i
	l.n++
}

func (s *MemoryTokenStore) lockShards(l *lockset) {
	for _, i := range l.idx[:l.n] {
		s.shards[i].mu.Lock()
	}
}

func (s *MemoryTokenStore) unlockShards(l *lockset) {
	for j := l.n - 1; j >= 0; j-- {
		s.shards[l.idx[j]].mu.Unlock()
	}
}

// lockGrants locks the stripes of the non-empty grants among gs.
func (s *MemoryTokenStore) lockGrants(gs ...string) lockset {
	var l lockset
	for _, g := range gs {
		if g != "" {
			l.add(s.stripeIndex(g))
		}
	}
	for _, i := range l.idx[:l.n] {
		s.grants[i].mu.Lock()
	}
	return l
}

func (s *MemoryTokenStore) unlockGrants(l *lockset) {
	for j := l.n - 1; j >= 0; j-- {
		s.grants[l.idx[j]].mu.Unlock()
	}
}

// collides reports whether a part would replace a live entry, other than
// those under the keys in except.
func (s *MemoryTokenStore) collides(ps *parts, now int64, except ...*tkey) bool {
	for i := range ps.n {
		p := &ps.p[i]
		if e, ok := s.shards[p.shard].get(&p.key); ok && e.live(now) {
			spared := false
			for _, k := range except {
				spared = spared || (k != nil && *k == p.key)
			}
			if !spared {
				return true
			}
		}
	}
	return false
}

// insert stores the parts with meta m and grant info g, each part listing
// the others as siblings. The shards of the parts must be locked.
func (s *MemoryTokenStore) insert(ps *parts, m *meta, g *grantInfo) {
	for i := range ps.n {
		p := &ps.p[i]
		sh := &s.shards[p.shard]
		info := p.kind
		if p.hashed {
			info |= hashedBit
		}
		if ps.n > 1 || !g.empty() {
			x := ext{grantInfo: *g}
			for j := range ps.n {
				if j != i {
					q := &ps.p[j]
					x.sib[x.n] = sibling{key: q.key, created: q.created, ttl: q.ttl, kind: q.kind, hashed: q.hashed}
					x.n++
				}
			}
			info |= (sh.exts.add(&x) + 1) << extShift
		}
		sh.put(&p.key, entry{created: p.created, ttl: p.ttl, meta: sh.metas.intern(m), info: info})
	}
}

// index adds the keys of the parts to the grant's index. The grant's
// stripe must be locked.
func (s *MemoryTokenStore) index(grant string, ps *parts) {
	if grant == "" || ps.n == 0 {
		return
	}
	gs := &s.grants[s.stripeIndex(grant)]
	keys := gs.m[grant]
	for i := range ps.n {
		keys = append(keys, ps.p[i].key)
	}
	gs.m[grant] = keys
}

// unindex drops keys from the grant's index. The grant's stripe must be
// locked, and the keys' entries gone or no longer live parts of the grant.
func (s *MemoryTokenStore) unindex(grant string, drop ...*tkey) {
	if grant == "" {
		return
	}
	gs := &s.grants[s.stripeIndex(grant)]
	keys := gs.m[grant]
	for _, k := range drop {
		if k == nil {
			continue
		}
		for i := range keys {
			if keys[i] == *k {
				keys[i] = keys[len(keys)-1]
				keys = keys[:len(keys)-1]
				break
			}
		}
	}
	if len(keys) == 0 {
		delete(gs.m, grant)
	} else {
		gs.m[grant] = keys
	}
}

// unindexDead drops removed entries from their grants' index, keeping any
// key that a grant holds live again.
func (s *MemoryTokenStore) unindexDead(ds []dead) {
	for i := range ds {
		d := &ds[i]
		l := s.lockGrants(d.grant)
		sh := &s.shards[s.shardIndex(&d.key)]
		sh.mu.Lock()
		e, ok := sh.get(&d.key)
		back := ok && e.kind() <= kindRefresh && sh.grantOf(e) == d.grant
		sh.mu.Unlock()
		if !back {
			s.unindex(d.grant, &d.key)
		}
		s.unlockGrants(&l)
	}
}

// Create stores every non-empty part of info, all or none: it fails,
// storing nothing, if a part has the value of a live code or token.
func (s *MemoryTokenStore) Create(_ context.Context, info oauth2.TokenInfo) error {
	ps := s.partsOf(info)
	if ps.n == 0 {
		return nil
	}
	if ps.repeats() {
		return errDuplicate
	}
	now := s.nowNS()
	m, g := metaOf(info), grantInfoOf(info)
	gl := s.lockGrants(g.grant)
	var sl lockset
	for i := range ps.n {
		sl.add(ps.p[i].shard)
	}
	s.lockShards(&sl)
	if s.collides(&ps, now) {
		s.unlockShards(&sl)
		s.unlockGrants(&gl)
		return errDuplicate
	}
	s.insert(&ps, &m, &g)
	// Reclaim a few expired entries while the shard is locked anyway.
	var buf [sweepBatch]dead
	swept := s.shards[ps.p[0].shard].sweepDue(now, buf[:0])
	s.unlockShards(&sl)
	s.index(g.grant, &ps)
	s.unlockGrants(&gl)
	s.unindexDead(swept)
	return nil
}

// lookup reads the entry of value v as kind: the record if live, a
// *ReusedError if consumed, errNotFound otherwise.
func (s *MemoryTokenStore) lookup(v string, kind uint32) (oauth2.TokenInfo, error) {
	if v == "" {
		return nil, errNotFound
	}
	k, hashed := keyOf(v)
	sh := &s.shards[s.shardIndex(&k)]
	now := s.nowNS()
	sh.mu.Lock()
	e, ok := sh.get(&k)
	if !ok || e.hashed() != hashed || !e.live(now) {
		sh.mu.Unlock()
		return nil, errNotFound
	}
	var x ext
	if xi, ok := e.ext(); ok {
		x = *sh.exts.at(xi)
	}
	switch e.kind() {
	case kind:
	case used(kind):
		err := reusedOf(sh, e)
		sh.mu.Unlock()
		return nil, err
	default:
		sh.mu.Unlock()
		return nil, errNotFound
	}
	m := sh.metas.list[e.meta]
	sh.mu.Unlock()

	t := &models.Token{
		ClientID:            m.clientID,
		UserID:              m.userID,
		RedirectURI:         m.redirectURI,
		Scope:               m.scope,
		GrantID:             x.grant,
		CodeChallenge:       x.challenge,
		CodeChallengeMethod: x.method,
	}
	if x.extension != "" {
		// The store wrote it with url.Values.Encode, which ParseQuery
		// reads back exactly.
		t.Extension, _ = url.ParseQuery(x.extension)
	}
	setPart(t, kind, v, e.created, e.ttl)
	for i := range x.n {
		sib := &x.sib[i]
		val := ""
		if !sib.hashed {
			val = valueOf(&sib.key)
		}
		setPart(t, sib.kind, val, sib.created, sib.ttl)
	}
	return t, nil
}

func setPart(t *models.Token, kind uint32, v string, created, ttl int64) {
	at, d := fromUnixNano(created), time.Duration(ttl)
	switch kind {
	case kindCode:
		t.Code, t.CodeCreateAt, t.CodeExpiresIn = v, at, d
	case kindAccess:
		t.Access, t.AccessCreateAt, t.AccessExpiresIn = v, at, d
	case kindRefresh:
		t.Refresh, t.RefreshCreateAt, t.RefreshExpiresIn = v, at, d
	}
}

// GetByCode returns the live record of the code, a *oauth2.ReusedError for
// a code already exchanged (RFC 6749 4.1.2), or an error wrapping
// oauth2.ErrNotFound.
func (s *MemoryTokenStore) GetByCode(_ context.Context, code string) (oauth2.TokenInfo, error) {
	return s.lookup(code, kindCode)
}

// GetByAccess returns the live record of the access token, or an error
// wrapping oauth2.ErrNotFound.
func (s *MemoryTokenStore) GetByAccess(_ context.Context, access string) (oauth2.TokenInfo, error) {
	return s.lookup(access, kindAccess)
}

// GetByRefresh returns the live record of the refresh token, a
// *oauth2.ReusedError for a rotated-out one (RFC 9700 4.14.2), or an error
// wrapping oauth2.ErrNotFound.
func (s *MemoryTokenStore) GetByRefresh(_ context.Context, refresh string) (oauth2.TokenInfo, error) {
	return s.lookup(refresh, kindRefresh)
}

// remove deletes the live-kind entry of v if it is of kind. With
// withSibling, it also deletes the sibling access token of that entry
// (a refresh token's, RFC 7009 2.1).
func (s *MemoryTokenStore) remove(v string, kind uint32, withSibling bool) error {
	if v == "" {
		return nil
	}
	k, hashed := keyOf(v)
	si := s.shardIndex(&k)
	sh := &s.shards[si]
	for {
		// Find the sibling first, then lock both shards and check that
		// nothing changed in between.
		var ak *tkey
		if withSibling {
			sh.mu.Lock()
			e, ok := sh.get(&k)
			if ok && e.kind() == kind {
				ak = sibAccess(sh, e)
			}
			sh.mu.Unlock()
		}
		var sl lockset
		sl.add(si)
		if ak != nil {
			sl.add(s.shardIndex(ak))
		}
		s.lockShards(&sl)
		e, ok := sh.get(&k)
		if !ok || e.hashed() != hashed || e.kind() != kind {
			s.unlockShards(&sl)
			return nil
		}
		if withSibling {
			if now := sibAccess(sh, e); (now == nil) != (ak == nil) || (now != nil && *now != *ak) {
				s.unlockShards(&sl)
				continue
			}
		}
		var ds [2]dead
		n := 0
		grant := sh.grantOf(e)
		sh.del(&k, e)
		ds[n] = dead{grant: grant, key: k}
		n++
		if ak != nil {
			ash := &s.shards[s.shardIndex(ak)]
			if ae, ok := ash.get(ak); ok && ae.kind() == kindAccess {
				ds[n] = dead{grant: ash.grantOf(ae), key: *ak}
				n++
				ash.del(ak, ae)
			}
		}
		s.unlockShards(&sl)
		j := 0
		for _, d := range ds[:n] {
			if d.grant != "" {
				ds[j] = d
				j++
			}
		}
		s.unindexDead(ds[:j])
		return nil
	}
}

// sibAccess returns the key of the access token stored with e, if any.
func sibAccess(sh *shard, e entry) *tkey {
	xi, ok := e.ext()
	if !ok {
		return nil
	}
	x := sh.exts.at(xi)
	for i := range x.n {
		if x.sib[i].kind == kindAccess {
			k := x.sib[i].key
			return &k
		}
	}
	return nil
}

// RemoveByCode removes the code. Removing a missing code is not an error;
// a consumed code stays remembered.
func (s *MemoryTokenStore) RemoveByCode(_ context.Context, code string) error {
	return s.remove(code, kindCode, false)
}

// RemoveByAccess removes the access token only.
func (s *MemoryTokenStore) RemoveByAccess(_ context.Context, access string) error {
	return s.remove(access, kindAccess, false)
}

// RemoveByRefresh removes the refresh token and the access token stored
// with it (RFC 7009 2.1); a rotated-out refresh token stays remembered.
func (s *MemoryTokenStore) RemoveByRefresh(_ context.Context, refresh string) error {
	return s.remove(refresh, kindRefresh, true)
}

// peek reads the entry of value k as kind without changing it: its grant
// and, for a refresh token, the key of its access token.
func (s *MemoryTokenStore) peek(k *tkey, hashed bool, kind uint32, now int64) (grant string, ak *tkey, err error) {
	sh := &s.shards[s.shardIndex(k)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.get(k)
	if !ok || e.hashed() != hashed || !e.live(now) {
		return "", nil, errNotFound
	}
	grant = sh.grantOf(e)
	switch e.kind() {
	case kind:
		if kind == kindRefresh {
			ak = sibAccess(sh, e)
		}
		return grant, ak, nil
	case used(kind):
		return "", nil, reusedOf(sh, e)
	}
	return "", nil, errNotFound
}

// consume atomically replaces the live entry of value v (a code or a
// refresh token) with a used entry and stores issued; see ExchangeCode and
// RotateRefresh.
func (s *MemoryTokenStore) consume(v string, kind uint32, issued oauth2.TokenInfo) error {
	if v == "" {
		return errNotFound
	}
	k, hashed := keyOf(v)
	si := s.shardIndex(&k)
	sh := &s.shards[si]
	ps := s.partsOf(issued)
	if ps.repeats() {
		return errDuplicate
	}
	im, ig := metaOf(issued), grantInfoOf(issued)
	for {
		now := s.nowNS()
		grant, ak, err := s.peek(&k, hashed, kind, now)
		if err != nil {
			return err
		}
		gl := s.lockGrants(grant, ig.grant)
		var sl lockset
		sl.add(si)
		if ak != nil {
			sl.add(s.shardIndex(ak))
		}
		for i := range ps.n {
			sl.add(ps.p[i].shard)
		}
		s.lockShards(&sl)
		unlock := func() {
			s.unlockShards(&sl)
			s.unlockGrants(&gl)
		}
		e, ok := sh.get(&k)
		switch {
		case !ok || e.hashed() != hashed || !e.live(now):
			unlock()
			return errNotFound
		case e.kind() == used(kind):
			err := reusedOf(sh, e)
			unlock()
			return err
		case e.kind() != kind:
			unlock()
			return errNotFound
		}
		var now2 *tkey
		if kind == kindRefresh {
			now2 = sibAccess(sh, e)
		}
		if sh.grantOf(e) != grant || (now2 == nil) != (ak == nil) || (now2 != nil && *now2 != *ak) {
			unlock() // changed since peek: look again
			continue
		}
		if s.collides(&ps, now, &k, ak) || (kind == kindCode && ps.has(&k)) {
			unlock()
			return errDuplicate
		}

		// Remember the consumed value with its grant until the issued parts
		// (and, for a refresh token, the old one) expire.
		keep := !ps.has(&k)
		// A rotation counts the refresh parts only; never less than the
		// consumed value's own lifetime.
		last := e.expiresAt()
		for i := range ps.n {
			if kind == kindCode || ps.p[i].kind == kindRefresh {
				last = max(last, expiry(ps.p[i].created, ps.p[i].ttl))
			}
		}
		s.markUsed(sh, &k, e, used(kind), grant, now, last, keep)
		if ak != nil {
			ash := &s.shards[s.shardIndex(ak)]
			if ae, ok := ash.get(ak); ok && ae.kind() == kindAccess && !ps.has(ak) {
				ash.del(ak, ae)
			}
		}
		s.insert(&ps, &im, &ig)
		var buf [sweepBatch]dead
		swept := sh.sweepDue(now, buf[:0])
		s.unlockShards(&sl)
		s.unindex(grant, &k, ak) // issued's keys go back in just below
		s.index(ig.grant, &ps)
		s.unlockGrants(&gl)
		s.unindexDead(swept)
		return nil
	}
}

// markUsed replaces the entry e under k with a used entry of the grant,
// remembered until at (neverAt: for ever), which keeps the consumed
// record's meta and PKCE challenge for reusedOf. Without keep the entry is
// dropped, as issued takes its key.
func (s *MemoryTokenStore) markUsed(sh *shard, k *tkey, e entry, kind uint32, grant string, now, at int64, keep bool) {
	if !keep {
		return
	}
	ttl := int64(0)
	if at != neverAt {
		ttl = max(at-now, 1)
	}
	m := sh.metas.list[e.meta]
	g := grantInfo{grant: grant}
	if xi, ok := e.ext(); ok {
		old := &sh.exts.at(xi).grantInfo
		g.challenge, g.method = old.challenge, old.method
	}
	info := kind
	if e.hashed() {
		info |= hashedBit
	}
	if !g.empty() {
		info |= (sh.exts.add(&ext{grantInfo: g}) + 1) << extShift
	}
	// Interned before put releases e's reference to the same meta.
	sh.put(k, entry{created: now, ttl: ttl, meta: sh.metas.intern(&m), info: info})
}

// ExchangeCode atomically consumes the live code and stores issued (RFC
// 6749 4.1.2): of concurrent calls for one code exactly one succeeds, the
// others get a *oauth2.ReusedError. The consumed code is remembered with
// its grant until the last part of issued expires.
func (s *MemoryTokenStore) ExchangeCode(_ context.Context, code string, issued oauth2.TokenInfo) error {
	return s.consume(code, kindCode, issued)
}

// RotateRefresh atomically replaces the live record of refresh (its access
// and refresh tokens) with issued (RFC 6749 6, RFC 9700 4.14.2). Unless
// issued keeps the same refresh value, the old one is remembered with its
// grant until the later of its own and issued's refresh expiry.
func (s *MemoryTokenStore) RotateRefresh(_ context.Context, refresh string, issued oauth2.TokenInfo) error {
	return s.consume(refresh, kindRefresh, issued)
}

// RevokeGrant removes every live code and token of the grant (RFC 9700
// 4.14.2); consumed codes and rotated-out refresh tokens stay remembered.
// An empty grantID is a no-op.
func (s *MemoryTokenStore) RevokeGrant(_ context.Context, grantID string) error {
	if grantID == "" {
		return nil
	}
	gl := s.lockGrants(grantID)
	defer s.unlockGrants(&gl)
	gs := &s.grants[s.stripeIndex(grantID)]
	for _, k := range gs.m[grantID] {
		sh := &s.shards[s.shardIndex(&k)]
		sh.mu.Lock()
		if e, ok := sh.get(&k); ok && e.kind() <= kindRefresh && sh.grantOf(e) == grantID {
			sh.del(&k, e)
		}
		sh.mu.Unlock()
	}
	delete(gs.m, grantID)
	return nil
}
