package manage

import (
	"context"
	stderrors "errors"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// RefreshAccessToken is the refresh token grant (RFC 6749 6).
//
// The client is authenticated as for every grant and must be the one the
// refresh token was issued to (RFC 6749 6). A requested scope must be
// within the original grant's, which an empty scope keeps (RFC 6749 6).
// The new record keeps the user, redirect URI and grant ID; it gets a new
// access token and, unless rotation is turned off, a new refresh token. The
// store's atomic RotateRefresh retires the old pair and remembers the old
// refresh token: presenting it again revokes the whole grant
// (RFC 9700 4.14.2), as does losing a concurrent rotation.
func (m *Manager) RefreshAccessToken(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	if tgr == nil {
		return nil, errors.ErrInvalidRequest
	}
	if m.tokenStore == nil {
		return nil, errNoTokenStore
	}
	cli, err := m.authenticate(ctx, tgr)
	if err != nil {
		return nil, err
	}
	if err := cli.CheckGrant(oauth2.Refreshing); err != nil {
		return nil, err
	}
	if tgr.Refresh == "" {
		return nil, errors.ErrInvalidRefreshToken
	}
	old, err := m.tokenStore.GetByRefresh(ctx, tgr.Refresh)
	if err != nil {
		return nil, m.refreshStoreError(ctx, err)
	}
	if old == nil || old.GetClientID() != cli.ID() {
		return nil, errors.ErrInvalidRefreshToken
	}
	now := m.now()
	if expired(old.GetRefreshCreateAt(), old.GetRefreshExpiresIn(), now) {
		return nil, errors.ErrExpiredRefreshToken
	}
	scope := old.GetScope()
	if tgr.Scope != "" {
		if !policy.ScopeWithin(tgr.Scope, scope) {
			return nil, errors.ErrInvalidScope
		}
		scope = tgr.Scope
	}

	rcfg := &m.refreshCfg
	issued := m.newToken()
	issued.SetClientID(old.GetClientID())
	issued.SetUserID(old.GetUserID())
	issued.SetRedirectURI(old.GetRedirectURI())
	issued.SetGrantID(old.GetGrantID())
	issued.SetScope(scope)

	// The access lifetime: the configured one, else the one the grant's
	// access tokens had, else (the store returned no access part, e.g. it
	// had expired) the authorization code grant's. Never "no expiry" by
	// accident.
	exp := rcfg.AccessTokenExp
	if exp <= 0 {
		exp = old.GetAccessExpiresIn()
	}
	if exp <= 0 {
		exp = m.codeCfg.AccessTokenExp
	}
	issued.SetAccessCreateAt(now)
	issued.SetAccessExpiresIn(accessExp(tgr, exp))

	lifetime := rcfg.RefreshTokenExp
	if lifetime <= 0 {
		lifetime = old.GetRefreshExpiresIn()
	}
	// The refresh token's create time and lifetime. A rotated token is
	// stamped now; unless IsResetRefreshTime, it expires when the token it
	// replaces would have, so that refreshing never extends the grant.
	createAt, refreshExp := old.GetRefreshCreateAt(), lifetime
	switch {
	case rcfg.IsResetRefreshTime:
		createAt = now
	case rcfg.IsGenerateRefresh:
		createAt = now
		if lifetime > 0 {
			refreshExp = old.GetRefreshCreateAt().Add(lifetime).Sub(now)
			if refreshExp <= 0 {
				return nil, errors.ErrExpiredRefreshToken
			}
		}
	}
	if expired(createAt, refreshExp, now) {
		return nil, errors.ErrExpiredRefreshToken
	}
	issued.SetRefreshCreateAt(createAt)
	issued.SetRefreshExpiresIn(refreshExp)
	if !rcfg.IsGenerateRefresh {
		issued.SetRefresh(tgr.Refresh)
	}
	if err := m.generateAccess(ctx, cli.Info(), issued, now, rcfg.IsGenerateRefresh, tgr); err != nil {
		return nil, err
	}
	if err := m.tokenStore.RotateRefresh(ctx, tgr.Refresh, issued); err != nil {
		return nil, m.refreshStoreError(ctx, err)
	}
	return issued, nil
}

// refreshStoreError maps a store error about a refresh token: a replay of
// a rotated-out token revokes the grant and is invalid_grant
// (RFC 9700 4.14.2), an unknown token is invalid_grant, anything else is
// the store's failure.
func (m *Manager) refreshStoreError(ctx context.Context, err error) error {
	var reused *oauth2.ReusedError
	switch {
	case stderrors.As(err, &reused):
		return m.revokeReplayed(ctx, reused, errors.ErrInvalidRefreshToken)
	case stderrors.Is(err, oauth2.ErrNotFound):
		return errors.ErrInvalidRefreshToken
	}
	return fmt.Errorf("manage: refresh token: %w", err)
}
