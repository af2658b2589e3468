package v4_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exampleFiles are the files of go-oauth2 v4.5.4's example programs.
var exampleFiles = []string{
	"example/server/server.go",
	"example/server/static/login.html",
	"example/server/static/auth.html",
	"example/client/client.go",
}

// Set in the process that drives the example flow inside its own network
// namespace.
const (
	envInner  = "OAUTH2D_COMPAT_V4_EXAMPLE"
	envServer = "OAUTH2D_COMPAT_V4_SERVER"
	envClient = "OAUTH2D_COMPAT_V4_CLIENT"
	envStatic = "OAUTH2D_COMPAT_V4_STATIC"
)

// TestGoOAuth2V4Example builds go-oauth2 v4.5.4's example server and client
// against this module, with import paths rewritten and the server's
// documented settings of v4.5.4.patch (the client is not changed at all),
// runs both as programs on their fixed ports 9096 and 9094, and walks the
// whole flow of v4's example README over real HTTP, as a browser would:
// authorize, login, consent, code exchange (golang.org/x/oauth2, with PKCE),
// /try, /refresh, /pwd and /client.
//
// The programs listen on fixed ports, so on Linux the flow runs in a
// network namespace of its own; elsewhere, or where namespaces are not
// allowed, on the machine's loopback, which must have the two ports free.
func TestGoOAuth2V4Example(t *testing.T) {
	if os.Getenv(envInner) != "" {
		exampleFlow(t)
		return
	}
	root := repoRoot(t)
	v4 := v4Dir(t)
	p := loadPatch(t, root)
	m := newTempModule(t, v4, root)
	for file := range p {
		if !strings.HasPrefix(file, "example/") {
			continue
		}
		if !strings.HasPrefix(file, "example/server/") {
			t.Fatalf("v4.5.4.patch changes %s: only the example server has documented settings", file)
		}
	}
	for _, rel := range exampleFiles {
		data, err := os.ReadFile(filepath.Join(v4, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(rel, ".go") {
			if data, err = rewriteImports(rel, data); err != nil {
				t.Fatal(err)
			}
		}
		if hs, ok := p[rel]; ok {
			out, err := hunks(hs).apply(string(data))
			if err != nil {
				t.Fatalf("v4.5.4.patch does not apply to %s: %v", rel, err)
			}
			data = []byte(out)
		}
		dir, name := filepath.Split(rel)
		m.add(t, filepath.Clean(dir), name, data)
	}
	bin := t.TempDir()
	server, client := filepath.Join(bin, "server"), filepath.Join(bin, "client")
	goCmd(t, m.dir, "build", "-o", server, "./example/server")
	goCmd(t, m.dir, "build", "-o", client, "./example/client")

	run := func(attr bool) ([]byte, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestGoOAuth2V4Example$", "-test.v", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), envInner+"=1", envServer+"="+server, envClient+"="+client,
			envStatic+"="+filepath.Join(m.dir, "example", "server"))
		if attr {
			cmd.SysProcAttr = netnsAttr()
			cmd.Env = append(cmd.Env, envInner+"=netns")
		}
		return cmd.CombinedOutput()
	}
	var out []byte
	var err error
	if netnsAttr() != nil {
		out, err = run(true)
		var ee *exec.ExitError
		if err != nil && !errorsAs(err, &ee) {
			t.Logf("no network namespace (%v): running on this machine's loopback", err)
			out, err = run(false)
		}
	} else {
		out, err = run(false)
	}
	if err != nil {
		t.Fatalf("the example flow failed: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "example:") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// exampleFlow runs in the child process: it starts the two programs and
// walks the flow.
func exampleFlow(t *testing.T) {
	if os.Getenv(envInner) == "netns" {
		if err := loopbackUp(); err != nil {
			t.Fatal(err)
		}
	}
	for _, addr := range []string{"localhost:9096", "localhost:9094"} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s is taken by another program: go-oauth2's examples need it", addr)
		}
	}
	start := func(bin string, args ...string) {
		var out bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Dir = os.Getenv(envStatic) // the server reads static/*.html from its directory
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = childAttr()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("%s said:\n%s", filepath.Base(bin), out.String())
			}
		})
	}
	start(os.Getenv(envServer), "-d=false")
	start(os.Getenv(envClient))
	for _, addr := range []string{"localhost:9096", "localhost:9094"} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not answer: %v", addr, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	b := newBrowser(t)
	// Authorization request: the client sends the browser to the server,
	// whose user authorization handler sends it to the login page.
	login := b.get("http://localhost:9094/")
	form := login.form(t, "username", "password")
	// Login, then the consent page.
	consent := b.submit(form, url.Values{"username": {"test"}, "password": {"test"}})
	allow := consent.form(t)
	if !strings.HasSuffix(allow.action, "/oauth/authorize") {
		t.Fatalf("the consent form posts to %s", allow.action)
	}
	// Consent: the server redirects to the client with a code, which the
	// client exchanges (golang.org/x/oauth2, with the PKCE verifier).
	tok := b.submit(allow, url.Values{}).token(t, "code exchange")
	if tok.RefreshToken == "" {
		t.Fatal("the code exchange gave no refresh token")
	}
	t.Logf("example: authorize, login, consent and code exchange: %s token", tok.TokenType)

	try := func(what string) {
		var info struct {
			ClientID  string `json:"client_id"`
			UserID    string `json:"user_id"`
			ExpiresIn int64  `json:"expires_in"`
		}
		b.get("http://localhost:9094/try").json(t, what, &info)
		if info.ClientID != "222222" || info.UserID == "" || info.ExpiresIn <= 0 || info.ExpiresIn > 7200 {
			t.Fatalf("%s: /try answered %+v", what, info)
		}
		t.Logf("example: %s: /try sees client %s, user %s", what, info.ClientID, info.UserID)
	}
	try("after the code exchange")

	refreshed := b.get("http://localhost:9094/refresh").token(t, "refresh")
	if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Fatalf("the refresh did not issue new tokens: %+v", refreshed)
	}
	t.Logf("example: /refresh: new access and refresh tokens")
	try("after the refresh")

	pwd := b.get("http://localhost:9094/pwd").token(t, "password grant")
	if pwd.RefreshToken == "" {
		t.Fatal("the password grant gave no refresh token")
	}
	t.Logf("example: /pwd: password grant")
	try("after the password grant")

	cc := b.get("http://localhost:9094/client").token(t, "client credentials")
	if cc.RefreshToken != "" {
		t.Fatal("the client credentials grant gave a refresh token (RFC 6749 4.4.3)")
	}
	t.Logf("example: /client: client credentials grant")
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
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

