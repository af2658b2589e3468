// Package models holds plain structs that implement the root package's
// ClientInfo and TokenInfo.
package models

import (
	"slices"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/secret"
)

// Client is a registered client (RFC 6749 2, RFC 7591 2). The seed's fields
// (ID, Secret, Domain, Public, UserID) keep their meaning; the others are
// registration metadata that the manager and the server enforce.
type Client struct {
	ID string
	// Secret is the client secret in the clear (the seed's field). Prefer
	// SecretHash: persistent client stores keep only a hash.
	Secret string
	// SecretHash is an argon2id or bcrypt hash of the secret; when set, it
	// is used instead of Secret.
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
	// private_key_jwt or client_secret_jwt; "" accepts Basic and post.
	TokenEndpointAuthMethod string
	// JWKS is the client's public JSON Web Key Set, for private_key_jwt
	// (RFC 7523 2.2).
	JWKS []byte
}

var (
	_ oauth2.ClientInfo             = (*Client)(nil)
	_ oauth2.ClientPasswordVerifier = (*Client)(nil)
	_ oauth2.ClientMetadata         = (*Client)(nil)
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

// HasSecret reports whether the client has a secret, hashed or not.
func (c *Client) HasSecret() bool { return c.SecretHash != "" || c.Secret != "" }

// VerifyPassword reports whether secret is the client's secret, in constant
// time. A client without a secret verifies nothing.
func (c *Client) VerifyPassword(s string) bool {
	switch {
	case c.SecretHash != "":
		return secret.Verify(c.SecretHash, s)
	case c.Secret != "":
		return secret.Equal(c.Secret, s)
	}
	return false
}

// AllowsGrant reports whether the client may use gt: every grant when
// GrantTypes is empty.
func (c *Client) AllowsGrant(gt oauth2.GrantType) bool {
	return len(c.GrantTypes) == 0 || slices.Contains(c.GrantTypes, gt)
}
