package main

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// apps runs the provider and the relying party on random loopback ports,
// each knowing the other's URL, over real HTTP.
type apps struct {
	op, rp *httptest.Server
}

func startApps(t *testing.T) apps {
	t.Helper()
	op := httptest.NewUnstartedServer(nil)
	rp := httptest.NewUnstartedServer(nil)
	opURL, rpURL := "http://"+op.Listener.Addr().String(), "http://"+rp.Listener.Addr().String()
	h, err := newProvider(providerConfig{Issuer: opURL, ClientID: "rp", ClientSecret: "rp-secret",
		RedirectURI: rpURL + "/callback", Users: demoUsers})
	if err != nil {
		t.Fatal(err)
	}
	op.Config.Handler = h
	rp.Config.Handler = newRP(rpConfig{Issuer: opURL, RPURL: rpURL, ClientID: "rp", ClientSecret: "rp-secret"})
	op.Start()
	rp.Start()
	t.Cleanup(op.Close)
	t.Cleanup(rp.Close)
	return apps{op: op, rp: rp}
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
	// visited are the URLs the browser went through.
	visited []string
}

func (b *browser) do(method, rawURL string, form url.Values) page {
	b.t.Helper()
	var visited []string
	c := *b.c
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		visited = append(visited, req.URL.String())
		return nil
	}
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(rawURL, form)
	} else {
		resp, err = c.Get(rawURL)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(body), visited: visited}
}

var hiddenField = regexp.MustCompile(`type="hidden" name="([a-z]+)" value="([^"]*)"`)

