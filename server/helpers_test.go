package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

// Test clients. Secrets are distinctive so that a test can check they never
// appear in a response.
const (
	confID       = "000000"
	confSecret   = "999999-conf-Zq8v"
	confRedirect = "http://localhost:9094/oauth2"
	pubID        = "public"
	pubRedirect  = "http://localhost:9094/cb?app=1"
	basicOnlyID  = "basic-only"
	postOnlyID   = "post-only"
	limitedID    = "limited"
	seedID       = "seed"
	seedDomain   = "http://localhost:9094"
	issuer       = "https://as.example.com"
	// RFC 7636 Appendix B.
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func testClients() []*models.Client {
	return []*models.Client{
		{ID: confID, Secret: confSecret, RedirectURIs: []string{confRedirect}},
		{ID: pubID, Public: true, RedirectURIs: []string{pubRedirect}},
		{ID: basicOnlyID, Secret: confSecret, RedirectURIs: []string{confRedirect}, TokenEndpointAuthMethod: server.AuthMethodBasic},
		{ID: postOnlyID, Secret: confSecret, RedirectURIs: []string{confRedirect}, TokenEndpointAuthMethod: server.AuthMethodPost},
		{ID: limitedID, Secret: confSecret, RedirectURIs: []string{confRedirect},
			GrantTypes: []oauth2.GrantType{oauth2.AuthorizationCode}, Scopes: []string{"read"}},
		{ID: seedID, Secret: confSecret, Domain: seedDomain},
	}
}

// countingStore is the real memory token store, counting every code or
// token it is asked to keep, so that a test can check that an error path
// issued nothing. fail, when set, makes every write fail with that error.
type countingStore struct {
	oauth2.TokenStore
	issued atomic.Int64
	fail   atomic.Pointer[error]
}

func (c *countingStore) failure() error {
	if p := c.fail.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *countingStore) Create(ctx context.Context, info oauth2.TokenInfo) error {
	if err := c.failure(); err != nil {
		return err
	}
	err := c.TokenStore.Create(ctx, info)
	if err == nil {
		c.issued.Add(1)
	}
	return err
}

func (c *countingStore) ExchangeCode(ctx context.Context, code string, issued oauth2.TokenInfo) error {
	if err := c.failure(); err != nil {
		return err
	}
	err := c.TokenStore.ExchangeCode(ctx, code, issued)
	if err == nil {
		c.issued.Add(1)
	}
	return err
}

func (c *countingStore) RotateRefresh(ctx context.Context, refresh string, issued oauth2.TokenInfo) error {
	if err := c.failure(); err != nil {
		return err
	}
	err := c.TokenStore.RotateRefresh(ctx, refresh, issued)
	if err == nil {
		c.issued.Add(1)
	}
	return err
}

type env struct {
	t       testing.TB
	srv     *server.Server
	mgr     *manage.Manager
	tokens  *countingStore
	clients *store.ClientStore
}

// newEnv returns a server over the real manager and memory stores, with
// the test clients registered and a user "u1" logged in at /authorize.
func newEnv(t testing.TB) *env {
	t.Helper()
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, tokens: &countingStore{TokenStore: ts}, clients: store.NewClientStore()}
	for _, c := range testClients() {
		if err := e.clients.Set(c.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	e.mgr = manage.NewDefaultManager()
	e.mgr.MapTokenStorage(e.tokens)
	e.mgr.MapClientStorage(e.clients)
	e.srv = server.NewDefaultServer(e.mgr)
	e.srv.SetUserAuthorizationHandler(func(w http.ResponseWriter, r *http.Request) (string, error) {
		return "u1", nil
	})
	return e
}

func (e *env) issued() int64 { return e.tokens.issued.Load() }

// tokenReq builds a token request: method, body (form-encoded unless
// contentType says otherwise), query, and headers as key/value pairs.
type tokenReq struct {
	method      string
	query       string
	body        string
	contentType string
	basic       *[2]string
	header      map[string]string
}

func (tr tokenReq) build() *http.Request {
	method := tr.method
	if method == "" {
		method = http.MethodPost
	}
	target := "/token"
	if tr.query != "" {
		target += "?" + tr.query
	}
	var body io.Reader
	if tr.body != "" {
		body = strings.NewReader(tr.body)
	}
	r := httptest.NewRequest(method, target, body)
	ct := tr.contentType
	if ct == "" && method == http.MethodPost {
		ct = "application/x-www-form-urlencoded"
	}
	if ct != "-" && ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if tr.basic != nil {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
			[]byte(url.QueryEscape(tr.basic[0])+":"+url.QueryEscape(tr.basic[1]))))
	}
	for k, v := range tr.header {
		r.Header.Set(k, v)
	}
	return r
}

func basic(id, secret string) *[2]string { return &[2]string{id, secret} }

// do serves r with the token endpoint and returns the recorder and the
// decoded JSON body.
func (e *env) token(r *http.Request) (*httptest.ResponseRecorder, map[string]any) {
	e.t.Helper()
	w := httptest.NewRecorder()
	if err := e.srv.HandleTokenRequest(w, r); err != nil {
		e.t.Fatalf("HandleTokenRequest returned %v", err)
	}
	var data map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &data); err != nil {
		e.t.Fatalf("token response is not JSON: %q", w.Body.String())
	}
	return w, data
}

// checkTokenHeaders checks the headers every token response has
// (RFC 6749 5.1).
func checkTokenHeaders(t testing.TB, w *httptest.ResponseRecorder) {
	t.Helper()
	h := w.Result().Header
	if got := h.Get("Content-Type"); got != "application/json;charset=UTF-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := h.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q", got)
	}
}

// authorize serves GET /authorize?query and returns the recorder and the
// error HandleAuthorizeRequest returned.
func (e *env) authorize(query string) (*httptest.ResponseRecorder, error) {
	r := httptest.NewRequest(http.MethodGet, "/authorize?"+query, nil)
	w := httptest.NewRecorder()
	err := e.srv.HandleAuthorizeRequest(w, r)
	return w, err
}

// redirectParams returns the parameters of a redirect's Location: its query,
// or its fragment when inFragment.
func redirectParams(t testing.TB, w *httptest.ResponseRecorder, inFragment bool) (*url.URL, url.Values) {
	t.Helper()
	if w.Code != http.StatusFound {
		t.Fatalf("status %d, want 302; body %q", w.Code, w.Body.String())
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	raw := loc.RawQuery
	if inFragment {
		raw = loc.EscapedFragment()
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("Location parameters: %v", err)
	}
	return loc, v
}

// authCode runs an authorization request for the confidential client with
// PKCE and returns the code.
func (e *env) authCode(t testing.TB, clientID, redirect, scope string) string {
	t.Helper()
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect},
		"state": {"xyz"}, "code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"},
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	w, err := e.authorize(q.Encode())
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	_, v := redirectParams(t, w, false)
	if v.Get("code") == "" {
		t.Fatalf("no code in redirect: %v", v)
	}
	return v.Get("code")
}
