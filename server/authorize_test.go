package server_test

import (
	"context"
	stderrors "errors"
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

// trickyState must come back byte-identical (RFC 6749 4.1.2): every
// printable ASCII character a URL gives a meaning to is in it, all of them
// within the VSCHAR syntax of RFC 6749 Appendix A.5.
const trickyState = "a&b=c d+e%2Ff/#?~'\"<>;\\"

func authQuery(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestAuthorize_ErrorsBeforeClientAndRedirectValidationAreNotRedirected(t *testing.T) {
	tests := []struct {
		name  string
		query string
	}{
		{"missing client_id", authQuery("response_type", "code", "redirect_uri", confRedirect, "state", "s")},
		{"empty client_id", authQuery("response_type", "code", "client_id", "", "redirect_uri", confRedirect)},
		{"unknown client", authQuery("response_type", "code", "client_id", "nobody", "redirect_uri", confRedirect)},
		{"repeated client_id", authQuery("response_type", "code", "client_id", confID, "client_id", confID, "redirect_uri", confRedirect)},
		{"repeated redirect_uri", authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "redirect_uri", confRedirect)},
		{"unregistered redirect_uri", authQuery("response_type", "code", "client_id", confID, "redirect_uri", "https://evil.example.com/cb")},
		{"redirect_uri with a prefix of the registered one", authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect+"/../evil")},
		{"redirect_uri with a fragment", authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect+"#frag")},
		{"relative redirect_uri", authQuery("response_type", "code", "client_id", confID, "redirect_uri", "/oauth2")},
		{"seed Domain client with another host", authQuery("response_type", "code", "client_id", seedID, "redirect_uri", "http://localhost:9094.evil.com/cb")},
		{"malformed escape", "response_type=code&client_id=" + confID + "&redirect_uri=" + url.QueryEscape(confRedirect) + "&state=%zz"},
		{"invalid UTF-8", "response_type=code&client_id=" + confID + "&redirect_uri=" + url.QueryEscape(confRedirect) + "&state=%ff"},
		{"unsupported response_type with a bad redirect_uri", authQuery("response_type", "token", "client_id", confID, "redirect_uri", "https://evil.example.com/")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Config.Issuer = issuer
			before := e.issued()
			w, err := e.authorize(tt.query)
			if err != nil {
				t.Errorf("HandleAuthorizeRequest returned %v after writing the error page", err)
			}
			if w.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", w.Code)
			}
			if loc := w.Header().Get("Location"); loc != "" {
				t.Errorf("redirected to %q", loc)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
			if !strings.HasPrefix(w.Body.String(), "invalid_request: ") {
				t.Errorf("body %q", w.Body.String())
			}
			if strings.Contains(w.Body.String(), "evil") {
				t.Error("body echoes the request")
			}
			if e.issued() != before {
				t.Error("a code was issued")
			}
		})
	}
}

