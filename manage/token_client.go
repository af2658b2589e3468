package manage

import (
	"context"

	"github.com/oauth2d/oauth2"
)

// clientToken is the client credentials grant (RFC 6749 4.4.2), the hot
// path of the token endpoint: one store call, no reflection, no formatting
// on success. Only confidential clients may use it (RFC 6749 4.4), and by
// default it issues no refresh token (RFC 6749 4.4.3).
func (m *Manager) clientToken(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	cli, err := m.clientFor(ctx, tgr, oauth2.ClientCredentials)
	if err != nil {
		return nil, err
	}
	return m.issueDirect(ctx, cli, tgr, &m.clientCfg)
}
