package web

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
)

// The consent page shows only an authorization request that the
// authorization endpoint has validated in full (client, redirect URI,
// scope, PKCE): /authorize keeps it in the KVStore under a random one-time
// reference, and the page is opened with that reference, by the session
// that made the request. A link that names an authorization request any
// other way shows nothing. The page lists the scope values and the claims
// about the user that the client will receive. The user's answer is
// recorded for the session and that exact request, which /authorize then
// completes; a consent is remembered only when a code is actually issued
// (Issued).

const (
	// consentRequestTTL is how long a validated request waits for the
	// user's answer on the consent page.
	consentRequestTTL = 10 * time.Minute
	// decisionTTL is how long an answer on the consent page waits for
	// the browser to come back to /authorize.
	decisionTTL = 5 * time.Minute
)

// consentRecord is the remembered consent of one user to one client: the
// scope values and the claims about the user they allowed.
type consentRecord struct {
	Scopes []string `json:"scopes"`
	Claims []string `json:"claims,omitempty"`
	// At is when the consent was last given, in Unix nanoseconds: a
	// consent given before its user's earliest sign-in that counts
	// (Config.SignInsNotBefore) is not remembered.
	At int64 `json:"at,omitempty"`
}

// consentRequest is an authorization request waiting for the user's answer
// on the consent page.
type consentRequest struct {
	// SID is the session that made the request: only it may answer.
	SID          string `json:"sid"`
	User         string `json:"u"`
	ClientID     string `json:"c"`
	Scope        string `json:"s,omitempty"`
	RedirectHost string `json:"h,omitempty"`
	// Claims are the claims about the user the client will receive.
	Claims []string `json:"cl,omitempty"`
	// Return is the authorization request to complete.
	Return string `json:"r"`
}

func consentKey(user, clientID string) string {
	return hashKey("oauth2d/web/consent/", user, clientID)
}

// WithdrawUser withdraws everything user allowed, to every client, as
// done by actor: each remembered consent is forgotten (the KVStore entry
// and the index document) and each indexed grant revoked
// (grants.Index.WithdrawUser), one audit record per grant. The admin API
// calls it when a user is disabled or deleted; calling it again after a
// failure finishes the work. It returns the numbers of grants revoked and
// of consents forgotten.
func (p *Pages) WithdrawUser(ctx context.Context, actor, user string) (int, int, error) {
	return p.grants.WithdrawUser(ctx, actor, user, func(ctx context.Context, clientID string) error {
		if err := p.kv.Delete(ctx, consentKey(user, clientID)); err != nil {
			return fmt.Errorf("web: forget consent: %w", err)
		}
		return nil
	})
}

func consentRequestKey(ref string) string {
	return hashKey("oauth2d/web/consent-request/", ref)
}

func denyKey(sid, ret string) string {
	return hashKey("oauth2d/web/deny/", sid, ret)
}

func approveKey(sid, ret string) string {
	return hashKey("oauth2d/web/approve/", sid, ret)
}

// scopeList splits a scope parameter (RFC 6749 3.3).
func scopeList(scope string) []string {
	return strings.Fields(scope)
}

// consented reports whether the user has already allowed the client every
// scope value of scope and every claim of claims, since notBefore.
func (p *Pages) consented(ctx context.Context, user, clientID, scope string, claims []string, notBefore time.Time) (bool, error) {
	v, err := p.kv.Get(ctx, consentKey(user, clientID))
	if stderrors.Is(err, oauth2.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("web: read consent: %w", err)
	}
	var rec consentRecord
	if err := json.Unmarshal(v, &rec); err != nil || time.Unix(0, rec.At).Before(notBefore) {
		return false, nil
	}
	for _, s := range scopeList(scope) {
		if !slices.Contains(rec.Scopes, s) {
			return false, nil
		}
	}
	for _, c := range claims {
		if !slices.Contains(rec.Claims, c) {
			return false, nil
		}
	}
	return true, nil
}

// RememberConsent records that user allowed clientID scope and claims, on
// top of what was allowed before, so that later requests for no more than
// that skip the consent page. Issued calls it once a code or token has
// been issued for a request the user approved.
func (p *Pages) RememberConsent(ctx context.Context, user, clientID, scope string, claims []string) error {
	nb, ok, err := p.userNotBefore(ctx, user)
	if err != nil {
		return err
	}
	if !ok {
		// No such user, or disabled: nothing before now counts.
		nb = p.now()
	}
	return p.rememberConsent(ctx, user, clientID, scope, claims, nb)
}