func TestAuthorize_DirectErrorAsJSONWhenAccepted(t *testing.T) {
	e := newEnv(t)
	r := httptest.NewRequest(http.MethodGet, "/authorize?"+authQuery("response_type", "code", "client_id", "nobody"), nil)
	r.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	if err := e.srv.HandleAuthorizeRequest(w, r); err != nil {
		t.Fatalf("returned %v after writing the error", err)
	}
	if w.Code != 400 || w.Header().Get("Content-Type") != "application/json;charset=UTF-8" ||
		!strings.HasPrefix(w.Body.String(), `{"error":"invalid_request","error_description":`) {
		t.Fatalf("%d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}

func TestAuthorize_PreRedirectErrorHandlerWritesUnredirectableErrors(t *testing.T) {
	e := newEnv(t)
	var got error
	e.srv.SetPreRedirectErrorHandler(func(w http.ResponseWriter, req *server.AuthorizeRequest, err error) error {
		got = err
		if req == nil || req.Request == nil || req.RedirectURI != "" {
			t.Errorf("handler got request %+v", req)
		}
		w.WriteHeader(http.StatusTeapot)
		return nil
	})
	w, err := e.authorize(authQuery("response_type", "code", "client_id", confID, "redirect_uri", "https://evil.example.com/"))
	if err != nil || got == nil || !stderrors.Is(got, errors.ErrInvalidRequest) {
		t.Fatalf("returned %v, handler got %v", err, got)
	}
	if w.Code != http.StatusTeapot || w.Header().Get("Location") != "" {
		t.Fatalf("status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
}

func TestAuthorize_LaterErrorsRedirectWithStateAndIss(t *testing.T) {
	denied := func(s *server.Server) {
		s.SetUserAuthorizationHandler(func(http.ResponseWriter, *http.Request) (string, error) {
			return "", errors.ErrAccessDenied
		})
	}
	tests := []struct {
		name     string
		setup    func(s *server.Server)
		query    string
		wantCode string
	}{
		{"missing response_type", nil,
			authQuery("client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "invalid_request"},
		{"implicit not enabled", nil,
			authQuery("response_type", "token", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "unsupported_response_type"},
		{"unknown response_type", nil,
			authQuery("response_type", "code id_token", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "unsupported_response_type"},
		{"repeated scope", nil,
			authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState, "scope", "a", "scope", "b"), "invalid_request"},
		{"repeated response_type", nil,
			authQuery("response_type", "code", "response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "invalid_request"},
		{"public client without PKCE (RFC 9700 2.1.1)", nil,
			authQuery("response_type", "code", "client_id", pubID, "state", trickyState), "invalid_request"},
		{"plain PKCE is refused by default", nil,
			authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState, "code_challenge", rfcVerifier, "code_challenge_method", "plain"), "invalid_request"},
		{"challenge without method means plain (RFC 7636 4.3)", nil,
			authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState, "code_challenge", rfcVerifier), "invalid_request"},
		{"unknown PKCE method", nil,
			authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState, "code_challenge", rfcChallenge, "code_challenge_method", "S512"), "invalid_request"},
		{"ForcePKCE requires a code_challenge", func(s *server.Server) { s.Config.ForcePKCE = true },
			authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "invalid_request"},
		{"PKCE method outside AllowedCodeChallengeMethods", func(s *server.Server) {
			s.Config.AllowedCodeChallengeMethods = []oauth2.CodeChallengeMethod{"S512"}
		}, authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState,
			"code_challenge", rfcChallenge, "code_challenge_method", "S256"), "invalid_request"},
		{"resource owner denies", denied,
			authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "access_denied"},
		{"no UserAuthorizationHandler is access_denied", func(s *server.Server) { s.UserAuthorizationHandler = nil },
			authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "access_denied"},
		{"scope outside the client's registration", nil,
			authQuery("response_type", "code", "client_id", limitedID, "redirect_uri", confRedirect, "state", trickyState, "scope", "admin"), "invalid_scope"},
		{"ClientAuthorizedHandler refusal", func(s *server.Server) {
			s.SetClientAuthorizedHandler(func(string, oauth2.GrantType) (bool, error) { return false, nil })
		}, authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "unauthorized_client"},
		{"ClientScopeHandler refusal", func(s *server.Server) {
			s.SetClientScopeHandler(func(*oauth2.TokenGenerateRequest) (bool, error) { return false, nil })
		}, authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "invalid_scope"},
		{"AuthorizeScopeHandler failure is server_error", func(s *server.Server) {
			s.SetAuthorizeScopeHandler(func(http.ResponseWriter, *http.Request) (string, error) { return "", context.Canceled })
		}, authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState), "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Config.Issuer = issuer
			if tt.setup != nil {
				tt.setup(e.srv)
			}
			before := e.issued()
			w, err := e.authorize(tt.query)
			if err != nil {
				t.Fatalf("returned %v", err)
			}
			loc, v := redirectParams(t, w, false)
			want, _ := url.Parse(confRedirect)
			if tt.query != "" && strings.Contains(tt.query, "client_id="+pubID) {
				want, _ = url.Parse(pubRedirect)
				if v.Get("app") != "1" {
					t.Errorf("registered query lost: %v", v)
				}
			}
			if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path || loc.Fragment != "" {
				t.Errorf("redirected to %s", loc)
			}
			if v.Get("error") != tt.wantCode {
				t.Errorf("error %q, want %q (%v)", v.Get("error"), tt.wantCode, v)
			}
			if v.Get("error_description") == "" {
				t.Error("no error_description")
			}
			if v.Get("state") != trickyState {
				t.Errorf("state %q, want %q", v.Get("state"), trickyState)
			}
			if v.Get("iss") != issuer {
				t.Errorf("iss %q (RFC 9207)", v.Get("iss"))
			}
			if v.Get("code") != "" || e.issued() != before {
				t.Error("a code was issued on an error path")
			}
		})
	}
}

// TestAuthorize_StateAndScopeOutsideAppendixAAreRefused: a state with a
// character outside VSCHAR (RFC 6749 Appendix A.5) is invalid_request, and
// a scope outside NQCHAR (A.4) invalid_scope, redirected to the validated
// redirect URI without the state; before the client and its redirect URI
// are valid, the error is shown, not redirected. The bad value is never
// echoed, and nothing is issued.
func TestAuthorize_StateAndScopeOutsideAppendixAAreRefused(t *testing.T) {
	tests := []struct {
		name, param, value string
		wantCode           string
	}{
		{"state with a NUL", "state", "abc\x00def", "invalid_request"},
		{"state with a control character", "state", "abc\x01", "invalid_request"},
		{"state with a line break", "state", "abc\r\nLocation: https://evil.example/", "invalid_request"},
		{"state with DEL", "state", "abc\x7f", "invalid_request"},
		{"state with a non-ASCII letter", "state", "caf\u00e9", "invalid_request"},
		{"scope with a NUL", "scope", "read\x00admin", "invalid_scope"},
		{"scope with a double quote", "scope", `read "admin"`, "invalid_scope"},
		{"scope with a backslash", "scope", `read\admin`, "invalid_scope"},
		{"scope with a tab", "scope", "read\tadmin", "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Config.Issuer = issuer
			before := e.issued()
			query := authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect,
				"code_challenge", rfcChallenge, "code_challenge_method", "S256", tt.param, tt.value)
			w, err := e.authorize(query)
			if err != nil {
				t.Fatalf("returned %v", err)
			}
			loc, v := redirectParams(t, w, false)
			if !strings.HasPrefix(loc.String(), confRedirect+"?") {
				t.Fatalf("redirected to %s", loc)
			}
			if v.Get("error") != tt.wantCode || v.Has("state") || v.Has("code") {
				t.Fatalf("redirect parameters %v, want error %s and no state or code", v, tt.wantCode)
			}
			if strings.Contains(w.Header().Get("Location"), url.QueryEscape(tt.value)) {
				t.Fatal("the refused value is echoed")
			}
			if e.issued() != before {
				t.Fatal("a code was issued")
			}

			// With a redirect URI that is not registered, nothing is
			// redirected at all (RFC 6749 4.1.2.1).
			w, err = e.authorize(authQuery("response_type", "code", "client_id", confID,
				"redirect_uri", "https://evil.example/cb", tt.param, tt.value))
			if err != nil || w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
				t.Fatalf("unregistered redirect URI: returned %v, status %d, Location %q", err, w.Code, w.Header().Get("Location"))
			}
		})
	}
}

func TestAuthorize_RepeatedStateIsNotReturned(t *testing.T) {
	e := newEnv(t)
	w, _ := e.authorize(authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", "a", "state", "b"))
	_, v := redirectParams(t, w, false)
	if v.Get("error") != "invalid_request" || v.Has("state") {
		t.Fatalf("got %v", v)
	}
}

func TestAuthorize_CodeSuccess(t *testing.T) {
	tests := []struct {
		name     string
		issuer   string
		query    string
		wantBase string
	}{
		{"explicit redirect_uri", issuer, authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect,
			"state", trickyState, "scope", "read", "code_challenge", rfcChallenge, "code_challenge_method", "S256"), confRedirect + "?"},
		{"no issuer, no state", "", authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect), confRedirect + "?"},
		{"registered redirect_uri when omitted, keeping its query (RFC 6749 3.1.2)", issuer,
			authQuery("response_type", "code", "client_id", pubID, "state", trickyState, "code_challenge", rfcChallenge, "code_challenge_method", "S256"), pubRedirect + "&"},
		{"seed Domain client", issuer, authQuery("response_type", "code", "client_id", seedID, "redirect_uri", seedDomain+"/oauth2", "state", "s"), seedDomain + "/oauth2?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Config.Issuer = tt.issuer
			w, err := e.authorize(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, tt.wantBase) {
				t.Fatalf("Location %q, want prefix %q", loc, tt.wantBase)
			}
			_, v := redirectParams(t, w, false)
			in, _ := url.ParseQuery(tt.query)
			if v.Get("code") == "" || v.Get("state") != in.Get("state") || v.Get("iss") != tt.issuer || v.Has("error") {
				t.Fatalf("got %v", v)
			}
			if tt.issuer == "" && v.Has("iss") {
				t.Fatal("iss sent without an issuer")
			}
		})
	}
}

