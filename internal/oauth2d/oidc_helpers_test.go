package oauth2d

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oauth2d/oauth2/store"
	"github.com/oauth2d/oauth2/store/storetest"
)

// The relying party of the OpenID Connect tests: its redirect URI and its
// registered post-logout redirect URI.
const (
	rpRedirect  = "https://rp.example/callback"
	rpLoggedOut = "https://rp.example/signed-out"
	// bobUsername is a second user, for the tests where the session is
	// someone else's.
	bobUsername = "bob"
	bobPassword = "bob's own password, long enough"
)

// aliceClaims are the standard claims of the test user (OpenID Connect
// Core 1.0 5.1).
func aliceClaims() map[string]any {
	return map[string]any{
		"name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
		"email": "alice@example.com", "email_verified": true, "phone_number": "+1 555 0100",
		"address": map[string]any{"street_address": "1 Rabbit Hole", "locality": "Oxford", "country": "GB"},
	}
}

// oidcConfig is testConfig with the client registered for OpenID Connect
// (the openid scope and the scope values of Core 5.4, a post-logout
// redirect URI) and users with claims.
func oidcConfig() Config {
	cfg := testConfig(rpRedirect)
	cfg.Clients[0].Scopes = []string{"openid", "profile", "email", "address", "phone", "offline_access", "read"}
	cfg.Clients[0].PostLogoutRedirectURIs = []string{rpLoggedOut}
	cfg.Users[0].Claims = aliceClaims()
	cfg.Users = append(cfg.Users, UserConfig{Username: bobUsername, Password: bobPassword, Claims: map[string]any{"name": "Bob"}})
	return cfg
}

// oidcAuthorize is an OpenID Connect authentication request of the test
// client (Core 3.1.2.1) with PKCE, and the parameters of extra.
func oidcAuthorize(scope, state string, extra url.Values) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {testClientID},
		"redirect_uri":          {rpRedirect},
		"scope":                 {scope},
		"state":                 {state},
		"nonce":                 {"n-" + state},
		"code_challenge":        {testChallenge()},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return "/authorize?" + q.Encode()
}

// walked is what a walk through the pages met.
type walked struct {
	// query is the authorization response at the client.
	query url.Values
	// pages are the pages shown, in order: "login" and "consent".
	pages []string
	// loginPage and consentPage are the last login and consent pages.
	loginPage, consentPage string
}

// walk follows an authorization request through the pages as a user
// would: it signs in as username (with password) and answers decision on
// the consent page when they are shown, and returns what it met once the
// browser is sent to the client.
func (b *browser) walk(authorize, username, password, decision string) walked {
	b.t.Helper()
	return b.walkTo(authorize, rpRedirect, username, password, decision)
}

// walkTo is walk for a client whose redirect URI is redirect.
func (b *browser) walkTo(authorize, redirect, username, password, decision string) walked {
	b.t.Helper()
	var w walked
	next := authorize
	for range 8 {
		resp, _ := b.get(next)
		loc := resp.Header.Get("Location")
		switch {
		case resp.StatusCode == http.StatusFound && strings.HasPrefix(loc, redirect):
			u, err := url.Parse(loc)
			if err != nil {
				b.t.Fatal(err)
			}
			w.query = u.Query()
			return w
		case resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "/login?"):
			w.pages = append(w.pages, "login")
			lr, page := b.get(loc)
			if lr.StatusCode != http.StatusOK {
				b.t.Fatalf("login page: %d", lr.StatusCode)
			}
			w.loginPage = page
			pr, body := b.post("/login", url.Values{
				"username": {username}, "password": {password},
				"csrf": {hiddenValue(b.t, page, "csrf")}, "return": {hiddenValue(b.t, page, "return")},
			})
			if pr.StatusCode != http.StatusSeeOther {
				b.t.Fatalf("sign-in as %s: status %d\n%s", username, pr.StatusCode, body)
			}
			next = pr.Header.Get("Location")
		case resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "/consent?"):
			w.pages = append(w.pages, "consent")
			cr, page := b.get(loc)
			if cr.StatusCode != http.StatusOK {
				b.t.Fatalf("consent page: %d", cr.StatusCode)
			}
			w.consentPage = page
			pr, _ := b.post("/consent", url.Values{
				"consent": {decision}, "csrf": {hiddenValue(b.t, page, "csrf")}, "request": {hiddenValue(b.t, page, "request")},
			})
			next = b.expectRedirect(pr, http.StatusSeeOther, "/authorize?")
		default:
			b.t.Fatalf("GET %s: status %d Location %q, want the pages or the client", next, resp.StatusCode, loc)
		}
	}
	b.t.Fatal("the authorization request did not reach the client within 8 steps")
	return w
}

// relyingParty is a client using github.com/coreos/go-oidc/v3 and
// golang.org/x/oauth2 against srv, found by discovery.
type relyingParty struct {
	ctx      context.Context
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	oauth    *oauth2.Config
}

func newRelyingParty(t *testing.T, srv *testServer, scopes ...string) *relyingParty {
	t.Helper()
	ctx := gooidc.ClientContext(context.Background(), srv.Client())
	ctx = context.WithValue(ctx, oauth2.HTTPClient, srv.Client())
	provider, err := gooidc.NewProvider(ctx, srv.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &relyingParty{
		ctx:      ctx,
		provider: provider,
		verifier: provider.Verifier(&gooidc.Config{ClientID: testClientID}),
		oauth: &oauth2.Config{
			ClientID:     testClientID,
			ClientSecret: testClientSecret,
			RedirectURL:  rpRedirect,
			Endpoint:     provider.Endpoint(),
			Scopes:       append([]string{gooidc.ScopeOpenID}, scopes...),
		},
	}
}

// jwtHeader returns the JOSE header of a compact JWS, unverified.
func jwtHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	part, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	return h
}

// idTokenClaims are the claims of an ID token the tests read beyond
// go-oidc's IDToken.
type idTokenClaims struct {
	AuthTime int64    `json:"auth_time"`
	SID      string   `json:"sid"`
	AMR      []string `json:"amr"`
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Nonce    string   `json:"nonce"`
}

// startClock puts cfg on a memory store and a settable clock, which the
// pages, the server's OpenID Connect decisions and the keys read too, and
// returns the clock.
func startClock(t *testing.T, cfg *Config) *storetest.Clock {
	t.Helper()
	clk := storetest.NewClock(time.Now())
	ts, err := store.NewMemoryTokenStore(store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TokenStore, cfg.Now, cfg.Secret = ts, clk.Now, testAtRestSecret
	return clk
}
