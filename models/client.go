// Package models holds plain structs that implement the root package's
// ClientInfo and TokenInfo.
package models

import (
	"crypto/sha256"
	"crypto/subtle"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/policy"
)

// Client is a registered client (RFC 6749 2, RFC 7591 2). The seed's fields
// (ID, Secret, Domain, Public, UserID) keep their meaning; the others are
// registration metadata that the manager and the server enforce.
type Client struct {
	ID string
	// Secret is the client secret in the clear (the seed's field). Prefer
	// SecretHash: persistent client stores keep only a hash.
	Secret string
	// SecretHash is a hash of the secret, argon2id or bcrypt; when set, it
	// is used instead of Secret. Its scheme must be registered
	// (RegisterSecretHash): importing github.com/oauth2d/oauth2/models/secrethash
	// registers argon2id and bcrypt, and makes such hashes. A hash of no
	// registered scheme verifies nothing.
	SecretHash string
	// Domain is the seed's single redirect base, matched on exact scheme,
	// host and port. RedirectURIs, when set, take precedence.
	Domain string
	// RedirectURIs are matched by exact string comparison (RFC 9700 2.1),
	// and loopback URIs in any port (RFC 8252 7.3).
	RedirectURIs []string
	// GrantTypes the client may use; empty means every grant the server
	// allows.
	GrantTypes []oauth2.GrantType
	// Scopes the client may ask for; empty means any.
	Scopes []string
	// Public marks a client that cannot keep a secret (RFC 6749 2.1).
	Public bool
	UserID string
	// TokenEndpointAuthMethod is the registered client authentication
	// method (RFC 7591 2): client_secret_basic, client_secret_post, none,
	// private_key_jwt, client_secret_jwt, tls_client_auth or
	// self_signed_tls_client_auth (RFC 8705 2); "" accepts Basic and post.
	TokenEndpointAuthMethod string
	// JWKS is the client's public JSON Web Key Set, for private_key_jwt
	// (RFC 7523 2.2) and self_signed_tls_client_auth (RFC 8705 2.2).
	JWKS []byte
	// JWKSURI is where the client publishes its JSON Web Key Set (RFC 7591
	// 2 jwks_uri), instead of JWKS; the server fetches it through its
	// JWKSResolver (server.SetJWKSResolver).
	JWKSURI string

	// Mutual TLS (RFC 8705, client_tls.go).

	// TLSClientAuth is the certificate identity of a client registered
	// for tls_client_auth (RFC 8705 2.1.2): tls_client_auth_subject_dn or
	// one of the tls_client_auth_san_* values.
	TLSClientAuth oauth2.TLSClientAuthIdentity
	// TLSClientCertificateBoundAccessTokens is
	// tls_client_certificate_bound_access_tokens (RFC 8705 3.4): every
	// access token is bound to the certificate of its token request.
	TLSClientCertificateBoundAccessTokens bool

	// Sender-constrained tokens, pushed requests, resource indicators and
	// token exchange (client_sender.go).

	// DPoPBoundAccessTokens is dpop_bound_access_tokens (RFC 9449 5.2):
	// every token request must carry a DPoP proof.
	DPoPBoundAccessTokens bool
	// RequirePushedAuthorizationRequests is
	// require_pushed_authorization_requests (RFC 9126 6): authorization
	// requests only through the pushed authorization request endpoint.
	RequirePushedAuthorizationRequests bool
	// Resources are the resource indicators (RFC 8707) the client may ask
	// tokens for, absolute URIs compared as exact strings.
	Resources []string
	// TokenExchangeAudiences are the audience and resource values the
	// client may ask for with the token exchange grant (RFC 8693).
	TokenExchangeAudiences []string

	// OpenID Connect registration (OpenID Connect Dynamic Client
	// Registration 1.0 2).

	// PostLogoutRedirectURIs are where the End-User's browser may be sent
	// after logging out at the client's request (OpenID Connect
	// RP-Initiated Logout 1.0 3.1), compared by exact string match.
	PostLogoutRedirectURIs []string
	// SubjectType is the client's subject identifier type (OpenID Connect
	// Core 1.0 8): oidc.SubjectPublic, oidc.SubjectPairwise, or "" for
	// public.
	SubjectType string
	// SectorIdentifierURI is the client's sector_identifier_uri (OpenID
	// Connect Core 1.0 8.1), whose host is the sector of its pairwise
	// subject identifiers; "" takes the host of its redirect URIs.
	SectorIdentifierURI string
	// IDTokenSignedResponseAlg is the JWS algorithm of the client's ID
	// tokens (OpenID Connect Dynamic Client Registration 1.0 2), such as
	// RS256; "" leaves the choice to the server.
	IDTokenSignedResponseAlg string
}