func TestAuthorize_PostFormAccepted(t *testing.T) {
	e := newEnv(t)
	body := authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", "s")
	r := httptest.NewRequest(http.MethodPost, "/authorize", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	if err := e.srv.HandleAuthorizeRequest(w, r); err != nil {
		t.Fatal(err)
	}
	_, v := redirectParams(t, w, false)
	if v.Get("code") == "" || v.Get("state") != "s" {
		t.Fatalf("got %v", v)
	}
}

func TestAuthorize_ParameterInQueryAndBodyIsRepeated(t *testing.T) {
	e := newEnv(t)
	body := authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect)
	r := httptest.NewRequest(http.MethodPost, "/authorize?client_id="+confID, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	if err := e.srv.HandleAuthorizeRequest(w, r); err != nil || w.Code != 400 {
		t.Fatalf("status %d, err %v", w.Code, err)
	}
}

func TestAuthorize_OtherMethodsAreRefused(t *testing.T) {
	e := newEnv(t)
	r := httptest.NewRequest(http.MethodPut, "/authorize?"+authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect), nil)
	w := httptest.NewRecorder()
	if err := e.srv.HandleAuthorizeRequest(w, r); err != nil || w.Code != 400 || w.Header().Get("Location") != "" {
		t.Fatalf("status %d, err %v", w.Code, err)
	}
}