// rememberConsent is RememberConsent for a user whose sessions count from
// notBefore (known from the request's session: no second user read).
func (p *Pages) rememberConsent(ctx context.Context, user, clientID, scope string, claims []string, notBefore time.Time) error {
	var rec consentRecord
	if v, err := p.kv.Get(ctx, consentKey(user, clientID)); err == nil {
		_ = json.Unmarshal(v, &rec)
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		return fmt.Errorf("web: read consent: %w", err)
	}
	// What a previous user of the name, or the user before being signed
	// out everywhere, allowed is not added to.
	if rec.At != 0 && time.Unix(0, rec.At).Before(notBefore) {
		rec = consentRecord{}
	}
	rec.At = p.now().UnixNano()
	for _, s := range scopeList(scope) {
		if !slices.Contains(rec.Scopes, s) {
			rec.Scopes = append(rec.Scopes, s)
		}
	}
	for _, c := range claims {
		if !slices.Contains(rec.Claims, c) {
			rec.Claims = append(rec.Claims, c)
		}
	}
	if rec.Scopes == nil {
		rec.Scopes = []string{}
	}
	// The index that /account lists first, then the KVStore entry that
	// skips the consent page: a consent that fails half way is listed
	// (and can be withdrawn) but not remembered, never remembered but
	// hidden from the user.
	if err := p.grants.RememberConsent(ctx, user, clientID, strings.Join(rec.Scopes, " "), rec.Claims, p.now().Add(p.consentTTL)); err != nil {
		return fmt.Errorf("web: index consent: %w", err)
	}
	v, _ := json.Marshal(rec)
	if err := p.kv.Put(ctx, consentKey(user, clientID), v, p.consentTTL); err != nil {
		return fmt.Errorf("web: store consent: %w", err)
	}
	return nil
}

// returnPath is the path and query of an authorization request, where
// the login and consent pages send the browser back to: resume when set
// (the query a pushed authorization request resumes with, client_id and
// request_uri, RFC 9126 4), else the request's own query or form.
func (p *Pages) returnPath(r *http.Request, resume string) string {
	q := r.URL.RawQuery
	switch {
	case resume != "":
		q = resume
	case r.Method == http.MethodPost:
		q = r.Form.Encode()
	}
	return p.path("/authorize") + "?" + q
}

// maxRequestRef bounds the reference a consent link carries.
const maxRequestRef = 64

// consentRequestOf reads the validated request of ref for the session s,
// taking it (one use) when take. It reports false, having written an error
// page, when there is none for this session.
func (p *Pages) consentRequestOf(w http.ResponseWriter, r *http.Request, ref string, s session, take bool) (consentRequest, bool) {
	var rec consentRequest
	if ref == "" || len(ref) > maxRequestRef {
		p.Error(w, http.StatusBadRequest, "Invalid request", "This consent link is not valid. Go back to the application and start again.")
		return rec, false
	}
	read := p.kv.Get
	if take {
		read = p.kv.Take
	}
	v, err := read(r.Context(), consentRequestKey(ref))
	switch {
	case stderrors.Is(err, oauth2.ErrNotFound):
		p.Error(w, http.StatusBadRequest, "Invalid request", "This consent link is not valid, has expired or was already answered. Go back to the application and start again.")
		return rec, false
	case err != nil:
		p.log.Error("consent: read request", "err", err)
		p.Error(w, http.StatusServiceUnavailable, "Temporarily unavailable", msgUnavailable)
		return rec, false
	}
	if json.Unmarshal(v, &rec) != nil || rec.SID != s.ID || !p.safeReturn(rec.Return) {
		// Another session's request: its reference leaked, or was sent.
		p.log.Warn("consent form refused", "reason", "request of another session")
		p.Error(w, http.StatusBadRequest, "Invalid request", "This consent link is not valid. Go back to the application and start again.")
		return consentRequest{}, false
	}
	return rec, true
}

