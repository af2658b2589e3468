package server_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	oauth2d "github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/server"
)

// The authorization code flow of OpenID Connect Core 1.0 3.1, with go-oidc
// as the relying party over real HTTP: discovery, nonce and PKCE, the ID
// token's iss, aud, exp, nonce and at_hash, and UserInfo.
func TestCodeFlowWithGoOIDCYieldsAVerifiedIDTokenAndUserInfo(t *testing.T) {
	e := newOPEnv(t)
	p := e.provider()
	if p.Endpoint().AuthURL != e.ts.URL+"/authorize" || p.UserInfoEndpoint() != e.ts.URL+server.PathUserInfo {
		t.Fatalf("discovered %+v %q", p.Endpoint(), p.UserInfoEndpoint())
	}
	nonce := rand.Text()
	tok, r := e.codeFlow(e.browser(), "alice", map[string]string{"nonce": nonce})
	if r.params.Get("iss") != e.ts.URL {
		t.Fatalf("authorization response iss %q (RFC 9207)", r.params.Get("iss"))
	}
	idt, claims := e.claimsOfIDToken(opRPID, idTokenOf(t, tok))
	if idt.Issuer != e.ts.URL || idt.Subject != "alice" || !slices.Equal(idt.Audience, []string{opRPID}) {
		t.Fatalf("iss %q sub %q aud %v", idt.Issuer, idt.Subject, idt.Audience)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	if !idt.Expiry.After(e.clock.Now()) || idt.IssuedAt.After(e.clock.Now()) {
		t.Fatalf("iat %v exp %v at %v", idt.IssuedAt, idt.Expiry, e.clock.Now())
	}
	if claims["auth_time"] == nil || claims["acr"] != "urn:oauth2d:test:pwd" || claims["sid"] == nil {
		t.Fatalf("claims %v lack the authentication's auth_time, acr and sid", claims)
	}
	if amr, _ := claims["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Fatalf("amr %v", claims["amr"])
	}
	// The profile and email claims go to UserInfo when an access token is
	// issued (Core 5.4), not into the ID token.
	if _, ok := claims["email"]; ok {
		t.Fatalf("the ID token carries scope claims: %v", claims)
	}
	info, err := p.UserInfo(e.ctx(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("go-oidc UserInfo: %v", err)
	}
	if info.Subject != idt.Subject || info.Email != "alice@example.com" || !info.EmailVerified {
		t.Fatalf("userinfo %+v", info)
	}
	// The login and consent pages were each asked for once, for their
	// reasons.
	got := e.app.interactions()
	if len(got) != 2 || got[0].kind != server.InteractionLogin || got[0].reason != oidc.ReasonNoSession ||
		got[1].kind != server.InteractionConsent || got[1].reason != oidc.ReasonNoConsent {
		t.Fatalf("interactions %+v", got)
	}
}

// A public client signs in with PKCE alone; its ID token verifies too.
func TestCodeFlowOfAPublicClientWithPKCE(t *testing.T) {
	e := newOPEnv(t)
	e.rp = oauth2.Config{ClientID: opPublicRP, RedirectURL: opSPARedirct, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: e.ts.URL + "/authorize", TokenURL: e.ts.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	tok, _ := e.codeFlow(e.browser(), "alice", nil)
	if _, c := e.claimsOfIDToken(opPublicRP, idTokenOf(t, tok)); c["sub"] != "alice" {
		t.Fatalf("claims %v", c)
	}
}

// Core 12.2: the ID token of a refresh carries the original auth_time and
// no nonce, with the same sub.
func TestRefreshIssuesAnIDTokenWithTheOriginalAuthTimeAndNoNonce(t *testing.T) {
	e := newOPEnv(t)
	tok, _ := e.codeFlow(e.browser(), "alice", nil)
	first, fc := e.claimsOfIDToken(opRPID, idTokenOf(t, tok))
	e.clock.Advance(10 * time.Minute)
	tok.Expiry = time.Now().Add(-time.Second)
	fresh, err := e.rp.TokenSource(e.ctx(), tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("the refresh token was not rotated")
	}
	second, sc := e.claimsOfIDToken(opRPID, idTokenOf(t, fresh))
	if second.Nonce != "" || sc["nonce"] != nil {
		t.Fatalf("refresh ID token has a nonce: %v", sc)
	}
	if at := authTime(sc); !at.Equal(authTime(fc)) || at.IsZero() {
		t.Fatalf("auth_time %v, want the original %v", at, authTime(fc))
	}
	if second.Subject != first.Subject || !second.IssuedAt.After(first.IssuedAt) || fc["sid"] != sc["sid"] {
		t.Fatalf("first %v second %v", fc, sc)
	}
	if err := second.VerifyAccessToken(fresh.AccessToken); err != nil {
		t.Fatalf("at_hash of the refreshed access token: %v", err)
	}
	// A refresh that narrows the scope without openid gets no ID token.
	code, body := e.tokenPost(opRPID, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fresh.RefreshToken}, "scope": {"email"}})
	if code != http.StatusOK || body["id_token"] != nil {
		t.Fatalf("%d %v", code, body)
	}
}

// Core 3.1.2.1: prompt=none with nobody signed in is login_required,
// redirected to the client with state and iss, and no page is shown.
func TestPromptNoneWithoutSessionIsLoginRequired(t *testing.T) {
	e := newOPEnv(t)
	r := e.browser().get(e.authURL("st-1", oauth2.GenerateVerifier(), map[string]string{"prompt": "none", "nonce": "n"}))
	if r.status != http.StatusFound || r.params.Get("error") != "login_required" ||
		r.params.Get("state") != "st-1" || r.params.Get("iss") != e.ts.URL {
		t.Fatalf("%d %v %q", r.status, r.params, r.body)
	}
	if got := e.app.interactions(); len(got) != 0 {
		t.Fatalf("pages shown under prompt=none: %+v", got)
	}
	if n := e.tokens.writes.Load(); n != 0 {
		t.Fatalf("%d records stored", n)
	}
}

// With a session and consent on record, prompt=none answers with a code
// and no page: the relying party's silent sign-in.
func TestPromptNoneWithSessionIssuesACodeWithoutUI(t *testing.T) {
	e := newOPEnv(t)
	b := e.browser()
	e.codeFlow(b, "alice", nil)
	before := len(e.app.interactions())
	tok, r := e.codeFlow(b, "alice", map[string]string{"prompt": "none"})
	if r.page != "" || len(e.app.interactions()) != before {
		t.Fatalf("a page was shown: %+v", e.app.interactions()[before:])
	}
	if _, c := e.claimsOfIDToken(opRPID, idTokenOf(t, tok)); c["sub"] != "alice" {
		t.Fatalf("claims %v", c)
	}
}

// prompt=none with a session but no consent for this client is
// consent_required.
func TestPromptNoneWithoutConsentIsConsentRequired(t *testing.T) {
	e := newOPEnv(t)
	b := e.browser()
	e.codeFlow(b, "alice", nil)
	e.rp.ClientID = opNonceRP
	r := b.get(e.authURL("st", oauth2.GenerateVerifier(), map[string]string{"prompt": "none", "nonce": "n"}))
	if r.params.Get("error") != "consent_required" || r.params.Get("state") != "st" {
		t.Fatalf("%d %v", r.status, r.params)
	}
}

// prompt=login makes the End-User authenticate again although signed in:
// the handler is asked for the login page, and the new auth_time is in the
// ID token.
func TestPromptLoginForcesReauthentication(t *testing.T) {
	e := newOPEnv(t)
	b := e.browser()
	tok, _ := e.codeFlow(b, "alice", nil)
	_, first := e.claimsOfIDToken(opRPID, idTokenOf(t, tok))
	e.clock.Advance(time.Hour)
	before := len(e.app.interactions())
	tok, _ = e.codeFlow(b, "alice", map[string]string{"prompt": "login"})
	got := e.app.interactions()[before:]
	if len(got) != 1 || got[0].kind != server.InteractionLogin || got[0].reason != oidc.ReasonPromptLogin {
		t.Fatalf("interactions %+v, want one login for prompt=login", got)
	}
	_, second := e.claimsOfIDToken(opRPID, idTokenOf(t, tok))
	if at := authTime(second); !at.After(authTime(first)) || at.Before(e.clock.Now().Add(-time.Second)) {
		t.Fatalf("auth_time %v after a new login at %v (was %v)", at, e.clock.Now(), authTime(first))
	}
}

// select_account is treated as login: this provider has one session per
// user agent.
func TestPromptSelectAccountAsksForTheLoginPage(t *testing.T) {
	e := newOPEnv(t)
	b := e.browser()
	e.codeFlow(b, "alice", nil)
	before := len(e.app.interactions())
	e.codeFlow(b, "alice", map[string]string{"prompt": "select_account"})
	if got := e.app.interactions()[before:]; len(got) != 1 || got[0].reason != oidc.ReasonPromptLogin {
		t.Fatalf("interactions %+v", got)
	}
}

// prompt=consent shows the consent page although consent is on record.
func TestPromptConsentShowsTheConsentPageAgain(t *testing.T) {
	e := newOPEnv(t)
	b := e.browser()
	e.codeFlow(b, "alice", nil)
	before := len(e.app.interactions())
	e.codeFlow(b, "alice", map[string]string{"prompt": "consent"})
	if got := e.app.interactions()[before:]; len(got) != 1 || got[0].kind != server.InteractionConsent || got[0].reason != oidc.ReasonPromptConsent {
		t.Fatalf("interactions %+v", got)
	}
}

// max_age: a session older than max_age makes the End-User authenticate
// again (login_required under prompt=none), a younger one does not, and
// the ID token then carries auth_time (Core 3.1.2.1).
func TestMaxAgeForcesReauthenticationOfAnOlderSession(t *testing.T) {
	e := newOPEnv(t)
	b := e.browser()
	e.codeFlow(b, "alice", nil)
	e.clock.Advance(10 * time.Minute)

	before := len(e.app.interactions())
	tok, _ := e.codeFlow(b, "alice", map[string]string{"max_age": "3600"})
	if got := e.app.interactions()[before:]; len(got) != 0 {
		t.Fatalf("a session of 10 minutes was asked to log in for max_age=3600: %+v", got)
	}
	if _, c := e.claimsOfIDToken(opRPID, idTokenOf(t, tok)); authTime(c).IsZero() {
		t.Fatal("no auth_time with max_age")
	}

	r := b.get(e.authURL("st", oauth2.GenerateVerifier(), map[string]string{"max_age": "300", "prompt": "none", "nonce": "n"}))
	if r.params.Get("error") != "login_required" {
		t.Fatalf("max_age exceeded under prompt=none: %v", r.params)
	}

	before = len(e.app.interactions())
	tok, _ = e.codeFlow(b, "alice", map[string]string{"max_age": "300"})
	got := e.app.interactions()[before:]
	if len(got) != 1 || got[0].reason != oidc.ReasonMaxAge {
		t.Fatalf("interactions %+v, want a login for max_age", got)
	}
	_, c := e.claimsOfIDToken(opRPID, idTokenOf(t, tok))
	if at := authTime(c); e.clock.Now().Sub(at) > 300*time.Second {
		t.Fatalf("auth_time %v is older than max_age at %v", at, e.clock.Now())
	}
	// max_age=0 is "authenticate now" every time.
	before = len(e.app.interactions())
	e.codeFlow(b, "alice", map[string]string{"max_age": "0"})
	e.clock.Advance(time.Second)
	e.codeFlow(b, "alice", map[string]string{"max_age": "0"})
	if got := e.app.interactions()[before:]; len(got) != 2 {
		t.Fatalf("max_age=0 asked for %d logins in 2 requests", len(got))
	}
}

// An id_token_hint naming another End-User than the one signed in is
// login_required under prompt=none, and otherwise asks for the login page
// for that reason; one naming the signed-in End-User proceeds silently.
func TestIDTokenHintOfAnotherUserIsLoginRequired(t *testing.T) {
	e := newOPEnv(t)
	bob, _ := e.codeFlow(e.browser(), "bob", nil)
	bobHint := idTokenOf(t, bob)
	b := e.browser()
	alice, _ := e.codeFlow(b, "alice", nil)
	aliceHint := idTokenOf(t, alice)

	r := b.get(e.authURL("st", oauth2.GenerateVerifier(), map[string]string{"prompt": "none", "nonce": "n", "id_token_hint": bobHint}))
	if r.params.Get("error") != "login_required" || r.params.Get("state") != "st" {
		t.Fatalf("hint of another user under prompt=none: %v", r.params)
	}
	// An expired hint still names its End-User (its expiry is ignored).
	e.clock.Advance(48 * time.Hour)
	before := len(e.app.interactions())
	r = b.get(e.authURL("st", oauth2.GenerateVerifier(), map[string]string{"nonce": "n", "id_token_hint": bobHint}))
	if r.page != "login" {
		t.Fatalf("hint of another user: ended %d %v %q", r.status, r.params, r.page)
	}
	if got := e.app.interactions()[before:]; len(got) != 1 || got[0].reason != oidc.ReasonOtherUser {
		t.Fatalf("interactions %+v", got)
	}
	// Signing in again as alice still is not the hint's End-User.
	r = b.post("/login", url.Values{"username": {"alice"}, "return": {r.ret}})
	if r.params.Get("error") != "login_required" {
		t.Fatalf("a login as another user than the hint's: %v", r.params)
	}
	r = b.get(e.authURL("st", oauth2.GenerateVerifier(), map[string]string{"prompt": "none", "nonce": "n", "id_token_hint": aliceHint}))
	if r.params.Get("code") == "" {
		t.Fatalf("hint of the signed-in user under prompt=none: %v", r.params)
	}
}

// A replayed code yields no second ID token: the exchange fails and the
// tokens of the first are revoked (RFC 6749 4.1.2).
func TestReplayedCodeYieldsNoSecondIDToken(t *testing.T) {
	e := newOPEnv(t)
	verifier := oauth2.GenerateVerifier()
	r := e.browser().authorize(e.authURL("st", verifier, map[string]string{"nonce": "n"}), "alice")
	code := r.params.Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {opRPRedirect}, "code_verifier": {verifier}}
	status, first := e.tokenPost(opRPID, form)
	if status != http.StatusOK || first["id_token"] == nil {
		t.Fatalf("first exchange %d %v", status, first)
	}
	status, second := e.tokenPost(opRPID, form)
	if status != http.StatusBadRequest || second["error"] != "invalid_grant" || second["id_token"] != nil || second["access_token"] != nil {
		t.Fatalf("replay %d %v", status, second)
	}
	resp, _ := e.userInfo(first["access_token"].(string))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the first exchange's access token still works after the replay: %d", resp.StatusCode)
	}
}

