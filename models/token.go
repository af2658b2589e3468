package models

import (
	"net/url"
	"time"

	"github.com/oauth2d/oauth2"
)

// Token is a stored grant record: an authorization code, or an access token
// with an optional refresh token. JSON names are the seed's.
type Token struct {
	ClientID            string                     `json:"ClientID"`
	UserID              string                     `json:"UserID"`
	RedirectURI         string                     `json:"RedirectURI"`
	Scope               string                     `json:"Scope"`
	GrantID             string                     `json:"GrantID,omitempty"`
	Code                string                     `json:"Code"`
	CodeChallenge       string                     `json:"CodeChallenge"`
	CodeChallengeMethod oauth2.CodeChallengeMethod `json:"CodeChallengeMethod"`
	CodeCreateAt        time.Time                  `json:"CodeCreateAt"`
	CodeExpiresIn       time.Duration              `json:"CodeExpiresIn"`
	Access              string                     `json:"Access"`
	AccessCreateAt      time.Time                  `json:"AccessCreateAt"`
	AccessExpiresIn     time.Duration              `json:"AccessExpiresIn"`
	Refresh             string                     `json:"Refresh"`
	RefreshCreateAt     time.Time                  `json:"RefreshCreateAt"`
	RefreshExpiresIn    time.Duration              `json:"RefreshExpiresIn"`
	// Extension is the grant's extension data (oauth2.ExtendableTokenInfo),
	// nil when there is none.
	Extension url.Values `json:"Extension,omitempty"`
}

var (
	_ oauth2.TokenInfo           = (*Token)(nil)
	_ oauth2.ExtendableTokenInfo = (*Token)(nil)
)

// NewToken returns an empty token.
func NewToken() *Token { return &Token{} }

// New returns a new empty token.
func (t *Token) New() oauth2.TokenInfo { return NewToken() }

// GetClientID returns the client ID.
func (t *Token) GetClientID() string { return t.ClientID }

// SetClientID sets the client ID.
func (t *Token) SetClientID(clientID string) { t.ClientID = clientID }

// GetUserID returns the user ID.
func (t *Token) GetUserID() string { return t.UserID }

// SetUserID sets the user ID.
func (t *Token) SetUserID(userID string) { t.UserID = userID }

// GetRedirectURI returns the redirect URI the code was issued for.
func (t *Token) GetRedirectURI() string { return t.RedirectURI }

// SetRedirectURI sets the redirect URI.
func (t *Token) SetRedirectURI(redirectURI string) { t.RedirectURI = redirectURI }

// GetScope returns the granted scope.
func (t *Token) GetScope() string { return t.Scope }

// SetScope sets the granted scope.
func (t *Token) SetScope(scope string) { t.Scope = scope }

// GetGrantID returns the authorization grant the token belongs to.
func (t *Token) GetGrantID() string { return t.GrantID }

// SetGrantID sets the authorization grant.
func (t *Token) SetGrantID(id string) { t.GrantID = id }

// GetCode returns the authorization code.
func (t *Token) GetCode() string { return t.Code }

// SetCode sets the authorization code.
func (t *Token) SetCode(code string) { t.Code = code }

// GetCodeCreateAt returns when the code was created.
func (t *Token) GetCodeCreateAt() time.Time { return t.CodeCreateAt }

// SetCodeCreateAt sets when the code was created.
func (t *Token) SetCodeCreateAt(createAt time.Time) { t.CodeCreateAt = createAt }

// GetCodeExpiresIn returns the code's lifetime.
func (t *Token) GetCodeExpiresIn() time.Duration { return t.CodeExpiresIn }

// SetCodeExpiresIn sets the code's lifetime.
func (t *Token) SetCodeExpiresIn(exp time.Duration) { t.CodeExpiresIn = exp }

// GetCodeChallenge returns the PKCE challenge (RFC 7636 4.2).
func (t *Token) GetCodeChallenge() string { return t.CodeChallenge }

// SetCodeChallenge sets the PKCE challenge.
func (t *Token) SetCodeChallenge(code string) { t.CodeChallenge = code }

// GetCodeChallengeMethod returns the PKCE method.
func (t *Token) GetCodeChallengeMethod() oauth2.CodeChallengeMethod { return t.CodeChallengeMethod }

// SetCodeChallengeMethod sets the PKCE method.
func (t *Token) SetCodeChallengeMethod(method oauth2.CodeChallengeMethod) {
	t.CodeChallengeMethod = method
}

// GetAccess returns the access token.
func (t *Token) GetAccess() string { return t.Access }

// SetAccess sets the access token.
func (t *Token) SetAccess(access string) { t.Access = access }

// GetAccessCreateAt returns when the access token was created.
func (t *Token) GetAccessCreateAt() time.Time { return t.AccessCreateAt }

// SetAccessCreateAt sets when the access token was created.
func (t *Token) SetAccessCreateAt(createAt time.Time) { t.AccessCreateAt = createAt }

// GetAccessExpiresIn returns the access token's lifetime.
func (t *Token) GetAccessExpiresIn() time.Duration { return t.AccessExpiresIn }

// SetAccessExpiresIn sets the access token's lifetime.
func (t *Token) SetAccessExpiresIn(exp time.Duration) { t.AccessExpiresIn = exp }

// GetRefresh returns the refresh token.
func (t *Token) GetRefresh() string { return t.Refresh }

// SetRefresh sets the refresh token.
func (t *Token) SetRefresh(refresh string) { t.Refresh = refresh }

// GetRefreshCreateAt returns when the refresh token was created.
func (t *Token) GetRefreshCreateAt() time.Time { return t.RefreshCreateAt }

// SetRefreshCreateAt sets when the refresh token was created.
func (t *Token) SetRefreshCreateAt(createAt time.Time) { t.RefreshCreateAt = createAt }

// GetRefreshExpiresIn returns the refresh token's lifetime.
func (t *Token) GetRefreshExpiresIn() time.Duration { return t.RefreshExpiresIn }

// SetRefreshExpiresIn sets the refresh token's lifetime.
func (t *Token) SetRefreshExpiresIn(exp time.Duration) { t.RefreshExpiresIn = exp }

// GetExtension returns the extension data, nil when there is none.
func (t *Token) GetExtension() url.Values { return t.Extension }

// SetExtension sets the extension data.
func (t *Token) SetExtension(e url.Values) { t.Extension = e }
