// Package manage implements oauth2.Manager: the grants of RFC 6749 over a
// ClientStore and a TokenStore, with the validation that makes them safe by
// default (RFC 9700): exact redirect URI matching, scope checks, PKCE
// (RFC 7636), single-use authorization codes whose replay revokes the grant,
// and rotated refresh tokens whose replay revokes the family.
//
// A Manager is configured with its Set* and Map* methods before it serves
// requests; those methods are not safe for use concurrently with requests.
// Every other method is safe for concurrent use.
package manage

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	stderrors "errors"
	"fmt"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/policy"
)

// Configuration errors: they wrap no RFC code, so the server answers
// server_error and does not show their text.
var (
	errNoClientStore       = stderrors.New("manage: no client store mapped")
	errNoTokenStore        = stderrors.New("manage: no token store mapped")
	errNoAuthorizeGenerate = stderrors.New("manage: no authorize code generator mapped")
	errNoAccessGenerate    = stderrors.New("manage: no access token generator mapped")
	errEmptyGenerated      = stderrors.New("manage: generator returned an empty value")
)

// Manager implements oauth2.Manager. Create it with NewDefaultManager or
// NewManager, configure it, then serve: the configuration is read without
// locks, so Set* and Map* must not be called while requests are served.
type Manager struct {
	codeExp     time.Duration
	codeCfg     Config
	implicitCfg Config
	passwordCfg Config
	clientCfg   Config
	exchangeCfg *Config // nil: DefaultTokenExchangeTokenCfg (token_exchange.go)
	refreshCfg  RefreshingConfig
	pkce        PKCEConfig
	validateURI ValidateURIHandler
	now         func() time.Time

	tokenModel        oauth2.TokenInfo
	authorizeGenerate oauth2.AuthorizeGenerate
	accessGenerate    oauth2.AccessGenerate
	idTokenGenerate   generates.IDTokenGenerate
	clientStore       oauth2.ClientStore
	tokenStore        oauth2.TokenStore

	// extractExtension fills extension data of new records (extension.go).
	extractExtension ExtractExtensionHandler
}

var _ oauth2.Manager = (*Manager)(nil)

// NewDefaultManager returns a manager with the opaque code and access token
// generators of package generates (256 random bits, base64url) and no
// stores; map them with MapClientStorage and MapTokenStorage.
func NewDefaultManager() *Manager {
	m := NewManager()
	m.MapAuthorizeGenerate(generates.NewAuthorizeGenerate())
	m.MapAccessGenerate(generates.NewAccessGenerate())
	return m
}

// NewManager returns a manager with no generators and no stores. It copies
// the package's Default* configurations, so that a change to one manager
// never changes another.
func NewManager() *Manager {
	m := &Manager{
		codeCfg:     copyConfig(DefaultAuthorizeCodeTokenCfg),
		implicitCfg: copyConfig(DefaultImplicitTokenCfg),
		passwordCfg: copyConfig(DefaultPasswordTokenCfg),
		clientCfg:   copyConfig(DefaultClientTokenCfg),
		refreshCfg:  copyRefreshingConfig(DefaultRefreshTokenCfg),
		now:         time.Now,
	}
	m.SetAuthorizeCodeExp(DefaultCodeExp)
	return m
}

// MapTokenModel sets the model that stored records are made from with its
// New method; the default is models.Token.
func (m *Manager) MapTokenModel(token oauth2.TokenInfo) {
	m.tokenModel = token
}

// MapAuthorizeGenerate sets the authorization code generator.
func (m *Manager) MapAuthorizeGenerate(gen oauth2.AuthorizeGenerate) {
	m.authorizeGenerate = gen
}

// MapAccessGenerate sets the access (and refresh) token generator.
func (m *Manager) MapAccessGenerate(gen oauth2.AccessGenerate) {
	m.accessGenerate = gen
}

// MapIDTokenGenerate sets the OpenID Connect ID token generator (OpenID
// Connect Core 1.0 2), such as generates.NewJWTIDTokenGenerate: with one,
// a server over this manager is an OpenID Provider, which issues ID tokens
// for grants with the openid scope at its authorization and token
// endpoints (see server.Server.OpenID).
func (m *Manager) MapIDTokenGenerate(gen generates.IDTokenGenerate) {
	m.idTokenGenerate = gen
}

// IDTokenGenerate returns the generator of MapIDTokenGenerate, nil when
// none is mapped.
func (m *Manager) IDTokenGenerate() generates.IDTokenGenerate { return m.idTokenGenerate }

// MapClientStorage sets the client store.
func (m *Manager) MapClientStorage(stor oauth2.ClientStore) {
	m.clientStore = stor
}

// MustClientStorage sets the client store, and panics if err is not nil.
func (m *Manager) MustClientStorage(stor oauth2.ClientStore, err error) {
	if err != nil {
		panic(err)
	}
	m.clientStore = stor
}

