package oauth2d

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/oauth2d/oauth2/store"
)

// TestOpenID_GoOIDCRelyingPartySignsInOverHTTP is the relying party of
// github.com/coreos/go-oidc/v3 against oauth2d over real HTTP: discovery
// (Discovery 1.0 4), the code flow with a nonce and PKCE (Core 3.1), the ID
// token verified with the published keys, its at_hash, nonce, auth_time,
// sid and amr, UserInfo (Core 5.3) with the claims of the scope values, and
// a refresh that returns an ID token with the original auth_time and no
// nonce (Core 12.2). With signing.alg ES256 the ID token is ES256, and
// RS256 for a client registered with id_token_signed_response_alg RS256.
func TestOpenID_GoOIDCRelyingPartySignsInOverHTTP(t *testing.T) {
	tests := []struct {
		name      string
		signing   string
		clientAlg string
		wantAlg   string
		algs      []string
	}{
		{"RS256", "RS256", "", "RS256", []string{"RS256"}},
		{"ES256", "ES256", "", "ES256", []string{"ES256", "RS256"}},
		{"ES256 server, client asks RS256", "ES256", "RS256", "RS256", []string{"ES256", "RS256"}},
		{"EdDSA", "EdDSA", "", "EdDSA", []string{"EdDSA", "RS256"}},
		{"PS256", "PS256", "", "PS256", []string{"PS256", "RS256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := oidcConfig()
			cfg.Signing.Alg = tt.signing
			cfg.Clients[0].IDTokenSignedResponseAlg = tt.clientAlg
			srv := startApp(t, cfg)
			rp := newRelyingParty(t, srv, "profile", "email", "offline_access")
			var disc struct {
				Algs []string `json:"id_token_signing_alg_values_supported"`
			}
			if err := rp.provider.Claims(&disc); err != nil || !slices.Equal(disc.Algs, tt.algs) {
				t.Fatalf("id_token_signing_alg_values_supported = %v (%v), want %v", disc.Algs, err, tt.algs)
			}

			verifier := oauth2.GenerateVerifier()
			b := newBrowser(t, srv)
			before := time.Now().Add(-time.Second).Unix()
			w := b.walk(rp.oauth.AuthCodeURL("st-rp", gooidc.Nonce("nonce-rp"), oauth2.S256ChallengeOption(verifier)),
				testUsername, testPassword, "allow")
			if got := w.query; got.Get("state") != "st-rp" || got.Get("code") == "" || got.Get("iss") != srv.URL {
				t.Fatalf("authorization response %v", redactQuery(got))
			}
			tok, err := rp.oauth.Exchange(rp.ctx, w.query.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := rp.verifier.Verify(rp.ctx, raw)
			if err != nil {
				t.Fatalf("go-oidc rejects the ID token: %v", err)
			}
			if alg := jwtHeader(t, raw)["alg"]; alg != tt.wantAlg {
				t.Fatalf("ID token alg %v, want %s", alg, tt.wantAlg)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Fatalf("at_hash: %v", err)
			}
			var c idTokenClaims
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			if idt.Subject != testUsername || idt.Nonce != "nonce-rp" || c.AuthTime < before || c.SID == "" ||
				!slices.Equal(c.AMR, []string{"pwd"}) || c.Email != "" {
				t.Fatalf("ID token sub %q nonce %q claims %+v: want alice, the nonce, auth_time, sid, amr pwd and no scope claims (Core 5.4: they are at UserInfo)",
					idt.Subject, idt.Nonce, c)
			}

			info, err := rp.provider.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("UserInfo: %v", err)
			}
			var ui map[string]any
			if err := info.Claims(&ui); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"sub": testUsername, "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
				"email": "alice@example.com", "email_verified": true}
			if !reflect.DeepEqual(ui, want) {
				t.Fatalf("UserInfo %v, want %v (profile and email; no phone or address, which were not asked)", ui, want)
			}

			expired := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
			refreshed, err := rp.oauth.TokenSource(rp.ctx, expired).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			raw2, _ := refreshed.Extra("id_token").(string)
			idt2, err := rp.verifier.Verify(rp.ctx, raw2)
			if err != nil {
				t.Fatalf("go-oidc rejects the refreshed ID token: %v", err)
			}
			var c2 idTokenClaims
			_ = idt2.Claims(&c2)
			if idt2.Subject != idt.Subject || c2.AuthTime != c.AuthTime || c2.Nonce != "" || c2.SID != c.SID {
				t.Fatalf("refreshed ID token sub %q claims %+v, want the original sub, auth_time and sid and no nonce", idt2.Subject, c2)
			}
		})
	}
}

