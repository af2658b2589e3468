package oauth2d

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/generates"
)

const testRedirect = "https://client.example/cb"

// tokenRequest posts a token request with Basic client credentials.
func tokenRequest(t *testing.T, srv *testServer, id, secret string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	var data map[string]any
	if err := json.Unmarshal([]byte(body), &data); err != nil {
		t.Fatalf("token response %d is not JSON: %q", resp.StatusCode, body)
	}
	return resp, data
}

func TestPages_SendSecurityHeaders(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	b := newBrowser(t, srv)
	back := b.login(authorizeURL(testRedirect, "read", "s"), testUsername, testPassword)
	resp, _ := b.get(back)
	consentURL := b.expectRedirect(resp, http.StatusSeeOther, "/consent")
	pages := []string{
		"/login?return=" + url.QueryEscape(authorizeURL(testRedirect, "read", "s")),
		consentURL,
		"/authorize?client_id=nobody&response_type=code",
		"/",
		"/no-such-page",
	}
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	}
	for _, p := range pages {
		resp, body := b.get(p)
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", p, k, got, v)
			}
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(body, "<script") {
			t.Errorf("GET %s: not a script-free HTML page", p)
		}
	}
	// The style sheet is a file of our own origin, as the CSP requires.
	resp, css := b.get("/static/style.css")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, ".card") {
		t.Fatalf("style sheet: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestAuthorize_UnknownClientOrRedirectShowsPageAndNeverRedirects(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	b := newBrowser(t, srv)
	tests := []struct{ name, query, want string }{
		{"unknown client", "client_id=nobody&response_type=code&redirect_uri=" + url.QueryEscape(testRedirect), "client_id is unknown"},
		{"missing client", "response_type=code", "client_id parameter is missing"},
		{"unregistered redirect", "client_id=" + testClientID + "&response_type=code&redirect_uri=" + url.QueryEscape("https://evil.example/cb"), "has not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.get("/authorize?" + tt.query + "&state=xyz")
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, tt.want) {
				t.Fatalf("page does not explain %q:\n%s", tt.want, body)
			}
		})
	}
}

func TestAuthorize_ErrorsAfterValidationAreRedirectedWithStateAndIss(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	b := newBrowser(t, srv)
	// An unsupported response_type, once client and redirect are valid.
	resp, _ := b.get("/authorize?client_id=" + testClientID + "&response_type=token&state=st&redirect_uri=" + url.QueryEscape(testRedirect))
	loc, _ := url.Parse(b.expectRedirect(resp, http.StatusFound, testRedirect))
	if q := loc.Query(); q.Get("error") != "unsupported_response_type" || q.Get("state") != "st" || q.Get("iss") != srv.URL {
		t.Fatalf("redirect %v", q)
	}
}

func TestFlow_CodeExchangeAndRefresh(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	b := newBrowser(t, srv)
	code := b.code(testRedirect, "read write", "st")
	resp, tok := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier},
	})
	if resp.StatusCode != http.StatusOK || tok["access_token"] == nil || tok["refresh_token"] == nil || tok["scope"] != "read write" {
		t.Fatalf("exchange: %d %v %v", resp.StatusCode, tok["error"], tok["error_description"])
	}
	resp, ref := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)},
	})
	if resp.StatusCode != http.StatusOK || ref["refresh_token"] == tok["refresh_token"] {
		t.Fatalf("refresh: %d %v", resp.StatusCode, ref["error"])
	}
}

func TestConsent_RememberedForSameOrFewerScopes(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	b := newBrowser(t, srv)
	b.code(testRedirect, "read write", "first")
	// Fewer scopes: no consent page, straight to the client.
	q := b.finish(authorizeURL(testRedirect, "read", "second"), testRedirect)
	if q.Get("code") == "" || q.Get("state") != "second" {
		t.Fatalf("fewer scopes: %v", redactQuery(q))
	}
	// The consent belongs to the user, not to the browser session.
	other := newBrowser(t, srv)
	back := other.login(authorizeURL(testRedirect, "read", "third"), testUsername, testPassword)
	resp, _ := other.get(back)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("same user in another browser: consent not remembered (status %d)", resp.StatusCode)
	}
}

func TestConsent_DenyRedirectsAccessDeniedAndRemembersNothing(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	b := newBrowser(t, srv)
	authz := authorizeURL(testRedirect, "read", "st-deny")
	back := b.login(authz, testUsername, testPassword)
	back = b.consent(back, "deny")
	q := b.finish(back, testRedirect)
	if q.Get("error") != "access_denied" || q.Get("state") != "st-deny" || q.Get("iss") != srv.URL || q.Has("code") {
		t.Fatalf("deny: %v", q)
	}
	// The denial was used once: the same request asks for consent again.
	resp, _ := b.get(authz)
	b.expectRedirect(resp, http.StatusSeeOther, "/consent?")
}

