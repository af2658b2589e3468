package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// apps runs the authorization server and the client on random loopback
// ports, each knowing the other's URL.
type apps struct {
	server, client *httptest.Server
}

func startApps(t *testing.T) apps {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cli := httptest.NewUnstartedServer(nil)
	serverURL, clientURL := "http://"+srv.Listener.Addr().String(), "http://"+cli.Listener.Addr().String()
	h, err := newAuthServer(serverConfig{
		Issuer:       serverURL,
		ClientID:     "222222",
		ClientSecret: "22222222",
		RedirectURI:  clientURL + "/oauth2",
		Users:        map[string]string{"test": "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	cli.Config.Handler = newClientApp(clientConfig{ServerURL: serverURL, ClientURL: clientURL, ClientID: "222222", ClientSecret: "22222222"})
	srv.Start()
	cli.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(cli.Close)
	return apps{server: srv, client: cli}
}

// browser is a user agent with a cookie jar that follows redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{Jar: jar}}
}

type page struct {
	status int
	url    *url.URL
	header http.Header
	body   string
}

func (b *browser) do(method, rawURL string, form url.Values) page {
	b.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = b.c.PostForm(rawURL, form)
	} else {
		resp, err = b.c.Get(rawURL)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(body)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF field on %s (status %d): %s", p.url, p.status, p.body)
	}
	return m[1]
}

// signIn starts at the client and posts the login form.
func (b *browser) signIn(a apps, password string) page {
	b.t.Helper()
	login := b.do(http.MethodGet, a.client.URL+"/", nil)
	if login.status != http.StatusOK || login.url.Path != "/login" || !strings.HasPrefix(login.url.String(), a.server.URL) {
		b.t.Fatalf("the client did not lead to the server's login page: %d %s", login.status, login.url)
	}
	return b.do(http.MethodPost, a.server.URL+"/login", url.Values{
		"username": {"test"}, "password": {password}, "csrf": {login.csrf(b.t)},
	})
}

type tokenJSON struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
}

func decodeToken(t *testing.T, p page) tokenJSON {
	t.Helper()
	var tok tokenJSON
	if p.status != http.StatusOK {
		t.Fatalf("%s: status %d: %s", p.url.Path, p.status, p.body)
	}
	if err := json.Unmarshal([]byte(p.body), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("%s: no token in %q (%v)", p.url.Path, p.body, err)
	}
	return tok
}