// TestDiscovery_IsTheRFC8414DocumentWithTheOpenIDEndpoints checks the
// OpenID Provider configuration (Discovery 1.0 3) against the server it
// describes: the RFC 8414 document is the same document, and it lists
// UserInfo, the end_session_endpoint, pairwise subjects, the claims and
// the response modes.
func TestDiscovery_IsTheRFC8414DocumentWithTheOpenIDEndpoints(t *testing.T) {
	srv := startApp(t, oidcConfig())
	get := func(path string) (map[string]any, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		return m, []byte(body)
	}
	oidcDoc, oidcRaw := get("/.well-known/openid-configuration")
	_, rfcRaw := get("/.well-known/oauth-authorization-server")
	if string(oidcRaw) != string(rfcRaw) {
		t.Fatalf("the two documents differ:\n%s\n%s", oidcRaw, rfcRaw)
	}
	iss := srv.URL
	want := map[string]any{
		"issuer":                          iss,
		"authorization_endpoint":          iss + "/authorize",
		"token_endpoint":                  iss + "/token",
		"userinfo_endpoint":               iss + "/userinfo",
		"end_session_endpoint":            iss + "/logout",
		"jwks_uri":                        iss + "/jwks.json",
		"claims_parameter_supported":      true,
		"request_parameter_supported":     false,
		"request_uri_parameter_supported": false,
	}
	for k, v := range want {
		if oidcDoc[k] != v {
			t.Errorf("%s = %v, want %v", k, oidcDoc[k], v)
		}
	}
	for k, v := range map[string][]string{
		"subject_types_supported":               {"public", "pairwise"},
		"id_token_signing_alg_values_supported": {"RS256"},
		"response_modes_supported":              {"query", "fragment", "form_post"},
		"response_types_supported":              {"code"},
	} {
		if got := strs(oidcDoc[k]); !slices.Equal(got, v) {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	scopes := strs(oidcDoc["scopes_supported"])
	claims := strs(oidcDoc["claims_supported"])
	for _, s := range []string{"openid", "profile", "email", "address", "phone", "offline_access", "read"} {
		if !slices.Contains(scopes, s) {
			t.Errorf("scopes_supported %v lacks %s", scopes, s)
		}
	}
	for _, c := range []string{"sub", "name", "email", "email_verified", "address", "phone_number", "auth_time", "nonce", "sid"} {
		if !slices.Contains(claims, c) {
			t.Errorf("claims_supported %v lacks %s", claims, c)
		}
	}
	// Every endpoint it lists is served.
	for _, k := range []string{"userinfo_endpoint", "end_session_endpoint", "jwks_uri"} {
		resp, err := http.Get(oidcDoc[k].(string))
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("%s %v is not served", k, oidcDoc[k])
		}
	}
}

// TestPromptNone_AnswersWithoutEverShowingAPage covers prompt=none (Core
// 3.1.2.1): without a session login_required, with one but without
// consent consent_required, with both a code; each redirected with state
// and iss, no page shown.
func TestPromptNone_AnswersWithoutEverShowingAPage(t *testing.T) {
	srv := startApp(t, oidcConfig())
	b := newBrowser(t, srv)
	none := url.Values{"prompt": {"none"}}
	redirectOf := func(state string) url.Values {
		t.Helper()
		resp, body := b.get(oidcAuthorize("openid profile", state, none))
		loc := b.expectRedirect(resp, http.StatusFound, rpRedirect)
		if strings.Contains(body, "<form") {
			t.Fatal("a page was shown under prompt=none")
		}
		u, _ := url.Parse(loc)
		q := u.Query()
		if q.Get("state") != state || q.Get("iss") != srv.URL {
			t.Fatalf("redirect %v without the state or iss", redactQuery(q))
		}
		return q
	}
	t.Run("PromptNoneWithoutSessionIsLoginRequired", func(t *testing.T) {
		if q := redirectOf("none-1"); q.Get("error") != "login_required" || q.Has("code") {
			t.Fatalf("redirect %v, want login_required", redactQuery(q))
		}
	})
	t.Run("PromptNoneWithSessionWithoutConsentIsConsentRequired", func(t *testing.T) {
		signInAt(b)
		if q := redirectOf("none-2"); q.Get("error") != "consent_required" || q.Has("code") {
			t.Fatalf("redirect %v, want consent_required", redactQuery(q))
		}
	})
	t.Run("PromptNoneWithSessionAndConsentIssuesACode", func(t *testing.T) {
		if w := b.walk(oidcAuthorize("openid profile", "none-3", nil), testUsername, testPassword, "allow"); !slices.Equal(w.pages, []string{"consent"}) {
			t.Fatalf("pages %v, want the consent page only", w.pages)
		}
		if q := redirectOf("none-4"); q.Get("code") == "" || q.Has("error") {
			t.Fatalf("redirect %v, want a code", redactQuery(q))
		}
	})
}

// TestPromptLogin_ForcesAFreshSignIn covers prompt=login and
// select_account (Core 3.1.2.1): a signed-in user is shown the login page
// with their username and the reason, and the ID token's auth_time is the
// new sign-in's.
func TestPromptLogin_ForcesAFreshSignIn(t *testing.T) {
	cfg := oidcConfig()
	clk := startClock(t, &cfg)
	srv := startApp(t, cfg)
	for _, prompt := range []string{"login", "select_account"} {
		t.Run(prompt, func(t *testing.T) {
			b := newBrowser(t, srv)
			first := b.walk(oidcAuthorize("openid", "first", nil), testUsername, testPassword, "allow")
			firstAuth := authTimeOf(t, srv, first.query.Get("code"))
			clk.Advance(10 * time.Minute)
			w := b.walk(oidcAuthorize("openid", "again", url.Values{"prompt": {prompt}}), testUsername, testPassword, "allow")
			if !slices.Equal(w.pages, []string{"login"}) {
				t.Fatalf("pages %v, want the login page only (consent is remembered)", w.pages)
			}
			if !strings.Contains(w.loginPage, "sign in again") || !strings.Contains(w.loginPage, "Signed in as <strong>alice</strong>") ||
				!strings.Contains(w.loginPage, `id="sign-out"`) || !strings.Contains(w.loginPage, `name="username" type="text" value="alice"`) {
				t.Fatal("the login page does not say why it is shown, fill in who is signed in, or offer to sign out")
			}
			if got := authTimeOf(t, srv, w.query.Get("code")); got != firstAuth+600 {
				t.Fatalf("auth_time %d, want the new sign-in's %d", got, firstAuth+600)
			}
		})
	}
}

// TestMaxAge_OlderSessionSignsInAgain covers max_age (Core 3.1.2.1): a
// session younger than max_age proceeds, an older one is sent to the
// login page, max_age=0 always is, and the ID token carries auth_time.
func TestMaxAge_OlderSessionSignsInAgain(t *testing.T) {
	cfg := oidcConfig()
	clk := startClock(t, &cfg)
	srv := startApp(t, cfg)
	b := newBrowser(t, srv)
	b.walk(oidcAuthorize("openid", "s0", nil), testUsername, testPassword, "allow")
	clk.Advance(5 * time.Minute)
	if w := b.walk(oidcAuthorize("openid", "s1", url.Values{"max_age": {"600"}}), testUsername, testPassword, "allow"); len(w.pages) != 0 {
		t.Fatalf("a session of 5 minutes under max_age=600: pages %v, want none", w.pages)
	}
	clk.Advance(6 * time.Minute)
	w := b.walk(oidcAuthorize("openid", "s2", url.Values{"max_age": {"600"}}), testUsername, testPassword, "allow")
	if !slices.Equal(w.pages, []string{"login"}) || !strings.Contains(w.loginPage, "too old") {
		t.Fatalf("a session of 11 minutes under max_age=600: pages %v, want the login page saying why", w.pages)
	}
	if at := authTimeOf(t, srv, w.query.Get("code")); at != clk.Now().Unix() {
		t.Fatalf("auth_time %d, want the new sign-in's %d", at, clk.Now().Unix())
	}
	if w := b.walk(oidcAuthorize("openid", "s3", url.Values{"max_age": {"0"}}), testUsername, testPassword, "allow"); !slices.Equal(w.pages, []string{"login"}) {
		t.Fatalf("max_age=0: pages %v, want the login page", w.pages)
	}
}

// TestLoginHint_FillsInTheUsername covers login_hint (Core 3.1.2.1).
func TestLoginHint_FillsInTheUsername(t *testing.T) {
	srv := startApp(t, oidcConfig())
	w := newBrowser(t, srv).walk(oidcAuthorize("openid", "hint", url.Values{"login_hint": {"alice"}}), testUsername, testPassword, "allow")
	if !strings.Contains(w.loginPage, `name="username" type="text" value="alice"`) {
		t.Fatal("the login page does not fill in the login_hint")
	}
}

// TestPromptConsent_ShowsTheConsentPageAgain covers prompt=consent (Core
// 3.1.2.1): a remembered consent is asked again.
func TestPromptConsent_ShowsTheConsentPageAgain(t *testing.T) {
	srv := startApp(t, oidcConfig())
	b := newBrowser(t, srv)
	b.walk(oidcAuthorize("openid email", "c1", nil), testUsername, testPassword, "allow")
	if w := b.walk(oidcAuthorize("openid email", "c2", nil), testUsername, testPassword, "allow"); len(w.pages) != 0 {
		t.Fatalf("remembered consent: pages %v", w.pages)
	}
	if w := b.walk(oidcAuthorize("openid email", "c3", url.Values{"prompt": {"consent"}}), testUsername, testPassword, "allow"); !slices.Equal(w.pages, []string{"consent"}) || w.query.Get("code") == "" {
		t.Fatalf("prompt=consent: pages %v", w.pages)
	}
}

// TestConsent_ListsTheClaimsTheClientWillReceive covers the consent page
// of an OpenID Connect request: it lists the claims of the scope values
// (Core 5.4) and of the claims parameter (5.5) that the user has, and a
// consent to fewer claims does not cover a request for more.
func TestConsent_ListsTheClaimsTheClientWillReceive(t *testing.T) {
	srv := startApp(t, oidcConfig())
	b := newBrowser(t, srv)
	claims := url.Values{"claims": {`{"id_token":{"phone_number":{"essential":true}},"userinfo":{"birthdate":null}}`}}
	w := b.walk(oidcAuthorize("openid email", "cl1", claims), testUsername, testPassword, "allow")
	if got, want := claimsListed(w.consentPage), []string{"email", "email_verified", "phone_number"}; !slices.Equal(got, want) {
		t.Fatalf("the consent page lists %v, want %v (alice has no birthdate)", got, want)
	}
	for _, want := range []string{"Your email address", "Your phone number"} {
		if !strings.Contains(w.consentPage, want) {
			t.Errorf("the consent page does not describe a claim as %q", want)
		}
	}
	// The same scope without the claims parameter is covered...
	if w := b.walk(oidcAuthorize("openid email", "cl2", nil), testUsername, testPassword, "allow"); len(w.pages) != 0 {
		t.Fatalf("pages %v, want none", w.pages)
	}
	// ...a claim beyond what was allowed is asked.
	more := url.Values{"claims": {`{"userinfo":{"address":null}}`}}
	w = b.walk(oidcAuthorize("openid email", "cl3", more), testUsername, testPassword, "allow")
	if !slices.Equal(w.pages, []string{"consent"}) || !slices.Contains(claimsListed(w.consentPage), "address") {
		t.Fatalf("a claim not allowed before: pages %v, want the consent page listing address", w.pages)
	}
	// An OAuth 2.0 request lists no claims.
	w = newBrowser(t, srv).walk(oidcAuthorize("read", "plain", nil), testUsername, testPassword, "allow")
	if got := claimsListed(w.consentPage); got != nil {
		t.Fatalf("an OAuth 2.0 request's consent page lists claims %v", got)
	}
}

// claimsListed returns the claim names of a consent page's list of claims.
func claimsListed(page string) []string {
	i := strings.Index(page, `class="scopes claims"`)
	if i < 0 {
		return nil
	}
	list := page[i:]
	list = list[:strings.Index(list, "</ul>")]
	var out []string
	for _, item := range strings.Split(list, `<span class="scope">`)[1:] {
		out = append(out, item[:strings.Index(item, "</span>")])
	}
	return out
}

// TestIDTokenHint_OfAnotherUserUnderPromptNoneIsLoginRequired covers
// id_token_hint (Core 3.1.2.1): a hint naming the signed-in user proceeds,
// one naming another user is login_required under prompt=none.
func TestIDTokenHint_OfAnotherUserUnderPromptNoneIsLoginRequired(t *testing.T) {
	srv := startApp(t, oidcConfig())
	alice := newBrowser(t, srv)
	aliceHint := idTokenOf(t, srv, alice.walk(oidcAuthorize("openid", "a", nil), testUsername, testPassword, "allow").query.Get("code"))
	bob := newBrowser(t, srv)
	bobHint := idTokenOf(t, srv, bob.walk(oidcAuthorize("openid", "b", nil), bobUsername, bobPassword, "allow").query.Get("code"))
	for _, tt := range []struct {
		hint, error string
	}{{aliceHint, ""}, {bobHint, "login_required"}} {
		resp, _ := alice.get(oidcAuthorize("openid", "h", url.Values{"prompt": {"none"}, "id_token_hint": {tt.hint}}))
		u, _ := url.Parse(alice.expectRedirect(resp, http.StatusFound, rpRedirect))
		if q := u.Query(); q.Get("error") != tt.error || (tt.error == "") != q.Has("code") {
			t.Fatalf("hint: redirect %v, want error %q", redactQuery(q), tt.error)
		}
	}
}

// idTokenOf redeems code with testVerifier and returns the ID token.
func idTokenOf(t *testing.T, srv *testServer, code string) string {
	t.Helper()
	resp, body := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {testVerifier},
	})
	raw, _ := body["id_token"].(string)
	if resp.StatusCode != http.StatusOK || raw == "" {
		t.Fatalf("token response %d without an ID token: %v", resp.StatusCode, body["error"])
	}
	return raw
}

