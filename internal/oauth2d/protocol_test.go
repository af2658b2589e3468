package oauth2d

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauth2d/oauth2/internal/dpoptest"
)

// push sends a pushed authorization request (RFC 9126 2.1) of the test
// client for scope and state with the PKCE challenge of testVerifier, and
// returns its request_uri.
func push(t *testing.T, srv *testServer, scope, state string) string {
	t.Helper()
	resp, data := postEndpoint(t, srv, "/par", testClientID, testClientSecret, url.Values{
		"response_type": {"code"}, "redirect_uri": {testRedirect}, "scope": {scope}, "state": {state},
		"code_challenge": {testChallenge()}, "code_challenge_method": {"S256"},
	})
	uri, _ := data["request_uri"].(string)
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") || data["expires_in"] != float64(60) {
		t.Fatalf("push: %d %v", resp.StatusCode, data)
	}
	return uri
}

// parAuthorize is the authorization request of a pushed request.
func parAuthorize(requestURI string) string {
	return "/authorize?" + url.Values{"client_id": {testClientID}, "request_uri": {requestURI}}.Encode()
}

// TestPAR_PushedRequestResumesThroughLoginAndConsent pushes a request as
// the client, then walks the pages as a browser: the login and consent
// pages resume it with its client_id and request_uri alone (with PAR
// required, the pushed parameters sent openly would be refused), the
// consent page shows the pushed scope, the code is exchanged with a DPoP
// proof, and the request_uri cannot be used again. A request posted to
// /authorize resumes the same way.
func TestPAR_PushedRequestResumesThroughLoginAndConsent(t *testing.T) {
	cfg := testConfig(testRedirect)
	cfg.PAR.Required = true
	srv := startApp(t, cfg)

	md := metadata(t, srv)
	if md["pushed_authorization_request_endpoint"] != srv.URL+"/par" || md["require_pushed_authorization_requests"] != true {
		t.Fatalf("metadata: %v %v", md["pushed_authorization_request_endpoint"], md["require_pushed_authorization_requests"])
	}
	b := newBrowser(t, srv)
	// Not pushed: refused, to the client.
	resp, _ := b.get(authorizeURL(testRedirect, "read", "open"))
	if loc := b.expectRedirect(resp, http.StatusFound, testRedirect); !strings.Contains(loc, "error=invalid_request") {
		t.Fatalf("a request not pushed: %s", loc)
	}

	uri := push(t, srv, "read write", "st-par")
	authz := parAuthorize(uri)
	back := b.login(authz, testUsername, testPassword)
	if back != authz {
		t.Fatalf("the login page returns to %q, want the pushed request %q", back, authz)
	}
	resp, _ = b.get(back)
	consentURL := b.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")
	_, page := b.get(consentURL)
	if !strings.Contains(page, ">read<") || !strings.Contains(page, ">write<") {
		t.Fatalf("the consent page does not show the pushed scope:\n%s", page)
	}
	back = b.consent(back, "allow")
	if back != authz {
		t.Fatalf("the consent page returns to %q, want the pushed request %q", back, authz)
	}
	q := b.finish(back, testRedirect)
	if q.Get("code") == "" || q.Get("state") != "st-par" || q.Get("iss") != srv.URL {
		t.Fatalf("callback %v", redactQuery(q))
	}

	// The code, exchanged with a DPoP proof made with go-jose.
	prover := dpoptest.NewProver(jose.ES256)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader(url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testClientSecret)
	req.Header.Set("DPoP", prover.Proof(http.MethodPost, srv.URL+"/token", ""))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	if err := json.Unmarshal([]byte(readBody(t, resp)), &tok); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v %v", resp.StatusCode, tok, err)
	}
	if tok["token_type"] != "DPoP" || tok["scope"] != "read write" {
		t.Fatalf("token_type %v scope %v, want DPoP and the pushed scope", tok["token_type"], tok["scope"])
	}
	_, intro := postEndpoint(t, srv, "/introspect", testClientID, testClientSecret, url.Values{"token": {tok["access_token"].(string)}})
	if cnf, _ := intro["cnf"].(map[string]any); cnf["jkt"] != prover.Thumbprint() {
		t.Fatalf("introspection cnf %v, want jkt %s", intro["cnf"], prover.Thumbprint())
	}

	// Used up: shown to the user agent, not redirected.
	resp, body := b.get(authz)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "request_uri") {
		t.Fatalf("a used request_uri: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Posted to /authorize by another browser, with its own session:
	// sent to the login page with the request_uri, then served (the
	// user's consent to read and write is remembered).
	uri = push(t, srv, "read", "st-post")
	other := newBrowser(t, srv)
	resp, _ = other.post("/authorize", url.Values{"client_id": {testClientID}, "request_uri": {uri}})
	loginURL := other.expectRedirect(resp, http.StatusSeeOther, "/login?return=")
	lu, _ := url.Parse(loginURL)
	if ret := lu.Query().Get("return"); ret != parAuthorize(uri) {
		t.Fatalf("a posted pushed request returns to %q, want %q", ret, parAuthorize(uri))
	}
	resp, page = other.get(loginURL)
	resp, _ = other.post("/login", url.Values{"username": {testUsername}, "password": {testPassword},
		"csrf": {hiddenValue(t, page, "csrf")}, "return": {hiddenValue(t, page, "return")}})
	back = other.expectRedirect(resp, http.StatusSeeOther, "/authorize?")
	if q := other.finish(back, testRedirect); q.Get("code") == "" || q.Get("state") != "st-post" {
		t.Fatalf("posted pushed request: %v", redactQuery(q))
	}
}

// TestDPoP_StandaloneServerBindsTokensAndAsksForNonces gets tokens through
// golang.org/x/oauth2 with a transport that adds go-jose proofs and
// answers server nonces: the token is a DPoP token bound to the key, a
// client registered with dpop_bound_access_tokens is refused without a
// proof, and the metadata lists the algorithms.
func TestDPoP_StandaloneServerBindsTokensAndAsksForNonces(t *testing.T) {
	cfg := testConfig(testRedirect)
	cfg.DPoP.RequireNonce = true
	cfg.DPoP.Algorithms = []string{"ES256", "EdDSA"}
	cfg.Clients[0].DPoPBoundAccessTokens = true
	srv := startApp(t, cfg)
	if got := strs(metadata(t, srv)["dpop_signing_alg_values_supported"]); strings.Join(got, " ") != "ES256 EdDSA" {
		t.Fatalf("dpop_signing_alg_values_supported = %v", got)
	}
	cc := clientcredentials.Config{ClientID: testClientID, ClientSecret: testClientSecret, TokenURL: srv.URL + "/token",
		Scopes: []string{"read"}, AuthStyle: oauth2.AuthStyleInHeader}

	// Without a proof: refused.
	if _, err := cc.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "invalid_dpop_proof") {
		t.Fatalf("a dpop_bound_access_tokens client without a proof: %v", err)
	}
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA} {
		prover := dpoptest.NewProver(alg)
		tr := &dpoptest.Transport{Prover: prover}
		tok, err := cc.Token(oauth2ContextWith(t, &http.Client{Transport: tr}))
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if tok.TokenType != "DPoP" || tr.Proofs != 2 {
			t.Fatalf("%s: token_type %q after %d proofs, want DPoP after a nonce retry", alg, tok.TokenType, tr.Proofs)
		}
		_, intro := postEndpoint(t, srv, "/introspect", testClientID, testClientSecret, url.Values{"token": {tok.AccessToken}})
		if cnf, _ := intro["cnf"].(map[string]any); cnf["jkt"] != prover.Thumbprint() {
			t.Fatalf("%s: introspection cnf %v", alg, intro["cnf"])
		}
	}
	// An algorithm the server does not accept.
	tr := &dpoptest.Transport{Prover: dpoptest.NewProver(jose.PS256)}
	if _, err := cc.Token(oauth2ContextWith(t, &http.Client{Transport: tr})); err == nil || !strings.Contains(err.Error(), "invalid_dpop_proof") {
		t.Fatalf("a PS256 proof: %v", err)
	}
}

