package server

import (
	"context"
	stderrors "errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/policy"
)

// AuthorizeRequest is a validated authorization request (RFC 6749 4.1.1,
// 4.2.1; RFC 7636 4.3; OpenID Connect Core 1.0 3.1.2.1). RedirectURI is the
// one the manager validated for the client, never an unchecked value.
type AuthorizeRequest struct {
	// ResponseType is the response_type, its values in the order code,
	// id_token, token (oidc.ParseResponseType).
	ResponseType        oauth2.ResponseType
	ClientID            string
	Scope               string
	RedirectURI         string
	State               string
	UserID              string
	CodeChallenge       string
	CodeChallengeMethod oauth2.CodeChallengeMethod
	AccessTokenExp      time.Duration
	Request             *http.Request

	// ResponseMode is the response_mode the client asked for
	// (ResponseModeQuery, ResponseModeFragment or ResponseModeFormPost),
	// "" for the response type's default: query for code, fragment for
	// the others. The server reads it only as an OpenID Provider.
	ResponseMode string
	// OpenID is the OpenID Connect authentication request (OpenID Connect
	// Core 1.0 3.1.2.1): prompt, max_age, nonce, login_hint, acr_values,
	// the claims request, .... nil when the request is an OAuth 2.0 one:
	// no openid scope, or the server is no OpenID Provider.
	OpenID *oidc.AuthRequest
	// IDTokenHint is the request's id_token_hint, verified (a previous ID
	// token of this server, expiry ignored); nil when it had none.
	IDTokenHint *oidc.IDTokenHint
	// Interaction is what the UserAuthenticationHandler is asked for:
	// InteractionNone while the server asks who is signed in, and
	// InteractionLogin or InteractionConsent when it must show that page,
	// for the Reason given.
	Interaction Interaction
	Reason      oidc.Reason

	client oauth2.ClientInfo
	// rt is ResponseType parsed.
	rt oidc.ResponseTypes
	// auth is what the UserAuthenticationHandler said of the End-User.
	auth *Authentication
	// grant is what the grant keeps in its extension data (the OpenID
	// Connect grant data, oidc.GrantInfo); nil for none. A pointer, so
	// that AuthorizeRequest stays comparable, as it was in go-oauth2.
	grant *grantData
	// requestedURI is the redirect_uri as the client sent it, "" when
	// omitted: the manager binds the code to it, and the token request must
	// repeat it identically (RFC 6749 4.1.3).
	requestedURI string
	validated    bool
	// sender: RFC 9126, 8707 and 9449 parameters (authorize_ext.go); a
	// pointer, so that AuthorizeRequest stays comparable.
	sender *authorizeSender
}

var (
	errAuthorizeMethod      = errors.WithDescription(errors.ErrInvalidRequest, "The authorization endpoint accepts only GET and POST requests")
	errMissingClientID      = errors.WithDescription(errors.ErrInvalidRequest, "The client_id parameter is missing")
	errUnknownClient        = errors.WithDescription(errors.ErrInvalidRequest, "The client_id is unknown")
	errMissingResponseType  = errors.WithDescription(errors.ErrInvalidRequest, "The response_type parameter is missing")
	errUnsupportedResponse  = errors.WithDescription(errors.ErrUnsupportedResponseType, "The response_type is not supported by this server")
	errBoundClientImplicit  = errors.WithDescription(errors.ErrUnauthorizedClient, "The client is registered for sender-constrained access tokens, which the authorization endpoint cannot issue")
	errResponseNotAllowed   = errors.WithDescription(errors.ErrUnauthorizedClient, "The client is not allowed to use this response type")
	errNoUserAuthentication = errors.WithDescription(errors.ErrAccessDenied, "The resource owner could not be authenticated")
	errMalformedState       = errors.WithDescription(errors.ErrInvalidRequest, "The state parameter has characters outside RFC 6749 Appendix A")
)

