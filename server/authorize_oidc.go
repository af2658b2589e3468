package server

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"

	stderrors "errors"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/policy"
)

// The authorization endpoint of an OpenID Provider (see Server.OpenID):
// OpenID Connect Core 1.0 3.1.2 (code flow), 3.2.2 (implicit flow), 3.3.2
// (hybrid flow), and the response modes of OAuth 2.0 Multiple Response
// Type Encoding Practices and Form Post Response Mode.

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices 2.1,
// OAuth 2.0 Form Post Response Mode 2).
const (
	// ResponseModeQuery puts the response in the redirect URI's query, the
	// default of response_type code. It is refused for the response types
	// that return tokens (Multiple Response Type Encoding Practices 3.0
	// and 5: tokens do not belong in URLs servers log).
	ResponseModeQuery = "query"
	// ResponseModeFragment puts the response in the redirect URI's
	// fragment, the default of every other response type.
	ResponseModeFragment = "fragment"
	// ResponseModeFormPost posts the response to the redirect URI from an
	// HTML form that the user agent submits at once.
	ResponseModeFormPost = "form_post"
)

var (
	errResponseMode = errors.WithDescription(errors.ErrInvalidRequest,
		"The response_mode is not supported for this response type")
	errOpenIDResponseType = errors.WithDescription(errors.ErrInvalidRequest,
		"This response type needs the openid scope (OpenID Connect Core 1.0 3)")
	errNoOpenIDScope = errors.WithDescription(errors.ErrInvalidScope,
		"The granted scope has no openid: no ID Token can be issued")
	errEndUserGone = errors.WithDescription(errors.ErrAccessDenied,
		"The End-User no longer exists")
)

// openIDResponseTypes are the response types of the implicit and hybrid
// flows, in the order the metadata lists them.
var openIDResponseTypes = []oauth2.ResponseType{
	oidc.ResponseTypeIDToken, oidc.ResponseTypeIDTokenToken,
	oidc.ResponseTypeCodeIDToken, oidc.ResponseTypeCodeToken, oidc.ResponseTypeCodeIDTokenToken,
}

// checkOpenIDResponseType reports whether an OpenID Provider serves rt, a
// response type of the implicit or hybrid flow written as
// oidc.ParseResponseType orders it: when the implicit switch is on
// (oauth2.Token in Config.AllowedResponseTypes) or rt itself is listed.
func (s *Server) checkOpenIDResponseType(rt oauth2.ResponseType) bool {
	if !slices.Contains(openIDResponseTypes, rt) || !s.openIDEnabled() {
		return false
	}
	return slices.Contains(s.Config.AllowedResponseTypes, oauth2.Token) ||
		slices.Contains(s.Config.AllowedResponseTypes, rt)
}

// responseType reads a response_type parameter and reports whether the
// server serves it. Only an OpenID Provider reads values other than code
// and token, in any order.
func (s *Server) responseType(raw string) (oidc.ResponseTypes, bool) {
	switch raw {
	case "code":
		return oidc.HasCode, s.CheckResponseType(oauth2.Code)
	case "token":
		return oidc.HasToken, s.CheckResponseType(oauth2.Token)
	}
	if !s.openIDEnabled() {
		return 0, false
	}
	rt, ok := oidc.ParseResponseType(raw)
	return rt, ok && s.CheckResponseType(rt.ResponseType())
}

// responseTypesSupported lists the response types CheckResponseType
// accepts (RFC 8414 2 response_types_supported).
func (s *Server) responseTypesSupported() []string {
	out := []string{}
	for _, rt := range append([]oauth2.ResponseType{oauth2.Code, oauth2.Token}, openIDResponseTypes...) {
		if s.CheckResponseType(rt) {
			out = append(out, string(rt))
		}
	}
	return out
}

// responseModesSupported lists the response modes the authorization
// endpoint answers in (RFC 8414 2, Discovery 1.0 3
// response_modes_supported).
func (s *Server) responseModesSupported() []string {
	if s.openIDEnabled() {
		return []string{ResponseModeQuery, ResponseModeFragment, ResponseModeFormPost}
	}
	var out []string
	if s.CheckResponseType(oauth2.Code) {
		out = append(out, ResponseModeQuery)
	}
	if s.CheckResponseType(oauth2.Token) {
		out = append(out, ResponseModeFragment)
	}
	return out
}

