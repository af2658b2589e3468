package server

import (
	"context"
	stderrors "errors"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/oidc"
)

// The token endpoint of an OpenID Provider (see Server.OpenID): the
// id_token of the authorization code grant (OpenID Connect Core 1.0
// 3.1.3.3) and of the refresh token grant (12.2).

var errTokenEndUserGone = errors.WithDescription(errors.ErrInvalidGrant, "The End-User of the grant no longer exists")

// tokenIDToken returns the ID token of the token response for ti, which
// the grant gt has just issued and stored for the authenticated client of
// tgr: for the authorization code and refresh token grants of an OpenID
// Connect grant (one the authorization endpoint marked,
// oidc.IsOpenIDGrant) whose scope still has openid, when the server is an
// OpenID Provider; "" for every other response, such as the refresh of a
// password grant's token or the exchange of a code whose grant data the
// token store did not keep. An ID token on refresh carries the original
// auth_time and no nonce (12.2). A code that was already exchanged never
// gets here: the manager refuses it (invalid_grant).
//
// When the ID token cannot be made, the tokens just stored are revoked, so
// that nothing usable is left of the response the client never gets, and
// the error is returned: server_error, or invalid_grant when the End-User
// no longer exists.
func (s *Server) tokenIDToken(ctx context.Context, gt oauth2.GrantType, tgr *oauth2.TokenGenerateRequest, ti oauth2.TokenInfo) (string, error) {
	if gt != oauth2.AuthorizationCode && gt != oauth2.Refreshing {
		return "", nil
	}
	if ti == nil || ti.GetUserID() == "" || !oidc.IsOpenID(ti.GetScope()) || !oidc.IsOpenIDGrant(ti) {
		return "", nil
	}
	gen := s.idTokens(nil)
	if gen == nil {
		return "", nil
	}
	client := tgr.Client
	var err error
	if client == nil {
		client, err = s.Manager.GetClient(ctx, ti.GetClientID())
	}
	var raw string
	if err == nil {
		raw, err = gen.IDToken(ctx, &generates.IDTokenRequest{
			Client:         client,
			TokenInfo:      ti,
			AccessToken:    ti.GetAccess(),
			Refresh:        gt == oauth2.Refreshing,
			LoadUserClaims: s.userClaims(nil),
		})
	}
	if err == nil {
		return raw, nil
	}
	if rerr := s.revokeIssued(ctx, client, ti); rerr != nil {
		err = fmt.Errorf("%w (and revoking the tokens issued: %w)", err, rerr)
	}
	if stderrors.Is(err, oauth2.ErrNotFound) {
		return "", fmt.Errorf("%w: %w", errTokenEndUserGone, err)
	}
	return "", fmt.Errorf("server: ID token: %w", err)
}

// revokeIssued revokes the tokens of ti: its whole grant through the
// manager's TokenRevoker when it has a refresh token, else its refresh and
// access tokens.
func (s *Server) revokeIssued(ctx context.Context, client oauth2.ClientInfo, ti oauth2.TokenInfo) error {
	if refresh := ti.GetRefresh(); refresh != "" {
		if rv, ok := s.Manager.(TokenRevoker); ok && client != nil {
			return rv.RevokeToken(ctx, client, refresh, hintRefreshToken)
		}
		return s.Manager.RemoveRefreshToken(ctx, refresh)
	}
	if access := ti.GetAccess(); access != "" {
		return s.Manager.RemoveAccessToken(ctx, access)
	}
	return nil
}
