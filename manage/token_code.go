package manage

import (
	"context"
	stderrors "errors"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// errRedirectMismatch: the token request's redirect_uri differs from the
// authorization request's (RFC 6749 4.1.3).
var errRedirectMismatch = errors.WithDescription(errors.ErrInvalidGrant, "The redirect_uri does not match the authorization request")

// issueCode fills ti with an authorization code (RFC 6749 4.1.2): single
// use, short-lived, bound to the client, the redirect URI and the PKCE
// challenge, and the first record of a new grant, whose ID every token
// issued from the code shares so that a replay of the code revokes them.
func (m *Manager) issueCode(ctx context.Context, cli oauth2.ClientInfo, ti oauth2.TokenInfo, tgr *oauth2.TokenGenerateRequest) error {
	method, err := m.checkCodeChallenge(cli, tgr.CodeChallenge, tgr.CodeChallengeMethod)
	if err != nil {
		return err
	}
	gen := m.authorizeGenerate
	if gen == nil {
		return errNoAuthorizeGenerate
	}
	now := m.now()
	ti.SetGrantID(newGrantID())
	ti.SetCodeChallenge(tgr.CodeChallenge)
	ti.SetCodeChallengeMethod(method)
	ti.SetCodeCreateAt(now)
	ti.SetCodeExpiresIn(m.codeExp)
	code, err := gen.Token(ctx, &oauth2.GenerateBasic{
		Client:    cli,
		UserID:    tgr.UserID,
		CreateAt:  now,
		TokenInfo: ti,
		Request:   tgr.Request,
	})
	if err != nil {
		return fmt.Errorf("manage: generate authorization code: %w", err)
	}
	if code == "" {
		return errEmptyGenerated
	}
	ti.SetCode(code)
	return nil
}

// exchangeCode is the authorization code grant at the token endpoint
// (RFC 6749 4.1.3, RFC 7636 4.6). The code must be live and issued to the
// authenticated client, the redirect_uri must repeat the authorization
// request's, and the code_verifier must match the stored challenge.
// Validation failures do not consume the code; the store's atomic
// ExchangeCode does, and a replayed code (or the loser of a concurrent
// exchange) revokes every token the code issued (RFC 6749 4.1.2,
// RFC 9700 4.5).
func (m *Manager) exchangeCode(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	cli, err := m.authenticate(ctx, tgr)
	if err != nil {
		return nil, err
	}
	if err := cli.CheckGrant(oauth2.AuthorizationCode); err != nil {
		return nil, err
	}
	if tgr.Code == "" {
		return nil, errors.ErrInvalidAuthorizeCode
	}
	code, err := m.tokenStore.GetByCode(ctx, tgr.Code)
	if err != nil {
		return nil, m.codeStoreError(ctx, err)
	}
	now := m.now()
	if code == nil || code.GetClientID() != cli.ID() ||
		expired(code.GetCodeCreateAt(), code.GetCodeExpiresIn(), now) {
		return nil, errors.ErrInvalidAuthorizeCode
	}
	if err := m.checkCodeRedirect(ctx, cli.Info(), code.GetRedirectURI(), tgr.RedirectURI); err != nil {
		return nil, err
	}
	if err := verifyCodeChallenge(code, tgr.CodeVerifier); err != nil {
		return nil, err
	}

	issued := m.newToken()
	issued.SetClientID(code.GetClientID())
	issued.SetUserID(code.GetUserID())
	issued.SetScope(code.GetScope())
	issued.SetRedirectURI(code.GetRedirectURI())
	issued.SetGrantID(code.GetGrantID())
	cfg := &m.codeCfg
	issued.SetAccessCreateAt(now)
	issued.SetAccessExpiresIn(accessExp(tgr, cfg.AccessTokenExp))
	withRefresh := cfg.IsGenerateRefresh && cli.AllowsGrant(oauth2.Refreshing)
	if withRefresh {
		issued.SetRefreshCreateAt(now)
		issued.SetRefreshExpiresIn(cfg.RefreshTokenExp)
	}
	if err := m.generateAccess(ctx, cli.Info(), issued, now, withRefresh, tgr); err != nil {
		return nil, err
	}
	if err := m.tokenStore.ExchangeCode(ctx, tgr.Code, issued); err != nil {
		return nil, m.codeStoreError(ctx, err)
	}
	return issued, nil
}

// codeStoreError maps a store error about a code: a replay revokes the
// grant and is invalid_grant, an unknown code is invalid_grant, anything
// else is the store's failure.
func (m *Manager) codeStoreError(ctx context.Context, err error) error {
	var reused *oauth2.ReusedError
	switch {
	case stderrors.As(err, &reused):
		return m.revokeReplayed(ctx, reused, errors.ErrInvalidAuthorizeCode)
	case stderrors.Is(err, oauth2.ErrNotFound):
		return errors.ErrInvalidAuthorizeCode
	}
	return fmt.Errorf("manage: authorization code: %w", err)
}

// checkCodeRedirect enforces RFC 6749 4.1.3: when the authorization
// request had a redirect_uri the token request must repeat it identically;
// when it had none, the token request may omit it or name the one URI the
// client registered.
func (m *Manager) checkCodeRedirect(ctx context.Context, cli oauth2.ClientInfo, stored, requested string) error {
	if stored != "" {
		if requested != stored {
			return errRedirectMismatch
		}
		return nil
	}
	if requested == "" {
		return nil
	}
	only, err := m.ValidateRedirectURI(ctx, cli, "")
	if err != nil || only != requested {
		return errRedirectMismatch
	}
	return nil
}
