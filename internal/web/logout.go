package web

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/policy"
)

// /logout is the end_session_endpoint of OpenID Connect RP-Initiated
// Logout 1.0 (https://openid.net/specs/openid-connect-rpinitiated-1_0.html):
// a relying party sends the user's browser there, with GET or POST, to
// end the user's session at this server. It also receives the forms of the
// pages that end a session: "Not you? Sign out" and the confirmation page.
//
// A request is checked in full before anything happens (section 4): an
// id_token_hint that is not an ID token of this issuer signed with a key
// it publishes, a client_id the hint was not issued to, a
// post_logout_redirect_uri that is not registered for the client exactly
// (section 3), or that no client_id or hint names the client of, a
// repeated parameter: each shows an error page, ends nothing and redirects
// nowhere. Then, when the hint names the signed-in session (its sid, or
// else its sub for the client) and no logout_hint names another user, the
// session ends at once; otherwise the user is asked (section 2: "the OP
// MUST ask the End-User ... if an id_token_hint was not provided or if the
// supplied ID Token does not belong to the current OP session"). The
// browser is then sent to the post_logout_redirect_uri with the state, or
// to the "signed out" page.

// Forms of the pages that end a session, for their CSRF tokens.
const (
	formSignOut = "signout"
	formLogout  = "logout"
)

// logoutRequestTTL is how long a logout request waits for the user's
// answer on the confirmation page.
const logoutRequestTTL = 10 * time.Minute

// Bounds of the parameters of a logout request.
const (
	maxLogoutState    = 2048
	maxLogoutRedirect = 2048
	maxLogoutClientID = 256
)

// logoutParams are the parameters of RP-Initiated Logout 1.0 2.
var logoutParams = []string{"id_token_hint", "logout_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"}

// logoutRequest is a validated logout request.
type logoutRequest struct {
	hint   *oidc.IDTokenHint
	client oauth2.ClientInfo // nil when no client is named
	// LogoutHint names the user the relying party logs out; "" for none.
	logoutHint string
	// SID is the session the confirmation page was shown to; only it may
	// answer.
	SID      string `json:"sid"`
	ClientID string `json:"c,omitempty"`
	// Redirect is the validated post_logout_redirect_uri, "" for none,
	// and State the state to send back with it.
	Redirect string `json:"r,omitempty"`
	State    string `json:"s,omitempty"`
}

func logoutRequestKey(ref string) string { return hashKey("oauth2d/web/logout-request/", ref) }

// logoutError is a logout request that cannot be served: shown, never
// redirected.
type logoutError struct {
	status int
	msg    string
}

func badLogout(msg string) *logoutError {
	return &logoutError{status: http.StatusBadRequest, msg: msg}
}

// signOutForm fills the "Not you? Sign out" form of a page shown to the
// signed-in s; ret is where the browser signs in again afterwards ("" for
// the signed-out page).
func (p *Pages) signOutForm(w http.ResponseWriter, r *http.Request, data *page, s session, ret string) {
	data.User = s.User
	data.SignOut = p.csrfToken(p.csrfNonce(w, r), s.ID, formSignOut)
	data.SignOutReturn = ret
}

// Logout serves GET and POST /logout: a logout request of a relying party
// (RP-Initiated Logout 1.0 2), or, for a POST with a CSRF token, the
// confirmation page's answer or the pages' sign-out form. A relying
// party's POST is answered with a 303 to the same request as a GET, which
// carries the session cookie.
func (p *Pages) Logout(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			p.Error(w, http.StatusBadRequest, "Invalid form", "The form could not be read. Please try again.")
			return
		}
		if _, ours := r.PostForm[csrfField]; ours {
			p.logoutForm(w, r)
			return
		}
		// A relying party's form, posted from its own site: the browser
		// sends no SameSite=Lax session cookie with a cross-site POST,
		// but does with the top-level GET a 303 leads to.
		q := url.Values{}
		for _, name := range logoutParams {
			if v, ok := r.PostForm[name]; ok {
				q[name] = v
			}
		}
		p.redirect(w, r, p.path("/logout")+"?"+q.Encode())
		return
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		p.logoutRefused(w, badLogout("The sign-out link is malformed."))
		return
	}
	ctx := r.Context()
	lr, lerr := p.parseLogout(ctx, params)
	if lerr != nil {
		p.logoutRefused(w, lerr)
		return
	}
	s, ok, err := p.readSession(r)
	if err != nil {
		p.unavailable(w, "logout: session", err)
		return
	}
	if !ok {
		// Nobody to sign out: the relying party still gets its user
		// back (section 3).
		p.setCookie(w, sessionCookie, "", -1)
		p.finishLogout(w, r, lr, true)
		return
	}
	if !p.logoutNeedsConfirmation(ctx, lr, s) {
		if err := p.endSession(w, r); err != nil {
			p.unavailable(w, "logout: end session", err)
			return
		}
		p.log.Info("signed out", "reason", "rp-initiated", "client_id", lr.ClientID)
		p.finishLogout(w, r, lr, true)
		return
	}
	lr.SID = s.ID
	v, _ := json.Marshal(lr)
	ref := randomID(24)
	if err := p.kv.Put(ctx, logoutRequestKey(ref), v, logoutRequestTTL); err != nil {
		p.unavailable(w, "logout: keep the request", err)
		return
	}
	data := page{Title: "Sign out", User: s.User, LogoutClient: lr.ClientID, Request: ref,
		CSRF: p.csrfToken(p.csrfNonce(w, r), s.ID, formLogout)}
	p.render(w, http.StatusOK, "logout.html", data)
}

