package oauth2d

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauth2d/oauth2/store"
)

// Tests of the end of a store user's access (user_revoke.go): disabling
// or deleting the user ends its sessions, revokes its grants and forgets
// its consents; a user re-created under the same name inherits nothing.

const (
	carolUsername = "carol"
	carolPassword = "carol's first password, long enough"
)

// startUserAdmin is startAdmin with the test client registered for
// OpenID Connect at rpRedirect, so that prompt=none can probe a session.
func startUserAdmin(t *testing.T, kind string, opts ...func(*Config)) *adminServer {
	t.Helper()
	return startAdmin(t, kind, append([]func(*Config){func(c *Config) {
		c.Clients[0].RedirectURIs = []string{rpRedirect}
		c.Clients[0].Scopes = []string{"openid", "read"}
	}}, opts...)...)
}

// createUser creates a store user through the admin API.
func createUser(t *testing.T, s *adminServer, username, password string) {
	t.Helper()
	status, body, _ := s.call(t, nil, "POST", "/admin/users", testAdminToken, `{"username":"`+username+`","password":"`+password+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("create %s: %d %v", username, status, body)
	}
}

// userFlow runs a code flow of the test client for the browser b (signing
// in and consenting when asked) and exchanges the code with
// golang.org/x/oauth2: it returns the tokens and whether the consent page
// was shown.
func userFlow(t *testing.T, s *adminServer, b *browser, username, password string) (*oauth2.Token, bool) {
	t.Helper()
	authz := oidcAuthorize("openid read", "st", nil)
	back := authz
	resp, _ := b.get(authz)
	if strings.Contains(resp.Header.Get("Location"), "/login?") {
		back = b.login(authz, username, password)
		resp, _ = b.get(back)
	}
	consented := false
	if strings.Contains(resp.Header.Get("Location"), "/consent?") {
		back, consented = b.consent(back, "allow"), true
	}
	q := b.finish(back, rpRedirect)
	conf := oauth2.Config{ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: rpRedirect,
		Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(testVerifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatal("the code exchange gave no access or no refresh token")
	}
	return tok, consented
}

// authorizeGoesToLogin reports whether a plain authorization request of b
// is sent to the login page (rather than to the consent page or the
// client).
func authorizeGoesToLogin(t *testing.T, b *browser) bool {
	t.Helper()
	resp, _ := b.get(oidcAuthorize("openid read", "again", nil))
	return strings.Contains(resp.Header.Get("Location"), "/login?")
}

func TestAdminUsers_DisableEndsSessionsAndGrants(t *testing.T) {
	for _, kind := range []string{"memory", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			s := startUserAdmin(t, kind)
			createUser(t, s, carolUsername, carolPassword)
			b := newBrowser(t, s.testServer)
			tok, _ := userFlow(t, s, b, carolUsername, carolPassword)
			if !b.signedIn() || authorizeGoesToLogin(t, b) {
				t.Fatal("not signed in after the flow")
			}
			if !introspectActive(t, s.testServer, testClientID, testClientSecret, tok.AccessToken) {
				t.Fatal("the access token is not active before the disable")
			}

			status, body, _ := s.call(t, nil, "PUT", "/admin/users/"+carolUsername, testAdminToken, `{"disabled":true}`)
			if status != http.StatusOK || body["disabled"] != true {
				t.Fatalf("disable: %d %v", status, body)
			}
			if b.signedIn() {
				t.Error("prompt=none: the disabled user's session still authorizes (want login_required)")
			}
			if !authorizeGoesToLogin(t, b) {
				t.Error("the disabled user's session is not sent to the login page")
			}
			// Introspection first: a refresh would rotate the tokens.
			if introspectActive(t, s.testServer, testClientID, testClientSecret, tok.AccessToken) {
				t.Error("the disabled user's access token is active at introspection")
			}
			if ok, _ := refreshWorks(t, s.testServer, testClientID, testClientSecret, tok.RefreshToken); ok {
				t.Error("the disabled user's refresh token works")
			}
			logs := s.Logs.String()
			if !strings.Contains(logs, "action=grant.revoke") || !strings.Contains(logs, "username="+carolUsername) ||
				!strings.Contains(logs, "action=user.update+disable target="+carolUsername) {
				t.Errorf("no audit lines of the disable and its revocations:\n%s", logs)
			}

			// Enabled again: the sessions signed in before the disable
			// stay ended; a new sign-in works.
			status, body, _ = s.call(t, nil, "PUT", "/admin/users/"+carolUsername, testAdminToken, `{"disabled":false}`)
			if status != http.StatusOK || body["disabled"] != false {
				t.Fatalf("enable: %d %v", status, body)
			}
			if !authorizeGoesToLogin(t, b) {
				t.Error("a session from before the disable authorizes after the enable")
			}
			if _, consented := userFlow(t, s, b, carolUsername, carolPassword); !consented {
				t.Error("the consent remembered before the disable was not forgotten")
			}
			if !b.signedIn() {
				t.Error("a sign-in after the enable does not hold")
			}
		})
	}
}

