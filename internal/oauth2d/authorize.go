package oauth2d

import (
	"context"
	"net/http"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/server"
)

// userAuthentication is the server's UserAuthenticationHandler. The server
// has validated the whole request before calling it (client, redirect URI,
// response type, scope, PKCE, and the OpenID Connect parameters), so that
// the login and consent pages only ever serve a request that can be
// granted; it decides from prompt, max_age and id_token_hint which page,
// if any, is needed. The pages answer (internal/web); what they leave
// pending until the code is issued (a consent to remember, the request's
// sign-in mark to spend) waits in the request's record for authManager.
func (a *App) userAuthentication(w http.ResponseWriter, r *http.Request, req *server.AuthorizeRequest) (*server.Authentication, error) {
	// A request sent whole resumes with its own query; a pushed one with
	// its client_id and request_uri (RFC 9126 4, protocol.go).
	rw := recordOf(r.Context())
	var resume string
	if rw != nil {
		resume = resumeQuery(req.ClientID, rw.requestURI)
	}
	auth, pending, err := a.web.UserAuthentication(w, r, req, resume)
	if err == nil && pending != nil && rw != nil {
		rw.pending = pending
	}
	return auth, err
}

// authManager is the manager the server uses: *manage.Manager, whose
// methods (and optional interfaces) it keeps, with what the App does once
// a code or token is issued at the authorization endpoint.
type authManager struct {
	*manage.Manager
	app *App
}

// GenerateAuthToken issues the code (or implicit token) of an approved
// authorization request, then completes what the pages left pending for
// it (a consent the user just gave is remembered only now, for the scope
// granted), and counts an implicit token.
func (m *authManager) GenerateAuthToken(ctx context.Context, rt oauth2.ResponseType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	ti, err := m.Manager.GenerateAuthToken(ctx, rt, tgr)
	if err != nil {
		return nil, err
	}
	a := m.app
	if rt == oauth2.Token {
		a.metrics.issued("implicit")
	}
	a.indexGrant(ctx, ti)
	if tgr.Request != nil {
		if rw := recordOf(tgr.Request.Context()); rw != nil && rw.pending != nil {
			pending := rw.pending
			rw.pending = nil
			if err := a.web.Issued(ctx, pending, tgr.Scope); err != nil {
				// The code is issued; the user is asked again next time.
				a.log.Error("consent: remember", "err", err)
			}
		}
	}
	return ti, nil
}
