package server

import (
	"context"
	"net/http"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

var (
	errMissingGrantType = errors.WithDescription(errors.ErrInvalidRequest, "The grant_type parameter is missing")
	errUnsupportedGrant = errors.WithDescription(errors.ErrUnsupportedGrantType, "The grant_type is not supported by this server")
	errGrantNotAllowed  = policy.ErrGrantNotAllowed
	errScopeNotAllowed  = policy.ErrScopeNotAllowed
)

// HandleTokenRequest serves the token endpoint (RFC 6749 3.2): it reads and
// checks the request, authenticates the client (RFC 6749 2.3), has the
// registered Grant of the grant_type issue the token through the manager,
// and writes the JSON response (RFC 6749 5.1) or error (RFC 6749 5.2).
// An OpenID Provider adds the id_token of the authorization code and
// refresh token grants of openid grants (token_oidc.go). Every response
// has Cache-Control: no-store.
//
// Only POST is accepted unless Config.AllowGetAccessRequest: any other
// method is answered 405 Method Not Allowed with an Allow header and an
// invalid_request body. On a POST every parameter comes from the body:
// client credentials, codes, refresh tokens, verifiers and any other
// parameter a grant reads in the query string are invalid_request (RFC
// 6749 3.2; query strings end up in logs). The returned error is that of
// writing the response; a request error is answered, not returned.
func (s *Server) HandleTokenRequest(w http.ResponseWriter, r *http.Request) error {
	f := getForm()
	defer putForm(f)
	e, tgr, err := s.validateTokenRequest(w, r, f)
	if err != nil {
		return s.tokenError(w, err)
	}
	if fn := s.AccessTokenExpHandler; fn != nil {
		exp, err := fn(w, r)
		if err != nil {
			return s.tokenError(w, err)
		}
		if exp > 0 {
			tgr.AccessTokenExp = exp
		}
	}
	ti, err := e.grant.Issue(r.Context(), s, tgr)
	if err != nil {
		return s.tokenError(w, err)
	}
	idToken, err := s.tokenIDToken(r.Context(), e.info.Type, tgr, ti)
	if err != nil {
		return s.tokenError(w, err)
	}
	if fn := s.TokenIssuedHandler; fn != nil {
		fn(r, e.info.Type, ti)
	}
	return s.writeTokenSuccess(w, ti, idToken)
}

// ValidationTokenRequest reads and checks a token request (RFC 6749 3.2, 4),
// authenticates its client (RFC 6749 2.3) and checks that the client may
// use the grant. The returned request carries the authenticated client in
// Client. For the password grant it also verifies the resource owner
// through the PasswordAuthorizationHandler.
func (s *Server) ValidationTokenRequest(r *http.Request) (oauth2.GrantType, *oauth2.TokenGenerateRequest, error) {
	f := getForm()
	defer putForm(f)
	e, tgr, err := s.validateTokenRequest(nil, r, f)
	if err != nil {
		return "", nil, err
	}
	return e.info.Type, tgr, nil
}

// validateTokenRequest does the steps every grant shares (see Grant) up to
// and including the grant's ReadRequest.
func (s *Server) validateTokenRequest(w http.ResponseWriter, r *http.Request, f *form) (*grantEntry, *oauth2.TokenGenerateRequest, error) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet:
		if !s.Config.AllowGetAccessRequest {
			return nil, nil, s.methodNotAllowed()
		}
	default:
		return nil, nil, s.methodNotAllowed()
	}
	if err := f.readTokenForm(w, r, s.Config.maxBodyBytes()); err != nil {
		return nil, nil, err
	}
	gtRaw, _ := f.lookup("grant_type")
	if len(gtRaw) == 0 {
		return nil, nil, errMissingGrantType
	}
	e := lookupGrantBytes(gtRaw)
	if e == nil || !s.enabled(e) {
		return nil, nil, errUnsupportedGrant
	}
	if s.hooksReadForm() {
		s.fillRequestForm(r, f)
	}

	ctx := r.Context()
	client, sec, err := s.authenticateClient(ctx, r, f)
	if err != nil {
		return nil, nil, err
	}
	// The client must be allowed the grant before anything else of the
	// request is looked at (the password grant's resource owner
	// credentials, for one).
	if err := s.checkClientGrant(client, client.ID(), e.info.Type); err != nil {
		return nil, nil, err
	}
	tgr := &oauth2.TokenGenerateRequest{
		ClientID:     client.ID(),
		ClientSecret: sec,
		Client:       client.Info(),
		Request:      r,
	}
	if err := e.grant.ReadRequest(ctx, s, f, tgr); err != nil {
		return nil, nil, err
	}
	if err := f.checkBodyOnly(); err != nil {
		return nil, nil, err
	}
	// RFC 8707 resources and the RFC 9449 DPoP proof (token_ext.go).
	if err := s.tokenRequestExtensions(w, r, f, e.info.Type, client, tgr); err != nil {
		return nil, nil, err
	}
	return e, tgr, nil
}

