package server

import (
	"context"
	stderrors "errors"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// The refresh token grant (RFC 6749 6). The manager checks the refresh
// token, its client and the scope, rotates the token and revokes the grant
// of a replayed one (RFC 9700 4.14.2).

var (
	errMissingRefresh = errors.WithDescription(errors.ErrInvalidRequest, "The refresh_token parameter is missing")
	errRefreshRefused = errors.WithDescription(errors.ErrInvalidGrant, "The refresh token may not be used")
)

type refreshGrant struct{}

func init() { RegisterGrant(refreshGrant{}) }

// Info names the refresh_token grant.
func (refreshGrant) Info() GrantInfo {
	return GrantInfo{Type: oauth2.Refreshing, Name: string(oauth2.Refreshing)}
}

// ReadRequest reads refresh_token (required) and scope (RFC 6749 6).
// The refresh token comes through the server's RefreshTokenResolveHandler
// (go-oauth2 v4), the refresh_token parameter by default.
func (refreshGrant) ReadRequest(_ context.Context, s *Server, p Params, tgr *oauth2.TokenGenerateRequest) error {
	var err error
	if tgr.Refresh, err = s.refreshToken(tgr.Request, p); err != nil {
		return err
	}
	scope, err := readScope(p)
	tgr.Scope = scope
	return err
}

// Issue runs the refresh hooks and has the manager refresh.
func (refreshGrant) Issue(ctx context.Context, s *Server, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	if err := s.checkRefreshHooks(ctx, tgr); err != nil {
		return nil, err
	}
	return s.Manager.RefreshAccessToken(ctx, tgr)
}

// checkRefreshHooks runs the RefreshingScopeHandler (when a scope is asked
// for, with the scope the grant was originally given: policy.GrantedScope)
// and the RefreshingValidationHandler on the refresh token's record.
// When the record cannot be read as this client's live token, the hooks are
// skipped and the manager's RefreshAccessToken answers, so that a replayed
// refresh token still revokes its grant (RFC 9700 4.14.2).
func (s *Server) checkRefreshHooks(ctx context.Context, tgr *oauth2.TokenGenerateRequest) error {
	scopeFn, validFn := s.RefreshingScopeHandler, s.RefreshingValidationHandler
	if (scopeFn == nil || tgr.Scope == "") && validFn == nil {
		return nil
	}
	rti, err := s.Manager.LoadRefreshToken(ctx, tgr.Refresh)
	if err != nil {
		if stderrors.Is(err, oauth2.ErrUnavailable) || stderrors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	}
	if rti == nil || rti.GetClientID() != tgr.ClientID {
		return nil
	}
	if scopeFn != nil && tgr.Scope != "" {
		allowed, err := scopeFn(tgr, policy.GrantedScope(rti))
		if err != nil {
			return err
		}
		if !allowed {
			return errScopeNotAllowed
		}
	}
	if validFn != nil {
		allowed, err := validFn(rti)
		if err != nil {
			return err
		}
		if !allowed {
			return errRefreshRefused
		}
	}
	return nil
}
