package server

import (
	"context"
	stderrors "errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/oidc"
)

// UserClaimsHandler returns the claims of the End-User userID (OpenID
// Connect Core 1.0 5.1), of which the UserInfo endpoint and ID tokens
// release those a grant asked for. nil claims release none but sub. An
// error wrapping oauth2.ErrNotFound says the user no longer exists: their
// tokens are then invalid_token. Any other error is a server_error (or
// temporarily_unavailable for oauth2.ErrUnavailable), whose text is never
// shown.
type UserClaimsHandler func(ctx context.Context, userID string) (*oidc.Claims, error)

// Errors of the UserInfo endpoint (RFC 6750 3.1 codes).
var (
	errUserInfoMethod  = errors.WithDescription(errors.ErrInvalidRequest, "The UserInfo endpoint accepts only GET and POST requests")
	errUserInfoScope   = errors.WithDescription(errors.ErrInsufficientScope, "The access token was not granted the openid scope")
	errUserInfoNoUser  = errors.WithDescription(errors.ErrInvalidToken, "The access token was not issued for an End-User")
	errUserInfoGone    = errors.WithDescription(errors.ErrInvalidToken, "The access token's End-User or client no longer exists")
	errUserInfoMissing = errors.WithDescription(errors.ErrInvalidToken, "The request has no access token")

	hdrAllowGetPost = []string{"GET, POST"}
)

// UserInfoHandler returns the handler of the UserInfo endpoint (OpenID
// Connect Core 1.0 5.3), to serve at the metadata's userinfo_endpoint.
//
// It answers GET and POST (5.3.1); another method is 405 with an Allow
// header. The access token is read as BearerAuth reads it, from the
// Authorization header, and for POST also from the access_token parameter
// of a form-encoded body (RFC 6750 2.2), whatever Config.AllowBearerFromForm
// says; a token in more than one place is an invalid_request. The token
// must be a live access token (Manager.LoadAccessToken) granted the openid
// scope for an End-User whose client still exists.
//
// The answer is a JSON object (5.3.2) with sub, the End-User's subject
// identifier for the token's client (cfg.Subjects, else the Subjects of the
// server's ID token generator: the same as in its ID tokens), and the
// claims of cfg.UserClaimsHandler (else Server.OpenID's) that the grant
// asked for at the UserInfo endpoint: those of its scope values (5.4) and of its
// claims request's userinfo member (5.5), read from the grant's extension
// data (oidc.GrantInfoOf). It is never cached (Cache-Control: no-store).
//
// Errors follow RFC 6750 3: 401 with WWW-Authenticate: Bearer and no error
// code for a request without a token (3.1), 401 invalid_token for a token
// that is unknown, expired, revoked, malformed or without an End-User, 403
// insufficient_scope (with scope="openid") for a token without openid, 400
// invalid_request for a token sent twice, each with a WWW-Authenticate
// Bearer challenge and a JSON body; 503 temporarily_unavailable when the
// store is down and 500 server_error for other failures, whose text is
// never shown.
func (s *Server) UserInfoHandler(cfg *OpenIDConfig) http.Handler {
	if cfg == nil {
		cfg = &OpenIDConfig{}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.serveUserInfo(w, r, cfg); err != nil {
			s.userInfoError(w, r, err)
		}
	})
}