func TestAuthcode_FullFlowWithPKCEThenRefreshAndTry(t *testing.T) {
	a := startApps(t)
	b := newBrowser(t)

	consent := b.signIn(a, "test")
	if consent.status != http.StatusOK || consent.url.Path != "/consent" {
		t.Fatalf("after sign-in: %d %s", consent.status, consent.url)
	}
	if !strings.Contains(consent.body, "222222") || !strings.Contains(consent.body, "read") {
		t.Fatalf("the consent page does not name the client and scope: %s", consent.body)
	}
	got := b.do(http.MethodPost, a.server.URL+"/consent", url.Values{"consent": {"allow"}, "csrf": {consent.csrf(t)}})
	if got.url.Path != "/oauth2" || !strings.HasPrefix(got.url.String(), a.client.URL) {
		t.Fatalf("allow did not return to the client's redirect URI: %s", got.url)
	}
	if q := got.url.Query(); q.Get("iss") != a.server.URL || q.Get("state") == "" {
		t.Fatalf("callback query %v: want iss (RFC 9207) and state", q)
	}
	first := decodeToken(t, got)
	if first.RefreshToken == "" || first.TokenType != "Bearer" {
		t.Fatalf("token %+v: want a Bearer token with a refresh token", first)
	}

	refreshed := decodeToken(t, b.do(http.MethodGet, a.client.URL+"/refresh", nil))
	if refreshed.AccessToken == first.AccessToken || refreshed.RefreshToken == "" || refreshed.RefreshToken == first.RefreshToken {
		t.Fatal("refresh did not issue a new access token and rotate the refresh token (RFC 9700 4.14.2)")
	}

	try := b.do(http.MethodGet, a.client.URL+"/try", nil)
	var info map[string]any
	if err := json.Unmarshal([]byte(try.body), &info); err != nil || try.status != http.StatusOK {
		t.Fatalf("/try: %d %s", try.status, try.body)
	}
	if info["client_id"] != "222222" || info["user_id"] != "test" || info["scope"] != "read" {
		t.Fatalf("/try: %v", info)
	}

	if cc := decodeToken(t, b.do(http.MethodGet, a.client.URL+"/client", nil)); cc.RefreshToken != "" {
		t.Fatal("client credentials issued a refresh token (RFC 6749 4.4.3)")
	}

	// The first access token was replaced by the refresh.
	req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/test", nil)
	req.Header.Set("Authorization", "Bearer "+first.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("old access token: %d %q, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestAuthcode_RefusedSignInsAndDenials(t *testing.T) {
	a := startApps(t)
	tests := []struct {
		name string
		run  func(b *browser) page
		// wantStatus and wantPath are of the last page; wantBody is in it.
		wantStatus int
		wantPath   string
		wantBody   string
	}{
		{
			name:       "wrong password shows an error on the login page",
			run:        func(b *browser) page { return b.signIn(a, "wrong") },
			wantStatus: http.StatusUnauthorized, wantPath: "/login", wantBody: "Invalid username or password.",
		},
		{
			name: "deny sends access_denied to the client (RFC 6749 4.1.2.1)",
			run: func(b *browser) page {
				consent := b.signIn(a, "test")
				return b.do(http.MethodPost, a.server.URL+"/consent", url.Values{"consent": {"deny"}, "csrf": {consent.csrf(t)}})
			},
			wantStatus: http.StatusBadRequest, wantPath: "/oauth2", wantBody: "access_denied",
		},
		{
			name: "login without the form's CSRF token is refused",
			run: func(b *browser) page {
				b.do(http.MethodGet, a.client.URL+"/", nil)
				return b.do(http.MethodPost, a.server.URL+"/login", url.Values{"username": {"test"}, "password": {"test"}, "csrf": {"forged"}})
			},
			wantStatus: http.StatusForbidden, wantPath: "/login", wantBody: "expired",
		},
		{
			name: "consent without the form's CSRF token is refused",
			run: func(b *browser) page {
				b.signIn(a, "test")
				return b.do(http.MethodPost, a.server.URL+"/consent", url.Values{"consent": {"allow"}, "csrf": {"forged"}})
			},
			wantStatus: http.StatusForbidden, wantPath: "/consent", wantBody: "expired",
		},
		{
			name: "consent from before sign-in is no longer valid after it",
			run: func(b *browser) page {
				login := b.do(http.MethodGet, a.client.URL+"/", nil)
				before := login.csrf(t)
				b.do(http.MethodPost, a.server.URL+"/login", url.Values{"username": {"test"}, "password": {"test"}, "csrf": {before}})
				return b.do(http.MethodPost, a.server.URL+"/consent", url.Values{"consent": {"allow"}, "csrf": {before}})
			},
			wantStatus: http.StatusForbidden, wantPath: "/consent", wantBody: "expired",
		},
		{
			name: "callback with a state the client did not send is refused",
			run: func(b *browser) page {
				b.do(http.MethodGet, a.client.URL+"/", nil)
				return b.do(http.MethodGet, a.client.URL+"/oauth2?code=x&state=attacker", nil)
			},
			wantStatus: http.StatusBadRequest, wantPath: "/oauth2", wantBody: "State invalid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.run(newBrowser(t))
			if got.status != tt.wantStatus || got.url.Path != tt.wantPath || !strings.Contains(got.body, tt.wantBody) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", got.status, got.url.Path, got.body, tt.wantStatus, tt.wantPath, tt.wantBody)
			}
			if strings.Contains(got.body, "access_token") {
				t.Fatal("a refused flow showed a token")
			}
		})
	}
}

func TestAuthcode_PagesCannotBeFramedOrLeakReferrers(t *testing.T) {
	a := startApps(t)
	login := newBrowser(t).do(http.MethodGet, a.client.URL+"/", nil)
	for header, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	} {
		if !strings.Contains(login.header.Get(header), want) {
			t.Errorf("%s = %q, want %q", header, login.header.Get(header), want)
		}
	}
}

func TestAuthcode_RepeatedFailedSignInsAreThrottled(t *testing.T) {
	a := startApps(t)
	b := newBrowser(t)
	var last page
	for range 6 {
		last = b.signIn(a, "wrong")
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("sixth failed sign-in: %d, want 429", last.status)
	}
	// Even the right password waits for the window to pass.
	if got := b.signIn(a, "test"); got.status != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: %d, want 429", got.status)
	}
}

// TestExamples_UseOnlyThePublicAPI: an example is code to copy, so none
// imports a package of the module's internal tree, which no other module
// may import.
func TestExamples_UseOnlyThePublicAPI(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", "github.com/oauth2d/oauth2/example/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 {
		t.Fatalf("go list found %d example packages", len(lines))
	}
	for _, line := range lines {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, "github.com/oauth2d/oauth2/") && strings.Contains(imp+"/", "/internal/") {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}
