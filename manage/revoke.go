package manage

import (
	"context"
	stderrors "errors"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// Token type hints of RFC 7009 2.1.
const (
	hintAccessToken  = "access_token"
	hintRefreshToken = "refresh_token"
)

// RevokeToken revokes token on behalf of the authenticated client, for the
// revocation endpoint (RFC 7009 2.1).
//
// The token is looked up as an access token and as a refresh token
// whatever tokenTypeHint says; the hint only chooses which is tried first.
// Revoking a refresh token revokes its whole grant, the access tokens
// issued with it included (RFC 7009 2.1, RFC 9700 4.14.2); revoking an
// access token removes that token. A token that is unknown or already
// invalid is left alone and nil is returned, so that the endpoint answers
// 200 (RFC 7009 2.2). A live token issued to another client is left alone
// and policy.ErrForeignToken (unauthorized_client) returned: RFC 7009 2.1
// has the server refuse the request. A store failure is returned wrapped
// (503 or 500).
func (m *Manager) RevokeToken(ctx context.Context, cli oauth2.ClientInfo, token, tokenTypeHint string) error {
	if cli == nil {
		return errors.ErrInvalidClient
	}
	if m.tokenStore == nil {
		return errNoTokenStore
	}
	if token == "" {
		return nil
	}
	if tokenTypeHint == hintRefreshToken {
		if done, err := m.revokeRefresh(ctx, cli, token); done || err != nil {
			return err
		}
		_, err := m.revokeAccess(ctx, cli, token)
		return err
	}
	if done, err := m.revokeAccess(ctx, cli, token); done || err != nil {
		return err
	}
	_, err := m.revokeRefresh(ctx, cli, token)
	return err
}

// revokeAccess removes token if it is a live access token of cli. It
// reports whether token was found as an access token.
func (m *Manager) revokeAccess(ctx context.Context, cli oauth2.ClientInfo, token string) (bool, error) {
	ti, err := m.tokenStore.GetByAccess(ctx, token)
	if err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("manage: revoke: %w", err)
	}
	if ti == nil {
		return true, nil
	}
	if ti.GetClientID() != cli.GetID() {
		return true, policy.ErrForeignToken
	}
	if err := m.tokenStore.RemoveByAccess(ctx, token); err != nil {
		return true, fmt.Errorf("manage: revoke access token: %w", err)
	}
	return true, nil
}

// revokeRefresh revokes the grant of token if it is a live refresh token of
// cli. It reports whether token was found as a refresh token. A rotated-out
// refresh token is already invalid, and since the store does not say whose
// it was, it is left alone.
func (m *Manager) revokeRefresh(ctx context.Context, cli oauth2.ClientInfo, token string) (bool, error) {
	ti, err := m.tokenStore.GetByRefresh(ctx, token)
	if err != nil {
		switch {
		case stderrors.Is(err, oauth2.ErrReused):
			return true, nil
		case stderrors.Is(err, oauth2.ErrNotFound):
			return false, nil
		}
		return false, fmt.Errorf("manage: revoke: %w", err)
	}
	if ti == nil {
		return true, nil
	}
	if ti.GetClientID() != cli.GetID() {
		return true, policy.ErrForeignToken
	}
	if id := ti.GetGrantID(); id != "" {
		err = m.tokenStore.RevokeGrant(ctx, id)
	} else {
		err = m.tokenStore.RemoveByRefresh(ctx, token)
	}
	if err != nil {
		return true, fmt.Errorf("manage: revoke refresh token: %w", err)
	}
	return true, nil
}
