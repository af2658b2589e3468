package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/dpoptest"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

// Clients of the sender-constraint tests.
const (
	boundID     = "dpop-bound"              // dpop_bound_access_tokens
	parOnlyID   = "par-only"                // require_pushed_authorization_requests
	resID       = "res-client"              // registered resources
	exchangerID = "exchanger"               // may exchange tokens for some audiences
	ccOnlyID    = "cc-only"                 // client credentials only
	svcID       = "https://svc.example.com" // a service whose client ID is a resource
	resA        = "https://a.example.com/api"
	resB        = "https://b.example.com/api"
	pubCB       = "http://127.0.0.1/cb"
)

// senderEnv is a server over the real manager and memory store, JWT
// access tokens signed with an ES256 key of a KeySet, served over real
// HTTP with every endpoint of the sender-constraint features, on a
// settable clock shared by the store, the manager and the server.
type senderEnv struct {
	t       testing.TB
	ts      *httptest.Server
	srv     *server.Server
	mgr     *manage.Manager
	tokens  *countingStore
	clients *store.ClientStore
	keys    *generates.KeySet
	kv      oauth2.KVStore // shared by every server of the deployment
	now     atomic.Pointer[time.Time]
	authz   atomic.Int64 // authorizations served by the user handler
}

func (e *senderEnv) clock() time.Time { return *e.now.Load() }
func (e *senderEnv) advance(d time.Duration) {
	t := e.clock().Add(d)
	e.now.Store(&t)
}

func senderClients() []*models.Client {
	grants := []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials, oauth2.TokenExchange}
	return []*models.Client{
		{ID: confID, Secret: confSecret, RedirectURIs: []string{confRedirect}},
		{ID: pubID, Public: true, RedirectURIs: []string{pubCB}},
		{ID: boundID, Secret: confSecret, RedirectURIs: []string{confRedirect}, DPoPBoundAccessTokens: true},
		{ID: parOnlyID, Secret: confSecret, RedirectURIs: []string{confRedirect}, RequirePushedAuthorizationRequests: true},
		{ID: resID, Secret: confSecret, RedirectURIs: []string{confRedirect}, Resources: []string{resA, resB}},
		{ID: exchangerID, Secret: confSecret, RedirectURIs: []string{confRedirect}, GrantTypes: grants,
			TokenExchangeAudiences: []string{"urn:example:backend", resA}},
		{ID: rsID, Secret: confSecret},
		{ID: ccOnlyID, Secret: confSecret, GrantTypes: []oauth2.GrantType{oauth2.ClientCredentials}},
		{ID: svcID, Secret: confSecret, GrantTypes: grants, TokenExchangeAudiences: []string{resB}},
	}
}

func newSenderEnv(t testing.TB) *senderEnv {
	t.Helper()
	e := &senderEnv{t: t, clients: store.NewClientStore()}
	start := time.Now().Truncate(time.Second)
	e.now.Store(&start)
	// The file store: on this branch it is the store that keeps a record's
	// extension data, where DPoP keys and resources live (the memory
	// store does on the stores branch).
	ts, err := store.NewFileTokenStore(filepath.Join(t.TempDir(), "tokens.json"), store.WithFileClock(e.clock))
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := ts.(interface{ Close() error }); ok {
		t.Cleanup(func() { _ = c.Close() })
	}
	e.tokens = &countingStore{TokenStore: ts}
	e.kv = store.NewMemoryKV(e.clock)
	for _, c := range senderClients() {
		if err := e.clients.Set(c.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	key, err := generates.GenerateSigningKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	e.keys = generates.NewKeySet()
	if err := e.keys.Add(generates.SigningKey{Method: jwt.SigningMethodES256, Key: key}, true); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	e.ts = httptest.NewServer(mux)
	t.Cleanup(e.ts.Close)

	e.mgr = manage.NewDefaultManager()
	e.mgr.SetClock(e.clock)
	e.mgr.MapTokenStorage(e.tokens)
	e.mgr.MapClientStorage(e.clients)
	e.mgr.MapAccessGenerate(generates.NewJWTAccessGenerateFromKeySet(e.keys, generates.WithIssuer(e.ts.URL)))
	e.srv = e.newServer()
	e.route(mux, e.srv)
	return e
}

// newServer returns another server over the same manager and store: a
// second process of the same deployment.
func (e *senderEnv) newServer() *server.Server {
	cfg := server.NewConfig()
	cfg.Issuer = e.ts.URL
	cfg.AllowedGrantTypes = append(cfg.AllowedGrantTypes, oauth2.TokenExchange)
	cfg.IntrospectionClients = []string{rsID}
	srv := server.NewServer(cfg, e.mgr)
	srv.SetClock(e.clock)
	srv.SetKeySet(e.keys)
	srv.SetKVStore(e.kv)
	srv.SetUserAuthorizationHandler(func(w http.ResponseWriter, r *http.Request) (string, error) {
		e.authz.Add(1)
		return "u1", nil
	})
	return srv
}

// route serves the endpoints of srv on mux, with /api, a protected
// resource that answers the token's client, user and scope.
func (e *senderEnv) route(mux *http.ServeMux, srv *server.Server) {
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) { _ = srv.HandleAuthorizeRequest(w, r) })
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) { _ = srv.HandleTokenRequest(w, r) })
	mux.HandleFunc("/par", func(w http.ResponseWriter, r *http.Request) { _ = srv.HandlePushedAuthorizationRequest(w, r) })
	mux.HandleFunc("/introspect", func(w http.ResponseWriter, r *http.Request) { _ = srv.HandleIntrospectionRequest(w, r) })
	mux.HandleFunc("/revoke", func(w http.ResponseWriter, r *http.Request) { _ = srv.HandleRevocationRequest(w, r) })
	mux.HandleFunc("/.well-known/oauth-authorization-server", srv.HandleMetadataRequest)
	mux.Handle("/userinfo", srv.UserInfoHandler(nil))
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		ti, err := srv.ValidateResourceRequest(w, r)
		if err != nil {
			srv.WriteResourceError(w, r, err)
			return
		}
		_, _ = io.WriteString(w, ti.GetClientID()+" "+ti.GetUserID()+" "+ti.GetScope())
	})
}

