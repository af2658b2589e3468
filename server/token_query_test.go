package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/server"
)

// TestToken_ParametersInTheQueryAreRefused: on a POST every parameter the
// token endpoint reads comes from the body (RFC 6749 3.2, 2.3.1): a code,
// refresh token, verifier, password, device code, scope, client credential
// or client assertion in the query string, which ends up in logs, is
// invalid_request, and nothing is consumed or issued. A query of the
// endpoint URI's own that the server does not read is allowed (RFC 6749
// 3.2), and so is everything in the query of a GET when
// Config.AllowGetAccessRequest is set.
func TestToken_ParametersInTheQueryAreRefused(t *testing.T) {
	type fixture struct {
		code, refresh string
	}
	tests := []struct {
		name       string
		body       func(f fixture) url.Values
		query      func(f fixture) url.Values
		basic      bool
		wantStatus int
	}{
		{"code in the query",
			func(f fixture) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier}}
			},
			func(f fixture) url.Values { return url.Values{"code": {f.code}} }, true, 400},
		{"code_verifier in the query",
			func(f fixture) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {f.code}, "redirect_uri": {confRedirect}}
			},
			func(f fixture) url.Values { return url.Values{"code_verifier": {rfcVerifier}} }, true, 400},
		{"redirect_uri in the query",
			func(f fixture) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {f.code}, "code_verifier": {rfcVerifier}}
			},
			func(f fixture) url.Values { return url.Values{"redirect_uri": {confRedirect}} }, true, 400},
		{"refresh_token in the query",
			func(f fixture) url.Values { return url.Values{"grant_type": {"refresh_token"}} },
			func(f fixture) url.Values { return url.Values{"refresh_token": {f.refresh}} }, true, 400},
		{"scope in the query",
			func(fixture) url.Values { return url.Values{"grant_type": {"client_credentials"}} },
			func(fixture) url.Values { return url.Values{"scope": {"read"}} }, true, 400},
		{"client_secret in the query",
			func(fixture) url.Values {
				return url.Values{"grant_type": {"client_credentials"}, "client_id": {confID}}
			},
			func(fixture) url.Values { return url.Values{"client_secret": {confSecret}} }, false, 400},
		{"client_id in the query",
			func(fixture) url.Values {
				return url.Values{"grant_type": {"client_credentials"}, "client_secret": {confSecret}}
			},
			func(fixture) url.Values { return url.Values{"client_id": {confID}} }, false, 400},
		{"client_id of a Basic request in the query",
			func(fixture) url.Values { return url.Values{"grant_type": {"client_credentials"}} },
			func(fixture) url.Values { return url.Values{"client_id": {confID}} }, true, 400},
		{"client assertion in the query",
			func(fixture) url.Values { return url.Values{"grant_type": {"client_credentials"}} },
			func(fixture) url.Values {
				return url.Values{"client_assertion_type": {server.ClientAssertionTypeJWTBearer}, "client_assertion": {"a.b.c"}}
			}, false, 400},
		{"grant_type and a query of the endpoint's own",
			func(fixture) url.Values { return url.Values{"scope": {"read"}} },
			func(fixture) url.Values { return url.Values{"grant_type": {"client_credentials"}, "tenant": {"t1"}} }, true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rec := &authRecorder{}
			e.srv.SetClientAuthHandler(rec.handler)
			var f fixture
			_, f.refresh = e.codeGrant(t, confID, confRedirect)
			f.code = e.authCode(t, confID, confRedirect, "read")
			rec.events = nil
			before := e.issued()

			req := tokenReq{body: tt.body(f).Encode(), query: tt.query(f).Encode()}
			if tt.basic {
				req.basic = basic(confID, confSecret)
			}
			w, data := e.token(req.build())
			checkTokenHeaders(t, w)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", w.Code, tt.wantStatus, data)
			}
			if tt.wantStatus == 200 {
				return
			}
			if data["error"] != "invalid_request" || data["access_token"] != nil || e.issued() != before {
				t.Fatalf("got %v, issued %d", data, e.issued()-before)
			}
			// Nothing was consumed: the code and the refresh token still
			// work from the body.
			ok, _ := e.token(tokenReq{basic: basic(confID, confSecret), body: url.Values{
				"grant_type": {"authorization_code"}, "code": {f.code}, "redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier},
			}.Encode()}.build())
			if ok.Code != http.StatusOK || !e.refreshLive(f.refresh) {
				t.Fatalf("the refused request consumed the code (%d) or the refresh token", ok.Code)
			}
		})
	}
}

