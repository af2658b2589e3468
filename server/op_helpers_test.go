package server_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	oauth2d "github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

// The OpenID Provider of these tests: the library's Server over the real
// manager and stores, served over real HTTP, with a small application that
// implements the UserAuthenticationHandler the way a web application does
// (a session cookie, a login page, a consent page), and relying parties
// that use golang.org/x/oauth2 and github.com/coreos/go-oidc/v3.

const (
	opRPID       = "rp"
	opRPSecret   = "rp-secret-Wq7"
	opRPRedirect = "https://rp.test/cb"
	opPublicRP   = "spa"
	opSPARedirct = "https://spa.test/cb"
	opNonceRP    = "rp-hybrid"
)

// countingTokens counts what the store is asked to keep, so that a test can
// check that an error path stored nothing.
type countingTokens struct {
	oauth2d.TokenStore
	writes atomic.Int64
	last   atomic.Pointer[oauth2d.TokenInfo]
}

// lastIssued returns the record of the last code exchange or refresh.
func (c *countingTokens) lastIssued() oauth2d.TokenInfo {
	if p := c.last.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *countingTokens) Create(ctx context.Context, info oauth2d.TokenInfo) error {
	c.writes.Add(1)
	return c.TokenStore.Create(ctx, info)
}

func (c *countingTokens) ExchangeCode(ctx context.Context, code string, issued oauth2d.TokenInfo) error {
	c.writes.Add(1)
	c.last.Store(&issued)
	return c.TokenStore.ExchangeCode(ctx, code, issued)
}

func (c *countingTokens) RotateRefresh(ctx context.Context, refresh string, issued oauth2d.TokenInfo) error {
	c.writes.Add(1)
	c.last.Store(&issued)
	return c.TokenStore.RotateRefresh(ctx, refresh, issued)
}

// opSession is a browser's session at the provider's application.
type opSession struct {
	user     string
	authTime time.Time
	sid      string
	consents map[string]bool
	// fresh records, per authorization request (its URL), the pages the
	// End-User completed while it was pending.
	fresh map[string]map[server.Interaction]bool
}

// opInteraction is one page the server asked the application to show.
type opInteraction struct {
	kind   server.Interaction
	reason oidc.Reason
	hint   string // login_hint
}

// opApp is the provider's application: sessions, login and consent.
type opApp struct {
	t        testing.TB
	clock    *testClock
	mu       sync.Mutex
	sessions map[string]*opSession
	asked    []opInteraction
	// calls counts the handler's calls.
	calls atomic.Int64
}

const opCookie = "op_session"

func (a *opApp) session(r *http.Request) *opSession {
	c, err := r.Cookie(opCookie)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

// authenticate is the server's UserAuthenticationHandler.
func (a *opApp) authenticate(w http.ResponseWriter, r *http.Request, req *server.AuthorizeRequest) (*server.Authentication, error) {
	a.calls.Add(1)
	ret := r.URL.RequestURI()
	switch req.Interaction {
	case server.InteractionNone:
		s := a.session(r)
		if s == nil {
			return nil, nil
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		return &server.Authentication{
			UserID: s.user, AuthTime: s.authTime, SessionID: s.sid,
			ACR: "urn:oauth2d:test:pwd", AMR: []string{"pwd"},
			Consented:        s.consents[req.ClientID],
			AuthenticatedNow: s.fresh[ret][server.InteractionLogin],
			ConsentedNow:     s.fresh[ret][server.InteractionConsent],
		}, nil
	case server.InteractionLogin:
		hint := ""
		if req.OpenID != nil {
			hint = req.OpenID.LoginHint
		}
		a.mu.Lock()
		a.asked = append(a.asked, opInteraction{req.Interaction, req.Reason, hint})
		a.mu.Unlock()
		http.Redirect(w, r, "/login?"+url.Values{"return": {ret}}.Encode(), http.StatusFound)
		return nil, nil
	default:
		a.mu.Lock()
		a.asked = append(a.asked, opInteraction{req.Interaction, req.Reason, ""})
		a.mu.Unlock()
		http.Redirect(w, r, "/consent?"+url.Values{"return": {ret}, "client_id": {req.ClientID}}.Encode(), http.StatusFound)
		return nil, nil
	}
}

func (a *opApp) interactions() []opInteraction {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]opInteraction(nil), a.asked...)
}

