package oauth2

// Optional registration metadata of a client, beyond ClientMetadata: each
// is read with a type assertion (package policy does it), and a client that
// does not implement one has that feature's default.

// DPoPBoundClient is implemented by clients that carry the
// dpop_bound_access_tokens registration metadata (RFC 9449 5.2): when it is
// true, the token endpoint refuses every request of the client without a
// DPoP proof, so that it never gets a bearer token.
type DPoPBoundClient interface {
	GetDPoPBoundAccessTokens() bool
}

// PushedAuthorizationClient is implemented by clients that carry the
// require_pushed_authorization_requests registration metadata (RFC 9126
// 6): when it is true, the authorization endpoint accepts the client's
// requests only through a request_uri of the pushed authorization request
// endpoint.
type PushedAuthorizationClient interface {
	GetRequirePushedAuthorizationRequests() bool
}

// ResourceClient is implemented by clients registered with the resource
// indicators they may ask tokens for (RFC 8707 2): absolute URIs, compared
// as exact strings. A resource not listed here (nor allowed by the
// server's configuration) is refused with invalid_target.
type ResourceClient interface {
	GetResources() []string
}

// TokenExchangeClient is implemented by clients that may use the token
// exchange grant (RFC 8693) for some audiences: the audience and resource
// values they may ask for, compared as exact strings. A client without it,
// or with none listed, may only exchange for a token of its own audience.
type TokenExchangeClient interface {
	GetTokenExchangeAudiences() []string
}
