package oauth2

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// ResponseType is an authorization endpoint response type (RFC 6749 3.1.1).
type ResponseType string

// Response types of RFC 6749.
const (
	// Code asks for an authorization code (RFC 6749 4.1.1).
	Code ResponseType = "code"
	// Token asks for an access token in the fragment: the implicit grant
	// (RFC 6749 4.2.1). It is off unless the server enables it.
	Token ResponseType = "token"
)

func (rt ResponseType) String() string { return string(rt) }

// GrantType is a token endpoint grant type (RFC 6749 4).
type GrantType string

// Grant types of RFC 6749 and RFC 8628.
const (
	// AuthorizationCode is the authorization code grant (RFC 6749 4.1).
	AuthorizationCode GrantType = "authorization_code"
	// PasswordCredentials is the resource owner password credentials grant
	// (RFC 6749 4.3). It is off unless the server enables it.
	PasswordCredentials GrantType = "password"
	// ClientCredentials is the client credentials grant (RFC 6749 4.4).
	ClientCredentials GrantType = "client_credentials"
	// Refreshing is the refresh token grant (RFC 6749 6).
	Refreshing GrantType = "refresh_token"
	// Implicit is the implicit grant (RFC 6749 4.2). It has no token endpoint
	// grant_type; the name exists so that tokens and configuration can say
	// which grant issued them.
	Implicit GrantType = "__implicit"
	// DeviceCode is the device authorization grant (RFC 8628 3.4).
	DeviceCode GrantType = "urn:ietf:params:oauth:grant-type:device_code"
)

func (gt GrantType) String() string {
	if gt == Implicit {
		return "implicit"
	}
	return string(gt)
}

// CodeChallengeMethod is a PKCE code challenge method (RFC 7636 4.2).
type CodeChallengeMethod string

// PKCE methods of RFC 7636 4.2.
const (
	// CodeChallengePlain sends the verifier itself as the challenge. It is
	// refused unless enabled (RFC 9700 2.1.1).
	CodeChallengePlain CodeChallengeMethod = "plain"
	// CodeChallengeS256 sends BASE64URL(SHA256(verifier)).
	CodeChallengeS256 CodeChallengeMethod = "S256"
)

func (ccm CodeChallengeMethod) String() string { return string(ccm) }

// Validate reports whether the code verifier ver matches the code challenge
// cc under the method ccm (RFC 7636 4.6), as go-oauth2 v4's method did:
// plain compares the two, S256 compares BASE64URL(SHA256(ver)) with cc,
// ignoring any '=' padding on cc. Both comparisons take constant time. An
// empty challenge or verifier, or an unknown method, never matches.
//
// Validate checks only the transform. The manager also enforces the
// verifier's length and characters (RFC 7636 4.1) and which methods are
// allowed (https://www.rfc-editor.org/rfc/rfc7636#section-4.1); use the
// manager's checks, not Validate alone, to redeem a code.
func (ccm CodeChallengeMethod) Validate(cc, ver string) bool {
	if cc == "" || ver == "" {
		return false
	}
	switch ccm {
	case CodeChallengePlain:
		return subtle.ConstantTimeCompare([]byte(cc), []byte(ver)) == 1
	case CodeChallengeS256:
		sum := sha256.Sum256([]byte(ver))
		var enc [43]byte // base64url of 32 bytes, unpadded
		base64.RawURLEncoding.Encode(enc[:], sum[:])
		return subtle.ConstantTimeCompare(enc[:], []byte(strings.TrimRight(cc, "="))) == 1
	}
	return false
}
