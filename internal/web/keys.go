package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	stderrors "errors"
	"fmt"

	"github.com/oauth2d/oauth2"
)

// hmacKeyName is the KVStore key of the pages' HMAC master key. Every
// process that shares the store signs and checks cookies with the same key.
const hmacKeyName = "oauth2d/web/hmac-key"

const masterKeyLen = 32

var b64 = base64.RawURLEncoding

// Sealer keeps the pages' HMAC master key encrypted in the KVStore (the
// standalone server seals it as it seals its signing keys).
type Sealer interface {
	// Load reads the value of name in kv and decrypts it; a value stored
	// in the clear by an earlier version (clear reports it) is encrypted
	// in place. It returns nil, nil when kv holds no value.
	Load(ctx context.Context, kv oauth2.KVStore, name string, clear func(v []byte) bool) ([]byte, error)
	// Seal encrypts plaintext to be stored under name.
	Seal(name string, plaintext []byte) []byte
}

// plainSealer stores the key as it is, for pages without a Sealer.
type plainSealer struct{}

func (plainSealer) Load(ctx context.Context, kv oauth2.KVStore, name string, _ func([]byte) bool) ([]byte, error) {
	v, err := kv.Get(ctx, name)
	if stderrors.Is(err, oauth2.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

func (plainSealer) Seal(_ string, plaintext []byte) []byte { return plaintext }

// loadMasterKey returns the HMAC master key kept in kv, making it on first
// use. Of several processes starting at once, the first to store its key
// wins and the others read that one.
func loadMasterKey(ctx context.Context, kv oauth2.KVStore, sealer Sealer) ([]byte, error) {
	if sealer == nil {
		sealer = plainSealer{}
	}
	anyClear := func([]byte) bool { return true }
	key, err := sealer.Load(ctx, kv, hmacKeyName, anyClear)
	if err != nil {
		return nil, fmt.Errorf("web: read HMAC key: %w", err)
	}
	if len(key) == masterKeyLen {
		return key, nil
	}
	fresh := make([]byte, masterKeyLen)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails (Go 1.24+)
	if key != nil {
		// A key of the wrong size is replaced, not trusted.
		if err := kv.Put(ctx, hmacKeyName, sealer.Seal(hmacKeyName, fresh), 0); err != nil {
			return nil, fmt.Errorf("web: store HMAC key: %w", err)
		}
		return fresh, nil
	}
	stored, err := kv.PutIfAbsent(ctx, hmacKeyName, sealer.Seal(hmacKeyName, fresh), 0)
	if err != nil {
		return nil, fmt.Errorf("web: store HMAC key: %w", err)
	}
	if stored {
		return fresh, nil
	}
	key, err = sealer.Load(ctx, kv, hmacKeyName, anyClear)
	if err != nil || len(key) != masterKeyLen {
		return nil, fmt.Errorf("web: read HMAC key: %w", stderrors.Join(err, stderrors.New("the key another process stored is unusable")))
	}
	return key, nil
}

// deriveKey derives the key of one purpose from the master key, so that a
// session MAC can never pass as a CSRF MAC.
func deriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("oauth2d web key\x00" + purpose))
	return m.Sum(nil)
}

// mac returns HMAC-SHA256(key, parts joined by NUL).
func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// randomID returns n random bytes, base64url.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}

// hashKey returns a KVStore key for a value that must not appear in the
// store as is (a username, a client ID, a session ID).
func hashKey(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + b64.EncodeToString(h.Sum(nil))
}