func TestAdminUsers_RecreatedUserInheritsNothing(t *testing.T) {
	for _, kind := range []string{"memory", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			s := startUserAdmin(t, kind)
			createUser(t, s, carolUsername, carolPassword)
			b := newBrowser(t, s.testServer)
			tok, _ := userFlow(t, s, b, carolUsername, carolPassword)

			if status, body, _ := s.call(t, nil, "DELETE", "/admin/users/"+carolUsername, testAdminToken, ""); status != http.StatusNoContent {
				t.Fatalf("delete: %d %v", status, body)
			}
			if status, _, _ := s.call(t, nil, "GET", "/admin/users/"+carolUsername, testAdminToken, ""); status != http.StatusNotFound {
				t.Fatalf("get after delete: %d", status)
			}
			const newPassword = "the new carol's password, long enough"
			createUser(t, s, carolUsername, newPassword)

			if b.signedIn() || !authorizeGoesToLogin(t, b) {
				t.Error("the old user's session authorizes for the new user")
			}
			if introspectActive(t, s.testServer, testClientID, testClientSecret, tok.AccessToken) {
				t.Error("the old user's access token is active")
			}
			if ok, _ := refreshWorks(t, s.testServer, testClientID, testClientSecret, tok.RefreshToken); ok {
				t.Error("the old user's refresh token works for the new user")
			}
			if st, list, _ := s.call(t, nil, "GET", "/admin/grants?username="+carolUsername, testAdminToken, ""); st != http.StatusOK || len(list["items"].([]any)) != 0 || list["consents"] != nil && len(list["consents"].([]any)) != 0 {
				t.Errorf("the new user's grants and consents: %d %v", st, list)
			}
			if _, consented := userFlow(t, s, b, carolUsername, newPassword); !consented {
				t.Error("the consent page was not shown to the new user: the old consent carried over")
			}
		})
	}
}

// flakyRevokes is the memory store whose RevokeGrant fails while failing
// is set.
type flakyRevokes struct {
	*store.MemoryTokenStore
	failing atomic.Bool
}

func (s *flakyRevokes) RevokeGrant(ctx context.Context, grantID string) error {
	if s.failing.Load() {
		return errFlakyStore
	}
	return s.MemoryTokenStore.RevokeGrant(ctx, grantID)
}

var errFlakyStore = errors.New("the store is down")

func TestAdminUsers_FailedRevocationIs503AndTheRetryFinishes(t *testing.T) {
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	flaky := &flakyRevokes{MemoryTokenStore: ts.(*store.MemoryTokenStore)}
	s := startUserAdmin(t, "memory", func(c *Config) { c.TokenStore = flaky })
	for _, tc := range []struct {
		name, method, body string
		retried            int
		after              int // the status of GET of the user after the retry
	}{
		{"disable", "PUT", `{"disabled":true}`, http.StatusOK, http.StatusOK},
		{"delete", "DELETE", "", http.StatusNoContent, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			createUser(t, s, carolUsername, carolPassword)
			b := newBrowser(t, s.testServer)
			tok, _ := userFlow(t, s, b, carolUsername, carolPassword)

			flaky.failing.Store(true)
			status, body, _ := s.call(t, nil, tc.method, "/admin/users/"+carolUsername, testAdminToken, tc.body)
			flaky.failing.Store(false)
			detail, _ := body["detail"].(string)
			if status != http.StatusServiceUnavailable || !strings.Contains(detail, "is disabled") || !strings.Contains(detail, tc.method) {
				t.Fatalf("%s with a failing store: %d %v; want 503 saying the user is disabled and to retry", tc.method, status, body)
			}
			if status, body, _ := s.call(t, nil, "GET", "/admin/users/"+carolUsername, testAdminToken, ""); status != http.StatusOK || body["disabled"] != true {
				t.Fatalf("after the failure the user is %d %v; want disabled", status, body)
			}
			if b.signedIn() {
				t.Error("the session authorizes after a failed revocation")
			}

			if status, body, _ := s.call(t, nil, tc.method, "/admin/users/"+carolUsername, testAdminToken, tc.body); status != tc.retried {
				t.Fatalf("retried %s: %d %v; want %d", tc.method, status, body, tc.retried)
			}
			if introspectActive(t, s.testServer, testClientID, testClientSecret, tok.AccessToken) {
				t.Error("the access token is active after the retry")
			}
			if ok, _ := refreshWorks(t, s.testServer, testClientID, testClientSecret, tok.RefreshToken); ok {
				t.Error("the refresh token works after the retry")
			}
			if status, _, _ := s.call(t, nil, "GET", "/admin/users/"+carolUsername, testAdminToken, ""); status != tc.after {
				t.Errorf("GET after the retry: %d, want %d", status, tc.after)
			}
			if tc.method == "PUT" {
				if status, _, _ := s.call(t, nil, "DELETE", "/admin/users/"+carolUsername, testAdminToken, ""); status != http.StatusNoContent {
					t.Fatalf("clean up: %d", status)
				}
			}
		})
	}
}

func TestAdminUsers_PasswordChangeSignsOutEverywhere(t *testing.T) {
	s := startUserAdmin(t, "memory")
	createUser(t, s, carolUsername, carolPassword)
	b := newBrowser(t, s.testServer)
	tok, _ := userFlow(t, s, b, carolUsername, carolPassword)
	const newPassword = "carol's second password, long enough"
	if status, body, _ := s.call(t, nil, "PUT", "/admin/users/"+carolUsername, testAdminToken, `{"password":"`+newPassword+`"}`); status != http.StatusOK {
		t.Fatalf("set password: %d %v", status, body)
	}
	if b.signedIn() || !authorizeGoesToLogin(t, b) {
		t.Error("a session from before the password change still authorizes")
	}
	// The grants stay: a password change is no disable.
	if ok, _ := refreshWorks(t, s.testServer, testClientID, testClientSecret, tok.RefreshToken); !ok {
		t.Error("the password change revoked the refresh token")
	}
	// A claims-only change signs nobody out.
	userFlow(t, s, b, carolUsername, newPassword)
	if status, body, _ := s.call(t, nil, "PUT", "/admin/users/"+carolUsername, testAdminToken, `{"claims":{"name":"Carol"}}`); status != http.StatusOK {
		t.Fatalf("set claims: %d %v", status, body)
	}
	if !b.signedIn() {
		t.Error("a claims change signed the user out")
	}
}
