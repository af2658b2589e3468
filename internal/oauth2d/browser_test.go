package oauth2d

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
)

// newChromium starts headless Chromium for a test, or skips the test when
// there is none.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	browser := chromiumPath()
	if browser == "" {
		t.Skip("no Chromium found: install it (apt-get install -y chromium) or set OAUTH2_TEST_CHROMIUM to run the browser test")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 820),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// tab is the headless Chromium tab of a browser test: each step fails the
// test with its name, and screenshots go to the test's artifact directory.
type tab struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

// newTab starts Chromium for t (newChromium), or skips t when there is
// none.
func newTab(t *testing.T) *tab {
	t.Helper()
	return &tab{t: t, ctx: newChromium(t), shots: artifactDir(t)}
}

// save writes a screenshot of the page as name.
func (b *tab) save(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// do runs the actions of a step.
func (b *tab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// text returns the text of the element sel selects.
func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// chromiumPath finds the browser: $OAUTH2_TEST_CHROMIUM, then Debian's
// chromium and the usual names of Chrome.
func chromiumPath() string {
	if p := os.Getenv("OAUTH2_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifactDir is where the browser test saves its screenshots.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("OAUTH2_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// callback is the client's redirect endpoint: it hands every query it
// gets to the test.
type callback struct {
	*httptest.Server
	got chan url.Values
}

func newCallback(t *testing.T) *callback {
	cb := &callback{got: make(chan url.Values, 4)}
	cb.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		cb.got <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>client</title><p id="done">back at the client</p>`)
	}))
	t.Cleanup(cb.Close)
	return cb
}

func (cb *callback) wait(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-cb.got:
		return q
	case <-time.After(30 * time.Second):
		t.Fatal("the browser never reached the client's redirect URI")
		return nil
	}
}

// TestBrowser_AuthorizationCodeFlowWithPKCE drives headless Chromium through
// the login and consent pages: a wrong password shows an error, "allow"
// lands on the client with a code that golang.org/x/oauth2 exchanges (PKCE
// S256) and refreshes, a second request for the same scope skips the
// consent page, and "deny" lands with access_denied, state and iss.
func TestBrowser_AuthorizationCodeFlowWithPKCE(t *testing.T) {
	tb := newTab(t)
	ctx, save, do, text := tb.ctx, tb.save, tb.do, tb.text
	cb := newCallback(t)
	cfg := testConfig(cb.URL + "/callback")
	cfg.Clients = append(cfg.Clients, ClientConfig{ID: tvClientID, Public: true, GrantTypes: []string{"device_code"}, Scopes: []string{"read"}})
	cfg.Device.PollInterval = time.Second
	srv := startApp(t, cfg)

	conf := &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURL:  cb.URL + "/callback",
		Scopes:       []string{"read"},
		Endpoint: oauth2.Endpoint{
			AuthURL:   srv.URL + "/authorize",
			TokenURL:  srv.URL + "/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}

	// arrive waits until the browser has loaded the client's page, so that
	// the next navigation does not abort this one.
	arrive := func() url.Values {
		t.Helper()
		q := cb.wait(t)
		do("load the client's page", chromedp.WaitVisible(chromedp.ID("done")))
		return q
	}

	// Log in with a wrong password first, then the right one.
	verifier := oauth2.GenerateVerifier()
	do("open the authorize URL", chromedp.Navigate(conf.AuthCodeURL("state-allow", oauth2.S256ChallengeOption(verifier))),
		chromedp.WaitVisible(chromedp.ID("username")))
	save("login.png")
	do("wrong password",
		chromedp.SendKeys(chromedp.ID("username"), testUsername),
		chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".alert")))
	if got := text(".alert"); !strings.Contains(got, "incorrect") {
		t.Fatalf("wrong password: alert %q", got)
	}
	save("login-error.png")
	do("right password",
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	if got := text("h1"); !strings.Contains(got, testClientID) {
		t.Fatalf("consent page heading %q does not name the client", got)
	}
	if got := text(".scopes"); !strings.Contains(got, "read") {
		t.Fatalf("consent page scopes %q do not list read", got)
	}
	save("consent.png")
	do("allow", chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
	q := arrive()
	if q.Get("state") != "state-allow" || q.Get("iss") != srv.URL || q.Get("code") == "" {
		t.Fatalf("allow: callback query %v", redactQuery(q))
	}

	// Exchange the code with its PKCE verifier, then refresh.
	hc := context.WithValue(ctx, oauth2.HTTPClient, srv.Client())
	tok, err := conf.Exchange(hc, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Extra("scope") != "read" {
		t.Fatalf("exchange: token without access/refresh token or scope read (scope %v)", tok.Extra("scope"))
	}
	expired := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
	refreshed, err := conf.TokenSource(hc, expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.AccessToken == "" || refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not issue a new access token and rotate the refresh token")
	}

	// The same scope again: the consent is remembered.
	verifier2 := oauth2.GenerateVerifier()
	do("authorize again", chromedp.Navigate(conf.AuthCodeURL("state-again", oauth2.S256ChallengeOption(verifier2))))
	q = arrive()
	if q.Get("state") != "state-again" || q.Get("code") == "" {
		t.Fatalf("remembered consent: callback query %v", redactQuery(q))
	}

	// A wider scope asks again; deny it.
	wider := *conf
	wider.Scopes = []string{"read", "write"}
	do("authorize with a wider scope",
		chromedp.Navigate(wider.AuthCodeURL("state-deny", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
		chromedp.WaitVisible(chromedp.CSS(`button[value="deny"]`)))
	if got := text(".scopes"); !strings.Contains(got, "write") {
		t.Fatalf("consent page scopes %q do not list write", got)
	}
	do("deny", chromedp.Click(chromedp.CSS(`button[value="deny"]`)))
	q = arrive()
	if q.Get("error") != "access_denied" || q.Get("state") != "state-deny" || q.Get("iss") != srv.URL || q.Has("code") {
		t.Fatalf("deny: callback query %v", redactQuery(q))
	}

	// The device flow: the verification_uri_complete fills in the code,
	// the user confirms it, allows, and the device gets its token.
	device := &oauth2.Config{ClientID: tvClientID, Scopes: []string{"read"}, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: srv.URL + "/device_authorization", TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	da, err := device.DeviceAuth(hc)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	polled := make(chan error, 1)
	go func() {
		_, err := device.DeviceAccessToken(hc, da)
		polled <- err
	}()
	do("open the verification URI", chromedp.Navigate(da.VerificationURIComplete), chromedp.WaitVisible(chromedp.ID("user_code")))
	if got, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("user_code"))); err != nil || got != da.UserCode {
		t.Fatalf("the device page shows %q, want the user code (%v)", got, err)
	}
	save("device.png")
	do("confirm the code", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)))
	if got := text("h1"); !strings.Contains(got, tvClientID) {
		t.Fatalf("device consent heading %q does not name the client", got)
	}
	save("device-consent.png")
	do("allow the device", chromedp.Click(chromedp.CSS(`button[value="allow"]`)), chromedp.WaitVisible(chromedp.CSS(".done-icon")))
	if got := text(".lead"); !strings.Contains(got, "return to your device") {
		t.Fatalf("device result page says %q", got)
	}
	save("device-done.png")
	if err := <-polled; err != nil {
		t.Fatalf("the device got no token: %v", err)
	}

	// An unregistered redirect URI is shown, never followed.
	evil := *conf
	evil.RedirectURL = "https://evil.example/cb"
	do("authorize with an unregistered redirect URI",
		chromedp.Navigate(evil.AuthCodeURL("state-evil", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
		chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := text("h1"); !strings.Contains(got, "Unregistered redirect address") {
		t.Fatalf("error page heading %q", got)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasPrefix(loc, srv.URL+"/authorize?") {
		t.Fatalf("the browser left the server: %q %v", loc, err)
	}
	save("error.png")
}

// redactQuery hides the code in a failure message.
func redactQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if k == "code" {
			v = []string{"(hidden)"}
		}
		out[k] = v
	}
	return out
}
