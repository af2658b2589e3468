package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/server"
)

func TestToken_ErrorResponses(t *testing.T) {
	cc := "grant_type=client_credentials&scope=read"
	tests := []struct {
		name       string
		setup      func(e *env)
		req        tokenReq
		wantStatus int
		wantCode   string
		wantHeader map[string]string
	}{
		{"GET is refused with 405 and Allow (RFC 6749 3.2)",
			nil, tokenReq{method: http.MethodGet, query: cc, basic: basic(confID, confSecret)},
			405, "invalid_request", map[string]string{"Allow": "POST"}},
		{"PUT is refused with 405",
			nil, tokenReq{method: http.MethodPut, body: cc, basic: basic(confID, confSecret)},
			405, "invalid_request", map[string]string{"Allow": "POST"}},
		{"JSON body is invalid_request",
			nil, tokenReq{body: `{"grant_type":"client_credentials"}`, contentType: "application/json", basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"body without Content-Type is invalid_request",
			nil, tokenReq{body: cc, contentType: "-", basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"multipart body is invalid_request",
			nil, tokenReq{body: cc, contentType: "multipart/form-data; boundary=x", basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"body over MaxBodyBytes is invalid_request, not 500",
			nil, tokenReq{body: cc + "&pad=" + strings.Repeat("a", 70<<10), basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"invalid UTF-8 parameter is invalid_request",
			nil, tokenReq{body: cc + "&x=%ff", basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"malformed escape is invalid_request",
			nil, tokenReq{body: cc + "&x=%g1", basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"repeated parameter in the body is invalid_request (RFC 6749 3.2)",
			nil, tokenReq{body: cc + "&scope=write", basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"repeated grant_type is invalid_request",
			nil, tokenReq{body: "grant_type=client_credentials&grant_type=client_credentials", basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"parameter in both body and query is invalid_request",
			nil, tokenReq{query: "scope=write", body: cc, basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"missing grant_type is invalid_request",
			nil, tokenReq{body: "scope=read", basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"unknown grant_type is unsupported_grant_type",
			nil, tokenReq{body: "grant_type=urn:example:magic", basic: basic(confID, confSecret)},
			400, "unsupported_grant_type", nil},
		{"password grant is off by default",
			nil, tokenReq{body: "grant_type=password&username=u&password=p", basic: basic(confID, confSecret)},
			400, "unsupported_grant_type", nil},
		{"password grant allowed but without handler is unsupported",
			func(e *env) {
				e.srv.Config.AllowedGrantTypes = append(e.srv.Config.AllowedGrantTypes, oauth2.PasswordCredentials)
			},
			tokenReq{body: "grant_type=password&username=u&password=p", basic: basic(confID, confSecret)},
			400, "unsupported_grant_type", nil},
		{"implicit has no grant_type",
			nil, tokenReq{body: "grant_type=__implicit", basic: basic(confID, confSecret)},
			400, "unsupported_grant_type", nil},
		{"disallowed grant is unsupported_grant_type",
			func(e *env) { e.srv.SetAllowedGrantType(oauth2.AuthorizationCode) },
			tokenReq{body: cc, basic: basic(confID, confSecret)},
			400, "unsupported_grant_type", nil},
		{"no client authentication is invalid_client",
			nil, tokenReq{body: cc},
			401, "invalid_client", map[string]string{"WWW-Authenticate": ""}},
		{"wrong Basic secret is 401 with WWW-Authenticate (RFC 6749 5.2)",
			nil, tokenReq{body: cc, basic: basic(confID, "wrong")},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"unknown client in Basic is invalid_client",
			nil, tokenReq{body: cc, basic: basic("nobody", confSecret)},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"malformed Basic header is invalid_client",
			nil, tokenReq{body: cc, header: map[string]string{"Authorization": "Basic !!notbase64"}},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"Basic header without colon is invalid_client",
			nil, tokenReq{body: cc, header: map[string]string{"Authorization": "Basic MDAwMDAw"}},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"other Authorization scheme is invalid_client",
			nil, tokenReq{body: cc, header: map[string]string{"Authorization": "Bearer abc"}},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"Basic with empty secret for a confidential client is invalid_client",
			nil, tokenReq{body: cc, basic: basic(confID, "")},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"wrong client_secret_post secret is 401 without WWW-Authenticate",
			nil, tokenReq{body: cc + "&client_id=" + confID + "&client_secret=wrong"},
			401, "invalid_client", map[string]string{"WWW-Authenticate": ""}},
		{"Basic and client_secret in the body is invalid_request (RFC 6749 2.3)",
			nil, tokenReq{body: cc + "&client_id=" + confID + "&client_secret=" + confSecret, basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"client_secret in the query of a POST is invalid_request",
			nil, tokenReq{query: "client_id=" + confID + "&client_secret=" + confSecret, body: cc},
			400, "invalid_request", nil},
		{"Basic client_id differing from body client_id is invalid_client",
			nil, tokenReq{body: cc + "&client_id=" + basicOnlyID, basic: basic(confID, confSecret)},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"confidential client without a secret is invalid_client",
			nil, tokenReq{body: cc + "&client_id=" + confID},
			401, "invalid_client", nil},
		{"public client cannot present a secret",
			nil, tokenReq{body: cc, basic: basic(pubID, "anything")},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"public client cannot use client_credentials (RFC 6749 4.4)",
			nil, tokenReq{body: cc + "&client_id=" + pubID},
			400, "unauthorized_client", nil},
		{"client registered for Basic cannot use post",
			nil, tokenReq{body: cc + "&client_id=" + basicOnlyID + "&client_secret=" + confSecret},
			401, "invalid_client", nil},
		{"client registered for post cannot use Basic",
			nil, tokenReq{body: cc, basic: basic(postOnlyID, confSecret)},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"ClientBasicHandler refuses client_secret_post",
			func(e *env) { e.srv.SetClientInfoHandler(server.ClientBasicHandler) },
			tokenReq{body: cc + "&client_id=" + confID + "&client_secret=" + confSecret},
			401, "invalid_client", nil},
		{"ClientFormHandler refuses Basic",
			func(e *env) { e.srv.SetClientInfoHandler(server.ClientFormHandler) },
			tokenReq{body: cc, basic: basic(confID, confSecret)},
			401, "invalid_client", map[string]string{"WWW-Authenticate": `Basic realm="oauth2"`}},
		{"custom ClientInfoHandler still has the secret verified",
			func(e *env) {
				e.srv.SetClientInfoHandler(func(r *http.Request) (string, string, error) { return confID, "guess", nil })
			},
			tokenReq{body: cc},
			401, "invalid_client", nil},
		{"custom ClientInfoHandler with no secret for a confidential client",
			func(e *env) {
				e.srv.SetClientInfoHandler(func(r *http.Request) (string, string, error) { return confID, "", nil })
			},
			tokenReq{body: cc},
			401, "invalid_client", nil},
		{"client not registered for the grant is unauthorized_client",
			nil, tokenReq{body: cc, basic: basic(limitedID, confSecret)},
			400, "unauthorized_client", nil},
		{"ClientAuthorizedHandler refusal is unauthorized_client",
			func(e *env) {
				e.srv.SetClientAuthorizedHandler(func(string, oauth2.GrantType) (bool, error) { return false, nil })
			},
			tokenReq{body: cc, basic: basic(confID, confSecret)},
			400, "unauthorized_client", nil},
		{"ClientScopeHandler refusal is invalid_scope",
			func(e *env) {
				e.srv.SetClientScopeHandler(func(*oauth2.TokenGenerateRequest) (bool, error) { return false, nil })
			},
			tokenReq{body: cc, basic: basic(confID, confSecret)},
			400, "invalid_scope", nil},
		{"authorization_code without code is invalid_request",
			nil, tokenReq{body: "grant_type=authorization_code&redirect_uri=" + url.QueryEscape(confRedirect), basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"unknown code is invalid_grant",
			nil, tokenReq{body: "grant_type=authorization_code&code=nope&redirect_uri=" + url.QueryEscape(confRedirect), basic: basic(confID, confSecret)},
			400, "invalid_grant", nil},
		{"refresh_token grant without refresh_token is invalid_request",
			nil, tokenReq{body: "grant_type=refresh_token", basic: basic(confID, confSecret)},
			400, "invalid_request", nil},
		{"unknown refresh token is invalid_grant",
			nil, tokenReq{body: "grant_type=refresh_token&refresh_token=nope", basic: basic(confID, confSecret)},
			400, "invalid_grant", nil},
		{"store outage is 503 temporarily_unavailable",
			func(e *env) { err := error(oauth2.ErrUnavailable); e.tokens.fail.Store(&err) },
			tokenReq{body: cc, basic: basic(confID, confSecret)},
			503, "temporarily_unavailable", nil},
		{"AccessTokenExpHandler error is server_error",
			func(e *env) {
				e.srv.SetAccessTokenExpHandler(func(http.ResponseWriter, *http.Request) (time.Duration, error) {
					return 0, context.Canceled
				})
			},
			tokenReq{body: cc, basic: basic(confID, confSecret)},
			500, "server_error", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			before := e.issued()
			w, data := e.token(tt.req.build())
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d (%v)", w.Code, tt.wantStatus, data)
			}
			if data["error"] != tt.wantCode {
				t.Errorf("error = %v, want %s (%v)", data["error"], tt.wantCode, data)
			}
			if _, ok := data["access_token"]; ok {
				t.Error("error response has an access_token")
			}
			checkTokenHeaders(t, w)
			for k, v := range tt.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if e.issued() != before {
				t.Errorf("%d tokens issued on an error path", e.issued()-before)
			}
			if strings.Contains(w.Body.String(), confSecret) {
				t.Error("response echoes the client secret")
			}
		})
	}
}

func TestToken_ClientCredentialsSuccess(t *testing.T) {
	tests := []struct {
		name string
		req  tokenReq
	}{
		{"client_secret_basic", tokenReq{body: "grant_type=client_credentials&scope=read", basic: basic(confID, confSecret)}},
		{"client_secret_post", tokenReq{body: "grant_type=client_credentials&scope=read&client_id=" + confID + "&client_secret=" + url.QueryEscape(confSecret)}},
		{"Basic with lower-case scheme and matching client_id", tokenReq{body: "grant_type=client_credentials&scope=read&client_id=" + confID,
			header: map[string]string{"Authorization": "basic " + basicValue(confID, confSecret)}}},
		{"client registered for Basic", tokenReq{body: "grant_type=client_credentials&scope=read", basic: basic(basicOnlyID, confSecret)}},
		{"client registered for post", tokenReq{body: "grant_type=client_credentials&scope=read&client_id=" + postOnlyID + "&client_secret=" + url.QueryEscape(confSecret)}},
		{"content type with charset", tokenReq{body: "grant_type=client_credentials&scope=read", contentType: "application/x-www-form-urlencoded; charset=utf-8", basic: basic(confID, confSecret)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w, data := e.token(tt.req.build())
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %v", w.Code, data)
			}
			checkTokenHeaders(t, w)
			if data["token_type"] != "Bearer" || data["scope"] != "read" || data["expires_in"] != float64(7200) {
				t.Fatalf("unexpected response %v", data)
			}
			if _, ok := data["refresh_token"]; ok {
				t.Error("client_credentials issued a refresh token (RFC 6749 4.4.3)")
			}
			access, _ := data["access_token"].(string)
			ti, err := e.mgr.LoadAccessToken(context.Background(), access)
			if err != nil {
				t.Fatalf("issued token not in the store: %v", err)
			}
			if ti.GetScope() != "read" {
				t.Fatalf("stored scope %q", ti.GetScope())
			}
		})
	}
}

func basicValue(id, secret string) string {
	r := tokenReq{basic: basic(id, secret)}.build()
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// TestToken_SeedQuickStartGET checks the seed's Quick Start request, once
// GET is allowed as the seed's example does.
func TestToken_SeedQuickStartGET(t *testing.T) {
	for _, handler := range []struct {
		name string
		fn   server.ClientInfoHandler
	}{{"default", nil}, {"ClientFormHandler", server.ClientFormHandler}} {
		t.Run(handler.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.SetAllowGetAccessRequest(true)
			if handler.fn != nil {
				e.srv.SetClientInfoHandler(handler.fn)
			}
			r := httptest.NewRequest(http.MethodGet, "/token?grant_type=client_credentials&client_id="+confID+"&client_secret="+url.QueryEscape(confSecret)+"&scope=read", nil)
			w := httptest.NewRecorder()
			if err := e.srv.HandleTokenRequest(w, r); err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			body := w.Body.String()
			access := body[len(`{"access_token":"`):strings.Index(body, `","expires_in"`)]
			want := `{"access_token":"` + access + `","expires_in":7200,"scope":"read","token_type":"Bearer"}` + "\n"
			if body != want {
				t.Fatalf("body %q, want %q", body, want)
			}
		})
	}
}

func TestToken_ExtensionFieldsCannotOverrideStandardOnes(t *testing.T) {
	e := newEnv(t)
	e.srv.SetExtensionFieldsHandler(func(ti oauth2.TokenInfo) map[string]any {
		return map[string]any{"access_token": "forged", "token_type": "MAC", "expires_in": 1, "scope": "admin", "refresh_token": "x", "custom": "v"}
	})
	w, data := e.token(tokenReq{body: "grant_type=client_credentials&scope=read", basic: basic(confID, confSecret)}.build())
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %v", w.Code, data)
	}
	checkTokenHeaders(t, w)
	if data["access_token"] == "forged" || data["token_type"] != "Bearer" || data["expires_in"] != float64(7200) ||
		data["scope"] != "read" || data["refresh_token"] != nil || data["custom"] != "v" {
		t.Fatalf("extension fields overrode standard ones: %v", data)
	}
}

func TestToken_ResponseTokenHandlerWritesEveryResponse(t *testing.T) {
	e := newEnv(t)
	var statuses []int
	e.srv.SetResponseTokenHandler(func(w http.ResponseWriter, data map[string]any, header http.Header, statusCode ...int) error {
		statuses = append(statuses, statusCode[0])
		w.WriteHeader(statusCode[0])
		_, err := w.Write([]byte(`{"wrapped":true}`))
		return err
	})
	for _, req := range []tokenReq{
		{body: "grant_type=client_credentials", basic: basic(confID, confSecret)},
		{body: "grant_type=client_credentials", basic: basic(confID, "bad")},
	} {
		w := httptest.NewRecorder()
		if err := e.srv.HandleTokenRequest(w, req.build()); err != nil {
			t.Fatal(err)
		}
		checkTokenHeaders(t, w)
		if w.Body.String() != `{"wrapped":true}` {
			t.Fatalf("body %q", w.Body)
		}
	}
	if len(statuses) != 2 || statuses[0] != 200 || statuses[1] != 401 {
		t.Fatalf("statuses %v", statuses)
	}
}

func TestToken_AccessTokenExpHandlerSetsLifetime(t *testing.T) {
	e := newEnv(t)
	e.srv.SetAccessTokenExpHandler(func(http.ResponseWriter, *http.Request) (time.Duration, error) {
		return 5 * time.Minute, nil
	})
	w, data := e.token(tokenReq{body: "grant_type=client_credentials", basic: basic(confID, confSecret)}.build())
	if w.Code != http.StatusOK || data["expires_in"] != float64(300) {
		t.Fatalf("status %d, expires_in %v", w.Code, data["expires_in"])
	}
}

func TestToken_HooksSeeTheParsedForm(t *testing.T) {
	e := newEnv(t)
	// A resource indicator (RFC 8707) the server allows every client.
	e.srv.Config.Resources = []string{"https://api.example.com/"}
	var seen string
	e.srv.SetClientScopeHandler(func(tgr *oauth2.TokenGenerateRequest) (bool, error) {
		seen = tgr.Request.FormValue("resource")
		return true, nil
	})
	w, data := e.token(tokenReq{body: "grant_type=client_credentials&resource=" + url.QueryEscape("https://api.example.com/"), basic: basic(confID, confSecret)}.build())
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %v", w.Code, data)
	}
	if seen != "https://api.example.com/" {
		t.Fatalf("hook saw resource %q", seen)
	}
}

func TestToken_InternalErrorHandlerSeesServerErrors(t *testing.T) {
	e := newEnv(t)
	secretErr := bytes.ErrTooLarge // any error that wraps no RFC code
	err := error(secretErr)
	e.tokens.fail.Store(&err)
	var seen error
	e.srv.SetInternalErrorHandler(func(err error) *errors.Response {
		seen = err
		return nil
	})
	var re *errors.Response
	e.srv.SetResponseErrorHandler(func(r *errors.Response) { re = r })
	w, data := e.token(tokenReq{body: "grant_type=client_credentials", basic: basic(confID, confSecret)}.build())
	if w.Code != 500 || data["error"] != "server_error" {
		t.Fatalf("status %d: %v", w.Code, data)
	}
	if seen == nil || !strings.Contains(seen.Error(), secretErr.Error()) {
		t.Fatalf("InternalErrorHandler saw %v", seen)
	}
	if re == nil || re.Error != errors.ErrServerError {
		t.Fatalf("ResponseErrorHandler saw %+v", re)
	}
	if strings.Contains(w.Body.String(), secretErr.Error()) {
		t.Fatal("internal error text leaked into the response")
	}
}

func TestToken_AuthorizationCodeFlow(t *testing.T) {
	e := newEnv(t)
	code := e.authCode(t, confID, confRedirect, "read")
	exchange := func(verifier string) (*httptest.ResponseRecorder, map[string]any) {
		body := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}}
		if verifier != "" {
			body.Set("code_verifier", verifier)
		}
		return e.token(tokenReq{body: body.Encode(), basic: basic(confID, confSecret)}.build())
	}
	before := e.issued()
	w, data := exchange("")
	if w.Code != 400 || data["error"] != "invalid_grant" || e.issued() != before {
		t.Fatalf("code without verifier: %d %v", w.Code, data)
	}
	w, data = exchange(rfcVerifier)
	if w.Code != http.StatusOK {
		t.Fatalf("exchange: %d %v", w.Code, data)
	}
	if data["refresh_token"] == nil || data["scope"] != "read" {
		t.Fatalf("response %v", data)
	}
	access := data["access_token"].(string)
	// Replay: refused, and the tokens issued from the code are revoked
	// (RFC 6749 4.1.2).
	w, data = exchange(rfcVerifier)
	if w.Code != 400 || data["error"] != "invalid_grant" {
		t.Fatalf("replay: %d %v", w.Code, data)
	}
	if _, err := e.mgr.LoadAccessToken(context.Background(), access); err == nil {
		t.Fatal("access token from a replayed code is still valid")
	}
}

func TestToken_RefreshHooks(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(s *server.Server)
		scope    string
		wantCode string
	}{
		{"RefreshingScopeHandler refusal is invalid_scope", func(s *server.Server) {
			s.SetRefreshingScopeHandler(func(tgr *oauth2.TokenGenerateRequest, old string) (bool, error) {
				return old == "read write" && tgr.Scope == "write", nil
			})
		}, "read", "invalid_scope"},
		{"RefreshingValidationHandler refusal is invalid_grant", func(s *server.Server) {
			s.SetRefreshingValidationHandler(func(ti oauth2.TokenInfo) (bool, error) { return false, nil })
		}, "", "invalid_grant"},
		{"RefreshingScopeHandler acceptance", func(s *server.Server) {
			s.SetRefreshingScopeHandler(func(tgr *oauth2.TokenGenerateRequest, old string) (bool, error) {
				return old == "read write" && tgr.Scope == "write", nil
			})
		}, "write", ""},
		{"refresh cannot widen the scope (RFC 6749 6)", nil, "read write admin", "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e.srv)
			}
			code := e.authCode(t, confID, confRedirect, "read write")
			_, data := e.token(tokenReq{body: url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier}}.Encode(), basic: basic(confID, confSecret)}.build())
			refresh, _ := data["refresh_token"].(string)
			if refresh == "" {
				t.Fatalf("no refresh token: %v", data)
			}
			body := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
			if tt.scope != "" {
				body.Set("scope", tt.scope)
			}
			before := e.issued()
			w, data := e.token(tokenReq{body: body.Encode(), basic: basic(confID, confSecret)}.build())
			if tt.wantCode == "" {
				if w.Code != 200 || data["scope"] != tt.scope {
					t.Fatalf("refresh: %d %v", w.Code, data)
				}
				return
			}
			if w.Code != 400 || data["error"] != tt.wantCode {
				t.Fatalf("refresh: %d %v, want %s", w.Code, data, tt.wantCode)
			}
			if e.issued() != before {
				t.Fatal("a token was issued on an error path")
			}
		})
	}
}

