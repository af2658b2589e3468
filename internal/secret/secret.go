// Package secret hashes and verifies passwords and client secrets with
// argon2id (RFC 9106) or bcrypt, comparing in constant time.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters: the second recommended option of RFC 9106 4
// (64 MiB, 3 passes), with one lane per request.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

var b64 = base64.RawStdEncoding

// Hash returns an argon2id hash of password in the PHC string format
// "$argon2id$v=19$m=65536,t=3,p=1$salt$hash".
func Hash(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("secret: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrUnknownHash is returned by Check for a hash that is neither argon2id
// nor bcrypt.
var ErrUnknownHash = errors.New("secret: unknown hash format")

// Check validates the format of hash without verifying anything.
func Check(hash string) error {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		_, _, _, err := parseArgon(hash)
		return err
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		_, err := bcrypt.Cost([]byte(hash))
		return err
	}
	return ErrUnknownHash
}

type argonParams struct {
	time, memory uint32
	threads      uint8
}

func parseArgon(hash string) (argonParams, []byte, []byte, error) {
	var p argonParams
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, ErrUnknownHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("secret: argon2id version: %w", ErrUnknownHash)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, nil, nil, fmt.Errorf("secret: argon2id parameters: %w", ErrUnknownHash)
	}
	if p.memory == 0 || p.memory > 4*1024*1024 || p.time == 0 || p.time > 64 || p.threads == 0 {
		return p, nil, nil, fmt.Errorf("secret: argon2id parameters out of range: %w", ErrUnknownHash)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("secret: argon2id salt: %w", ErrUnknownHash)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, fmt.Errorf("secret: argon2id key: %w", ErrUnknownHash)
	}
	return p, salt, key, nil
}

// verified remembers, per hash, the SHA-256 of the last password that
// verified against it, so that a client presenting its secret on every token
// request pays a hash, not an argon2id run. It holds one entry per distinct
// hash (clients, users), and reads take no lock.
var verified sync.Map // hash string -> [32]byte

// Verify reports whether password matches hash (argon2id or bcrypt), in
// constant time with respect to the password.
func Verify(hash, password string) bool {
	digest := sha256.Sum256([]byte(password))
	if v, ok := verified.Load(hash); ok {
		want := v.([32]byte)
		if subtle.ConstantTimeCompare(want[:], digest[:]) == 1 {
			return true
		}
	}
	ok := verifySlow(hash, password)
	if ok {
		verified.Store(hash, digest)
	}
	return ok
}

func verifySlow(hash, password string) bool {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		p, salt, key, err := parseArgon(hash)
		if err != nil {
			return false
		}
		got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1
	case strings.HasPrefix(hash, "$2"):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	return false
}

// dummyHash is verified against when a user does not exist, so that a
// failed login takes as long for an unknown user as for a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := Hash("dummy password for timing equalisation")
	return h
})

// VerifyMissing spends the time of one argon2id verification and returns
// false. Call it when the user or client is unknown.
func VerifyMissing(password string) bool {
	verifySlow(dummyHash(), password)
	return false
}

// Equal compares two secrets in constant time with respect to their
// contents (the lengths of SHA-256 digests are equal).
func Equal(a, b string) bool {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}