// TestResources_AudienceIsTheRegisteredResource asks for tokens with
// resource indicators (RFC 8707): a resource the client registered, or
// one the server allows every client, is the JWT's aud; another is
// invalid_target, and nothing is issued.
func TestResources_AudienceIsTheRegisteredResource(t *testing.T) {
	cfg := testConfig(testRedirect)
	cfg.AccessToken.Format = FormatJWT
	cfg.Resources = []string{"https://shared.example.com/"}
	cfg.Clients[0].Resources = []string{"https://api.example.com/v1"}
	srv := startApp(t, cfg)
	for _, res := range []string{"https://api.example.com/v1", "https://shared.example.com/"} {
		resp, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}, "resource": {res}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", res, resp.StatusCode, data)
		}
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(data["access_token"].(string), claims); err != nil || claims["aud"] != res {
			t.Fatalf("%s: aud %v (%v)", res, claims["aud"], err)
		}
	}
	for name, res := range map[string]string{"unregistered": "https://other.example.com/", "with a fragment": "https://api.example.com/v1#x", "relative": "/v1"} {
		resp, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}, "resource": {res}})
		if resp.StatusCode != http.StatusBadRequest || data["error"] != "invalid_target" || data["access_token"] != nil {
			t.Fatalf("%s resource: %d %v", name, resp.StatusCode, data)
		}
	}
}

