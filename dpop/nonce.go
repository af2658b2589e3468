package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// DefaultNonceLifetime is how long a server nonce is the current one; it
// is accepted for one more lifetime after that.
const DefaultNonceLifetime = 5 * time.Minute

// MinNonceKeyBytes is the shortest key NewNonces accepts: 256 bits.
const MinNonceKeyBytes = 32

// nonceLen is the length of an encoded nonce: base64url of an 8-byte
// period number and a 16-byte MAC.
const nonceLen = 32

var errNonceKey = errors.New("dpop: the nonce key must have at least 32 bytes")

// Nonces makes and checks server-provided nonces (RFC 9449 8, 9) without
// keeping any state: a nonce is the number of the current period of
// Lifetime and a MAC of it under a key, so that every process with the
// same key accepts the nonces of every other. A nonce is current during its
// period and accepted, stale, during the next one; then it is refused. It
// is safe for concurrent use.
type Nonces struct {
	key      []byte
	lifetime time.Duration
	now      func() time.Time
}

// NewNonces returns the nonces of key (at least MinNonceKeyBytes random
// bytes, the same in every process), with periods of lifetime
// (DefaultNonceLifetime when not positive) on the clock now (time.Now when
// nil).
func NewNonces(key []byte, lifetime time.Duration, now func() time.Time) (*Nonces, error) {
	if len(key) < MinNonceKeyBytes {
		return nil, errNonceKey
	}
	if lifetime <= 0 {
		lifetime = DefaultNonceLifetime
	}
	if now == nil {
		now = time.Now
	}
	return &Nonces{key: append([]byte(nil), key...), lifetime: lifetime, now: now}, nil
}

func (n *Nonces) period() uint64 {
	return uint64(n.now().UnixNano() / int64(n.lifetime))
}

// Current returns the nonce of the current period: the value of the
// DPoP-Nonce header.
func (n *Nonces) Current() string { return n.make(n.period()) }

func (n *Nonces) make(p uint64) string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], p)
	mac := hmac.New(sha256.New, n.key)
	mac.Write(b[:8])
	copy(b[8:], mac.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type nonceState int

const (
	nonceInvalid nonceState = iota
	nonceCurrent
	nonceStale
)

// check reports whether s is the nonce of the current period or of the
// previous one.
func (n *Nonces) check(s string) nonceState {
	if len(s) != nonceLen {
		return nonceInvalid
	}
	var b [24]byte
	if k, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s)); err != nil || k != len(b) {
		return nonceInvalid
	}
	p := binary.BigEndian.Uint64(b[:8])
	mac := hmac.New(sha256.New, n.key)
	mac.Write(b[:8])
	if !hmac.Equal(mac.Sum(nil)[:16], b[8:]) {
		return nonceInvalid
	}
	switch cur := n.period(); p {
	case cur:
		return nonceCurrent
	case cur - 1:
		return nonceStale
	}
	return nonceInvalid
}
