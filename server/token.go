package server

import (
	"context"
	stderrors "errors"
	"net/http"
	"slices"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

var (
	errMissingGrantType = errors.WithDescription(errors.ErrInvalidRequest, "The grant_type parameter is missing")
	errMissingCode      = errors.WithDescription(errors.ErrInvalidRequest, "The code parameter is missing")
	errMissingRefresh   = errors.WithDescription(errors.ErrInvalidRequest, "The refresh_token parameter is missing")
	errMissingUserCreds = errors.WithDescription(errors.ErrInvalidRequest, "The username and password parameters are required")
	errUnsupportedGrant = errors.WithDescription(errors.ErrUnsupportedGrantType, "The grant_type is not supported by this server")
	errGrantNotAllowed  = errors.WithDescription(errors.ErrUnauthorizedClient, "The client is not allowed to use this grant type")
	errScopeNotAllowed  = errors.WithDescription(errors.ErrInvalidScope, "The client is not allowed to request this scope")
	errOwnerCredentials = errors.WithDescription(errors.ErrInvalidGrant, "The resource owner credentials are invalid")
	errRefreshRefused   = errors.WithDescription(errors.ErrInvalidGrant, "The refresh token may not be used")
)

// HandleTokenRequest serves the token endpoint (RFC 6749 3.2): it reads and
// checks the request, authenticates the client (RFC 6749 2.3), has the
// manager issue the token, and writes the JSON response (RFC 6749 5.1) or
// error (RFC 6749 5.2). Every response has Cache-Control: no-store.
//
// Only POST is accepted unless Config.AllowGetAccessRequest: any other
// method is answered 405 Method Not Allowed with an Allow header and an
// invalid_request body. The returned error is that of writing the response;
// a request error is answered, not returned.
func (s *Server) HandleTokenRequest(w http.ResponseWriter, r *http.Request) error {
	f := getForm()
	defer putForm(f)
	gt, tgr, err := s.validateTokenRequest(w, r, f)
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
	ti, err := s.GetAccessToken(r.Context(), gt, tgr)
	if err != nil {
		return s.tokenError(w, err)
	}
	if fn := s.TokenIssuedHandler; fn != nil {
		fn(r, gt, ti)
	}
	return s.writeTokenSuccess(w, ti)
}

// ValidationTokenRequest reads and checks a token request (RFC 6749 3.2, 4)
// and authenticates its client (RFC 6749 2.3). The returned request carries
// the authenticated client in Client. For the password grant it also
// verifies the resource owner through the PasswordAuthorizationHandler.
func (s *Server) ValidationTokenRequest(r *http.Request) (oauth2.GrantType, *oauth2.TokenGenerateRequest, error) {
	f := getForm()
	defer putForm(f)
	return s.validateTokenRequest(nil, r, f)
}

func (s *Server) validateTokenRequest(w http.ResponseWriter, r *http.Request, f *form) (oauth2.GrantType, *oauth2.TokenGenerateRequest, error) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet:
		if !s.Config.AllowGetAccessRequest {
			return "", nil, s.methodNotAllowed()
		}
	default:
		return "", nil, s.methodNotAllowed()
	}
	if err := f.readTokenForm(w, r, s.Config.maxBodyBytes()); err != nil {
		return "", nil, err
	}
	gtRaw, _ := f.lookup("grant_type")
	if len(gtRaw) == 0 {
		return "", nil, errMissingGrantType
	}
	gt := grantTypeOf(gtRaw)
	if gt == "" || !s.CheckGrantType(gt) {
		return "", nil, errUnsupportedGrant
	}
	if s.hooksReadForm() {
		s.fillRequestForm(r, f)
	}

	ctx := r.Context()
	client, sec, err := s.authenticateClient(ctx, r, f)
	if err != nil {
		return "", nil, err
	}
	tgr := &oauth2.TokenGenerateRequest{
		ClientID:     client.GetID(),
		ClientSecret: sec,
		Client:       client,
		Request:      r,
	}
	switch gt {
	case oauth2.AuthorizationCode:
		// RFC 6749 4.1.3; code_verifier of RFC 7636 4.5. The manager
		// checks redirect_uri and the verifier against the code.
		if tgr.Code = f.Get("code"); tgr.Code == "" {
			return "", nil, errMissingCode
		}
		tgr.RedirectURI = f.Get("redirect_uri")
		tgr.CodeVerifier = f.Get("code_verifier")
		if tgr.CodeVerifier == "" && s.Config.ForcePKCE {
			return "", nil, errors.ErrMissingCodeVerifier
		}
	case oauth2.Refreshing:
		// RFC 6749 6.
		if tgr.Refresh, err = s.refreshToken(r, f); err != nil {
			return "", nil, err
		}
		tgr.Scope = f.Get("scope")
	case oauth2.ClientCredentials:
		// RFC 6749 4.4.2: confidential clients only.
		if client.IsPublic() {
			return "", nil, errPublicClientGrant
		}
		tgr.Scope = f.Get("scope")
	case oauth2.PasswordCredentials:
		// RFC 6749 4.3.2.
		tgr.Scope = f.Get("scope")
		username, password := f.Get("username"), f.Get("password")
		if username == "" || password == "" {
			return "", nil, errMissingUserCreds
		}
		// The client must be allowed the grant before the resource
		// owner's password is tried.
		if err := s.checkClientGrant(client, tgr.ClientID, gt); err != nil {
			return "", nil, err
		}
		userID, err := s.PasswordAuthorizationHandler(ctx, tgr.ClientID, username, password)
		switch {
		case err != nil && stderrors.Is(err, errors.ErrAccessDenied):
			return "", nil, errOwnerCredentials
		case err != nil:
			return "", nil, err
		case userID == "":
			return "", nil, errOwnerCredentials
		}
		tgr.UserID = userID
	case oauth2.DeviceCode:
		// RFC 8628 3.4: the device_code travels in tgr.Code.
		if tgr.Code = f.Get("device_code"); tgr.Code == "" {
			return "", nil, errMissingDeviceCode
		}
	}
	return gt, tgr, nil
}

