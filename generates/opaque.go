package generates

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/oauth2d/oauth2"
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
