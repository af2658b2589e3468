package server_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	oauth2d "github.com/oauth2d/oauth2"
)

// implicitEnv is a provider with the implicit switch on.
func implicitEnv(t *testing.T) *opEnv {
	return newOPEnv(t, func(e *opEnv) { e.srv.SetAllowedResponseType(oauth2d.Code, oauth2d.Token) })
}

// frontChannel runs an authorization request of responseType for the
// relying party, signed in as alice, and returns where it ended.
func (e *opEnv) frontChannel(b *browser, responseType string, extra url.Values) result {
	e.t.Helper()
	q := url.Values{"client_id": {opRPID}, "redirect_uri": {opRPRedirect}, "response_type": {responseType},
		"scope": {"openid email"}, "state": {"st"}}
	for k, v := range extra {
		q[k] = v
	}
	return b.authorize(e.rawAuthURL(q), "alice")
}

// cHash is the c_hash of code for RS256 (Core 3.3.2.11).
func cHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// The implicit and hybrid flows (Core 3.2, 3.3), once the implicit switch
// is on: each response type returns what it names in the fragment, the ID
// token with the nonce, at_hash for an access token and c_hash for a code,
// verified by go-oidc.
func TestImplicitAndHybridResponseTypesReturnWhatTheyName(t *testing.T) {
	e := implicitEnv(t)
	b := e.browser()
	e.codeFlow(b, "alice", nil) // sign in and consent once
	tests := []struct {
		responseType            string
		code, idToken, token    bool
		scopeClaimsInTheIDToken bool
	}{
		{responseType: "id_token", idToken: true, scopeClaimsInTheIDToken: true},
		{responseType: "id_token token", idToken: true, token: true},
		{responseType: "token id_token", idToken: true, token: true},
		{responseType: "code id_token", code: true, idToken: true},
		{responseType: "code token", code: true, token: true},
		{responseType: "code id_token token", code: true, idToken: true, token: true},
		{responseType: "token", token: true},
	}
	for _, tt := range tests {
		t.Run(tt.responseType, func(t *testing.T) {
			nonce := rand.Text()
			r := e.frontChannel(b, tt.responseType, url.Values{"nonce": {nonce}})
			if r.mode != "fragment" || r.params.Get("state") != "st" || r.params.Get("iss") != e.ts.URL {
				t.Fatalf("ended %d %s %v %q", r.status, r.mode, r.params, r.body)
			}
			if (r.params.Get("code") != "") != tt.code || (r.params.Get("id_token") != "") != tt.idToken ||
				(r.params.Get("access_token") != "") != tt.token {
				t.Fatalf("response %v", r.params)
			}
			if tt.token && (r.params.Get("token_type") != "Bearer" || r.params.Get("refresh_token") != "") {
				t.Fatalf("token response %v", r.params)
			}
			if !tt.idToken {
				return
			}
			idt, c := e.claimsOfIDToken(opRPID, r.params.Get("id_token"))
			if idt.Nonce != nonce {
				t.Fatalf("nonce %q", idt.Nonce)
			}
			if tt.token {
				if err := idt.VerifyAccessToken(r.params.Get("access_token")); err != nil {
					t.Fatalf("at_hash: %v", err)
				}
			} else if c["at_hash"] != nil {
				t.Fatalf("at_hash without an access token: %v", c)
			}
			if want := tt.code; want != (c["c_hash"] != nil) || (want && c["c_hash"] != cHash(r.params.Get("code"))) {
				t.Fatalf("c_hash %v for code %q", c["c_hash"], r.params.Get("code"))
			}
			// Core 5.4: the scope's claims go in the ID token only when no
			// access token is issued, now or for the code.
			if (c["email"] != nil) != tt.scopeClaimsInTheIDToken {
				t.Fatalf("email in the ID token: %v", c["email"])
			}
		})
	}
}

// The code of a hybrid response is redeemed for tokens and an ID token
// with the same nonce and sub (Core 3.3.3.6).
func TestHybridCodeIsRedeemedForAnIDTokenWithTheSameNonce(t *testing.T) {
	e := implicitEnv(t)
	verifier := oauth2.GenerateVerifier()
	r := e.frontChannel(e.browser(), "code id_token", url.Values{"nonce": {"n-hybrid"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}})
	front, _ := e.claimsOfIDToken(opRPID, r.params.Get("id_token"))
	tok, err := e.rp.Exchange(e.ctx(), r.params.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	back, _ := e.claimsOfIDToken(opRPID, idTokenOf(t, tok))
	if back.Nonce != "n-hybrid" || back.Subject != front.Subject {
		t.Fatalf("token endpoint ID token nonce %q sub %q, front %q", back.Nonce, back.Subject, front.Subject)
	}
}

// With the implicit switch off (the default) the implicit and hybrid
// response types are unsupported_response_type, redirected, nothing
// issued.
func TestImplicitAndHybridOnlyWhenEnabled(t *testing.T) {
	e := newOPEnv(t)
	b := e.browser()
	e.codeFlow(b, "alice", nil)
	writes := e.tokens.writes.Load()
	for _, rt := range []string{"id_token", "id_token token", "code id_token", "code token", "code id_token token", "token"} {
		r := e.frontChannel(b, rt, url.Values{"nonce": {"n"}})
		if r.status != http.StatusFound || r.params.Get("error") != "unsupported_response_type" || r.params.Get("state") != "st" {
			t.Fatalf("%s: %d %v", rt, r.status, r.params)
		}
		if r.params.Get("id_token") != "" || r.params.Get("access_token") != "" || r.params.Get("code") != "" {
			t.Fatalf("%s issued %v", rt, r.params)
		}
	}
	if n := e.tokens.writes.Load(); n != writes {
		t.Fatalf("%d records stored", n-writes)
	}
}

// Without a nonce the implicit and hybrid flows are invalid_request, in
// the fragment, with nothing issued (Core 3.2.2.1, 3.3.2.11).
func TestImplicitAndHybridRequireANonce(t *testing.T) {
	e := implicitEnv(t)
	b := e.browser()
	e.codeFlow(b, "alice", nil)
	writes := e.tokens.writes.Load()
	for _, rt := range []string{"id_token", "id_token token", "code id_token", "code token", "code id_token token"} {
		r := e.frontChannel(b, rt, nil)
		if r.mode != "fragment" || r.params.Get("error") != "invalid_request" || r.params.Get("state") != "st" {
			t.Fatalf("%s: %d %s %v", rt, r.status, r.mode, r.params)
		}
	}
	if n := e.tokens.writes.Load(); n != writes {
		t.Fatalf("%d records stored", n-writes)
	}
}

// A client whose registration does not have the implicit grant may use
// the code flow only (Dynamic Client Registration 1.0 2).
func TestHybridNeedsTheImplicitGrantInTheRegistration(t *testing.T) {
	e := implicitEnv(t)
	b := e.browser()
	q := url.Values{"client_id": {"rp-code-only"}, "redirect_uri": {opRPRedirect}, "response_type": {"code id_token"},
		"scope": {"openid"}, "state": {"st"}, "nonce": {"n"}}
	r := b.authorize(e.rawAuthURL(q), "alice")
	if r.params.Get("error") != "unauthorized_client" || r.params.Get("code") != "" {
		t.Fatalf("%d %v", r.status, r.params)
	}
}
