package manage

import (
	"context"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// errDeviceNoUser: a device grant is always issued for the resource owner
// who approved it (RFC 8628 3.3); without one there is nothing to issue.
var errDeviceNoUser = errors.WithDescription(errors.ErrInvalidGrant, "The device authorization has no approving user")

// deviceToken issues the tokens of an approved device authorization grant
// (RFC 8628 3.4, 3.5). The server has checked the device_code, consumed it
// exactly once, and set tgr.UserID and tgr.Scope to what the user approved;
// the manager authenticates the client (or takes the one the server
// authenticated) and checks the grant and the scope against its
// registration.
//
// The device grant is delegated by a user as the authorization code grant
// is, so it issues tokens with that grant's configuration
// (SetAuthorizeCodeTokenCfg): an access token and, unless the client's
// registered grant types leave out refresh_token, a refresh token that opens
// a new grant, rotated and replay-checked like any other (RFC 9700 4.14.2).
func (m *Manager) deviceToken(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	cli, err := m.clientFor(ctx, tgr, oauth2.DeviceCode)
	if err != nil {
		return nil, err
	}
	if tgr.UserID == "" {
		return nil, errDeviceNoUser
	}
	return m.issueDirect(ctx, cli, tgr, &m.codeCfg)
}
