package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	oauth2d "github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/server"
)

// pushOIDC pushes params for the relying party (RFC 9126 2.1) and returns
// the request_uri.
func (e *opEnv) pushOIDC(params url.Values) string {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+server.PathPushedAuthorization, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(opRPID, opRPSecret)
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		e.t.Fatal(err)
	}
	uri, _ := body["request_uri"].(string)
	if resp.StatusCode != http.StatusCreated || uri == "" {
		e.t.Fatalf("push: %d %v", resp.StatusCode, body)
	}
	return uri
}

// An OpenID Connect request pushed first (RFC 9126) is served from its
// request_uri like one sent whole: the pages, the nonce in the ID token,
// and a request_uri that serves one response only.
func TestPushedOpenIDConnectRequestIsServedOnce(t *testing.T) {
	e := newOPEnv(t, func(e *opEnv) {
		e.srv.SetAllowedResponseType(oauth2d.Code, oauth2d.Token)
	})
	verifier := oauth2.GenerateVerifier()
	uri := e.pushOIDC(url.Values{"response_type": {"code"}, "redirect_uri": {opRPRedirect}, "scope": {"openid email"},
		"state": {"st"}, "nonce": {"n-pushed"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"}})
	b := e.browser()
	authURL := e.rawAuthURL(url.Values{"client_id": {opRPID}, "request_uri": {uri}})
	r := b.authorize(authURL, "alice")
	if r.params.Get("code") == "" || r.params.Get("state") != "st" {
		t.Fatalf("pushed request ended %d %v %q", r.status, r.params, r.body)
	}
	tok, err := e.rp.Exchange(e.ctx(), r.params.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if idt, _ := e.claimsOfIDToken(opRPID, idTokenOf(t, tok)); idt.Nonce != "n-pushed" {
		t.Fatalf("nonce %q", idt.Nonce)
	}
	if again := b.get(authURL); again.params.Get("code") != "" || again.status == http.StatusFound && again.params.Get("error") == "" {
		t.Fatalf("the request_uri served twice: %d %v", again.status, again.params)
	}

	// response_type id_token stores nothing, and still uses the pushed
	// request up.
	uri = e.pushOIDC(url.Values{"response_type": {"id_token"}, "redirect_uri": {opRPRedirect}, "scope": {"openid"},
		"state": {"st2"}, "nonce": {"n-2"}})
	authURL = e.rawAuthURL(url.Values{"client_id": {opRPID}, "request_uri": {uri}})
	r = b.get(authURL)
	if r.mode != "fragment" || r.params.Get("id_token") == "" || r.params.Get("state") != "st2" {
		t.Fatalf("pushed id_token request: %d %s %v", r.status, r.mode, r.params)
	}
	if again := b.get(authURL); again.params.Get("id_token") != "" {
		t.Fatalf("the request_uri of an id_token response served twice: %v", again.params)
	}
}
