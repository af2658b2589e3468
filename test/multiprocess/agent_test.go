package multiprocess

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// agent is a browser and a client application at once. As the browser it
// walks the authorization pages with a cookie jar, one redirect at a time,
// sending the Origin that a browser sends from the issuer's pages (the
// load balancer's, whichever process answers). As the client it calls the
// token, revocation and introspection endpoints of any process.
type agent struct {
	fx    fixture
	pages *http.Client // cookie jar, redirects not followed
	api   *http.Client // client authentication, no cookies
}

func newAgent(t *testing.T, fx fixture) *agent {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &agent{
		fx: fx,
		pages: &http.Client{
			Transport:     tr,
			Jar:           jar,
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		api: &http.Client{Transport: tr, Timeout: 30 * time.Second},
	}
}

// oauthConfig is the client's golang.org/x/oauth2 configuration with the
// token endpoint of p; its AuthURL is the path of the authorization
// endpoint, which every process serves.
func (a *agent) oauthConfig(p *process) *oauth2.Config {
	c := &oauth2.Config{
		ClientID:     a.fx.clientID,
		ClientSecret: a.fx.clientSecret,
		RedirectURL:  a.fx.redirectURI,
		Scopes:       []string{"read"},
		Endpoint:     oauth2.Endpoint{AuthURL: "/authorize", AuthStyle: oauth2.AuthStyleInHeader},
	}
	if p != nil {
		c.Endpoint.TokenURL = p.url + "/token"
	}
	return c
}

func (a *agent) ctx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, a.api)
}

// pageRoute sends each page to a process: the load balancer of a test.
type pageRoute func(path string) *process

// byPage sends the authorization endpoint to authorize, the login page to
// login and the consent page to consent, so that one authorization request
// crosses three processes.
func byPage(authorize, login, consent *process) pageRoute {
	return func(path string) *process {
		switch {
		case strings.HasPrefix(path, "/login"):
			return login
		case strings.HasPrefix(path, "/consent"):
			return consent
		}
		return authorize
	}
}

// authorize runs an authorization request with PKCE (RFC 6749 4.1.1, RFC
// 7636 4.3) through the pages, signing in and allowing when asked, and
// returns the code of the redirect and the PKCE verifier.
func (a *agent) authorize(t *testing.T, route pageRoute) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	state := randomHex(8)
	next := a.oauthConfig(nil).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
	var trail []string // the pages visited, for the failure message
	for range 8 {
		p := route(next)
		path, _, _ := strings.Cut(next, "?")
		trail = append(trail, p.name+" GET "+path)
		resp, page := a.get(t, p.url+next)
		switch resp.StatusCode {
		case http.StatusFound, http.StatusSeeOther:
			loc := resp.Header.Get("Location")
			if strings.HasPrefix(loc, a.fx.redirectURI+"?") {
				return a.codeOf(t, loc, state), verifier
			}
			next = a.local(t, loc)
		case http.StatusOK:
			form := url.Values{"csrf": {hiddenValue(t, page, "csrf")}}
			switch path {
			case "/login":
				form.Set("return", hiddenValue(t, page, "return"))
				form.Set("username", a.fx.username)
				form.Set("password", a.fx.password)
			case "/consent":
				// The one-time reference of the request /authorize
				// validated and keeps in the store.
				form.Set("request", hiddenValue(t, page, "request"))
				form.Set("consent", "allow")
			default:
				t.Fatalf("%s %s: a page where a redirect was expected", p.name, path)
			}
			trail = append(trail, p.name+" POST "+path)
			resp := a.post(t, p.url+path, form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s POST %s: status %d, want 303", p.name, path, resp.StatusCode)
			}
			next = a.local(t, resp.Header.Get("Location"))
		default:
			t.Fatalf("%s GET %s: status %d", p.name, path, resp.StatusCode)
		}
	}
	t.Fatalf("the authorization request did not reach the client within 8 pages: %s", strings.Join(trail, " → "))
	return "", ""
}

// codeOf checks the authorization response (RFC 6749 4.1.2, RFC 9207 2)
// and returns its code.
func (a *agent) codeOf(t *testing.T, loc, state string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal("the redirect to the client is not a URL")
	}
	q := u.Query()
	switch {
	case q.Has("error"):
		t.Fatalf("authorization error %q: %s", q.Get("error"), q.Get("error_description"))
	case q.Get("state") != state:
		t.Fatal("the redirect does not carry the request's state")
	case q.Get("code") == "":
		t.Fatal("the redirect carries no code")
	}
	if iss := q.Get("iss"); iss != sharedIssuer {
		t.Errorf("iss = %q, want the shared issuer %q (RFC 9207 2)", iss, sharedIssuer)
	}
	return q.Get("code")
}

// local turns a Location of the pages into a path: relative, or absolute
// on the shared issuer (the load balancer), never another host.
func (a *agent) local(t *testing.T, loc string) string {
	t.Helper()
	if rest, ok := strings.CutPrefix(loc, sharedIssuer); ok {
		loc = rest
	}
	if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
		t.Fatalf("redirect off the issuer: %q", loc)
	}
	return loc
}