// TestTokenExchange_StandaloneServerExchangesForAllowedAudiences exchanges
// a client's token for an audience on its token_exchange_audiences (RFC
// 8693), and is refused one that is not.
func TestTokenExchange_StandaloneServerExchangesForAllowedAudiences(t *testing.T) {
	cfg := testConfig(testRedirect)
	cfg.TokenExchange.Enabled = true
	cfg.Clients[0].GrantTypes = append(cfg.Clients[0].GrantTypes, "token_exchange")
	cfg.Clients[0].TokenExchangeAudiences = []string{"urn:example:backend"}
	srv := startApp(t, cfg)
	_, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read write"}})
	subject := data["access_token"].(string)
	exchange := func(audience string) (*http.Response, map[string]any) {
		return tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {subject},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {audience}, "scope": {"read"}})
	}
	resp, data := exchange("urn:example:backend")
	if resp.StatusCode != http.StatusOK || data["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || data["scope"] != "read" {
		t.Fatalf("exchange: %d %v", resp.StatusCode, data)
	}
	_, intro := postEndpoint(t, srv, "/introspect", testClientID, testClientSecret, url.Values{"token": {data["access_token"].(string)}})
	if intro["aud"] != "urn:example:backend" {
		t.Fatalf("exchanged token aud %v", intro["aud"])
	}
	resp, data = exchange("urn:example:elsewhere")
	if resp.StatusCode != http.StatusBadRequest || data["error"] != "invalid_target" {
		t.Fatalf("forbidden audience: %d %v", resp.StatusCode, data)
	}
}

// oauth2ContextWith is the test's context carrying hc as the HTTP client of
// golang.org/x/oauth2.
func oauth2ContextWith(t *testing.T, hc *http.Client) context.Context {
	return context.WithValue(t.Context(), oauth2.HTTPClient, hc)
}

// TestAuthorize_MalformedFormIsStillRefused checks that reading the form
// before the server (for a pushed request's request_uri) leaves a form
// that does not parse for the server to refuse, in the query or the body.
func TestAuthorize_MalformedFormIsStillRefused(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	b := newBrowser(t, srv)
	good := url.Values{"client_id": {testClientID}, "response_type": {"code"}, "redirect_uri": {testRedirect}}.Encode()
	for name, send := range map[string]func() (*http.Response, string){
		"query": func() (*http.Response, string) { return b.get("/authorize?" + good + "&state=%zz") },
		"body": func() (*http.Response, string) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/authorize", strings.NewReader(good+"&state=%zz"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp, readBody(t, resp)
		},
		"body too large": func() (*http.Response, string) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/authorize", strings.NewReader(good+"&x="+strings.Repeat("a", 70<<10)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp, readBody(t, resp)
		},
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := send()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "not valid UTF-8 form encoding") {
				t.Fatalf("%d %q %q", resp.StatusCode, resp.Header.Get("Location"), body)
			}
		})
	}
}

