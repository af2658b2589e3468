package oauth2d

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
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

// Errors of checkAuthorizeRequest.
var (
	errScopeNotRegistered = errors.WithDescription(errors.ErrInvalidScope, "The requested scope is unknown or not registered for this client")
	errScopeSyntax        = errors.WithDescription(errors.ErrInvalidScope, "The scope parameter is malformed")
	errResponseForClient  = errors.WithDescription(errors.ErrUnauthorizedClient, "The client is not registered for this response type")
)

// checkAuthorizeRequest validates what the server leaves to the grant's
// issue (RFC 6749 4.1.1, 4.1.2.1, 3.3; RFC 7636 4.3, 4.4.1), with the
// manager's own policy: the client is registered for the response type's
// grant, every scope token is well formed and registered for the client,
// and the PKCE parameters are those the manager accepts (a challenge for
// public clients and when pkce.required is set, S256, plain only when
// allowed, a challenge of the right form). It returns the request for the
// pages. The manager checks all of this again when it issues the code.
func (a *App) checkAuthorizeRequest(r *http.Request) (web.Request, error) {
	form := r.Form
	req := web.Request{ClientID: form.Get("client_id"), Scope: form.Get("scope")}
	client, err := a.manager.GetClient(r.Context(), req.ClientID)
	if err != nil {
		return req, err
	}
	if req.RedirectURI, err = a.manager.ValidateRedirectURI(r.Context(), client, form.Get("redirect_uri")); err != nil {
		return req, err
	}
	grant := oauth2.AuthorizationCode
	if oauth2.ResponseType(form.Get("response_type")) == oauth2.Token {
		grant = "implicit"
	}
	md, hasMetadata := client.(oauth2.ClientMetadata)
	if hasMetadata {
		if gts := md.GetGrantTypes(); len(gts) > 0 && !slices.Contains(gts, grant) &&
			!(grant == "implicit" && slices.Contains(gts, oauth2.Implicit)) {
			return req, errResponseForClient
		}
	}
	for _, tok := range strings.Split(req.Scope, " ") {
		if req.Scope == "" {
			break
		}
		if tok == "" || strings.ContainsFunc(tok, func(c rune) bool { return c < 0x21 || c == '"' || c == '\\' || c > 0x7e }) {
			// RFC 6749 3.3: scope = scope-token *( SP scope-token ),
			// scope-token = 1*NQCHAR.
			return req, errScopeSyntax
		}
		if hasMetadata && len(md.GetScopes()) > 0 && !slices.Contains(md.GetScopes(), tok) {
			return req, errScopeNotRegistered
		}
	}
	if grant == oauth2.AuthorizationCode {
		if err := checkPKCE(a.manager.PKCE(), client, form.Get("code_challenge"), form.Get("code_challenge_method")); err != nil {
			return req, err
		}
	}
	return req, nil
}

// checkPKCE validates the PKCE parameters of an authorization request
// against the manager's policy (RFC 7636 4.3, 4.4.1; RFC 9700 2.1.1).
func checkPKCE(policy manage.PKCEConfig, client oauth2.ClientInfo, challenge, method string) error {
	if challenge == "" {
		if method != "" || client.IsPublic() || policy.Required {
			return errors.ErrMissingCodeChallenge
		}
		return nil
	}
	switch oauth2.CodeChallengeMethod(method) {
	case oauth2.CodeChallengeS256:
		// BASE64URL(SHA256(verifier)): 43 unreserved characters.
		if len(challenge) != 43 || !unreserved(challenge) {
			return errors.ErrInvalidCodeChallengeLen
		}
	case oauth2.CodeChallengePlain, "":
		// RFC 7636 4.3: no method means plain.
		if !policy.AllowPlain {
			return errors.ErrUnsupportedCodeChallengeMethod
		}
		if len(challenge) < 43 || len(challenge) > 128 || !unreserved(challenge) {
			return errors.ErrInvalidCodeChallengeLen
		}
	default:
		return errors.ErrUnsupportedCodeChallengeMethod
	}
	return nil
}

// unreserved reports whether s has only the unreserved characters of RFC
// 3986 2.3, as RFC 7636 4.1 requires of verifiers and challenges.
func unreserved(s string) bool {
	return !strings.ContainsFunc(s, func(c rune) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~')
	})
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
