// Package server implements the HTTP endpoints of the authorization server
// over an oauth2.Manager: the authorization endpoint (RFC 6749 3.1), the
// token endpoint (RFC 6749 3.2) with client authentication (RFC 6749 2.3),
// and bearer token validation for resource servers (RFC 6750).
//
// The API is the one of go-oauth2 (gopkg.in/oauth2.v3, v4): a Server with
// the same handler hooks and setters. The defaults are secure: only the
// authorization code, refresh token and client credentials grants, POST-only
// token requests, redirect URIs checked before any redirect, errors mapped to
// RFC codes through package errors.
//
// Each grant of the token endpoint is a Grant in one registry (one file per
// grant: token_code.go, token_refresh.go, token_client.go,
// token_password.go, token_device.go); RegisterGrant adds another, and
// dispatch, CheckGrantType, the metadata and Grants all follow the
// registry. What a client may do (its grants, scopes and authentication
// method) is decided by package policy, the same rules the manager applies.
// The ClientAuthHandler and TokenIssuedHandler hooks tell an application
// (a throttle, metrics) what the server read and did, so that it never
// parses a request a second time.
//
// With an ID token generator (manage.Manager.MapIDTokenGenerate) the server
// is an OpenID Provider (OpenID Connect Core 1.0): ID tokens at the
// authorization and token endpoints, the UserInfo endpoint
// (HandleUserInfoRequest) and the discovery document
// (HandleOpenIDConfigurationRequest). A UserAuthenticationHandler tells it
// who the End-User is, and it enforces prompt, max_age and id_token_hint
// itself (see openid.go and authenticate.go).
package server

import (
	stderrors "errors"
	"slices"
	"time"

	"github.com/oauth2d/oauth2"
)

// Server serves the authorization and token endpoints. Its exported fields
// are the hooks of the seed; set them before serving (directly or with the
// Set methods) and do not change them while requests are in flight.
type Server struct {
	Config  *Config
	Manager oauth2.Manager

	// ClientInfoHandler, when set, chooses where client credentials come
	// from: ClientBasicHandler (client_secret_basic only), ClientFormHandler
	// (client_secret_post and none only) or a function of the application.
	// When nil (the default), every method of RFC 6749 2.3 is accepted:
	// client_secret_basic, client_secret_post and none for public clients.
	// The server verifies the credentials in every case.
	ClientInfoHandler ClientInfoHandler
	// ClientAuthenticators are further client authentication methods, such
	// as private_key_jwt (RFC 7523 2.2).
	ClientAuthenticators []ClientAuthenticator
	// KVStore keeps what every server process must share besides tokens:
	// device codes (RFC 8628) and the jti of client assertions (RFC 7523
	// 3). When nil the server uses the manager's token store when it is an
	// oauth2.KVStore (manage.Manager.KVStore); see SetKVStore.
	KVStore oauth2.KVStore

	// ClientAuthorizedHandler is asked whether the client may use a grant,
	// at both endpoints, after the client's registered grant types.
	ClientAuthorizedHandler ClientAuthorizedHandler
	// ClientScopeHandler is asked about the scope of authorization,
	// password and client credentials requests.
	ClientScopeHandler ClientScopeHandler
	// UserAuthorizationHandler authenticates the resource owner at the
	// authorization endpoint; nil answers access_denied. The
	// UserAuthenticationHandler, when set, is used instead.
	UserAuthorizationHandler UserAuthorizationHandler
	// UserAuthenticationHandler tells the server who the End-User at the
	// authorization endpoint is and shows the login and consent pages the
	// server asks for, which enforces OAuth 2.0 and OpenID Connect rules
	// (prompt, max_age, id_token_hint) itself (authenticate.go).
	UserAuthenticationHandler UserAuthenticationHandler
	// OpenID configures the server as an OpenID Provider (openid.go) beyond
	// its ID token generator, which the manager may hold instead
	// (manage.Manager.MapIDTokenGenerate): the End-User's claims, subject
	// identifiers, and what the discovery document advertises. The server
	// is an OpenID Provider when it has an ID token generator; nil with a
	// generator on the manager takes the defaults of OpenIDConfig.
	OpenID *OpenIDConfig
	// PasswordAuthorizationHandler verifies the password grant's resource
	// owner; nil makes the password grant unsupported.
	PasswordAuthorizationHandler PasswordAuthorizationHandler
	// RefreshingScopeHandler is asked about the scope of a refresh request.
	RefreshingScopeHandler RefreshingScopeHandler
	// RefreshingValidationHandler is asked whether a refresh token may be
	// used.
	RefreshingValidationHandler RefreshingValidationHandler
	// ResponseErrorHandler sees every error response.
	ResponseErrorHandler ResponseErrorHandler
	// InternalErrorHandler sees every server_error and
	// temporarily_unavailable.
	InternalErrorHandler InternalErrorHandler
	// PreRedirectErrorHandler writes the authorization errors that must
	// not be redirected.
	PreRedirectErrorHandler PreRedirectErrorHandler
	// AuthorizeScopeHandler chooses the scope granted at the authorization
	// endpoint.
	AuthorizeScopeHandler AuthorizeScopeHandler
	// AccessTokenExpHandler chooses the access token lifetime.
	AccessTokenExpHandler AccessTokenExpHandler
	// ExtensionFieldsHandler adds parameters to successful token responses.
	ExtensionFieldsHandler ExtensionFieldsHandler
	// ResponseTokenHandler writes token endpoint responses.
	ResponseTokenHandler ResponseTokenHandler
	// ClientAuthHandler is told of every client authentication, before
	// and after the credentials are verified, and may refuse it first.
	ClientAuthHandler ClientAuthHandler
	// TokenIssuedHandler is told of every token the token endpoint issues.
	TokenIssuedHandler TokenIssuedHandler
	// RefreshTokenResolveHandler, when set, reads the refresh token of a
	// refresh request (see resolve.go); nil reads refresh_token.
	RefreshTokenResolveHandler RefreshTokenResolveHandler
	// AccessTokenResolveHandler, when set, reads the access token of a
	// resource request (see resolve.go); nil reads the Authorization header.
	AccessTokenResolveHandler AccessTokenResolveHandler
	// JWKSResolver fetches the JWK set of a client registered with a
	// jwks_uri (RFC 7591 2; client_jwks_uri.go); nil: such a client cannot
	// authenticate with its keys.
	JWKSResolver JWKSResolver

	// jwks is the key set the JWKS endpoint publishes (see SetKeySet).
	jwks jwksState
	// dpop is the DPoP proof verifier, made on first use (dpop.go).
	dpop dpopState
	// now is the clock of device code expiry and client assertion checks
	// (see SetClock); nil is time.Now.
	now func() time.Time
}

