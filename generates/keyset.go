package generates

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// SigningKey is a private key of a KeySet, with the times that place it in
// the set's rotation (see KeySet).
type SigningKey struct {
	// KeyID is the kid (RFC 7515 4.1.4); "" derives it from the key, as
	// WithKeyID describes.
	KeyID string
	// Method is the JWS algorithm the key signs with.
	Method jwt.SigningMethod
	// Key is a []byte secret for the HMAC methods, of at least the hash
	// size (RFC 7518 3.2), and a crypto.Signer for the others.
	Key any
	// NotBefore is when the key becomes the current key, the one that
	// signs new tokens. Of the keys that have one, the current key is the
	// one whose NotBefore is the latest that is not after now, so that
	// every process holding the same keys switches at the same moment. A
	// key without a NotBefore is never current. Add with makeCurrent sets
	// it to now; Schedule to a later time.
	//
	// A key that is not current and has no NotAfter (a key without
	// NotBefore, or one that Add with makeCurrent replaced) signs only the
	// ID tokens of clients that ask for its algorithm: an RS256 key kept
	// beside an ES256 current key (OpenID Connect Core 1.0 15.1).
	//
	// For a Secondary key NotBefore is when it starts signing the ID
	// tokens of the clients that ask for its algorithm (zero: from the
	// start); it is never current.
	NotBefore time.Time
	// NotAfter is when every token the key signed has expired: from then
	// on its public key is no longer published and Prune removes it. A key
	// with a NotAfter signs nothing once another key has replaced it (or,
	// for a key without NotBefore that is not Secondary, at all). Zero
	// while the key may still sign. Rotate, Schedule and ScheduleSecondary
	// set it on the key they replace.
	NotAfter time.Time
	// Secondary marks a key that signs only the ID tokens of the clients
	// that ask for its algorithm (id_token_signed_response_alg, OpenID
	// Connect Core 1.0 15.1, OpenID Connect Dynamic Client Registration
	// 1.0 2) and is never the current key. Of the Secondary keys of one
	// algorithm, the one whose NotBefore is the latest that has passed
	// signs, until its NotAfter, so that such a key is rotated as the
	// current key is (ScheduleSecondary, OpenID Connect Core 1.0 10.1.1):
	// the new one published at once and signing from its NotBefore, the
	// old one signing until then and published until its NotAfter.
	Secondary bool
}

// SigningKeyPublic is the public half of a SigningKey, for publishing in a
// JWK Set.
type SigningKeyPublic struct {
	KeyID     string
	Algorithm string
	Key       crypto.PublicKey
}

// KeySet holds the keys that sign JWT access tokens and ID tokens, and whose
// public halves the server publishes at its jwks_uri (RFC 7517 5, RFC 8414
// 2). Keys are parsed and checked once, when added.
//
// Which key signs is a function of the keys' times and the clock only (see
// SigningKey): the current key is the key with the latest NotBefore that has
// passed. A key scheduled to become current later (Schedule) is published at
// once, so that verifiers have fetched it before they meet a token it
// signed (server.JWKSMaxAge); the key it replaces stays published until its
// NotAfter, which must cover the longest lifetime of a token it signed (the
// larger of the access token and ID token lifetimes). Processes that load
// the same keys (Keys, Load) therefore switch keys at the same moment, with
// no message between them. Prune removes keys whose NotAfter has passed.
//
// The zero KeySet is empty and ready to use. A KeySet is safe for concurrent
// use; finding the key that signs takes no lock.
type KeySet struct {
	mu   sync.Mutex // serializes changes
	keys []keySetEntry
	seq  uint64
	now  func() time.Time
	snap atomic.Pointer[keySnapshot]
}

// keySetEntry is one key of the set. Entries are values: a change of the
// set makes new ones, so that a snapshot never changes under a reader.
type keySetEntry struct {
	key       *signingKey
	notBefore time.Time
	notAfter  time.Time
	secondary bool   // SigningKey.Secondary
	seq       uint64 // order of addition, which breaks NotBefore ties
}

// live reports whether the key is still published at now.
func (e *keySetEntry) live(now time.Time) bool {
	return e.notAfter.IsZero() || now.Before(e.notAfter)
}

