package server_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/store"
)

// TestExtension_InTokenResponseAndJWT: extension data an application keeps
// with a grant (here an acr value chosen at the authorization endpoint)
// reaches the token response through the ExtensionFieldsHandler and the
// JWT access token through generates.WithExtensionClaims, at the code
// exchange and after a refresh.
func TestExtension_InTokenResponseAndJWT(t *testing.T) {
	e := newEnv(t)
	fs, err := store.OpenFileTokenStore(filepath.Join(t.TempDir(), "tokens.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	e.tokens.TokenStore = fs
	secret := []byte("a-test-hmac-secret-of-32-bytes!!")
	e.mgr.MapAccessGenerate(generates.NewJWTAccessGenerate(secret, jwt.SigningMethodHS256,
		generates.WithExtensionClaims("acr")))
	e.mgr.SetExtractExtensionHandler(func(tgr *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
		if tgr.Code == "" && tgr.Request != nil {
			ti.GetExtension().Set("acr", tgr.Request.URL.Query().Get("acr_values"))
		}
	})
	e.srv.SetExtensionFieldsHandler(func(ti oauth2.TokenInfo) map[string]any {
		if ext := ti.(oauth2.ExtendableTokenInfo).GetExtension(); ext.Has("acr") {
			return map[string]any{"acr": ext.Get("acr")}
		}
		return nil
	})

	q := url.Values{
		"response_type": {"code"}, "client_id": {confID}, "redirect_uri": {confRedirect},
		"code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"}, "acr_values": {"urn:example:mfa"},
	}
	w, err := e.authorize(q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_, params := redirectParams(t, w, false)
	check := func(what string, data map[string]any) {
		t.Helper()
		if data["acr"] != "urn:example:mfa" {
			t.Fatalf("%s: token response %v has no acr", what, data)
		}
		claims := jwt.MapClaims{}
		if _, err := jwt.ParseWithClaims(data["access_token"].(string), claims,
			func(*jwt.Token) (any, error) { return secret, nil }); err != nil {
			t.Fatal(err)
		}
		if claims["acr"] != "urn:example:mfa" {
			t.Fatalf("%s: JWT claims %v have no acr", what, claims)
		}
	}
	rw, data := e.token(tokenReq{
		body:  url.Values{"grant_type": {"authorization_code"}, "code": {params.Get("code")}, "redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier}}.Encode(),
		basic: basic(confID, confSecret),
	}.build())
	if rw.Code != http.StatusOK {
		t.Fatalf("code exchange: %d %v", rw.Code, data)
	}
	check("code exchange", data)
	rw, data = e.token(refreshReq(url.Values{"refresh_token": {data["refresh_token"].(string)}}))
	if rw.Code != http.StatusOK {
		t.Fatalf("refresh: %d %v", rw.Code, data)
	}
	check("refresh", data)
	ti, err := e.mgr.LoadAccessToken(context.Background(), data["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if ti.(oauth2.ExtendableTokenInfo).GetExtension().Get("acr") != "urn:example:mfa" {
		t.Fatal("the stored record lost its extension data")
	}
}
