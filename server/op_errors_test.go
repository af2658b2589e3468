package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	oautherrors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
)

// hintFrom returns an ID token for alice made by gen, as an id_token_hint.
func hintFrom(t *testing.T, gen *generates.JWTIDTokenGenerate) string {
	t.Helper()
	raw, err := gen.IDToken(context.Background(), &generates.IDTokenRequest{
		Client:    &models.Client{ID: opRPID},
		TokenInfo: &models.Token{ClientID: opRPID, UserID: "alice", Scope: "openid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Every bad authentication request gets the error of the specification:
// shown to the user agent while the client and redirect URI are not
// validated (RFC 6749 4.1.2.1), redirected with state and iss (RFC 9207)
// in the response mode of the request after; the application is not
// asked anything and nothing is stored.
func TestAuthenticationRequestErrors(t *testing.T) {
	e := implicitEnv(t)
	otherKeys := generates.NewKeySet()
	k, err := generates.GenerateSigningKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	if err := otherKeys.Add(generates.SigningKey{Method: jwt.SigningMethodES256, Key: k}, true); err != nil {
		t.Fatal(err)
	}
	otherKeyGen, err := generates.NewJWTIDTokenGenerate(otherKeys, e.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	otherIssuerGen, err := generates.NewJWTIDTokenGenerate(e.ks, "https://other.example.com")
	if err != nil {
		t.Fatal(err)
	}
	valid := url.Values{"client_id": {opRPID}, "redirect_uri": {opRPRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st"}, "nonce": {"n"}}
	with := func(kv ...string) url.Values {
		q := url.Values{}
		for k, v := range valid {
			q[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(q, kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	tests := []struct {
		name  string
		query url.Values
		raw   string // appended to the encoded query
		code  string
		mode  string // "" for an error shown at the provider
	}{
		// Shown, never redirected: the client or redirect URI is not valid.
		{name: "unknown client under prompt=none", query: with("client_id", "nobody", "prompt", "none"), code: "invalid_request"},
		{name: "unregistered redirect_uri of an implicit request", query: with("redirect_uri", "https://evil.test/cb", "response_type", "id_token"), code: "invalid_request"},
		{name: "no client_id with a request object", query: with("client_id", "", "request", "eyJhbGciOiJub25lIn0.e30."), code: "invalid_request"},
		// Redirected.
		{name: "request object (Core 6)", query: with("request", "eyJhbGciOiJub25lIn0.e30."), code: "request_not_supported", mode: "query"},
		{name: "request_uri (Core 6)", query: with("request_uri", "https://rp.test/req"), code: "request_uri_not_supported", mode: "query"},
		{name: "no nonce for response_type id_token", query: with("response_type", "id_token", "nonce", ""), code: "invalid_request", mode: "fragment"},
		{name: "no nonce for code id_token", query: with("response_type", "code id_token", "nonce", ""), code: "invalid_request", mode: "fragment"},
		{name: "id_token_hint signed by another key", query: with("id_token_hint", hintFrom(t, otherKeyGen)), code: "invalid_request", mode: "query"},
		{name: "id_token_hint of another issuer", query: with("id_token_hint", hintFrom(t, otherIssuerGen)), code: "invalid_request", mode: "query"},
		{name: "id_token_hint that is no JWT", query: with("id_token_hint", "not-a-jwt"), code: "invalid_request", mode: "query"},
		{name: "claims that is not JSON", query: with("claims", "{id_token:"), code: "invalid_request", mode: "query"},
		{name: "claims that is huge", query: with("claims", `{"userinfo":{"`+strings.Repeat("x", 40000)+`":null}}`), code: "invalid_request", mode: "query"},
		{name: "max_age that is not a number", query: with("max_age", "ten"), code: "invalid_request", mode: "query"},
		{name: "max_age negative", query: with("max_age", "-1"), code: "invalid_request", mode: "query"},
		{name: "prompt=none login", query: with("prompt", "none login"), code: "invalid_request", mode: "query"},
		{name: "unknown prompt value", query: with("prompt", "later"), code: "invalid_request", mode: "query"},
		{name: "nonce sent twice", query: with(), raw: "&nonce=again", code: "invalid_request", mode: "query"},
		{name: "nonce too long", query: with("nonce", strings.Repeat("n", 600)), code: "invalid_request", mode: "query"},
		{name: "response_mode query for id_token", query: with("response_type", "id_token", "response_mode", "query"), code: "invalid_request", mode: "fragment"},
		{name: "unknown response_mode", query: with("response_mode", "jwt"), code: "invalid_request", mode: "query"},
		{name: "id_token without the openid scope", query: with("response_type", "id_token", "scope", "email"), code: "invalid_request", mode: "fragment"},
		{name: "unknown response_type value", query: with("response_type", "code id_token bogus"), code: "unsupported_response_type", mode: "query"},
		{name: "response_type value repeated", query: with("response_type", "code code"), code: "unsupported_response_type", mode: "query"},
		{name: "error in the form_post asked for", query: with("request", "x", "response_mode", "form_post"), code: "request_not_supported", mode: "form_post"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writes, calls := e.tokens.writes.Load(), e.app.calls.Load()
			r := e.browser().get(e.ts.URL + "/authorize?" + tt.query.Encode() + tt.raw)
			if tt.mode == "" {
				if r.status != http.StatusBadRequest || r.resp.Header.Get("Location") != "" || !strings.Contains(r.body, tt.code) {
					t.Fatalf("want %s shown: %d %q %v", tt.code, r.status, r.body, r.params)
				}
			} else {
				if r.mode != tt.mode || r.params.Get("error") != tt.code || r.params.Get("state") != "st" || r.params.Get("iss") != e.ts.URL {
					t.Fatalf("want %s in the %s: %d %s %v %q", tt.code, tt.mode, r.status, r.mode, r.params, r.body)
				}
				if r.params.Get("code") != "" || r.params.Get("id_token") != "" || r.params.Get("access_token") != "" {
					t.Fatalf("issued %v", r.params)
				}
				if desc := r.params.Get("error_description"); strings.Contains(desc, "eyJ") || len(desc) > 200 {
					t.Fatalf("the description quotes the request: %q", desc)
				}
			}
			if n := e.tokens.writes.Load() - writes; n != 0 {
				t.Fatalf("%d records stored", n)
			}
			if n := e.app.calls.Load() - calls; n != 0 {
				t.Fatalf("the application was asked %d times", n)
			}
		})
	}
}

// A UserAuthenticationHandler that writes a page when asked only who is
// signed in fails the request with server_error, so that prompt=none never
// shows anything.
func TestUserAuthenticationHandlerMustNotWriteWhenAskedWhoIsSignedIn(t *testing.T) {
	e := newOPEnv(t, func(e *opEnv) {
		e.srv.SetUserAuthenticationHandler(func(w http.ResponseWriter, r *http.Request, req *server.AuthorizeRequest) (*server.Authentication, error) {
			http.Redirect(w, r, "/login", http.StatusFound)
			return nil, nil
		})
	})
	r := e.browser().get(e.authURL("st", "verifier-verifier-verifier-verifier-verifier", map[string]string{"prompt": "none", "nonce": "n"}))
	if r.params.Get("error") != "server_error" || r.params.Get("state") != "st" {
		t.Fatalf("%d %v %q", r.status, r.params, r.body)
	}
}

// The handler's errors go to the client, and a granted scope outside the
// requested one is the application's bug: server_error.
func TestUserAuthenticationHandlerErrorsAndScope(t *testing.T) {
	var answer func() (*server.Authentication, error)
	e := newOPEnv(t, func(e *opEnv) {
		e.srv.SetUserAuthenticationHandler(func(w http.ResponseWriter, r *http.Request, req *server.AuthorizeRequest) (*server.Authentication, error) {
			return answer()
		})
	})
	tests := []struct {
		name   string
		answer func() (*server.Authentication, error)
		code   string
		scope  string
	}{
		{"a failure of the application is server_error", func() (*server.Authentication, error) {
			return nil, errors.New("session store: connection refused")
		}, "server_error", ""},
		{"a refusal on the consent page is access_denied", func() (*server.Authentication, error) {
			return nil, oautherrors.ErrAccessDenied
		}, "access_denied", ""},
		{"a scope outside the request", func() (*server.Authentication, error) {
			return &server.Authentication{UserID: "alice", Consented: true, Scope: "openid admin"}, nil
		}, "server_error", ""},
		{"a narrower scope keeps openid", func() (*server.Authentication, error) {
			return &server.Authentication{UserID: "alice", Consented: true, Scope: "email"}, nil
		}, "", "openid email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer = tt.answer
			verifier := "verifier-verifier-verifier-verifier-verifier"
			r := e.browser().get(e.authURL("st", verifier, map[string]string{"nonce": "n"}))
			if r.params.Get("error") != tt.code {
				t.Fatalf("%d %v", r.status, r.params)
			}
			if tt.scope == "" {
				return
			}
			tok, err := e.rp.Exchange(e.ctx(), r.params.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil || tok.Extra("scope") != tt.scope || tok.Extra("id_token") == nil {
				t.Fatalf("%v scope %v", err, tok.Extra("scope"))
			}
		})
	}
}

// The seed's UserAuthorizationHandler still serves OpenID Connect requests
// (an ID token without auth_time), and what it cannot promise is refused:
// prompt=none is interaction_required, prompt=login and max_age
// login_required, an id_token_hint of another user login_required.
func TestSeedUserAuthorizationHandlerWithOpenIDConnect(t *testing.T) {
	e := newOPEnv(t, func(e *opEnv) {
		e.srv.UserAuthenticationHandler = nil
		e.srv.SetUserAuthorizationHandler(func(w http.ResponseWriter, r *http.Request) (string, error) { return "alice", nil })
	})
	tok, _ := e.codeFlow(e.browser(), "alice", nil)
	_, c := e.claimsOfIDToken(opRPID, idTokenOf(t, tok))
	if c["sub"] != "alice" || c["auth_time"] != nil {
		t.Fatalf("claims %v", c)
	}
	bobGen, err := generates.NewJWTIDTokenGenerate(e.ks, e.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	bobHint, err := bobGen.IDToken(context.Background(), &generates.IDTokenRequest{
		Client: &models.Client{ID: opRPID}, TokenInfo: &models.Token{ClientID: opRPID, UserID: "bob", Scope: "openid"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		param, value, code string
	}{
		{"prompt", "none", "interaction_required"},
		{"prompt", "login", "login_required"},
		{"max_age", "60", "login_required"},
		{"id_token_hint", bobHint, "login_required"},
	} {
		r := e.browser().get(e.authURL("st", "verifier-verifier-verifier-verifier-verifier", map[string]string{"nonce": "n", tt.param: tt.value}))
		if r.params.Get("error") != tt.code || r.params.Get("state") != "st" {
			t.Fatalf("%s=%s: %v", tt.param, tt.value, r.params)
		}
	}
}

// When the ID token cannot be signed after the tokens are stored (here:
// the client asks for an algorithm no key has), the tokens are revoked and
// the client gets server_error, no token.
func TestIDTokenSigningFailureLeavesNothingUsable(t *testing.T) {
	e := newOPEnv(t)
	e.rp.ClientID = "rp-es512"
	verifier := "verifier-verifier-verifier-verifier-verifier"
	r := e.browser().authorize(e.authURL("st", verifier, map[string]string{"nonce": "n"}), "alice")
	status, body := e.tokenPost("rp-es512", url.Values{"grant_type": {"authorization_code"}, "code": {r.params.Get("code")},
		"redirect_uri": {opRPRedirect}, "code_verifier": {verifier}})
	if status != http.StatusInternalServerError || body["error"] != "server_error" || body["access_token"] != nil {
		t.Fatalf("%d %v", status, body)
	}
	// The exchange stored tokens before the signature failed: they are
	// revoked, the whole grant with them.
	issued := e.tokens.lastIssued()
	if issued == nil || issued.GetAccess() == "" || issued.GetRefresh() == "" {
		t.Fatalf("no exchange stored: %v", issued)
	}
	if _, err := e.mgr.LoadAccessToken(context.Background(), issued.GetAccess()); err == nil {
		t.Fatal("the access token of the failed exchange is live")
	}
	if _, err := e.mgr.LoadRefreshToken(context.Background(), issued.GetRefresh()); err == nil {
		t.Fatal("the refresh token of the failed exchange is live")
	}
}
