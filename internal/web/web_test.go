package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/throttle"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newPages(t *testing.T, issuer string) (*Pages, *clock, oauth2.KVStore) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	kv := store.NewMemoryKV(clk.Now)
	users := NewUsers()
	if err := users.AddPassword("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	p, err := New(context.Background(), Config{
		Issuer: issuer,
		KV:     kv,
		Users:  users,
		Client: func(_ context.Context, id string) (oauth2.ClientInfo, error) {
			if id != "app" {
				return nil, oauth2.ErrNotFound
			}
			return &models.Client{ID: "app", RedirectURIs: []string{"https://app.example/cb"}}, nil
		},
		Throttle: &throttle.Limiter{Limit: 3, Window: time.Minute, Delay: time.Millisecond},
		Now:      clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, clk, kv
}

func TestNew_SharesTheHMACKeyThroughTheKVStore(t *testing.T) {
	kv := store.NewMemoryKV(nil)
	cfg := Config{Issuer: "http://localhost:9096", KV: kv, Users: NewUsers(),
		Client: func(context.Context, string) (oauth2.ClientInfo, error) { return nil, oauth2.ErrNotFound }}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A session cookie of one process is valid in the other.
	rec := httptest.NewRecorder()
	a.startSession(rec, "alice")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	if s, ok := b.readSession(req); !ok || s.User != "alice" {
		t.Fatal("the session of one process is not valid in another sharing the store")
	}
}

func TestSession_RejectsTamperedExpiredAndForeignCookies(t *testing.T) {
	p, clk, _ := newPages(t, "http://localhost:9096")
	rec := httptest.NewRecorder()
	p.startSession(rec, "alice")
	cookie := rec.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("cookie attributes: %+v", cookie)
	}
	read := func(value string) bool {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: value})
		_, ok := p.readSession(req)
		return ok
	}
	payload, sig, _ := strings.Cut(cookie.Value, ".")
	forged := p.encodeSession(session{ID: "x", User: "mallory", Expires: clk.Now().Add(time.Hour).Unix()})
	other, _, _ := newPages(t, "http://localhost:9096")
	tests := []struct {
		name  string
		value string
		want  bool
	}{
		{"valid", cookie.Value, true},
		{"payload changed", strings.ToUpper(payload[:4]) + payload[4:] + "." + sig, false},
		{"signature changed", payload + "." + sig[:len(sig)-2] + "AA", false},
		{"no signature", payload, false},
		{"signed by another key", other.encodeSession(session{ID: "x", User: "alice", Expires: clk.Now().Add(time.Hour).Unix()}), false},
		{"another session signed with the key", forged, true},
		{"garbage", "....", false},
	}
	for _, tt := range tests {
		if got := read(tt.value); got != tt.want {
			t.Errorf("%s: readSession = %v, want %v", tt.name, got, tt.want)
		}
	}
	clk.Add(9 * time.Hour)
	if read(cookie.Value) {
		t.Error("an expired session was accepted")
	}
}

func TestSession_SecureHostCookieOverHTTPS(t *testing.T) {
	p, _, _ := newPages(t, "https://auth.example.com")
	rec := httptest.NewRecorder()
	p.startSession(rec, "alice")
	c := rec.Result().Cookies()[0]
	if !c.Secure || c.Name != "__Host-oauth2d_session" || c.Path != "/" {
		t.Fatalf("cookie over https: %+v", c)
	}
}

func TestCSRF_ExpiresIsSingleUseAndBoundToCookieSessionAndForm(t *testing.T) {
	p, clk, _ := newPages(t, "http://localhost:9096")
	ctx := context.Background()
	const nonce = "nonce-nonce-nonce-nonce-nonce"
	post := func(token, cookieNonce string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: cookieNonce})
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name                string
		makeSID, checkSID   string
		makeForm, checkForm string
		cookie              string
		advance             time.Duration
		want                error
	}{
		{"valid", "", "", "login", "login", nonce, 0, nil},
		{"other cookie", "", "", "login", "login", "another-nonce-another-nonce", 0, errCSRFInvalid},
		{"other session", "sid-1", "sid-2", "consent", "consent", nonce, 0, errCSRFInvalid},
		{"other form", "", "", "login", "consent", nonce, 0, errCSRFInvalid},
		{"expired", "", "", "login", "login", nonce, csrfTTL + time.Second, errCSRFExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := p.csrfToken(nonce, tt.makeSID, tt.makeForm)
			clk.Add(tt.advance)
			err := p.checkCSRF(ctx, post(tok, tt.cookie), tt.checkSID, tt.checkForm)
			if !errors.Is(err, tt.want) && err != tt.want {
				t.Fatalf("checkCSRF = %v, want %v", err, tt.want)
			}
		})
	}
	tok := p.csrfToken(nonce, "", "login")
	if err := p.checkCSRF(ctx, post(tok, nonce), "", "login"); err != nil {
		t.Fatal(err)
	}
	if err := p.checkCSRF(ctx, post(tok, nonce), "", "login"); err != errCSRFReplayed {
		t.Fatalf("replay: %v", err)
	}
}

