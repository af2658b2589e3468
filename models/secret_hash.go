package models

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Verifying a hashed secret needs the hash's algorithm, and the algorithms
// of the hashes clients are stored with (argon2id, bcrypt) come from
// golang.org/x/crypto. So that a program whose clients keep their secrets in
// the clear does not link it, models knows no algorithm itself: the package
// that makes hashes registers the verifier of its scheme, as image formats
// and database/sql drivers register themselves.

// secretHashScheme is a registered verifier of hashes that begin with
// prefix, such as "$argon2id$" or "$2b$".
type secretHashScheme struct {
	prefix string
	verify func(hash, secret string) bool
}

var (
	schemesMu sync.Mutex
	schemes   atomic.Pointer[[]secretHashScheme]
)

// RegisterSecretHash registers verify as the verifier of every
// Client.SecretHash that begins with prefix (a PHC or modular crypt
// identifier, such as "$argon2id$"). verify must compare in constant time
// with respect to the secret, and return false for a hash it cannot read.
// Registering a prefix again replaces its verifier; the longest registered
// prefix of a hash wins.
//
// Package github.com/oauth2d/oauth2/models/secrethash registers argon2id
// and bcrypt when it is imported; call RegisterSecretHash for another
// scheme. Register from an init function, before clients are verified.
func RegisterSecretHash(prefix string, verify func(hash, secret string) bool) {
	if prefix == "" || verify == nil {
		panic("models: RegisterSecretHash needs a prefix and a verifier")
	}
	schemesMu.Lock()
	defer schemesMu.Unlock()
	var next []secretHashScheme
	if p := schemes.Load(); p != nil {
		for _, s := range *p {
			if s.prefix != prefix {
				next = append(next, s)
			}
		}
	}
	next = append(next, secretHashScheme{prefix: prefix, verify: verify})
	schemes.Store(&next)
}

// verifySecretHash verifies secret against hash with the verifier of the
// longest registered prefix of hash; false when none is registered.
func verifySecretHash(hash, secret string) bool {
	p := schemes.Load()
	if p == nil {
		return false
	}
	var best *secretHashScheme
	for i := range *p {
		s := &(*p)[i]
		if strings.HasPrefix(hash, s.prefix) && (best == nil || len(s.prefix) > len(best.prefix)) {
			best = s
		}
	}
	return best != nil && best.verify(hash, secret)
}
