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

	ClientAuthorizedHandler      ClientAuthorizedHandler
	ClientScopeHandler           ClientScopeHandler
	UserAuthorizationHandler     UserAuthorizationHandler
	PasswordAuthorizationHandler PasswordAuthorizationHandler
	RefreshingScopeHandler       RefreshingScopeHandler
	RefreshingValidationHandler  RefreshingValidationHandler
	ResponseErrorHandler         ResponseErrorHandler
	InternalErrorHandler         InternalErrorHandler
	PreRedirectErrorHandler      PreRedirectErrorHandler
	AuthorizeScopeHandler        AuthorizeScopeHandler
	AccessTokenExpHandler        AccessTokenExpHandler
	ExtensionFieldsHandler       ExtensionFieldsHandler
	ResponseTokenHandler         ResponseTokenHandler
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
	case oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials:
	case oauth2.PasswordCredentials:
		if s.PasswordAuthorizationHandler == nil {
			return false
		}
	default:
		// Grants this server has no handler for (implicit has no token
		// endpoint grant_type; the device grant has its own endpoint).
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
