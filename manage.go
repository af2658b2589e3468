package oauth2

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// TokenGenerateRequest carries the parameters of an authorization or token
// request to the Manager.
type TokenGenerateRequest struct {
	ClientID     string
	ClientSecret string
	// Client, when set, is the client the caller has already authenticated
	// (the server does, by any method of its configuration). When nil the
	// manager looks up ClientID and verifies ClientSecret itself, as the
	// seed did.
	Client              ClientInfo
	UserID              string
	RedirectURI         string
	Scope               string
	Code                string
	CodeChallenge       string
	CodeChallengeMethod CodeChallengeMethod
	Refresh             string
	CodeVerifier        string
	// AccessTokenExp, when positive, overrides the configured access token
	// lifetime.
	AccessTokenExp time.Duration
	Request        *http.Request
	// Extension is extension data to store with the grant (see
	// ExtendableTokenInfo): at the authorization endpoint it is kept with
	// the code, and the tokens issued from the code inherit it.
	Extension url.Values
}

// Manager implements the grants over a ClientStore and a TokenStore.
type Manager interface {
	GetClient(ctx context.Context, clientID string) (ClientInfo, error)
	// ValidateRedirectURI checks redirectURI against the client's
	// registration and returns the one to use: the registered one when
	// redirectURI is empty and exactly one is registered (RFC 6749 3.1.2.3).
	ValidateRedirectURI(ctx context.Context, client ClientInfo, redirectURI string) (string, error)
	GenerateAuthToken(ctx context.Context, rt ResponseType, tgr *TokenGenerateRequest) (TokenInfo, error)
	GenerateAccessToken(ctx context.Context, gt GrantType, tgr *TokenGenerateRequest) (TokenInfo, error)
	RefreshAccessToken(ctx context.Context, tgr *TokenGenerateRequest) (TokenInfo, error)
	RemoveAccessToken(ctx context.Context, access string) error
	RemoveRefreshToken(ctx context.Context, refresh string) error
	LoadAccessToken(ctx context.Context, access string) (TokenInfo, error)
	LoadRefreshToken(ctx context.Context, refresh string) (TokenInfo, error)
}
