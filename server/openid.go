package server

import (
	"net/http"

	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/oidc"
)

// A Server is an OpenID Provider (OpenID Connect Core 1.0) when it has an
// ID token generator: the one of its OpenIDConfig (Server.OpenID), else the
// one mapped on its manager (manage.Manager.MapIDTokenGenerate, found
// through IDTokenGenerateProvider). Then:
//
//   - the authorization endpoint reads the OpenID Connect parameters of
//     requests with the openid scope (prompt, max_age, nonce,
//     id_token_hint, claims, ...), asks the UserAuthenticationHandler who
//     the End-User is and enforces what the request demands of the
//     session, and keeps nonce, auth_time, acr, amr, sid and the claims
//     request with the grant (authorize_oidc.go, authenticate.go);
//   - with the implicit switch on (oauth2.Token in
//     Config.AllowedResponseTypes) it also serves the response types of
//     the implicit and hybrid flows, id_token, id_token token, code
//     id_token, code token and code id_token token (Core 3.2, 3.3), each
//     with a nonce;
//   - it answers in the response_mode the client asks for: query,
//     fragment or form_post (OAuth 2.0 Multiple Response Type Encoding
//     Practices 2.1, OAuth 2.0 Form Post Response Mode 2);
//   - the token endpoint adds an id_token to the responses of the
//     authorization code and refresh token grants of openid grants
//     (token_oidc.go);
//   - HandleUserInfoRequest serves the UserInfo endpoint (Core 5.3) and
//     HandleOpenIDConfigurationRequest the discovery document (Discovery
//     1.0 4).
//
// Without a generator, requests with the openid scope are OAuth 2.0
// requests like any other, as before.

// IDTokenGenerateProvider is implemented by managers that hold an ID token
// generator, as manage.Manager does (MapIDTokenGenerate).
type IDTokenGenerateProvider interface {
	IDTokenGenerate() generates.IDTokenGenerate
}

// SubjectsProvider is implemented by ID token generators that compute sub
// with an oidc.Subjects, as generates.JWTIDTokenGenerate does: the UserInfo
// endpoint and the id_token_hint check then use the same.
type SubjectsProvider interface {
	Subjects() *oidc.Subjects
}

// IDTokenHintParser is implemented by ID token generators that can verify
// an id_token_hint (OpenID Connect Core 1.0 3.1.2.1), as
// generates.JWTIDTokenGenerate does. With a generator that does not, an
// id_token_hint is refused as invalid.
type IDTokenHintParser interface {
	ParseIDTokenHint(raw string) (*oidc.IDTokenHint, error)
}

// noOpenIDConfig is the configuration of a Server without an OpenID field.
var noOpenIDConfig = &OpenIDConfig{}

// SetOpenIDConfig sets Server.OpenID, the OpenID Connect configuration
// beyond the ID token generator: the End-User's claims, subject
// identifiers and what the discovery document advertises.
func (s *Server) SetOpenIDConfig(cfg *OpenIDConfig) { s.OpenID = cfg }

// SetUserClaimsHandler sets the UserClaimsHandler of Server.OpenID,
// creating it when nil: where the UserInfo endpoint and the ID tokens take
// the End-User's claims from (OpenID Connect Core 1.0 5.1).
func (s *Server) SetUserClaimsHandler(handler UserClaimsHandler) {
	if s.OpenID == nil {
		s.OpenID = &OpenIDConfig{}
	}
	s.OpenID.UserClaimsHandler = handler
}

// openID returns Server.OpenID, never nil.
func (s *Server) openID() *OpenIDConfig {
	if s.OpenID != nil {
		return s.OpenID
	}
	return noOpenIDConfig
}

// idTokens returns the ID token generator of cfg, else of Server.OpenID,
// else of the manager; nil when the server is no OpenID Provider.
func (s *Server) idTokens(cfg *OpenIDConfig) generates.IDTokenGenerate {
	if cfg != nil && cfg.IDTokens != nil {
		return cfg.IDTokens
	}
	if s.OpenID != nil && s.OpenID.IDTokens != nil {
		return s.OpenID.IDTokens
	}
	if p, ok := s.Manager.(IDTokenGenerateProvider); ok {
		return p.IDTokenGenerate()
	}
	return nil
}

// openIDEnabled reports whether the server is an OpenID Provider: whether
// it has an ID token generator.
func (s *Server) openIDEnabled() bool { return s.idTokens(nil) != nil }

// subjects returns the Subjects of cfg, else of the ID token generator;
// nil serves public identifiers only.
func (s *Server) subjects(cfg *OpenIDConfig) *oidc.Subjects {
	if cfg != nil && cfg.Subjects != nil {
		return cfg.Subjects
	}
	if s.OpenID != nil && s.OpenID.Subjects != nil {
		return s.OpenID.Subjects
	}
	if p, ok := s.idTokens(cfg).(SubjectsProvider); ok {
		return p.Subjects()
	}
	return nil
}

// userClaims returns the UserClaimsHandler of cfg, else of Server.OpenID.
func (s *Server) userClaims(cfg *OpenIDConfig) UserClaimsHandler {
	if cfg != nil && cfg.UserClaimsHandler != nil {
		return cfg.UserClaimsHandler
	}
	return s.openID().UserClaimsHandler
}

// HandleUserInfoRequest serves the UserInfo endpoint (OpenID Connect Core
// 1.0 5.3) with the server's own OpenID Connect configuration, as
// UserInfoHandler(Server.OpenID) does; see UserInfoHandler.
func (s *Server) HandleUserInfoRequest(w http.ResponseWriter, r *http.Request) {
	if err := s.serveUserInfo(w, r, s.openID()); err != nil {
		s.userInfoError(w, r, err)
	}
}

// HandleOpenIDConfigurationRequest serves the OpenID Provider
// configuration document (OpenID Connect Discovery 1.0 4) of the server's
// own configuration, at OpenIDConfigurationPath(Config.Issuer), as
// OpenIDConfigurationHandler(Server.OpenID) does; see
// OpenIDConfigurationHandler.
func (s *Server) HandleOpenIDConfigurationRequest(w http.ResponseWriter, r *http.Request) {
	s.serveOpenIDConfiguration(w, r, s.openID())
}
