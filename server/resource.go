package server

import (
	stderrors "errors"
	"net/http"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/dpop"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// Protected resources served by the same program as the authorization
// server (the UserInfo endpoint, an application's API): an access token is
// presented with the Bearer scheme (RFC 6750), or, when it is bound to a
// DPoP key, with the DPoP scheme and a proof of that key (RFC 9449 7).

// Errors of resource requests.
var (
	errResourceNoToken  = errors.WithDescription(errors.ErrInvalidToken, "The request has no access token")
	errDPoPKeyMismatch  = errors.WithDescription(errors.ErrInvalidToken, "The DPoP proof's key is not the key the access token is bound to")
	errDPoPTwoTokens    = errors.WithDescription(errors.ErrInvalidRequest, "A DPoP request must carry its access token in the Authorization header only")
	errDPoPMalformedHdr = errors.WithDescription(errors.ErrInvalidToken, "The Authorization header of the DPoP scheme is malformed")
)

// ValidateResourceRequest returns the record of the access token of a
// request to a protected resource (RFC 6750 2, RFC 9449 7.1):
//
//   - with "Authorization: DPoP <token>" the request must carry a DPoP
//     proof (the DPoP header) for its method and URI (DPoPConfig.RequestURL,
//     else the request's own) whose ath is the token's hash, and the token
//     must be bound to the proof's key (its cnf.jkt);
//   - otherwise the token is read as ValidationBearerToken reads it, and a
//     token bound to a DPoP key is refused: a bound token is never a bearer
//     token (RFC 9449 7.2);
//   - in both cases a token bound to a client certificate (RFC 8705 3)
//     needs a TLS connection with that certificate.
//
// Errors are invalid_token for a missing, unknown, expired, revoked or
// misused token, invalid_dpop_proof or use_dpop_nonce for the proof, and
// invalid_request for a token sent twice; WriteResourceError answers them.
// When the server requires DPoP nonces, the nonce to use next is set on w
// (the DPoP-Nonce header) when it changes; w may be nil.
func (s *Server) ValidateResourceRequest(w http.ResponseWriter, r *http.Request) (oauth2.TokenInfo, error) {
	return s.resourceAccessToken(w, r, s.resourceURL(r), func() (string, error) { return s.accessToken(r) })
}

// resourceAccessToken is ValidateResourceRequest for the resource at
// target, whose bearer tokens bearer reads.
func (s *Server) resourceAccessToken(w http.ResponseWriter, r *http.Request, target string, bearer func() (string, error)) (oauth2.TokenInfo, error) {
	authz := r.Header["Authorization"]
	if len(authz) == 1 && hasScheme(authz[0], dpop.TokenType) {
		ti, err := s.dpopAccessToken(w, r, target, authz[0])
		return checkCertificateBinding(r, ti, err) // RFC 8705 3 (client_tls.go)
	}
	token, err := bearer()
	if err != nil {
		if len(authz) == 0 && stderrors.Is(err, errors.ErrInvalidToken) {
			return nil, errResourceNoToken
		}
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

// dpopAccessToken reads "DPoP <token>" (RFC 9449 7.1) and checks the
// request's proof against it.
func (s *Server) dpopAccessToken(w http.ResponseWriter, r *http.Request, target, header string) (oauth2.TokenInfo, error) {
	if s.Config.DPoP.Disabled {
		return nil, errDPoPMalformedHdr
	}
	token := strings.Trim(header[len(dpop.TokenType)+1:], " \t")
	if token == "" || !isB64Token(token) {
		return nil, errDPoPMalformedHdr
	}
	if s.Config.AllowBearerFromQuery && r.URL != nil && r.URL.Query().Has("access_token") {
		return nil, errDPoPTwoTokens
	}
	p, err := s.verifyDPoP(w, r, target, token)
	if err != nil {
		return nil, err
	}
	ti, err := s.Manager.LoadAccessToken(r.Context(), token)
	if err != nil {
		return nil, err
	}
	switch jkt := policy.DPoPThumbprint(ti); {
	case jkt == "":
		return nil, errDPoPNotBound
	case jkt != p.Thumbprint:
		return nil, errDPoPKeyMismatch
	}
	return ti, nil
}

// hasScheme reports whether the Authorization header value v has the
// authentication scheme scheme, compared case-insensitively (RFC 9110
// 11.1), followed by a space.
func hasScheme(v, scheme string) bool {
	return len(v) > len(scheme)+1 && strings.EqualFold(v[:len(scheme)], scheme) &&
		(v[len(scheme)] == ' ' || v[len(scheme)] == '\t')
}

// WriteResourceError answers a refused request to a protected resource
// (RFC 6750 3, RFC 9449 7.1): 401 with WWW-Authenticate challenges for
// every scheme the resource accepts when the request had no token (Bearer,
// and DPoP with its algs); otherwise the status of the error (401
// invalid_token, invalid_dpop_proof and use_dpop_nonce, 403
// insufficient_scope, 400 invalid_request) with a challenge of the scheme
// the request used, carrying error and error_description, a DPoP-Nonce
// header for use_dpop_nonce, and a JSON body. Other errors are server_error
// or temporarily_unavailable, whose text is never shown.
func (s *Server) WriteResourceError(w http.ResponseWriter, r *http.Request, err error) {
	if s.dpopResourceError(w, r, err) {
		return
	}
	re := s.errorResponse(err)
	h := w.Header()
	for k, v := range re.Header {
		h[k] = append([]string(nil), v...)
	}
	if stderrors.Is(err, errResourceNoToken) {
		h.Del("WWW-Authenticate")
		for _, c := range s.bareChallenges() {
			h.Add("WWW-Authenticate", c)
		}
		setTokenHeaders(h)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch re.Error {
	case errors.ErrInvalidToken, errors.ErrInsufficientScope, errors.ErrInvalidRequest:
		if re.StatusCode != http.StatusMethodNotAllowed {
			h.Set("WWW-Authenticate", challenge("Bearer", re, ""))
		}
	}
	setTokenHeaders(h)
	w.WriteHeader(re.StatusCode)
	_, _ = w.Write(appendErrorJSON(nil, re))
}

// dpopResourceError writes the answer to a refused resource request that
// used the DPoP scheme, or whose error is one of DPoP, and reports whether
// it did: 401 (400 for invalid_request, 403 for insufficient_scope) with a
// DPoP challenge (RFC 9449 7.1) carrying the error, its description and the
// accepted algorithms, the DPoP-Nonce header of use_dpop_nonce (RFC 9449
// 9), and a JSON body. Other requests are left to the Bearer answer.
func (s *Server) dpopResourceError(w http.ResponseWriter, r *http.Request, err error) bool {
	authz := r.Header["Authorization"]
	usedDPoP := len(authz) == 1 && hasScheme(authz[0], dpop.TokenType)
	isDPoPErr := stderrors.Is(err, errors.ErrInvalidDPoPProof) || stderrors.Is(err, errors.ErrUseDPoPNonce)
	if !usedDPoP && !isDPoPErr {
		return false
	}
	re := s.errorResponse(err)
	h := w.Header()
	for k, v := range re.Header {
		h[k] = append([]string(nil), v...)
	}
	status := re.StatusCode
	switch re.Error {
	case errors.ErrInvalidDPoPProof, errors.ErrUseDPoPNonce, errors.ErrInvalidToken:
		status = http.StatusUnauthorized
	}
	if status < http.StatusInternalServerError && status != http.StatusMethodNotAllowed {
		h.Set("WWW-Authenticate", challenge(dpop.TokenType, re, s.dpopAlgs()))
	}
	setTokenHeaders(h)
	w.WriteHeader(status)
	_, _ = w.Write(appendErrorJSON(nil, re))
	return true
}

// bareChallenges are the challenges of a request without any token (RFC
// 6750 3.1, RFC 9449 7.1): Bearer, and DPoP with its algorithms when DPoP
// is on.
func (s *Server) bareChallenges() []string {
	out := []string{"Bearer"}
	if algs := s.dpopAlgs(); algs != "" {
		out = append(out, dpop.TokenType+` algs="`+algs+`"`)
	}
	return out
}

// dpopAlgs is the algs parameter of DPoP challenges (RFC 9449 7.1), ""
// when DPoP is off.
func (s *Server) dpopAlgs() string {
	return strings.Join(s.dpopAlgorithms(), " ")
}

// challenge builds a WWW-Authenticate challenge of scheme for the error re
// (RFC 6750 3, RFC 9449 7.1), with algs when not "".
func challenge(scheme string, re *errors.Response, algs string) string {
	c := scheme + ` error="` + errors.Code(re.Error) + `"`
	if re.Description != "" {
		c += `, error_description="` + challengeText(re.Description) + `"`
	}
	if algs != "" {
		c += `, algs="` + algs + `"`
	}
	return c
}
