// Package secret hashes and verifies passwords and client secrets with
// argon2id (RFC 9106) or bcrypt, comparing in constant time.
//
// A verification of the default argon2id parameters takes 64 MiB and tens
// of milliseconds of a core, so that a burst of wrong passwords could
// exhaust a server's memory: at most GOMAXPROCS hashes are computed at
// once in a process, and the others wait their turn (VerifyContext gives
// up after MaxWait).
package secret

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

// turns bounds the hashes computed at once: one per core the Go scheduler
// uses, which is as many as can make progress anyway.
var turns = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// MaxWait is how long VerifyContext waits for a turn to hash before it
// gives up with ErrBusy.
const MaxWait = 2 * time.Second

// maxWait is MaxWait; tests shorten it.
var maxWait = MaxWait

// ErrBusy is returned by VerifyContext when every turn to hash was taken
// for MaxWait: the caller should answer "temporarily unavailable, try
// again" (RFC 6749 5.2 temporarily_unavailable, with a 503).
var ErrBusy = errors.New("secret: too many password verifications at once; try again")

// wait waits for a turn to hash, for as long as it takes.
func wait() { turns <- struct{}{} }

// take waits for a turn to hash until MaxWait has passed or ctx is done.
func take(ctx context.Context) error {
	select {
	case turns <- struct{}{}:
		return nil
	default:
	}
	tm := time.NewTimer(maxWait)
	defer tm.Stop()
	select {
	case turns <- struct{}{}:
		return nil
	case <-tm.C:
		return ErrBusy
	case <-ctx.Done():
		return fmt.Errorf("secret: %w", ctx.Err())
	}
}

func release() { <-turns }

// Hash returns an argon2id hash of password in the PHC string format
// "$argon2id$v=19$m=65536,t=3,p=1$salt$hash" (a cheaper one in tests that
// call UseTestCost). It waits for a turn to hash.
func Hash(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("secret: salt: %w", err)
	}
	wait()
	defer release()
	t, m := newCost.time, newCost.memory
	key := argon2.IDKey([]byte(password), salt, t, m, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, m, t, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// newCost is the argon2id cost of the hashes Hash makes: the defaults, or
// the cheap one of UseTestCost.
var newCost = struct{ time, memory uint32 }{argonTime, argonMemory}

// UseTestCost makes the hashes Hash makes from then on cheap (argon2id
// with 1 MiB and one pass), for the tests of packages that start many
// servers with users and clients: 64 MiB and three passes a hash, under the
// race detector, are most of their run time. Hashes of any cost keep
// verifying. Call it from TestMain, before any test runs; outside a test
// binary it panics, so that no program can lower the cost.
func UseTestCost() {
	if !testing.Testing() {
		panic("secret: UseTestCost outside a test binary")
	}
	newCost.time, newCost.memory = 1, 1024
}

// ErrUnknownHash is returned by Check for a hash that is neither argon2id
// nor bcrypt, or whose parameters are malformed or out of range.
var ErrUnknownHash = errors.New("secret: unknown hash format")

// maxBcryptCost bounds the bcrypt cost a configured hash may ask for: cost
// 16 already takes seconds a try, and every login would pay it.
const maxBcryptCost = 16

// Check validates the format and parameters of hash without verifying
// anything. Verify refuses every hash Check refuses.
func Check(hash string) error {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		_, _, _, err := parseArgon(hash)
		return err
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return fmt.Errorf("secret: bcrypt: %w", ErrUnknownHash)
		}
		if cost > maxBcryptCost {
			return fmt.Errorf("secret: bcrypt cost %d above %d: %w", cost, maxBcryptCost, ErrUnknownHash)
		}
		return nil
	}
	return ErrUnknownHash
}

type argonParams struct {
	time, memory uint32
	threads      uint8
}