func TestLogin_BadInputShowsMessageAndSignsNobodyIn(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	authz := authorizeURL(testRedirect, "read", "s")
	tests := []struct {
		name     string
		form     func(page string) url.Values
		origin   string
		status   int
		message  string
		replayed bool
	}{
		{"empty fields", func(p string) url.Values {
			return url.Values{"username": {""}, "password": {""}, "csrf": {hiddenValue(t, p, "csrf")}, "return": {authz}}
		}, "", http.StatusBadRequest, "Enter your username and password.", false},
		{"unknown user", func(p string) url.Values {
			return url.Values{"username": {"mallory"}, "password": {testPassword}, "csrf": {hiddenValue(t, p, "csrf")}, "return": {authz}}
		}, "", http.StatusBadRequest, "The username or password is incorrect.", false},
		{"wrong password", func(p string) url.Values {
			return url.Values{"username": {testUsername}, "password": {"nope"}, "csrf": {hiddenValue(t, p, "csrf")}, "return": {authz}}
		}, "", http.StatusBadRequest, "The username or password is incorrect.", false},
		{"missing CSRF token", func(p string) url.Values {
			return url.Values{"username": {testUsername}, "password": {testPassword}, "return": {authz}}
		}, "", http.StatusForbidden, "This form is not valid.", false},
		{"forged CSRF token", func(p string) url.Values {
			tok := hiddenValue(t, p, "csrf")
			return url.Values{"username": {testUsername}, "password": {testPassword}, "csrf": {tok[:len(tok)-4] + "AAAA"}, "return": {authz}}
		}, "", http.StatusForbidden, "This form is not valid.", false},
		{"replayed CSRF token", func(p string) url.Values {
			return url.Values{"username": {testUsername}, "password": {testPassword}, "csrf": {hiddenValue(t, p, "csrf")}, "return": {authz}}
		}, "", http.StatusForbidden, "This form was already sent.", true},
		{"other origin", func(p string) url.Values {
			return url.Values{"username": {testUsername}, "password": {testPassword}, "csrf": {hiddenValue(t, p, "csrf")}, "return": {authz}}
		}, "https://evil.example", http.StatusForbidden, "sent from another site", false},
		{"return to another site", func(p string) url.Values {
			return url.Values{"username": {testUsername}, "password": {testPassword}, "csrf": {hiddenValue(t, p, "csrf")}, "return": {"//evil.example/x"}}
		}, "", http.StatusBadRequest, "sign-in link is not valid", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, srv)
			_, page := b.get("/login?return=" + url.QueryEscape(authz))
			form := tt.form(page)
			if tt.replayed {
				resp, _ := b.post("/login", form)
				b.expectRedirect(resp, http.StatusSeeOther, "/authorize?")
			}
			if tt.origin != "" {
				b.origin = tt.origin
			}
			resp, body := b.post("/login", form)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.message) {
				t.Fatalf("status %d, want %d with %q in:\n%s", resp.StatusCode, tt.status, tt.message, body)
			}
			for _, c := range resp.Cookies() {
				if strings.Contains(c.Name, "session") && c.MaxAge >= 0 {
					t.Fatalf("a session cookie was set")
				}
			}
		})
	}
}

func TestToken_JWTFormatSignsWithTheStoredKey(t *testing.T) {
	cfg := testConfig(testRedirect)
	cfg.AccessToken.Format = FormatJWT
	srv := startApp(t, cfg)
	resp, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, data["error"])
	}
	claims := &generates.JWTAccessClaims{}
	tok, err := jwt.ParseWithClaims(data["access_token"].(string), claims, srv.App.Keys().Keyfunc,
		jwt.WithIssuer(srv.URL), jwt.WithValidMethods([]string{"RS256"}))
	if err != nil || !tok.Valid {
		t.Fatalf("the access token does not verify with the server's key: %v", err)
	}
	// RFC 9068 2.2: without a resource owner the subject is the client,
	// which the configuration keeps apart from every username.
	if tok.Header["typ"] != "at+jwt" || claims.ClientID != testClientID || claims.Scope != "read" || claims.Subject != testClientID {
		t.Fatalf("not an RFC 9068 token: header %v", tok.Header)
	}
}

func TestToken_PrivateKeyJWTClientAuthentication(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(testRedirect)
	cfg.Clients = append(cfg.Clients, ClientConfig{
		ID: "service", TokenEndpointAuthMethod: "private_key_jwt", GrantTypes: []string{"client_credentials"}, JWKS: jwks,
	})
	srv := startApp(t, cfg)
	claims := jwt.RegisteredClaims{
		Issuer: "service", Subject: "service", Audience: jwt.ClaimStrings{srv.URL + "/token"},
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)), ID: "jti-1",
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = "k1"
	assertion, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	if resp, data := tokenRequest(t, srv, "", "", form); resp.StatusCode != http.StatusOK {
		t.Fatalf("assertion: %d %v %v", resp.StatusCode, data["error"], data["error_description"])
	}
	// The same jti again is a replay (RFC 7523 3).
	if resp, data := tokenRequest(t, srv, "", "", form); resp.StatusCode != http.StatusUnauthorized || data["error"] != "invalid_client" {
		t.Fatalf("replayed assertion: %d %v", resp.StatusCode, data["error"])
	}
	if !strings.Contains(srv.Logs.String(), "client_id=service") {
		t.Fatal("the log does not name the client of the assertion")
	}
}

func TestConsent_RefusesOtherOriginAndReplayedFormAndRemembersNothing(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	b := newBrowser(t, srv)
	authz := authorizeURL(testRedirect, "read", "s")
	back := b.login(authz, testUsername, testPassword)
	resp, _ := b.get(back)
	consentURL := b.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")
	_, page := b.get(consentURL)
	form := url.Values{"consent": {"allow"}, "csrf": {hiddenValue(t, page, "csrf")}, "request": {hiddenValue(t, page, "request")}}

	b.origin = "https://evil.example"
	resp, body := b.post("/consent", form)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "sent from another site") || resp.Header.Get("Location") != "" {
		t.Fatalf("cross-origin consent: %d", resp.StatusCode)
	}
	// Nothing was remembered: the request still asks for consent.
	resp, _ = b.get(back)
	b.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")

	b.origin = srv.URL
	resp, _ = b.post("/consent", form)
	b.expectRedirect(resp, http.StatusSeeOther, "/authorize?")
	// The reference is spent: the same form again answers nothing.
	resp, body = b.post("/consent", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "already answered") || resp.Header.Get("Location") != "" {
		t.Fatalf("replayed consent form: %d", resp.StatusCode)
	}
}
