package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/policy"
	"github.com/oauth2d/oauth2/store"
)

// Registrations of the logout tests' client (RP-Initiated Logout 1.0 3.1).
const (
	logoutIssuer   = "http://localhost:9096"
	logoutClient   = "app"
	loggedOutURI   = "https://app.example/bye"
	loggedOutQuery = "https://app.example/bye?from=op"
)

// logoutPages are pages whose logout requests are checked against a real
// ID token generator, with a client registered with two post-logout
// redirect URIs.
type logoutPages struct {
	*Pages
	gen *generates.JWTIDTokenGenerate
}

func newLogoutPages(tb testing.TB) *logoutPages {
	tb.Helper()
	ks := generates.NewKeySet()
	key, err := generates.GenerateSigningKey("ES256")
	if err != nil {
		tb.Fatal(err)
	}
	if err := ks.Add(generates.SigningKey{Method: jwt.SigningMethodES256, Key: key}, true); err != nil {
		tb.Fatal(err)
	}
	gen, err := generates.NewJWTIDTokenGenerate(ks, logoutIssuer)
	if err != nil {
		tb.Fatal(err)
	}
	client := &models.Client{ID: logoutClient, RedirectURIs: []string{"https://app.example/cb"},
		PostLogoutRedirectURIs: []string{loggedOutURI, loggedOutQuery}}
	p, err := New(context.Background(), Config{
		Issuer: logoutIssuer,
		KV:     store.NewMemoryKV(nil),
		Users:  NewUsers(),
		Client: func(_ context.Context, id string) (oauth2.ClientInfo, error) {
			if id != logoutClient {
				return nil, oauth2.ErrNotFound
			}
			return client, nil
		},
		IDTokenHint: gen.ParseIDTokenHint,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &logoutPages{Pages: p, gen: gen}
}

// hintFor returns an ID token of the logout client for the session s.
func (lp *logoutPages) hintFor(tb testing.TB, s session) string {
	tb.Helper()
	ext, err := (&oidc.GrantInfo{SID: s.ID}).Encode(nil)
	if err != nil {
		tb.Fatal(err)
	}
	client, _ := lp.client(context.Background(), logoutClient)
	raw, err := lp.gen.IDToken(context.Background(), &generates.IDTokenRequest{Client: client,
		TokenInfo: &models.Token{ClientID: logoutClient, UserID: s.User, Scope: "openid", Extension: ext}})
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// FuzzLogout_RedirectsOnlyToRegisteredURIsAndEndsOnlyTheHintedSession
// sends any query to the end_session_endpoint of a signed-in browser
// ("HINT" in it stands for a valid id_token_hint of the session). Whatever
// the query, the answer is an error page, the confirmation page, or a 303
// to the signed-out page or to a registered post_logout_redirect_uri, with
// at most the state appended (RP-Initiated Logout 1.0 3); and the session
// ends only for a query with one id_token_hint that names it.
func FuzzLogout_RedirectsOnlyToRegisteredURIsAndEndsOnlyTheHintedSession(f *testing.F) {
	lp := newLogoutPages(f)
	for _, seed := range []string{
		"id_token_hint=HINT&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye&state=s",
		"id_token_hint=HINT&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye%3Ffrom%3Dop&state=a%26b",
		"id_token_hint=HINT&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2Fbye",
		"client_id=app&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye",
		"post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye",
		"id_token_hint=HINT&id_token_hint=HINT",
		"id_token_hint=HINTx&client_id=app",
		"logout_hint=bob&id_token_hint=HINT",
		"id_token_hint=HINT&client_id=other",
		"state=%00&id_token_hint=HINT&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye",
		"%zz",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		ctx := context.Background()
		start := httptest.NewRecorder()
		s, err := lp.startSession(ctx, start, httptest.NewRequest(http.MethodGet, "/", nil), "alice")
		if err != nil {
			t.Fatal(err)
		}
		cookie := start.Result().Cookies()[0]
		hint := lp.hintFor(t, s)
		query = strings.ReplaceAll(query, "HINT", hint)
		r := httptest.NewRequest(http.MethodGet, "/logout", nil)
		r.URL.RawQuery = query
		r.AddCookie(cookie)
		rec := httptest.NewRecorder()
		lp.Logout(rec, r)

		loc := rec.Header().Get("Location")
		switch rec.Code {
		case http.StatusBadRequest, http.StatusOK:
			if loc != "" {
				t.Fatalf("%q: status %d with a Location %q", query, rec.Code, loc)
			}
		case http.StatusSeeOther:
			if loc != "/logout/done" && !registeredWithState(loc) {
				t.Fatalf("%q: redirected to %q, neither the signed-out page nor a registered URI", query, loc)
			}
		default:
			t.Fatalf("%q: status %d", query, rec.Code)
		}
		_, live, err := lp.readSession(withCookies("/", cookie))
		if err != nil {
			t.Fatal(err)
		}
		if !live {
			q, err := url.ParseQuery(query)
			if err != nil || len(q["id_token_hint"]) != 1 || q.Get("id_token_hint") != hint || rec.Code != http.StatusSeeOther {
				t.Fatalf("%q: the session ended without a confirmation or a hint of it", query)
			}
		}
		if live {
			_ = lp.deleteSession(ctx, s.handle)
		}
	})
}

// registeredWithState reports whether loc is a registered post-logout
// redirect URI, with a state parameter of VSCHARs appended or not.
func registeredWithState(loc string) bool {
	for _, uri := range []string{loggedOutURI, loggedOutQuery} {
		if loc == uri {
			return true
		}
		sep := "?"
		if strings.Contains(uri, "?") {
			sep = "&"
		}
		if rest, ok := strings.CutPrefix(loc, uri+sep+"state="); ok {
			state, err := url.QueryUnescape(rest)
			return err == nil && url.QueryEscape(state) == rest && state != "" && policy.ValidState(state)
		}
	}
	return false
}

// TestLogout_StateGoesBackEscapedAfterTheRegisteredQuery covers the
// redirection after logout (RP-Initiated Logout 1.0 3): the state is added
// to the registered URI, after its own query, escaped.
func TestLogout_StateGoesBackEscapedAfterTheRegisteredQuery(t *testing.T) {
	lp := newLogoutPages(t)
	ctx := context.Background()
	for _, tt := range []struct{ uri, state, want string }{
		{loggedOutURI, "", loggedOutURI},
		{loggedOutURI, "a b&c=d", loggedOutURI + "?state=a+b%26c%3Dd"},
		{loggedOutQuery, "s", loggedOutQuery + "&state=s"},
	} {
		start := httptest.NewRecorder()
		s, err := lp.startSession(ctx, start, httptest.NewRequest(http.MethodGet, "/", nil), "alice")
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"id_token_hint": {lp.hintFor(t, s)}, "post_logout_redirect_uri": {tt.uri}}
		if tt.state != "" {
			q.Set("state", tt.state)
		}
		r := withCookies("/logout?"+q.Encode(), start.Result().Cookies()...)
		rec := httptest.NewRecorder()
		lp.Logout(rec, r)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tt.want {
			t.Fatalf("status %d Location %q, want 303 to %q", rec.Code, rec.Header().Get("Location"), tt.want)
		}
	}
}