// HandleAuthorizeRequest serves the authorization endpoint (RFC 6749 3.1,
// 4.1.1, 4.2.1) for GET and POST requests.
//
// The client_id and redirect_uri are checked first. Until both are valid no
// error is redirected (RFC 6749 4.1.2.1): the error is written to the user
// agent as a 400 (JSON when the request accepts it, else text/plain), or by
// the PreRedirectErrorHandler. Every later error is redirected to the
// validated URI with error, error_description, state and iss (RFC 9207). A
// state with characters outside VSCHAR (RFC 6749 Appendix A.5: control
// characters, a NUL, anything not printable ASCII) is such an error,
// invalid_request, redirected without the state; so is a scope outside
// NQCHAR (Appendix A.4), invalid_scope. On success the user agent is
// redirected with 302 Found: a code in the query, or for the implicit grant
// the token in the fragment.
//
// It returns nil whenever it has written the response, error pages
// included, so that the seed's pattern `if err != nil { http.Error(...) }`
// never writes twice; the ResponseErrorHandler sees every error response.
// A non-nil error means nothing was written: the PreRedirectErrorHandler
// failed, and the caller must answer.
//
// A UserAuthorizationHandler that returns "" and no error has written the
// response itself (a login page, typically); HandleAuthorizeRequest then
// returns nil without writing. A UserAuthenticationHandler, when set, is
// used instead (authenticate.go): the server asks it who is signed in and
// decides itself whether a login or consent page is needed.
//
// An OpenID Provider (see Server.OpenID) also reads the OpenID Connect
// parameters of requests with the openid scope, serves the implicit and
// hybrid response types when the implicit switch is on, answers in the
// requested response_mode (query, fragment, or form_post: an
// auto-submitting page) and keeps the grant's OpenID Connect data with it
// (authorize_oidc.go).
func (s *Server) HandleAuthorizeRequest(w http.ResponseWriter, r *http.Request) error {
	req, err := s.validateAuthorizeRequest(w, r)
	if err != nil {
		if req == nil {
			return s.authorizeDirectError(w, r, err)
		}
		return s.redirectError(w, req, err)
	}
	userID, err := s.authorizeUser(w, r, req)
	if err != nil {
		return s.redirectError(w, req, err)
	}
	if userID == "" {
		return nil
	}
	req.UserID = userID
	if fn := s.AuthorizeScopeHandler; fn != nil {
		scope, err := fn(w, r)
		if err != nil {
			return s.redirectError(w, req, err)
		}
		if scope != "" {
			req.Scope = scope
		}
	}
	if fn := s.AccessTokenExpHandler; fn != nil {
		exp, err := fn(w, r)
		if err != nil {
			return s.redirectError(w, req, err)
		}
		req.AccessTokenExp = exp
	}
	if req.OpenID != nil {
		return s.respondOpenID(w, req)
	}
	ti, err := s.GetAuthorizeToken(r.Context(), req)
	if err != nil {
		return s.redirectError(w, req, err)
	}
	return s.redirect(w, req, s.GetAuthorizeData(req.ResponseType, ti))
}

// ValidationAuthorizeRequest reads and checks an authorization request
// (RFC 6749 4.1.1, 4.2.1). When the client or its redirect URI is not valid
// it returns a nil request: the error must not be redirected (RFC 6749
// 4.1.2.1). Otherwise a later error comes with the request, whose
// RedirectURI and State are those to redirect the error to.
func (s *Server) ValidationAuthorizeRequest(r *http.Request) (*AuthorizeRequest, error) {
	return s.validateAuthorizeRequest(nil, r)
}