func (a *agent) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := a.pages.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp)
}

func (a *agent) post(t *testing.T, u string, form url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", sharedIssuer)
	resp, err := a.pages.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hiddenValue returns the value of the hidden input name of an HTML form.
func hiddenValue(t *testing.T, page, name string) string {
	t.Helper()
	marker := `name="` + name + `" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no %s field in the page", name)
	}
	rest := page[i+len(marker):]
	end := strings.IndexByte(rest, '"')
	if end < 0 {
		t.Fatalf("the %s field is not closed", name)
	}
	return html.UnescapeString(rest[:end])
}

// exchange redeems a code at p's token endpoint (RFC 6749 4.1.3).
func (a *agent) exchange(p *process, code, verifier string) (*oauth2.Token, error) {
	return a.oauthConfig(p).Exchange(a.ctx(), code, oauth2.VerifierOption(verifier))
}

// refresh uses a refresh token at p's token endpoint (RFC 6749 6).
func (a *agent) refresh(p *process, refreshToken string) (*oauth2.Token, error) {
	return a.oauthConfig(p).TokenSource(a.ctx(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// isInvalidGrant reports whether a token request failed with invalid_grant
// (RFC 6749 5.2).
func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.Response.StatusCode == http.StatusBadRequest && re.ErrorCode == "invalid_grant"
}

// describe says how a token request failed, without the response body.
func describe(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return strings.TrimSpace(re.Response.Status + " " + re.ErrorCode + " " + re.ErrorDescription)
	}
	if err == nil {
		return "success"
	}
	return err.Error()
}

// tokenAnswer is a token endpoint response (RFC 6749 5.1, 5.2).
type tokenAnswer struct {
	status       int
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// tokenRequest posts form to the token endpoint at base with the client's
// Basic credentials (RFC 6749 2.3.1).
func tokenRequest(ctx context.Context, c *http.Client, base string, fx fixture, form url.Values) (tokenAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokenAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(fx.clientID), url.QueryEscape(fx.clientSecret))
	resp, err := c.Do(req)
	if err != nil {
		return tokenAnswer{}, err
	}
	defer resp.Body.Close()
	ans := tokenAnswer{status: resp.StatusCode}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return ans, err
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return ans, errors.New("the token endpoint did not answer JSON")
	}
	return ans, nil
}

// clientCredentials gets an access token from p (RFC 6749 4.4).
func (a *agent) clientCredentials(t *testing.T, p *process) string {
	t.Helper()
	ans, err := tokenRequest(a.ctx(), a.api, p.url, a.fx, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	if err != nil {
		t.Fatalf("%s: client_credentials: %v", p.name, err)
	}
	if ans.status != http.StatusOK || ans.AccessToken == "" {
		t.Fatalf("%s: client_credentials: status %d error %q", p.name, ans.status, ans.Error)
	}
	return ans.AccessToken
}

// requireRoute fails the test unless p routes path: oauth2d answers its
// 404 page for a path it does not serve, and every endpoint these tests
// call is one it must serve (RFC 7009, RFC 7662).
func (a *agent) requireRoute(t *testing.T, p *process, path string) {
	t.Helper()
	if status, _ := a.call(t, p, path, url.Values{"token": {"not-a-token-" + randomHex(8)}}); status == http.StatusNotFound {
		t.Fatalf("%s does not route %s (404)", p.name, path)
	}
}

// call posts form to path of p with the client's Basic credentials.
func (a *agent) call(t *testing.T, p *process, path string, form url.Values) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.fx.clientID), url.QueryEscape(a.fx.clientSecret))
	resp, err := a.api.Do(req)
	if err != nil {
		t.Fatalf("%s POST %s: %v", p.name, path, err)
	}
	return resp.StatusCode, []byte(readBody(t, resp))
}

// revoke revokes a token at p (RFC 7009 2.1), which answers 200 (2.2).
func (a *agent) revoke(t *testing.T, p *process, token, hint string) {
	t.Helper()
	status, body := a.call(t, p, "/revoke", url.Values{"token": {token}, "token_type_hint": {hint}})
	if status != http.StatusOK {
		t.Fatalf("%s: revocation: status %d: %s", p.name, status, body)
	}
}

// live tells whether an access token is live, through the introspection
// endpoint of p (RFC 7662 2.2).
func (a *agent) live(t *testing.T, p *process, access string) bool {
	t.Helper()
	status, body := a.call(t, p, "/introspect", url.Values{"token": {access}, "token_type_hint": {"access_token"}})
	if status != http.StatusOK {
		t.Fatalf("%s: introspection: status %d", p.name, status)
	}
	return activeJSON(body)
}

// activeJSON reads the active member of an introspection response (RFC
// 7662 2.2); a body that is not such JSON is not active.
func activeJSON(body []byte) bool {
	var ans struct {
		Active bool `json:"active"`
	}
	return json.Unmarshal(body, &ans) == nil && ans.Active
}