// userInfo calls the UserInfo endpoint with a bearer token.
func (e *opEnv) userInfo(token string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+server.PathUserInfo, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	sb.Write(buf[:n])
	return resp, sb.String()
}

// The claims request's id_token member puts those claims in the ID token,
// its userinfo member at the UserInfo endpoint (Core 5.5).
func TestClaimsRequestParameterIsHonoured(t *testing.T) {
	e := newOPEnv(t)
	e.rp.Scopes = []string{"openid"}
	tok, _ := e.codeFlow(e.browser(), "alice", map[string]string{
		"claims": `{"id_token":{"email":{"essential":true},"auth_time":{"essential":true}},"userinfo":{"name":null}}`,
	})
	_, c := e.claimsOfIDToken(opRPID, idTokenOf(t, tok))
	if c["email"] != "alice@example.com" || c["name"] != nil {
		t.Fatalf("ID token claims %v", c)
	}
	_, body := e.userInfo(tok.AccessToken)
	if !strings.Contains(body, `"name":"Alice Liddell"`) || strings.Contains(body, "email") {
		t.Fatalf("userinfo %s", body)
	}
}

// The pairwise sub of the ID token is the UserInfo endpoint's, and is not
// the user ID (Core 8.1, 5.3.2).
func TestPairwiseSubjectIsTheSameInTheIDTokenAndUserInfo(t *testing.T) {
	e := newOPEnv(t)
	e.rp.ClientID = "rp-pairwise"
	tok, _ := e.codeFlow(e.browser(), "alice", nil)
	idt, _ := e.claimsOfIDToken("rp-pairwise", idTokenOf(t, tok))
	info, err := e.provider().UserInfo(e.ctx(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	if idt.Subject == "alice" || info.Subject != idt.Subject {
		t.Fatalf("ID token sub %q, UserInfo sub %q", idt.Subject, info.Subject)
	}
}

// A code flow answered in form_post: an auto-submitting page whose only
// script is allowed by its hash in the Content-Security-Policy.
func TestFormPostResponseModePostsTheResponse(t *testing.T) {
	e := newOPEnv(t)
	r := e.browser().authorize(e.authURL("st&<x>", oauth2.GenerateVerifier(), map[string]string{"nonce": "n", "response_mode": "form_post"}), "alice")
	if r.mode != "form_post" || r.params.Get("code") == "" || r.params.Get("state") != "st&<x>" || r.params.Get("iss") != e.ts.URL {
		t.Fatalf("form_post ended %d %v %q", r.status, r.params, r.body)
	}
	h := r.resp.Header
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'sha256-") || !strings.Contains(csp, "default-src 'none'") ||
		!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
	if h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("headers %v", h)
	}
	if !strings.Contains(r.body, `action="`+opRPRedirect+`"`) || strings.Contains(r.body, "st&<x>") {
		t.Fatalf("page %s", r.body)
	}
	// The script the page runs is the one the CSP hash allows.
	start := strings.Index(r.body, "<script>") + len("<script>")
	end := strings.Index(r.body, "</script>")
	if start < len("<script>") || end < start || !strings.Contains(csp, scriptSHA256(r.body[start:end])) {
		t.Fatalf("the page's script is not the one its CSP allows: %q", r.body)
	}
	// An error is form-posted too, once the redirect URI is valid.
	r = e.browser().get(e.rawAuthURL(url.Values{"client_id": {opRPID}, "redirect_uri": {opRPRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "response_mode": {"form_post"}, "prompt": {"none"}, "state": {"s"}}))
	if r.mode != "form_post" || r.params.Get("error") != "login_required" || r.params.Get("state") != "s" {
		t.Fatalf("error in form_post: %d %v %q", r.status, r.params, r.body)
	}
}

// A requested response_mode=fragment puts even a code in the fragment.
func TestFragmentResponseModeForTheCodeFlow(t *testing.T) {
	e := newOPEnv(t)
	r := e.browser().authorize(e.authURL("st", oauth2.GenerateVerifier(), map[string]string{"nonce": "n", "response_mode": "fragment"}), "alice")
	if r.mode != "fragment" || r.params.Get("code") == "" || r.params.Get("state") != "st" {
		t.Fatalf("%d %s %v", r.status, r.mode, r.params)
	}
}

// A plain OAuth 2.0 request (no openid scope) at an OpenID Provider with
// a UserAuthenticationHandler: login and consent pages by the plain rules,
// no ID token, and OpenID Connect parameters ignored.
func TestOAuthRequestAtAnOpenIDProviderGetsNoIDToken(t *testing.T) {
	e := newOPEnv(t)
	e.rp.Scopes = []string{"email"}
	tok, _ := e.codeFlow(e.browser(), "alice", map[string]string{"prompt": "bogus", "max_age": "x"})
	if tok.Extra("id_token") != nil {
		t.Fatal("an ID token without the openid scope")
	}
	if got := e.app.interactions(); len(got) != 2 {
		t.Fatalf("interactions %+v", got)
	}
	resp, _ := e.userInfo(tok.AccessToken)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("UserInfo without openid: %d", resp.StatusCode)
	}
}

// Discovery advertises what the provider serves, consistent with the RFC
// 8414 document: with the implicit switch off, only code.
func TestDiscoveryOfTheProviderAdvertisesItsResponseTypesAndModes(t *testing.T) {
	e := newOPEnv(t)
	var doc struct {
		ResponseTypes []string `json:"response_types_supported"`
		ResponseModes []string `json:"response_modes_supported"`
		Issuer        string   `json:"issuer"`
	}
	if err := e.provider().Claims(&doc); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(doc.ResponseTypes, []string{"code"}) || !slices.Equal(doc.ResponseModes, []string{"query", "fragment", "form_post"}) {
		t.Fatalf("%+v", doc)
	}
	e2 := newOPEnv(t, func(e *opEnv) { e.srv.SetAllowedResponseType("code", "token") })
	if err := e2.provider().Claims(&doc); err != nil {
		t.Fatal(err)
	}
	want := []string{"code", "token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"}
	if !slices.Equal(doc.ResponseTypes, want) {
		t.Fatalf("response types %v, want %v", doc.ResponseTypes, want)
	}
}

// Only OpenID Connect grants, those the authorization endpoint read as
// OpenID Connect requests, get ID tokens at the token endpoint: not a code
// made without the endpoint (the seed's manual flow) nor the refresh of a
// password grant, even with the openid scope.
func TestOnlyOpenIDConnectGrantsGetIDTokensAtTheTokenEndpoint(t *testing.T) {
	e := newOPEnv(t, func(e *opEnv) {
		e.srv.SetAllowedGrantType(oauth2d.AuthorizationCode, oauth2d.Refreshing, oauth2d.PasswordCredentials)
		e.srv.SetPasswordAuthorizationHandler(func(_ context.Context, _, username, _ string) (string, error) { return username, nil })
	})
	client, err := e.mgr.GetClient(context.Background(), opRPID)
	if err != nil {
		t.Fatal(err)
	}
	code, err := e.mgr.GenerateAuthToken(context.Background(), oauth2d.Code, &oauth2d.TokenGenerateRequest{
		ClientID: opRPID, Client: client, UserID: "alice", RedirectURI: opRPRedirect, Scope: "openid",
		CodeChallenge: rfcChallenge, CodeChallengeMethod: oauth2d.CodeChallengeS256,
	})
	if err != nil {
		t.Fatal(err)
	}
	status, body := e.tokenPost(opRPID, url.Values{"grant_type": {"authorization_code"}, "code": {code.GetCode()},
		"redirect_uri": {opRPRedirect}, "code_verifier": {rfcVerifier}})
	if status != http.StatusOK || body["id_token"] != nil {
		t.Fatalf("unmarked code: %d %v", status, body)
	}
	status, body = e.tokenPost(opRPID, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"x"}, "scope": {"openid"}})
	if status != http.StatusOK || body["id_token"] != nil || body["refresh_token"] == nil {
		t.Fatalf("password grant: %d %v", status, body)
	}
	status, body = e.tokenPost(opRPID, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}})
	if status != http.StatusOK || body["id_token"] != nil {
		t.Fatalf("refresh of a password grant: %d %v", status, body)
	}
}
