package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
)

const (
	// otherID is a second confidential client, registered with no
	// restriction, that tries to revoke or introspect tokens it was not
	// given.
	otherID = seedID
	// rsID is a resource server allowed to introspect every token
	// (Config.IntrospectionClients).
	rsID = "resource-server"
)

// endpointFunc is HandleRevocationRequest or HandleIntrospectionRequest.
type endpointFunc func(*server.Server) func(http.ResponseWriter, *http.Request) error

var (
	revocation endpointFunc = func(s *server.Server) func(http.ResponseWriter, *http.Request) error {
		return s.HandleRevocationRequest
	}
	introspection endpointFunc = func(s *server.Server) func(http.ResponseWriter, *http.Request) error {
		return s.HandleIntrospectionRequest
	}
)

// call serves r with the endpoint and returns the recorder.
func (e *env) call(ep endpointFunc, r *http.Request) *httptest.ResponseRecorder {
	e.t.Helper()
	w := httptest.NewRecorder()
	if err := ep(e.srv)(w, r); err != nil {
		e.t.Fatalf("handler returned %v", err)
	}
	return w
}

// codeGrant runs the authorization code flow with PKCE for the client and
// returns its access and refresh tokens (scope "read", user "u1").
func (e *env) codeGrant(t testing.TB, clientID, redirect string) (access, refresh string) {
	t.Helper()
	code := e.authCode(t, clientID, redirect, "read")
	body := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {rfcVerifier}}
	req := tokenReq{basic: basic(clientID, confSecret)}
	if clientID == pubID {
		req.basic = nil
		body.Set("client_id", pubID)
	}
	req.body = body.Encode()
	w, data := e.token(req.build())
	if w.Code != http.StatusOK {
		t.Fatalf("code exchange: %d %v", w.Code, data)
	}
	return data["access_token"].(string), data["refresh_token"].(string)
}

// ccToken issues a client credentials access token to the client.
func (e *env) ccToken(t testing.TB, clientID string) string {
	t.Helper()
	w, data := e.token(tokenReq{body: "grant_type=client_credentials&scope=read", basic: basic(clientID, confSecret)}.build())
	if w.Code != http.StatusOK {
		t.Fatalf("client credentials: %d %v", w.Code, data)
	}
	return data["access_token"].(string)
}

func (e *env) accessLive(access string) bool {
	_, err := e.mgr.LoadAccessToken(context.Background(), access)
	return err == nil
}

func (e *env) refreshLive(refresh string) bool {
	_, err := e.mgr.LoadRefreshToken(context.Background(), refresh)
	return err == nil
}

// tokenForm is the body of a revocation or introspection request.
func tokenForm(token string, extra ...string) string {
	v := url.Values{"token": {token}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v.Encode()
}

// outageStore is the real memory token store whose reads, removals or
// grant revocations fail with oauth2.ErrUnavailable while switched on, as
// a store that is down does.
type outageStore struct {
	oauth2.TokenStore
	failReads, failRemovals atomic.Bool
}

var errStoreDown = fmt.Errorf("test store: %w", oauth2.ErrUnavailable)

func (f *outageStore) GetByAccess(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	if f.failReads.Load() {
		return nil, errStoreDown
	}
	return f.TokenStore.GetByAccess(ctx, access)
}

func (f *outageStore) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	if f.failReads.Load() {
		return nil, errStoreDown
	}
	return f.TokenStore.GetByRefresh(ctx, refresh)
}

func (f *outageStore) RemoveByAccess(ctx context.Context, access string) error {
	if f.failRemovals.Load() {
		return errStoreDown
	}
	return f.TokenStore.RemoveByAccess(ctx, access)
}

func (f *outageStore) RemoveByRefresh(ctx context.Context, refresh string) error {
	if f.failRemovals.Load() {
		return errStoreDown
	}
	return f.TokenStore.RemoveByRefresh(ctx, refresh)
}

