package server_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store"
)

const inactiveAnswer = "{\"active\":false}\n"

// introspectClock is a settable clock shared by the manager and the store.
type introspectClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *introspectClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *introspectClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newClockEnv is newEnv with the manager and the memory store on clock,
// and a resource server client allowed to introspect every token.
func newClockEnv(t testing.TB) (*env, *introspectClock) {
	t.Helper()
	e := newEnv(t)
	clock := &introspectClock{now: time.Unix(1_700_000_000, 0)}
	ts, err := store.NewMemoryTokenStore(store.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	e.tokens = &countingStore{TokenStore: ts}
	e.mgr.MapTokenStorage(e.tokens)
	e.mgr.SetClock(clock.Now)
	if err := e.clients.Set(rsID, &models.Client{ID: rsID, Secret: confSecret}); err != nil {
		t.Fatal(err)
	}
	e.srv.Config.IntrospectionClients = []string{rsID}
	return e, clock
}

// introspect posts an introspection request for token, authenticated with
// Basic as caller, and returns the decoded answer.
func (e *env) introspect(caller, token, hint string) map[string]any {
	e.t.Helper()
	w := e.call(introspection, viaBasic(caller)(e, token, hint).build())
	if w.Code != http.StatusOK {
		e.t.Fatalf("introspection: %d %s", w.Code, w.Body)
	}
	checkTokenHeaders(e.t, w)
	var data map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &data); err != nil {
		e.t.Fatalf("introspection answer is not JSON: %q", w.Body)
	}
	if data["active"] == false && w.Body.String() != inactiveAnswer {
		e.t.Fatalf("inactive answer %q, want exactly %q", w.Body, inactiveAnswer)
	}
	return data
}

