package manage

import (
	"context"

	"github.com/oauth2d/oauth2"
)

// issueImplicit fills ti with an access token of the implicit grant
// (RFC 6749 4.2.2): never a refresh token, and no grant ID, since the token
// comes from no code or refresh token whose replay could revoke it.
func (m *Manager) issueImplicit(ctx context.Context, cli oauth2.ClientInfo, ti oauth2.TokenInfo, tgr *oauth2.TokenGenerateRequest) error {
	now := m.now()
	ti.SetAccessCreateAt(now)
	ti.SetAccessExpiresIn(accessExp(tgr, m.implicitCfg.AccessTokenExp))
	return m.generateAccess(ctx, cli, ti, now, false, tgr)
}
