package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

var errBearerTwoMethods = errors.WithDescription(errors.ErrInvalidRequest, "The access token was sent by more than one method")

// BearerAuth returns the access token of a resource request (RFC 6750 2):
// from the Authorization header with the Bearer scheme, matched
// case-insensitively (RFC 6750 2.1); from the access_token parameter of a
// form-encoded POST body only when Config.AllowBearerFromForm (RFC 6750
// 2.2); from the access_token query parameter only when
// Config.AllowBearerFromQuery (RFC 6750 2.3). A request with a token in
// more than one place, or a malformed one, has none. An
// AccessTokenResolveHandler, when set, replaces these rules.
func (s *Server) BearerAuth(r *http.Request) (string, bool) {
	token, err := s.accessToken(r)
	return token, err == nil && token != ""
}

func (s *Server) bearerToken(r *http.Request) (string, error) {
	return s.bearerTokenFrom(r, s.Config.AllowBearerFromForm, s.Config.AllowBearerFromQuery)
}

// bearerTokenFrom is bearerToken with the places a token may come from
// besides the Authorization header: the form body (RFC 6750 2.2), which
// some endpoints accept whatever the configuration (OpenID Connect Core 1.0
// 5.3.1), and the query (RFC 6750 2.3).
func (s *Server) bearerTokenFrom(r *http.Request, fromForm, fromQuery bool) (string, error) {
	var token string
	found := 0
	if vals := r.Header["Authorization"]; len(vals) > 0 {
		if len(vals) > 1 {
			return "", errBearerTwoMethods
		}
		t, ok := parseBearer(vals[0])
		if !ok {
			return "", errors.ErrInvalidAccessToken
		}
		token = t
		found++
	}
	if fromForm && r.Method == http.MethodPost &&
		isFormContentType(r.Header.Get("Content-Type")) {
		if r.PostForm == nil && r.Body != nil {
			r.Body = http.MaxBytesReader(nil, r.Body, s.Config.maxBodyBytes())
		}
		if err := r.ParseForm(); err != nil {
			return "", errMalformedForm
		}
		if vs := r.PostForm["access_token"]; len(vs) > 0 {
			if len(vs) > 1 || vs[0] == "" {
				return "", errBearerTwoMethods
			}
			token = vs[0]
			found++
		}
	}
	if fromQuery {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return "", errMalformedForm
		}
		if vs := q["access_token"]; len(vs) > 0 {
			if len(vs) > 1 || vs[0] == "" {
				return "", errBearerTwoMethods
			}
			token = vs[0]
			found++
		}
	}
	if found > 1 {
		return "", errBearerTwoMethods
	}
	if found == 0 {
		return "", errors.ErrInvalidAccessToken
	}
	return token, nil
}

// parseBearer reads "Bearer <b64token>" (RFC 6750 2.1).
func parseBearer(v string) (string, bool) {
	const scheme = "Bearer"
	if len(v) <= len(scheme)+1 || !strings.EqualFold(v[:len(scheme)], scheme) ||
		(v[len(scheme)] != ' ' && v[len(scheme)] != '\t') {
		return "", false
	}
	tok := strings.Trim(v[len(scheme)+1:], " \t")
	if tok == "" || !isB64Token(tok) {
		return "", false
	}
	return tok, true
}

// isB64Token reports whether s matches b64token of RFC 6750 2.1:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// ValidationBearerToken returns the record of the request's access token
// (RFC 6750 2) from the manager, or an error wrapping invalid_token (or
// invalid_request for a token sent more than once, RFC 6750 3.1). A token
// bound to a DPoP key is refused: it is no bearer token (RFC 9449 7.2);
// ValidateResourceRequest accepts it with a proof of its key. A token bound
// to a client certificate is accepted only on a TLS connection with that
// certificate (RFC 8705 3).
func (s *Server) ValidationBearerToken(r *http.Request) (oauth2.TokenInfo, error) {
	token, err := s.accessToken(r)
	if err != nil {
		return nil, err
	}
	ti, err := s.Manager.LoadAccessToken(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if policy.DPoPThumbprint(ti) != "" {
		return nil, errDPoPBoundAsBearer
	}
	return checkCertificateBinding(r, ti, nil) // RFC 8705 3 (client_tls.go)
}