func (s *Server) methodNotAllowed() error {
	allow := "POST"
	if s.Config.AllowGetAccessRequest {
		allow = "GET, POST"
	}
	return errors.WithStatus(errMethodNotAllowed, http.StatusMethodNotAllowed,
		http.Header{"Allow": {allow}})
}

// grantTypeOf returns the grant type named by raw, or "" for a name this
// server does not implement, without allocating.
func grantTypeOf(raw []byte) oauth2.GrantType {
	switch string(raw) {
	case string(oauth2.AuthorizationCode):
		return oauth2.AuthorizationCode
	case string(oauth2.Refreshing):
		return oauth2.Refreshing
	case string(oauth2.ClientCredentials):
		return oauth2.ClientCredentials
	case string(oauth2.PasswordCredentials):
		return oauth2.PasswordCredentials
	case string(oauth2.DeviceCode):
		return oauth2.DeviceCode
	}
	return ""
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

// checkClientGrant checks the grant against the client's registered grant
// types (RFC 7591 2) and the ClientAuthorizedHandler (RFC 6749 5.2
// unauthorized_client).
func (s *Server) checkClientGrant(client oauth2.ClientInfo, clientID string, gt oauth2.GrantType) error {
	if md, ok := client.(oauth2.ClientMetadata); ok {
		gts := md.GetGrantTypes()
		if len(gts) > 0 && !slices.Contains(gts, gt) &&
			!(gt == oauth2.Implicit && slices.Contains(gts, oauth2.GrantType("implicit"))) {
			return errGrantNotAllowed
		}
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

// GetAccessToken checks the grant against the configuration, the client's
// registration and the ClientAuthorizedHandler, runs the scope and refresh
// hooks, and has the manager issue the token (RFC 6749 4.1.3, 4.3, 4.4, 6;
// RFC 8628 3.4 with the device_code in tgr.Code). Nothing is issued when any
// check fails.
func (s *Server) GetAccessToken(ctx context.Context, gt oauth2.GrantType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	if !s.CheckGrantType(gt) {
		return nil, errUnsupportedGrant
	}
	if err := s.checkClientGrant(tgr.Client, tgr.ClientID, gt); err != nil {
		return nil, err
	}
	switch gt {
	case oauth2.AuthorizationCode:
		return s.Manager.GenerateAccessToken(ctx, gt, tgr)
	case oauth2.PasswordCredentials, oauth2.ClientCredentials:
		if gt == oauth2.ClientCredentials && tgr.Client != nil && tgr.Client.IsPublic() {
			return nil, errPublicClientGrant
		}
		if fn := s.ClientScopeHandler; fn != nil {
			allowed, err := fn(tgr)
			if err != nil {
				return nil, err
			}
			if !allowed {
				return nil, errScopeNotAllowed
			}
		}
		return s.Manager.GenerateAccessToken(ctx, gt, tgr)
	case oauth2.Refreshing:
		if err := s.checkRefreshHooks(ctx, tgr); err != nil {
			return nil, err
		}
		return s.Manager.RefreshAccessToken(ctx, tgr)
	case oauth2.DeviceCode:
		return s.deviceAccessToken(ctx, tgr)
	}
	return nil, errUnsupportedGrant
}

// checkRefreshHooks runs the RefreshingScopeHandler (when a scope is asked
// for) and the RefreshingValidationHandler on the refresh token's record.
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
		allowed, err := scopeFn(tgr, rti.GetScope())
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