// authTimeOf redeems code and returns the auth_time of its ID token,
// verified with the server's keys.
func authTimeOf(t *testing.T, srv *testServer, code string) int64 {
	t.Helper()
	raw := idTokenOf(t, srv, code)
	ks := gooidc.NewRemoteKeySet(t.Context(), srv.URL+"/jwks.json")
	v := gooidc.NewVerifier(srv.URL, ks, &gooidc.Config{ClientID: testClientID, Now: srv.App.now})
	idt, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var c idTokenClaims
	_ = idt.Claims(&c)
	return c.AuthTime
}

// TestPairwiseSubjects_DifferPerSectorAndAgreeAcrossProcesses covers
// pairwise subject identifiers (Core 8.1): two clients of different
// sectors get different subs for one user, neither the username; two
// processes sharing the store compute the same sub (the pairwise secret is
// kept in the store); UserInfo's sub is the ID token's (Core 5.3.2).
func TestPairwiseSubjects_DifferPerSectorAndAgreeAcrossProcesses(t *testing.T) {
	const otherRedirect = "https://other.example/cb"
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	cfg := oidcConfig()
	cfg.Clients[0].SubjectType = "pairwise"
	cfg.Clients = append(cfg.Clients, ClientConfig{ID: "other", Secret: "other-secret-value", RedirectURIs: []string{otherRedirect},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, SubjectType: "pairwise"})
	cfg.TokenStore, cfg.Secret, cfg.Issuer = ts, testAtRestSecret, "http://oauth2d.test"
	a, c := serveApp(t, cfg), serveApp(t, cfg)
	subOf := func(srv *testServer, clientID, secret, redirect string) (sub, access string) {
		t.Helper()
		b := newBrowser(t, srv)
		b.origin = cfg.Issuer
		q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {"openid"},
			"state": {"s"}, "nonce": {"n"}, "code_challenge": {testChallenge()}, "code_challenge_method": {"S256"}}
		w := b.walkTo("/authorize?"+q.Encode(), redirect, testUsername, testPassword, "allow")
		resp, body := tokenRequest(t, srv, clientID, secret, url.Values{"grant_type": {"authorization_code"},
			"code": {w.query.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {testVerifier}})
		raw, _ := body["id_token"].(string)
		if resp.StatusCode != http.StatusOK || raw == "" {
			t.Fatalf("token response %d: %v", resp.StatusCode, body["error"])
		}
		tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
		if err != nil {
			t.Fatal(err)
		}
		sub, _ = tok.Claims.GetSubject()
		return sub, body["access_token"].(string)
	}
	subA, access := subOf(a, testClientID, testClientSecret, rpRedirect)
	subC, _ := subOf(c, testClientID, testClientSecret, rpRedirect)
	subOther, _ := subOf(a, "other", "other-secret-value", otherRedirect)
	if subA == testUsername || subA == "" || subA != subC || subOther == subA || subOther == testUsername {
		t.Fatalf("pairwise subs: rp at A %q, rp at C %q, other %q", subA, subC, subOther)
	}
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ui map[string]any
	if err := json.Unmarshal([]byte(readBody(t, resp)), &ui); err != nil || ui["sub"] != subA {
		t.Fatalf("UserInfo sub %v (%v), want the ID token's %q", ui["sub"], err, subA)
	}
}

