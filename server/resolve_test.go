package server_test

import (
	stderrors "errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/server"
)

// issueRefresh runs the code flow for the confidential client and returns
// its access and refresh tokens.
func (e *env) issueRefresh(t *testing.T) (access, refresh string) {
	t.Helper()
	code := e.authCode(t, confID, confRedirect, "")
	w, data := e.token(tokenReq{
		body:  url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}, "code_verifier": {rfcVerifier}}.Encode(),
		basic: basic(confID, confSecret),
	}.build())
	if w.Code != http.StatusOK {
		t.Fatalf("code exchange: %d %v", w.Code, data)
	}
	return data["access_token"].(string), data["refresh_token"].(string)
}

// refreshReq is a refresh request for the confidential client with the
// refresh token given by body parameters and cookies.
func refreshReq(form url.Values, cookies ...*http.Cookie) *http.Request {
	form.Set("grant_type", "refresh_token")
	r := tokenReq{body: form.Encode(), basic: basic(confID, confSecret)}.build()
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// TestResolve_RefreshToken: where the refresh token is read from, per
// resolver, and that every resolver's missing or empty token is the one
// invalid_request answer of a missing refresh_token parameter.
func TestResolve_RefreshToken(t *testing.T) {
	var sawForm url.Values
	custom := func(r *http.Request) (string, error) {
		sawForm = r.Form
		return r.Form.Get("rt"), nil
	}
	failing := func(r *http.Request) (string, error) { return "", errors.ErrAccessDenied }
	tests := []struct {
		name     string
		resolver server.RefreshTokenResolveHandler
		form     url.Values
		cookies  int  // how many refresh_token cookies carry the token
		ok       bool // a token is issued
		wantErr  string
	}{
		{"default reads the parameter", nil, url.Values{"refresh_token": {"$"}}, 0, true, ""},
		{"default ignores the cookie", nil, url.Values{}, 1, false, "invalid_request"},
		{"form resolver reads the parameter", server.RefreshTokenFormResolveHandler, url.Values{"refresh_token": {"$"}}, 0, true, ""},
		{"cookie resolver reads the cookie", server.RefreshTokenCookieResolveHandler, url.Values{}, 1, true, ""},
		{"cookie resolver ignores the parameter", server.RefreshTokenCookieResolveHandler, url.Values{"refresh_token": {"$"}}, 0, false, "invalid_request"},
		{"cookie resolver refuses two cookies", server.RefreshTokenCookieResolveHandler, url.Values{}, 2, false, "invalid_request"},
		{"custom resolver reads r.Form", custom, url.Values{"rt": {"$"}}, 0, true, ""},
		{"custom resolver returning empty", custom, url.Values{}, 0, false, "invalid_request"},
		{"custom resolver error is answered", failing, url.Values{"refresh_token": {"$"}}, 0, false, "access_denied"},
	}
	// The answer to a request without refresh_token and no resolver: every
	// resolver's "no token" must give exactly this.
	missing := newEnv(t)
	wantW, wantData := missing.token(refreshReq(url.Values{}))
	if wantW.Code != http.StatusBadRequest || wantData["error"] != "invalid_request" {
		t.Fatalf("missing refresh_token: %d %v", wantW.Code, wantData)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.SetRefreshTokenResolveHandler(tt.resolver)
			_, refresh := e.issueRefresh(t)
			form := url.Values{}
			for k, v := range tt.form {
				form[k] = []string{strings.ReplaceAll(v[0], "$", refresh)}
			}
			var cookies []*http.Cookie
			for range tt.cookies {
				cookies = append(cookies, &http.Cookie{Name: "refresh_token", Value: refresh})
			}
			issued := e.issued()
			w, data := e.token(refreshReq(form, cookies...))
			if tt.ok {
				if w.Code != http.StatusOK || data["access_token"] == nil {
					t.Fatalf("refresh refused: %d %v", w.Code, data)
				}
				if tt.resolver != nil && tt.form.Has("rt") && sawForm.Get("rt") == "" {
					t.Fatal("the custom resolver did not see the request's parameters in r.Form")
				}
				return
			}
			if data["error"] != tt.wantErr {
				t.Fatalf("got %d %v, want %s", w.Code, data, tt.wantErr)
			}
			if e.issued() != issued {
				t.Fatal("a token was stored on an error path")
			}
			if tt.wantErr == "invalid_request" && (w.Code != wantW.Code || data["error_description"] != wantData["error_description"]) {
				t.Fatalf("no token gives %d %v, a missing refresh_token gives %d %v", w.Code, data, wantW.Code, wantData)
			}
		})
	}
}

