package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkPAR_RoundTrip is one authorization through a pushed request
// (RFC 9126), in process over the memory store: the push with Basic
// authentication, /authorize with client_id and request_uri (the code
// issued and the request used up), and the code exchanged with its PKCE
// verifier.
func BenchmarkPAR_RoundTrip(b *testing.B) {
	e := newEnv(b)
	e.mgr.MapTokenStorage(e.tokens.TokenStore)
	e.srv.Config.Issuer = issuer
	push := url.Values{"response_type": {"code"}, "redirect_uri": {confRedirect}, "scope": {"read"}, "state": {"s"},
		"code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/par", strings.NewReader(push))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(confID, confSecret)
		w := httptest.NewRecorder()
		_ = e.srv.HandlePushedAuthorizationRequest(w, r)
		var pushed struct {
			RequestURI string `json:"request_uri"`
		}
		if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &pushed) != nil {
			b.Fatalf("push: %d %s", w.Code, w.Body)
		}
		r = httptest.NewRequest(http.MethodGet, "/authorize?"+url.Values{"client_id": {confID}, "request_uri": {pushed.RequestURI}}.Encode(), nil)
		w = httptest.NewRecorder()
		_ = e.srv.HandleAuthorizeRequest(w, r)
		loc, _ := url.Parse(w.Header().Get("Location"))
		code := loc.Query().Get("code")
		if code == "" {
			b.Fatalf("authorize: %d %s", w.Code, w.Header())
		}
		r = httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(confID, confSecret)
		w = httptest.NewRecorder()
		_ = e.srv.HandleTokenRequest(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("token: %d %s", w.Code, w.Body)
		}
	}
}
