package oauth2

import (
	"net/url"
	"time"
)

// ClientInfo is a registered client (RFC 6749 2).
type ClientInfo interface {
	GetID() string
	// GetSecret returns the client secret in the clear, or "" when the
	// client keeps only a hash (see ClientPasswordVerifier) or has none.
	GetSecret() string
	// GetDomain returns the seed's single registered redirect base. A client
	// that has only a Domain matches redirect URIs on exact scheme, host and
	// port, never by suffix or prefix.
	GetDomain() string
	// IsPublic reports whether the client cannot keep a secret (RFC 6749
	// 2.1): it authenticates with "none" and must use PKCE.
	IsPublic() bool
	GetUserID() string
}

// ClientPasswordVerifier is implemented by clients that verify a presented
// secret themselves, for example against a stored hash. Implementations must
// compare in constant time.
type ClientPasswordVerifier interface {
	VerifyPassword(secret string) bool
}

// ClientMetadata is implemented by clients that carry registration metadata
// (RFC 7591 2). The manager and the server check a client against it when
// the client implements it; a client without it (the seed's models.Client
// with only a Domain) is checked against its Domain and the server's
// configuration alone.
type ClientMetadata interface {
	// GetRedirectURIs returns the registered redirect URIs, compared by exact
	// string match (RFC 9700 2.1).
	GetRedirectURIs() []string
	// GetGrantTypes returns the grant types the client may use; empty means
	// every grant the server allows.
	GetGrantTypes() []GrantType
	// GetScopes returns the scopes the client may ask for; empty means any.
	GetScopes() []string
	// GetTokenEndpointAuthMethod returns the registered client
	// authentication method (RFC 7591 2), "" for the default.
	GetTokenEndpointAuthMethod() string
}

// TokenInfo is one stored grant record: an authorization code, or an access
// token with an optional refresh token. A part whose value is "" is absent.
// An expiry of zero or less means the part does not expire.
type TokenInfo interface {
	New() TokenInfo

	GetClientID() string
	SetClientID(string)
	GetUserID() string
	SetUserID(string)
	GetRedirectURI() string
	SetRedirectURI(string)
	GetScope() string
	SetScope(string)

	// GetGrantID identifies the authorization grant the record belongs to:
	// the code and every access and refresh token issued from it share it,
	// so that a replay can revoke them all (RFC 6749 4.1.2, RFC 9700
	// 4.14.2). Empty for tokens that belong to no revocable grant.
	GetGrantID() string
	SetGrantID(string)

	GetCode() string
	SetCode(string)
	GetCodeCreateAt() time.Time
	SetCodeCreateAt(time.Time)
	GetCodeExpiresIn() time.Duration
	SetCodeExpiresIn(time.Duration)
	GetCodeChallenge() string
	SetCodeChallenge(string)
	GetCodeChallengeMethod() CodeChallengeMethod
	SetCodeChallengeMethod(CodeChallengeMethod)

	GetAccess() string
	SetAccess(string)
	GetAccessCreateAt() time.Time
	SetAccessCreateAt(time.Time)
	GetAccessExpiresIn() time.Duration
	SetAccessExpiresIn(time.Duration)

	GetRefresh() string
	SetRefresh(string)
	GetRefreshCreateAt() time.Time
	SetRefreshCreateAt(time.Time)
	GetRefreshExpiresIn() time.Duration
	SetRefreshExpiresIn(time.Duration)
}

// ReservedExtensionPrefix starts the extension keys the library keeps for
// itself (the scope a grant was given, OpenID Connect's nonce and auth_time,
// a DPoP key thumbprint): an application's manage.ExtractExtensionHandler
// may not set, change or remove them, so that a handler copying request
// parameters into the data cannot let a client write them.
const ReservedExtensionPrefix = "oauth2d_"

// MaxExtensionBytes bounds the extension data of one grant record, measured
// as the length of url.Values.Encode: the manager refuses a larger one at
// issuance with server_error, so that no store ever holds an unbounded value.
const MaxExtensionBytes = 4096

// ExtendableTokenInfo is a TokenInfo that carries extension data with its
// grant, as go-oauth2 v4.5.3 introduced: small named string values that
// features attach to a grant (an OpenID Connect nonce, auth_time and acr; a
// DPoP key thumbprint; an application's own values from
// manage.ExtractExtensionHandler). Every store keeps it with the record, and
// the manager copies it from a code to the tokens issued from it and from a
// refresh token to the tokens that replace it. Stores treat it as opaque.
//
// Extension data is not secret: it may appear in token responses and JWT
// claims. It never holds a password, a token or a code, and it is at most
// MaxExtensionBytes long once encoded.
type ExtendableTokenInfo interface {
	TokenInfo
	// GetExtension returns the extension data; nil when there is none.
	// Callers must not modify the returned map.
	GetExtension() url.Values
	// SetExtension replaces the extension data.
	SetExtension(url.Values)
}
