// Package atrest encrypts the secrets the standalone server keeps in its
// shared store (its signing keys, the pages' HMAC key), so that a copy of
// the database or a read of the store does not give them away. The key is
// derived from an operator's secret (OAUTH2D_SECRET or secret_file, see
// docs/config.md) with HKDF-SHA256 (RFC 5869), and values are sealed with
// AES-256-GCM, bound to the name they are stored under.
//
// A Keyring holds the current secret, which seals, and former ones, which
// only open: the secret can be changed while processes that still know
// only the old one run, and values sealed with a former secret are sealed
// again with the current one when they are read (Open reports it).
package atrest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// MinSecretLen is the shortest secret accepted: the secret is the whole
// strength of the encryption, so it must be random, not a password. 32
// characters of base64 are 24 random bytes; GenerateSecret makes 43.
const MinSecretLen = 32

// magic starts every sealed value: "oauth2d sealed, version 1".
var magic = []byte("O2DSEAL1")

const (
	idLen    = 8
	nonceLen = 12
	overhead = len("O2DSEAL1") + idLen + nonceLen + 16
)

// Errors of Open.
var (
	// ErrUnknownSecret: the value was sealed with a secret the keyring
	// does not hold.
	ErrUnknownSecret = errors.New("atrest: the value was encrypted with another secret")
	// ErrCorrupt: the value is not a sealed value, or it was altered or
	// stored under another name.
	ErrCorrupt = errors.New("atrest: the encrypted value is damaged or was moved")
)

// ErrShortSecret is returned by New for a secret under MinSecretLen bytes.
var ErrShortSecret = fmt.Errorf("atrest: the secret must be at least %d characters of random text (make one with: head -c 32 /dev/urandom | base64)", MinSecretLen)

// Keyring seals with its current secret and opens with any of its
// secrets. It is safe for concurrent use.
type Keyring struct {
	keys []key // keys[0] is the current one
}

type key struct {
	id   [idLen]byte
	aead cipher.AEAD
}

// New returns a keyring whose current secret is current; old are former
// secrets that still open values. Every secret must be at least
// MinSecretLen bytes.
func New(current string, old ...string) (*Keyring, error) {
	k := &Keyring{}
	for _, s := range append([]string{current}, old...) {
		if len(s) < MinSecretLen {
			return nil, ErrShortSecret
		}
		kk, err := deriveKey(s)
		if err != nil {
			return nil, err
		}
		k.keys = append(k.keys, kk)
	}
	return k, nil
}

// deriveKey derives the AES-256 key of a secret, and its identifier, which
// tells which secret sealed a value without revealing anything of it.
func deriveKey(secret string) (key, error) {
	raw, err := hkdf.Key(sha256.New, []byte(secret), nil, "oauth2d at-rest encryption key v1", 32)
	if err != nil {
		return key{}, fmt.Errorf("atrest: derive key: %w", err)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return key{}, fmt.Errorf("atrest: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, fmt.Errorf("atrest: %w", err)
	}
	m := hmac.New(sha256.New, raw)
	m.Write([]byte("oauth2d at-rest key id"))
	var k key
	copy(k.id[:], m.Sum(nil))
	k.aead = aead
	return k, nil
}

// GenerateSecret returns a new random secret: 32 random bytes, base64url.
func GenerateSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// IsSealed reports whether v has the form of a sealed value; a value stored
// in the clear by an earlier version does not.
func IsSealed(v []byte) bool {
	return len(v) >= overhead && bytes.HasPrefix(v, magic)
}

// Seal encrypts plaintext with the current secret, bound to name, the key
// the value is stored under: magic, key identifier, nonce, ciphertext.
func (k *Keyring) Seal(name string, plaintext []byte) []byte {
	cur := k.keys[0]
	out := make([]byte, 0, overhead+len(plaintext))
	out = append(out, magic...)
	out = append(out, cur.id[:]...)
	var nonce [nonceLen]byte
	_, _ = rand.Read(nonce[:])
	out = append(out, nonce[:]...)
	return cur.aead.Seal(out, nonce[:], plaintext, []byte(name))
}

// Open decrypts a value Seal made under name. current reports whether the
// current secret sealed it; when false, the caller should store
// Seal(name, plaintext) in its place. It returns ErrUnknownSecret when none
// of the keyring's secrets sealed it, ErrCorrupt when it is not intact.
func (k *Keyring) Open(name string, sealed []byte) (plaintext []byte, current bool, err error) {
	if !IsSealed(sealed) {
		return nil, false, ErrCorrupt
	}
	rest := sealed[len(magic):]
	id, nonce, ct := rest[:idLen], rest[idLen:idLen+nonceLen], rest[idLen+nonceLen:]
	for i, kk := range k.keys {
		if !hmac.Equal(kk.id[:], id) {
			continue
		}
		p, err := kk.aead.Open(nil, nonce, ct, []byte(name))
		if err != nil {
			return nil, false, ErrCorrupt
		}
		return p, i == 0, nil
	}
	return nil, false, ErrUnknownSecret
}
