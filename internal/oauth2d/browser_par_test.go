package oauth2d

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/oauth2d/oauth2/internal/dpoptest"
)

// TestBrowser_PushedAuthorizationRequestWithDPoP pushes an authorization
// request as the client would (RFC 9126 2.1), with a DPoP proof that binds
// its code to the client's key (RFC 9449 10.1); headless Chromium then
// follows /authorize?client_id&request_uri through the login and consent
// pages to the client's redirect URI with the code, which
// golang.org/x/oauth2 exchanges with proofs that go-jose signs. PAR is
// required, so every page must resume the request with its request_uri.
func TestBrowser_PushedAuthorizationRequestWithDPoP(t *testing.T) {
	tb := newTab(t)
	ctx, save, do, text := tb.ctx, tb.save, tb.do, tb.text
	cb := newCallback(t)
	cfg := testConfig(cb.URL + "/callback")
	cfg.PAR.Required = true
	cfg.Clients[0].DPoPBoundAccessTokens = true
	srv := startApp(t, cfg)

	// The client pushes its request, with a proof of its DPoP key.
	prover := dpoptest.NewProver(jose.ES256)
	verifier := oauth2.GenerateVerifier()
	pushed := url.Values{
		"response_type": {"code"}, "redirect_uri": {cb.URL + "/callback"}, "scope": {"read write"}, "state": {"state-par"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/par", strings.NewReader(pushed.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testClientSecret)
	req.Header.Set("DPoP", prover.Proof(http.MethodPost, srv.URL+"/par", ""))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var par struct {
		RequestURI string `json:"request_uri"`
	}
	if err := jsonBody(resp, &par); err != nil || resp.StatusCode != http.StatusCreated || par.RequestURI == "" {
		t.Fatalf("push: %d %v", resp.StatusCode, err)
	}

	// The browser follows the authorization request of the request_uri.
	authorize := srv.URL + parAuthorize(par.RequestURI)
	do("open the pushed request", chromedp.Navigate(authorize), chromedp.WaitVisible(chromedp.ID("username")))
	save("par-login.png")
	do("sign in",
		chromedp.SendKeys(chromedp.ID("username"), testUsername),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	if got := text(".scopes"); !strings.Contains(got, "read") || !strings.Contains(got, "write") {
		t.Fatalf("the consent page shows scopes %q, not the pushed read and write", got)
	}
	if got := text("h1"); !strings.Contains(got, testClientID) {
		t.Fatalf("consent heading %q does not name the client", got)
	}
	save("par-consent.png")
	do("allow", chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
	q := cb.wait(t)
	do("load the client's page", chromedp.WaitVisible(chromedp.ID("done")))
	if q.Get("code") == "" || q.Get("state") != "state-par" || q.Get("iss") != srv.URL {
		t.Fatalf("callback %v", redactQuery(q))
	}

	conf := &oauth2.Config{ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: cb.URL + "/callback",
		Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	exchange := func(p *dpoptest.Prover) (*oauth2.Token, error) {
		hc := &http.Client{Transport: &dpoptest.Transport{Prover: p}}
		return conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), q.Get("code"), oauth2.VerifierOption(verifier))
	}
	// The code is bound to the key of the push: a proof of another key
	// is refused, and does not use the code up.
	if _, err := exchange(dpoptest.NewProver(jose.ES256)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("exchange with another key: %v", err)
	}
	tok, err := exchange(prover)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.TokenType != "DPoP" || tok.AccessToken == "" || tok.Extra("scope") != "read write" {
		t.Fatalf("token_type %q scope %v", tok.TokenType, tok.Extra("scope"))
	}

	// The request_uri served once.
	do("open the pushed request again", chromedp.Navigate(authorize), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := text(".lead"); !strings.Contains(got, "request_uri") {
		t.Fatalf("a used request_uri shows %q", got)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasPrefix(loc, srv.URL+"/authorize?") {
		t.Fatalf("the browser left the server: %q %v", loc, err)
	}
	save("par-used.png")
}

// jsonBody decodes the JSON body of resp into v and closes it.
func jsonBody(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
