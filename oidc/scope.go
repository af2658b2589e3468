package oidc

// Scope values of OpenID Connect Core 1.0 3.1.2.1, 5.4 and 11.
// https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims
const (
	// ScopeOpenID makes an authorization request an OpenID Connect
	// authentication request (3.1.2.1).
	ScopeOpenID = "openid"
	// ScopeProfile requests the End-User's default profile claims (5.4).
	ScopeProfile = "profile"
	// ScopeEmail requests email and email_verified (5.4).
	ScopeEmail = "email"
	// ScopeAddress requests address (5.4).
	ScopeAddress = "address"
	// ScopePhone requests phone_number and phone_number_verified (5.4).
	ScopePhone = "phone"
	// ScopeOfflineAccess requests a refresh token usable while the
	// End-User is not logged in (11).
	ScopeOfflineAccess = "offline_access"
)

// StandardScopes returns the scope values of OpenID Connect Core 1.0 5.4,
// openid first, as a discovery document lists them in scopes_supported.
func StandardScopes() []string {
	return []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeAddress, ScopePhone}
}

// bits returns the ClaimSet bits of the standard claims names.
func bits(names ...string) uint32 {
	var b uint32
	for _, n := range names {
		b |= standardBit[n]
	}
	return b
}

// scopeBits are the claims each scope value of OpenID Connect Core 1.0 5.4
// requests.
var scopeBits = map[string]uint32{
	ScopeProfile: bits(ClaimName, ClaimFamilyName, ClaimGivenName, ClaimMiddleName,
		ClaimNickname, ClaimPreferredUsername, ClaimProfile, ClaimPicture, ClaimWebsite,
		ClaimGender, ClaimBirthdate, ClaimZoneinfo, ClaimLocale, ClaimUpdatedAt),
	ScopeEmail:   bits(ClaimEmail, ClaimEmailVerified),
	ScopeAddress: bits(ClaimAddress),
	ScopePhone:   bits(ClaimPhoneNumber, ClaimPhoneNumberVerified),
}

// forEachScope calls fn with each space-separated value of scope (RFC 6749
// 3.3), without allocating.
func forEachScope(scope string, fn func(string) bool) {
	for i := 0; i < len(scope); {
		for i < len(scope) && scope[i] == ' ' {
			i++
		}
		j := i
		for j < len(scope) && scope[j] != ' ' {
			j++
		}
		if j > i && !fn(scope[i:j]) {
			return
		}
		i = j
	}
}

// HasScope reports whether the space-separated scope (RFC 6749 3.3)
// contains value.
func HasScope(scope, value string) bool {
	found := false
	forEachScope(scope, func(v string) bool {
		found = v == value
		return !found
	})
	return found
}

// IsOpenID reports whether scope contains openid: only then is an
// authorization request an OpenID Connect authentication request, and only
// then does the grant yield ID tokens and UserInfo (OpenID Connect Core 1.0
// 3.1.2.1, 5.3).
func IsOpenID(scope string) bool { return HasScope(scope, ScopeOpenID) }

// ScopeClaims returns the claims the scope values profile, email, address
// and phone of scope request (OpenID Connect Core 1.0 5.4).
func ScopeClaims(scope string) ClaimSet {
	var s ClaimSet
	forEachScope(scope, func(v string) bool {
		s.std |= scopeBits[v]
		return true
	})
	return s
}

// UserInfoClaims returns the claims the UserInfo endpoint releases for a
// grant of scope whose authorization request had the claims parameter req
// (nil when it had none): those of its scope values (OpenID Connect Core
// 1.0 5.4) and those of req's userinfo member (5.5). sub is always
// released and is not in the set.
func UserInfoClaims(scope string, req *ClaimsRequest) ClaimSet {
	s := ScopeClaims(scope)
	if req != nil {
		s = s.union(req.UserInfo.set())
	}
	return s
}

// IDTokenClaims returns the user claims an ID token carries for a grant of
// scope whose authorization request had the claims parameter req (nil when
// it had none): those of req's id_token member (OpenID Connect Core 1.0
// 5.5) and, when withScopeClaims, those of the scope values.
//
// OpenID Connect Core 1.0 5.4 releases the claims of the scope values in
// the ID token only when no access token is issued (response_type
// id_token), and at the UserInfo endpoint otherwise: pass withScopeClaims
// true in the first case. A server may also choose to put them in every
// ID token, as many providers do for relying parties that read email from
// the ID token.
func IDTokenClaims(scope string, req *ClaimsRequest, withScopeClaims bool) ClaimSet {
	var s ClaimSet
	if withScopeClaims {
		s = ScopeClaims(scope)
	}
	if req != nil {
		s = s.union(req.IDToken.set())
	}
	return s
}
