package oauth2d

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestBrowser_OpenIDConnectPromptsConsentAndLogout drives headless
// Chromium through the OpenID Connect pages: prompt=none without a session
// (login_required, no page), a sign-in whose consent page lists the claims
// the client will receive, prompt=none with a session (a code, no page),
// prompt=login (the login page again, saying why), max_age (the login
// page for a session older than it), RP-initiated logout with the
// id_token_hint and a post_logout_redirect_uri (back at the client with
// the state, signed out), by GET and by a form posted from another site,
// and a logout without a hint (the confirmation
// page, then the signed-out page). The screenshots are saved to
// $OAUTH2_TEST_ARTIFACTS.
func TestBrowser_OpenIDConnectPromptsConsentAndLogout(t *testing.T) {
	tb := newTab(t)
	ctx, save, do, text := tb.ctx, tb.save, tb.do, tb.text
	cb := newCallback(t)
	redirect := cb.URL + "/callback"
	afterLogout := cb.URL + "/callback?after=logout"
	cfg := oidcConfig()
	cfg.Clients[0].RedirectURIs = []string{redirect}
	cfg.Clients[0].PostLogoutRedirectURIs = []string{afterLogout}
	clk := startClock(t, &cfg)
	srv := startApp(t, cfg)
	rpCtx := gooidc.ClientContext(context.Background(), srv.Client())
	provider, err := gooidc.NewProvider(rpCtx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&gooidc.Config{ClientID: testClientID, Now: clk.Now})
	conf := &oauth2.Config{ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: redirect,
		Endpoint: provider.Endpoint(), Scopes: []string{"openid", "profile", "email"}}

	arrive := func() url.Values {
		t.Helper()
		q := cb.wait(t)
		do("load the client's page", chromedp.WaitVisible(chromedp.ID("done")))
		return q
	}
	authURL := func(state string, opts ...oauth2.AuthCodeOption) (string, string) {
		v := oauth2.GenerateVerifier()
		opts = append(opts, gooidc.Nonce("nonce-"+state), oauth2.S256ChallengeOption(v))
		return conf.AuthCodeURL(state, opts...), v
	}
	idToken := func(q url.Values, v string) (string, *gooidc.IDToken) {
		t.Helper()
		tok, err := conf.Exchange(context.WithValue(rpCtx, oauth2.HTTPClient, srv.Client()), q.Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(rpCtx, raw)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		return raw, idt
	}
	signIn := func(step string) {
		t.Helper()
		do(step,
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SetValue(chromedp.ID("username"), testUsername),
			chromedp.SendKeys(chromedp.ID("password"), testPassword),
			chromedp.Click(chromedp.CSS(`form[action$="/login"] button[type=submit]`)))
	}

	// prompt=none without a session: login_required at once.
	u, _ := authURL("none-1", oauth2.SetAuthURLParam("prompt", "none"))
	do("prompt=none without a session", chromedp.Navigate(u))
	if q := arrive(); q.Get("error") != "login_required" || q.Get("state") != "none-1" || q.Has("code") {
		t.Fatalf("prompt=none without a session: %v", redactQuery(q))
	}

	// A sign-in with login_hint, then the consent page lists the claims.
	u, v := authURL("first", oauth2.SetAuthURLParam("login_hint", testUsername),
		oauth2.SetAuthURLParam("claims", `{"id_token":{"phone_number":{"essential":true}}}`))
	do("open the authentication request", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("password")))
	if got, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("username"))); err != nil || got != testUsername {
		t.Fatalf("the login page shows %q, want the login_hint (%v)", got, err)
	}
	save("oidc-login-hint.png")
	do("sign in", chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action$="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".claims")))
	claims := text(".claims")
	for _, want := range []string{"name", "Your full name", "email", "Your email address", "phone_number"} {
		if !strings.Contains(claims, want) {
			t.Fatalf("the consent page's claims %q do not list %q", claims, want)
		}
	}
	if !strings.Contains(text(".signed-in"), "Not you?") {
		t.Fatal("the consent page has no sign-out link")
	}
	save("oidc-consent-claims.png")
	do("allow", chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
	q := arrive()
	_, first := idToken(q, v)
	var firstClaims idTokenClaims
	_ = first.Claims(&firstClaims)

	// prompt=none with the session: a code, no page.
	u, _ = authURL("none-2", oauth2.SetAuthURLParam("prompt", "none"))
	do("prompt=none with a session", chromedp.Navigate(u))
	if q := arrive(); q.Get("code") == "" || q.Get("state") != "none-2" {
		t.Fatalf("prompt=none with a session: %v", redactQuery(q))
	}

	// prompt=login: the login page again, saying why.
	clk.Advance(time.Minute)
	u, v = authURL("login", oauth2.SetAuthURLParam("prompt", "login"))
	do("prompt=login", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("reason")))
	if got := text("#reason"); !strings.Contains(got, "sign in again") {
		t.Fatalf("prompt=login: the login page says %q", got)
	}
	save("oidc-prompt-login.png")
	signIn("sign in again")
	_, again := idToken(arrive(), v)
	var againClaims idTokenClaims
	_ = again.Claims(&againClaims)
	if againClaims.AuthTime != firstClaims.AuthTime+60 {
		t.Fatalf("auth_time after prompt=login %d, want %d", againClaims.AuthTime, firstClaims.AuthTime+60)
	}

	// max_age: a session of 5 minutes is too old for max_age=120.
	clk.Advance(5 * time.Minute)
	u, v = authURL("max-age", oauth2.SetAuthURLParam("max_age", "120"))
	do("max_age", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("reason")))
	if got := text("#reason"); !strings.Contains(got, "too old") {
		t.Fatalf("max_age: the login page says %q", got)
	}
	save("oidc-max-age.png")
	signIn("sign in for max_age")
	hint, _ := idToken(arrive(), v)

	// RP-initiated logout with the hint: back at the client, signed out.
	logout := srv.URL + "/logout?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {afterLogout}, "state": {"bye"}}.Encode()
	do("log out", chromedp.Navigate(logout))
	if q := arrive(); q.Get("after") != "logout" || q.Get("state") != "bye" {
		t.Fatalf("logout: back at the client with %v", q)
	}
	u, _ = authURL("none-3", oauth2.SetAuthURLParam("prompt", "none"))
	do("prompt=none after the logout", chromedp.Navigate(u))
	if q := arrive(); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none after the logout: %v", redactQuery(q))
	}

	// A relying party on another site posts its logout form: the 303 to
	// the GET carries the session cookie, which the cross-site POST does
	// not (SameSite=Lax), so the session ends.
	u, v = authURL("posted")
	do("sign in for the posted logout", chromedp.Navigate(u))
	signIn("sign in for the posted logout")
	hint, _ = idToken(arrive(), v)
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var session *http.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "oauth2d_session" {
			session = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	if session == nil {
		t.Fatal("the browser holds no session cookie after signing in")
	}
	rpPage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>rp</title><form method="post" action="%s/logout">`+
			`<input type="hidden" name="id_token_hint" value="%s"><input type="hidden" name="post_logout_redirect_uri" value="%s">`+
			`<input type="hidden" name="state" value="posted"><button id="rp-logout" type="submit">Log out</button></form>`,
			srv.URL, html.EscapeString(hint), html.EscapeString(afterLogout))
	}))
	t.Cleanup(rpPage.Close)
	// localhost, not 127.0.0.1: another site than the issuer's.
	rpURL := strings.Replace(rpPage.URL, "127.0.0.1", "localhost", 1)
	do("the relying party's logout form", chromedp.Navigate(rpURL), chromedp.WaitVisible(chromedp.ID("rp-logout")),
		chromedp.Click(chromedp.ID("rp-logout")))
	if q := arrive(); q.Get("after") != "logout" || q.Get("state") != "posted" {
		t.Fatalf("posted logout: back at the client with %v", q)
	}
	// The session ended in the store, not only in this browser: its
	// cookie, sent again, signs nobody in.
	probe, _ := authURL("none-4", oauth2.SetAuthURLParam("prompt", "none"))
	req, _ := http.NewRequest(http.MethodGet, probe, nil)
	req.AddCookie(session)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("the session's cookie after the posted logout: status %d Location %q, want login_required", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A logout without a hint asks first.
	u, _ = authURL("last")
	do("sign in once more", chromedp.Navigate(u))
	signIn("sign in once more")
	arrive()
	do("log out without a hint", chromedp.Navigate(srv.URL+"/logout"), chromedp.WaitVisible(chromedp.CSS(`button[value="yes"]`)))
	if got := text("h1"); !strings.Contains(got, "Sign out") {
		t.Fatalf("the confirmation page's heading is %q", got)
	}
	save("oidc-logout-confirm.png")
	do("confirm", chromedp.Click(chromedp.CSS(`button[value="yes"]`)), chromedp.WaitVisible(chromedp.CSS(".done-icon")))
	if got := text("h1"); got != "Signed out" {
		t.Fatalf("after the confirmation the page says %q", got)
	}
	save("oidc-signed-out.png")
}
