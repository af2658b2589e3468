package server

import (
	"context"
	"net/http"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// ClientInfoHandler extracts the client credentials of a token request
// (RFC 6749 2.3). The server then looks the client up and verifies the
// secret itself: a handler only chooses where the credentials come from.
type ClientInfoHandler func(r *http.Request) (clientID, clientSecret string, err error)

// ClientAuthorizedHandler reports whether the client may use the grant type
// (RFC 6749 5.2 unauthorized_client).
type ClientAuthorizedHandler func(clientID string, grant oauth2.GrantType) (allowed bool, err error)

// ClientScopeHandler reports whether the client may have the requested scope
// (RFC 6749 3.3 invalid_scope).
type ClientScopeHandler func(tgr *oauth2.TokenGenerateRequest) (allowed bool, err error)

// UserAuthorizationHandler authenticates the resource owner at the
// authorization endpoint and returns the user ID (RFC 6749 4.1.1). Returning
// "" with a nil error means the handler has written the response itself
// (typically a redirect to a login page) and the server writes nothing.
type UserAuthorizationHandler func(w http.ResponseWriter, r *http.Request) (userID string, err error)

// PasswordAuthorizationHandler verifies the resource owner credentials of
// the password grant (RFC 6749 4.3.2) and returns the user ID. A "" user ID
// or an access_denied error is answered with invalid_grant.
type PasswordAuthorizationHandler func(ctx context.Context, clientID, username, password string) (userID string, err error)

// RefreshingScopeHandler reports whether a refresh request may have the
// requested scope given the scope originally granted (RFC 6749 6). The
// manager separately refuses any scope wider than the original.
type RefreshingScopeHandler func(tgr *oauth2.TokenGenerateRequest, oldScope string) (allowed bool, err error)

// RefreshingValidationHandler reports whether the refresh token may be used
// (RFC 6749 6); a refusal is answered with invalid_grant.
type RefreshingValidationHandler func(ti oauth2.TokenInfo) (allowed bool, err error)

// ResponseErrorHandler sees, and may change, every error response before
// it is written or redirected.
type ResponseErrorHandler func(re *errors.Response)

// InternalErrorHandler is called with every error that maps to server_error
// or temporarily_unavailable, typically to log it; a non-nil Response
// replaces the default one. Its Error is reduced to an RFC error code.
type InternalErrorHandler func(err error) (re *errors.Response)

// PreRedirectErrorHandler writes the error response of an authorization
// request that must not be redirected because its client or redirect URI is
// not valid (RFC 6749 4.1.2.1). req carries only the raw *http.Request.
type PreRedirectErrorHandler func(w http.ResponseWriter, req *AuthorizeRequest, err error) error

// AuthorizeScopeHandler returns the scope to grant at the authorization
// endpoint; "" keeps the requested scope (RFC 6749 3.3).
type AuthorizeScopeHandler func(w http.ResponseWriter, r *http.Request) (scope string, err error)

// AccessTokenExpHandler returns the lifetime of the access token to issue;
// zero keeps the configured one.
type AccessTokenExpHandler func(w http.ResponseWriter, r *http.Request) (exp time.Duration, err error)

// ExtensionFieldsHandler returns additional parameters of a successful token
// response (RFC 6749 5.1). They can never replace access_token, token_type,
// expires_in, scope or refresh_token.
type ExtensionFieldsHandler func(ti oauth2.TokenInfo) (fieldsValue map[string]any)

// ResponseTokenHandler writes a token endpoint response, success or error,
// in place of the default JSON writer. The server has already set
// Content-Type, Cache-Control: no-store and Pragma: no-cache (RFC 6749 5.1).
type ResponseTokenHandler func(w http.ResponseWriter, data map[string]any, header http.Header, statusCode ...int) error

// ClientAuthHandler is called at every endpoint where a client
// authenticates (token, revocation, introspection, device authorization:
// RFC 6749 2.3, RFC 7009 2.1, RFC 7662 2.1, RFC 8628 3.1), exactly once per
// request, once the request has named its client and before any credential
// is verified. clientID is the client the request claims to be (the Basic
// user, whatever spacing of the header the server accepts; the client_id
// parameter; or, without one, the subject of a client assertion, else its
// issuer, read unverified: ClientIDClaimer), and method is the
// token_endpoint_auth_method it uses (RFC 7591 2: AuthMethodBasic,
// AuthMethodPost, AuthMethodNone, or a ClientAuthenticator's Method). A
// request refused as malformed before it names a client (two methods, an
// unreadable Authorization header, credentials in the query string)
// verifies nothing and is not reported.
//
// A non-nil error refuses the request before anything is verified: it is
// answered as an error response (errors.WithStatus sets its status, for
// example 429 with Retry-After for a client that failed too often). Else
// done, when not nil, is called exactly once with the outcome: the
// authenticated client, or the error of the failed authentication (an
// errors.ErrInvalidClient for wrong credentials; a store failure is passed
// through as it is, and is no failure of the client).
//
// This is where a throttle of failed client authentications belongs: it
// sees exactly the client the server verifies, with no second parser.
type ClientAuthHandler func(r *http.Request, clientID, method string) (done func(client oauth2.ClientInfo, err error), err error)

// TokenIssuedHandler is called when the token endpoint has issued a token,
// before the response is written, with the grant type and the stored
// record (its client is ti.GetClientID()). It must not modify ti.
type TokenIssuedHandler func(r *http.Request, gt oauth2.GrantType, ti oauth2.TokenInfo)

// ClientBasicHandler takes the client credentials from the Authorization
// header only (client_secret_basic, RFC 6749 2.3.1), decoding the ID and
// secret with the form encoding the RFC requires. Set as the server's
// ClientInfoHandler it restricts client authentication to that method.
func ClientBasicHandler(r *http.Request) (clientID, clientSecret string, err error) {
	id, secret, present, err := parseBasicAuth(r.Header)
	if err != nil {
		return "", "", err
	}
	if !present {
		return "", "", errMissingClientAuth
	}
	return id, secret, nil
}

// ClientFormHandler takes the client credentials from the client_id and
// client_secret parameters (client_secret_post, RFC 6749 2.3.1): from the
// request body, or from the query of a GET token request when
// Config.AllowGetAccessRequest is set. Set as the server's ClientInfoHandler
// it restricts client authentication to that method (and "none" for public
// clients).
func ClientFormHandler(r *http.Request) (clientID, clientSecret string, err error) {
	if r.Form == nil {
		if err := r.ParseForm(); err != nil {
			return "", "", errors.WithDescription(errors.ErrInvalidRequest, "The request body is malformed")
		}
	}
	form := r.PostForm
	if r.Method == http.MethodGet {
		form = r.Form
	}
	clientID = form.Get("client_id")
	if clientID == "" {
		return "", "", errMissingClientAuth
	}
	return clientID, form.Get("client_secret"), nil
}

// SetClientAuthHandler sets the ClientAuthHandler.
func (s *Server) SetClientAuthHandler(handler ClientAuthHandler) { s.ClientAuthHandler = handler }

// SetTokenIssuedHandler sets the TokenIssuedHandler.
func (s *Server) SetTokenIssuedHandler(handler TokenIssuedHandler) { s.TokenIssuedHandler = handler }

// SetTokenType sets Config.TokenType.
func (s *Server) SetTokenType(tokenType string) { s.Config.TokenType = tokenType }

// SetAllowGetAccessRequest sets Config.AllowGetAccessRequest.
func (s *Server) SetAllowGetAccessRequest(allow bool) { s.Config.AllowGetAccessRequest = allow }

// SetAllowedResponseType sets Config.AllowedResponseTypes.
func (s *Server) SetAllowedResponseType(types ...oauth2.ResponseType) {
	s.Config.AllowedResponseTypes = types
}

// SetAllowedGrantType sets Config.AllowedGrantTypes.
func (s *Server) SetAllowedGrantType(types ...oauth2.GrantType) {
	s.Config.AllowedGrantTypes = types
}

// SetClientInfoHandler sets the ClientInfoHandler.
func (s *Server) SetClientInfoHandler(handler ClientInfoHandler) { s.ClientInfoHandler = handler }

// SetClientAuthorizedHandler sets the ClientAuthorizedHandler.
func (s *Server) SetClientAuthorizedHandler(handler ClientAuthorizedHandler) {
	s.ClientAuthorizedHandler = handler
}

// SetClientScopeHandler sets the ClientScopeHandler.
func (s *Server) SetClientScopeHandler(handler ClientScopeHandler) { s.ClientScopeHandler = handler }

// SetUserAuthorizationHandler sets the UserAuthorizationHandler.
func (s *Server) SetUserAuthorizationHandler(handler UserAuthorizationHandler) {
	s.UserAuthorizationHandler = handler
}

// SetPasswordAuthorizationHandler sets the PasswordAuthorizationHandler.
func (s *Server) SetPasswordAuthorizationHandler(handler PasswordAuthorizationHandler) {
	s.PasswordAuthorizationHandler = handler
}

// SetRefreshingScopeHandler sets the RefreshingScopeHandler.
func (s *Server) SetRefreshingScopeHandler(handler RefreshingScopeHandler) {
	s.RefreshingScopeHandler = handler
}

// SetRefreshingValidationHandler sets the RefreshingValidationHandler.
func (s *Server) SetRefreshingValidationHandler(handler RefreshingValidationHandler) {
	s.RefreshingValidationHandler = handler
}

// SetResponseErrorHandler sets the ResponseErrorHandler.
func (s *Server) SetResponseErrorHandler(handler ResponseErrorHandler) {
	s.ResponseErrorHandler = handler
}

// SetInternalErrorHandler sets the InternalErrorHandler.
func (s *Server) SetInternalErrorHandler(handler InternalErrorHandler) {
	s.InternalErrorHandler = handler
}

// SetPreRedirectErrorHandler sets the PreRedirectErrorHandler.
func (s *Server) SetPreRedirectErrorHandler(handler PreRedirectErrorHandler) {
	s.PreRedirectErrorHandler = handler
}

// SetAuthorizeScopeHandler sets the AuthorizeScopeHandler.
func (s *Server) SetAuthorizeScopeHandler(handler AuthorizeScopeHandler) {
	s.AuthorizeScopeHandler = handler
}

// SetAccessTokenExpHandler sets the AccessTokenExpHandler.
func (s *Server) SetAccessTokenExpHandler(handler AccessTokenExpHandler) {
	s.AccessTokenExpHandler = handler
}

// SetExtensionFieldsHandler sets the ExtensionFieldsHandler.
func (s *Server) SetExtensionFieldsHandler(handler ExtensionFieldsHandler) {
	s.ExtensionFieldsHandler = handler
}

// SetResponseTokenHandler sets the ResponseTokenHandler.
func (s *Server) SetResponseTokenHandler(handler ResponseTokenHandler) {
	s.ResponseTokenHandler = handler
}

// AddClientAuthenticator adds a client authentication method to the token
// endpoint, next to client_secret_basic, client_secret_post and none.
func (s *Server) AddClientAuthenticator(a ClientAuthenticator) {
	s.ClientAuthenticators = append(s.ClientAuthenticators, a)
}
