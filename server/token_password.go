package server

import (
	"context"
	stderrors "errors"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// The resource owner password credentials grant (RFC 6749 4.3.2). It is
// served only when Config.AllowedGrantTypes lists it and a
// PasswordAuthorizationHandler verifies the resource owner; RFC 9700 2.4
// says it must not be used.

var (
	errMissingUserCreds = errors.WithDescription(errors.ErrInvalidRequest, "The username and password parameters are required")
	errOwnerCredentials = errors.WithDescription(errors.ErrInvalidGrant, "The resource owner credentials are invalid")
)

type passwordGrant struct{}

func init() { RegisterGrant(passwordGrant{}) }

// Info names the password grant.
func (passwordGrant) Info() GrantInfo {
	return GrantInfo{Type: oauth2.PasswordCredentials, Name: string(oauth2.PasswordCredentials)}
}

// Available reports whether the server has a PasswordAuthorizationHandler.
func (passwordGrant) Available(s *Server) bool { return s.PasswordAuthorizationHandler != nil }

// ReadRequest reads scope, username and password (RFC 6749 4.3.2) and has
// the PasswordAuthorizationHandler verify the resource owner: a refusal
// (access_denied, or no user ID) is invalid_grant.
func (passwordGrant) ReadRequest(ctx context.Context, s *Server, p Params, tgr *oauth2.TokenGenerateRequest) error {
	scope, err := readScope(p)
	if err != nil {
		return err
	}
	tgr.Scope = scope
	username, password := p.Get("username"), p.Get("password")
	if username == "" || password == "" {
		return errMissingUserCreds
	}
	// Nothing is verified with a password read from the query string.
	if err := CheckBodyParams(p); err != nil {
		return err
	}
	fn := s.PasswordAuthorizationHandler
	if fn == nil {
		return errUnsupportedGrant
	}
	userID, err := fn(ctx, tgr.ClientID, username, password)
	switch {
	case err != nil && stderrors.Is(err, errors.ErrAccessDenied):
		return errOwnerCredentials
	case err != nil:
		return err
	case userID == "":
		return errOwnerCredentials
	}
	tgr.UserID = userID
	return nil
}

// Issue runs the ClientScopeHandler and has the manager issue.
func (passwordGrant) Issue(ctx context.Context, s *Server, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	if err := s.checkClientScope(tgr); err != nil {
		return nil, err
	}
	return s.Manager.GenerateAccessToken(ctx, oauth2.PasswordCredentials, tgr)
}
