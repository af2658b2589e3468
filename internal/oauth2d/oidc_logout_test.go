package oauth2d

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/store"
)

// signedIn reports whether the browser's session at the server is live:
// an authentication request under prompt=none gets a code rather than
// login_required (OpenID Connect Core 1.0 3.1.2.6).
func (b *browser) signedIn() bool {
	b.t.Helper()
	resp, _ := b.get(oidcAuthorize("openid", "probe", url.Values{"prompt": {"none"}}))
	u, err := url.Parse(b.expectRedirect(resp, http.StatusFound, rpRedirect))
	if err != nil {
		b.t.Fatal(err)
	}
	switch q := u.Query(); {
	case q.Get("code") != "":
		return true
	case q.Get("error") == "login_required":
		return false
	default:
		b.t.Fatalf("prompt=none: redirect %v", redactQuery(q))
		return false
	}
}

// signInForHint signs the test user in through a code flow and returns
// the ID token issued, for an id_token_hint.
func signInForHint(t *testing.T, b *browser) string {
	t.Helper()
	w := b.walk(oidcAuthorize("openid", "login", nil), testUsername, testPassword, "allow")
	return idTokenOf(t, b.srv, w.query.Get("code"))
}

// rpPost posts params to /logout from the relying party's site, as an RP
// that uses POST does (RP-Initiated Logout 1.0 2), and follows the 303 to
// the same request as a GET, which carries the SameSite=Lax session cookie
// that the cross-site POST could not.
func (b *browser) rpPost(params url.Values) (*http.Response, string) {
	b.t.Helper()
	origin := b.origin
	b.origin = "https://rp.example"
	resp, _ := b.post("/logout", params)
	b.origin = origin
	loc := b.expectRedirect(resp, http.StatusSeeOther, "/logout?")
	if got, _ := url.ParseQuery(strings.TrimPrefix(loc, "/logout?")); !reflect.DeepEqual(got, params) {
		b.t.Fatalf("the 303 leads to %v, want the posted parameters %v", got, params)
	}
	return b.get(loc)
}

// logoutURL is the end_session_endpoint with params.
func logoutURL(params url.Values) string { return "/logout?" + params.Encode() }

// foreignHint is an ID token for the test user with the server's issuer
// and the kid of its current key, signed by another key.
func foreignHint(t *testing.T, srv *testServer) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := srv.App.Keys().Current()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": srv.URL, "sub": testUsername, "aud": testClientID,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = cur.KeyID
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestLogout_BadRequestsShowAnErrorAndNeitherRedirectNorSignOut covers
// the validation of RP-Initiated Logout 1.0 (sections 2, 3, 4): each bad
// request shows an error page, redirects nowhere and leaves the session
// as it was.
func TestLogout_BadRequestsShowAnErrorAndNeitherRedirectNorSignOut(t *testing.T) {
	cfg := oidcConfig()
	cfg.Clients = append(cfg.Clients, ClientConfig{ID: "other-app", Secret: "other-app-secret-value",
		RedirectURIs: []string{"https://other.example/cb"}, PostLogoutRedirectURIs: []string{"https://other.example/bye"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}})
	srv := startApp(t, cfg)
	b := newBrowser(t, srv)
	hint := signInForHint(t, b)
	elsewhere := startApp(t, oidcConfig())
	otherIssuer := signInForHint(t, newBrowser(t, elsewhere))
	tampered := hint[:len(hint)-4] + map[bool]string{true: "AAAA", false: "BBBB"}[!strings.HasSuffix(hint, "AAAA")]

	tests := []struct {
		name   string
		params url.Values
	}{
		{"PostLogoutRedirectURINotRegistered", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/bye"}}},
		{"PostLogoutRedirectURIWithAQueryAdded", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLoggedOut + "?x=1"}}},
		{"PostLogoutRedirectURIOfAnotherClient", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://other.example/bye"}}},
		{"PostLogoutRedirectURIWithoutAClient", url.Values{"post_logout_redirect_uri": {rpLoggedOut}}},
		{"HintOfAnotherIssuer", url.Values{"id_token_hint": {otherIssuer}, "post_logout_redirect_uri": {rpLoggedOut}}},
		{"HintSignedByAnotherKey", url.Values{"id_token_hint": {foreignHint(t, srv)}, "post_logout_redirect_uri": {rpLoggedOut}}},
		{"HintTampered", url.Values{"id_token_hint": {tampered}}},
		{"HintNotAJWT", url.Values{"id_token_hint": {"not-a-jwt"}}},
		{"ClientIDNotTheHintsAudience", url.Values{"id_token_hint": {hint}, "client_id": {"other-app"}}},
		{"ClientIDUnknown", url.Values{"client_id": {"nobody"}, "post_logout_redirect_uri": {rpLoggedOut}}},
		{"ParameterRepeated", url.Values{"id_token_hint": {hint, hint}}},
		{"StateWithAControlCharacter", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"a\nb"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				var resp *http.Response
				var body string
				if method == http.MethodGet {
					resp, body = b.get(logoutURL(tt.params))
				} else {
					resp, body = b.rpPost(tt.params)
				}
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
					!strings.Contains(body, "This sign-out request is not valid") || strings.Contains(body, "evil.example") {
					t.Fatalf("%s: status %d Location %q, want 400 and an error page", method, resp.StatusCode, resp.Header.Get("Location"))
				}
				if !b.signedIn() {
					t.Fatalf("%s: a refused logout request ended the session", method)
				}
			}
		})
	}
}