func TestAuthorize_UserHandlerTakingOverWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.srv.SetUserAuthorizationHandler(func(w http.ResponseWriter, r *http.Request) (string, error) {
		w.Header().Set("Location", "/login")
		w.WriteHeader(http.StatusFound)
		return "", nil
	})
	before := e.issued()
	w, err := e.authorize(authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect))
	if err != nil {
		t.Fatal(err)
	}
	if w.Header().Get("Location") != "/login" || e.issued() != before {
		t.Fatalf("Location %q", w.Header().Get("Location"))
	}
}

// TestAuthorize_SeedResumesWithPresetForm follows the seed's example: the
// application stores r.Form before the login page and sets it back on the
// request that resumes the authorization.
func TestAuthorize_SeedResumesWithPresetForm(t *testing.T) {
	e := newEnv(t)
	saved := url.Values{"response_type": {"code"}, "client_id": {confID}, "redirect_uri": {confRedirect}, "state": {"s1"}}
	r := httptest.NewRequest(http.MethodPost, "/authorize", nil)
	r.Form = saved
	w := httptest.NewRecorder()
	if err := e.srv.HandleAuthorizeRequest(w, r); err != nil {
		t.Fatal(err)
	}
	_, v := redirectParams(t, w, false)
	if v.Get("code") == "" || v.Get("state") != "s1" {
		t.Fatalf("got %v", v)
	}
}