// field returns the value of a hidden field of the page's form.
func (p page) field(t *testing.T, name string) string {
	t.Helper()
	for _, m := range hiddenField.FindAllStringSubmatch(p.body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	t.Fatalf("no %s field on %s (status %d): %s", name, p.url, p.status, p.body)
	return ""
}

// submit posts the form of a page of the provider with the given fields
// and its hidden csrf and return fields.
func (b *browser) submit(a apps, p page, path string, fields url.Values) page {
	b.t.Helper()
	fields.Set("csrf", p.field(b.t, "csrf"))
	fields.Set("return", p.field(b.t, "return"))
	return b.do(http.MethodPost, a.op.URL+path, fields)
}

// signIn starts at the relying party, signs in as test and allows the
// consent page when it is shown.
func (b *browser) signIn(a apps, start string) page {
	b.t.Helper()
	login := b.do(http.MethodGet, a.rp.URL+start, nil)
	if login.url.Path != "/login" || !strings.HasPrefix(login.url.String(), a.op.URL) {
		b.t.Fatalf("the relying party did not lead to the provider's login page: %d %s", login.status, login.url)
	}
	next := b.submit(a, login, "/login", url.Values{"username": {"test"}, "password": {"test"}})
	if next.url.Path == "/consent" {
		if !strings.Contains(next.body, "email") || !strings.Contains(next.body, "name") {
			b.t.Fatalf("the consent page does not list the claims: %s", next.body)
		}
		next = b.submit(a, next, "/consent", url.Values{"consent": {"allow"}})
	}
	return next
}

func TestOIDC_SignInWithGoOIDCThenSilentSignInAndRefresh(t *testing.T) {
	a := startApps(t)
	b := newBrowser(t)
	home := b.signIn(a, "/login")
	if home.status != http.StatusOK || !strings.HasPrefix(home.url.String(), a.rp.URL) ||
		!strings.Contains(home.body, "Hello, Test User") || !strings.Contains(home.body, "test@example.com") {
		t.Fatalf("after sign-in: %d %s %s", home.status, home.url, home.body)
	}

	// Signed in at the provider: prompt=none signs in without a page.
	silent := b.do(http.MethodGet, a.rp.URL+"/login?prompt=none", nil)
	for _, u := range silent.visited {
		if strings.Contains(u, "/login?") && strings.HasPrefix(u, a.op.URL) || strings.Contains(u, "/consent") {
			t.Fatalf("a page was shown under prompt=none: %v", silent.visited)
		}
	}
	if !strings.Contains(silent.body, "Hello, Test User") {
		t.Fatalf("silent sign-in: %s", silent.body)
	}

	// prompt=login shows the login page again, saying why.
	again := b.do(http.MethodGet, a.rp.URL+"/login?prompt=login", nil)
	if again.url.Path != "/login" || !strings.Contains(again.body, "asks you to sign in again") {
		t.Fatalf("prompt=login: %d %s %s", again.status, again.url, again.body)
	}
	if home := b.submit(a, again, "/login", url.Values{"username": {"test"}, "password": {"test"}}); !strings.Contains(home.body, "Hello, Test User") {
		t.Fatalf("after signing in again: %s", home.body)
	}

	// The relying party refreshes and verifies the new ID token.
	if refreshed := b.do(http.MethodGet, a.rp.URL+"/refresh", nil); refreshed.status != http.StatusOK || !strings.Contains(refreshed.body, "Hello") {
		t.Fatalf("refresh: %d %s", refreshed.status, refreshed.body)
	}
}

func TestOIDC_PromptNoneWithoutSessionIsLoginRequired(t *testing.T) {
	a := startApps(t)
	home := newBrowser(t).do(http.MethodGet, a.rp.URL+"/login?prompt=none", nil)
	if !strings.Contains(home.body, `<strong id="error">login_required</strong>`) {
		t.Fatalf("prompt=none without a session: %d %s", home.status, home.body)
	}
	for _, u := range home.visited {
		if strings.HasPrefix(u, a.op.URL+"/login") {
			t.Fatalf("the login page was shown under prompt=none: %v", home.visited)
		}
	}
}

func TestOIDC_DenyOnTheConsentPageIsAccessDenied(t *testing.T) {
	a := startApps(t)
	b := newBrowser(t)
	login := b.do(http.MethodGet, a.rp.URL+"/login", nil)
	consent := b.submit(a, login, "/login", url.Values{"username": {"test"}, "password": {"test"}})
	home := b.submit(a, consent, "/consent", url.Values{"consent": {"deny"}})
	if !strings.Contains(home.body, `<strong id="error">access_denied</strong>`) {
		t.Fatalf("deny: %s", home.body)
	}
}

func TestOIDC_WrongPasswordAndForgedFormsAreRefused(t *testing.T) {
	a := startApps(t)
	b := newBrowser(t)
	login := b.do(http.MethodGet, a.rp.URL+"/login", nil)
	wrong := b.submit(a, login, "/login", url.Values{"username": {"test"}, "password": {"nope"}})
	if wrong.status != http.StatusUnauthorized || !strings.Contains(wrong.body, "Invalid username or password.") {
		t.Fatalf("wrong password: %d %s", wrong.status, wrong.body)
	}
	forged := b.do(http.MethodPost, a.op.URL+"/login", url.Values{"username": {"test"}, "password": {"test"},
		"csrf": {"forged"}, "return": {login.field(t, "return")}})
	if forged.status != http.StatusForbidden {
		t.Fatalf("forged CSRF token: %d %s", forged.status, forged.body)
	}
	open := b.do(http.MethodPost, a.op.URL+"/login", url.Values{"username": {"test"}, "password": {"test"},
		"csrf": {login.field(t, "csrf")}, "return": {"https://evil.example.com/"}})
	if open.status != http.StatusForbidden || strings.Contains(open.url.Host, "evil") {
		t.Fatalf("a return URL elsewhere: %d %s", open.status, open.url)
	}
}

func TestOIDC_PagesCannotBeFramedOrLeakReferrers(t *testing.T) {
	a := startApps(t)
	login := newBrowser(t).do(http.MethodGet, a.rp.URL+"/login", nil)
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