// TestLogout_HintOfTheSessionSignsOutAtOnceAndRedirectsWithState covers
// RP-Initiated Logout 1.0 2 and 3: an id_token_hint of the current session,
// expired or not, ends it without asking, and the browser goes to the
// registered post_logout_redirect_uri with the state.
func TestLogout_HintOfTheSessionSignsOutAtOnceAndRedirectsWithState(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			cfg := oidcConfig()
			cfg.Session.IdleTimeout = 4 * time.Hour
			clk := startClock(t, &cfg)
			srv := startApp(t, cfg)
			b := newBrowser(t, srv)
			hint := signInForHint(t, b)
			clk.Advance(2 * time.Hour) // the ID token (1 hour) has expired
			params := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye 1"}, "ui_locales": {"en"}}
			var resp *http.Response
			if method == http.MethodGet {
				resp, _ = b.get(logoutURL(params))
			} else {
				resp, _ = b.rpPost(params)
			}
			if loc := b.expectRedirect(resp, http.StatusSeeOther, rpLoggedOut); loc != rpLoggedOut+"?state=bye+1" {
				t.Fatalf("Location %q, want the post_logout_redirect_uri with the state", loc)
			}
			if b.signedIn() {
				t.Fatal("the session outlived the logout")
			}
		})
	}
}

// TestLogout_WithoutAMatchingHintAsksTheUserFirst covers the confirmation
// of RP-Initiated Logout 1.0 2: without an id_token_hint, or with one of
// another session, the user is asked; "Sign out" ends the session and
// follows the registered URI with the state, "Stay signed in" follows it
// and keeps the session; without a URI the signed-out page is shown.
func TestLogout_WithoutAMatchingHintAsksTheUserFirst(t *testing.T) {
	srv := startApp(t, oidcConfig())
	oldHint := signInForHint(t, newBrowser(t, srv)) // alice's, from another session
	tests := []struct {
		name   string
		params url.Values
		answer string
		want   string // Location
		signed bool   // still signed in afterwards
	}{
		{"NoHintSignOut", url.Values{"client_id": {testClientID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"s1"}}, "yes", rpLoggedOut + "?state=s1", false},
		{"NoHintStaySignedIn", url.Values{"client_id": {testClientID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"s2"}}, "no", rpLoggedOut + "?state=s2", true},
		{"HintOfAnotherSession", url.Values{"id_token_hint": {oldHint}, "post_logout_redirect_uri": {rpLoggedOut}}, "yes", rpLoggedOut, false},
		{"LogoutHintOfAnotherUser", url.Values{"logout_hint": {bobUsername}}, "yes", "/logout/done", false},
		{"NoParameters", url.Values{}, "yes", "/logout/done", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, srv)
			signInForHint(t, b)
			resp, page := b.get(logoutURL(tt.params))
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Sign out of oauth2d?") {
				t.Fatalf("status %d, want the confirmation page", resp.StatusCode)
			}
			if !b.signedIn() {
				t.Fatal("the session ended before the user answered")
			}
			resp, _ = b.post("/logout", url.Values{"csrf": {hiddenValue(t, page, "csrf")}, "request": {hiddenValue(t, page, "request")}, "logout": {tt.answer}})
			if loc := b.expectRedirect(resp, http.StatusSeeOther, ""); loc != tt.want {
				t.Fatalf("Location %q, want %q", loc, tt.want)
			}
			if b.signedIn() != tt.signed {
				t.Fatalf("signed in afterwards: %v, want %v", !tt.signed, tt.signed)
			}
			if tt.want == "/logout/done" {
				if _, done := b.get("/logout/done"); !strings.Contains(done, "You have signed out") {
					t.Fatal("the signed-out page does not say so")
				}
			}
		})
	}
}