// keySnapshot is the set as the signers read it: the entries, and the keys
// that sign at every instant of [from, until).
type keySnapshot struct {
	entries []keySetEntry
	// current is the key that signs new tokens; nil when none does.
	current *signingKey
	// secondaries are the keys other than current that may sign the ID
	// tokens of clients that ask for their algorithm, newest first: the
	// keys that are not Secondary with no NotAfter, and no NotBefore or
	// one that has passed; and of the Secondary keys of each algorithm,
	// the one signing now (secondarySigners).
	secondaries []*signingKey
	// until is when current or secondaries next change (a NotBefore or a
	// NotAfter passes), in Unix nanoseconds; math.MaxInt64 when never.
	until int64
}

var emptySnapshot = &keySnapshot{until: math.MaxInt64}

// NewKeySet returns an empty key set.
func NewKeySet() *KeySet { return &KeySet{} }

// SetClock sets the clock that decides which key is current and which are
// published; time.Now by default. Set it before the set is used.
func (ks *KeySet) SetClock(now func() time.Time) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.now = now
	ks.rebuildLocked()
}

func (ks *KeySet) clock() time.Time {
	if ks.now != nil {
		return ks.now()
	}
	return time.Now()
}

// state returns the snapshot valid now, rebuilding it when a key's time has
// come.
func (ks *KeySet) state() *keySnapshot {
	s := ks.snap.Load()
	if s == nil {
		return emptySnapshot
	}
	if s.until != math.MaxInt64 && ks.clock().UnixNano() >= s.until {
		ks.mu.Lock()
		if s = ks.snap.Load(); ks.clock().UnixNano() >= s.until {
			s = ks.rebuildLocked()
		}
		ks.mu.Unlock()
	}
	return s
}

// rebuildLocked makes the snapshot of ks.keys at the clock's now.
func (ks *KeySet) rebuildLocked() *keySnapshot {
	now := ks.clock()
	s := &keySnapshot{entries: slices.Clone(ks.keys), until: math.MaxInt64}
	n := now.UnixNano()
	later := func(t time.Time) {
		if !t.IsZero() && t.After(now) && t.UnixNano() < s.until {
			s.until = t.UnixNano()
		}
	}
	var cur *keySetEntry
	for i := range s.entries {
		e := &s.entries[i]
		later(e.notBefore)
		later(e.notAfter)
		if e.secondary || e.notBefore.IsZero() || e.notBefore.UnixNano() > n || !e.live(now) {
			continue
		}
		if cur == nil || e.newerThan(cur) {
			cur = e
		}
	}
	if cur != nil {
		s.current = cur.key
	}
	signing := secondarySigners(s.entries, now)
	for i := len(s.entries) - 1; i >= 0; i-- {
		e := &s.entries[i]
		switch {
		case e.key == s.current:
		case e.secondary:
			if signing[e.key.method.Alg()] == e {
				s.secondaries = append(s.secondaries, e.key)
			}
		case e.notAfter.IsZero() && (e.notBefore.IsZero() || e.notBefore.UnixNano() <= n):
			s.secondaries = append(s.secondaries, e.key)
		}
	}
	ks.snap.Store(s)
	return s
}

// newerThan reports whether e takes over from o: a later NotBefore
// (zero counts as the earliest), or the same one added later.
func (e *keySetEntry) newerThan(o *keySetEntry) bool {
	return e.notBefore.After(o.notBefore) || (e.notBefore.Equal(o.notBefore) && e.seq > o.seq)
}

// secondarySigners returns, by algorithm, the Secondary key of entries
// that signs at t: the one whose NotBefore is the latest not after t
// (zero counts as the earliest), later additions breaking ties, among
// those still published at t.
func secondarySigners(entries []keySetEntry, t time.Time) map[string]*keySetEntry {
	var out map[string]*keySetEntry
	for i := range entries {
		e := &entries[i]
		if !e.secondary || !e.live(t) || e.notBefore.After(t) {
			continue
		}
		alg := e.key.method.Alg()
		if o := out[alg]; o == nil || e.newerThan(o) {
			if out == nil {
				out = make(map[string]*keySetEntry, 1)
			}
			out[alg] = e
		}
	}
	return out
}