func (f *outageStore) RevokeGrant(ctx context.Context, grantID string) error {
	if f.failRemovals.Load() {
		return errStoreDown
	}
	return f.TokenStore.RevokeGrant(ctx, grantID)
}

// outageClients is a client store that is down.
type outageClients struct{}

func (outageClients) GetByID(context.Context, string) (oauth2.ClientInfo, error) {
	return nil, errStoreDown
}

// checkNoStoreHeaders checks the headers of every revocation and
// introspection answer.
func checkNoStoreHeaders(t testing.TB, w *httptest.ResponseRecorder) {
	t.Helper()
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := w.Header().Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q", got)
	}
}

// TestTokenEndpoints_RequestErrors runs the request rules that revocation
// (RFC 7009 2.1) and introspection (RFC 7662 2.1) share with the token
// endpoint against both, checking the status, error body and headers, and
// that the token presented is still valid afterwards.
func TestTokenEndpoints_RequestErrors(t *testing.T) {
	okBasic := basic(confID, confSecret)
	tests := []struct {
		name       string
		setup      func(e *env)
		req        func(token string) tokenReq
		wantStatus int
		wantCode   string
		wantHeader map[string]string
	}{
		{"GET is refused with 405 and Allow: POST", nil,
			func(tok string) tokenReq {
				return tokenReq{method: http.MethodGet, query: tokenForm(tok), basic: okBasic}
			}, 405, "invalid_request", map[string]string{"Allow": "POST"}},
		{"PUT is refused with 405", nil,
			func(tok string) tokenReq {
				return tokenReq{method: http.MethodPut, body: tokenForm(tok), basic: okBasic}
			},
			405, "invalid_request", map[string]string{"Allow": "POST"}},
		{"JSON body is invalid_request", nil,
			func(tok string) tokenReq {
				return tokenReq{body: `{"token":"` + tok + `"}`, contentType: "application/json", basic: okBasic}
			}, 400, "invalid_request", nil},
		{"body without Content-Type is invalid_request", nil,
			func(tok string) tokenReq { return tokenReq{body: tokenForm(tok), contentType: "-", basic: okBasic} },
			400, "invalid_request", nil},
		{"repeated token is invalid_request", nil,
			func(tok string) tokenReq { return tokenReq{body: tokenForm(tok) + "&token=" + tok, basic: okBasic} },
			400, "invalid_request", nil},
		{"repeated token_type_hint is invalid_request", nil,
			func(tok string) tokenReq {
				return tokenReq{body: tokenForm(tok) + "&token_type_hint=access_token&token_type_hint=refresh_token", basic: okBasic}
			}, 400, "invalid_request", nil},
		{"invalid UTF-8 is invalid_request", nil,
			func(tok string) tokenReq { return tokenReq{body: tokenForm(tok) + "&x=%ff", basic: okBasic} },
			400, "invalid_request", nil},
		{"malformed escape is invalid_request", nil,
			func(tok string) tokenReq { return tokenReq{body: tokenForm(tok) + "&x=%g1", basic: okBasic} },
			400, "invalid_request", nil},
		{"body over MaxBodyBytes is invalid_request", func(e *env) { e.srv.Config.MaxBodyBytes = 256 },
			func(tok string) tokenReq {
				return tokenReq{body: tokenForm(tok) + "&pad=" + strings.Repeat("a", 300), basic: okBasic}
			}, 400, "invalid_request", nil},
		{"missing token is invalid_request", nil,
			func(string) tokenReq { return tokenReq{body: "token_type_hint=access_token", basic: okBasic} },
			400, "invalid_request", nil},
		{"token in the query is invalid_request", nil,
			func(tok string) tokenReq { return tokenReq{query: tokenForm(tok), basic: okBasic} },
			400, "invalid_request", nil},
		{"no client authentication is invalid_client, without WWW-Authenticate", nil,
			func(tok string) tokenReq { return tokenReq{body: tokenForm(tok)} },
			401, "invalid_client", map[string]string{"WWW-Authenticate": ""}},
		{"unknown client_id alone is invalid_client", nil,
			func(tok string) tokenReq { return tokenReq{body: tokenForm(tok, "client_id", "nobody")} },
			401, "invalid_client", map[string]string{"WWW-Authenticate": ""}},
		{"wrong Basic secret is 401 with WWW-Authenticate (RFC 6749 5.2)", nil,
			func(tok string) tokenReq { return tokenReq{body: tokenForm(tok), basic: basic(confID, "wrong")} },
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"malformed Basic header is 401 with WWW-Authenticate", nil,
			func(tok string) tokenReq {
				return tokenReq{body: tokenForm(tok), header: map[string]string{"Authorization": "Basic !!!"}}
			}, 401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"wrong post secret is 401 without WWW-Authenticate", nil,
			func(tok string) tokenReq {
				return tokenReq{body: tokenForm(tok, "client_id", confID, "client_secret", "wrong")}
			}, 401, "invalid_client", map[string]string{"WWW-Authenticate": ""}},
		{"Basic and post together is invalid_request (RFC 6749 2.3)", nil,
			func(tok string) tokenReq {
				return tokenReq{body: tokenForm(tok, "client_id", confID, "client_secret", confSecret), basic: okBasic}
			}, 400, "invalid_request", nil},
		{"client_secret in the query is invalid_request", nil,
			func(tok string) tokenReq {
				return tokenReq{query: "client_id=" + confID + "&client_secret=" + confSecret, body: tokenForm(tok)}
			}, 400, "invalid_request", nil},
		{"client store down is 503 temporarily_unavailable", func(e *env) { e.mgr.MapClientStorage(outageClients{}) },
			func(tok string) tokenReq { return tokenReq{body: tokenForm(tok), basic: okBasic} },
			503, "temporarily_unavailable", nil},
	}
	for _, ep := range []struct {
		name string
		fn   endpointFunc
	}{{"revocation", revocation}, {"introspection", introspection}} {
		for _, tt := range tests {
			t.Run(ep.name+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t)
				access, refresh := e.codeGrant(t, confID, confRedirect)
				if tt.setup != nil {
					tt.setup(e)
				}
				w := e.call(ep.fn, tt.req(access).build())
				if w.Code != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
				}
				checkTokenHeaders(t, w)
				want := fmt.Sprintf(`{"error":%q,`, tt.wantCode)
				if !strings.HasPrefix(w.Body.String(), want) {
					t.Fatalf("body %s, want error %s", w.Body, tt.wantCode)
				}
				for k, v := range tt.wantHeader {
					if got := w.Header().Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
				if strings.Contains(w.Body.String(), access) || strings.Contains(w.Body.String(), confSecret) {
					t.Fatal("the answer repeats a token or secret")
				}
				e.mgr.MapClientStorage(e.clients)
				if !e.accessLive(access) || !e.refreshLive(refresh) {
					t.Fatal("a refused request changed the token's state")
				}
			})
		}
	}
}