func (a *opApp) markFresh(s *opSession, ret string, i server.Interaction) {
	if s.fresh == nil {
		s.fresh = map[string]map[server.Interaction]bool{}
	}
	if s.fresh[ret] == nil {
		s.fresh[ret] = map[server.Interaction]bool{}
	}
	s.fresh[ret][i] = true
}

// login serves the login page: GET shows it, POST signs the user in (no
// password: the tests are about the protocol) and goes back.
func (a *opApp) login(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		io.WriteString(w, "login page")
		return
	}
	user, ret := r.PostFormValue("username"), r.PostFormValue("return")
	a.mu.Lock()
	id := ""
	if c, err := r.Cookie(opCookie); err == nil && a.sessions[c.Value] != nil {
		id = c.Value
	} else {
		id = rand.Text()
		a.sessions[id] = &opSession{consents: map[string]bool{}}
	}
	s := a.sessions[id]
	if s.user != user {
		s.consents = map[string]bool{}
	}
	s.user, s.authTime, s.sid = user, a.clock.Now().Truncate(time.Second), "sid-"+id[:8]
	a.markFresh(s, ret, server.InteractionLogin)
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: opCookie, Value: id, Path: "/"})
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

// consent serves the consent page: POST records consent and goes back.
func (a *opApp) consent(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		io.WriteString(w, "consent page")
		return
	}
	s := a.session(r)
	if s == nil {
		http.Error(w, "no session", http.StatusForbidden)
		return
	}
	ret := r.PostFormValue("return")
	a.mu.Lock()
	s.consents[r.PostFormValue("client_id")] = true
	a.markFresh(s, ret, server.InteractionConsent)
	a.mu.Unlock()
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

// newTestClock returns a clock (device_helpers_test.go) at now, to share
// between the server, the manager, the ID tokens and the application.
func newTestClock() *testClock { return &testClock{now: time.Now().Truncate(time.Second)} }

// opEnv is the OpenID Provider with its application and relying parties.
type opEnv struct {
	t      testing.TB
	srv    *server.Server
	mgr    *manage.Manager
	tokens *countingTokens
	ks     *generates.KeySet
	gen    *generates.JWTIDTokenGenerate
	ts     *httptest.Server
	app    *opApp
	clock  *testClock
	users  map[string]*oidc.Claims
	rp     oauth2.Config
}

