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
	oautherrors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/internal/throttle"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
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

// signIn starts a session of user at p and returns its cookie.
func signIn(t *testing.T, p *Pages, user string) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if _, err := p.startSession(context.Background(), rec, httptest.NewRequest(http.MethodGet, "/", nil), user); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == p.cookieName(sessionCookie) {
			return c
		}
	}
	t.Fatal("startSession set no session cookie")
	return nil
}

// flipFirst returns s with its first character changed.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// withCookies returns a GET request of target carrying cookies.
func withCookies(target string, cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func TestSession_OneProcessSignsInAndAnotherSignsOutSharingTheStore(t *testing.T) {
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
	// A session started by one process is valid in the other.
	c := signIn(t, a, "alice")
	if s, ok, err := b.readSession(withCookies("/", c)); err != nil || !ok || s.User != "alice" {
		t.Fatal("the session of one process is not valid in another sharing the store")
	}
	// Ending it in the second ends it in the first.
	if err := b.endSession(httptest.NewRecorder(), withCookies("/", c)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.readSession(withCookies("/", c)); ok {
		t.Fatal("a session ended by one process is still valid in another")
	}
}

func TestSession_RejectsTamperedExpiredIdleAndForeignCookies(t *testing.T) {
	p, clk, kv := newPages(t, "http://localhost:9096")
	cookie := signIn(t, p, "alice")
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.MaxAge != int((8*time.Hour)/time.Second) {
		t.Fatalf("cookie attributes: %+v", cookie)
	}
	read := func(value string) bool {
		_, ok, err := p.readSession(withCookies("/", &http.Cookie{Name: cookie.Name, Value: value}))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	handle, sig, _ := strings.Cut(cookie.Value, ".")
	other, _, _ := newPages(t, "http://localhost:9096")
	tests := []struct {
		name  string
		value string
		want  bool
	}{
		{"valid", cookie.Value, true},
		{"handle changed", flipFirst(handle) + "." + sig, false},
		{"signature changed", handle + "." + sig[:len(sig)-2] + "AA", false},
		{"no signature", handle, false},
		{"signed by another key", other.sessionCookieValue(handle), false},
		{"a signed handle that no session has", p.sessionCookieValue(randomID(handleBytes)), false},
		{"garbage", "....", false},
		{"too long", cookie.Value + strings.Repeat("A", maxSessionCookie), false},
	}
	for _, tt := range tests {
		if got := read(tt.value); got != tt.want {
			t.Errorf("%s: readSession = %v, want %v", tt.name, got, tt.want)
		}
	}
	// The store holds neither the handle nor the user's name as a key.
	for _, key := range []string{"oauth2d/web/session/" + handle, "oauth2d/web/session/alice"} {
		if _, err := kv.Get(context.Background(), key); !errors.Is(err, oauth2.ErrNotFound) {
			t.Fatalf("session stored under a clear key %q", key)
		}
	}

	// The idle timeout (1 hour): a page every 50 minutes keeps the
	// session; 61 minutes without one ends it.
	for range 3 {
		clk.Add(50 * time.Minute)
		if !read(cookie.Value) {
			t.Fatal("a session seen every 50 minutes ended before its idle timeout")
		}
	}
	clk.Add(61 * time.Minute)
	if read(cookie.Value) {
		t.Fatal("a session idle for longer than the idle timeout was accepted")
	}

	// The absolute lifetime (8 hours), however often the session is used.
	cookie = signIn(t, p, "alice")
	for range 16 {
		clk.Add(30 * time.Minute)
		read(cookie.Value)
	}
	if read(cookie.Value) {
		t.Fatal("a session older than its absolute lifetime was accepted")
	}
}

func TestSession_SignInReplacesTheBrowsersSession(t *testing.T) {
	p, _, _ := newPages(t, "http://localhost:9096")
	first := signIn(t, p, "alice")
	s1, _, _ := p.readSession(withCookies("/", first))
	rec := httptest.NewRecorder()
	s2, err := p.startSession(context.Background(), rec, withCookies("/", first), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if s2.ID == s1.ID || s2.handle == s1.handle {
		t.Fatal("a sign-in kept the session ID or handle of the session before it")
	}
	if _, ok, _ := p.readSession(withCookies("/", first)); ok {
		t.Fatal("the cookie of the session before the sign-in still works (session fixation)")
	}
}

func TestSession_SecureHostCookieOverHTTPS(t *testing.T) {
	p, _, _ := newPages(t, "https://auth.example.com")
	c := signIn(t, p, "alice")
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

func TestUserAuthentication_SendsToLoginThenConsentAndRemembersOnlyOnIssue(t *testing.T) {
	p, _, kv := newPages(t, "http://localhost:9096")
	ctx := context.Background()
	authz := "/authorize?client_id=app&response_type=code&scope=read+write&state=s"
	req := &server.AuthorizeRequest{ClientID: "app", RedirectURI: "https://app.example/cb", Scope: "read write"}
	ask := func(r *http.Request, in server.Interaction) (*httptest.ResponseRecorder, *server.Authentication, *Pending, error) {
		_ = r.ParseForm()
		req.Interaction = in
		rec := httptest.NewRecorder()
		auth, pend, err := p.UserAuthentication(rec, r, req, "")
		return rec, auth, pend, err
	}
	// Nobody signed in: no answer, nothing written; then the login page.
	if rec, auth, _, err := ask(httptest.NewRequest(http.MethodGet, authz, nil), server.InteractionNone); auth != nil || err != nil || rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("no session: %+v %v %d", auth, err, rec.Code)
	}
	if rec, _, _, err := ask(httptest.NewRequest(http.MethodGet, authz, nil), server.InteractionLogin); err != nil || rec.Code != http.StatusSeeOther ||
		rec.Header().Get("Location") != "/login?return="+url.QueryEscape(authz) {
		t.Fatalf("login: %v %d %q", err, rec.Code, rec.Header().Get("Location"))
	}
	c := signIn(t, p, "alice")
	rec, auth, _, err := ask(withCookies(authz, c), server.InteractionNone)
	if err != nil || auth == nil || auth.UserID != "alice" || auth.Consented || auth.AuthenticatedNow || auth.ConsentedNow ||
		auth.SessionID == "" || auth.AuthTime.IsZero() || rec.Body.Len() != 0 {
		t.Fatalf("signed in, no consent: %+v %v", auth, err)
	}
	if rec, _, _, _ := ask(withCookies(authz, c), server.InteractionConsent); !strings.HasPrefix(rec.Header().Get("Location"), "/consent?request=") {
		t.Fatalf("no consent: %q", rec.Header().Get("Location"))
	}
	// An "allow" on the consent page is ConsentedNow once, and is
	// remembered only when the code is issued.
	s, _, _ := p.readSession(withCookies(authz, c))
	if err := kv.Put(ctx, approveKey(s.ID, authz), []byte{1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	_, auth, pend, err := ask(withCookies(authz, c), server.InteractionNone)
	if err != nil || !auth.ConsentedNow {
		t.Fatalf("after allow: %+v %v", auth, err)
	}
	if _, auth, _, _ := ask(withCookies(authz, c), server.InteractionNone); auth.Consented || auth.ConsentedNow {
		t.Fatal("an allow was remembered before any code was issued")
	}
	if err := p.Issued(ctx, pend, "read write"); err != nil {
		t.Fatal(err)
	}
	if _, auth, _, err := ask(withCookies(authz, c), server.InteractionNone); err != nil || !auth.Consented {
		t.Fatalf("after the code was issued: %+v %v", auth, err)
	}
	// A "deny" is access_denied.
	if err := kv.Put(ctx, denyKey(s.ID, authz), []byte{1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ask(withCookies(authz, c), server.InteractionNone); !errors.Is(err, oautherrors.ErrAccessDenied) {
		t.Fatalf("after deny: %v", err)
	}
	// The consent is stored under a hash, never under the user's name.
	if _, err := kv.Get(ctx, "oauth2d/web/consent/alice"); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatal("consent stored under a clear key")
	}
}

func TestUserAuthentication_PushedRequestResumesWithItsRequestURI(t *testing.T) {
	p, _, _ := newPages(t, "http://localhost:9096")
	// The server has replaced the form with the pushed parameters; the
	// browser comes back with client_id and request_uri (RFC 9126 4).
	r := httptest.NewRequest(http.MethodGet, "/authorize?client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax", nil)
	_ = r.ParseForm()
	r.Form = url.Values{"client_id": {"app"}, "scope": {"read"}, "redirect_uri": {"https://app.example/cb"}}
	resume := url.Values{"client_id": {"app"}, "request_uri": {"urn:ietf:params:oauth:request_uri:x"}}.Encode()
	rec := httptest.NewRecorder()
	req := &server.AuthorizeRequest{ClientID: "app", Scope: "read", Interaction: server.InteractionLogin}
	if _, _, err := p.UserAuthentication(rec, r, req, resume); err != nil {
		t.Fatal(err)
	}
	if want := "/login?return=" + url.QueryEscape("/authorize?"+resume); rec.Header().Get("Location") != want {
		t.Fatalf("Location %q, want %q", rec.Header().Get("Location"), want)
	}
}

func TestSession_EndsWithItsFallbackUser(t *testing.T) {
	p, clk, _ := newPages(t, "http://localhost:9096")
	var (
		notBefore time.Time
		lookupErr error
		asked     []string
	)
	p.notBefore = func(_ context.Context, user string) (time.Time, error) {
		asked = append(asked, user)
		return notBefore, lookupErr
	}
	storeDown := errors.New("store down")
	tests := []struct {
		name      string
		user      string
		notBefore func(signedIn time.Time) time.Time
		err       error
		want      bool
		wantErr   bool
	}{
		{"enabled store user signed in after its not-before", "carol", func(at time.Time) time.Time { return at.Add(-time.Nanosecond) }, nil, true, false},
		{"signed in at its not-before", "carol", func(at time.Time) time.Time { return at }, nil, true, false},
		{"signed in before its not-before (disabled since, or password changed)", "carol", func(at time.Time) time.Time { return at.Add(time.Nanosecond) }, nil, false, false},
		{"deleted or disabled store user", "carol", func(time.Time) time.Time { return time.Time{} }, oauth2.ErrNotFound, false, false},
		{"store failure", "carol", func(time.Time) time.Time { return time.Time{} }, storeDown, false, true},
		{"user of the directory is never looked up", "alice", func(at time.Time) time.Time { return at.Add(time.Hour) }, oauth2.ErrNotFound, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			asked = nil
			clk.Add(time.Second)
			signedIn := clk.Now()
			c := signIn(t, p, tc.user)
			notBefore, lookupErr = tc.notBefore(signedIn), tc.err
			s, ok, err := p.readSession(withCookies("/", c))
			if ok != tc.want || (err != nil) != tc.wantErr {
				t.Fatalf("readSession: %v, %v; want %v, error %v", ok, err, tc.want, tc.wantErr)
			}
			if ok && s.User != tc.user {
				t.Fatalf("session of %q, want %q", s.User, tc.user)
			}
			if tc.user == "alice" && len(asked) != 0 {
				t.Fatalf("a user of the directory was looked up: %v", asked)
			}
			if !tc.want && !tc.wantErr {
				// Refused once, refused for good: the session is gone.
				notBefore, lookupErr = time.Time{}, nil
				if _, ok, _ := p.readSession(withCookies("/", c)); ok {
					t.Fatal("a refused session came back")
				}
			}
		})
	}
}

func TestConsent_RememberedBeforeTheUsersNotBeforeDoesNotCount(t *testing.T) {
	p, clk, _ := newPages(t, "http://localhost:9096")
	ctx := context.Background()
	if err := p.RememberConsent(ctx, "carol", "app", "read", nil); err != nil {
		t.Fatal(err)
	}
	given := clk.Now()
	tests := []struct {
		name      string
		notBefore time.Time
		want      bool
	}{
		{"any sign-in counts", time.Time{}, true},
		{"given at the not-before", given, true},
		{"given before the not-before (a re-created or disabled user)", given.Add(time.Nanosecond), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.consented(ctx, "carol", "app", "read", nil, tc.notBefore)
			if err != nil || got != tc.want {
				t.Fatalf("consented: %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	// Remembering again after the not-before starts afresh: the old
	// scope values are not carried over.
	p.notBefore = func(context.Context, string) (time.Time, error) { return given.Add(time.Nanosecond), nil }
	clk.Add(time.Second)
	if err := p.RememberConsent(ctx, "carol", "app", "write", nil); err != nil {
		t.Fatal(err)
	}
	nb := given.Add(time.Nanosecond)
	if ok, _ := p.consented(ctx, "carol", "app", "write", nil, nb); !ok {
		t.Error("the new consent is not remembered")
	}
	if ok, _ := p.consented(ctx, "carol", "app", "read", nil, nb); ok {
		t.Error("the scope allowed before the not-before was carried over")
	}
}