// TestIntrospect_ActiveTokens follows RFC 7662 2.2: the members of an
// active token's answer, for access and refresh tokens, whatever the hint,
// for the client the token was issued to and for a listed resource server.
func TestIntrospect_ActiveTokens(t *testing.T) {
	const (
		accessTTL  = 2 * time.Hour  // manage.DefaultAuthorizeCodeTokenCfg
		refreshTTL = 72 * time.Hour // idem
		ccTTL      = 2 * time.Hour  // manage.DefaultClientTokenCfg
	)
	tests := []struct {
		name   string
		kind   string // "code-access", "code-refresh", "cc-access"
		caller string
		hint   string
		noIss  bool
		want   func(now int64) map[string]any
	}{
		{"access token of the code flow, to its client", "code-access", confID, "", false, func(now int64) map[string]any {
			return map[string]any{"active": true, "client_id": confID, "sub": "u1", "scope": "read", "token_type": "Bearer",
				"iat": now, "exp": now + int64(accessTTL/time.Second), "iss": issuer}
		}},
		{"access token with a refresh hint is still found", "code-access", confID, "refresh_token", false, func(now int64) map[string]any {
			return map[string]any{"active": true, "client_id": confID, "sub": "u1", "scope": "read", "token_type": "Bearer",
				"iat": now, "exp": now + int64(accessTTL/time.Second), "iss": issuer}
		}},
		{"unknown hint is ignored", "code-access", confID, "urn:example:unknown", false, func(now int64) map[string]any {
			return map[string]any{"active": true, "client_id": confID, "sub": "u1", "scope": "read", "token_type": "Bearer",
				"iat": now, "exp": now + int64(accessTTL/time.Second), "iss": issuer}
		}},
		{"to a resource server of IntrospectionClients", "code-access", rsID, "access_token", false, func(now int64) map[string]any {
			return map[string]any{"active": true, "client_id": confID, "sub": "u1", "scope": "read", "token_type": "Bearer",
				"iat": now, "exp": now + int64(accessTTL/time.Second), "iss": issuer}
		}},
		{"without an issuer there is no iss", "code-access", confID, "", true, func(now int64) map[string]any {
			return map[string]any{"active": true, "client_id": confID, "sub": "u1", "scope": "read", "token_type": "Bearer",
				"iat": now, "exp": now + int64(accessTTL/time.Second)}
		}},
		{"refresh token has its own exp and no token_type", "code-refresh", confID, "refresh_token", false, func(now int64) map[string]any {
			return map[string]any{"active": true, "client_id": confID, "sub": "u1", "scope": "read",
				"iat": now, "exp": now + int64(refreshTTL/time.Second), "iss": issuer}
		}},
		{"refresh token with an access hint is still found", "code-refresh", rsID, "access_token", false, func(now int64) map[string]any {
			return map[string]any{"active": true, "client_id": confID, "sub": "u1", "scope": "read",
				"iat": now, "exp": now + int64(refreshTTL/time.Second), "iss": issuer}
		}},
		{"client credentials token has no sub", "cc-access", confID, "", false, func(now int64) map[string]any {
			return map[string]any{"active": true, "client_id": confID, "scope": "read", "token_type": "Bearer",
				"iat": now, "exp": now + int64(ccTTL/time.Second), "iss": issuer}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clock := newClockEnv(t)
			if !tt.noIss {
				e.srv.Config.Issuer = issuer
			}
			var token string
			switch tt.kind {
			case "code-access":
				token, _ = e.codeGrant(t, confID, confRedirect)
			case "code-refresh":
				_, token = e.codeGrant(t, confID, confRedirect)
			case "cc-access":
				token = e.ccToken(t, confID)
			}
			got := e.introspect(tt.caller, token, tt.hint)
			// JSON numbers decode as float64.
			want := tt.want(clock.Now().Unix())
			for k, v := range want {
				if n, ok := v.(int64); ok {
					want[k] = float64(n)
				}
			}
			if !maps.Equal(got, want) {
				t.Fatalf("answer\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestIntrospect_InactiveTokens: RFC 7662 2.2, a token that is not active
// (and, by this server's policy, another client's token) is answered with
// {"active":false} and nothing else.
func TestIntrospect_InactiveTokens(t *testing.T) {
	tests := []struct {
		name   string
		caller string
		token  func(e *env, clock *introspectClock) string
	}{
		{"unknown token", confID, func(*env, *introspectClock) string { return "no-such-token" }},
		{"truncated token", confID, func(e *env, _ *introspectClock) string {
			access, _ := e.codeGrant(e.t, confID, confRedirect)
			return access[:len(access)-1]
		}},
		{"token with a byte appended", confID, func(e *env, _ *introspectClock) string {
			access, _ := e.codeGrant(e.t, confID, confRedirect)
			return access + "A"
		}},
		{"revoked access token", confID, func(e *env, _ *introspectClock) string {
			access, _ := e.codeGrant(e.t, confID, confRedirect)
			e.call(revocation, viaBasic(confID)(e, access, "").build())
			return access
		}},
		{"access token of a revoked refresh token's grant", confID, func(e *env, _ *introspectClock) string {
			access, refresh := e.codeGrant(e.t, confID, confRedirect)
			e.call(revocation, viaBasic(confID)(e, refresh, "").build())
			return access
		}},
		{"revoked refresh token", confID, func(e *env, _ *introspectClock) string {
			_, refresh := e.codeGrant(e.t, confID, confRedirect)
			e.call(revocation, viaBasic(confID)(e, refresh, "").build())
			return refresh
		}},
		{"rotated-out refresh token", confID, func(e *env, _ *introspectClock) string {
			_, refresh := e.codeGrant(e.t, confID, confRedirect)
			e.token(tokenReq{body: "grant_type=refresh_token&refresh_token=" + url.QueryEscape(refresh), basic: basic(confID, confSecret)}.build())
			return refresh
		}},
		{"expired access token", confID, func(e *env, clock *introspectClock) string {
			access, _ := e.codeGrant(e.t, confID, confRedirect)
			clock.Add(2*time.Hour + time.Second)
			return access
		}},
		{"access token at its exact expiry", confID, func(e *env, clock *introspectClock) string {
			access, _ := e.codeGrant(e.t, confID, confRedirect)
			clock.Add(2 * time.Hour)
			return access
		}},
		{"expired refresh token", confID, func(e *env, clock *introspectClock) string {
			_, refresh := e.codeGrant(e.t, confID, confRedirect)
			clock.Add(72*time.Hour + time.Second)
			return refresh
		}},
		{"an authorization code is not a token", confID, func(e *env, _ *introspectClock) string {
			return e.authCode(e.t, confID, confRedirect, "read")
		}},
		{"another client's access token (foreign)", otherID, func(e *env, _ *introspectClock) string {
			access, _ := e.codeGrant(e.t, confID, confRedirect)
			return access
		}},
		{"another client's refresh token (foreign)", otherID, func(e *env, _ *introspectClock) string {
			_, refresh := e.codeGrant(e.t, confID, confRedirect)
			return refresh
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clock := newClockEnv(t)
			e.srv.Config.Issuer = issuer
			token := tt.token(e, clock)
			for _, hint := range []string{"", "access_token", "refresh_token"} {
				if got := e.introspect(tt.caller, token, hint); got["active"] != false {
					t.Fatalf("hint %q: answer %v, want inactive", hint, got)
				}
			}
		})
	}
}

// TestIntrospect_ForeignTokenStaysValid: a foreign caller learns nothing,
// and its request changes nothing.
func TestIntrospect_ForeignTokenStaysValid(t *testing.T) {
	e, _ := newClockEnv(t)
	access, _ := e.codeGrant(t, confID, confRedirect)
	if got := e.introspect(otherID, access, ""); got["active"] != false {
		t.Fatalf("foreign caller: %v", got)
	}
	if got := e.introspect(confID, access, ""); got["active"] != true {
		t.Fatalf("owner: %v", got)
	}
}

// TestIntrospect_PublicClientsCannotIntrospect: RFC 7662 2.1 requires the
// caller to authenticate, which a public client cannot.
func TestIntrospect_PublicClientsCannotIntrospect(t *testing.T) {
	tests := []struct {
		name       string
		req        func(token string) tokenReq
		wantHeader string
	}{
		{"client_id in the body", func(tok string) tokenReq { return tokenReq{body: tokenForm(tok, "client_id", pubID)} }, ""},
		{"Basic with an empty secret", func(tok string) tokenReq { return tokenReq{body: tokenForm(tok), basic: basic(pubID, "")} }, `Basic realm="oauth2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			access, _ := e.codeGrant(t, pubID, pubRedirect)
			w := e.call(introspection, tt.req(access).build())
			if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Body.String(), `{"error":"invalid_client"`) {
				t.Fatalf("status %d body %s", w.Code, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wantHeader {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tt.wantHeader)
			}
			checkTokenHeaders(t, w)
		})
	}
}

// TestIntrospect_StoreFailureIs503: an outage is reported, not hidden
// behind active:false.
func TestIntrospect_StoreFailureIs503(t *testing.T) {
	e := newEnv(t)
	fs := &outageStore{TokenStore: e.tokens}
	e.mgr.MapTokenStorage(fs)
	access, _ := e.codeGrant(t, confID, confRedirect)
	fs.failReads.Store(true)
	w := e.call(introspection, viaBasic(confID)(e, access, "").build())
	if w.Code != http.StatusServiceUnavailable || !strings.HasPrefix(w.Body.String(), `{"error":"temporarily_unavailable"`) {
		t.Fatalf("status %d body %s", w.Code, w.Body)
	}
	checkTokenHeaders(t, w)
}

// TestIntrospect_TokenWithoutExpiry: exp is left out for an access token
// that never expires (RFC 7662 2.2: exp is optional).
func TestIntrospect_TokenWithoutExpiry(t *testing.T) {
	e, clock := newClockEnv(t)
	e.mgr.SetClientTokenCfg(&manage.Config{})
	token := e.ccToken(t, confID)
	got := e.introspect(confID, token, "")
	want := map[string]any{"active": true, "client_id": confID, "scope": "read", "token_type": "Bearer", "iat": float64(clock.Now().Unix())}
	if !maps.Equal(got, want) {
		t.Fatalf("answer %v, want %v", got, want)
	}
}

// TestIntrospect_JWTAccessTokens: with the JWT generator (RFC 9068) the
// store still keeps each token's record, so a JWT access token is
// introspected like an opaque one, and revoked ones go inactive.
func TestIntrospect_JWTAccessTokens(t *testing.T) {
	e, clock := newClockEnv(t)
	e.srv.Config.Issuer = issuer
	ks := generates.NewKeySet()
	if err := ks.Add(generates.SigningKey{Method: jwt.SigningMethodHS256, Key: []byte(strings.Repeat("k", 32))}, true); err != nil {
		t.Fatal(err)
	}
	e.mgr.MapAccessGenerate(generates.NewJWTAccessGenerateFromKeySet(ks, generates.WithIssuer(issuer)))
	access, refresh := e.codeGrant(t, confID, confRedirect)
	if strings.Count(access, ".") != 2 {
		t.Fatalf("access token %q is not a JWT", access)
	}
	now := clock.Now().Unix()
	got := e.introspect(rsID, access, "access_token")
	want := map[string]any{"active": true, "client_id": confID, "sub": "u1", "scope": "read", "token_type": "Bearer",
		"iat": float64(now), "exp": float64(now + 7200), "iss": issuer}
	if !maps.Equal(got, want) {
		t.Fatalf("answer %v, want %v", got, want)
	}
	e.call(revocation, viaBasic(confID)(e, refresh, "").build())
	if got := e.introspect(rsID, access, ""); got["active"] != false {
		t.Fatalf("JWT of a revoked grant: %v", got)
	}
}

// TestIntrospect_OnlyDocumentedMembers: an active answer has only members
// RFC 7662 2.2 defines.
func TestIntrospect_OnlyDocumentedMembers(t *testing.T) {
	e, _ := newClockEnv(t)
	e.srv.Config.Issuer = issuer
	access, _ := e.codeGrant(t, confID, confRedirect)
	got := e.introspect(confID, access, "")
	allowed := []string{"active", "scope", "client_id", "username", "token_type", "exp", "iat", "nbf", "sub", "aud", "iss", "jti"}
	for k := range got {
		if !slices.Contains(allowed, k) {
			t.Fatalf("member %q is not one of RFC 7662 2.2", k)
		}
	}
	if _, ok := got["username"]; ok {
		t.Fatal("username is not given out")
	}
}

// TestIntrospect_ManagerWithoutTokenRevoker: introspection needs only the
// oauth2.Manager methods.
func TestIntrospect_ManagerWithoutTokenRevoker(t *testing.T) {
	e, _ := newClockEnv(t)
	access, refresh := e.codeGrant(t, confID, confRedirect)
	e.srv.Manager = seedManager{e.mgr}
	if got := e.introspect(confID, access, ""); got["active"] != true {
		t.Fatalf("access: %v", got)
	}
	if got := e.introspect(confID, refresh, ""); got["active"] != true {
		t.Fatalf("refresh: %v", got)
	}
	if _, err := e.mgr.LoadAccessToken(context.Background(), access); err != nil {
		t.Fatal(err)
	}
}

var _ oauth2.Manager = seedManager{}