func TestToken_RefreshTokenBoundToClient(t *testing.T) {
	e := newEnv(t)
	code := e.authCode(t, confID, confRedirect, "read")
	_, data := e.token(tokenReq{body: url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier}}.Encode(), basic: basic(confID, confSecret)}.build())
	refresh := data["refresh_token"].(string)
	before := e.issued()
	w, data := e.token(tokenReq{body: "grant_type=refresh_token&refresh_token=" + url.QueryEscape(refresh), basic: basic(basicOnlyID, confSecret)}.build())
	if w.Code != 400 || data["error"] != "invalid_grant" || e.issued() != before {
		t.Fatalf("another client's refresh: %d %v", w.Code, data)
	}
}

func TestToken_PasswordGrant(t *testing.T) {
	tests := []struct {
		name       string
		handler    server.PasswordAuthorizationHandler
		body       string
		wantStatus int
		wantCode   string
	}{
		{"valid credentials", func(_ context.Context, clientID, u, p string) (string, error) {
			if clientID == confID && u == "alice" && p == "pa ss" {
				return "alice-id", nil
			}
			return "", nil
		}, "grant_type=password&username=alice&password=pa+ss&scope=read", 200, ""},
		{"wrong password is invalid_grant", func(context.Context, string, string, string) (string, error) {
			return "", nil
		}, "grant_type=password&username=alice&password=bad", 400, "invalid_grant"},
		{"access_denied from the handler is invalid_grant", func(context.Context, string, string, string) (string, error) {
			return "", errors.ErrAccessDenied
		}, "grant_type=password&username=alice&password=bad", 400, "invalid_grant"},
		{"missing password is invalid_request", func(context.Context, string, string, string) (string, error) {
			return "alice-id", nil
		}, "grant_type=password&username=alice", 400, "invalid_request"},
		{"handler outage is 503", func(context.Context, string, string, string) (string, error) {
			return "", oauth2.ErrUnavailable
		}, "grant_type=password&username=alice&password=x", 503, "temporarily_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.SetAllowedGrantType(oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials, oauth2.PasswordCredentials)
			e.srv.SetPasswordAuthorizationHandler(tt.handler)
			before := e.issued()
			w, data := e.token(tokenReq{body: tt.body, basic: basic(confID, confSecret)}.build())
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", w.Code, tt.wantStatus, data)
			}
			if tt.wantCode == "" {
				ti, err := e.mgr.LoadAccessToken(context.Background(), data["access_token"].(string))
				if err != nil || ti.GetUserID() != "alice-id" {
					t.Fatalf("stored token: %v %v", ti, err)
				}
				return
			}
			if data["error"] != tt.wantCode || e.issued() != before {
				t.Fatalf("error %v, issued %d", data["error"], e.issued()-before)
			}
			if strings.Contains(w.Body.String(), "bad") {
				t.Fatal("response echoes the password")
			}
		})
	}
}