type page struct {
	url  *url.URL
	body []byte
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: %s\n%s", req.Method, resp.Request.URL, resp.Status, body)
	}
	return &page{url: resp.Request.URL, body: body}
}

func (b *browser) get(u string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// htmlForm is a form of a page: where it posts to, and its input names.
type htmlForm struct {
	action, method string
	inputs         []string
}

var (
	formTag  = regexp.MustCompile(`(?is)<form([^>]*)>(.*?)</form>`)
	attr     = regexp.MustCompile(`(?i)(\w+)\s*=\s*"([^"]*)"`)
	inputTag = regexp.MustCompile(`(?i)<input([^>]*)>`)
)

// form returns the page's one form, which must have the named inputs.
func (p *page) form(t *testing.T, inputs ...string) htmlForm {
	t.Helper()
	m := formTag.FindAllSubmatch(p.body, -1)
	if len(m) != 1 {
		t.Fatalf("%s has %d forms, want 1:\n%s", p.url, len(m), p.body)
	}
	f := htmlForm{method: http.MethodGet}
	for _, a := range attr.FindAllStringSubmatch(string(m[0][1]), -1) {
		switch strings.ToLower(a[1]) {
		case "action":
			ref, err := p.url.Parse(a[2])
			if err != nil {
				t.Fatal(err)
			}
			f.action = ref.String()
		case "method":
			f.method = strings.ToUpper(a[2])
		}
	}
	for _, in := range inputTag.FindAllStringSubmatch(string(m[0][2]), -1) {
		for _, a := range attr.FindAllStringSubmatch(in[1], -1) {
			if strings.EqualFold(a[1], "name") {
				f.inputs = append(f.inputs, a[2])
			}
		}
	}
	for _, want := range inputs {
		if !strings.Contains(" "+strings.Join(f.inputs, " ")+" ", " "+want+" ") {
			t.Fatalf("the form of %s has inputs %v, want %s", p.url, f.inputs, want)
		}
	}
	return f
}

func (b *browser) submit(f htmlForm, values url.Values) *page {
	b.t.Helper()
	req, err := http.NewRequest(f.method, f.action, strings.NewReader(values.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (p *page) json(t *testing.T, what string, v any) {
	t.Helper()
	if err := json.Unmarshal(p.body, v); err != nil {
		t.Fatalf("%s: %s answered %q: %v", what, p.url, p.body, err)
	}
}

// exampleToken is a golang.org/x/oauth2 Token as the example client prints it.
type exampleToken struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"`
}

func (p *page) token(t *testing.T, what string) exampleToken {
	t.Helper()
	var tok exampleToken
	p.json(t, what, &tok)
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") || time.Until(tok.Expiry) <= 0 {
		t.Fatalf("%s: %s answered %s", what, p.url, p.body)
	}
	return tok
}
