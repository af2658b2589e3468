package manage_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	stderrors "errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
)

// clock is a settable clock shared by a manager and its store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().UTC().Truncate(time.Microsecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Test clients. Secrets are distinctive so that a test can check they never
// appear in an error text.
const (
	confSecret   = "conf-secret-Zq8v"
	domainSecret = "domain-secret-Jw3k"
	confRedirect = "https://client.example.com/cb"
	pubRedirect  = "https://pub.example.com/cb"
	loopRedirect = "http://127.0.0.1/cb"
	domainBase   = "https://client.example.org"
	// RFC 7636 Appendix B.
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func testClients() []*models.Client {
	return []*models.Client{
		{ID: "conf", Secret: confSecret, RedirectURIs: []string{confRedirect}},
		{ID: "conf2", Secret: confSecret, RedirectURIs: []string{confRedirect}},
		{ID: "pub", Public: true, RedirectURIs: []string{pubRedirect, loopRedirect}},
		{ID: "domain", Secret: domainSecret, Domain: domainBase},
		{ID: "limited", Secret: confSecret, RedirectURIs: []string{confRedirect},
			GrantTypes: []oauth2.GrantType{oauth2.AuthorizationCode}, Scopes: []string{"read", "write"}},
		{ID: "ccOnly", Secret: confSecret, GrantTypes: []oauth2.GrantType{oauth2.ClientCredentials}},
		{ID: "implicitName", Public: true, RedirectURIs: []string{pubRedirect}, GrantTypes: []oauth2.GrantType{"implicit"}},
		{ID: "implicitConst", Public: true, RedirectURIs: []string{pubRedirect}, GrantTypes: []oauth2.GrantType{oauth2.Implicit}},
		{ID: "pubCC", Public: true, GrantTypes: []oauth2.GrantType{oauth2.ClientCredentials}},
		{ID: "nowhere", Secret: confSecret},
	}
}

// env is a manager over the real memory stores and the opaque generators,
// with a settable clock shared by the manager and its token store.
type env struct {
	t       *testing.T
	ctx     context.Context
	clock   *clock
	m       *manage.Manager
	tokens  oauth2.TokenStore
	clients map[string]*models.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: newClock(), clients: map[string]*models.Client{}}
	e.tokens = newTokenStore(t, e.clock.Now)
	cs := newClientStore()
	for _, c := range testClients() {
		e.clients[c.ID] = c
		setClient(cs, c)
	}
	e.m = manage.NewDefaultManager()
	e.m.MapClientStorage(cs)
	e.m.MapTokenStorage(e.tokens)
	e.m.SetClock(e.clock.Now)
	return e
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize issues a code for client with the redirect URI and an S256
// challenge of verifier ("" for none).
func (e *env) authorize(client, redirect, scope, verifier string) oauth2.TokenInfo {
	e.t.Helper()
	tgr := &oauth2.TokenGenerateRequest{ClientID: client, UserID: "alice", RedirectURI: redirect, Scope: scope}
	if verifier != "" {
		tgr.CodeChallenge = s256(verifier)
		tgr.CodeChallengeMethod = oauth2.CodeChallengeS256
	}
	ti, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, tgr)
	if err != nil {
		e.t.Fatalf("GenerateAuthToken: %v", err)
	}
	return ti
}

// exchange redeems code as the confidential client "conf".
func (e *env) exchange(code, redirect, verifier string) (oauth2.TokenInfo, error) {
	return e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret, Code: code, RedirectURI: redirect, CodeVerifier: verifier,
	})
}

// issueGrant runs the authorization code grant for "conf" and returns the
// issued tokens.
func (e *env) issueGrant(scope string) oauth2.TokenInfo {
	e.t.Helper()
	code := e.authorize("conf", confRedirect, scope, rfcVerifier)
	ti, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	return ti
}

func (e *env) refresh(client, secret, refresh, scope string) (oauth2.TokenInfo, error) {
	return e.m.RefreshAccessToken(e.ctx, &oauth2.TokenGenerateRequest{
		ClientID: client, ClientSecret: secret, Refresh: refresh, Scope: scope,
	})
}

// accessLive reports whether access is a live access token.
func (e *env) accessLive(access string) bool {
	e.t.Helper()
	_, err := e.m.LoadAccessToken(e.ctx, access)
	if err != nil && !stderrors.Is(err, errors.ErrInvalidToken) {
		e.t.Fatalf("LoadAccessToken: unexpected error %v", err)
	}
	return err == nil
}

// refreshLive reports whether refresh is a live refresh token.
func (e *env) refreshLive(refresh string) bool {
	e.t.Helper()
	_, err := e.m.LoadRefreshToken(e.ctx, refresh)
	if err != nil && !stderrors.Is(err, errors.ErrInvalidGrant) {
		e.t.Fatalf("LoadRefreshToken: unexpected error %v", err)
	}
	return err == nil
}

// wantErr fails unless err matches want; it also fails if ti is not nil
// (no token on an error path) or the error text holds a secret.
func wantErr(t *testing.T, ti oauth2.TokenInfo, err, want error, secrets ...string) {
	t.Helper()
	if !stderrors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	if ti != nil {
		t.Fatalf("a token was returned with the error %v", err)
	}
	noSecrets(t, err, secrets...)
}

func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range append(secrets, confSecret, domainSecret, rfcVerifier) {
		if s != "" && strings.Contains(msg, s) {
			t.Fatalf("error text %q contains a secret value", msg)
		}
	}
}

// failingStore wraps a store and fails the chosen operations with err.
type failingStore struct {
	oauth2.TokenStore
	err  error
	fail map[string]bool
}

func (f *failingStore) Create(ctx context.Context, info oauth2.TokenInfo) error {
	if f.fail["Create"] {
		return f.err
	}
	return f.TokenStore.Create(ctx, info)
}

func (f *failingStore) GetByCode(ctx context.Context, code string) (oauth2.TokenInfo, error) {
	if f.fail["GetByCode"] {
		return nil, f.err
	}
	return f.TokenStore.GetByCode(ctx, code)
}

func (f *failingStore) GetByAccess(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	if f.fail["GetByAccess"] {
		return nil, f.err
	}
	return f.TokenStore.GetByAccess(ctx, access)
}

func (f *failingStore) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	if f.fail["GetByRefresh"] {
		return nil, f.err
	}
	return f.TokenStore.GetByRefresh(ctx, refresh)
}

func (f *failingStore) ExchangeCode(ctx context.Context, code string, issued oauth2.TokenInfo) error {
	if f.fail["ExchangeCode"] {
		return f.err
	}
	return f.TokenStore.ExchangeCode(ctx, code, issued)
}

func (f *failingStore) RotateRefresh(ctx context.Context, refresh string, issued oauth2.TokenInfo) error {
	if f.fail["RotateRefresh"] {
		return f.err
	}
	return f.TokenStore.RotateRefresh(ctx, refresh, issued)
}

func (f *failingStore) RevokeGrant(ctx context.Context, grantID string) error {
	if f.fail["RevokeGrant"] {
		return f.err
	}
	return f.TokenStore.RevokeGrant(ctx, grantID)
}
