package server

import (
	"context"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// The authorization code grant at the token endpoint (RFC 6749 4.1.3, with
// the code_verifier of RFC 7636 4.5). The manager checks the code, its
// client, its redirect_uri and the verifier against the stored challenge.

var errMissingCode = errors.WithDescription(errors.ErrInvalidRequest, "The code parameter is missing")

type codeGrant struct{}

func init() { RegisterGrant(codeGrant{}) }

// Info names the authorization_code grant, which /authorize starts with
// response_type=code.
func (codeGrant) Info() GrantInfo {
	return GrantInfo{Type: oauth2.AuthorizationCode, Name: string(oauth2.AuthorizationCode), ResponseType: oauth2.Code}
}

// ReadRequest reads code (required), redirect_uri and code_verifier, which
// Config.ForcePKCE requires.
func (codeGrant) ReadRequest(_ context.Context, s *Server, p Params, tgr *oauth2.TokenGenerateRequest) error {
	if tgr.Code = p.Get("code"); tgr.Code == "" {
		return errMissingCode
	}
	tgr.RedirectURI = p.Get("redirect_uri")
	tgr.CodeVerifier = p.Get("code_verifier")
	if tgr.CodeVerifier == "" && s.Config.ForcePKCE {
		return errors.ErrMissingCodeVerifier
	}
	return nil
}

// Issue exchanges the code (RFC 6749 4.1.3).
func (codeGrant) Issue(ctx context.Context, s *Server, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	return s.Manager.GenerateAccessToken(ctx, oauth2.AuthorizationCode, tgr)
}
