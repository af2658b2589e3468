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
package server

import (
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
	// authorization endpoint; nil answers access_denied.
	UserAuthorizationHandler UserAuthorizationHandler
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

	// jwks is the key set the JWKS endpoint publishes (see SetKeySet).
	jwks jwksState
	// now is the clock of device code expiry and client assertion checks
	// (see SetClock); nil is time.Now.
	now func() time.Time
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

// CheckGrantType reports whether the token endpoint accepts gt: it must be
// in Config.AllowedGrantTypes, and the password grant also needs a
// PasswordAuthorizationHandler (RFC 6749 5.2 unsupported_grant_type).
func (s *Server) CheckGrantType(gt oauth2.GrantType) bool {
	switch gt {
	case oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials, oauth2.DeviceCode:
	case oauth2.PasswordCredentials:
		if s.PasswordAuthorizationHandler == nil {
			return false
		}
	default:
		// Grants this server has no handler for (implicit has no token
		// endpoint grant_type).
		return false
	}
	return slices.Contains(s.Config.AllowedGrantTypes, gt)
}

// CheckResponseType reports whether the authorization endpoint accepts rt
// (RFC 6749 3.1.1, 4.1.2.1 unsupported_response_type).
func (s *Server) CheckResponseType(rt oauth2.ResponseType) bool {
	switch rt {
	case oauth2.Code, oauth2.Token:
		return slices.Contains(s.Config.AllowedResponseTypes, rt)
	}
	return false
}

// CheckCodeChallengeMethod reports whether the authorization endpoint
// accepts the PKCE method ccm (RFC 7636 4.3): any method the manager
// accepts when Config.AllowedCodeChallengeMethods is empty.
func (s *Server) CheckCodeChallengeMethod(ccm oauth2.CodeChallengeMethod) bool {
	return len(s.Config.AllowedCodeChallengeMethods) == 0 ||
		slices.Contains(s.Config.AllowedCodeChallengeMethods, ccm)
}
