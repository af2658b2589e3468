package server_test

import (
	"context"
	stderrors "errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	oauth2d "github.com/oauth2d/oauth2"
)

// serve runs the endpoints of e on an httptest.Server, with an /api
// resource that checks the bearer token.
func (e *env) serve(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		_ = e.srv.HandleAuthorizeRequest(w, r)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if err := e.srv.HandleTokenRequest(w, r); err != nil {
			t.Errorf("HandleTokenRequest: %v", err)
		}
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		ti, err := e.srv.ValidationBearerToken(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "invalid_token", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, ti.GetClientID()+" "+ti.GetUserID()+" "+ti.GetScope())
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func endpoint(ts *httptest.Server, style oauth2.AuthStyle) oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: ts.URL + "/authorize", TokenURL: ts.URL + "/token", AuthStyle: style}
}

// followAuthorize calls the authorization URL without a browser and returns
// the parameters of the redirect to the client.
func followAuthorize(t *testing.T, authURL, wantPrefix string) url.Values {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize status %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || len(loc) < len(wantPrefix) || loc[:len(wantPrefix)] != wantPrefix {
		t.Fatalf("redirect to %q, want prefix %q", loc, wantPrefix)
	}
	return u.Query()
}

func callAPI(t *testing.T, client *http.Client, ts *httptest.Server) (int, string) {
	t.Helper()
	resp, err := client.Get(ts.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var authStyles = []struct {
	name  string
	style oauth2.AuthStyle
}{{"AuthStyleInHeader", oauth2.AuthStyleInHeader}, {"AuthStyleInParams", oauth2.AuthStyleInParams}}

func TestE2E_AuthorizationCodeWithPKCEAndRefresh(t *testing.T) {
	for _, st := range authStyles {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Config.Issuer = issuer
			ts := e.serve(t)
			ctx := context.Background()
			conf := &oauth2.Config{
				ClientID: confID, ClientSecret: confSecret, Endpoint: endpoint(ts, st.style),
				RedirectURL: confRedirect, Scopes: []string{"read", "write"},
			}
			verifier := oauth2.GenerateVerifier()
			q := followAuthorize(t, conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier)), confRedirect+"?")
			if q.Get("state") != "st-1" || q.Get("iss") != issuer {
				t.Fatalf("redirect parameters %v", q)
			}
			// A wrong verifier is refused (RFC 7636 4.6).
			if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); !isOAuthError(err, "invalid_grant") {
				t.Fatalf("wrong verifier: %v", err)
			}
			// Start again with a fresh code.
			q = followAuthorize(t, conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier)), confRedirect+"?")
			tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Expiry.IsZero() ||
				tok.Extra("scope") != "read write" {
				t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			if code, body := callAPI(t, conf.Client(ctx, tok), ts); code != 200 || body != confID+" u1 read write" {
				t.Fatalf("api: %d %q", code, body)
			}

			// Refresh through a TokenSource holding an expired token.
			old := *tok
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Hour)
			fresh, err := conf.TokenSource(ctx, &expired).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken || fresh.RefreshToken == "" {
				t.Fatal("refresh did not rotate the tokens")
			}
			if code, _ := callAPI(t, conf.Client(ctx, &old), ts); code != http.StatusUnauthorized {
				t.Fatalf("old access token still works after refresh: %d", code)
			}
			if code, _ := callAPI(t, conf.Client(ctx, fresh), ts); code != 200 {
				t.Fatalf("new access token refused: %d", code)
			}

			// The rotated-out refresh token is refused, and its replay
			// revokes the family (RFC 9700 4.14.2).
			replay := &oauth2.Token{RefreshToken: old.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
			if _, err := conf.TokenSource(ctx, replay).Token(); !isOAuthError(err, "invalid_grant") {
				t.Fatalf("old refresh token: %v", err)
			}
			if code, _ := callAPI(t, conf.Client(ctx, fresh), ts); code != http.StatusUnauthorized {
				t.Fatalf("access token of a replayed family still works: %d", code)
			}
		})
	}
}

func TestE2E_PublicClientWithPKCE(t *testing.T) {
	e := newEnv(t)
	ts := e.serve(t)
	conf := &oauth2.Config{ClientID: pubID, Endpoint: endpoint(ts, oauth2.AuthStyleInParams), Scopes: []string{"read"}}
	verifier := oauth2.GenerateVerifier()
	q := followAuthorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), pubRedirect+"&")
	tok, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("exchange: %v", err)
	}
	// AuthStyleInHeader with an empty secret ("public:") works too.
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	q = followAuthorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), pubRedirect+"&")
	if _, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("exchange with empty Basic secret: %v", err)
	}
}

func TestE2E_ClientCredentials(t *testing.T) {
	for _, st := range authStyles {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t)
			ts := e.serve(t)
			ctx := context.Background()
			cc := &clientcredentials.Config{ClientID: confID, ClientSecret: confSecret, TokenURL: ts.URL + "/token",
				Scopes: []string{"read"}, AuthStyle: st.style}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken != "" || tok.Extra("scope") != "read" {
				t.Fatalf("token %+v", tok)
			}
			if code, body := callAPI(t, cc.Client(ctx), ts); code != 200 || body != confID+"  read" {
				t.Fatalf("api: %d %q", code, body)
			}
			cc.ClientSecret = "wrong"
			if _, err := cc.Token(ctx); !isOAuthError(err, "invalid_client") {
				t.Fatalf("wrong secret: %v", err)
			}
		})
	}
}

func TestE2E_Password(t *testing.T) {
	for _, st := range authStyles {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.SetAllowedGrantType(oauth2d.AuthorizationCode, oauth2d.Refreshing, oauth2d.ClientCredentials, oauth2d.PasswordCredentials)
			e.srv.SetPasswordAuthorizationHandler(func(_ context.Context, clientID, username, password string) (string, error) {
				if username == "alice" && password == "s3cret&=+" {
					return "alice-id", nil
				}
				return "", nil
			})
			ts := e.serve(t)
			ctx := context.Background()
			conf := &oauth2.Config{ClientID: confID, ClientSecret: confSecret, Endpoint: endpoint(ts, st.style), Scopes: []string{"read"}}
			tok, err := conf.PasswordCredentialsToken(ctx, "alice", "s3cret&=+")
			if err != nil {
				t.Fatal(err)
			}
			if code, body := callAPI(t, conf.Client(ctx, tok), ts); code != 200 || body != confID+" alice-id read" {
				t.Fatalf("api: %d %q", code, body)
			}
			if _, err := conf.PasswordCredentialsToken(ctx, "alice", "wrong"); !isOAuthError(err, "invalid_grant") {
				t.Fatalf("wrong password: %v", err)
			}
		})
	}
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return stderrors.As(err, &re) && re.ErrorCode == code
}