// TestLogout_ConfirmationIsOnlyTheSessionsOwnSameOriginForm covers the
// confirmation form: a forged or replayed token, another site's post and
// another session's request end nothing.
func TestLogout_ConfirmationIsOnlyTheSessionsOwnSameOriginForm(t *testing.T) {
	srv := startApp(t, oidcConfig())
	b := newBrowser(t, srv)
	signInForHint(t, b)
	mallory := newBrowser(t, srv)
	signInForHint(t, mallory)
	_, theirs := mallory.get(logoutURL(url.Values{}))
	_, page := b.get(logoutURL(url.Values{}))
	csrf, ref := hiddenValue(t, page, "csrf"), hiddenValue(t, page, "request")
	tests := []struct {
		name   string
		origin string
		form   url.Values
		status int
	}{
		{"ForgedToken", srv.URL, url.Values{"csrf": {"x.1.y"}, "request": {ref}, "logout": {"yes"}}, http.StatusForbidden},
		{"AnotherSitesPost", "https://evil.example", url.Values{"csrf": {csrf}, "request": {ref}, "logout": {"yes"}}, http.StatusForbidden},
		{"AnotherSessionsRequest", srv.URL, url.Values{"csrf": {csrf}, "request": {hiddenValue(t, theirs, "request")}, "logout": {"yes"}}, http.StatusBadRequest},
		{"ReplayedToken", srv.URL, url.Values{"csrf": {csrf}, "request": {ref}, "logout": {"yes"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.origin = tt.origin
			resp, _ := b.post("/logout", tt.form)
			b.origin = srv.URL
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d Location %q, want %d", resp.StatusCode, resp.Header.Get("Location"), tt.status)
			}
			if !b.signedIn() {
				t.Fatal("the session ended")
			}
		})
	}
}

// TestSignOut_NotYouEndsTheSessionAndSignsInAgain covers the "Not you?
// Sign out" form of the consent page: it ends the session and the same
// authorization request continues with another user.
func TestSignOut_NotYouEndsTheSessionAndSignsInAgain(t *testing.T) {
	srv := startApp(t, oidcConfig())
	b := newBrowser(t, srv)
	back := b.login(oidcAuthorize("openid profile", "notyou", nil), testUsername, testPassword)
	resp, _ := b.get(back)
	_, page := b.get(b.expectRedirect(resp, http.StatusSeeOther, "/consent?request="))
	form := page[strings.Index(page, `class="signed-in"`):]
	resp, _ = b.post("/logout", url.Values{"csrf": {hiddenValue(t, form, "csrf")}, "return": {hiddenValue(t, form, "return")}})
	login := b.expectRedirect(resp, http.StatusSeeOther, "/login?return=")
	if ret, _ := url.ParseQuery(strings.TrimPrefix(login, "/login?")); ret.Get("return") != back {
		t.Fatalf("the sign-out leads to %q, not back to the authorization request", login)
	}
	if b.signedIn() {
		t.Fatal("the sign-out form did not end the session")
	}
	w := b.walk(back, bobUsername, bobPassword, "allow")
	if code := w.query.Get("code"); code == "" || idSubject(t, srv, code) != bobUsername {
		t.Fatal("the authorization request did not continue as the other user")
	}
}

// idSubject redeems code and returns the sub of its ID token, unverified.
func idSubject(t *testing.T, srv *testServer, code string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(idTokenOf(t, srv, code), jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := tok.Claims.GetSubject()
	return sub
}

// TestLogout_EndsTheSessionInEveryProcess runs two Apps on one store, as
// two processes behind a load balancer: a session started at one and
// ended at the other's /logout has ended at both.
func TestLogout_EndsTheSessionInEveryProcess(t *testing.T) {
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	cfg := oidcConfig()
	cfg.TokenStore, cfg.Secret = ts, testAtRestSecret
	cfg.Issuer = "http://oauth2d.test"
	a, c := serveApp(t, cfg), serveApp(t, cfg)
	b := newBrowser(t, a)
	b.origin = cfg.Issuer
	w := b.walk(oidcAuthorize("openid", "mp", nil), testUsername, testPassword, "allow")
	hint := idTokenOf(t, a, w.query.Get("code"))
	b.srv = c
	resp, _ := b.get(logoutURL(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLoggedOut}}))
	b.expectRedirect(resp, http.StatusSeeOther, rpLoggedOut)
	b.srv = a
	if b.signedIn() {
		t.Fatal("a session ended at one process is still live at the other")
	}
}