// TestRevoke_RevokesTheClientsOwnTokens follows RFC 7009 2.1 and 2.2: the
// token is found whatever the hint; a refresh token takes its whole grant;
// an access token goes alone; the answer is 200 with an empty body.
// Another client's token is refused with unauthorized_client and stays
// valid (RFC 7009 2.1: "If this validation fails, the request is
// refused").
func TestRevoke_RevokesTheClientsOwnTokens(t *testing.T) {
	tests := []struct {
		name        string
		owner       string // the client the grant was issued to
		caller      func(e *env, token, hint string) tokenReq
		which       string // "access" or "refresh"
		hint        string
		accessLive  bool // afterwards
		refreshLive bool
		refused     bool // 400 unauthorized_client
	}{
		{"access token, access hint, Basic", confID, viaBasic(confID), "access", "access_token", false, true, false},
		{"access token, refresh hint still found", confID, viaBasic(confID), "access", "refresh_token", false, true, false},
		{"access token, no hint", confID, viaBasic(confID), "access", "", false, true, false},
		{"access token, unknown hint ignored", confID, viaBasic(confID), "access", "id_token", false, true, false},
		{"refresh token revokes its grant's access token", confID, viaBasic(confID), "refresh", "refresh_token", false, false, false},
		{"refresh token, access hint still found", confID, viaBasic(confID), "refresh", "access_token", false, false, false},
		{"refresh token, client_secret_post", confID, viaPost(confID), "refresh", "", false, false, false},
		{"public client revokes its refresh token (none)", pubID, viaNone(pubID), "refresh", "", false, false, false},
		{"public client revokes its access token (none)", pubID, viaNone(pubID), "access", "", false, true, false},
		{"extension authenticator (private_key_jwt stand-in)", "jwt-client", viaAssertion("jwt-client"), "refresh", "", false, false, false},
		{"another client's access token is refused and stays valid", confID, viaBasic(otherID), "access", "", true, true, true},
		{"another client's refresh token is refused and stays valid", confID, viaBasic(otherID), "refresh", "refresh_token", true, true, true},
		{"another client's refresh token, access hint, is refused", confID, viaBasic(otherID), "refresh", "access_token", true, true, true},
		{"a public client cannot revoke a confidential client's token", confID, viaNone(pubID), "refresh", "", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.clients.Set("jwt-client", &models.Client{ID: "jwt-client", RedirectURIs: []string{confRedirect}, TokenEndpointAuthMethod: "private_key_jwt"}); err != nil {
				t.Fatal(err)
			}
			e.srv.AddClientAuthenticator(assertionAuth{e})
			redirect := confRedirect
			if tt.owner == pubID {
				redirect = pubRedirect
			}
			var access, refresh string
			if tt.owner == "jwt-client" {
				access, refresh = e.assertionGrant(t)
			} else {
				access, refresh = e.codeGrant(t, tt.owner, redirect)
			}
			otherAccess, otherRefresh := e.codeGrant(t, confID, confRedirect)
			token := access
			if tt.which == "refresh" {
				token = refresh
			}
			w := e.call(revocation, tt.caller(e, token, tt.hint).build())
			if tt.refused {
				var body map[string]any
				if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &body) != nil || body["error"] != "unauthorized_client" {
					t.Fatalf("status %d body %q, want 400 unauthorized_client", w.Code, w.Body)
				}
			} else if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("status %d body %q, want 200 and no body", w.Code, w.Body)
			}
			checkNoStoreHeaders(t, w)
			if got := e.accessLive(access); got != tt.accessLive {
				t.Errorf("access live = %t, want %t", got, tt.accessLive)
			}
			if got := e.refreshLive(refresh); got != tt.refreshLive {
				t.Errorf("refresh live = %t, want %t", got, tt.refreshLive)
			}
			if !e.accessLive(otherAccess) || !e.refreshLive(otherRefresh) {
				t.Error("the revocation touched another grant")
			}
		})
	}
}