// MapTokenStorage sets the token store.
func (m *Manager) MapTokenStorage(stor oauth2.TokenStore) {
	m.tokenStore = stor
}

// MustTokenStorage sets the token store, and panics if err is not nil.
func (m *Manager) MustTokenStorage(stor oauth2.TokenStore, err error) {
	if err != nil {
		panic(err)
	}
	m.tokenStore = stor
}

// GetClient returns the registered client. An unknown client is
// errors.ErrInvalidClient (RFC 6749 5.2); a store failure is returned
// wrapped.
func (m *Manager) GetClient(ctx context.Context, clientID string) (oauth2.ClientInfo, error) {
	if m.clientStore == nil {
		return nil, errNoClientStore
	}
	if clientID == "" {
		return nil, errors.ErrInvalidClient
	}
	cli, err := m.clientStore.GetByID(ctx, clientID)
	if err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			return nil, errors.ErrInvalidClient
		}
		return nil, fmt.Errorf("manage: get client: %w", err)
	}
	if cli == nil {
		return nil, errors.ErrInvalidClient
	}
	return cli, nil
}

// authenticate returns the client of a token request (RFC 6749 2.3,
// 3.2.1), read by the policy once. A client the server has already
// authenticated (tgr.Client) is taken as is. Otherwise the manager looks up
// tgr.ClientID and verifies tgr.ClientSecret through policy.Authenticate,
// as the server does: a public client presents no secret, a confidential
// one its own, compared in constant time, and an unknown client takes the
// time of a wrong secret. Every failure is invalid_client.
// clientFor returns the client of a token request of the grant gt: the
// client authenticated (authenticate) and allowed the grant by its
// registration (policy.Client.CheckGrant, unauthorized_client).
func (m *Manager) clientFor(ctx context.Context, tgr *oauth2.TokenGenerateRequest, gt oauth2.GrantType) (policy.Client, error) {
	cli, err := m.authenticate(ctx, tgr)
	if err != nil {
		return cli, err
	}
	return cli, cli.CheckGrant(gt)
}

func (m *Manager) authenticate(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (policy.Client, error) {
	if tgr.Client != nil {
		return policy.Of(tgr.Client), nil
	}
	return policy.Authenticate(ctx, m.GetClient, tgr.ClientID, tgr.ClientSecret, policy.AuthMethodSecret)
}

// newToken returns an empty record of the mapped token model.
func (m *Manager) newToken() oauth2.TokenInfo {
	if m.tokenModel != nil {
		return m.tokenModel.New()
	}
	return models.NewToken()
}

// newGrantID returns a fresh grant identifier: 128 random bits, base64url.
func newGrantID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// expired reports whether a part created at createAt with lifetime exp has
// expired at now. A lifetime of zero or less never expires.
func expired(createAt time.Time, exp time.Duration, now time.Time) bool {
	return exp > 0 && !now.Before(createAt.Add(exp))
}

// generateAccess fills ti's access token, and its refresh token when
// withRefresh, with the mapped generator. The caller has set every other
// field of ti, lifetimes included, which generators such as a JWT one read.
func (m *Manager) generateAccess(ctx context.Context, cli oauth2.ClientInfo, ti oauth2.TokenInfo, now time.Time, withRefresh bool, tgr *oauth2.TokenGenerateRequest) error {
	gen := m.accessGenerate
	if gen == nil {
		return errNoAccessGenerate
	}
	access, refresh, err := gen.Token(ctx, &oauth2.GenerateBasic{
		Client:    cli,
		UserID:    ti.GetUserID(),
		CreateAt:  now,
		TokenInfo: ti,
		Request:   tgr.Request,
	}, withRefresh)
	if err != nil {
		return fmt.Errorf("manage: generate access token: %w", err)
	}
	if access == "" || (withRefresh && refresh == "") {
		return errEmptyGenerated
	}
	ti.SetAccess(access)
	if withRefresh {
		ti.SetRefresh(refresh)
	}
	return nil
}

// revokeReplayed revokes the grant of a replayed code or refresh token
// (RFC 6749 4.1.2, RFC 9700 4.14.2) and returns invalid: the error of the
// replay, or the store's error when the revocation failed, so that a failed
// revocation is never reported as a plain invalid_grant.
func (m *Manager) revokeReplayed(ctx context.Context, reused *oauth2.ReusedError, invalid error) error {
	if reused.GrantID == "" {
		return invalid
	}
	if err := m.tokenStore.RevokeGrant(ctx, reused.GrantID); err != nil {
		return fmt.Errorf("manage: revoke replayed grant: %w", err)
	}
	return invalid
}

// accessExp returns the access token lifetime: the request's override when
// positive, else the configured one.
func accessExp(tgr *oauth2.TokenGenerateRequest, configured time.Duration) time.Duration {
	if tgr.AccessTokenExp > 0 {
		return tgr.AccessTokenExp
	}
	return configured
}