// TestToken_PasswordNotTriedForUnauthorizedClient checks that the resource
// owner's password is not verified for a client that may not use the
// password grant.
func TestToken_PasswordNotTriedForUnauthorizedClient(t *testing.T) {
	e := newEnv(t)
	e.srv.SetAllowedGrantType(oauth2.PasswordCredentials)
	called := false
	e.srv.SetPasswordAuthorizationHandler(func(context.Context, string, string, string) (string, error) {
		called = true
		return "u", nil
	})
	w, data := e.token(tokenReq{body: "grant_type=password&username=a&password=b", basic: basic(limitedID, confSecret)}.build())
	if w.Code != 400 || data["error"] != "unauthorized_client" || called {
		t.Fatalf("status %d %v, handler called %v", w.Code, data, called)
	}
}

func TestToken_PublicClientAuthenticatesWithNone(t *testing.T) {
	e := newEnv(t)
	q := url.Values{"response_type": {"code"}, "client_id": {pubID}, "code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"}}
	w, err := e.authorize(q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_, v := redirectParams(t, w, false)
	body := url.Values{"grant_type": {"authorization_code"}, "code": {v.Get("code")}, "client_id": {pubID}, "code_verifier": {rfcVerifier}}
	tw, data := e.token(tokenReq{body: body.Encode()}.build())
	if tw.Code != 200 {
		t.Fatalf("public client exchange: %d %v", tw.Code, data)
	}
}

// TestToken_ForcePKCERequiresVerifier exchanges a code issued without PKCE
// (before ForcePKCE was set), which the manager alone would accept.
func TestToken_ForcePKCERequiresVerifier(t *testing.T) {
	e := newEnv(t)
	w, err := e.authorize(authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect))
	if err != nil {
		t.Fatal(err)
	}
	_, v := redirectParams(t, w, false)
	e.srv.Config.ForcePKCE = true
	body := url.Values{"grant_type": {"authorization_code"}, "code": {v.Get("code")}, "redirect_uri": {confRedirect}}.Encode()
	before := e.issued()
	tw, data := e.token(tokenReq{body: body, basic: basic(confID, confSecret)}.build())
	if tw.Code != 400 || data["error"] != "invalid_grant" || e.issued() != before {
		t.Fatalf("status %d %v", tw.Code, data)
	}
	e.srv.Config.ForcePKCE = false
	if tw, data := e.token(tokenReq{body: body, basic: basic(confID, confSecret)}.build()); tw.Code != 200 {
		t.Fatalf("without ForcePKCE: %d %v", tw.Code, data)
	}
}