// parseArgon parses the PHC string "$argon2id$v=19$m=M,t=T,p=P$salt$key"
// strictly: every field whole, nothing trailing, the parameters within the
// bounds of RFC 9106 3.1 (m >= 8*p KiB) and small enough to run.
func parseArgon(hash string) (argonParams, []byte, []byte, error) {
	var p argonParams
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrUnknownHash
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, fmt.Errorf("secret: argon2id version: %w", ErrUnknownHash)
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, nil, nil, fmt.Errorf("secret: argon2id parameters: %w", ErrUnknownHash)
	}
	m, errM := argonParam(params[0], "m=", 32)
	t, errT := argonParam(params[1], "t=", 32)
	threads, errP := argonParam(params[2], "p=", 8)
	if errM != nil || errT != nil || errP != nil {
		return p, nil, nil, fmt.Errorf("secret: argon2id parameters: %w", ErrUnknownHash)
	}
	p.memory, p.time, p.threads = uint32(m), uint32(t), uint8(threads)
	if p.threads == 0 || p.memory < 8*uint32(p.threads) || p.memory > 4*1024*1024 || p.time == 0 || p.time > 64 {
		return p, nil, nil, fmt.Errorf("secret: argon2id parameters out of range: %w", ErrUnknownHash)
	}
	if !isB64(parts[4]) || !isB64(parts[5]) {
		return p, nil, nil, fmt.Errorf("secret: argon2id salt or key: %w", ErrUnknownHash)
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("secret: argon2id salt: %w", ErrUnknownHash)
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, fmt.Errorf("secret: argon2id key: %w", ErrUnknownHash)
	}
	return p, salt, key, nil
}

// isB64 reports whether s holds only the characters of unpadded standard
// base64; the decoder itself skips line breaks, which a hash must not have.
func isB64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// argonParam parses "name=N" with N a decimal number of at most bits bits.
func argonParam(field, name string, bits int) (uint64, error) {
	digits, ok := strings.CutPrefix(field, name)
	if !ok || digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, ErrUnknownHash
	}
	return strconv.ParseUint(digits, 10, bits)
}

// verified remembers, per hash, the SHA-256 of the last password that
// verified against it, so that a client presenting its secret on every token
// request pays a hash, not an argon2id run. It holds one entry per distinct
// hash (clients, users), and reads take no lock.
var verified sync.Map // hash string -> [32]byte

// Verify reports whether password matches hash (argon2id or bcrypt), in
// constant time with respect to the password. When the password is not the
// last one that verified against hash, it waits for a turn to hash, for as
// long as it takes: a wrong answer is never given for a busy server.
func Verify(hash, password string) bool {
	ok, _ := verify(hash, password, func() error { wait(); return nil })
	return ok
}

// VerifyContext is Verify for a request: it waits for a turn to hash at
// most MaxWait and while ctx lasts, and returns ErrBusy (or the context's
// error) when no turn came; the password was then not checked.
func VerifyContext(ctx context.Context, hash, password string) (bool, error) {
	return verify(hash, password, func() error { return take(ctx) })
}

// verify checks password against hash; turn waits for a turn to hash,
// when the password is not the last one that verified.
func verify(hash, password string, turn func() error) (bool, error) {
	digest := sha256.Sum256([]byte(password))
	if v, ok := verified.Load(hash); ok {
		want := v.([32]byte)
		if subtle.ConstantTimeCompare(want[:], digest[:]) == 1 {
			return true, nil
		}
	}
	if Check(hash) != nil {
		return false, nil
	}
	if err := turn(); err != nil {
		return false, err
	}
	ok := verifySlow(hash, password)
	release()
	if ok {
		verified.Store(hash, digest)
	}
	return ok, nil
}

// verifySlow hashes password with the parameters of hash and compares; the
// caller holds a turn.
func verifySlow(hash, password string) bool {
	if Check(hash) != nil {
		return false
	}
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
	h := dummyHash()
	wait()
	defer release()
	verifySlow(h, password)
	return false
}

// VerifyMissingContext is VerifyMissing for a request: it waits for a turn
// as VerifyContext does, and returns its error.
func VerifyMissingContext(ctx context.Context, password string) error {
	h := dummyHash()
	if err := take(ctx); err != nil {
		return err
	}
	defer release()
	verifySlow(h, password)
	return nil
}

// Equal compares two secrets in constant time with respect to their
// contents (the lengths of SHA-256 digests are equal).
func Equal(a, b string) bool {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}
