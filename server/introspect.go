package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// errPublicIntrospect: RFC 7662 2.1 requires the caller to authenticate,
// and a public client (RFC 6749 2.1) cannot.
var errPublicIntrospect = errors.WithDescription(errors.ErrInvalidClient, "Public clients cannot use the introspection endpoint")

// inactiveJSON is the whole answer for a token that is not active
// (RFC 7662 2.2).
var inactiveJSON = []byte("{\"active\":false}\n")

// HandleIntrospectionRequest serves the token introspection endpoint (RFC
// 7662 2). The request is a form-encoded POST, read with the token
// endpoint's strict parsing, whose caller authenticates as a confidential
// client by any method the token endpoint accepts (RFC 7662 2.1); a public
// client is refused with invalid_client. The token parameter must be in
// the body, never in the query.
//
// The token is looked up as an access token and as a refresh token;
// token_type_hint only chooses the order (RFC 7662 2.1), and an unknown
// hint is ignored. An active token is described by active, scope,
// client_id, sub (only when a resource owner granted the token: client
// credentials tokens have none), exp (left out for a token that does not
// expire), iat, iss (Config.Issuer, when set) and, for an access token,
// token_type (RFC 7662 2.2). Refresh tokens have no token_type (RFC 6749
// 5.1), so a resource server must require token_type "Bearer" before it
// takes an introspected token as an access token.
//
// Policy for foreign tokens: only the client the token was issued to, and
// the resource servers listed in Config.IntrospectionClients, see a token
// as active. Any other caller gets {"active":false}, the same answer as for
// an unknown, expired, revoked or truncated token, so that a client cannot
// learn anything about tokens it was not given (RFC 7662 4 leaves this
// policy to the server).
//
// Every answer has Cache-Control: no-store and Pragma: no-cache
// (RFC 7662 4). Errors are those of the token endpoint: 405 with an Allow
// header for a method other than POST, 400 invalid_request, 401
// invalid_client (with WWW-Authenticate when the client used Basic), and
// 503 temporarily_unavailable when the store is down, rather than an
// active:false that would hide the outage. The returned error is that of
// writing the response.
func (s *Server) HandleIntrospectionRequest(w http.ResponseWriter, r *http.Request) error {
	f := getForm()
	defer putForm(f)
	client, token, hint, err := s.readTokenRequest(w, r, f, errIntrospectMethod)
	if err == nil && client.IsPublic() {
		err = errPublicIntrospect
		if len(r.Header["Authorization"]) > 0 {
			err = &headerAuthError{err}
		}
	}
	if err != nil {
		return s.tokenError(w, err)
	}
	ti, isAccess, err := s.lookupToken(r.Context(), token, hint)
	if err != nil {
		return s.tokenError(w, err)
	}
	bp := bufPool.Get().(*[]byte)
	b := (*bp)[:0]
	if ti == nil || !s.mayIntrospect(r.Context(), client, ti) {
		b = append(b, inactiveJSON...)
	} else {
		b = s.appendIntrospectionJSON(b, ti, isAccess)
	}
	setTokenHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	*bp = b
	if cap(b) <= maxPooledBuf {
		bufPool.Put(bp)
	}
	return err
}

// lookupToken returns the live record of token as an access token or a
// refresh token, trying the kind hint names first, and whether it was found
// as an access token. A token that is not live is a nil record; only a
// store failure is an error.
func (s *Server) lookupToken(ctx context.Context, token, hint string) (oauth2.TokenInfo, bool, error) {
	first := true
	if hint == hintRefreshToken {
		first = false
	}
	for _, access := range [2]bool{first, !first} {
		var ti oauth2.TokenInfo
		var err error
		if access {
			ti, err = s.Manager.LoadAccessToken(ctx, token)
		} else {
			ti, err = s.Manager.LoadRefreshToken(ctx, token)
		}
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, false, err
		}
		if ti != nil {
			return ti, access, nil
		}
	}
	return nil, false, nil
}

// mayIntrospect reports whether client may see ti as active: it is the
// client ti was issued to, or a resource server of
// Config.IntrospectionClients.
func (s *Server) mayIntrospect(ctx context.Context, client policy.Client, ti oauth2.TokenInfo) bool {
	id := client.ID()
	return ti.GetClientID() == id || slices.Contains(s.Config.IntrospectionClients, id) ||
		(s.Config.IntrospectAny != nil && s.Config.IntrospectAny(ctx, id))
}

// appendIntrospectionJSON appends the answer for the active token ti
// (RFC 7662 2.2), the keys of RFC 7662 in alphabetical order, then those of
// later RFCs (appendSenderIntrospection); exp and iat are NumericDates,
// whole seconds since the epoch (RFC 7519 2).
func (s *Server) appendIntrospectionJSON(b []byte, ti oauth2.TokenInfo, isAccess bool) []byte {
	createAt, expIn := ti.GetRefreshCreateAt(), ti.GetRefreshExpiresIn()
	if isAccess {
		createAt, expIn = ti.GetAccessCreateAt(), ti.GetAccessExpiresIn()
	}
	b = append(b, `{"active":true,"client_id":`...)
	b = appendJSONString(b, ti.GetClientID())
	if expIn > 0 {
		b = append(b, `,"exp":`...)
		b = strconv.AppendInt(b, createAt.Add(expIn).Unix(), 10)
	}
	if !createAt.IsZero() {
		b = append(b, `,"iat":`...)
		b = strconv.AppendInt(b, createAt.Unix(), 10)
	}
	if iss := s.Config.Issuer; iss != "" {
		b = append(b, `,"iss":`...)
		b = appendJSONString(b, iss)
	}
	if scope := ti.GetScope(); scope != "" {
		b = append(b, `,"scope":`...)
		b = appendJSONString(b, scope)
	}
	if sub := ti.GetUserID(); sub != "" {
		b = append(b, `,"sub":`...)
		b = appendJSONString(b, sub)
	}
	if isAccess {
		b = append(b, `,"token_type":`...)
		b = appendJSONString(b, s.tokenTypeOf(ti)) // DPoP when bound (dpop.go)
	}
	b = appendSenderIntrospection(b, ti, isAccess) // aud, cnf, act (introspect_ext.go)
	return append(b, '}', '\n')
}