func TestSafeReturn_AcceptsOnlyOurRelativePaths(t *testing.T) {
	p, _, _ := newPages(t, "http://localhost:9096")
	sub, _, _ := newPages(t, "https://example.com/oauth")
	tests := []struct {
		p    *Pages
		ret  string
		want bool
	}{
		{p, "/authorize?client_id=app&scope=read", true},
		{p, "/", true},
		{p, "", false},
		{p, "authorize", false},
		{p, "//evil.example/x", false},
		{p, "/\\evil.example", false},
		{p, "https://evil.example/authorize", false},
		{p, "/authorize\n?x", false},
		{p, "/authorize#frag", false},
		{p, "javascript:alert(1)", false},
		{sub, "/oauth/authorize?x=1", true},
		{sub, "/authorize?x=1", false},
		{sub, "/oauthx", false},
		// Found by FuzzSafeReturn_OnlySameOriginPaths: a browser resolves
		// dot segments, encoded or not, out of the issuer's path.
		{sub, "/oauth/..", false},
		{sub, "/oauth/%2e%2e", false},
		{sub, "/oauth/.%2E/x", false},
		{sub, "/oauth/./authorize", false},
		{p, "/#", false},
	}
	for _, tt := range tests {
		if got := tt.p.safeReturn(tt.ret); got != tt.want {
			t.Errorf("safeReturn(%q) under %q = %v, want %v", tt.ret, tt.p.base, got, tt.want)
		}
	}
}

func TestSameOrigin_RefusesOtherSitesPosts(t *testing.T) {
	p, _, _ := newPages(t, "http://localhost:9096")
	tests := []struct {
		name   string
		origin []string
		site   string
		want   bool
	}{
		{"no Origin (old browser or curl)", nil, "", true},
		{"issuer origin", []string{"http://localhost:9096"}, "same-origin", true},
		{"issuer origin, no fetch metadata", []string{"http://localhost:9096"}, "", true},
		{"null under no-referrer, same-origin", []string{"null"}, "same-origin", true},
		{"null from a sandboxed or cross-site page", []string{"null"}, "cross-site", false},
		{"null without fetch metadata", []string{"null"}, "", false},
		{"other origin", []string{"https://evil.example"}, "cross-site", false},
		{"other port", []string{"http://localhost:9097"}, "", false},
		{"https variant", []string{"https://localhost:9096"}, "", false},
		{"cross-site without Origin", nil, "cross-site", false},
		{"two Origin headers", []string{"http://localhost:9096", "https://evil.example"}, "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		if tt.origin != nil {
			r.Header["Origin"] = tt.origin
		}
		if tt.site != "" {
			r.Header.Set("Sec-Fetch-Site", tt.site)
		}
		if got := p.sameOrigin(r); got != tt.want {
			t.Errorf("%s: sameOrigin = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAuthenticate_SameAnswerForUnknownUserAndWrongPassword(t *testing.T) {
	p, _, _ := newPages(t, "http://localhost:9096")
	ctx := context.Background()
	addr := netip.MustParseAddr("192.0.2.1")
	if id, err := p.Authenticate(ctx, "alice", "pw", addr); err != nil || id != "alice" {
		t.Fatalf("right password: %q %v", id, err)
	}
	for _, tc := range []struct{ user, pw string }{{"alice", "nope"}, {"nobody", "pw"}} {
		if _, err := p.Authenticate(ctx, tc.user, tc.pw, addr); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("%s/%s: %v", tc.user, tc.pw, err)
		}
	}
}

func TestPages_EscapeEveryValue(t *testing.T) {
	p, _, _ := newPages(t, "http://localhost:9096")
	evil := `<script>alert("x")</script>`
	rec := httptest.NewRecorder()
	p.render(rec, http.StatusOK, "consent.html", page{Title: evil, ClientID: evil, User: evil, Scopes: []string{evil}, Error: evil, Return: evil, CSRF: evil})
	body := rec.Body.String()
	if strings.Contains(body, "<script>") {
		t.Fatalf("unescaped value in page:\n%s", body)
	}
	rec = httptest.NewRecorder()
	p.Error(rec, http.StatusBadRequest, evil, evil)
	if strings.Contains(rec.Body.String(), "<script>") || rec.Code != http.StatusBadRequest {
		t.Fatal("unescaped value in the error page")
	}
}

func TestUserAuthorization_SendsToLoginThenConsent(t *testing.T) {
	p, _, kv := newPages(t, "http://localhost:9096")
	authz := "/authorize?client_id=app&response_type=code&scope=read+write&state=s"
	req := Request{ClientID: "app", RedirectURI: "https://app.example/cb", Scope: "read write"}
	r := httptest.NewRequest(http.MethodGet, authz, nil)
	_ = r.ParseForm()
	rec := httptest.NewRecorder()
	if id, _, err := p.UserAuthorization(rec, r, req); id != "" || err != nil || rec.Code != http.StatusSeeOther ||
		rec.Header().Get("Location") != "/login?return="+url.QueryEscape(authz) {
		t.Fatalf("no session: %q %v %d %q", id, err, rec.Code, rec.Header().Get("Location"))
	}
	sess := httptest.NewRecorder()
	p.startSession(sess, "alice")
	r = httptest.NewRequest(http.MethodGet, authz, nil)
	_ = r.ParseForm()
	for _, c := range sess.Result().Cookies() {
		r.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	if id, _, _ := p.UserAuthorization(rec, r, req); id != "" || !strings.HasPrefix(rec.Header().Get("Location"), "/consent?request=") {
		t.Fatalf("no consent: %q %q", id, rec.Header().Get("Location"))
	}
	if err := p.RememberConsent(context.Background(), "alice", "app", "read write"); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	if id, approved, err := p.UserAuthorization(rec, r, req); id != "alice" || approved || err != nil {
		t.Fatalf("after consent: %q %v %v", id, approved, err)
	}
	// The consent is stored under a hash, never under the user's name.
	if _, err := kv.Get(context.Background(), "oauth2d/web/consent/alice"); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatal("consent stored under a clear key")
	}
}
