package oauth2d

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store"
)

func TestAuthorize_RefusesUnregisteredScopeAndBadPKCEBeforeSignIn(t *testing.T) {
	cfg := testConfig(testRedirect)
	cfg.Clients = append(cfg.Clients, ClientConfig{ID: "spa", Public: true, RedirectURIs: []string{testRedirect},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"read"}})
	srv := startApp(t, cfg)
	request := func(mutate func(q url.Values)) string {
		q := url.Values{"response_type": {"code"}, "client_id": {testClientID}, "redirect_uri": {testRedirect},
			"scope": {"read"}, "state": {"st-1"}, "code_challenge": {testChallenge()}, "code_challenge_method": {"S256"}}
		mutate(q)
		return "/authorize?" + q.Encode()
	}
	tests := []struct {
		name, error string
		mutate      func(q url.Values)
	}{
		{"scope unknown to the server", "invalid_scope", func(q url.Values) { q.Set("scope", "read admin") }},
		{"scope of another client's registration", "invalid_scope", func(q url.Values) { q.Set("scope", "profile") }},
		{"malformed scope", "invalid_scope", func(q url.Values) { q.Set("scope", "read\x01") }},
		{"plain PKCE, not enabled", "invalid_request", func(q url.Values) {
			q.Set("code_challenge", testVerifier)
			q.Set("code_challenge_method", "plain")
		}},
		{"unknown PKCE method", "invalid_request", func(q url.Values) { q.Set("code_challenge_method", "S512") }},
		{"PKCE method without a challenge", "invalid_request", func(q url.Values) { q.Del("code_challenge") }},
		{"malformed S256 challenge", "invalid_request", func(q url.Values) { q.Set("code_challenge", "short") }},
		{"public client without PKCE", "invalid_request", func(q url.Values) {
			q.Set("client_id", "spa")
			q.Del("code_challenge")
			q.Del("code_challenge_method")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, srv) // no session: nobody has signed in
			resp, _ := b.get(request(tt.mutate))
			loc, err := url.Parse(b.expectRedirect(resp, http.StatusFound, testRedirect))
			if err != nil {
				t.Fatal(err)
			}
			if q := loc.Query(); q.Get("error") != tt.error || q.Get("state") != "st-1" || q.Get("iss") != srv.URL || q.Has("code") {
				t.Fatalf("redirect %v, want error %s with state and iss", q, tt.error)
			}
		})
	}
	// A valid request still goes to sign in.
	resp, _ := newBrowser(t, srv).get(request(func(url.Values) {}))
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/login?") {
		t.Fatalf("a valid request: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestConsent_ForgedLinkShowsNothingAndStoresNothing(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	b := newBrowser(t, srv)
	// The victim is signed in (a session from any earlier visit).
	signInAt(b)
	forged := "/authorize?" + url.Values{"client_id": {testClientID}, "response_type": {"code"},
		"redirect_uri": {"https://evil.example/steal"}, "scope": {"read write"}, "state": {"x"}}.Encode()
	for _, link := range []string{
		"/consent?" + url.Values{"return": {forged}}.Encode(),
		"/consent?request=" + strings.Repeat("A", 32),
		"/consent",
	} {
		resp, body := b.get(link)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, `name="consent"`) ||
			strings.Contains(body, "evil.example") || resp.Header.Get("Location") != "" {
			t.Fatalf("forged link %s: %d, shows a consent form or the forged host", link, resp.StatusCode)
		}
	}
	// A consent form posted with a CSRF token from a real consent page but
	// the forged request is refused, and remembers nothing.
	resp, _ := b.get(authorizeURL(testRedirect, "write", "real"))
	consentURL := b.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")
	_, page := b.get(consentURL)
	for _, form := range []url.Values{
		{"consent": {"allow"}, "csrf": {hiddenValue(t, page, "csrf")}, "return": {forged}},
		{"consent": {"allow"}, "csrf": {hiddenValue(t, page, "csrf")}, "request": {"forged-reference"}},
	} {
		resp, body := b.post("/consent", form)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || strings.Contains(body, "evil.example") {
			t.Fatalf("forged consent post: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The client's own request for read and write still asks the user.
	resp, _ = b.get(authorizeURL(testRedirect, "read write", "later"))
	b.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")
}

func TestConsent_AnotherSessionCannotOpenOrAnswerTheRequest(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	victim := newBrowser(t, srv)
	back := victim.login(authorizeURL(testRedirect, "read", "s"), testUsername, testPassword)
	resp, _ := victim.get(back)
	consentURL := victim.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")
	ref, _ := url.Parse(consentURL)

	other := newBrowser(t, srv)
	signInAt(other) // the same user, another session
	resp, body := other.get(consentURL)
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, `name="consent"`) {
		t.Fatalf("another session opened the consent request: %d", resp.StatusCode)
	}
	resp, _ = other.get(authorizeURL(testRedirect, "read", "own"))
	own := other.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")
	_, page := other.get(own)
	resp, _ = other.post("/consent", url.Values{"consent": {"allow"}, "csrf": {hiddenValue(t, page, "csrf")},
		"request": {ref.Query().Get("request")}})
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("another session answered the consent request: %d", resp.StatusCode)
	}
	// The victim's request is still pending, and theirs to answer.
	q := victim.finish(victim.consent(back, "allow"), testRedirect)
	if q.Get("code") == "" || q.Get("state") != "s" {
		t.Fatalf("the victim's own answer: %v", redactQuery(q))
	}
}

// failingCreates is a memory store whose token writes can be made to fail.
type failingCreates struct {
	oauth2.TokenStore
	oauth2.KVStore
	fail atomic.Bool
}

func (s *failingCreates) Create(ctx context.Context, info oauth2.TokenInfo) error {
	if s.fail.Load() {
		return fmt.Errorf("test store: %w", oauth2.ErrUnavailable)
	}
	return s.TokenStore.Create(ctx, info)
}

func TestConsent_RememberedOnlyOnceACodeIsIssued(t *testing.T) {
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	fs := &failingCreates{TokenStore: ts, KVStore: ts.(oauth2.KVStore)}
	cfg := testConfig(testRedirect)
	cfg.TokenStore = fs
	cfg.Secret = testAtRestSecret
	srv := startApp(t, cfg)
	b := newBrowser(t, srv)
	authz := authorizeURL(testRedirect, "read", "s")
	back := b.login(authz, testUsername, testPassword)
	back = b.consent(back, "allow")
	// The code cannot be stored: the client gets an error, and the
	// consent is not remembered.
	fs.fail.Store(true)
	q := b.finish(back, testRedirect)
	if q.Get("error") != "temporarily_unavailable" || q.Has("code") {
		t.Fatalf("while the store fails: %v", redactQuery(q))
	}
	fs.fail.Store(false)
	resp, _ := b.get(authz)
	b.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")
	// Allowed again, with a code issued: remembered.
	back = b.consent(authz, "allow")
	if q := b.finish(back, testRedirect); q.Get("code") == "" {
		t.Fatalf("no code: %v", redactQuery(q))
	}
	if q := b.finish(authorizeURL(testRedirect, "read", "again"), testRedirect); q.Get("code") == "" {
		t.Fatalf("the remembered consent was not used: %v", redactQuery(q))
	}
}

// signInAt signs the test user in at the login page, without an
// authorization request.
func signInAt(b *browser) {
	b.t.Helper()
	_, page := b.get("/login")
	resp, _ := b.post("/login", url.Values{"username": {testUsername}, "password": {testPassword}, "csrf": {hiddenValue(b.t, page, "csrf")}})
	b.expectRedirect(resp, http.StatusSeeOther, "/")
}