// currentKey returns the key that signs new tokens now, nil when none.
// It takes no lock.
func (ks *KeySet) currentKey() *signingKey { return ks.state().current }

// Add adds key to the set. With makeCurrent it becomes the key that signs
// new tokens from now on (its NotBefore is set to now); the key it replaces
// stays in the set, published, until its NotAfter passes (use Rotate to set
// it). Without makeCurrent the key takes its place by its own NotBefore
// and NotAfter: a key with neither signs the ID tokens of clients that ask
// for its algorithm, a key with a past NotBefore and a NotAfter is a
// replaced key kept for verification, a Secondary key signs the ID tokens
// of clients that ask for its algorithm from its NotBefore. Add refuses a
// key ID that the set already holds, a current key with a NotAfter or a
// NotBefore of its own or marked Secondary, and a NotAfter that is not
// after NotBefore.
func (ks *KeySet) Add(key SigningKey, makeCurrent bool) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if makeCurrent {
		if key.Secondary {
			return errors.New("generates: a Secondary key is never the current key")
		}
		if !key.NotAfter.IsZero() {
			return errors.New("generates: the current key cannot have a NotAfter")
		}
		if !key.NotBefore.IsZero() {
			return errors.New("generates: a key made current now cannot have a NotBefore of its own: use Schedule")
		}
		key.NotBefore = ks.clock()
	}
	if _, err := ks.addLocked(key); err != nil {
		return err
	}
	ks.rebuildLocked()
	return nil
}

