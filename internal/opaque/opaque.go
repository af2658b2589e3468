// Package opaque makes the project's time-ordered codes and tokens and the
// keys the SQL stores index every code and token by.
//
// A time-ordered value is 52 characters: the time it was made, in Unix
// milliseconds (48 bits, big-endian), as 8 characters of unpadded
// base64url; a '.'; then 256 random bits from crypto/rand as 43 characters
// of unpadded base64url, well above the 128 bits RFC 6749 10.10 asks of a
// value an attacker must not guess. The '.' (a b64token character, RFC
// 6750 2.1) marks the form: random values of other generators have none,
// and a JWT's first segment is far longer than 8 characters. The time
// leads so that the key of a value (Key) sorts by when the value was made:
// a store that indexes keys in a B-tree appends new keys at the index's
// right edge, in a few pages shared by the tokens of one commit, instead of
// writing a random page per token (docs/architecture.md section 4). The
// issue time it reveals is no secret: a JWT access token carries it too
// (RFC 9068 2.2, iat), and the stores keep it beside the key.
package opaque

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
	"unsafe"
)

const (
	// timeBytes is the length of the leading issue time.
	timeBytes = 6
	// timeChars is how many leading characters hold the time: 8
	// characters are exactly the 6 bytes.
	timeChars = timeBytes * 4 / 3
	// randomBytes is the entropy of a value: 256 bits.
	randomBytes = 32
	// randomChars is the length of the random part: 32 bytes in unpadded
	// base64url.
	randomChars = (randomBytes*8 + 5) / 6
	// sep separates the time from the random part.
	sep = '.'
	// Len is the length of a time-ordered value.
	Len = timeChars + 1 + randomChars
)

var b64 = base64.RawURLEncoding

// put writes one value made at ms into out, which has room for Len bytes.
func put(out []byte, ms int64) {
	var full [8]byte
	binary.BigEndian.PutUint64(full[:], uint64(ms))
	b64.Encode(out[:timeChars], full[8-timeBytes:])
	out[timeChars] = sep
	var random [randomBytes]byte
	_, _ = rand.Read(random[:]) // crypto/rand.Read never fails (it crashes the program instead).
	b64.Encode(out[timeChars+1:], random[:])
}

// New returns a new value made at now.
func New(now time.Time) string {
	var out [Len]byte
	put(out[:], now.UnixMilli())
	return string(out[:])
}

// NewPair returns two independent values made at now, sharing one
// allocation (an access token and its refresh token).
func NewPair(now time.Time) (string, string) {
	var out [2 * Len]byte
	ms := now.UnixMilli()
	put(out[:Len], ms)
	put(out[Len:], ms)
	both := string(out[:])
	return both[:Len], both[Len:]
}

// KeyLen is the length of a key: the length of a SHA-256 digest, so that a
// column made for digests holds keys.
const KeyLen = sha256.Size

// Key is what a store keeps of value in place of it. For a time-ordered
// value (Len characters, a '.' after the 8 that decode to its time) it is
// the value's 6 time bytes, then the first 26 bytes of the value's
// SHA-256: keys sort by issue time, and 208 bits of digest keep them as
// hard to invert and as free of collisions as a store needs (two values
// collide only if they were made in the same millisecond and their digests
// share 208 bits). For any other value (a JWT, a token of an earlier
// release or of another generator) it is the value's SHA-256, as before:
// tokens stored before this form existed are found by the same keys as
// then.
func Key(value string) [KeyLen]byte {
	// The value's bytes, read in place: Sum256 does not keep or change
	// them, and a copy would cost an allocation per token on a hot path.
	h := sha256.Sum256(unsafe.Slice(unsafe.StringData(value), len(value)))
	if len(value) != Len || value[timeChars] != sep {
		return h
	}
	var t [timeBytes]byte
	if n, err := b64.Decode(t[:], []byte(value[:timeChars])); err != nil || n != timeBytes {
		return h
	}
	var k [KeyLen]byte
	copy(k[:timeBytes], t[:])
	copy(k[timeBytes:], h[:KeyLen-timeBytes])
	return k
}