// newOPEnv returns a running OpenID Provider. configure runs before the
// server starts serving.
func newOPEnv(t testing.TB, configure ...func(*opEnv)) *opEnv {
	t.Helper()
	e := &opEnv{t: t, clock: newTestClock(), users: map[string]*oidc.Claims{
		"alice": {Name: "Alice Liddell", GivenName: "Alice", Email: "alice@example.com", EmailVerified: true},
		"bob":   {Name: "Bob", Email: "bob@example.com"},
	}}
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	e.tokens = &countingTokens{TokenStore: ts}
	kv, _ := ts.(oauth2d.KVStore) // for pushed requests (RFC 9126)
	clients := store.NewClientStore()
	for _, c := range []*models.Client{
		{ID: opRPID, Secret: opRPSecret, RedirectURIs: []string{opRPRedirect}},
		{ID: opPublicRP, Public: true, RedirectURIs: []string{opSPARedirct}},
		{ID: opNonceRP, Secret: opRPSecret, RedirectURIs: []string{opRPRedirect}},
		{ID: "rp-es512", Secret: opRPSecret, RedirectURIs: []string{opRPRedirect}, IDTokenSignedResponseAlg: "ES512"},
		{ID: "rp-pairwise", Secret: opRPSecret, RedirectURIs: []string{opRPRedirect}, SubjectType: oidc.SubjectPairwise},
		{ID: "rp-code-only", Secret: opRPSecret, RedirectURIs: []string{opRPRedirect},
			GrantTypes: []oauth2d.GrantType{oauth2d.AuthorizationCode, oauth2d.Refreshing}},
	} {
		if err := clients.Set(c.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	e.mgr = manage.NewDefaultManager()
	e.mgr.MapTokenStorage(e.tokens)
	e.mgr.MapClientStorage(clients)
	e.mgr.SetClock(e.clock.Now)
	e.srv = server.NewDefaultServer(e.mgr)
	e.srv.SetClock(e.clock.Now)
	e.srv.SetKVStore(kv)

	mux := http.NewServeMux()
	e.ts = httptest.NewServer(mux)
	t.Cleanup(e.ts.Close)
	e.srv.Config.Issuer = e.ts.URL

	e.ks = generates.NewKeySet()
	if err := e.ks.Add(generates.SigningKey{Method: jwt.SigningMethodRS256, Key: rs256Key()}, true); err != nil {
		t.Fatal(err)
	}
	e.srv.SetKeySet(e.ks)
	subjects, err := oidc.NewSubjects([]byte("pairwise-secret-of-the-test-server!"))
	if err != nil {
		t.Fatal(err)
	}
	e.gen, err = generates.NewJWTIDTokenGenerate(e.ks, e.ts.URL, generates.WithSubjects(subjects),
		generates.WithIDTokenClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	e.mgr.MapIDTokenGenerate(e.gen)
	e.srv.SetUserClaimsHandler(func(_ context.Context, userID string) (*oidc.Claims, error) {
		if c, ok := e.users[userID]; ok {
			return c, nil
		}
		return nil, fmt.Errorf("user %q: %w", userID, oauth2d.ErrNotFound)
	})
	e.app = &opApp{t: t, clock: e.clock, sessions: map[string]*opSession{}}
	e.srv.SetUserAuthenticationHandler(e.app.authenticate)
	for _, fn := range configure {
		fn(e)
	}

	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		if err := e.srv.HandleAuthorizeRequest(w, r); err != nil {
			t.Errorf("HandleAuthorizeRequest: %v", err)
		}
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if err := e.srv.HandleTokenRequest(w, r); err != nil {
			t.Errorf("HandleTokenRequest: %v", err)
		}
	})
	mux.HandleFunc(server.PathUserInfo, e.srv.HandleUserInfoRequest)
	mux.HandleFunc(server.OpenIDConfigurationPath(e.ts.URL), e.srv.HandleOpenIDConfigurationRequest)
	mux.HandleFunc(server.PathJWKS, e.srv.HandleJWKSRequest)
	mux.HandleFunc(server.PathPushedAuthorization, func(w http.ResponseWriter, r *http.Request) {
		if err := e.srv.HandlePushedAuthorizationRequest(w, r); err != nil {
			t.Errorf("HandlePushedAuthorizationRequest: %v", err)
		}
	})
	mux.HandleFunc("/login", e.app.login)
	mux.HandleFunc("/consent", e.app.consent)

	e.rp = oauth2.Config{
		ClientID: opRPID, ClientSecret: opRPSecret, RedirectURL: opRPRedirect,
		Scopes:   []string{gooidc.ScopeOpenID, "profile", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: e.ts.URL + "/authorize", TokenURL: e.ts.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	return e
}

// provider discovers the provider with go-oidc, over HTTP.
func (e *opEnv) provider() *gooidc.Provider {
	e.t.Helper()
	ctx := gooidc.ClientContext(context.Background(), e.ts.Client())
	p, err := gooidc.NewProvider(ctx, e.ts.URL)
	if err != nil {
		e.t.Fatalf("go-oidc NewProvider: %v", err)
	}
	return p
}

// verifier verifies ID tokens for clientID at the test clock's time.
func (e *opEnv) verifier(clientID string) *gooidc.IDTokenVerifier {
	return e.provider().Verifier(&gooidc.Config{ClientID: clientID, Now: e.clock.Now})
}

// browser is a user agent with a cookie jar that follows redirects within
// the provider and stops at a relying party's redirect URI.
type browser struct {
	t      testing.TB
	e      *opEnv
	client *http.Client
}

func (e *opEnv) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != strings.TrimPrefix(e.ts.URL, "http://") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return &browser{t: e.t, e: e, client: c}
}

// result is where an authorization request ended.
type result struct {
	status int
	// page is "login" or "consent" when the request stopped on that page.
	page   string
	ret    string // the page's return URL
	params url.Values
	// mode is how params came: "query", "fragment" or "form_post"; ""
	// when the request ended at the provider (an error page).
	mode string
	body string
	resp *http.Response
}

var formInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// get follows authURL and returns where it ended.
func (b *browser) get(authURL string) result {
	b.t.Helper()
	resp, err := b.client.Get(authURL)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.result(resp)
}

func (b *browser) result(resp *http.Response) result {
	b.t.Helper()
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, body: string(raw), resp: resp}
	switch {
	case resp.StatusCode == http.StatusFound:
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			b.t.Fatal(err)
		}
		r.mode = "query"
		rawParams := loc.RawQuery
		if loc.Fragment != "" {
			r.mode, rawParams = "fragment", loc.EscapedFragment()
		}
		if r.params, err = url.ParseQuery(rawParams); err != nil {
			b.t.Fatal(err)
		}
	case resp.Request.URL.Path == "/login" || resp.Request.URL.Path == "/consent":
		r.page = strings.TrimPrefix(resp.Request.URL.Path, "/")
		r.ret = resp.Request.URL.Query().Get("return")
	case strings.Contains(r.body, `<form method="post"`):
		r.mode = "form_post"
		r.params = url.Values{}
		for _, m := range formInput.FindAllStringSubmatch(r.body, -1) {
			r.params.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
		}
	}
	return r
}

