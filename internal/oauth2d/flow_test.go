package oauth2d

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// browser is an HTTP client that walks the pages as a browser would, one
// redirect at a time, sending the Origin header a browser sends with a
// form POST.
type browser struct {
	t      testing.TB
	srv    *testServer
	client *http.Client
	origin string
}

func newBrowser(t testing.TB, srv *testServer) *browser {
	return &browser{t: t, srv: srv, client: noRedirect(t), origin: srv.URL}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Get(b.abs(path))
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, readBody(b.t, resp)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.abs(path), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, readBody(b.t, resp)
}

func (b *browser) abs(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return b.srv.URL + path
}

// expectRedirect checks a 303 (or 302) and returns its Location.
func (b *browser) expectRedirect(resp *http.Response, status int, prefix string) string {
	b.t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != status || !strings.HasPrefix(loc, prefix) {
		b.t.Fatalf("%s %s: status %d Location %q, want %d to %s…", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, loc, status, prefix)
	}
	return loc
}

// authorizeURL is an authorization request for the test client.
func authorizeURL(redirect, scope, state string) string {
	return authorizeURLFor(testClientID, redirect, scope, state)
}

// authorizeURLFor is an authorization request for clientID.
func authorizeURLFor(clientID, redirect, scope, state string) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirect},
		"scope":                 {scope},
		"state":                 {state},
		"code_challenge":        {testChallenge()},
		"code_challenge_method": {"S256"},
	}
	return "/authorize?" + q.Encode()
}

// testVerifier is the PKCE verifier of authorizeURL's challenge.
const testVerifier = "dBjftJeZ4CVP-mJ0kXEBEyKNBd3nLh8LNtdMdPYJg8w"

// testChallenge is BASE64URL(SHA256(testVerifier)) (RFC 7636 4.2).
func testChallenge() string {
	sum := sha256.Sum256([]byte(testVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// login opens the authorization request, is sent to the login page, and
// signs in; it returns the authorize path it is sent back to.
func (b *browser) login(authorize, username, password string) string {
	b.t.Helper()
	resp, _ := b.get(authorize)
	loginURL := b.expectRedirect(resp, http.StatusSeeOther, "/login?return=")
	resp, page := b.get(loginURL)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("login page: %d", resp.StatusCode)
	}
	resp, _ = b.post("/login", url.Values{
		"username": {username},
		"password": {password},
		"csrf":     {hiddenValue(b.t, page, "csrf")},
		"return":   {hiddenValue(b.t, page, "return")},
	})
	return b.expectRedirect(resp, http.StatusSeeOther, "/authorize?")
}

// consent follows the authorize path to the consent page and presses
// the button; it returns the authorize path it is sent back to.
func (b *browser) consent(authorize, decision string) string {
	b.t.Helper()
	resp, _ := b.get(authorize)
	consentURL := b.expectRedirect(resp, http.StatusSeeOther, "/consent?request=")
	resp, page := b.get(consentURL)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("consent page: %d", resp.StatusCode)
	}
	resp, _ = b.post("/consent", url.Values{
		"consent": {decision},
		"csrf":    {hiddenValue(b.t, page, "csrf")},
		"request": {hiddenValue(b.t, page, "request")},
	})
	return b.expectRedirect(resp, http.StatusSeeOther, "/authorize?")
}

// finish follows the authorize path to the client and returns the query
// of the redirect.
func (b *browser) finish(authorize, redirect string) url.Values {
	b.t.Helper()
	resp, _ := b.get(authorize)
	loc := b.expectRedirect(resp, http.StatusFound, redirect)
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return u.Query()
}

// code runs the whole flow and returns the code.
func (b *browser) code(redirect, scope, state string) string {
	b.t.Helper()
	authz := authorizeURL(redirect, scope, state)
	back := b.login(authz, testUsername, testPassword)
	back = b.consent(back, "allow")
	q := b.finish(back, redirect)
	if q.Get("code") == "" || q.Get("state") != state {
		b.t.Fatalf("no code in the redirect: %v", redactQuery(q))
	}
	return q.Get("code")
}