var (
	_ oauth2.ClientInfo             = (*Client)(nil)
	_ oauth2.ClientPasswordVerifier = (*Client)(nil)
	_ oauth2.ClientMetadata         = (*Client)(nil)
	_ oidc.SubjectClient            = (*Client)(nil)
	_ oidc.IDTokenAlgClient         = (*Client)(nil)
	_ oidc.LogoutClient             = (*Client)(nil)
)

// GetID returns the client ID.
func (c *Client) GetID() string { return c.ID }

// GetSecret returns the secret in the clear, "" when only a hash is kept.
func (c *Client) GetSecret() string { return c.Secret }

// GetDomain returns the seed's redirect base.
func (c *Client) GetDomain() string { return c.Domain }

// IsPublic reports whether the client is public.
func (c *Client) IsPublic() bool { return c.Public }

// GetUserID returns the user the client belongs to.
func (c *Client) GetUserID() string { return c.UserID }

// GetRedirectURIs returns the registered redirect URIs.
func (c *Client) GetRedirectURIs() []string { return c.RedirectURIs }

// GetGrantTypes returns the grant types the client may use.
func (c *Client) GetGrantTypes() []oauth2.GrantType { return c.GrantTypes }

// GetScopes returns the scopes the client may ask for.
func (c *Client) GetScopes() []string { return c.Scopes }

// GetTokenEndpointAuthMethod returns the registered authentication method.
func (c *Client) GetTokenEndpointAuthMethod() string { return c.TokenEndpointAuthMethod }

// GetPostLogoutRedirectURIs returns the registered post-logout redirect
// URIs.
func (c *Client) GetPostLogoutRedirectURIs() []string { return c.PostLogoutRedirectURIs }

// GetSubjectType returns the registered subject identifier type.
func (c *Client) GetSubjectType() string { return c.SubjectType }

// GetSectorIdentifierURI returns the registered sector_identifier_uri.
func (c *Client) GetSectorIdentifierURI() string { return c.SectorIdentifierURI }

// GetIDTokenSignedResponseAlg returns the registered ID token algorithm.
func (c *Client) GetIDTokenSignedResponseAlg() string { return c.IDTokenSignedResponseAlg }

// HasSecret reports whether the client has a secret, hashed or not.
func (c *Client) HasSecret() bool { return c.SecretHash != "" || c.Secret != "" }

// VerifyPassword reports whether secret is the client's secret, in constant
// time: against SecretHash when set, through the verifier registered for
// its scheme (none registered: false), else against Secret. A client
// without a secret verifies nothing.
func (c *Client) VerifyPassword(s string) bool {
	switch {
	case c.SecretHash != "":
		return verifySecretHash(c.SecretHash, s)
	case c.Secret != "":
		da, db := sha256.Sum256([]byte(c.Secret)), sha256.Sum256([]byte(s))
		return subtle.ConstantTimeCompare(da[:], db[:]) == 1
	}
	return false
}

// AllowsGrant reports whether the client may use gt, by the same rule the
// manager and the server apply (policy.Client.CheckGrant): every grant when
// GrantTypes is empty, and never client_credentials for a public client.
func (c *Client) AllowsGrant(gt oauth2.GrantType) bool {
	return policy.Of(c).AllowsGrant(gt)
}
