package oauth2d

import (
	"context"
	"net/http"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/web"
	"github.com/oauth2d/oauth2/manage"
)

// userAuthorization is the server's UserAuthorizationHandler. The server
// has checked the client, the redirect URI and the response type; this
// checks the rest of the request before anybody is asked to sign in
// (checkAuthorizeRequest), so that the login and consent pages only ever
// serve a request that can be granted, then hands it to the pages. An
// error here is redirected to the client with state and iss (RFC 6749
// 4.1.2.1, RFC 9207).
func (a *App) userAuthorization(w http.ResponseWriter, r *http.Request) (string, error) {
	req, err := a.checkAuthorizeRequest(r)
	if err != nil {
		return "", err
	}
	user, approved, err := a.web.UserAuthorization(w, r, req)
	if err == nil && approved {
		if rw := recordOf(r.Context()); rw != nil {
			rw.rememberConsent = true
		}
	}
	return user, err
}

// checkAuthorizeRequest returns the request for the pages. The server has
// validated all of it before calling the UserAuthorizationHandler: the
// client, the redirect URI, the response type, and with the library's one
// policy the client's right to the grant, its scope and the PKCE
// parameters (server.CodeChallengeChecker), so that the login and consent
// pages only ever serve a request that can be granted.
func (a *App) checkAuthorizeRequest(r *http.Request) (web.Request, error) {
	form := r.Form
	req := web.Request{ClientID: form.Get("client_id"), Scope: form.Get("scope")}
	client, err := a.manager.GetClient(r.Context(), req.ClientID)
	if err != nil {
		return req, err
	}
	req.RedirectURI, err = a.manager.ValidateRedirectURI(r.Context(), client, form.Get("redirect_uri"))
	if rw := recordOf(r.Context()); rw != nil {
		// A pushed request: r.Form holds the pushed parameters (the
		// scope the pages show); it resumes with its request_uri.
		req.Query = resumeQuery(req.ClientID, rw.requestURI)
	}
	return req, err
}

// authManager is the manager the server uses: *manage.Manager, whose
// methods (and optional interfaces) it keeps, with what the App does once
// a code or token is issued at the authorization endpoint.
type authManager struct {
	*manage.Manager
	app *App
}

// GenerateAuthToken issues the code (or implicit token) of an approved
// authorization request, then remembers the consent the user gave on the
// consent page for it, and counts an implicit token.
func (m *authManager) GenerateAuthToken(ctx context.Context, rt oauth2.ResponseType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	ti, err := m.Manager.GenerateAuthToken(ctx, rt, tgr)
	if err != nil {
		return nil, err
	}
	a := m.app
	if rt == oauth2.Token {
		a.metrics.issued("implicit")
	}
	if tgr.Request != nil {
		if rw := recordOf(tgr.Request.Context()); rw != nil && rw.rememberConsent {
			rw.rememberConsent = false
			if err := a.web.RememberConsent(ctx, tgr.UserID, tgr.ClientID, tgr.Scope); err != nil {
				// The code is issued; the user is asked again next time.
				a.log.Error("consent: remember", "err", err)
			}
		}
	}
	return ti, nil
}