// Rotate adds key as the current key from now on and retires the key it
// replaces: that key stays published for retireAfter, which must cover the
// lifetime of the tokens it signed, and is then unpublished.
func (ks *KeySet) Rotate(key SigningKey, retireAfter time.Duration) error {
	if err := checkReplacement("Rotate", key, retireAfter); err != nil {
		return err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := ks.clock()
	key.NotBefore = now
	return ks.replaceLocked(key, now, retireAfter)
}

// Schedule adds key, published at once, to become the current key at
// activateAt (its NotBefore), and retires the key that is current just
// before then: that key keeps signing until activateAt, and stays published
// until activateAt plus retireAfter, which must cover the longest lifetime
// of a token it signed (the larger of the access token and ID token
// lifetimes). activateAt should be at least server.JWKSMaxAge away, so that
// verifiers that cache the JWK Set have fetched the new key before they
// meet a token it signed, and, when several processes share the keys
// through a store, longer than the time they take to load a change.
//
// The switch is decided by the clock alone: every process holding the
// same keys signs with the new one from activateAt. One key may be
// scheduled at a time: Schedule refuses a key while another one's
// NotBefore is at or after activateAt (Secondary keys aside: see
// ScheduleSecondary).
func (ks *KeySet) Schedule(key SigningKey, activateAt time.Time, retireAfter time.Duration) error {
	if err := checkSchedule("Schedule", key, activateAt, retireAfter); err != nil {
		return err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, e := range ks.keys {
		if !e.secondary && !e.notBefore.IsZero() && !e.notBefore.Before(activateAt) {
			return fmt.Errorf("generates: key %q is already scheduled at or after that time", e.key.id)
		}
	}
	key.NotBefore = activateAt
	return ks.replaceLocked(key, activateAt, retireAfter)
}

// checkSchedule checks the arguments of Schedule and ScheduleSecondary.
func checkSchedule(op string, key SigningKey, activateAt time.Time, retireAfter time.Duration) error {
	if retireAfter > 0 && activateAt.IsZero() { // a bad retireAfter is said first
		return fmt.Errorf("generates: %s needs an activation time", op)
	}
	return checkReplacement(op, key, retireAfter)
}

// checkReplacement checks what Rotate, Schedule and ScheduleSecondary
// share: a positive retireAfter, and a key whose times the call sets.
func checkReplacement(op string, key SigningKey, retireAfter time.Duration) error {
	if retireAfter <= 0 {
		return fmt.Errorf("generates: %s needs a positive retireAfter: the old key's tokens are still valid", op)
	}
	if !key.NotBefore.IsZero() || !key.NotAfter.IsZero() || key.Secondary {
		return fmt.Errorf("generates: %s takes a key without NotBefore and NotAfter, not Secondary", op)
	}
	return nil
}

// ScheduleSecondary rotates the key that signs the ID tokens of the
// clients that ask for key's algorithm (a key kept beside a current key of
// another algorithm, see SigningKey.Secondary) as Schedule rotates the
// current key (OpenID Connect Core 1.0 10.1.1): key, marked Secondary, is
// published at once and signs those ID tokens from activateAt (its
// NotBefore); the key it replaces signs them until activateAt and stays
// published until activateAt plus retireAfter, which must cover the
// lifetime of an ID token it signed. The key it replaces is the key of
// that algorithm that signs those ID tokens just before activateAt: of
// the Secondary key whose NotBefore is the latest before activateAt and
// the newest key with neither NotBefore nor NotAfter (which becomes
// Secondary), the one added last. Without one, key is simply added.
//
// One Secondary key of an algorithm may be scheduled at a time:
// ScheduleSecondary refuses a key while another Secondary key of its
// algorithm has a NotBefore at or after activateAt.
func (ks *KeySet) ScheduleSecondary(key SigningKey, activateAt time.Time, retireAfter time.Duration) error {
	if err := checkSchedule("ScheduleSecondary", key, activateAt, retireAfter); err != nil {
		return err
	}
	if key.Method == nil {
		return fmt.Errorf("%w: no signing method", ErrUnsupportedAlgorithm)
	}
	alg := key.Method.Alg()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	// The key replaced: of the Secondary key that signs just before
	// activateAt and the newest key without times, the newer, as the
	// signer of ID tokens prefers it.
	sec, bare := -1, -1
	for i, e := range ks.keys {
		if e.key.method.Alg() != alg {
			continue
		}
		if e.secondary && !e.notBefore.IsZero() && !e.notBefore.Before(activateAt) {
			return fmt.Errorf("generates: Secondary key %q is already scheduled at or after that time", e.key.id)
		}
		switch {
		case e.secondary && e.live(activateAt):
			if sec < 0 || e.newerThan(&ks.keys[sec]) {
				sec = i
			}
		case !e.secondary && e.notBefore.IsZero() && e.notAfter.IsZero():
			bare = i
		}
	}
	old := max(sec, bare)
	key.NotBefore, key.Secondary = activateAt, true
	if _, err := ks.addLocked(key); err != nil {
		return err
	}
	if old >= 0 {
		e := &ks.keys[old]
		e.secondary = true
		if retire := activateAt.Add(retireAfter); e.notAfter.IsZero() || e.notAfter.Before(retire) {
			e.notAfter = retire
		}
	}
	ks.rebuildLocked()
	return nil
}

// replaceLocked adds key, whose NotBefore is at, and sets the NotAfter of
// the key current just before at to at+retireAfter (or keeps a later one).
func (ks *KeySet) replaceLocked(key SigningKey, at time.Time, retireAfter time.Duration) error {
	old := -1
	for i, e := range ks.keys {
		if e.secondary || e.notBefore.IsZero() || !e.notBefore.Before(at) || !e.live(at) {
			continue
		}
		if old < 0 || e.newerThan(&ks.keys[old]) {
			old = i
		}
	}
	if _, err := ks.addLocked(key); err != nil {
		return err
	}
	if old >= 0 {
		retire := at.Add(retireAfter)
		if e := &ks.keys[old]; e.notAfter.IsZero() || e.notAfter.Before(retire) {
			e.notAfter = retire
		}
	}
	ks.rebuildLocked()
	return nil
}

// Retire sets the NotAfter of the key keyID: it is unpublished then, and
// Prune removes it. A key without NotBefore that is not Secondary (one
// kept for the ID tokens of clients that ask for its algorithm) stops
// signing at once; a scheduled key that has not started signing never
// will; the current key, and a Secondary key that signs, sign until
// notAfter or until another key replaces them. Retire(kid, now) removes a
// compromised key from service at once, leaving the set without a current
// key when it was the current one.
func (ks *KeySet) Retire(keyID string, notAfter time.Time) error {
	if notAfter.IsZero() {
		return errors.New("generates: Retire needs a time")
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for i := range ks.keys {
		if e := &ks.keys[i]; e.key.id == keyID {
			e.notAfter = notAfter
			if !e.notBefore.IsZero() && !notAfter.After(e.notBefore) {
				// Cancelled before it started signing: it never signs,
				// as a key with neither NotBefore nor Secondary.
				e.notBefore, e.secondary = time.Time{}, false
			}
			ks.rebuildLocked()
			return nil
		}
	}
	return fmt.Errorf("generates: no key %q in the key set", keyID)
}

// addLocked checks and parses key and appends it.
func (ks *KeySet) addLocked(key SigningKey) (*keySetEntry, error) {
	e, err := ks.entryOf(key, nil)
	if err != nil {
		return nil, err
	}
	for _, o := range ks.keys {
		if o.key.id == e.key.id {
			return nil, fmt.Errorf("generates: key ID %q is already in the key set", e.key.id)
		}
	}
	ks.keys = append(ks.keys, e)
	return &ks.keys[len(ks.keys)-1], nil
}

// entryOf checks key and makes its entry, reusing the parsed key of reuse
// when it is the same key.
func (ks *KeySet) entryOf(key SigningKey, reuse map[string]*signingKey) (keySetEntry, error) {
	if !key.NotAfter.IsZero() && !key.NotBefore.IsZero() && !key.NotAfter.After(key.NotBefore) {
		return keySetEntry{}, errors.New("generates: a key's NotAfter must be after its NotBefore")
	}
	var k *signingKey
	if old := reuse[key.KeyID]; old != nil && key.KeyID != "" && sameKey(old, key) {
		k = old
	} else {
		var err error
		if k, err = newSigningKey(key.KeyID, key.Method, key.Key, true); err != nil {
			return keySetEntry{}, err
		}
	}
	ks.seq++
	return keySetEntry{key: k, notBefore: key.NotBefore, notAfter: key.NotAfter, secondary: key.Secondary, seq: ks.seq}, nil
}

// sameKey reports whether key is the parsed key k: same algorithm and the
// same private key.
func sameKey(k *signingKey, key SigningKey) bool {
	if key.Method == nil || key.Method.Alg() != k.method.Alg() {
		return false
	}
	if k.kind == kindHMAC {
		secret, ok := key.Key.([]byte)
		return ok && bytes.Equal(secret, k.secret)
	}
	type equaler interface{ Equal(crypto.PrivateKey) bool }
	eq, ok := k.signer.(equaler)
	return ok && eq.Equal(key.Key)
}

// Load replaces every key of the set with keys, as read from a store that
// several processes share (Keys is what to save). Keys already in the set
// under the same ID and with the same private key are not parsed again.
// Either every key is loaded or, on error, the set is left unchanged.
func (ks *KeySet) Load(keys []SigningKey) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	reuse := make(map[string]*signingKey, len(ks.keys))
	for _, e := range ks.keys {
		reuse[e.key.id] = e.key
	}
	next := make([]keySetEntry, 0, len(keys))
	for _, key := range keys {
		e, err := ks.entryOf(key, reuse)
		if err != nil {
			return err
		}
		for _, o := range next {
			if o.key.id == e.key.id {
				return fmt.Errorf("generates: key ID %q appears twice", e.key.id)
			}
		}
		next = append(next, e)
	}
	ks.keys = next
	ks.rebuildLocked()
	return nil
}

// Current returns the key that signs new tokens now, and false when there
// is none.
func (ks *KeySet) Current() (SigningKey, bool) {
	s := ks.state()
	for _, e := range s.entries {
		if e.key == s.current {
			return e.signingKey(), true
		}
	}
	return SigningKey{}, false
}

// Keys returns every key of the set, current, scheduled or retired, private
// parts included, with their times, for saving in a store: Load reads them
// back.
func (ks *KeySet) Keys() []SigningKey {
	s := ks.state()
	out := make([]SigningKey, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e.signingKey())
	}
	return out
}

func (e *keySetEntry) signingKey() SigningKey {
	k := e.key
	var key any = k.signer
	if k.kind == kindHMAC {
		key = bytes.Clone(k.secret)
	}
	return SigningKey{KeyID: k.id, Method: k.method, Key: key, NotBefore: e.notBefore, NotAfter: e.notAfter, Secondary: e.secondary}
}

// Algorithms returns the JWS algorithms the set signs with now: the
// current key's first, then those of the keys that may sign ID tokens for
// the clients that ask for their algorithm (see SigningKey.NotBefore).
func (ks *KeySet) Algorithms() []string {
	s := ks.state()
	var out []string
	if s.current != nil {
		out = append(out, s.current.method.Alg())
	}
	for _, k := range s.secondaries {
		if !slices.Contains(out, k.method.Alg()) {
			out = append(out, k.method.Alg())
		}
	}
	return out
}

// Public returns the public keys to publish: every asymmetric key of the set
// whose NotAfter has not passed, scheduled keys included. HMAC secrets are
// never published.
func (ks *KeySet) Public() []SigningKeyPublic {
	now := ks.clock()
	var out []SigningKeyPublic
	for _, e := range ks.state().entries {
		if e.key.public != nil && e.live(now) {
			out = append(out, SigningKeyPublic{KeyID: e.key.id, Algorithm: e.key.method.Alg(), Key: e.key.public})
		}
	}
	return out
}

// JWKS returns the public keys as a JWK Set (RFC 7517 5), each with kid,
// alg and use "sig" (RFC 7517 4.2-4.5), for the server's jwks_uri
// (RFC 8414 2). It never holds a private part or an HMAC secret.
func (ks *KeySet) JWKS() ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, p := range ks.Public() {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: p.Key, KeyID: p.KeyID, Algorithm: p.Algorithm, Use: "sig"})
	}
	out, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("generates: encode JWK Set: %w", err)
	}
	return out, nil
}

