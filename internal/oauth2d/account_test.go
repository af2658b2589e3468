package oauth2d

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store"
)

// Tests of the /account page and the grant index (grants.go,
// internal/web/account.go, internal/grants).

const (
	otherClientID     = "other-app"
	otherClientSecret = "other-client-secret-value-19c3"
)

// accountConfig is testConfig with a second client and a second user.
func accountConfig() Config {
	cfg := testConfig(testRedirect)
	cfg.Clients = append(cfg.Clients, ClientConfig{ID: otherClientID, Secret: otherClientSecret, RedirectURIs: []string{testRedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"read", "write"}})
	cfg.Users = append(cfg.Users, UserConfig{Username: bobUsername, Password: bobPassword})
	return cfg
}

// grantTokens runs the code flow of clientID for the user signed in at b
// (signing in as username when needed) and exchanges the code: it returns
// the access and refresh tokens.
func grantTokens(t *testing.T, srv *testServer, b *browser, clientID, secret, username, password string) (access, refresh string) {
	t.Helper()
	code := authorizationCode(t, b, clientID, username, password)
	resp, data := tokenRequest(t, srv, clientID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {testRedirect}, "code_verifier": {testVerifier}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("code exchange: %d %v", resp.StatusCode, data["error"])
	}
	return data["access_token"].(string), data["refresh_token"].(string)
}

// authorizationCode runs the code flow of clientID for the user signed in
// at b (signing in as username when needed) and returns the code.
func authorizationCode(t *testing.T, b *browser, clientID, username, password string) string {
	t.Helper()
	authz := authorizeURLFor(clientID, testRedirect, "read", "st")
	resp, _ := b.get(authz)
	if strings.Contains(resp.Header.Get("Location"), "/login?") {
		resp, _ = b.get(b.login(authz, username, password))
	}
	if strings.Contains(resp.Header.Get("Location"), "/consent?") {
		resp, _ = b.get(b.consent(authz, "allow"))
	}
	loc, err := url.Parse(b.expectRedirect(resp, http.StatusFound, testRedirect))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query().Get("code")
}