// TestUserInfo_ErrorsThroughTheServer covers the UserInfo endpoint's
// answers to bad requests at /userinfo (Core 5.3.3, RFC 6750 3.1).
func TestUserInfo_ErrorsThroughTheServer(t *testing.T) {
	srv := startApp(t, oidcConfig())
	_, plain := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	tests := []struct {
		name, method, auth string
		status             int
		challenge          string
	}{
		{"NoToken", http.MethodGet, "", http.StatusUnauthorized, "Bearer"},
		{"UnknownToken", http.MethodGet, "Bearer not-a-token", http.StatusUnauthorized, `Bearer error="invalid_token"`},
		{"TokenWithoutOpenID", http.MethodGet, "Bearer " + plain["access_token"].(string), http.StatusForbidden, `Bearer error="insufficient_scope"`},
		{"MethodNotAllowed", http.MethodPut, "", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/userinfo", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readBody(t, resp)
			if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), tt.challenge) ||
				(tt.challenge == "") != (resp.Header.Get("WWW-Authenticate") == "") {
				t.Fatalf("status %d WWW-Authenticate %q, want %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
		})
	}
}

// TestDiscovery_IssuerWithAPathServesTheOpenIDEndpointsUnderIt covers an
// issuer with a path (Discovery 1.0 4.1): the configuration is at the
// issuer's path followed by /.well-known/openid-configuration, and the
// endpoints it lists are served under the issuer's path.
func TestDiscovery_IssuerWithAPathServesTheOpenIDEndpointsUnderIt(t *testing.T) {
	cfg := oidcConfig()
	cfg.Issuer = "http://oauth2d.test/auth"
	cfg.Logger = slog.New(slog.DiscardHandler)
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		app.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	rec := get("/auth/.well-known/openid-configuration")
	var md map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &md); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("configuration: %d %v", rec.Code, err)
	}
	if md["issuer"] != cfg.Issuer || md["userinfo_endpoint"] != cfg.Issuer+"/userinfo" || md["end_session_endpoint"] != cfg.Issuer+"/logout" {
		t.Fatalf("issuer %v userinfo_endpoint %v end_session_endpoint %v", md["issuer"], md["userinfo_endpoint"], md["end_session_endpoint"])
	}
	if rfc := get("/.well-known/oauth-authorization-server/auth"); rfc.Body.String() != rec.Body.String() {
		t.Fatal("the RFC 8414 document of the issuer differs from its OpenID configuration")
	}
	for path, want := range map[string]int{"/auth/userinfo": http.StatusUnauthorized, "/auth/logout": http.StatusSeeOther, "/auth/logout/done": http.StatusOK} {
		if got := get(path).Code; got != want {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}
}