// post submits a form of the provider's pages.
func (b *browser) post(path string, form url.Values) result {
	b.t.Helper()
	resp, err := b.client.PostForm(b.e.ts.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.result(resp)
}

// authorize follows authURL, signing in as user on the login page and
// consenting on the consent page when they are shown, and returns where
// it ended.
func (b *browser) authorize(authURL, user string) result {
	b.t.Helper()
	r := b.get(authURL)
	for range 4 {
		switch r.page {
		case "login":
			r = b.post("/login", url.Values{"username": {user}, "return": {r.ret}})
		case "consent":
			r = b.post("/consent", url.Values{"return": {r.ret}, "client_id": {r.resp.Request.URL.Query().Get("client_id")}})
		default:
			return r
		}
	}
	b.t.Fatalf("still on the %s page", r.page)
	return r
}

// authURL builds an authorization URL of the relying party with a fresh
// state, the parameters in extra and PKCE with verifier.
func (e *opEnv) authURL(state, verifier string, extra map[string]string) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for k, v := range extra {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return e.rp.AuthCodeURL(state, opts...)
}

// rawAuthURL builds an authorization URL from params alone.
func (e *opEnv) rawAuthURL(params url.Values) string {
	return e.ts.URL + "/authorize?" + params.Encode()
}

// codeFlow runs a sign-in of user with nonce and PKCE and returns the
// token response.
func (e *opEnv) codeFlow(b *browser, user string, extra map[string]string) (*oauth2.Token, result) {
	e.t.Helper()
	verifier := oauth2.GenerateVerifier()
	state := rand.Text()
	if extra == nil {
		extra = map[string]string{}
	}
	if _, ok := extra["nonce"]; !ok {
		extra["nonce"] = rand.Text()
	}
	r := b.authorize(e.authURL(state, verifier, extra), user)
	if r.params.Get("state") != state || r.params.Get("code") == "" {
		e.t.Fatalf("authorization ended with %d %s %v %q", r.status, r.page, r.params, r.body)
	}
	tok, err := e.rp.Exchange(e.ctx(), r.params.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	return tok, r
}

func (e *opEnv) ctx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, e.ts.Client())
}

// tokenPost posts a raw token request with the relying party's Basic
// credentials and returns the status and JSON body.
func (e *opEnv) tokenPost(clientID string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, opRPSecret)
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, m
}

// idTokenOf returns the raw id_token of a token response, failing when
// there is none.
func idTokenOf(t testing.TB, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("the token response has no id_token")
	}
	return raw
}

// claimsOfIDToken verifies raw for clientID and returns its claims.
func (e *opEnv) claimsOfIDToken(clientID, raw string) (*gooidc.IDToken, map[string]any) {
	e.t.Helper()
	idt, err := e.verifier(clientID).Verify(e.ctx(), raw)
	if err != nil {
		e.t.Fatalf("go-oidc Verify: %v", err)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		e.t.Fatal(err)
	}
	return idt, c
}

// scriptSHA256 is the CSP source of a script (CSP 3 hash-source).
func scriptSHA256(script string) string {
	sum := sha256.Sum256([]byte(script))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// authTime returns the auth_time claim of ID token claims, zero without.
func authTime(claims map[string]any) time.Time {
	v, ok := claims["auth_time"].(float64)
	if !ok {
		return time.Time{}
	}
	return time.Unix(int64(v), 0)
}