func withHint(body, hint string) string {
	if hint != "" {
		body += "&token_type_hint=" + url.QueryEscape(hint)
	}
	return body
}

func viaBasic(id string) func(*env, string, string) tokenReq {
	return func(_ *env, token, hint string) tokenReq {
		return tokenReq{body: withHint(tokenForm(token), hint), basic: basic(id, confSecret)}
	}
}

func viaPost(id string) func(*env, string, string) tokenReq {
	return func(_ *env, token, hint string) tokenReq {
		return tokenReq{body: withHint(tokenForm(token, "client_id", id, "client_secret", confSecret), hint)}
	}
}

func viaNone(id string) func(*env, string, string) tokenReq {
	return func(_ *env, token, hint string) tokenReq {
		return tokenReq{body: withHint(tokenForm(token, "client_id", id), hint)}
	}
}

func viaAssertion(id string) func(*env, string, string) tokenReq {
	return func(_ *env, token, hint string) tokenReq {
		return tokenReq{body: withHint(tokenForm(token,
			"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
			"client_assertion", "signed-by-"+id), hint)}
	}
}

// assertionGrant runs the code flow for "jwt-client", which authenticates
// with the assertionAuth stand-in for private_key_jwt.
func (e *env) assertionGrant(t testing.TB) (access, refresh string) {
	t.Helper()
	code := e.authCode(t, "jwt-client", confRedirect, "read")
	body := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"signed-by-jwt-client"}}
	w, data := e.token(tokenReq{body: body.Encode()}.build())
	if w.Code != http.StatusOK {
		t.Fatalf("code exchange: %d %v", w.Code, data)
	}
	return data["access_token"].(string), data["refresh_token"].(string)
}