// serveUserInfo writes the UserInfo response of r, or returns the error to
// answer.
func (s *Server) serveUserInfo(w http.ResponseWriter, r *http.Request, cfg *OpenIDConfig) error {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return errors.WithStatus(errUserInfoMethod, http.StatusMethodNotAllowed, http.Header{"Allow": hdrAllowGetPost})
	}
	// The token: Bearer, or DPoP with a proof of its key (resource.go).
	ti, err := s.resourceAccessToken(w, r, s.endpointURL(r, cfg.UserInfoEndpoint, PathUserInfo), func() (string, error) {
		return s.bearerTokenFrom(r, r.Method == http.MethodPost, s.Config.AllowBearerFromQuery)
	})
	if err != nil {
		if stderrors.Is(err, errors.ErrInvalidToken) && s.noBearerToken(r) {
			return errUserInfoMissing
		}
		return err
	}
	ctx := r.Context()
	scope := ti.GetScope()
	if !oidc.IsOpenID(scope) {
		return errUserInfoScope
	}
	userID := ti.GetUserID()
	if userID == "" {
		return errUserInfoNoUser
	}
	client, err := s.Manager.GetClient(ctx, ti.GetClientID())
	if err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) || stderrors.Is(err, errors.ErrInvalidClient) {
			return errUserInfoGone
		}
		return fmt.Errorf("server: userinfo client: %w", err)
	}
	sub, err := s.subjects(cfg).Subject(client, userID)
	if err != nil {
		return fmt.Errorf("server: userinfo sub: %w", err)
	}
	grant, err := oidc.GrantInfoOf(ti)
	if err != nil {
		return fmt.Errorf("server: userinfo grant: %w", err)
	}
	var claims *oidc.Claims
	if fn := s.userClaims(cfg); fn != nil {
		if claims, err = fn(ctx, userID); err != nil {
			if stderrors.Is(err, oauth2.ErrNotFound) {
				return errUserInfoGone
			}
			return fmt.Errorf("server: userinfo claims: %w", err)
		}
	}

	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuf {
			bufPool.Put(bp)
		}
	}()
	b := append((*bp)[:0], `{"sub":`...)
	b = appendJSONString(b, sub)
	b, err = claims.AppendClaims(b, oidc.UserInfoClaims(scope, grant.Claims))
	*bp = b
	if err != nil {
		return fmt.Errorf("server: userinfo claims: %w", err)
	}
	b = append(b, '}', '\n')
	*bp = b
	setTokenHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// noBearerToken reports whether r, whose form bearerTokenFrom has read,
// carries no access token anywhere the UserInfo endpoint reads one (RFC
// 6750 3.1: then the answer has no error code).
func (s *Server) noBearerToken(r *http.Request) bool {
	if len(r.Header["Authorization"]) > 0 {
		return false
	}
	if _, ok := r.PostForm["access_token"]; ok {
		return false
	}
	return !s.Config.AllowBearerFromQuery || !strings.Contains(r.URL.RawQuery, "access_token")
}

// userInfoError writes the error response of a resource request (RFC 6750
// 3): the status and code of errors.Lookup, a WWW-Authenticate challenge
// for the errors of RFC 6750 3.1, and a JSON body.
func (s *Server) userInfoError(w http.ResponseWriter, r *http.Request, err error) {
	if s.dpopResourceError(w, r, err) { // RFC 9449 7.1 (resource.go)
		return
	}
	re := s.errorResponse(err)
	h := w.Header()
	for k, v := range re.Header {
		h[k] = append([]string(nil), v...)
	}
	code := errors.Code(re.Error)
	switch {
	case stderrors.Is(err, errUserInfoMissing):
		re.StatusCode = http.StatusUnauthorized
		h.Set("WWW-Authenticate", "Bearer")
	case re.Error == errors.ErrInvalidToken, re.Error == errors.ErrInsufficientScope,
		re.Error == errors.ErrInvalidRequest && re.StatusCode != http.StatusMethodNotAllowed:
		c := `Bearer error="` + code + `"`
		if re.Description != "" {
			c += `, error_description="` + challengeText(re.Description) + `"`
		}
		if re.Error == errors.ErrInsufficientScope {
			c += `, scope="` + oidc.ScopeOpenID + `"`
		}
		h.Set("WWW-Authenticate", c)
	}
	setTokenHeaders(h)
	w.WriteHeader(re.StatusCode)
	if stderrors.Is(err, errUserInfoMissing) {
		return
	}
	_, _ = w.Write(appendErrorJSON(nil, re))
}

// challengeText keeps of s the characters RFC 6750 3 allows in an
// error_description: %x20-21 / %x23-5B / %x5D-7E.
func challengeText(s string) string {
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return -1
		}
		return c
	}, s)
}

// appendErrorJSON appends the JSON error object of re (RFC 6749 5.2).
func appendErrorJSON(b []byte, re *errors.Response) []byte {
	b = append(b, `{"error":`...)
	b = appendJSONString(b, errors.Code(re.Error))
	if re.Description != "" {
		b = append(b, `,"error_description":`...)
		b = appendJSONString(b, re.Description)
	}
	return append(b, '}', '\n')
}
