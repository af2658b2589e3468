package manage

import (
	"context"
	stderrors "errors"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// GenerateAccessToken answers a token request (RFC 6749 4.1.3, 4.3.2,
// 4.4.2, 6) for the grant gt and returns the stored record.
//
// The client is the one the server authenticated (tgr.Client); without it
// the manager looks up tgr.ClientID and verifies tgr.ClientSecret in
// constant time, and an unknown client or a wrong or missing secret is
// errors.ErrInvalidClient (RFC 6749 5.2). A client whose registration does
// not list the grant is errors.ErrUnauthorizedClient; so is a public client
// asking for client credentials (RFC 6749 4.4). For the device grant
// (RFC 8628 3.4) the caller has verified the device code and sets the
// approving user and scope. tgr.AccessTokenExp, when
// positive, overrides the configured access token lifetime. On any error no
// token is returned.
func (m *Manager) GenerateAccessToken(ctx context.Context, gt oauth2.GrantType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	if tgr == nil {
		return nil, errors.ErrInvalidRequest
	}
	if m.tokenStore == nil {
		return nil, errNoTokenStore
	}
	switch gt {
	case oauth2.ClientCredentials:
		return m.clientToken(ctx, tgr)
	case oauth2.AuthorizationCode:
		return m.exchangeCode(ctx, tgr)
	case oauth2.Refreshing:
		return m.RefreshAccessToken(ctx, tgr)
	case oauth2.PasswordCredentials:
		return m.passwordToken(ctx, tgr)
	case oauth2.DeviceCode:
		return m.deviceToken(ctx, tgr)
	}
	return nil, errors.ErrUnsupportedGrantType
}

// LoadAccessToken returns the live record of an access token, for a
// resource server or introspection (RFC 6750, RFC 7662). An unknown token is
// errors.ErrInvalidAccessToken; one that the manager's clock finds expired
// is errors.ErrExpiredAccessToken, even if the store still returned it.
func (m *Manager) LoadAccessToken(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	if m.tokenStore == nil {
		return nil, errNoTokenStore
	}
	if access == "" {
		return nil, errors.ErrInvalidAccessToken
	}
	ti, err := m.tokenStore.GetByAccess(ctx, access)
	if err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			return nil, errors.ErrInvalidAccessToken
		}
		return nil, fmt.Errorf("manage: load access token: %w", err)
	}
	if ti == nil || ti.GetAccess() != access {
		return nil, errors.ErrInvalidAccessToken
	}
	if expired(ti.GetAccessCreateAt(), ti.GetAccessExpiresIn(), m.now()) {
		return nil, errors.ErrExpiredAccessToken
	}
	return ti, nil
}

// LoadRefreshToken returns the live record of a refresh token. An unknown
// or rotated-out token is errors.ErrInvalidRefreshToken: a mere load
// revokes nothing, only a refresh does (RFC 9700 4.14.2). An expired one is
// errors.ErrExpiredRefreshToken.
func (m *Manager) LoadRefreshToken(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	if m.tokenStore == nil {
		return nil, errNoTokenStore
	}
	if refresh == "" {
		return nil, errors.ErrInvalidRefreshToken
	}
	ti, err := m.tokenStore.GetByRefresh(ctx, refresh)
	if err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) || stderrors.Is(err, oauth2.ErrReused) {
			return nil, errors.ErrInvalidRefreshToken
		}
		return nil, fmt.Errorf("manage: load refresh token: %w", err)
	}
	if ti == nil || ti.GetRefresh() != refresh {
		return nil, errors.ErrInvalidRefreshToken
	}
	if expired(ti.GetRefreshCreateAt(), ti.GetRefreshExpiresIn(), m.now()) {
		return nil, errors.ErrExpiredRefreshToken
	}
	return ti, nil
}

// RemoveAccessToken removes an access token from the store. Removing an
// unknown token is not an error.
func (m *Manager) RemoveAccessToken(ctx context.Context, access string) error {
	if m.tokenStore == nil {
		return errNoTokenStore
	}
	if access == "" {
		return errors.ErrInvalidAccessToken
	}
	if err := m.tokenStore.RemoveByAccess(ctx, access); err != nil {
		return fmt.Errorf("manage: remove access token: %w", err)
	}
	return nil
}

// RemoveRefreshToken removes a refresh token, and the access token stored
// with it, from the store. Removing an unknown token is not an error.
func (m *Manager) RemoveRefreshToken(ctx context.Context, refresh string) error {
	if m.tokenStore == nil {
		return errNoTokenStore
	}
	if refresh == "" {
		return errors.ErrInvalidRefreshToken
	}
	if err := m.tokenStore.RemoveByRefresh(ctx, refresh); err != nil {
		return fmt.Errorf("manage: remove refresh token: %w", err)
	}
	return nil
}