func TestAuthorize_ScopeAndLifetimeHooks(t *testing.T) {
	e := newEnv(t)
	e.srv.SetAllowedResponseType(oauth2.Code, oauth2.Token)
	e.srv.SetAuthorizeScopeHandler(func(http.ResponseWriter, *http.Request) (string, error) { return "read", nil })
	e.srv.SetAccessTokenExpHandler(func(http.ResponseWriter, *http.Request) (time.Duration, error) { return 10 * time.Minute, nil })
	w, err := e.authorize(authQuery("response_type", "token", "client_id", confID, "redirect_uri", confRedirect, "scope", "write"))
	if err != nil {
		t.Fatal(err)
	}
	_, v := redirectParams(t, w, true)
	if v.Get("scope") != "read" || v.Get("expires_in") != "600" {
		t.Fatalf("got %v", v)
	}
}

func TestAuthorize_ImplicitWhenEnabled(t *testing.T) {
	e := newEnv(t)
	e.srv.Config.Issuer = issuer
	e.srv.SetAllowedResponseType(oauth2.Code, oauth2.Token)
	w, err := e.authorize(authQuery("response_type", "token", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState, "scope", "read"))
	if err != nil {
		t.Fatal(err)
	}
	loc, v := redirectParams(t, w, true)
	if loc.RawQuery != "" {
		t.Fatalf("token parameters in the query: %s", loc)
	}
	if v.Get("access_token") == "" || v.Get("token_type") != "Bearer" || v.Get("expires_in") == "" ||
		v.Get("state") != trickyState || v.Get("iss") != issuer || v.Get("scope") != "read" {
		t.Fatalf("got %v", v)
	}
	if v.Has("refresh_token") {
		t.Fatal("implicit grant issued a refresh token (RFC 6749 4.2.2)")
	}
	if _, err := e.mgr.LoadAccessToken(context.Background(), v.Get("access_token")); err != nil {
		t.Fatal(err)
	}
	// Errors of the implicit grant go in the fragment too.
	w, _ = e.authorize(authQuery("response_type", "token", "client_id", confID, "redirect_uri", confRedirect, "state", "s", "scope", "a", "scope", "b"))
	_, v = redirectParams(t, w, true)
	if v.Get("error") != "invalid_request" || v.Get("state") != "s" {
		t.Fatalf("got %v", v)
	}
}

func TestGetRedirectURI(t *testing.T) {
	s := server.NewDefaultServer(nil)
	tests := []struct {
		req  server.AuthorizeRequest
		data map[string]any
		want string
	}{
		{server.AuthorizeRequest{RedirectURI: "https://c.example/cb", State: "x y", ResponseType: oauth2.Code}, map[string]any{"code": "abc"},
			"https://c.example/cb?code=abc&state=x+y"},
		{server.AuthorizeRequest{RedirectURI: "https://c.example/cb?a=1", ResponseType: oauth2.Code}, map[string]any{"code": "abc"},
			"https://c.example/cb?a=1&code=abc"},
		{server.AuthorizeRequest{RedirectURI: "https://c.example/cb?", ResponseType: oauth2.Code}, map[string]any{"code": "abc"},
			"https://c.example/cb?code=abc"},
		{server.AuthorizeRequest{RedirectURI: "https://c.example/cb", State: "&=#", ResponseType: oauth2.Token}, map[string]any{"access_token": "t", "expires_in": int64(60)},
			"https://c.example/cb#access_token=t&expires_in=60&state=%26%3D%23"},
	}
	for _, tt := range tests {
		got, err := s.GetRedirectURI(&tt.req, tt.data)
		if err != nil || got != tt.want {
			t.Errorf("GetRedirectURI = %q, %v; want %q", got, err, tt.want)
		}
	}
	if _, err := s.GetRedirectURI(&server.AuthorizeRequest{RedirectURI: "https://c.example/cb#f"}, nil); err == nil {
		t.Error("fragment accepted")
	}
}

