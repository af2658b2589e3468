package manage

import (
	"context"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/policy"
)

// passwordToken is the resource owner password credentials grant
// (RFC 6749 4.3.2). The server has verified the resource owner's password
// and set tgr.UserID; the manager authenticates the client and checks the
// grant and the scope.
func (m *Manager) passwordToken(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	cli, err := m.clientFor(ctx, tgr, oauth2.PasswordCredentials)
	if err != nil {
		return nil, err
	}
	return m.issueDirect(ctx, cli, tgr, &m.passwordCfg)
}

// issueDirect issues and stores the tokens of a grant that has no code:
// password and client credentials. A refresh token, when configured and
// allowed for the client, opens a new grant that its rotation and replay
// detection follow (RFC 9700 4.14.2).
func (m *Manager) issueDirect(ctx context.Context, cli policy.Client, tgr *oauth2.TokenGenerateRequest, cfg *Config) (oauth2.TokenInfo, error) {
	if err := cli.CheckScope(tgr.Scope); err != nil {
		return nil, err
	}
	now := m.now()
	ti := m.newToken()
	ti.SetClientID(cli.ID())
	ti.SetUserID(tgr.UserID)
	ti.SetScope(tgr.Scope)
	if err := m.extend(ctx, tgr, ti, nil, true); err != nil {
		return nil, err
	}
	ti.SetAccessCreateAt(now)
	ti.SetAccessExpiresIn(accessExp(tgr, cfg.AccessTokenExp))
	withRefresh := cfg.IsGenerateRefresh && cli.AllowsGrant(oauth2.Refreshing)
	if withRefresh {
		ti.SetGrantID(newGrantID())
		ti.SetRefreshCreateAt(now)
		ti.SetRefreshExpiresIn(cfg.RefreshTokenExp)
	}
	if err := m.generateAccess(ctx, cli.Info(), ti, now, withRefresh, tgr); err != nil {
		return nil, err
	}
	if err := m.tokenStore.Create(ctx, ti); err != nil {
		return nil, fmt.Errorf("manage: store token: %w", err)
	}
	return ti, nil
}