// logoutRefused shows why a logout request cannot be served.
func (p *Pages) logoutRefused(w http.ResponseWriter, e *logoutError) {
	if e.status >= http.StatusInternalServerError {
		p.Error(w, e.status, "Temporarily unavailable", e.msg)
		return
	}
	p.log.Warn("logout request refused", "reason", e.msg)
	p.Error(w, e.status, "This sign-out request is not valid", e.msg+" You have not been signed out or redirected. Go back to the application and try again.")
}

// parseLogout checks the parameters of a logout request (RP-Initiated
// Logout 1.0 2, 3, 4).
func (p *Pages) parseLogout(ctx context.Context, params url.Values) (*logoutRequest, *logoutError) {
	for _, name := range logoutParams {
		if len(params[name]) > 1 {
			return nil, badLogout("The parameter " + name + " is repeated.")
		}
	}
	lr := &logoutRequest{logoutHint: params.Get("logout_hint")}
	if raw := params.Get("id_token_hint"); raw != "" {
		if p.idTokenHint == nil {
			return nil, badLogout("This server does not accept an id_token_hint.")
		}
		hint, err := p.idTokenHint(raw)
		if err != nil {
			return nil, badLogout("The id_token_hint is not an ID Token of this server.")
		}
		lr.hint = hint
	}
	clientID := params.Get("client_id")
	switch {
	case len(clientID) > maxLogoutClientID:
		return nil, badLogout("The client_id is too long.")
	case clientID != "" && lr.hint != nil && !lr.hint.IssuedTo(clientID):
		// Section 2: the client_id must be the one the ID token was
		// issued to.
		return nil, badLogout("The client_id is not the client the id_token_hint was issued to.")
	case clientID == "" && lr.hint != nil && len(lr.hint.Audience) == 1:
		clientID = lr.hint.Audience[0]
	}
	if len(lr.logoutHint) > oidc.MaxLoginHintLength {
		return nil, badLogout("The logout_hint is too long.")
	}
	state := params.Get("state")
	if len(state) > maxLogoutState || !policy.ValidState(state) {
		return nil, badLogout("The state has characters outside RFC 6749 Appendix A.5 or is too long.")
	}
	if clientID != "" {
		client, err := p.client(ctx, clientID)
		switch {
		case err == nil && client != nil:
			lr.client, lr.ClientID = client, client.GetID()
		case err == nil || stderrors.Is(err, oauth2.ErrNotFound) || stderrors.Is(err, errors.ErrInvalidClient):
			return nil, badLogout("The client of this request is unknown.")
		default:
			p.log.Error("logout: client", "err", err)
			return nil, &logoutError{status: http.StatusServiceUnavailable, msg: msgUnavailable}
		}
	}
	if redirect := params.Get("post_logout_redirect_uri"); redirect != "" {
		switch {
		case len(redirect) > maxLogoutRedirect:
			return nil, badLogout("The post_logout_redirect_uri is too long.")
		case lr.client == nil:
			// Section 3: the URI is checked against the client's
			// registration, which the request must name.
			return nil, badLogout("A post_logout_redirect_uri needs a client_id or an id_token_hint that names the client.")
		case !oidc.ValidPostLogoutRedirectURI(lr.client, redirect):
			return nil, badLogout("The post_logout_redirect_uri is not registered for this client.")
		}
		lr.Redirect, lr.State = redirect, state
	}
	return lr, nil
}