// active reports whether the introspection endpoint says access is active.
func introspectActive(t *testing.T, srv *testServer, clientID, secret, access string) bool {
	t.Helper()
	resp, data := postEndpoint(t, srv, "/introspect", clientID, secret, url.Values{"token": {access}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect: %d", resp.StatusCode)
	}
	return data["active"] == true
}

// refreshWorks reports whether a refresh with refresh is accepted; it
// returns the new refresh token.
func refreshWorks(t *testing.T, srv *testServer, clientID, secret, refresh string) (bool, string) {
	t.Helper()
	resp, data := tokenRequest(t, srv, clientID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if resp.StatusCode != http.StatusOK {
		if data["error"] != "invalid_grant" {
			t.Fatalf("refresh refused with %d %v, want invalid_grant", resp.StatusCode, data["error"])
		}
		return false, ""
	}
	return true, data["refresh_token"].(string)
}

func TestAccount_WithdrawRevokesTheGrantsAndAsksConsentAgain(t *testing.T) {
	srv := startApp(t, accountConfig())
	b := newBrowser(t, srv)
	access, refresh := grantTokens(t, srv, b, testClientID, testClientSecret, testUsername, testPassword)
	// A second grant to the same client, and one to another client.
	access2, _ := grantTokens(t, srv, b, testClientID, testClientSecret, testUsername, testPassword)
	otherAccess, _ := grantTokens(t, srv, b, otherClientID, otherClientSecret, testUsername, testPassword)
	// A refresh moves the grant on; the new refresh token is the one to kill.
	ok, refresh := refreshWorks(t, srv, testClientID, testClientSecret, refresh)
	if !ok {
		t.Fatal("refresh refused before withdrawing")
	}

	resp, page := b.get("/account")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-client="`+testClientID+`"`) || !strings.Contains(page, `data-client="`+otherClientID+`"`) {
		t.Fatalf("account page %d does not list both applications:\n%s", resp.StatusCode, page)
	}
	if !strings.Contains(page, "Allowed since") || !strings.Contains(page, ">read<") {
		t.Fatalf("account page does not say what and when:\n%s", page)
	}
	resp, _ = b.post("/account", url.Values{"csrf": {hiddenValue(t, page, "csrf")}, "client_id": {testClientID}})
	b.expectRedirect(resp, http.StatusSeeOther, "/account")

	for _, a := range []string{access, access2} {
		if introspectActive(t, srv, testClientID, testClientSecret, a) {
			t.Fatal("an access token of the withdrawn application is still active")
		}
	}
	if ok, _ := refreshWorks(t, srv, testClientID, testClientSecret, refresh); ok {
		t.Fatal("the refresh token of the withdrawn application still works")
	}
	if !introspectActive(t, srv, otherClientID, otherClientSecret, otherAccess) {
		t.Fatal("withdrawing one application revoked another's token")
	}
	_, page = b.get("/account")
	if strings.Contains(page, `data-client="`+testClientID+`"`) || !strings.Contains(page, `data-client="`+otherClientID+`"`) {
		t.Fatalf("after withdrawing, the page lists:\n%s", page)
	}
	// The next authorization request asks for consent again.
	resp, _ = b.get(authorizeURL(testRedirect, "read", "again"))
	b.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")
	// One audit line per revoked grant, naming the user, with no token.
	logs := srv.Logs.String()
	if n := strings.Count(logs, "msg=audit actor=user:alice action=grant.revoke"); n != 2 {
		t.Fatalf("%d audit lines, want 2:\n%s", n, logs)
	}
	for _, tok := range []string{access, access2, refresh} {
		if strings.Contains(logs, tok) {
			t.Fatal("a token is in the logs")
		}
	}
}

func TestAccount_WithoutASessionGoesToTheLoginPageAndBack(t *testing.T) {
	srv := startApp(t, accountConfig())
	b := newBrowser(t, srv)
	resp, _ := b.get("/account")
	login := b.expectRedirect(resp, http.StatusSeeOther, "/login?return=")
	_, page := b.get(login)
	resp, _ = b.post("/login", url.Values{"username": {testUsername}, "password": {testPassword},
		"csrf": {hiddenValue(t, page, "csrf")}, "return": {hiddenValue(t, page, "return")}})
	b.expectRedirect(resp, http.StatusSeeOther, "/account")
	resp, page = b.get("/account")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "You have not allowed any application") {
		t.Fatalf("account page of a user who allowed nothing: %d\n%s", resp.StatusCode, page)
	}
}

func TestAccount_BadWithdrawFormsRevokeNothing(t *testing.T) {
	srv := startApp(t, accountConfig())
	alice := newBrowser(t, srv)
	access, _ := grantTokens(t, srv, alice, testClientID, testClientSecret, testUsername, testPassword)
	bob := newBrowser(t, srv)
	bobAccess, _ := grantTokens(t, srv, bob, otherClientID, otherClientSecret, bobUsername, bobPassword)

	tests := []struct {
		name   string
		status int
		// form is alice's form, from a fresh account page (csrf filled in
		// unless set); send posts it.
		form url.Values
		send func(b *browser, form url.Values) *http.Response
	}{
		{"no session", http.StatusForbidden, url.Values{"client_id": {testClientID}}, func(_ *browser, form url.Values) *http.Response {
			resp, _ := newBrowser(t, srv).post("/account", form)
			return resp
		}},
		{"bad CSRF token", http.StatusForbidden, url.Values{"client_id": {testClientID}, "csrf": {"AAAA.9999999999.AAAA"}}, nil},
		{"no CSRF token", http.StatusForbidden, url.Values{"client_id": {testClientID}, "csrf": {""}}, nil},
		{"cross-origin", http.StatusForbidden, url.Values{"client_id": {testClientID}}, func(b *browser, form url.Values) *http.Response {
			evil := *b
			evil.origin = "https://evil.example"
			resp, _ := evil.post("/account", form)
			return resp
		}},
		{"unknown client", http.StatusBadRequest, url.Values{"client_id": {"no-such-client"}}, nil},
		{"no client", http.StatusBadRequest, url.Values{}, nil},
		{"client ID too long", http.StatusBadRequest, url.Values{"client_id": {strings.Repeat("c", 300)}}, nil},
		{"another user's client", http.StatusBadRequest, url.Values{"client_id": {otherClientID}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, page := alice.get("/account")
			form := url.Values{}
			for k, v := range tt.form {
				form[k] = v
			}
			if !form.Has("csrf") {
				form.Set("csrf", hiddenValue(t, page, "csrf"))
			}
			var resp *http.Response
			if tt.send != nil {
				resp = tt.send(alice, form)
			} else {
				resp, _ = alice.post("/account", form)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !introspectActive(t, srv, testClientID, testClientSecret, access) || !introspectActive(t, srv, otherClientID, otherClientSecret, bobAccess) {
				t.Fatal("a bad form revoked a token")
			}
			// The consent is still remembered: no consent page.
			if q := alice.finish(authorizeURL(testRedirect, "read", "still"), testRedirect); q.Get("code") == "" {
				t.Fatalf("the consent was forgotten: %v", redactQuery(q))
			}
		})
	}
	if strings.Contains(srv.Logs.String(), "msg=audit") {
		t.Fatal("a bad form wrote an audit line")
	}
}

func TestGrants_RefreshReplayIsAuditedAndForgotten(t *testing.T) {
	srv := startApp(t, accountConfig())
	b := newBrowser(t, srv)
	_, refresh := grantTokens(t, srv, b, testClientID, testClientSecret, testUsername, testPassword)
	if ok, _ := refreshWorks(t, srv, testClientID, testClientSecret, refresh); !ok {
		t.Fatal("refresh refused")
	}
	// The rotated-out token again: the grant is revoked (RFC 9700 4.14.2).
	if ok, _ := refreshWorks(t, srv, testClientID, testClientSecret, refresh); ok {
		t.Fatal("a rotated-out refresh token was accepted")
	}
	logs := srv.Logs.String()
	if !strings.Contains(logs, "msg=audit actor=replay action=grant.revoke") || !strings.Contains(logs, "client_id="+testClientID+" username="+testUsername) {
		t.Fatalf("no audit line for the replay:\n%s", logs)
	}
	gs, err := srv.App.grants.Grants(t.Context(), testUsername)
	if err != nil || len(gs) != 0 {
		t.Fatalf("the revoked grant is still indexed: %+v %v", gs, err)
	}
}

// docWriteCounter is the memory store counting the documents written.
type docWriteCounter struct {
	*store.MemoryTokenStore
	writes atomic.Int64
}

func (s *docWriteCounter) CreateDocument(ctx context.Context, kind, id string, body []byte) error {
	s.writes.Add(1)
	return s.MemoryTokenStore.CreateDocument(ctx, kind, id, body)
}

func (s *docWriteCounter) UpdateDocument(ctx context.Context, kind, id string, body []byte) error {
	s.writes.Add(1)
	return s.MemoryTokenStore.UpdateDocument(ctx, kind, id, body)
}

func TestGrants_ClientCredentialsWritesNoDocument(t *testing.T) {
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	counted := &docWriteCounter{MemoryTokenStore: ts.(*store.MemoryTokenStore)}
	cfg := accountConfig()
	cfg.TokenStore, cfg.Secret = counted, "a-test-secret-of-32-bytes-or-more-0123456789"
	srv := startApp(t, cfg)
	docs := srv.App.rawStore.(oauth2.DocumentStore)
	// Every indexed grant writes a grant-owner document (of a kind per
	// prefix of the grant ID: counted by the wrapper); the kinds of a
	// user named like the client are checked too.
	kinds := []string{"grant/" + testClientID, "consent/" + testClientID, docClient, docUser}
	versions := func() map[string]int64 {
		vs := map[string]int64{}
		for _, k := range kinds {
			v, err := docs.DocumentsVersion(t.Context(), k)
			if err != nil {
				t.Fatal(err)
			}
			vs[k] = v
		}
		return vs
	}
	before, writes := versions(), counted.writes.Load()
	for range 3 {
		if resp, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}}); resp.StatusCode != http.StatusOK {
			t.Fatalf("client credentials: %d %v", resp.StatusCode, data["error"])
		}
	}
	if after := versions(); !maps.Equal(after, before) {
		t.Fatalf("documents changed by client credentials: versions %v then %v", before, after)
	}
	if n := counted.writes.Load() - writes; n != 0 {
		t.Fatalf("client credentials wrote %d documents; want none", n)
	}
}

func TestAccount_DeviceGrantIsListedAndWithdrawn(t *testing.T) {
	srv := startApp(t, endpointConfig(t, newKey(t)))
	tok, err := runDeviceFlow(t, srv, "allow")
	if err != nil {
		t.Fatalf("device access token: %v", err)
	}
	b := newBrowser(t, srv)
	signInAt(b)
	_, page := b.get("/account")
	if !strings.Contains(page, `data-client="`+tvClientID+`"`) {
		t.Fatalf("the device's grant is not listed:\n%s", page)
	}
	resp, _ := b.post("/account", url.Values{"csrf": {hiddenValue(t, page, "csrf")}, "client_id": {tvClientID}})
	b.expectRedirect(resp, http.StatusSeeOther, "/account")
	_, data := postEndpoint(t, srv, "/introspect", apiClientID, apiSecret, url.Values{"token": {tok.AccessToken}})
	if data["active"] != false {
		t.Fatalf("the device's token after withdrawing: %v", data)
	}
}
