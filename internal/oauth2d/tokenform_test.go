package oauth2d

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/internal/opaque/opaquetest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func sqliteStore(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "oauth2d.db") }

// On a SQL store, oauth2d issues time-ordered codes and tokens (52
// characters led by their issue time), which that store indexes at the
// right edge; on the memory store, the 43-character random ones it keeps
// best, and on a SQL store with time_ordered_tokens off (a rolling upgrade
// from a release that keys tokens by their digest only). Either way the
// tokens work: introspection finds them, the refresh
// token refreshes.
func TestApp_IssuesTimeOrderedValuesOnSQLStoresOnly(t *testing.T) {
	for _, tc := range []struct {
		name        string
		store       func(t *testing.T) string
		off         bool // time_ordered_tokens: false
		timeOrdered bool
	}{
		{"memory", func(*testing.T) string { return "memory:" }, false, false},
		{"sqlite", sqliteStore, false, true},
		{"sqlite with time_ordered_tokens off", sqliteStore, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(testRedirect)
			cfg.Store = tc.store(t)
			cfg.TimeOrderedTokens = !tc.off
			cfg.Secret = testAtRestSecret
			srv := startApp(t, cfg)
			before := time.Now()
			cc := clientcredentials.Config{ClientID: testClientID, ClientSecret: testClientSecret, TokenURL: srv.URL + "/token",
				Scopes: []string{"read"}, AuthStyle: oauth2.AuthStyleInHeader}
			tok, err := cc.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			code := authorizationCode(t, newBrowser(t, srv), testClientID, testUsername, testPassword)
			resp, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {testRedirect}, "code_verifier": {testVerifier}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("code exchange: %d %v", resp.StatusCode, data["error"])
			}
			access, refresh := data["access_token"].(string), data["refresh_token"].(string)
			after := time.Now()
			for _, v := range []string{code, tok.AccessToken, access, refresh} {
				checkValueForm(t, v, tc.timeOrdered, before, after)
			}
			if !introspectActive(t, srv, testClientID, testClientSecret, tok.AccessToken) || !introspectActive(t, srv, testClientID, testClientSecret, access) {
				t.Fatal("an issued access token is not active")
			}
			ok, next := refreshWorks(t, srv, testClientID, testClientSecret, refresh)
			if !ok {
				t.Fatal("the refresh token does not refresh")
			}
			checkValueForm(t, next, tc.timeOrdered, before, time.Now())
		})
	}
}

// checkValueForm checks that v is a time-ordered value made between before
// and after (opaquetest.Decode), or a 43-character random one.
func checkValueForm(t *testing.T, v string, timeOrdered bool, before, after time.Time) {
	t.Helper()
	if timeOrdered {
		opaquetest.Decode(t, v, before, after)
		return
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(v) != 43 || len(raw) != 32 {
		t.Fatalf("value %q is not 43 base64url characters", v)
	}
}