// Prune removes the keys whose NotAfter is before now and returns their IDs,
// so that a server can delete them from its store too. The current key is
// never removed.
func (ks *KeySet) Prune(now time.Time) []string {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	cur := ks.rebuildLocked().current
	var removed []string
	kept := ks.keys[:0]
	for _, e := range ks.keys {
		if e.live(now) || e.key == cur {
			kept = append(kept, e)
		} else {
			removed = append(removed, e.key.id)
		}
	}
	clear(ks.keys[len(kept):])
	ks.keys = kept
	ks.rebuildLocked()
	return removed
}

// Errors of Keyfunc. jwt/v5 wraps them in jwt.ErrTokenUnverifiable.
var (
	errNotAccessToken = errors.New("generates: typ header is not at+jwt (RFC 9068 4)")
	errUnknownKey     = errors.New("generates: kid names no published key")
	errWrongAlg       = errors.New("generates: alg header does not match the key")
)

// publishedKey returns the published key named kid, nil when none.
func (ks *KeySet) publishedKey(kid string) *signingKey {
	now := ks.clock()
	for _, e := range ks.state().entries {
		if e.key.id == kid && e.live(now) {
			return e.key
		}
	}
	return nil
}

// Keyfunc is a jwt.Keyfunc that verifies access tokens of this set, as a
// resource server does (RFC 9068 4): the typ header must be at+jwt, the kid
// must name a key of the set that is still published, and alg must be that
// key's algorithm. It returns the public key, or the secret of an HMAC key.
// The caller still checks iss and aud, e.g. with jwt.WithIssuer and
// jwt.WithAudience.
func (ks *KeySet) Keyfunc(t *jwt.Token) (any, error) {
	typ, _ := t.Header["typ"].(string)
	if !strings.EqualFold(typ, jwtType) && !strings.EqualFold(typ, "application/"+jwtType) {
		return nil, errNotAccessToken
	}
	kid, _ := t.Header["kid"].(string)
	k := ks.publishedKey(kid)
	if k == nil {
		return nil, errUnknownKey
	}
	if t.Method == nil || t.Method.Alg() != k.method.Alg() {
		return nil, errWrongAlg
	}
	if k.kind == kindHMAC {
		return k.secret, nil
	}
	return k.public, nil
}