// KVStoreProvider is implemented by managers that share the oauth2.KVStore
// of their token store, as manage.Manager does; the server uses it when
// Server.KVStore is nil.
type KVStoreProvider interface {
	KVStore() oauth2.KVStore
}

// errNoKVStore: the device grant and client assertions need a KVStore.
var errNoKVStore = stderrors.New("server: no oauth2.KVStore: set Server.KVStore or map a token store that implements it")

// SetKVStore sets Server.KVStore, where the device grant and the client
// assertion checks keep the state every server process shares.
func (s *Server) SetKVStore(kv oauth2.KVStore) { s.KVStore = kv }

// SetClock sets the clock of device code expiry and client assertion
// checks; nil restores time.Now. Tests set it together with the store's
// clock.
func (s *Server) SetClock(now func() time.Time) { s.now = now }

func (s *Server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// kvStore returns Server.KVStore, else the manager's (KVStoreProvider).
// Without one the device grant and client assertions cannot work safely
// across processes, so they refuse with a server_error.
func (s *Server) kvStore() (oauth2.KVStore, error) {
	if s.KVStore != nil {
		return s.KVStore, nil
	}
	if p, ok := s.Manager.(KVStoreProvider); ok {
		if kv := p.KVStore(); kv != nil {
			return kv, nil
		}
	}
	return nil, errNoKVStore
}

// NewDefaultServer returns a server with the secure default configuration
// of NewConfig.
func NewDefaultServer(manager oauth2.Manager) *Server {
	return NewServer(NewConfig(), manager)
}

// NewServer returns a server with the configuration cfg (NewConfig when
// nil). Without a UserAuthorizationHandler every authorization request is
// answered with access_denied; without a PasswordAuthorizationHandler the
// password grant is unsupported_grant_type.
func NewServer(cfg *Config, manager oauth2.Manager) *Server {
	if cfg == nil {
		cfg = NewConfig()
	}
	return &Server{Config: cfg, Manager: manager}
}

// CheckGrantType reports whether the token endpoint accepts gt: a
// registered Grant (see RegisterGrant) listed in Config.AllowedGrantTypes
// and, for a GrantAvailability, available: the password grant also needs a
// PasswordAuthorizationHandler (RFC 6749 5.2 unsupported_grant_type). The
// implicit grant has no token endpoint grant_type and is never accepted.
func (s *Server) CheckGrantType(gt oauth2.GrantType) bool {
	e := lookupGrant(gt)
	return e != nil && s.enabled(e)
}

// CheckResponseType reports whether the authorization endpoint accepts rt
// (RFC 6749 3.1.1, 4.1.2.1 unsupported_response_type): code and token when
// Config.AllowedResponseTypes lists them; and, for an OpenID Provider, the
// response types of the implicit and hybrid flows (OpenID Connect Core 1.0
// 3.2, 3.3; written as oidc.ParseResponseType orders them) when
// Config.AllowedResponseTypes lists oauth2.Token (the implicit switch) or
// the response type itself.
func (s *Server) CheckResponseType(rt oauth2.ResponseType) bool {
	switch rt {
	case oauth2.Code, oauth2.Token:
		return slices.Contains(s.Config.AllowedResponseTypes, rt)
	}
	return s.checkOpenIDResponseType(rt)
}

// CheckCodeChallengeMethod reports whether the authorization endpoint
// accepts the PKCE method ccm (RFC 7636 4.3): any method the manager
// accepts when Config.AllowedCodeChallengeMethods is empty.
func (s *Server) CheckCodeChallengeMethod(ccm oauth2.CodeChallengeMethod) bool {
	return len(s.Config.AllowedCodeChallengeMethods) == 0 ||
		slices.Contains(s.Config.AllowedCodeChallengeMethods, ccm)
}
