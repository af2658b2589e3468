package manage

import (
	"context"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// GenerateAuthToken answers an authorization request (RFC 6749 4.1.1,
// 4.2.1) that the resource owner has approved: rt Code issues an
// authorization code, rt Token an access token (the implicit grant).
//
// It checks, in this order: the client exists (errors.ErrInvalidClient,
// which the server shows without redirecting, RFC 6749 4.1.2.1); the
// redirect URI (ValidateRedirectURI); the client may use the grant
// (errors.ErrUnauthorizedClient); the scope is among the client's
// (errors.ErrInvalidScope); and, for a code, PKCE (RFC 7636 4.4). The record
// is stored before it is returned; on any error nothing is returned.
func (m *Manager) GenerateAuthToken(ctx context.Context, rt oauth2.ResponseType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	if tgr == nil {
		return nil, errors.ErrInvalidRequest
	}
	if m.tokenStore == nil {
		return nil, errNoTokenStore
	}
	cli := tgr.Client
	if cli == nil {
		var err error
		if cli, err = m.GetClient(ctx, tgr.ClientID); err != nil {
			return nil, err
		}
	}
	pc := policy.Of(cli)
	if _, err := m.ValidateRedirectURI(ctx, cli, tgr.RedirectURI); err != nil {
		return nil, err
	}
	var gt oauth2.GrantType
	switch rt {
	case oauth2.Code:
		gt = oauth2.AuthorizationCode
	case oauth2.Token:
		gt = oauth2.Implicit
	default:
		return nil, errors.ErrUnsupportedResponseType
	}
	if err := pc.CheckGrant(gt); err != nil {
		return nil, err
	}
	if err := pc.CheckScope(tgr.Scope); err != nil {
		return nil, err
	}

	ti := m.newToken()
	ti.SetClientID(cli.GetID())
	ti.SetUserID(tgr.UserID)
	// The redirect URI exactly as requested, "" when omitted: the token
	// request must then repeat it identically (RFC 6749 4.1.3).
	ti.SetRedirectURI(tgr.RedirectURI)
	ti.SetScope(tgr.Scope)
	if err := m.extend(ctx, tgr, ti, nil, true); err != nil {
		return nil, err
	}

	var err error
	if rt == oauth2.Code {
		err = m.issueCode(ctx, cli, ti, tgr)
	} else {
		err = m.issueImplicit(ctx, cli, ti, tgr)
	}
	if err != nil {
		return nil, err
	}
	if err := m.tokenStore.Create(ctx, ti); err != nil {
		return nil, fmt.Errorf("manage: store authorization: %w", err)
	}
	return ti, nil
}