func (s *Server) methodNotAllowed() error {
	allow := "POST"
	if s.Config.AllowGetAccessRequest {
		allow = "GET, POST"
	}
	return errors.WithStatus(errMethodNotAllowed, http.StatusMethodNotAllowed,
		http.Header{"Allow": {allow}})
}

// hooksReadForm reports whether a hook that gets the *http.Request may
// read r.Form, which the server then fills from the parameters it parsed.
func (s *Server) hooksReadForm() bool {
	return s.ClientScopeHandler != nil || s.RefreshingScopeHandler != nil ||
		s.AccessTokenExpHandler != nil || modeOf(s.ClientInfoHandler) == modeCustom
}

func (s *Server) fillRequestForm(r *http.Request, f *form) {
	if r.Method == http.MethodGet {
		r.Form = f.values(true, false)
		r.PostForm = make(map[string][]string)
		return
	}
	r.Form = f.values(false, false)
	r.PostForm = f.values(false, true)
}

// checkClientGrant checks the grant against the client's registration
// through the policy (RFC 7591 2; public clients never get client
// credentials, RFC 6749 4.4) and then the ClientAuthorizedHandler, asked
// about clientID (RFC 6749 5.2 unauthorized_client).
func (s *Server) checkClientGrant(client policy.Client, clientID string, gt oauth2.GrantType) error {
	if err := client.CheckGrant(gt); err != nil {
		return err
	}
	if fn := s.ClientAuthorizedHandler; fn != nil {
		allowed, err := fn(clientID, gt)
		if err != nil {
			return err
		}
		if !allowed {
			return errGrantNotAllowed
		}
	}
	return nil
}

// checkClientScope runs the ClientScopeHandler, when set, on the request
// (RFC 6749 3.3 invalid_scope).
func (s *Server) checkClientScope(tgr *oauth2.TokenGenerateRequest) error {
	fn := s.ClientScopeHandler
	if fn == nil {
		return nil
	}
	allowed, err := fn(tgr)
	if err != nil {
		return err
	}
	if !allowed {
		return errScopeNotAllowed
	}
	return nil
}

// readScope reads the scope parameter, refusing one outside the syntax of
// RFC 6749 3.3 (Appendix A.4) with invalid_scope.
func readScope(p Params) (string, error) {
	scope := p.Get("scope")
	if !policy.ValidScope(scope) {
		return "", policy.ErrMalformedScope
	}
	return scope, nil
}

// GetAccessToken has the registered Grant of gt issue the token of tgr
// (RFC 6749 4.1.3, 4.3, 4.4, 6; RFC 8628 3.4 with the device_code in
// tgr.Code): it checks the grant against the configuration
// (CheckGrantType), the client's registration and the
// ClientAuthorizedHandler, then the grant runs its own hooks and has the
// manager issue. Nothing is issued when any check fails. tgr.Client is the
// authenticated client; when it is nil only the configuration and the
// ClientAuthorizedHandler are checked here, and the manager looks the
// client up and checks it itself.
func (s *Server) GetAccessToken(ctx context.Context, gt oauth2.GrantType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	e := lookupGrant(gt)
	if e == nil || !s.enabled(e) {
		return nil, errUnsupportedGrant
	}
	if err := s.checkClientGrant(policy.Of(tgr.Client), tgr.ClientID, gt); err != nil {
		return nil, err
	}
	return e.grant.Issue(ctx, s, tgr)
}