// TestResolve_AccessToken: the header is the default source of a bearer
// token, also with AccessTokenDefaultResolveHandler set; the form only with
// Config.AllowBearerFromForm (RFC 6750 2.2); a cookie only with the cookie
// resolver; a resolver's empty token is the same invalid_token as none.
func TestResolve_AccessToken(t *testing.T) {
	empty := func(r *http.Request) (string, bool) { return "", true }
	custom := func(r *http.Request) (string, bool) {
		t := r.Header.Get("X-Token")
		return t, t != ""
	}
	tests := []struct {
		name      string
		resolver  server.AccessTokenResolveHandler
		allowForm bool
		where     string // header, form, cookie, cookies, x-token
		ok        bool
	}{
		{"default: header", nil, false, "header", true},
		{"default: form refused", nil, false, "form", false},
		{"default: cookie refused", nil, false, "cookie", false},
		{"default with AllowBearerFromForm: form", nil, true, "form", true},
		{"Default resolver: header", server.AccessTokenDefaultResolveHandler, false, "header", true},
		{"Default resolver: form refused", server.AccessTokenDefaultResolveHandler, false, "form", false},
		{"Default resolver with AllowBearerFromForm: form", server.AccessTokenDefaultResolveHandler, true, "form", true},
		{"cookie resolver: cookie", server.AccessTokenCookieResolveHandler, false, "cookie", true},
		{"cookie resolver: two cookies refused", server.AccessTokenCookieResolveHandler, false, "cookies", false},
		{"cookie resolver: header refused", server.AccessTokenCookieResolveHandler, false, "header", false},
		{"custom resolver", custom, false, "x-token", true},
		{"custom resolver: nothing", custom, false, "header", false},
		{"custom resolver: empty token with ok", empty, false, "header", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Config.AllowBearerFromForm = tt.allowForm
			e.srv.SetAccessTokenResolveHandler(tt.resolver)
			access, _ := e.issueRefresh(t)
			var r *http.Request
			switch tt.where {
			case "form":
				r = httptest.NewRequest(http.MethodPost, "/resource", strings.NewReader("access_token="+access))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			default:
				r = httptest.NewRequest(http.MethodGet, "/resource", nil)
			}
			switch tt.where {
			case "header":
				r.Header.Set("Authorization", "Bearer "+access)
			case "cookie":
				r.AddCookie(&http.Cookie{Name: "access_token", Value: access})
			case "cookies":
				r.AddCookie(&http.Cookie{Name: "access_token", Value: access})
				r.AddCookie(&http.Cookie{Name: "access_token", Value: access})
			case "x-token":
				r.Header.Set("X-Token", access)
			}
			ti, err := e.srv.ValidationBearerToken(r)
			tok, found := e.srv.BearerAuth(r)
			if tt.ok {
				if err != nil || ti.GetAccess() != access {
					t.Fatalf("token not accepted: %v", err)
				}
				if !found || tok != access {
					t.Fatalf("BearerAuth = %q, %v", tok, found)
				}
				return
			}
			if ti != nil || !stderrors.Is(err, errors.ErrInvalidToken) {
				t.Fatalf("got %v, %v; want invalid_token", ti, err)
			}
			if found {
				t.Fatalf("BearerAuth found %q", tok)
			}
		})
	}
}

// TestResolve_Functions: the resolvers on their own, as go-oauth2 v4's
// tests call them, except that the default access token resolver reads
// only the Authorization header (RFC 6750 2.1, RFC 9700 2.4).
func TestResolve_Functions(t *testing.T) {
	form := func(body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	withCookie := func(name, value string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.AddCookie(&http.Cookie{Name: name, Value: value})
		return r
	}
	refresh := []struct {
		name string
		fn   server.RefreshTokenResolveHandler
		r    *http.Request
		want string // "" : errors.ErrInvalidRequest
	}{
		{"form", server.RefreshTokenFormResolveHandler, form("refresh_token=rt"), "rt"},
		{"form missing", server.RefreshTokenFormResolveHandler, form(""), ""},
		{"form empty", server.RefreshTokenFormResolveHandler, form("refresh_token="), ""},
		{"form repeated", server.RefreshTokenFormResolveHandler, form("refresh_token=a&refresh_token=b"), ""},
		{"cookie", server.RefreshTokenCookieResolveHandler, withCookie("refresh_token", "rt"), "rt"},
		{"cookie missing", server.RefreshTokenCookieResolveHandler, form("refresh_token=rt"), ""},
		{"cookie empty", server.RefreshTokenCookieResolveHandler, withCookie("refresh_token", ""), ""},
	}
	for _, tt := range refresh {
		t.Run("refresh "+tt.name, func(t *testing.T) {
			got, err := tt.fn(tt.r)
			if tt.want == "" {
				if got != "" || err != errors.ErrInvalidRequest {
					t.Fatalf("got %q, %v; want errors.ErrInvalidRequest", got, err)
				}
				return
			}
			if got != tt.want || err != nil {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	header := httptest.NewRequest(http.MethodGet, "/", nil)
	header.Header.Set("Authorization", "Bearer test_token")
	twoHeaders := httptest.NewRequest(http.MethodGet, "/", nil)
	twoHeaders.Header.Add("Authorization", "Bearer a")
	twoHeaders.Header.Add("Authorization", "Bearer b")
	query := httptest.NewRequest(http.MethodGet, "/?access_token=test_token", nil)
	access := []struct {
		name string
		fn   server.AccessTokenResolveHandler
		r    *http.Request
		want string // "": no token
	}{
		{"default header", server.AccessTokenDefaultResolveHandler, header, "test_token"},
		{"default form", server.AccessTokenDefaultResolveHandler, form("access_token=test_token"), ""},
		{"default query", server.AccessTokenDefaultResolveHandler, query, ""},
		{"default two headers", server.AccessTokenDefaultResolveHandler, twoHeaders, ""},
		{"cookie", server.AccessTokenCookieResolveHandler, withCookie("access_token", "test_token"), "test_token"},
		{"cookie empty", server.AccessTokenCookieResolveHandler, withCookie("access_token", ""), ""},
		{"cookie missing", server.AccessTokenCookieResolveHandler, header, ""},
	}
	for _, tt := range access {
		t.Run("access "+tt.name, func(t *testing.T) {
			got, ok := tt.fn(tt.r)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("got %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}
