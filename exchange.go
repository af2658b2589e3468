package oauth2

import (
	"context"
	"time"
)

// TokenExchange is the token exchange grant (RFC 8693 2.1): a client
// presents a token of this server (the subject token, and for delegation
// an actor token) and gets a new access token for another audience or a
// narrower scope.
// https://www.rfc-editor.org/rfc/rfc8693#section-2.1
const TokenExchange GrantType = "urn:ietf:params:oauth:grant-type:token-exchange"

// Token type identifiers of RFC 8693 3: the values of subject_token_type,
// actor_token_type, requested_token_type and issued_token_type.
const (
	// TokenTypeAccessToken: an OAuth 2.0 access token of this server.
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// TokenTypeRefreshToken: an OAuth 2.0 refresh token.
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	// TokenTypeIDToken: an OpenID Connect ID Token of this issuer.
	TokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"
	// TokenTypeJWT: a JWT of any kind.
	TokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
)

// TokenExchangeParty is what the server verified about a token presented
// in a token exchange (RFC 8693 2.1): the subject token, or the actor
// token of a delegation.
type TokenExchangeParty struct {
	// UserID is the resource owner the token was issued for; "" for a
	// token a client got for itself (client credentials).
	UserID string
	// ClientID is the client the token was issued to.
	ClientID string
	// Scope is the token's scope.
	Scope string
	// GrantID is the grant the token belongs to, "" for none: a token
	// issued by the exchange joins it, so that revoking the grant revokes
	// the exchanged token too.
	GrantID string
	// Expiry is when the token expires; zero when it does not.
	Expiry time.Time
	// Act is the act claim the token carries (RFC 8693 4.1) as a JSON
	// object, "" for none: the delegation chain the new token extends.
	Act string
	// Audience is the token's audience: the resources it is restricted to
	// (RFC 8707), empty when it is not restricted.
	Audience []string
}

// Subject returns the party's subject: the user, else the client.
func (p *TokenExchangeParty) Subject() string {
	if p.UserID != "" {
		return p.UserID
	}
	return p.ClientID
}

// TokenExchangeRequest is a verified token exchange request (RFC 8693
// 2.1), what the server hands the manager after it has verified the
// tokens.
type TokenExchangeRequest struct {
	// Subject is the party the new token is about.
	Subject TokenExchangeParty
	// Actor is the party that will act for the subject (delegation, RFC
	// 8693 1.1): the new token carries it in its act claim. nil is
	// impersonation: the new token is the subject's, with no act claim.
	Actor *TokenExchangeParty
	// Audience are the requested audience and resource values (RFC 8693
	// 2.1); empty asks for a token whose audience is the requesting client.
	Audience []string
}

// TokenExchanger is implemented by managers that issue tokens for the token
// exchange grant, as manage.Manager does. tgr carries the authenticated
// client (tgr.Client), the requested scope and the extension data of the
// new token (its DPoP binding, for one); req what the tokens presented
// said. On any error nothing is issued.
type TokenExchanger interface {
	ExchangeToken(ctx context.Context, tgr *TokenGenerateRequest, req *TokenExchangeRequest) (TokenInfo, error)
}