func (e *senderEnv) issued() int64 { return e.tokens.issued.Load() }

// post sends a form to path with Basic credentials (when id is not "") and
// a DPoP header (when proof is not ""), and decodes the JSON answer.
func (e *senderEnv) post(path string, form url.Values, id, proof string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(confSecret))
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return e.do(req)
}

func (e *senderEnv) do(req *http.Request) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var data map[string]any
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &data); err != nil {
			e.t.Fatalf("body %q: %v", b, err)
		}
	}
	return resp, data
}

// proofFor makes a proof of p for a POST to path.
func (e *senderEnv) proofFor(p *dpoptest.Prover, path string) string {
	return p.Proof(http.MethodPost, e.ts.URL+path, "")
}

// authorize calls /authorize with query (client_id first), not following
// the redirect, and returns the response.
func (e *senderEnv) authorize(query url.Values) *http.Response {
	e.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.ts.URL + "/authorize?" + query.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// redirected returns the parameters of the redirect of an authorize
// response, failing unless it is one.
func (e *senderEnv) redirected(resp *http.Response) url.Values {
	e.t.Helper()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize answered %d, want a redirect", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Query()
}

// code runs an authorization request of clientID with extra parameters and
// returns its code.
func (e *senderEnv) code(clientID, redirect string, extra url.Values) string {
	e.t.Helper()
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect}, "state": {"st"}}
	for k, vs := range extra {
		q[k] = vs
	}
	got := e.redirected(e.authorize(q))
	if got.Get("code") == "" {
		e.t.Fatalf("no code: %v", got)
	}
	return got.Get("code")
}

// introspect has the resource server introspect token.
func (e *senderEnv) introspect(token string) map[string]any {
	e.t.Helper()
	resp, data := e.post("/introspect", url.Values{"token": {token}}, rsID, "")
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("introspect %d %v", resp.StatusCode, data)
	}
	return data
}

// jwtClaims verifies an access token with the key set, as a resource
// server does, and returns its claims.
func (e *senderEnv) jwtClaims(token string) *generates.JWTAccessClaims {
	e.t.Helper()
	c := &generates.JWTAccessClaims{}
	if _, err := jwt.ParseWithClaims(token, c, e.keys.Keyfunc, jwt.WithTimeFunc(e.clock)); err != nil {
		e.t.Fatalf("JWT access token: %v", err)
	}
	return c
}

// api calls /api with the Authorization header authz and the DPoP proof
// proof (each when not "").
func (e *senderEnv) api(authz, proof string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.ts.URL+"/api", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// wantError checks an error answer: status and error code.
func wantError(t testing.TB, resp *http.Response, data map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || data["error"] != code {
		t.Fatalf("answer %d %v, want %d %s", resp.StatusCode, data, status, code)
	}
	if _, ok := data["access_token"]; ok {
		t.Fatal("an error answer carries an access token")
	}
}

// recorder records the answer of a handler called in-process.
type recorder struct{ *httptest.ResponseRecorder }

func newRecorder() *recorder { return &recorder{httptest.NewRecorder()} }

// result returns the response and its decoded JSON body.
func (r *recorder) result(t testing.TB) (*http.Response, map[string]any) {
	t.Helper()
	var data map[string]any
	if b := r.Body.Bytes(); len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &data); err != nil {
			t.Fatal(err)
		}
	}
	return r.Result(), data
}
