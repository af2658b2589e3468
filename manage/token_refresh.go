package manage

import (
	"context"
	stderrors "errors"
	"fmt"
	"net/url"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// RefreshAccessToken is the refresh token grant (RFC 6749 6).
//
// The client is authenticated as for every grant and must be the one the
// refresh token was issued to (RFC 6749 6). A requested scope must be
// within the scope the grant was originally given; an empty scope gets that
// whole scope back, even after an earlier refresh narrowed it (RFC 6749 6:
// "if omitted is treated as equal to the scope originally granted by the
// resource owner"). When the new access token's scope is narrower, the
// record keeps the original under policy.ExtensionGrantedScope.
//
// The new record keeps the user, redirect URI and grant ID; it gets a new
// access token and, unless rotation is turned off, a new refresh token.
// Public clients always get a new refresh token, whatever
// RefreshingConfig.IsGenerateRefresh says (RFC 9700 4.14.2: their refresh
// tokens must be sender-constrained or rotated). The store's atomic
// RotateRefresh retires the old pair and remembers the old refresh token:
// presenting it again revokes the whole grant (RFC 9700 4.14.2), as does
// losing a concurrent rotation.
func (m *Manager) RefreshAccessToken(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	if tgr == nil {
		return nil, errors.ErrInvalidRequest
	}
	if m.tokenStore == nil {
		return nil, errNoTokenStore
	}
	cli, err := m.clientFor(ctx, tgr, oauth2.Refreshing)
	if err != nil {
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
	granted := policy.GrantedScope(old)
	scope := granted
	if tgr.Scope != "" {
		if !policy.ScopeWithin(tgr.Scope, granted) {
			return nil, errors.ErrInvalidScope
		}
		scope = tgr.Scope
	}

	rcfg := &m.refreshCfg
	rotate := rcfg.IsGenerateRefresh || cli.IsPublic()
	issued := m.newToken()
	issued.SetClientID(old.GetClientID())
	issued.SetUserID(old.GetUserID())
	issued.SetRedirectURI(old.GetRedirectURI())
	issued.SetGrantID(old.GetGrantID())
	issued.SetScope(scope)
	if err := m.extend(ctx, tgr, issued, old, false); err != nil {
		return nil, err
	}
	// RFC 9449 key binding, RFC 8707 resources (sender.go).
	if err := bindSender(cli, tgr, old, issued, true); err != nil {
		return nil, err
	}

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
	case rotate:
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
	if !rotate {
		issued.SetRefresh(tgr.Refresh)
	}
	// After the record's other extension data is in place: the granted
	// scope is one more value of the grant's extension.
	keepGrantedScope(issued, granted)
	if err := m.generateAccess(ctx, cli.Info(), issued, now, rotate, tgr); err != nil {
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

// keepGrantedScope records on issued, under policy.ExtensionGrantedScope,
// the scope its grant was originally given when issued's own scope is
// narrower, and removes the key when they are the same, so that a record
// carries it only while a refresh has narrowed the scope (RFC 6749 6). A
// token model without extension data keeps the narrowed scope only, as
// before this key existed.
func keepGrantedScope(issued oauth2.TokenInfo, granted string) {
	e, ok := issued.(oauth2.ExtendableTokenInfo)
	if !ok {
		return
	}
	cur := e.GetExtension()
	_, has := cur[policy.ExtensionGrantedScope]
	if granted == issued.GetScope() {
		if has {
			next := cloneValues(cur)
			delete(next, policy.ExtensionGrantedScope)
			if len(next) == 0 {
				next = nil
			}
			e.SetExtension(next)
		}
		return
	}
	next := cloneValues(cur)
	next[policy.ExtensionGrantedScope] = []string{granted}
	e.SetExtension(next)
}

// cloneValues copies v, never returning nil.
func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+1)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
