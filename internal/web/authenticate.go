package web

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/server"
)

// The pages tell the authorization endpoint who is signed in and show the
// page it asks for (server.UserAuthenticationHandler); the endpoint
// decides, from the request (prompt, max_age, id_token_hint) and the
// session, whether a page is needed. What the user does on a page during
// one authorization request is recorded for the session and that exact
// request (its path and query, the "return" of the pages): a sign-in
// (AuthenticatedNow, which satisfies prompt=login and max_age), an "allow"
// (ConsentedNow, which satisfies prompt=consent) or a "deny".

// loginMarkTTL is how long a sign-in during an authorization request
// counts as "now" for that request: long enough for the consent page that
// may follow.
const loginMarkTTL = consentRequestTTL

// amrPassword is the authentication method of the sign-in page (RFC 8176
// 2): a password.
const amrPassword = "pwd"

func loginMarkKey(sid, ret string) string {
	return hashKey("oauth2d/web/login-now/", sid, ret)
}

// Pending is what the pages remember once the authorization request they
// answered issues its code or token (Pages.Issued): the consent the user
// just gave, and the end of the sign-in mark of the request.
type Pending struct {
	user, clientID string
	// claims are the claims the consent page listed, remembered with the
	// scope when consented.
	claims    []string
	consented bool
	// loginMark is the KVStore key of the request's sign-in mark, "" for
	// none.
	loginMark string
	// notBefore is when the user's sessions begin to count, as the
	// session read for the request found it.
	notBefore time.Time
}

// UserAuthentication is the server's UserAuthenticationHandler
// (server.UserAuthenticationHandler), called once the server has validated
// the request in full (client, redirect URI, response type, scope, PKCE,
// the OpenID Connect parameters). Asked who is signed in
// (server.InteractionNone), it reads the session and writes nothing: nil
// when nobody is signed in, access_denied after a "deny" on the consent
// page. Asked for a page, it answers 303 to the login page (with the
// request's login_hint and the reason) or to the consent page, under a
// one-time reference to the validated request, and returns nil.
//
// resume, when not "", is the query the pages send the browser back to
// /authorize with instead of the request's own (a pushed request's
// client_id and request_uri, RFC 9126 4). Pending, when not nil, is to be
// passed to Issued once the code or token of the request is issued: a
// consent is remembered only then.
func (p *Pages) UserAuthentication(w http.ResponseWriter, r *http.Request, req *server.AuthorizeRequest, resume string) (*server.Authentication, *Pending, error) {
	ret := p.returnPath(r, resume)
	switch req.Interaction {
	case server.InteractionNone:
		return p.whoIsSignedIn(r, req, ret)
	case server.InteractionLogin:
		q := url.Values{"return": {ret}}
		if req.OpenID != nil && req.OpenID.LoginHint != "" {
			q.Set("login_hint", req.OpenID.LoginHint)
		}
		if msg := loginReasons[req.Reason]; msg != "" {
			q.Set("reason", req.Reason.String())
		}
		if !q.Has("login_hint") && (req.Reason == oidc.ReasonPromptLogin || req.Reason == oidc.ReasonMaxAge) {
			// The signed-in user signs in again: their name is filled
			// in; "Not you? Sign out" is on the page.
			if s, ok := p.currentSession(r); ok {
				q.Set("login_hint", s.User)
			}
		}
		p.redirect(w, r, p.path("/login")+"?"+q.Encode())
		return nil, nil, nil
	case server.InteractionConsent:
		return nil, nil, p.askConsent(w, r, req, ret)
	}
	return nil, nil, fmt.Errorf("web: unknown interaction %v", req.Interaction)
}

// whoIsSignedIn answers the server's first question: the session, and
// what its user did on the pages for this request.
func (p *Pages) whoIsSignedIn(r *http.Request, req *server.AuthorizeRequest, ret string) (*server.Authentication, *Pending, error) {
	ctx := r.Context()
	s, ok, err := p.readSession(r)
	if err != nil || !ok {
		return nil, nil, err
	}
	if _, err := p.kv.Take(ctx, denyKey(s.ID, ret)); err == nil {
		return nil, nil, errors.ErrAccessDenied
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		return nil, nil, fmt.Errorf("web: read consent decision: %w", err)
	}
	auth := &server.Authentication{
		UserID:    s.User,
		AuthTime:  time.Unix(s.AuthTime, 0),
		AMR:       []string{amrPassword},
		SessionID: s.ID,
	}
	claims, err := p.requestedClaims(ctx, req, s.User)
	if err != nil {
		return nil, nil, err
	}
	pend := &Pending{user: s.User, clientID: req.ClientID, claims: claims, notBefore: s.notBefore}
	if _, err := p.kv.Take(ctx, approveKey(s.ID, ret)); err == nil {
		auth.ConsentedNow, pend.consented = true, true
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		return nil, nil, fmt.Errorf("web: read consent decision: %w", err)
	}
	mark := loginMarkKey(s.ID, ret)
	if _, err := p.kv.Get(ctx, mark); err == nil {
		auth.AuthenticatedNow, pend.loginMark = true, mark
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		return nil, nil, fmt.Errorf("web: read sign-in mark: %w", err)
	}
	if !auth.ConsentedNow {
		if auth.Consented, err = p.consented(ctx, s.User, req.ClientID, req.Scope, pend.claims, s.notBefore); err != nil {
			return nil, nil, err
		}
	}
	return auth, pend, nil
}