// TestDPoP_ResourceRequestHTUIsTheIssuersURL checks the htu the server
// expects of a resource request's proof (the UserInfo endpoint's, RFC 9449
// 7): the issuer, path included, followed by the path the handler sees,
// whatever the Host header says. A proof for the URL without the issuer's
// path is refused.
func TestDPoP_ResourceRequestHTUIsTheIssuersURL(t *testing.T) {
	cfg := testConfig(testRedirect)
	srv := serveApp(t, func() Config {
		cfg.Issuer = "https://as.example.com/tenant"
		return cfg
	}())
	prover := dpoptest.NewProver(jose.ES256)
	req := httptest.NewRequest(http.MethodPost, "/tenant/token", strings.NewReader("grant_type=client_credentials&scope=read"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testClientSecret)
	req.Header.Set("DPoP", prover.Proof(http.MethodPost, "https://as.example.com/tenant/token", ""))
	w := httptest.NewRecorder()
	srv.App.Handler().ServeHTTP(w, req)
	var tok map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || w.Code != http.StatusOK || tok["token_type"] != "DPoP" {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	at := tok["access_token"].(string)
	for htu, ok := range map[string]bool{
		"https://as.example.com/tenant/userinfo": true,
		"https://as.example.com/userinfo":        false,
		"http://internal:9096/userinfo":          false,
	} {
		// As a handler under the issuer's path sees it: stripped.
		r := httptest.NewRequest(http.MethodGet, "/userinfo", nil)
		r.Host = "internal:9096"
		r.Header.Set("Authorization", "DPoP "+at)
		r.Header.Set("DPoP", prover.Proof(http.MethodGet, htu, at))
		ti, err := srv.App.server.ValidateResourceRequest(nil, r)
		if (err == nil) != ok || (ok && ti.GetClientID() != testClientID) {
			t.Errorf("htu %s: %v, want accepted %v", htu, err, ok)
		}
	}
}

// TestTokenExchange_IDTokenOfThisIssuerIsASubjectToken checks that oauth2d
// accepts an ID token it issued as a token exchange's subject_token (RFC
// 8693 3, urn:ietf:params:oauth:token-type:id_token): the exchanged access
// token is the End-User's, for the allowed audience; a forged ID token is
// refused and issues nothing.
func TestTokenExchange_IDTokenOfThisIssuerIsASubjectToken(t *testing.T) {
	cfg := oidcConfig()
	cfg.TokenExchange.Enabled = true
	cfg.Clients[0].GrantTypes = append(cfg.Clients[0].GrantTypes, "token_exchange")
	cfg.Clients[0].TokenExchangeAudiences = []string{"urn:example:backend"}
	srv := startApp(t, cfg)
	b := newBrowser(t, srv)
	idToken := signInForHint(t, b)
	exchange := func(subject string) (*http.Response, map[string]any) {
		return tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {subject},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"}, "audience": {"urn:example:backend"}})
	}
	resp, data := exchange(idToken)
	if resp.StatusCode != http.StatusOK || data["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" {
		t.Fatalf("exchange of an ID token: %d %v", resp.StatusCode, data)
	}
	_, intro := postEndpoint(t, srv, "/introspect", testClientID, testClientSecret, url.Values{"token": {data["access_token"].(string)}})
	if intro["active"] != true || intro["aud"] != "urn:example:backend" || intro["sub"] == nil {
		t.Fatalf("exchanged token: %v", intro)
	}
	forged := idToken[:len(idToken)-4] + "AAAA"
	if resp, data := exchange(forged); resp.StatusCode != http.StatusBadRequest || data["error"] != "invalid_request" {
		t.Fatalf("forged ID token: %d %v", resp.StatusCode, data)
	}
}