// The seed's Quick Start answers any returned error with http.Error; the
// server must therefore return nil once it has written the error page, or
// the page would be written twice.
func TestAuthorize_SeedPatternWritesErrorPageOnce(t *testing.T) {
	e := newEnv(t)
	var responses int
	e.srv.SetResponseErrorHandler(func(re *errors.Response) { responses++ })
	handler := func(w http.ResponseWriter, r *http.Request) {
		if err := e.srv.HandleAuthorizeRequest(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/authorize?"+authQuery("response_type", "code", "client_id", "nobody"), nil)
	w := httptest.NewRecorder()
	handler(w, r)
	want := "invalid_request: The client_id is unknown\n"
	if w.Code != http.StatusBadRequest || w.Body.String() != want || w.Header().Get("Location") != "" {
		t.Fatalf("status %d, body %q, Location %q; want 400 %q", w.Code, w.Body.String(), w.Header().Get("Location"), want)
	}
	if responses != 1 {
		t.Fatalf("ResponseErrorHandler saw %d responses, want 1", responses)
	}
}

// A request the manager would refuse at issuance is refused before the
// resource owner is asked anything (the UserAuthorizationHandler is not
// called), with the RFC error redirected to the client: an unregistered
// scope (RFC 6749 3.3), a grant the client is not registered for, and PKCE
// parameters the manager does not accept (RFC 7636 4.4.1).
func TestAuthorize_RequestTheManagerWouldRefuseIsRefusedBeforeSignIn(t *testing.T) {
	tests := []struct {
		name     string
		clientID string
		params   []string
		wantCode string
	}{
		{"scope not registered", limitedID, []string{"scope", "admin",
			"code_challenge", rfcChallenge, "code_challenge_method", "S256"}, "invalid_scope"},
		{"one of the scopes not registered", limitedID, []string{"scope", "read admin",
			"code_challenge", rfcChallenge, "code_challenge_method", "S256"}, "invalid_scope"},
		{"plain PKCE not enabled", confID, []string{"code_challenge", rfcVerifier, "code_challenge_method", "plain"}, "invalid_request"},
		{"unknown PKCE method", confID, []string{"code_challenge", rfcChallenge, "code_challenge_method", "S512"}, "invalid_request"},
		{"malformed S256 challenge", confID, []string{"code_challenge", "short", "code_challenge_method", "S256"}, "invalid_request"},
		{"public client without PKCE", pubID, nil, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			asked := false
			e.srv.SetUserAuthorizationHandler(func(w http.ResponseWriter, r *http.Request) (string, error) {
				asked = true
				return "u1", nil
			})
			redirect := confRedirect
			if tt.clientID == pubID {
				redirect = pubRedirect
			}
			kv := append([]string{"response_type", "code", "client_id", tt.clientID,
				"redirect_uri", redirect, "state", "s1"}, tt.params...)
			w, err := e.authorize(authQuery(kv...))
			if err != nil {
				t.Fatalf("returned %v", err)
			}
			_, v := redirectParams(t, w, false)
			if v.Get("error") != tt.wantCode || v.Get("state") != "s1" || v.Has("code") {
				t.Fatalf("redirect parameters %v, want error %s with state", v, tt.wantCode)
			}
			if asked {
				t.Fatal("the resource owner was asked to authorize a request that cannot be granted")
			}
			if e.issued() != 0 {
				t.Fatal("a code was issued")
			}
		})
	}
}