// markLogin records that the session sid signed in for the authorization
// request ret.
func (p *Pages) markLogin(ctx context.Context, sid, ret string) error {
	if err := p.kv.Put(ctx, loginMarkKey(sid, ret), []byte{1}, loginMarkTTL); err != nil {
		return fmt.Errorf("web: record the sign-in: %w", err)
	}
	return nil
}

// askConsent keeps the validated request under a one-time reference and
// sends the browser to the consent page.
func (p *Pages) askConsent(w http.ResponseWriter, r *http.Request, req *server.AuthorizeRequest, ret string) error {
	s, ok, err := p.readSession(r)
	if err != nil {
		return err
	}
	if !ok {
		// The session ended between the server's two questions.
		return errors.WithDescription(errors.ErrAccessDenied, "The End-User's session ended")
	}
	claims, err := p.requestedClaims(r.Context(), req, s.User)
	if err != nil {
		return err
	}
	rec := consentRequest{SID: s.ID, User: s.User, ClientID: req.ClientID, Scope: req.Scope, Return: ret, Claims: claims}
	if u, err := url.Parse(req.RedirectURI); err == nil {
		rec.RedirectHost = u.Host
	}
	v, _ := json.Marshal(rec)
	ref := randomID(24)
	if err := p.kv.Put(r.Context(), consentRequestKey(ref), v, consentRequestTTL); err != nil {
		return fmt.Errorf("web: keep the request for consent: %w", err)
	}
	p.redirect(w, r, p.path("/consent")+"?"+url.Values{"request": {ref}}.Encode())
	return nil
}

// Issued completes what UserAuthentication left pending, once the request's
// code or token is issued for scope (the granted scope): the consent the
// user gave on the consent page is remembered, and the request's sign-in
// mark is spent, so that the same request replayed asks for a sign-in
// again under prompt=login.
func (p *Pages) Issued(ctx context.Context, pend *Pending, scope string) error {
	if pend == nil {
		return nil
	}
	var errs []error
	if pend.consented {
		errs = append(errs, p.rememberConsent(ctx, pend.user, pend.clientID, scope, pend.claims, pend.notBefore))
	}
	if pend.loginMark != "" {
		if err := p.kv.Delete(ctx, pend.loginMark); err != nil {
			errs = append(errs, fmt.Errorf("web: spend the sign-in mark: %w", err))
		}
	}
	return stderrors.Join(errs...)
}

// requestedClaims returns the names of the claims about user that the
// request asks for: those of its scope values (OpenID Connect Core 1.0
// 5.4) and of its claims parameter, for the ID token and UserInfo (5.5),
// that the user has a value for, which are all the client can receive. An
// OAuth 2.0 request asks for none.
func (p *Pages) requestedClaims(ctx context.Context, req *server.AuthorizeRequest, user string) ([]string, error) {
	if req.OpenID == nil {
		return nil, nil
	}
	set := oidc.UserInfoClaims(req.Scope, req.OpenID.Claims)
	if c := req.OpenID.Claims; c != nil {
		for name := range c.IDToken {
			set.Add(name)
		}
	}
	names := set.Names()
	if p.claimNames == nil || len(names) == 0 {
		return names, nil
	}
	has, err := p.claimNames(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("web: the user's claims: %w", err)
	}
	return slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(has, n) }), nil
}

// loginReasons are shown on the login page when the authorization request
// asks for a sign-in while someone is signed in.
var loginReasons = map[oidc.Reason]string{
	oidc.ReasonPromptLogin: "The application asks you to sign in again.",
	oidc.ReasonMaxAge:      "Your sign-in is too old for this application. Please sign in again.",
	oidc.ReasonOtherUser:   "The application expects another account. Please sign in with it.",
}

// loginReasonText returns the text of a reason of the login page's query.
func loginReasonText(name string) string {
	for r, msg := range loginReasons {
		if r.String() == name {
			return msg
		}
	}
	return ""
}
