package generates

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/opaque"
)

// opaqueBytes is the entropy of every opaque code and token: 256 bits, well
// above the 128 bits RFC 6749 10.10 requires of a guessable value.
const opaqueBytes = 32

// opaqueLen is the length of an opaque value: 32 bytes in unpadded base64url.
const opaqueLen = (opaqueBytes*8 + 5) / 6

var b64 = base64.RawURLEncoding

// AuthorizeGenerate makes authorization codes (RFC 6749 4.1.2): 256 random
// bits from crypto/rand, base64url without padding, 43 characters. It is
// safe for concurrent use.
type AuthorizeGenerate struct{}

var _ oauth2.AuthorizeGenerate = (*AuthorizeGenerate)(nil)

// NewAuthorizeGenerate returns the opaque authorization code generator.
func NewAuthorizeGenerate() *AuthorizeGenerate { return &AuthorizeGenerate{} }

// Token returns a new authorization code. The GenerateBasic is not used:
// the code carries no information, the store keeps what it stands for.
func (*AuthorizeGenerate) Token(context.Context, *oauth2.GenerateBasic) (string, error) {
	var raw [opaqueBytes]byte
	var out [opaqueLen]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (it crashes the program instead).
	b64.Encode(out[:], raw[:])
	return string(out[:]), nil
}

// AccessGenerate makes opaque access tokens and refresh tokens (RFC 6749
// 1.4, 1.5): each 256 random bits from crypto/rand, base64url without
// padding, 43 characters. It is safe for concurrent use.
type AccessGenerate struct{}

var _ oauth2.AccessGenerate = (*AccessGenerate)(nil)

// NewAccessGenerate returns the opaque access and refresh token generator.
func NewAccessGenerate() *AccessGenerate { return &AccessGenerate{} }

// Token returns a new access token and, when isGenRefresh, a refresh token.
// Both values come from one crypto/rand read and share one allocation; they
// are independent 256-bit values.
func (*AccessGenerate) Token(_ context.Context, _ *oauth2.GenerateBasic, isGenRefresh bool) (access, refresh string, err error) {
	if !isGenRefresh {
		var raw [opaqueBytes]byte
		var out [opaqueLen]byte
		_, _ = rand.Read(raw[:])
		b64.Encode(out[:], raw[:])
		return string(out[:]), "", nil
	}
	var raw [2 * opaqueBytes]byte
	var out [2 * opaqueLen]byte
	_, _ = rand.Read(raw[:])
	b64.Encode(out[:opaqueLen], raw[:opaqueBytes])
	b64.Encode(out[opaqueLen:], raw[opaqueBytes:])
	both := string(out[:])
	return both[:opaqueLen], both[opaqueLen:], nil
}

// TimeOrderedAuthorizeGenerate makes authorization codes led by the time
// they are made: 48 bits of Unix milliseconds as 8 base64url characters,
// a '.', then 256 random bits from crypto/rand as 43 base64url
// characters, 52 in all. A SQL store (store/sqlite, store/postgres,
// store/mysql) keys such a value by its time and its digest, so that its
// indexes grow at their right edge instead of taking a random page per
// write (docs/architecture.md section 4): use it with those stores. The
// memory store keeps such values by their SHA-256 and so cannot give back
// the other values of a record; the 43-character AuthorizeGenerate suits
// it better. It is safe for concurrent use.
type TimeOrderedAuthorizeGenerate struct{}

var _ oauth2.AuthorizeGenerate = (*TimeOrderedAuthorizeGenerate)(nil)

// NewTimeOrderedAuthorizeGenerate returns the time-ordered authorization
// code generator.
func NewTimeOrderedAuthorizeGenerate() *TimeOrderedAuthorizeGenerate {
	return &TimeOrderedAuthorizeGenerate{}
}

// Token returns a new authorization code made now.
func (*TimeOrderedAuthorizeGenerate) Token(context.Context, *oauth2.GenerateBasic) (string, error) {
	return opaque.New(time.Now()), nil
}

// TimeOrderedAccessGenerate makes access and refresh tokens of the form of
// TimeOrderedAuthorizeGenerate's codes, for the same stores. It is safe for
// concurrent use.
type TimeOrderedAccessGenerate struct{}

var _ oauth2.AccessGenerate = (*TimeOrderedAccessGenerate)(nil)

// NewTimeOrderedAccessGenerate returns the time-ordered access and refresh
// token generator.
func NewTimeOrderedAccessGenerate() *TimeOrderedAccessGenerate {
	return &TimeOrderedAccessGenerate{}
}

// Token returns a new access token and, when isGenRefresh, a refresh token,
// made now. Their random parts are independent 256-bit values.
func (*TimeOrderedAccessGenerate) Token(_ context.Context, _ *oauth2.GenerateBasic, isGenRefresh bool) (access, refresh string, err error) {
	if !isGenRefresh {
		return opaque.New(time.Now()), "", nil
	}
	access, refresh = opaque.NewPair(time.Now())
	return access, refresh, nil
}