// TestRevoke_RefreshTokenTakesTheWholeGrant: after a rotation, revoking the
// current refresh token leaves no access or refresh token of the grant
// live (RFC 7009 2.1, RFC 9700 4.14.2).
func TestRevoke_RefreshTokenTakesTheWholeGrant(t *testing.T) {
	e := newEnv(t)
	_, refresh1 := e.codeGrant(t, confID, confRedirect)
	w, data := e.token(tokenReq{body: "grant_type=refresh_token&refresh_token=" + url.QueryEscape(refresh1), basic: basic(confID, confSecret)}.build())
	if w.Code != http.StatusOK {
		t.Fatalf("refresh: %d %v", w.Code, data)
	}
	access2, refresh2 := data["access_token"].(string), data["refresh_token"].(string)
	if w := e.call(revocation, viaBasic(confID)(e, refresh2, "").build()); w.Code != http.StatusOK {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if e.accessLive(access2) || e.refreshLive(refresh2) || e.refreshLive(refresh1) {
		t.Fatal("a token of the revoked grant is still live")
	}
	// The revoked refresh token cannot be used.
	w, data = e.token(tokenReq{body: "grant_type=refresh_token&refresh_token=" + url.QueryEscape(refresh2), basic: basic(confID, confSecret)}.build())
	if w.Code != http.StatusBadRequest || data["error"] != "invalid_grant" {
		t.Fatalf("revoked refresh token: %d %v", w.Code, data)
	}
}

// TestRevoke_InvalidTokensAnswer200: RFC 7009 2.2, an invalid token is no
// error.
func TestRevoke_InvalidTokensAnswer200(t *testing.T) {
	tests := []struct {
		name  string
		token func(e *env) string
	}{
		{"unknown token", func(*env) string { return "no-such-token" }},
		{"already revoked access token", func(e *env) string {
			access, _ := e.codeGrant(e.t, confID, confRedirect)
			e.call(revocation, viaBasic(confID)(e, access, "").build())
			return access
		}},
		{"already revoked refresh token", func(e *env) string {
			_, refresh := e.codeGrant(e.t, confID, confRedirect)
			e.call(revocation, viaBasic(confID)(e, refresh, "").build())
			return refresh
		}},
		{"rotated-out refresh token", func(e *env) string {
			_, refresh := e.codeGrant(e.t, confID, confRedirect)
			e.token(tokenReq{body: "grant_type=refresh_token&refresh_token=" + url.QueryEscape(refresh), basic: basic(confID, confSecret)}.build())
			return refresh
		}},
		{"an authorization code is not a token", func(e *env) string {
			return e.authCode(e.t, confID, confRedirect, "read")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			token := tt.token(e)
			w := e.call(revocation, viaBasic(confID)(e, token, "").build())
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("status %d body %q", w.Code, w.Body)
			}
		})
	}
}

