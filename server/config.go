package server

import (
	"context"
	"time"

	"github.com/oauth2d/oauth2"
)

// DefaultMaxBodyBytes is the default limit on the body of a token or
// authorization request: 64 KiB, far more than any RFC 6749 request needs.
const DefaultMaxBodyBytes int64 = 64 << 10

// Config is the configuration of a Server. NewConfig returns the secure
// defaults; the zero value is not ready for use.
type Config struct {
	// TokenType is the token_type of issued access tokens (RFC 6749 7.1),
	// "Bearer" (RFC 6750) by default.
	TokenType string
	// AllowGetAccessRequest lets the token endpoint answer GET requests with
	// the parameters in the query, as the seed's Quick Start does. RFC 6749
	// 3.2 requires POST; leave it off in production, since it puts client
	// secrets in URLs and logs.
	AllowGetAccessRequest bool
	// AllowedResponseTypes are the response types the authorization endpoint
	// accepts (RFC 6749 3.1.1): only "code" by default. Adding oauth2.Token
	// enables the implicit grant, which RFC 9700 2.1.2 advises against.
	AllowedResponseTypes []oauth2.ResponseType
	// AllowedGrantTypes are the grant types the token endpoint accepts
	// (RFC 6749 4): authorization_code, refresh_token and client_credentials
	// by default. The password grant (RFC 6749 4.3) is off unless added here
	// and a PasswordAuthorizationHandler is set.
	AllowedGrantTypes []oauth2.GrantType
	// Issuer, when set, is sent as the "iss" parameter of every
	// authorization response, success or error (RFC 9207 2).
	Issuer string
	// AllowBearerFromForm accepts an access token in the "access_token"
	// parameter of a form-encoded POST body (RFC 6750 2.2). Off by default.
	AllowBearerFromForm bool
	// AllowBearerFromQuery accepts an access token in the "access_token"
	// query parameter (RFC 6750 2.3), which RFC 9700 2.4 forbids for new
	// deployments. Off by default.
	AllowBearerFromQuery bool
	// ForcePKCE requires a code_challenge on every authorization code
	// request and a code_verifier on every code exchange (RFC 7636, OAuth
	// 2.1), as go-oauth2 v4's option did. The manager's
	// PKCEConfig.Required does the same; public clients always need PKCE.
	ForcePKCE bool
	// AllowedCodeChallengeMethods, when not empty, restricts the PKCE
	// methods the authorization endpoint accepts (RFC 7636 4.3). Empty
	// leaves the choice to the manager, which accepts S256 and refuses
	// plain unless enabled.
	AllowedCodeChallengeMethods []oauth2.CodeChallengeMethod
	// MaxBodyBytes limits the request body of the token and authorization
	// endpoints; a larger body is an invalid_request. Zero or less means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// IntrospectionClients are the IDs of the confidential clients
	// (resource servers) that may introspect any token (RFC 7662 2.1).
	// Every other client sees only its own tokens as active.
	IntrospectionClients []string
	// IntrospectAny, when set, is asked about a client outside
	// IntrospectionClients: true lets it introspect any token (RFC 7662
	// 2.1), for clients registered while the server runs. ctx is the
	// introspection request's.
	IntrospectAny func(ctx context.Context, clientID string) bool
	// Endpoints are the URLs the metadata advertises (RFC 8414 2); an
	// empty one is the Issuer with the default path.
	Endpoints Endpoints
	// ScopesSupported, when set, is advertised as scopes_supported
	// (RFC 8414 2); when empty the metadata leaves it out.
	ScopesSupported []string
	// Device configures the device authorization grant (RFC 8628), which
	// is on when oauth2.DeviceCode is in AllowedGrantTypes; its zero value
	// takes the defaults of DeviceConfig.
	Device DeviceConfig

	// DPoP configures sender-constrained tokens (RFC 9449, dpop.go); its
	// zero value accepts DPoP proofs without server nonces.
	DPoP DPoPConfig
	// PAR configures pushed authorization requests (RFC 9126, par.go); its
	// zero value accepts them and requires them of no client but those
	// registered so.
	PAR PARConfig
	// Resources are the resource indicators (RFC 8707) every client may
	// ask tokens for, besides those each client registered
	// (oauth2.ResourceClient); absolute URIs compared as exact strings.
	Resources []string
	// TokenExchange configures the token exchange grant (RFC 8693,
	// token_exchange.go), which is on when oauth2.TokenExchange is in
	// AllowedGrantTypes.
	TokenExchange TokenExchangeConfig
	// MTLS configures certificate-bound access tokens (RFC 8705,
	// client_tls.go).
	MTLS MTLSConfig
}

// NewConfig returns the secure default configuration: token type "Bearer",
// response type "code" only, grants authorization_code, refresh_token and
// client_credentials, POST only at the token endpoint, bearer tokens only
// from the Authorization header, and 64 KiB request bodies.
func NewConfig() *Config {
	return &Config{
		TokenType:            "Bearer",
		AllowedResponseTypes: []oauth2.ResponseType{oauth2.Code},
		AllowedGrantTypes: []oauth2.GrantType{
			oauth2.AuthorizationCode,
			oauth2.Refreshing,
			oauth2.ClientCredentials,
		},
		MaxBodyBytes: DefaultMaxBodyBytes,
	}
}

func (c *Config) maxBodyBytes() int64 {
	if c.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return c.MaxBodyBytes
}

func (c *Config) tokenType() string {
	if c.TokenType == "" {
		return "Bearer"
	}
	return c.TokenType
}

// expiresIn converts a lifetime to the integer seconds of expires_in
// (RFC 6749 5.1).
func expiresIn(d time.Duration) int64 { return int64(d / time.Second) }
