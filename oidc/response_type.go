package oidc

import "github.com/oauth2d/oauth2"

// Response types of OpenID Connect Core 1.0 3 and OAuth 2.0 Multiple
// Response Type Encoding Practices 3, in the order of their values that
// ResponseTypes.ResponseType gives. "code" and "token" are oauth2.Code and
// oauth2.Token.
// https://openid.net/specs/oauth-v2-multiple-response-types-1_0.html#Combinations
const (
	// ResponseTypeIDToken returns an ID token from the authorization
	// endpoint and nothing else (Core 3.2, the implicit flow).
	ResponseTypeIDToken oauth2.ResponseType = "id_token"
	// ResponseTypeIDTokenToken returns an ID token and an access token
	// (Core 3.2).
	ResponseTypeIDTokenToken oauth2.ResponseType = "id_token token"
	// ResponseTypeCodeIDToken returns a code and an ID token (Core 3.3,
	// the hybrid flow).
	ResponseTypeCodeIDToken oauth2.ResponseType = "code id_token"
	// ResponseTypeCodeToken returns a code and an access token (Core 3.3).
	ResponseTypeCodeToken oauth2.ResponseType = "code token"
	// ResponseTypeCodeIDTokenToken returns a code, an ID token and an
	// access token (Core 3.3).
	ResponseTypeCodeIDTokenToken oauth2.ResponseType = "code id_token token"
)

// ResponseTypes is the set of values of a response_type parameter.
type ResponseTypes uint8

// Values of a response_type.
const (
	// HasCode: the response carries an authorization code.
	HasCode ResponseTypes = 1 << iota
	// HasIDToken: the response carries an ID token.
	HasIDToken
	// HasToken: the response carries an access token.
	HasToken
)

// ParseResponseType reads a response_type parameter: space-separated
// values among code, id_token and token, each at most once, in any order
// (OAuth 2.0 Multiple Response Type Encoding Practices 3; RFC 6749 3.1.1).
// It reports false for anything else: an empty value, an unknown value
// (none included), or a value repeated.
func ParseResponseType(s string) (ResponseTypes, bool) {
	var rt ResponseTypes
	ok := s != ""
	forEachScope(s, func(v string) bool {
		var b ResponseTypes
		switch v {
		case "code":
			b = HasCode
		case "id_token":
			b = HasIDToken
		case "token":
			b = HasToken
		}
		if b == 0 || rt&b != 0 {
			ok = false
			return false
		}
		rt |= b
		return true
	})
	return rt, ok && rt != 0
}

// ResponseType returns rt as a response_type value, its values in the
// order code, id_token, token.
func (rt ResponseTypes) ResponseType() oauth2.ResponseType {
	switch rt {
	case HasCode:
		return oauth2.Code
	case HasToken:
		return oauth2.Token
	case HasIDToken:
		return ResponseTypeIDToken
	case HasIDToken | HasToken:
		return ResponseTypeIDTokenToken
	case HasCode | HasIDToken:
		return ResponseTypeCodeIDToken
	case HasCode | HasToken:
		return ResponseTypeCodeToken
	case HasCode | HasIDToken | HasToken:
		return ResponseTypeCodeIDTokenToken
	}
	return ""
}

// Has reports whether rt contains every value of v.
func (rt ResponseTypes) Has(v ResponseTypes) bool { return rt&v == v }