// responseModeAllowed reports whether mode may carry the response of rt:
// query only for a response without tokens.
func responseModeAllowed(mode string, rt oidc.ResponseTypes) bool {
	switch mode {
	case ResponseModeQuery:
		return rt == 0 || rt == oidc.HasCode
	case ResponseModeFragment, ResponseModeFormPost:
		return true
	}
	return false
}

// errorResponseMode sets, on a request whose redirect URI is validated,
// where its errors go before the rest is read: the response type's, and an
// OpenID Provider's response_mode when it is a valid one.
func (s *Server) errorResponseMode(req *AuthorizeRequest, rawRT string, modes []string) {
	rt, ok := s.responseType(rawRT)
	if ok {
		req.rt, req.ResponseType = rt, rt.ResponseType()
	}
	if len(modes) == 1 && s.openIDEnabled() && responseModeAllowed(modes[0], req.rt) &&
		(modes[0] != ResponseModeFormPost || formPostable(req.RedirectURI)) {
		req.ResponseMode = modes[0]
	}
}

// formPostable reports whether a form can be posted to uri: an http or
// https URL. A native app's private-use scheme cannot receive a POST.
func formPostable(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// responseMode returns the response mode of req: its ResponseMode, else
// query for code (and for a request whose response type is unknown) and
// fragment for every other response type.
func (s *Server) responseMode(req *AuthorizeRequest) string {
	if req.ResponseMode != "" {
		return req.ResponseMode
	}
	if req.ResponseType == "" || req.ResponseType == oauth2.Code {
		return ResponseModeQuery
	}
	return ResponseModeFragment
}

// validateOpenID reads the OpenID Connect parameters of req, whose OAuth
// 2.0 parameters are valid, when the server is an OpenID Provider: the
// response_mode; the parameters of Core 3.1.2.1 (oidc.ParseAuthRequest:
// request and request_uri are refused, prompt, max_age, nonce, claims,
// ... are checked); for the implicit and hybrid flows, that the client may
// use the implicit grant; and the id_token_hint, verified with the ID
// token generator's keys and issuer. Every error is redirected to the
// client.
func (s *Server) validateOpenID(req *AuthorizeRequest, form url.Values) error {
	if !s.openIDEnabled() {
		return nil
	}
	if modes := form["response_mode"]; len(modes) == 1 && (!responseModeAllowed(modes[0], req.rt) ||
		(modes[0] == ResponseModeFormPost && !formPostable(req.RedirectURI))) {
		return errResponseMode
	}
	o, err := oidc.ParseAuthRequest(form, string(req.ResponseType))
	if err != nil {
		return err
	}
	if !o.OpenID {
		if req.rt != oidc.HasCode && req.rt != oidc.HasToken {
			return errOpenIDResponseType
		}
		return nil
	}
	req.OpenID = o
	if req.rt != oidc.HasCode && req.rt != oidc.HasToken {
		// The front channel carries an ID token or an access token: the
		// implicit grant's part of the flow (OpenID Connect Dynamic Client
		// Registration 1.0 2 grant_types), checked before any page is
		// shown.
		if err := s.checkClientGrant(policy.Of(req.client), req.ClientID, oauth2.Implicit); err != nil {
			if stderrors.Is(err, errGrantNotAllowed) {
				return errResponseNotAllowed
			}
			return err
		}
	}
	if o.IDTokenHint != "" {
		p, ok := s.idTokens(nil).(IDTokenHintParser)
		if !ok {
			return oidc.ErrInvalidIDTokenHint
		}
		if req.IDTokenHint, err = p.ParseIDTokenHint(o.IDTokenHint); err != nil {
			return err
		}
	}
	return nil
}

// respondOpenID issues what the response type of the OpenID Connect
// request req asks for, to req.UserID, and sends it to the client: a code
// (Core 3.1.2.5), and for the implicit and hybrid flows an ID token with
// c_hash and at_hash and an access token (3.2.2.5, 3.3.2.5). Every part
// is issued or none is sent: when the ID token cannot be signed, the
// access token issued with it is removed and the client gets server_error
// (the code, never sent, expires unused).
func (s *Server) respondOpenID(w http.ResponseWriter, req *AuthorizeRequest) error {
	ctx := req.Request.Context()
	if !oidc.IsOpenID(req.Scope) {
		// The AuthorizeScopeHandler took openid away.
		if req.rt.Has(oidc.HasIDToken) {
			return s.redirectError(w, req, errNoOpenIDScope)
		}
		req.OpenID = nil
	}
	if req.rt == oidc.HasCode || req.rt == oidc.HasToken || req.rt == 0 {
		ti, err := s.GetAuthorizeToken(ctx, req)
		if err != nil {
			return s.redirectError(w, req, err)
		}
		return s.redirect(w, req, s.GetAuthorizeData(req.ResponseType, ti))
	}
	data, err := s.issueOpenID(ctx, req)
	if err != nil {
		return s.redirectError(w, req, err)
	}
	return s.redirect(w, req, data)
}

// issueOpenID issues the parts of an implicit or hybrid response.
func (s *Server) issueOpenID(ctx context.Context, req *AuthorizeRequest) (map[string]any, error) {
	client, err := s.authorizeClient(ctx, req)
	if err != nil {
		return nil, err
	}
	data := make(map[string]any, 6)
	var code, token oauth2.TokenInfo
	if req.rt.Has(oidc.HasCode) {
		part := *req
		part.ResponseType = oauth2.Code
		if code, err = s.GetAuthorizeToken(ctx, &part); err != nil {
			return nil, err
		}
		data["code"] = code.GetCode()
	}
	if req.rt.Has(oidc.HasToken) {
		part := *req
		part.ResponseType = oauth2.Token
		if token, err = s.GetAuthorizeToken(ctx, &part); err != nil {
			return nil, err
		}
		for k, v := range s.GetAuthorizeData(oauth2.Token, token) {
			data[k] = v
		}
	}
	if !req.rt.Has(oidc.HasIDToken) {
		return data, nil
	}
	idr := &generates.IDTokenRequest{Client: client, LoadUserClaims: s.userClaims(nil)}
	switch {
	case code != nil:
		idr.TokenInfo, idr.Code = code, code.GetCode()
	case token != nil:
		idr.TokenInfo = token
	default:
		// response_type id_token: nothing is stored, the ID token is the
		// whole grant.
		if idr.TokenInfo, err = s.idTokenOnlyGrant(ctx, client, req); err != nil {
			return nil, err
		}
	}
	if token != nil {
		idr.AccessToken = token.GetAccess()
	}
	raw, err := s.idTokens(nil).IDToken(ctx, idr)
	if err != nil {
		if token != nil {
			if rerr := s.Manager.RemoveAccessToken(ctx, token.GetAccess()); rerr != nil {
				err = fmt.Errorf("%w (and removing its access token: %w)", err, rerr)
			}
		}
		if stderrors.Is(err, oauth2.ErrNotFound) {
			return nil, errEndUserGone
		}
		return nil, fmt.Errorf("server: ID token: %w", err)
	}
	data["id_token"] = raw
	return data, nil
}

// idTokenOnlyGrant checks that the client may have req's scope, as the
// manager does before it issues a code or token, and returns the record
// an ID token of response_type id_token is made from.
func (s *Server) idTokenOnlyGrant(ctx context.Context, client oauth2.ClientInfo, req *AuthorizeRequest) (oauth2.TokenInfo, error) {
	if err := policy.Of(client).CheckScope(req.Scope); err != nil {
		return nil, err
	}
	tgr := &oauth2.TokenGenerateRequest{
		ClientID: req.ClientID, Client: client, UserID: req.UserID, RedirectURI: req.RedirectURI,
		Scope: req.Scope, Request: req.Request, Extension: maps.Clone(req.extension()),
	}
	if err := s.checkClientScope(tgr); err != nil {
		return nil, err
	}
	// As for every other response: a pushed request is used up
	// (authorize_ext.go).
	if err := s.authorizeIssue(ctx, req, tgr); err != nil {
		return nil, err
	}
	return &models.Token{ClientID: req.ClientID, UserID: req.UserID, Scope: req.Scope,
		RedirectURI: req.RedirectURI, Extension: req.extension()}, nil
}
