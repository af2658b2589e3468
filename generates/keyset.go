package generates

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// SigningKey is a private key of a KeySet.
type SigningKey struct {
	// KeyID is the kid (RFC 7515 4.1.4); "" derives it from the key, as
	// WithKeyID describes.
	KeyID string
	// Method is the JWS algorithm the key signs with.
	Method jwt.SigningMethod
	// Key is a []byte secret for the HMAC methods, of at least the hash
	// size (RFC 7518 3.2), and a crypto.Signer for the others.
	Key any
	// NotAfter is when every token the key signed has expired, so that its
	// public key can be unpublished; zero while the key may still sign.
	NotAfter time.Time
}

// SigningKeyPublic is the public half of a SigningKey, for publishing in a
// JWK Set.
type SigningKeyPublic struct {
	KeyID     string
	Algorithm string
	Key       crypto.PublicKey
}

// KeySet holds the keys that sign JWT access tokens: one current key that
// signs new tokens and older keys whose public halves stay published until
// the tokens they signed have expired (RFC 7517 5, RFC 8414 2 jwks_uri).
// Keys are parsed and checked once, when added. The zero KeySet is empty and
// ready to use; a KeySet is safe for concurrent use, and reading the current
// key takes no lock.
type KeySet struct {
	mu      sync.Mutex
	keys    []*keySetEntry
	current atomic.Pointer[signingKey]
}

type keySetEntry struct {
	key      *signingKey
	notAfter time.Time // guarded by KeySet.mu
}

// NewKeySet returns an empty key set.
func NewKeySet() *KeySet { return &KeySet{} }

// Add adds key to the set and, when makeCurrent, makes it the key that signs
// new tokens; the key it replaces stays in the set, published, until
// Rotate or its NotAfter retires it. A current key has no NotAfter. Add
// refuses a key ID that the set already holds.
func (ks *KeySet) Add(key SigningKey, makeCurrent bool) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	_, err := ks.addLocked(key, makeCurrent)
	return err
}

// Rotate adds key as the current key and retires the key it replaces: that
// key stays published for retireAfter, which must cover the lifetime of
// the access tokens it signed, and is then unpublished.
func (ks *KeySet) Rotate(key SigningKey, retireAfter time.Duration) error {
	if retireAfter <= 0 {
		return errors.New("generates: Rotate needs a positive retireAfter: the old key's tokens are still valid")
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	old := ks.current.Load()
	if _, err := ks.addLocked(key, true); err != nil {
		return err
	}
	for _, e := range ks.keys {
		if e.key == old {
			e.notAfter = time.Now().Add(retireAfter)
		}
	}
	return nil
}

func (ks *KeySet) addLocked(key SigningKey, makeCurrent bool) (*keySetEntry, error) {
	if makeCurrent && !key.NotAfter.IsZero() {
		return nil, errors.New("generates: the current key cannot have a NotAfter")
	}
	k, err := newSigningKey(key.KeyID, key.Method, key.Key, true)
	if err != nil {
		return nil, err
	}
	for _, e := range ks.keys {
		if e.key.id == k.id {
			return nil, fmt.Errorf("generates: key ID %q is already in the key set", k.id)
		}
	}
	e := &keySetEntry{key: k, notAfter: key.NotAfter}
	ks.keys = append(ks.keys, e)
	if makeCurrent {
		ks.current.Store(k)
	}
	return e, nil
}

// Current returns the key that signs new tokens, and false when there is
// none.
func (ks *KeySet) Current() (SigningKey, bool) {
	k := ks.current.Load()
	if k == nil {
		return SigningKey{}, false
	}
	return k.signingKey(time.Time{}), true
}

// Keys returns every key of the set, current or retired, private parts
// included, for saving in a store.
func (ks *KeySet) Keys() []SigningKey {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	out := make([]SigningKey, 0, len(ks.keys))
	for _, e := range ks.keys {
		out = append(out, e.key.signingKey(e.notAfter))
	}
	return out
}

func (k *signingKey) signingKey(notAfter time.Time) SigningKey {
	var key any = k.signer
	if k.kind == kindHMAC {
		key = bytes.Clone(k.secret)
	}
	return SigningKey{KeyID: k.id, Method: k.method, Key: key, NotAfter: notAfter}
}

// live reports whether a key is still published at now.
func (e *keySetEntry) live(now time.Time) bool {
	return e.notAfter.IsZero() || now.Before(e.notAfter)
}

// Public returns the public keys to publish: every asymmetric key of the set
// whose NotAfter has not passed. HMAC secrets are never published.
func (ks *KeySet) Public() []SigningKeyPublic {
	now := time.Now()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var out []SigningKeyPublic
	for _, e := range ks.keys {
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
// so that a server can delete them from its store too.
func (ks *KeySet) Prune(now time.Time) []string {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var removed []string
	kept := ks.keys[:0]
	for _, e := range ks.keys {
		if e.live(now) {
			kept = append(kept, e)
		} else {
			removed = append(removed, e.key.id)
		}
	}
	clear(ks.keys[len(kept):])
	ks.keys = kept
	return removed
}

// Errors of Keyfunc. jwt/v5 wraps them in jwt.ErrTokenUnverifiable.
var (
	errNotAccessToken = errors.New("generates: typ header is not at+jwt (RFC 9068 4)")
	errUnknownKey     = errors.New("generates: kid names no published key")
	errWrongAlg       = errors.New("generates: alg header does not match the key")
)

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
	now := time.Now()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, e := range ks.keys {
		if e.key.id != kid || !e.live(now) {
			continue
		}
		if t.Method == nil || t.Method.Alg() != e.key.method.Alg() {
			return nil, errWrongAlg
		}
		if e.key.kind == kindHMAC {
			return e.key.secret, nil
		}
		return e.key.public, nil
	}
	return nil, errUnknownKey
}