func (s *Server) validateAuthorizeRequest(w http.ResponseWriter, r *http.Request) (*AuthorizeRequest, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, errAuthorizeMethod
	}
	if r.Method == http.MethodPost && r.PostForm == nil && r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, s.Config.maxBodyBytes())
	}
	// r.Form may have been set by the application, as the seed's examples
	// do to resume a request after the login page; ParseForm keeps it.
	if err := r.ParseForm(); err != nil {
		return nil, errMalformedForm
	}
	// A pushed request (RFC 9126 4): its request_uri is replaced by the
	// pushed parameters before anything reads them (par.go).
	pushed, err := s.resolvePushedRequest(r)
	if err != nil {
		return nil, err
	}
	form := r.Form
	for k, vs := range form {
		if !utf8.ValidString(k) {
			return nil, errMalformedForm
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, errMalformedForm
			}
		}
	}

	ctx := r.Context()
	ids := form["client_id"]
	if len(ids) > 1 {
		return nil, errRepeatedParam
	}
	if len(ids) == 0 || ids[0] == "" {
		return nil, errMissingClientID
	}
	client, err := s.Manager.GetClient(ctx, ids[0])
	if err != nil || client == nil {
		return nil, clientLookupError(err)
	}
	uris := form["redirect_uri"]
	if len(uris) > 1 {
		return nil, errRepeatedParam
	}
	var rawURI string
	if len(uris) == 1 {
		rawURI = uris[0]
	}
	redirectURI, err := s.Manager.ValidateRedirectURI(ctx, client, rawURI)
	if err != nil {
		return nil, err
	}
	if u, perr := url.Parse(redirectURI); perr != nil || redirectURI == "" || !u.IsAbs() ||
		strings.ContainsRune(redirectURI, '#') {
		// RFC 6749 3.1.2: absolute, without a fragment.
		return nil, errors.ErrInvalidRedirectURI
	}

	// From here on, errors are redirected to redirectURI.
	req := &AuthorizeRequest{
		ClientID:    ids[0],
		RedirectURI: redirectURI,
		Request:     r,
		client:      client,

		requestedURI: rawURI,
		validated:    true,
	}
	if st := form["state"]; len(st) == 1 {
		if !policy.ValidState(st[0]) {
			// Refused, and not echoed: the client gets the error without
			// the value it sent (RFC 6749 Appendix A.5).
			return req, errMalformedState
		}
		req.State = st[0]
	}
	rts := form["response_type"]
	if len(rts) == 1 {
		// Errors go where the response would: in the fragment for the
		// implicit grant (RFC 6749 4.2.2.1), or as the response_mode says.
		s.errorResponseMode(req, rts[0], form["response_mode"])
	}
	for k, vs := range form {
		if len(vs) > 1 && k != paramResource { // RFC 8707 2: resource repeats
			return req, errRepeatedParam
		}
	}
	if len(rts) == 0 || rts[0] == "" {
		return req, errMissingResponseType
	}
	rt, ok := s.responseType(rts[0])
	if !ok {
		return req, errUnsupportedResponse
	}
	req.rt, req.ResponseType = rt, rt.ResponseType()
	req.Scope = form.Get("scope")
	if !policy.ValidScope(req.Scope) {
		return req, policy.ErrMalformedScope
	}
	req.CodeChallenge = form.Get("code_challenge")
	req.CodeChallengeMethod = oauth2.CodeChallengeMethod(form.Get("code_challenge_method"))
	if req.CodeChallenge != "" && req.CodeChallengeMethod == "" {
		// RFC 7636 4.3: the method defaults to plain, which the manager
		// refuses unless enabled.
		req.CodeChallengeMethod = oauth2.CodeChallengePlain
	}
	if req.CodeChallenge != "" && !s.CheckCodeChallengeMethod(req.CodeChallengeMethod) {
		return req, errors.ErrUnsupportedCodeChallengeMethod
	}
	if req.CodeChallenge == "" && req.rt.Has(oidc.HasCode) && s.Config.ForcePKCE {
		return req, errors.ErrMissingCodeChallenge
	}
	if err := s.checkAuthorizePolicy(client, req); err != nil {
		return req, err
	}
	// RFC 9126 required pushing, RFC 8707 resource, RFC 9449 dpop_jkt
	// (authorize_ext.go).
	if err := s.authorizeExtensions(req, form, pushed); err != nil {
		return req, err
	}
	if err := s.validateOpenID(req, form); err != nil {
		return req, err
	}
	return req, nil
}

// CodeChallengeChecker is implemented by managers that tell ahead of
// issuance whether they accept the PKCE parameters of an authorization
// request, as manage.Manager does (RFC 7636 4.4.1).
type CodeChallengeChecker interface {
	CheckCodeChallenge(client oauth2.ClientInfo, challenge string, method oauth2.CodeChallengeMethod) error
}

// checkAuthorizePolicy checks what the manager would refuse at issuance,
// before the resource owner is asked anything, so that the login and
// consent pages only serve a request that can be granted: the client may
// use the response type's grant (unauthorized_client), may ask for the
// scope (invalid_scope, RFC 6749 3.3), and sends PKCE parameters the
// manager accepts (RFC 7636 4.4.1). Errors are redirected to the client.
func (s *Server) checkAuthorizePolicy(client oauth2.ClientInfo, req *AuthorizeRequest) error {
	pc := policy.Of(client)
	gt := oauth2.AuthorizationCode
	if req.rt != 0 && !req.rt.Has(oidc.HasCode) {
		// token and id_token: the implicit flows.
		gt = oauth2.Implicit
	}
	if err := pc.CheckGrant(gt); err != nil {
		return errResponseNotAllowed
	}
	if err := pc.CheckScope(req.Scope); err != nil {
		return err
	}
	if req.rt.Has(oidc.HasToken) && (pc.RequiresDPoP() || pc.RequiresCertificateBinding()) {
		// An access token from the authorization endpoint is a bearer
		// token: no proof of possession can bind it (RFC 9449 10, RFC
		// 8705 3). A client registered for bound tokens never gets one.
		return errBoundClientImplicit
	}
	if req.rt.Has(oidc.HasCode) {
		if c, ok := s.Manager.(CodeChallengeChecker); ok {
			return c.CheckCodeChallenge(client, req.CodeChallenge, req.CodeChallengeMethod)
		}
	}
	return nil
}

// clientLookupError maps a failed client lookup at the authorization
// endpoint: an unknown client is an invalid_request (there is no
// invalid_client here, RFC 6749 4.1.2.1); a store failure keeps its error.
func clientLookupError(err error) error {
	if err == nil || stderrors.Is(err, oauth2.ErrNotFound) || stderrors.Is(err, errors.ErrInvalidClient) {
		return errUnknownClient
	}
	return err
}