// consentPage fills the consent page of rec, with the sign-out form of s.
func (p *Pages) consentPage(w http.ResponseWriter, r *http.Request, s session, rec consentRequest, ref string) page {
	data := page{Title: "Authorize " + rec.ClientID, ClientID: rec.ClientID, Return: rec.Return, Request: ref,
		Scopes: scopeList(rec.Scope), Claims: rec.Claims, RedirectHost: rec.RedirectHost}
	p.signOutForm(w, r, &data, s, rec.Return)
	return data
}

// readSessionForm reads the form a page posted (at most maxFormBytes) and
// the session of the browser that posted it. It answers the request itself
// and returns false when the form cannot be read (400), the store does not
// answer (503, logged as page) or there is no session (signedOut).
func (p *Pages) readSessionForm(w http.ResponseWriter, r *http.Request, page string, signedOut func(http.ResponseWriter)) (session, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.Error(w, http.StatusBadRequest, "Invalid form", "The form could not be read. Please try again.")
		return session{}, false
	}
	return p.sessionOr(w, r, page, signedOut)
}

// sessionOr returns the session of the browser that sent r. Without one
// it calls none, which answers, and returns false; when the store does not
// answer it answers 503 (logged as page) and returns false.
func (p *Pages) sessionOr(w http.ResponseWriter, r *http.Request, page string, none func(http.ResponseWriter)) (session, bool) {
	s, ok, err := p.readSession(r)
	if err != nil {
		p.unavailable(w, page+": session", err)
		return session{}, false
	}
	if !ok {
		none(w)
		return session{}, false
	}
	return s, true
}

// signedOut answers a form posted without a session.
func (p *Pages) signedOut(w http.ResponseWriter) {
	p.Error(w, http.StatusForbidden, "Signed out", "Your session has ended. Go back to the application and start again.")
}

// ConsentForm serves GET /consent?request=REF: what the validated request
// REF asks for, with "allow" and "deny" buttons.
func (p *Pages) ConsentForm(w http.ResponseWriter, r *http.Request) {
	s, ok := p.sessionOr(w, r, "consent", p.signedOut)
	if !ok {
		return
	}
	ref := r.URL.Query().Get("request")
	rec, ok := p.consentRequestOf(w, r, ref, s, false)
	if !ok {
		return
	}
	data := p.consentPage(w, r, s, rec, ref)
	data.CSRF = p.csrfToken(p.csrfNonce(w, r), s.ID, "consent")
	p.render(w, http.StatusOK, "consent.html", data)
}

// Consent serves POST /consent. It spends the request's reference, then
// records the answer for the session and the request: "allow" lets the
// request issue its code, after which the consent is remembered; "deny"
// makes it access_denied. Both answer 303 to the authorization request.
func (p *Pages) Consent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, ok := p.readSessionForm(w, r, "consent", p.signedOut)
	if !ok {
		return
	}
	ref := r.PostForm.Get("request")
	rec, ok := p.consentRequestOf(w, r, ref, s, false)
	if !ok {
		return
	}
	data := p.consentPage(w, r, s, rec, ref)
	again := func(status int, msg string) {
		data.Error = msg
		data.CSRF = p.csrfToken(p.csrfNonce(w, r), s.ID, "consent")
		p.render(w, status, "consent.html", data)
	}
	if !p.sameOrigin(r) {
		p.log.Warn("consent form refused", "reason", "cross-origin")
		again(http.StatusForbidden, errCrossOrigin.Error())
		return
	}
	if err := p.checkCSRF(ctx, r, s.ID, "consent"); err != nil {
		if !isFormError(err) {
			p.log.Error("consent: CSRF check", "err", err)
			again(http.StatusServiceUnavailable, msgUnavailable)
			return
		}
		p.log.Warn("consent form refused", "reason", "csrf")
		again(http.StatusForbidden, err.Error())
		return
	}
	var key string
	switch r.PostForm.Get("consent") {
	case "allow":
		key = approveKey(s.ID, rec.Return)
	case "deny":
		key = denyKey(s.ID, rec.Return)
	default:
		again(http.StatusBadRequest, "Choose Allow or Deny.")
		return
	}
	if rec, ok = p.consentRequestOf(w, r, ref, s, true); !ok {
		return
	}
	if err := p.kv.Put(ctx, key, []byte{1}, decisionTTL); err != nil {
		p.log.Error("consent: record the answer", "err", err)
		again(http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	p.redirect(w, r, rec.Return)
}