// TestRevoke_StoreFailureIsNever200: a store that fails while the token is
// looked up or removed answers 503 temporarily_unavailable, and the token
// is still valid once the store is back.
func TestRevoke_StoreFailureIsNever200(t *testing.T) {
	tests := []struct {
		name   string
		which  string
		reads  bool
		remove bool
	}{
		{"lookup fails, access token", "access", true, false},
		{"lookup fails, refresh token", "refresh", true, false},
		{"removal fails, access token", "access", false, true},
		{"grant revocation fails, refresh token", "refresh", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			fs := &outageStore{TokenStore: e.tokens}
			e.mgr.MapTokenStorage(fs)
			access, refresh := e.codeGrant(t, confID, confRedirect)
			token := access
			if tt.which == "refresh" {
				token = refresh
			}
			fs.failReads.Store(tt.reads)
			fs.failRemovals.Store(tt.remove)
			w := e.call(revocation, viaBasic(confID)(e, token, "").build())
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"error":"temporarily_unavailable"`) {
				t.Fatalf("status %d body %s, want 503 temporarily_unavailable", w.Code, w.Body)
			}
			checkTokenHeaders(t, w)
			fs.failReads.Store(false)
			fs.failRemovals.Store(false)
			if !e.accessLive(access) || !e.refreshLive(refresh) {
				t.Fatal("a failed revocation changed the token's state")
			}
		})
	}
}

// seedManager hides the manager's RevokeToken, as an application's own
// oauth2.Manager would: the server then revokes through the
// oauth2.Manager methods.
type seedManager struct{ oauth2.Manager }

func TestRevoke_ManagerWithoutTokenRevoker(t *testing.T) {
	tests := []struct {
		name        string
		caller      string
		which, hint string
		accessLive  bool
		refreshLive bool
	}{
		{"access token", confID, "access", "", false, true},
		{"refresh token takes the access token stored with it", confID, "refresh", "", false, false},
		{"refresh token, access hint", confID, "refresh", "access_token", false, false},
		{"another client's token is refused and stays valid", otherID, "refresh", "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			access, refresh := e.codeGrant(t, confID, confRedirect)
			e.srv.Manager = seedManager{e.mgr}
			token := access
			if tt.which == "refresh" {
				token = refresh
			}
			w := e.call(revocation, viaBasic(tt.caller)(e, token, tt.hint).build())
			want := http.StatusOK
			if tt.caller != confID {
				want = http.StatusBadRequest
			}
			if w.Code != want {
				t.Fatalf("status %d body %s, want %d", w.Code, w.Body, want)
			}
			if e.accessLive(access) != tt.accessLive || e.refreshLive(refresh) != tt.refreshLive {
				t.Fatalf("access live %t refresh live %t", e.accessLive(access), e.refreshLive(refresh))
			}
		})
	}
	t.Run("store failure is 503", func(t *testing.T) {
		e := newEnv(t)
		fs := &outageStore{TokenStore: e.tokens}
		e.mgr.MapTokenStorage(fs)
		access, _ := e.codeGrant(t, confID, confRedirect)
		e.srv.Manager = seedManager{e.mgr}
		fs.failReads.Store(true)
		if w := e.call(revocation, viaBasic(confID)(e, access, "").build()); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d body %s", w.Code, w.Body)
		}
	})
}

// TestRevoke_ClientInfoHandlerModes: the revocation endpoint authenticates
// clients exactly as the token endpoint does, including an application's
// ClientInfoHandler that reads r.Form.
func TestRevoke_ClientInfoHandlerModes(t *testing.T) {
	tests := []struct {
		name    string
		handler server.ClientInfoHandler
		req     func(e *env, token, hint string) tokenReq
		want    int
	}{
		{"ClientBasicHandler accepts Basic", server.ClientBasicHandler, viaBasic(confID), 200},
		{"ClientBasicHandler refuses post", server.ClientBasicHandler, viaPost(confID), 401},
		{"ClientFormHandler accepts post", server.ClientFormHandler, viaPost(confID), 200},
		{"ClientFormHandler refuses Basic", server.ClientFormHandler, viaBasic(confID), 401},
		{"an application's handler reading r.Form", func(r *http.Request) (string, string, error) {
			return r.Form.Get("client_id"), r.Form.Get("client_secret"), nil
		}, viaPost(confID), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			access, _ := e.codeGrant(t, confID, confRedirect)
			e.srv.SetClientInfoHandler(tt.handler)
			w := e.call(revocation, tt.req(e, access, "").build())
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if e.accessLive(access) != (tt.want != 200) {
				t.Fatalf("access live = %t after status %d", e.accessLive(access), w.Code)
			}
		})
	}
}
