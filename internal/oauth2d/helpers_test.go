package oauth2d

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Test credentials, none of them the demo's.
const (
	testClientID     = "web-app"
	testClientSecret = "s3cr3t-client-value-7f2a"
	testUsername     = "alice"
	testPassword     = "correct horse battery staple"
	// testAtRestSecret encrypts the signing keys of tests that share a
	// store between Apps.
	testAtRestSecret = "test-at-rest-secret-0123456789abcdef"
)

// syncBuffer is a log sink that the server's goroutines and the test can
// share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConfig returns a configuration with one confidential client whose
// redirect URI is redirect, and one user, in a memory store.
func testConfig(redirect string) Config {
	cfg := baseConfig()
	cfg.Store = "memory:"
	cfg.Clients = []ClientConfig{{
		ID:           testClientID,
		Secret:       testClientSecret,
		RedirectURIs: []string{redirect},
		GrantTypes:   []string{"authorization_code", "refresh_token", "client_credentials"},
		Scopes:       []string{"read", "write"},
	}}
	cfg.Users = []UserConfig{{Username: testUsername, Password: testPassword}}
	return cfg
}

// testServer is an App served by httptest on 127.0.0.1, its issuer the
// server's own URL.
type testServer struct {
	*httptest.Server
	App  *App
	Logs *syncBuffer
}

// startApp serves the App of cfg, setting its issuer to the server's URL
// and capturing its logs.
func startApp(t testing.TB, cfg Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer = "http://" + ln.Addr().String()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	app, err := New(cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("New: %v", err)
	}
	// Served as the oauth2d command serves it (run.go), with the
	// connections' record slots.
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: app.Handler(), ConnContext: app.ConnContext}}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		app.Close()
	})
	return &testServer{Server: srv, App: app, Logs: logs}
}

// noRedirect is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see each 303.
func noRedirect(t testing.TB) *http.Client {
	t.Helper()
	jar := newJar()
	return &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newJar is a minimal cookie jar for one host.
func newJar() http.CookieJar {
	return &jar{cookies: map[string]*http.Cookie{}}
}

type jar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *jar) SetCookies(_ *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cookies {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = c
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hiddenValue returns the value of the hidden input name in an HTML page.
func hiddenValue(t testing.TB, page, name string) string {
	t.Helper()
	marker := `name="` + name + `" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no %s field in page:\n%s", name, page)
	}
	rest := page[i+len(marker):]
	return htmlUnescape(rest[:strings.IndexByte(rest, '"')])
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&quot;", `"`)
	return r.Replace(s)
}
