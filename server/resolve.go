package server

import (
	"net/http"
	"reflect"

	"github.com/oauth2d/oauth2/errors"
)

// RefreshTokenResolveHandler returns the refresh token of a refresh token
// request (RFC 6749 6), as in go-oauth2 v4. An error is answered as it is;
// a "" token with no error is answered as a missing refresh_token
// (invalid_request). The server has read the request's parameters before
// it is called: r.Form and r.PostForm hold them.
type RefreshTokenResolveHandler func(r *http.Request) (string, error)

// AccessTokenResolveHandler returns the access token of a request to a
// protected resource (RFC 6750 2), as in go-oauth2 v4, and whether there is
// one. A "" token is the same as none: invalid_token.
type AccessTokenResolveHandler func(r *http.Request) (string, bool)

// Names of the cookies the cookie resolvers read.
const (
	refreshCookie = "refresh_token"
	accessCookie  = "access_token"
)

// RefreshTokenFormResolveHandler takes the refresh token from the
// refresh_token parameter of the request (RFC 6749 6), the server's
// default. A missing, empty or repeated parameter is errors.ErrInvalidRequest
// (RFC 6749 3.2: parameters must not be repeated).
func RefreshTokenFormResolveHandler(r *http.Request) (string, error) {
	if err := r.ParseForm(); err != nil {
		return "", errors.ErrInvalidRequest
	}
	vs := r.Form["refresh_token"]
	if len(vs) != 1 || vs[0] == "" {
		return "", errors.ErrInvalidRequest
	}
	return vs[0], nil
}

// RefreshTokenCookieResolveHandler takes the refresh token from the
// refresh_token cookie, for clients in a browser that keep it in an
// HttpOnly cookie, as go-oauth2 v4 allowed. A missing or empty cookie, or
// more than one, is errors.ErrInvalidRequest. Set it with
// SetRefreshTokenResolveHandler; it is never the default.
func RefreshTokenCookieResolveHandler(r *http.Request) (string, error) {
	t, ok := onlyCookie(r, refreshCookie)
	if !ok {
		return "", errors.ErrInvalidRequest
	}
	return t, nil
}

// AccessTokenDefaultResolveHandler takes the access token from the
// Authorization header with the Bearer scheme (RFC 6750 2.1), the only
// place the server reads it from by default.
//
// go-oauth2 v4's handler of this name also read the access_token parameter
// of the form or the query; RFC 6750 2.2 and 2.3 allow that only where the
// header cannot be used, and RFC 9700 2.4 forbids the query, since it puts
// the token in logs and Referer headers. On a Server, this handler (like no
// handler at all) reads the header, and the access_token form or query
// parameter only when Config.AllowBearerFromForm or
// Config.AllowBearerFromQuery says so.
func AccessTokenDefaultResolveHandler(r *http.Request) (string, bool) {
	vals := r.Header["Authorization"]
	if len(vals) != 1 {
		return "", false
	}
	return parseBearer(vals[0])
}

// AccessTokenCookieResolveHandler takes the access token from the
// access_token cookie, as go-oauth2 v4 allowed. A missing or empty cookie,
// or more than one, is no token. Set it with SetAccessTokenResolveHandler;
// it is never the default. A resource that accepts a token from a cookie
// must protect itself against cross-site request forgery.
func AccessTokenCookieResolveHandler(r *http.Request) (string, bool) {
	return onlyCookie(r, accessCookie)
}

// onlyCookie returns the value of the one non-empty cookie named name. Two
// cookies of that name (one may have been planted by a sibling domain) are
// none.
func onlyCookie(r *http.Request, name string) (string, bool) {
	var v string
	n := 0
	for _, c := range r.CookiesNamed(name) {
		v = c.Value
		n++
	}
	return v, n == 1 && v != ""
}

// SetRefreshTokenResolveHandler sets the RefreshTokenResolveHandler; nil
// restores the default, RefreshTokenFormResolveHandler.
func (s *Server) SetRefreshTokenResolveHandler(handler RefreshTokenResolveHandler) {
	s.RefreshTokenResolveHandler = handler
}

// SetAccessTokenResolveHandler sets the AccessTokenResolveHandler; nil
// restores the default, AccessTokenDefaultResolveHandler with the
// configuration's AllowBearerFromForm and AllowBearerFromQuery.
func (s *Server) SetAccessTokenResolveHandler(handler AccessTokenResolveHandler) {
	s.AccessTokenResolveHandler = handler
}

// The built-in resolvers, told apart from an application's by their code
// pointer so that the server runs them on the parameters it has already
// parsed.
var (
	refreshFormPtr   = reflect.ValueOf(RefreshTokenFormResolveHandler).Pointer()
	refreshCookiePtr = reflect.ValueOf(RefreshTokenCookieResolveHandler).Pointer()
	accessDefaultPtr = reflect.ValueOf(AccessTokenDefaultResolveHandler).Pointer()
	accessCookiePtr  = reflect.ValueOf(AccessTokenCookieResolveHandler).Pointer()
)

// refreshToken returns the refresh token of a refresh request r whose
// parameters the server has read into p: the refresh_token parameter unless
// a RefreshTokenResolveHandler says otherwise. Whichever resolver is used,
// a missing or empty token is the same invalid_request.
func (s *Server) refreshToken(r *http.Request, p Params) (string, error) {
	h := s.RefreshTokenResolveHandler
	var ptr uintptr
	if h != nil {
		ptr = reflect.ValueOf(h).Pointer()
	}
	switch {
	case h == nil || ptr == refreshFormPtr:
		if t := p.Get("refresh_token"); t != "" {
			return t, nil
		}
		return "", errMissingRefresh
	case ptr == refreshCookiePtr:
		if t, ok := onlyCookie(r, refreshCookie); ok {
			return t, nil
		}
		return "", errMissingRefresh
	}
	if f, ok := p.(*form); ok && r.Form == nil {
		// The resolver reads r.Form, as go-oauth2's did.
		s.fillRequestForm(r, f)
	}
	t, err := h(r)
	if err != nil {
		return "", err
	}
	if t == "" {
		return "", errMissingRefresh
	}
	return t, nil
}

// accessToken returns the access token of a request to a protected
// resource (RFC 6750 2): from the Authorization header, or where the
// configuration or an AccessTokenResolveHandler says. No token, or an empty
// one, is errors.ErrInvalidAccessToken whichever resolver is used.
func (s *Server) accessToken(r *http.Request) (string, error) {
	h := s.AccessTokenResolveHandler
	if h == nil {
		return s.bearerToken(r)
	}
	switch reflect.ValueOf(h).Pointer() {
	case accessDefaultPtr:
		return s.bearerToken(r)
	case accessCookiePtr:
		if t, ok := onlyCookie(r, accessCookie); ok {
			return t, nil
		}
		return "", errors.ErrInvalidAccessToken
	}
	t, ok := h(r)
	if !ok || t == "" {
		return "", errors.ErrInvalidAccessToken
	}
	return t, nil
}