// TestToken_PasswordAndDeviceCodeInTheQueryAreRefused covers the
// parameters of the password and device grants.
func TestToken_PasswordAndDeviceCodeInTheQueryAreRefused(t *testing.T) {
	e := newDeviceEnv(t)
	e.srv.SetAllowedGrantType(oauth2.PasswordCredentials, oauth2.DeviceCode)
	checked := 0
	e.srv.SetPasswordAuthorizationHandler(func(context.Context, string, string, string) (string, error) {
		checked++
		return "u1", nil
	})
	da := e.authorizeDevice("read")
	for _, tt := range []struct{ body, query url.Values }{
		{url.Values{"grant_type": {"password"}, "username": {"u1"}}, url.Values{"password": {"pw"}}},
		{url.Values{"grant_type": {string(oauth2.DeviceCode)}, "client_id": {tvID}}, url.Values{"device_code": {da.DeviceCode}}},
	} {
		req := tokenReq{body: tt.body.Encode(), query: tt.query.Encode()}
		if tt.body.Get("grant_type") == "password" {
			req.basic = basic(confID, confSecret)
		}
		w, data := e.token(req.build())
		if w.Code != http.StatusBadRequest || data["error"] != "invalid_request" {
			t.Fatalf("%v in the query: %d %v", tt.query, w.Code, data)
		}
	}
	if checked != 0 {
		t.Fatalf("the password was checked %d times", checked)
	}
}

// TestToken_GetRequestReadsTheQueryWhenAllowed: with
// Config.AllowGetAccessRequest, as the seed's Quick Start sets it, a GET
// takes every parameter from the query.
func TestToken_GetRequestReadsTheQueryWhenAllowed(t *testing.T) {
	e := newEnv(t)
	e.srv.SetAllowGetAccessRequest(true)
	q := url.Values{"grant_type": {"client_credentials"}, "client_id": {confID}, "client_secret": {confSecret}, "scope": {"read"}}
	w, data := e.token(tokenReq{method: http.MethodGet, query: q.Encode()}.build())
	if w.Code != http.StatusOK || data["scope"] != "read" {
		t.Fatalf("%d %v", w.Code, data)
	}
	// A POST is still read from its body only.
	w, data = e.token(tokenReq{body: "grant_type=client_credentials", query: "client_id=" + confID + "&client_secret=" + url.QueryEscape(confSecret)}.build())
	if w.Code != http.StatusBadRequest || data["error"] != "invalid_request" {
		t.Fatalf("POST with credentials in the query: %d %v", w.Code, data)
	}
}

// TestClientAuthentication_AssertionInTheQueryIsRefusedAtEveryEndpoint:
// the revocation, introspection and device authorization endpoints read
// client credentials as the token endpoint does.
func TestClientAuthentication_AssertionInTheQueryIsRefusedAtEveryEndpoint(t *testing.T) {
	k := testKeys()
	for _, ep := range hookEndpoints() {
		t.Run(ep.name, func(t *testing.T) {
			e := assertionEnv(t)
			e.srv.SetAllowedGrantType(oauth2.ClientCredentials, oauth2.DeviceCode)
			e.srv.Config.Device.VerificationURI = issuer + "/device"
			assertion := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claimsFor(pkID))
			q := url.Values{"client_assertion_type": {server.ClientAssertionTypeJWTBearer}, "client_assertion": {assertion}}
			w := ep.call(e, tokenReq{body: ep.body(e), query: q.Encode()}.build())
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			// The same assertion from the body is accepted: it was not
			// spent by the refused request.
			body := ep.body(e) + "&" + q.Encode()
			if w := ep.call(e, tokenReq{body: body}.build()); w.Code != ep.ok {
				t.Fatalf("from the body: status %d: %s", w.Code, w.Body)
			}
		})
	}
}