// GetAuthorizeToken checks the client's right to the response type and the
// scope, then has the manager issue a code or, for the implicit grant, a
// token (RFC 6749 4.1.2, 4.2.2). The PKCE challenge goes to the manager,
// which validates it (RFC 7636 4.4).
func (s *Server) GetAuthorizeToken(ctx context.Context, req *AuthorizeRequest) (oauth2.TokenInfo, error) {
	gt := oauth2.AuthorizationCode
	if req.ResponseType == oauth2.Token {
		gt = oauth2.Implicit
	}
	client := req.client
	if client == nil || client.GetID() != req.ClientID {
		c, err := s.Manager.GetClient(ctx, req.ClientID)
		if err != nil || c == nil {
			return nil, clientLookupError(err)
		}
		client = c
	}
	pc := policy.Of(client)
	if err := s.checkClientGrant(pc, req.ClientID, gt); err != nil {
		if stderrors.Is(err, errGrantNotAllowed) {
			return nil, errResponseNotAllowed
		}
		return nil, err
	}
	redirectURI := req.RedirectURI
	if req.validated {
		redirectURI = req.requestedURI
	}
	tgr := &oauth2.TokenGenerateRequest{
		ClientID:            req.ClientID,
		Client:              client,
		UserID:              req.UserID,
		RedirectURI:         redirectURI,
		Scope:               req.Scope,
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod,
		AccessTokenExp:      req.AccessTokenExp,
		Request:             req.Request,
		// A copy: the extensions below add to it, per part of a response
		// that issues twice (a hybrid code and token).
		Extension: maps.Clone(req.extension()),
	}
	if err := s.checkClientScope(tgr); err != nil {
		return nil, err
	}
	// RFC 8707 resources and RFC 9449 dpop_jkt into the code's extension
	// data; a pushed request is used up (authorize_ext.go).
	if err := s.authorizeIssue(ctx, req, tgr); err != nil {
		return nil, err
	}
	return s.Manager.GenerateAuthToken(ctx, req.ResponseType, tgr)
}

// GetAuthorizeData returns the parameters of a successful authorization
// response: the code (RFC 6749 4.1.2), or for the implicit grant the token
// without a refresh token (RFC 6749 4.2.2).
func (s *Server) GetAuthorizeData(rt oauth2.ResponseType, ti oauth2.TokenInfo) map[string]any {
	if rt == oauth2.Token {
		data := s.GetTokenData(ti)
		delete(data, "refresh_token")
		return data
	}
	return map[string]any{"code": ti.GetCode()}
}

// GetRedirectURI returns req.RedirectURI with data, state and iss (RFC
// 9207 2) added: in the query for the code flow, keeping the URI's own
// query (RFC 6749 3.1.2), or in the fragment for the implicit grant (RFC
// 6749 4.2.2) and the other response types, or as req.ResponseMode says
// (query or fragment; form_post, which is no URI, is written by
// HandleAuthorizeRequest and gets the fragment here). Values are
// form-encoded, so that state decodes to exactly what the client sent.
func (s *Server) GetRedirectURI(req *AuthorizeRequest, data map[string]any) (string, error) {
	base := req.RedirectURI
	if _, err := url.Parse(base); err != nil || strings.ContainsRune(base, '#') {
		return "", fmt.Errorf("server: redirect URI: %w", errors.ErrInvalidRedirectURI)
	}
	params := make(url.Values, len(data)+2)
	for k, v := range data {
		params.Set(k, paramString(v))
	}
	if req.State != "" {
		params.Set("state", req.State)
	}
	if s.Config.Issuer != "" {
		params.Set("iss", s.Config.Issuer)
	}
	encoded := params.Encode()
	if s.responseMode(req) != ResponseModeQuery {
		return base + "#" + encoded, nil
	}
	switch {
	case !strings.ContainsRune(base, '?'):
		return base + "?" + encoded, nil
	case strings.HasSuffix(base, "?"), strings.HasSuffix(base, "&"):
		return base + encoded, nil
	}
	return base + "&" + encoded, nil
}

func paramString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(v)
}

// redirect sends the user agent to the client with data (RFC 6749 4.1.2),
// or posts it there (form_post).
func (s *Server) redirect(w http.ResponseWriter, req *AuthorizeRequest, data map[string]any) error {
	if s.responseMode(req) == ResponseModeFormPost {
		return s.formPost(w, req, data)
	}
	uri, err := s.GetRedirectURI(req, data)
	if err != nil {
		return s.authorizeDirectError(w, req.Request, err)
	}
	h := w.Header()
	h.Set("Location", uri)
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusFound)
	return nil
}

// redirectError sends an error to the client's validated redirect URI
// (RFC 6749 4.1.2.1, 4.2.2.1).
func (s *Server) redirectError(w http.ResponseWriter, req *AuthorizeRequest, err error) error {
	data, _, _ := s.GetErrorData(err)
	return s.redirect(w, req, data)
}
