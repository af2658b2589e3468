package server

import (
	"context"
	stderrors "errors"
	"net/http"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// Token type hints of RFC 7009 2.1, also used by RFC 7662 2.1.
const (
	hintAccessToken  = "access_token"
	hintRefreshToken = "refresh_token"
)

var (
	errMissingToken     = errors.WithDescription(errors.ErrInvalidRequest, "The token parameter is missing")
	errTokenInQuery     = errors.WithDescription(errors.ErrInvalidRequest, "The token must be sent in the request body")
	errRevokeMethod     = errors.WithDescription(errors.ErrInvalidRequest, "The revocation endpoint accepts only POST requests")
	errIntrospectMethod = errors.WithDescription(errors.ErrInvalidRequest, "The introspection endpoint accepts only POST requests")
)

// TokenRevoker is implemented by managers that revoke a token on behalf of
// the client it was issued to (RFC 7009 2.1), as manage.Manager does:
// revoking a refresh token revokes its whole grant, the access tokens
// issued with it included; a token that is unknown or already invalid is
// left alone and nil returned; another client's live token is left alone
// and an error matching errors.ErrUnauthorizedClient returned
// (policy.ErrForeignToken); a store failure is returned, wrapped.
type TokenRevoker interface {
	RevokeToken(ctx context.Context, client oauth2.ClientInfo, token, tokenTypeHint string) error
}

// HandleRevocationRequest serves the token revocation endpoint (RFC 7009
// 2). The request is a form-encoded POST, read with the token endpoint's
// strict parsing (no repeated parameter, UTF-8 only, bounded body), whose
// client authenticates by any method the token endpoint accepts (RFC 7009
// 2.1, RFC 6749 2.3). The token parameter must be in the body, never in the
// query.
//
// The token is revoked when it was issued to that client: a refresh token
// with its whole grant (the access tokens issued with it included), an
// access token on its own. token_type_hint only chooses which kind is tried
// first, so a wrong hint still finds the token; an unknown hint value is
// ignored rather than answered with unsupported_token_type, which RFC 7009
// 2.2.1 allows but does not require. An unknown, expired or already revoked
// token is answered 200 as RFC 7009 2.2 requires. A live token issued to
// another client is refused with 400 unauthorized_client and stays valid
// (RFC 7009 2.1: the server "verifies whether the token was issued to the
// client making the revocation request. If this validation fails, the
// request is refused").
//
// Errors are those of the token endpoint (RFC 7009 2.2.1, RFC 6749 5.2):
// 405 with an Allow header for a method other than POST, 400
// invalid_request or unauthorized_client, 401 invalid_client (with
// WWW-Authenticate when the client used Basic), and 503
// temporarily_unavailable when the store is down: a revocation that may not
// have happened is never answered 200.
// The returned error is that of writing the response.
func (s *Server) HandleRevocationRequest(w http.ResponseWriter, r *http.Request) error {
	f := getForm()
	defer putForm(f)
	client, token, hint, err := s.readTokenRequest(w, r, f, errRevokeMethod)
	if err != nil {
		return s.tokenError(w, err)
	}
	if err := s.revokeToken(r.Context(), client.Info(), token, hint); err != nil {
		return s.tokenError(w, err)
	}
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	h["Pragma"] = hdrNoCache
	w.WriteHeader(http.StatusOK)
	return nil
}

// readTokenRequest reads a revocation or introspection request (RFC 7009
// 2.1, RFC 7662 2.1): POST only, the token endpoint's form parsing and
// client authentication, and a token parameter in the body. It returns the
// authenticated client, the token and the token_type_hint.
func (s *Server) readTokenRequest(w http.ResponseWriter, r *http.Request, f *form, methodErr error) (policy.Client, string, string, error) {
	if r.Method != http.MethodPost {
		return policy.Client{}, "", "", errors.WithStatus(methodErr, http.StatusMethodNotAllowed,
			http.Header{"Allow": {http.MethodPost}})
	}
	if err := f.readTokenForm(w, r, s.Config.maxBodyBytes()); err != nil {
		return policy.Client{}, "", "", err
	}
	if modeOf(s.ClientInfoHandler) == modeCustom {
		s.fillRequestForm(r, f)
	}
	client, _, err := s.authenticateClient(r.Context(), r, f)
	if err != nil {
		return policy.Client{}, "", "", err
	}
	token, inQuery := f.lookup("token")
	if len(token) == 0 {
		return policy.Client{}, "", "", errMissingToken
	}
	if inQuery {
		return policy.Client{}, "", "", errTokenInQuery
	}
	if err := f.checkBodyOnly(); err != nil {
		return policy.Client{}, "", "", err
	}
	return client, string(token), tokenTypeHint(f), nil
}

// tokenTypeHint returns the request's token_type_hint when it is one this
// server knows, and "" otherwise (RFC 7009 2.1, RFC 7662 2.1: a hint the
// server does not understand is ignored).
func tokenTypeHint(f *form) string {
	switch {
	case f.is("token_type_hint", hintAccessToken):
		return hintAccessToken
	case f.is("token_type_hint", hintRefreshToken):
		return hintRefreshToken
	}
	return ""
}

// revokeToken revokes token for client through the manager's TokenRevoker
// or, for a manager without one, through the oauth2.Manager methods: the
// token is loaded as an access and as a refresh token (the hint choosing
// the order) and removed when it is client's, refused with
// policy.ErrForeignToken when it is another client's. Without a
// TokenRevoker a refresh token takes only the access token stored with it,
// which is all that oauth2.Manager can remove.
func (s *Server) revokeToken(ctx context.Context, client oauth2.ClientInfo, token, hint string) error {
	if rv, ok := s.Manager.(TokenRevoker); ok {
		return rv.RevokeToken(ctx, client, token, hint)
	}
	kinds := [2]string{hintAccessToken, hintRefreshToken}
	if hint == hintRefreshToken {
		kinds[0], kinds[1] = kinds[1], kinds[0]
	}
	for _, kind := range kinds {
		load, remove := s.Manager.LoadAccessToken, s.Manager.RemoveAccessToken
		if kind == hintRefreshToken {
			load, remove = s.Manager.LoadRefreshToken, s.Manager.RemoveRefreshToken
		}
		ti, err := load(ctx, token)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return err
		}
		if ti == nil {
			return nil
		}
		if ti.GetClientID() != client.GetID() {
			return policy.ErrForeignToken
		}
		return remove(ctx, token)
	}
	return nil
}

// isNotFound reports whether a manager's load error means that there is no
// live token, rather than that the store failed: the token errors of RFC
// 6750 3.1 and RFC 6749 5.2 (expired, revoked, unknown), or the store's
// ErrNotFound.
func isNotFound(err error) bool {
	return stderrors.Is(err, oauth2.ErrNotFound) || stderrors.Is(err, oauth2.ErrReused) ||
		stderrors.Is(err, errors.ErrInvalidToken) || stderrors.Is(err, errors.ErrInvalidGrant)
}
