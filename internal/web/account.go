package web

import (
	"context"
	stderrors "errors"
	"net/http"
	"net/url"

	"github.com/oauth2d/oauth2/internal/grants"
)

// The account page lets a signed-in user see the applications they allowed
// and withdraw what they allowed (docs/architecture.md section 7): the
// remembered consent is forgotten, so the next authorization request of
// the application shows the consent page again, and every grant the user
// gave the application is revoked, so that its codes, access tokens and
// refresh tokens stop working at once (RFC 7009 2.1 describes the same
// effect for a client's revocation of a refresh token). The list comes
// from the grant index (internal/grants) in the store's DocumentStore.

// formAccount names the CSRF tokens of the account page's forms.
const formAccount = "account"

// maxClientIDField bounds the client_id of the withdraw form.
const maxClientIDField = 255

// application is one row of the account page.
type application struct {
	ClientID string
	// Name is the client's registered name, "" when it has none.
	Name   string
	Scopes []string
	// Since is the date the user first allowed it, "" when unknown.
	Since string
}

// applications lists what user allowed, for the page.
func (p *Pages) applications(ctx context.Context, user string) ([]application, error) {
	apps, err := p.grants.Applications(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]application, 0, len(apps))
	for _, a := range apps {
		row := application{ClientID: a.ClientID, Scopes: a.Scope()}
		if t := a.Since(); !t.IsZero() {
			row.Since = t.UTC().Format("2 January 2006")
		}
		if p.clientName != nil {
			if n := p.clientName(ctx, a.ClientID); n != a.ClientID {
				row.Name = n
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// accountPage renders the account page of s, with msg as its error (and
// status) when not "".
func (p *Pages) accountPage(w http.ResponseWriter, r *http.Request, s session, status int, msg string) {
	data := page{Title: "Your applications", Error: msg}
	apps, err := p.applications(r.Context(), s.User)
	if err != nil {
		p.unavailable(w, "account: list applications", err)
		return
	}
	data.Applications = apps
	data.Indexed = p.grants.Enabled()
	if r.Method == http.MethodGet && r.URL.Query().Get("withdrawn") != "" && status == http.StatusOK {
		data.Message = "Access withdrawn."
	}
	p.signOutForm(w, r, &data, s, "")
	data.CSRF = p.csrfToken(p.csrfNonce(w, r), s.ID, formAccount)
	p.render(w, status, "account.html", data)
}

// AccountPage serves GET /account: the applications the signed-in user
// allowed, each with a "Withdraw" button. Without a session it sends the
// browser to the login page, which brings it back.
func (p *Pages) AccountPage(w http.ResponseWriter, r *http.Request) {
	s, ok := p.sessionOr(w, r, "account", func(w http.ResponseWriter) {
		p.redirect(w, r, p.path("/login")+"?"+url.Values{"return": {p.path("/account")}}.Encode())
	})
	if !ok {
		return
	}
	p.accountPage(w, r, s, http.StatusOK, "")
}

// Withdraw serves POST /account: the "Withdraw" form of one application
// (client_id), from the page's own origin with its CSRF token. It forgets
// the consent the user gave the application and revokes every grant the
// user gave it, then answers 303 to the account page. A form for an
// application the user did not allow changes nothing.
func (p *Pages) Withdraw(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, ok := p.readSessionForm(w, r, "account", p.signedOut)
	if !ok {
		return
	}
	if !p.sameOrigin(r) {
		p.log.Warn("account form refused", "reason", "cross-origin")
		p.accountPage(w, r, s, http.StatusForbidden, errCrossOrigin.Error())
		return
	}
	if err := p.checkCSRF(ctx, r, s.ID, formAccount); err != nil {
		if !isFormError(err) {
			p.unavailable(w, "account: CSRF check", err)
			return
		}
		p.log.Warn("account form refused", "reason", "csrf")
		p.accountPage(w, r, s, http.StatusForbidden, err.Error())
		return
	}
	clientID := r.PostForm.Get("client_id")
	if clientID == "" || len(clientID) > maxClientIDField {
		p.accountPage(w, r, s, http.StatusBadRequest, "Choose an application.")
		return
	}
	// The consent page shows again for the application's next request.
	// Forgotten first, so that a failure below leaves the application
	// listed and the user can try again.
	if err := p.kv.Delete(ctx, consentKey(s.User, clientID)); err != nil {
		p.unavailable(w, "account: forget consent", err)
		return
	}
	n, err := p.grants.Withdraw(ctx, "user:"+s.User, s.User, clientID)
	switch {
	case stderrors.Is(err, grants.ErrNothingToWithdraw):
		p.accountPage(w, r, s, http.StatusBadRequest, "You have not allowed this application anything.")
		return
	case err != nil:
		p.unavailable(w, "account: withdraw", err)
		return
	}
	p.log.Info("access withdrawn", "username", s.User, "client_id", clientID, "grants", n)
	p.redirect(w, r, p.path("/account")+"?withdrawn=1")
}