// logoutNeedsConfirmation reports whether the user must confirm the logout
// request lr before the session s ends: unless the id_token_hint names s
// (its sid; or, without one, the user's sub for the client) and no
// logout_hint names another user.
func (p *Pages) logoutNeedsConfirmation(_ context.Context, lr *logoutRequest, s session) bool {
	h := lr.hint
	switch {
	case h == nil:
		return true
	case lr.logoutHint != "" && lr.logoutHint != s.User:
		return true
	case h.SID != "":
		return h.SID != s.ID
	case lr.client == nil:
		return true
	}
	sub, err := p.subject(lr.client, s.User)
	return err != nil || sub != h.Subject
}

// finishLogout sends the browser to the validated post_logout_redirect_uri
// with the state (RP-Initiated Logout 1.0 3), else to the "signed out"
// page, or home when the user stayed signed in.
func (p *Pages) finishLogout(w http.ResponseWriter, r *http.Request, lr *logoutRequest, signedOut bool) {
	switch {
	case lr.Redirect != "":
		target := lr.Redirect
		if lr.State != "" {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + "state=" + url.QueryEscape(lr.State)
		}
		p.redirect(w, r, target)
	case signedOut:
		p.redirect(w, r, p.path("/logout/done"))
	default:
		p.redirect(w, r, p.path("/"))
	}
}

// logoutForm serves the forms of the pages posted to /logout: the answer
// of the confirmation page (request, logout=yes|no) and "Not you? Sign
// out" (return).
func (p *Pages) logoutForm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !p.sameOrigin(r) {
		p.log.Warn("logout form refused", "reason", "cross-origin")
		p.Error(w, http.StatusForbidden, "Refused", errCrossOrigin.Error())
		return
	}
	s, ok := p.sessionOr(w, r, "logout", func(w http.ResponseWriter) {
		p.render(w, http.StatusOK, "signed-out.html", page{Title: "Signed out", Message: "You are signed out."})
	})
	if !ok {
		return
	}
	ref, confirming := r.PostForm["request"]
	form := formSignOut
	if confirming {
		form = formLogout
	}
	if err := p.checkCSRF(ctx, r, s.ID, form); err != nil {
		if !isFormError(err) {
			p.unavailable(w, "logout: CSRF check", err)
			return
		}
		p.log.Warn("logout form refused", "reason", "csrf")
		p.Error(w, http.StatusForbidden, "Refused", err.Error())
		return
	}
	if !confirming {
		if err := p.endSession(w, r); err != nil {
			p.unavailable(w, "logout: end session", err)
			return
		}
		p.log.Info("signed out", "reason", "sign-out form")
		if ret := r.PostForm.Get("return"); ret != "" && p.safeReturn(ret) {
			p.redirect(w, r, p.path("/login")+"?"+url.Values{"return": {ret}}.Encode())
			return
		}
		p.redirect(w, r, p.path("/logout/done"))
		return
	}
	answer := r.PostForm.Get("logout")
	if answer != "yes" && answer != "no" {
		p.Error(w, http.StatusBadRequest, "Invalid form", "Choose to sign out or to stay signed in.")
		return
	}
	var lr logoutRequest
	var v []byte
	var err error
	if ref[0] == "" || len(ref[0]) > maxRequestRef {
		err = oauth2.ErrNotFound
	} else {
		v, err = p.kv.Take(ctx, logoutRequestKey(ref[0]))
	}
	switch {
	case stderrors.Is(err, oauth2.ErrNotFound):
		p.Error(w, http.StatusBadRequest, "Invalid request", "This sign-out request has expired or was already answered. Go back to the application and sign out again.")
		return
	case err != nil:
		p.unavailable(w, "logout: read the request", err)
		return
	}
	if json.Unmarshal(v, &lr) != nil || lr.SID != s.ID {
		p.log.Warn("logout form refused", "reason", "request of another session")
		p.Error(w, http.StatusBadRequest, "Invalid request", "This sign-out request is not valid. Go back to the application and sign out again.")
		return
	}
	if answer == "yes" {
		if err := p.endSession(w, r); err != nil {
			p.unavailable(w, "logout: end session", err)
			return
		}
		p.log.Info("signed out", "reason", "rp-initiated, confirmed", "client_id", lr.ClientID)
	}
	p.finishLogout(w, r, &lr, answer == "yes")
}

// LogoutDone serves GET /logout/done, the page after signing out.
func (p *Pages) LogoutDone(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "signed-out.html", page{Title: "Signed out", Message: "You have signed out. You can close this page."})
}
