package server

import (
	"context"

	"github.com/oauth2d/oauth2"
)

// The client credentials grant (RFC 6749 4.4.2): confidential clients only
// (the policy refuses public ones before the grant is read), the hot path
// of the token endpoint.

type clientCredentialsGrant struct{}

func init() { RegisterGrant(clientCredentialsGrant{}) }

// Info names the client_credentials grant.
func (clientCredentialsGrant) Info() GrantInfo {
	return GrantInfo{Type: oauth2.ClientCredentials, Name: string(oauth2.ClientCredentials)}
}

// ReadRequest reads scope (RFC 6749 4.4.2).
func (clientCredentialsGrant) ReadRequest(_ context.Context, _ *Server, p Params, tgr *oauth2.TokenGenerateRequest) (err error) {
	tgr.Scope, err = readScope(p)
	return err
}

// Issue runs the ClientScopeHandler and has the manager issue.
func (clientCredentialsGrant) Issue(ctx context.Context, s *Server, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	if err := s.checkClientScope(tgr); err != nil {
		return nil, err
	}
	return s.Manager.GenerateAccessToken(ctx, oauth2.ClientCredentials, tgr)
}
