package web

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// denyTTL is how long a "deny" pressed on the consent page waits for the
// browser to come back to /authorize.
const denyTTL = 5 * time.Minute

// consentRecord is the remembered consent of one user to one client.
type consentRecord struct {
	Scopes []string `json:"scopes"`
}

func consentKey(user, clientID string) string {
	return hashKey("oauth2d/web/consent/", user, clientID)
}

func denyKey(sid, ret string) string {
	return hashKey("oauth2d/web/deny/", sid, ret)
}

// scopeList splits a scope parameter (RFC 6749 3.3).
func scopeList(scope string) []string {
	return strings.Fields(scope)
}

// consented reports whether the user has already allowed the client every
// scope of scope.
func (p *Pages) consented(ctx context.Context, user, clientID, scope string) (bool, error) {
	v, err := p.kv.Get(ctx, consentKey(user, clientID))
	if stderrors.Is(err, oauth2.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("web: read consent: %w", err)
	}
	var rec consentRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return false, nil
	}
	for _, s := range scopeList(scope) {
		if !slices.Contains(rec.Scopes, s) {
			return false, nil
		}
	}
	return true, nil
}

// remember records that the user allowed the client scope, on top of what
// was allowed before.
func (p *Pages) remember(ctx context.Context, user, clientID, scope string) error {
	var rec consentRecord
	if v, err := p.kv.Get(ctx, consentKey(user, clientID)); err == nil {
		_ = json.Unmarshal(v, &rec)
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		return fmt.Errorf("web: read consent: %w", err)
	}
	for _, s := range scopeList(scope) {
		if !slices.Contains(rec.Scopes, s) {
			rec.Scopes = append(rec.Scopes, s)
		}
	}
	if rec.Scopes == nil {
		rec.Scopes = []string{}
	}
	v, _ := json.Marshal(rec)
	if err := p.kv.Put(ctx, consentKey(user, clientID), v, p.consentTTL); err != nil {
		return fmt.Errorf("web: store consent: %w", err)
	}
	return nil
}

// returnPath is the path and query of an authorization request, where the
// login and consent pages send the browser back to.
func (p *Pages) returnPath(r *http.Request) string {
	q := r.URL.RawQuery
	if r.Method == http.MethodPost {
		q = r.Form.Encode()
	}
	return p.path("/authorize") + "?" + q
}

// UserAuthorization is the server's UserAuthorizationHandler (RFC 6749
// 4.1.1): it returns the signed-in user once they have consented to the
// client and scope of the request. A browser without a session is sent to
// the login page, one without consent to the consent page, both with a
// 303; then it returns "" and nil, having written the response. A "deny"
// on the consent page comes back here as access_denied, which the server
// redirects to the client with state and iss (RFC 6749 4.1.2.1, RFC 9207).
func (p *Pages) UserAuthorization(w http.ResponseWriter, r *http.Request) (string, error) {
	ctx := r.Context()
	ret := p.returnPath(r)
	s, ok := p.readSession(r)
	if !ok {
		p.redirect(w, r, p.path("/login")+"?"+url.Values{"return": {ret}}.Encode())
		return "", nil
	}
	if _, err := p.kv.Take(ctx, denyKey(s.ID, ret)); err == nil {
		return "", errors.ErrAccessDenied
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		return "", fmt.Errorf("web: read consent decision: %w", err)
	}
	ok, err := p.consented(ctx, s.User, r.Form.Get("client_id"), r.Form.Get("scope"))
	if err != nil {
		return "", err
	}
	if !ok {
		p.redirect(w, r, p.path("/consent")+"?"+url.Values{"return": {ret}}.Encode())
		return "", nil
	}
	return s.User, nil
}

// consentPage fills the consent page for the authorization request ret,
// or writes an error page and returns false.
func (p *Pages) consentPage(w http.ResponseWriter, r *http.Request, ret string, s session) (page, url.Values, bool) {
	q, ok := p.authorizeReturn(ret)
	if !ok {
		p.Error(w, http.StatusBadRequest, "Invalid request", "This consent link is not valid. Go back to the application and start again.")
		return page{}, nil, false
	}
	cli, err := p.client(r.Context(), q.Get("client_id"))
	if err != nil || cli == nil {
		if err != nil && !stderrors.Is(err, oauth2.ErrNotFound) && !stderrors.Is(err, errors.ErrInvalidClient) {
			p.log.Error("consent: client lookup", "err", err)
			p.Error(w, http.StatusServiceUnavailable, "Temporarily unavailable", msgUnavailable)
			return page{}, nil, false
		}
		p.Error(w, http.StatusBadRequest, "Unknown application", "The application that sent you here is not registered with this server.")
		return page{}, nil, false
	}
	data := page{Title: "Authorize " + cli.GetID(), ClientID: cli.GetID(), Return: ret, User: s.User, Scopes: scopeList(q.Get("scope"))}
	if ru, err := url.Parse(q.Get("redirect_uri")); err == nil && ru.Host != "" {
		data.RedirectHost = ru.Host
	} else if md, ok := cli.(oauth2.ClientMetadata); ok && len(md.GetRedirectURIs()) == 1 {
		if ru, err := url.Parse(md.GetRedirectURIs()[0]); err == nil {
			data.RedirectHost = ru.Host
		}
	}
	return data, q, true
}

// ConsentForm serves GET /consent: what the client asks for, with "allow"
// and "deny" buttons.
func (p *Pages) ConsentForm(w http.ResponseWriter, r *http.Request) {
	ret := r.URL.Query().Get("return")
	s, ok := p.readSession(r)
	if !ok {
		if !p.safeReturn(ret) {
			ret = ""
		}
		p.redirect(w, r, p.path("/login")+"?"+url.Values{"return": {ret}}.Encode())
		return
	}
	data, _, ok := p.consentPage(w, r, ret, s)
	if !ok {
		return
	}
	data.CSRF = p.csrfToken(p.csrfNonce(w, r), s.ID, "consent")
	p.render(w, http.StatusOK, "consent.html", data)
}

// Consent serves POST /consent. "allow" remembers the consent and "deny"
// records the refusal; both answer 303 to the authorization request, which
// then issues the code or redirects access_denied to the client.
func (p *Pages) Consent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.Error(w, http.StatusBadRequest, "Invalid form", "The form could not be read. Please try again.")
		return
	}
	s, ok := p.readSession(r)
	if !ok {
		p.Error(w, http.StatusForbidden, "Signed out", "Your session has ended. Go back to the application and start again.")
		return
	}
	ret := r.PostForm.Get("return")
	data, q, ok := p.consentPage(w, r, ret, s)
	if !ok {
		return
	}
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
	switch r.PostForm.Get("consent") {
	case "allow":
		if err := p.remember(ctx, s.User, data.ClientID, q.Get("scope")); err != nil {
			p.log.Error("consent: remember", "err", err)
			again(http.StatusServiceUnavailable, msgUnavailable)
			return
		}
	case "deny":
		if err := p.kv.Put(ctx, denyKey(s.ID, ret), []byte{1}, denyTTL); err != nil {
			p.log.Error("consent: record denial", "err", err)
			again(http.StatusServiceUnavailable, msgUnavailable)
			return
		}
	default:
		again(http.StatusBadRequest, "Choose Allow or Deny.")
		return
	}
	p.redirect(w, r, ret)
}
