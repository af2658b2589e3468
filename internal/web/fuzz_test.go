package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store"
)

// fuzzMasterKey is the HMAC master key of the fuzzed pages: fixed, so that
// a cookie or token signed in one fuzzing process is valid in every other
// and in the saved corpus.
var fuzzMasterKey = bytes.Repeat([]byte{0x5a}, masterKeyLen)

// fuzzIssuers are an issuer at the root of its origin and one under a
// path, whose pages and return paths live under /oauth.
var fuzzIssuers = []string{"http://localhost:9096", "https://auth.example.com/oauth"}

// fuzzPages returns pages on a memory KVStore holding fuzzMasterKey, with a
// fixed clock and a discarded log.
func fuzzPages(tb testing.TB, issuer string) (*Pages, *clock) {
	tb.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	kv := store.NewMemoryKV(clk.Now)
	if err := kv.Put(ctx, hmacKeyName, fuzzMasterKey, 0); err != nil {
		tb.Fatal(err)
	}
	p, err := New(ctx, Config{
		Issuer: issuer,
		KV:     kv,
		Users:  NewUsers(),
		Client: func(_ context.Context, id string) (oauth2.ClientInfo, error) {
			if id != "app" {
				return nil, oauth2.ErrNotFound
			}
			return &models.Client{ID: "app", RedirectURIs: []string{"https://app.example/cb"}}, nil
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    clk.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p, clk
}

// cookieRequest returns a request that carries value as the cookie base
// in a Cookie header, as a browser sends it, so that net/http's cookie
// parsing is part of what is fuzzed.
func cookieRequest(p *Pages, method, target, base, value string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set("Cookie", p.cookieName(base)+"="+value)
	return r
}

// FuzzReadSession_AcceptsOnlySignedLiveSessions feeds any session cookie
// to readSession, and any handle signed with the session key and with the
// CSRF key. A cookie is accepted only when it is the cookie of a session
// startSession made and that is still in the store (no parsing quirk lets
// an unsigned, re-encoded or unknown handle through), and it then reads
// that session; a handle signed with the CSRF key never passes.
func FuzzReadSession_AcceptsOnlySignedLiveSessions(f *testing.F) {
	p, _ := fuzzPages(f, fuzzIssuers[0])
	ctx := context.Background()
	rec := httptest.NewRecorder()
	live, err := p.startSession(ctx, rec, httptest.NewRequest(http.MethodGet, "/", nil), "alice")
	if err != nil {
		f.Fatal(err)
	}
	valid := p.sessionCookieValue(live.handle)
	ended, err := p.startSession(ctx, httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), "bob")
	if err != nil {
		f.Fatal(err)
	}
	if err := p.deleteSession(ctx, ended.handle); err != nil {
		f.Fatal(err)
	}
	handle, sig, _ := strings.Cut(valid, ".")
	seeds := []struct {
		cookie  string
		payload []byte
	}{
		{valid, []byte(handle)},
		{p.sessionCookieValue(ended.handle), []byte(ended.handle)},
		{handle + "." + sig + "=", []byte("x")},
		{"\"" + valid + "\"", []byte{}},
		{handle + ".", []byte(handle + "=")},
		{"." + sig, []byte(strings.ToUpper(handle))},
		{handle, nil},
		{handle + "." + sig + "." + sig, []byte("a.b")},
		{strings.ToUpper(handle[:1]) + handle[1:] + "." + sig, []byte("\xff")},
		{"", []byte{}},
		{"....", []byte("....")},
		{handle + "." + sig[:len(sig)-1], []byte(handle[:len(handle)-1])},
	}
	for _, s := range seeds {
		f.Add(s.cookie, s.payload)
	}
	check := func(t *testing.T, value string) bool {
		t.Helper()
		r := cookieRequest(p, http.MethodGet, "/", sessionCookie, value)
		s, ok, err := p.readSession(r)
		if err != nil {
			t.Fatalf("readSession(%q): %v", value, err)
		}
		if !ok {
			return false
		}
		// The value as the server read it from the Cookie header.
		if got, _, _ := strings.Cut(p.cookie(r, sessionCookie), "."); got != live.handle || s.handle != live.handle ||
			s.User != "alice" || s.ID != live.ID {
			t.Fatalf("readSession accepted %q as %+v: not the live session's cookie", value, s)
		}
		return true
	}
	f.Fuzz(func(t *testing.T, cookie string, payload []byte) {
		check(t, cookie)
		// The payload as a handle, signed as a session cookie and as a
		// CSRF token would be.
		h := string(payload)
		if ok := check(t, h+"."+b64.EncodeToString(mac(p.sessionKey, "session", h))); ok && h != live.handle {
			t.Fatalf("readSession accepted the signed handle %q, which no session has", h)
		}
		if check(t, h+"."+b64.EncodeToString(mac(p.csrfKey, "session", h))) {
			t.Fatalf("readSession accepted handle %q signed with the CSRF key", h)
		}
	})
}

// fuzzForms are the forms that CSRF tokens are bound to.
var fuzzForms = []string{"login", "consent", formDevice, formDeviceConsent, formSignOut, formLogout}

// sessionIDOf maps any string to what a session ID can be: base64url
// characters (randomID), so that the fuzzer explores IDs the server could
// have made.
func sessionIDOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return -1
	}, s)
}

// FuzzCheckCSRF_BindsTokenToNonceSessionAndForm mints a CSRF token for one
// cookie nonce, session and form, and checks it against another: it is
// accepted exactly when the three are the same and the nonce is not empty,
// and then only once; after csrfTTL it has expired. Any other token string
// is accepted only when its signature is the one the server would make,
// unexpired and not spent before.
func FuzzCheckCSRF_BindsTokenToNonceSessionAndForm(f *testing.F) {
	p, clk := fuzzPages(f, fuzzIssuers[0])
	later := *p
	later.now = func() time.Time { return clk.Now().Add(csrfTTL) }
	ctx := context.Background()
	const nonce = "bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2U"
	valid := p.csrfToken(nonce, "", "login")
	jti, rest, _ := strings.Cut(valid, ".")
	exp, sig, _ := strings.Cut(rest, ".")
	for _, s := range []struct {
		mintNonce, checkNonce, mintSID, checkSID string
		mintForm, checkForm                      uint8
		token                                    string
	}{
		{nonce, nonce, "", "", 0, 0, valid},
		{nonce, nonce, "c2lk", "c2lk", 1, 1, jti + "." + exp + "." + sig},
		{nonce, "other-nonce-other-nonce-other-n", "", "", 0, 0, jti + ".9999999999." + sig},
		{nonce, nonce, "c2lk", "c2lk2", 1, 1, "." + exp + "." + sig},
		{nonce, nonce, "", "", 2, 3, jti + "." + exp + "." + sig + "."},
		{"", "", "", "", 0, 0, jti + ".+" + exp + "." + sig},
		{"a;b", "a;b", "", "", 0, 0, jti + "." + exp + "0." + sig},
		{"\"" + nonce + "\"", nonce, "", "", 0, 0, jti + "." + exp + "." + sig + "=="},
		{nonce + " ", nonce, "", "", 0, 0, "..."},
		{nonce, nonce, "", "", 0, 0, ""},
	} {
		f.Add(s.mintNonce, s.checkNonce, s.mintSID, s.checkSID, s.mintForm, s.checkForm, s.token)
	}
	spent := map[string]bool{}
	// csrfPost returns a POST whose form carries token and whose Cookie
	// header carries nonce as the CSRF cookie.
	csrfPost := func(nonce, token string) *http.Request {
		r := cookieRequest(p, http.MethodPost, "/login", csrfCookie, nonce)
		r.PostForm = url.Values{csrfField: {token}}
		return r
	}
	f.Fuzz(func(t *testing.T, mintNonce, checkNonce, mintSID, checkSID string, mintForm, checkForm uint8, token string) {
		// The nonces as the server reads them from the Cookie header: the
		// page is made with the one the browser sent then, and the post is
		// checked with the one it sends now.
		mintReq := csrfPost(mintNonce, "")
		mn := p.cookie(mintReq, csrfCookie)
		ms, cs := sessionIDOf(mintSID), sessionIDOf(checkSID)
		mf, cf := fuzzForms[int(mintForm)%len(fuzzForms)], fuzzForms[int(checkForm)%len(fuzzForms)]

		minted := p.csrfToken(mn, ms, mf)
		if err := later.checkCSRF(ctx, csrfPost(mintNonce, minted), ms, mf); err != errCSRFExpired && mn != "" {
			t.Fatalf("a token checked csrfTTL after it was made: %v, want it expired", err)
		}
		checkReq := csrfPost(checkNonce, minted)
		cn := p.cookie(checkReq, csrfCookie)
		same := mn != "" && mn == cn && ms == cs && mf == cf
		err := p.checkCSRF(ctx, checkReq, cs, cf)
		if same != (err == nil) {
			t.Fatalf("token made for (%q, %q, %s) checked with (%q, %q, %s): %v", mn, ms, mf, cn, cs, cf, err)
		}
		if err != nil && !isFormError(err) {
			t.Fatalf("checkCSRF: %v", err)
		}
		if same {
			if err := p.checkCSRF(ctx, csrfPost(checkNonce, minted), cs, cf); err != errCSRFReplayed {
				t.Fatalf("a token used twice: %v, want it refused as replayed", err)
			}
		}

		// Any token string.
		err = p.checkCSRF(ctx, csrfPost(checkNonce, token), cs, cf)
		if err != nil {
			if !isFormError(err) {
				t.Fatalf("checkCSRF(%q): %v", token, err)
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 || cn == "" {
			t.Fatalf("checkCSRF accepted %q with nonce %q", token, cn)
		}
		got, derr := b64.DecodeString(parts[2])
		expires, perr := strconv.ParseInt(parts[1], 10, 64)
		if derr != nil || perr != nil || !hmac.Equal(got, mac(p.csrfKey, "csrf", cf, cn, cs, parts[0], parts[1])) || clk.Now().Unix() >= expires {
			t.Fatalf("checkCSRF accepted %q, which is not a live token the server signed for (%q, %q, %s)", token, cn, cs, cf)
		}
		if spent[parts[0]] {
			t.Fatalf("checkCSRF accepted the token ID %q twice", parts[0])
		}
		spent[parts[0]] = true
	})
}

// browserPath returns the path a browser goes to for the path of an
// absolute URL: "%2e" read as ".", then the dot segments removed (RFC 3986
// 5.2.4, and the URL Standard's single- and double-dot path segments).
func browserPath(p string) string {
	var out []string
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if i == 0 {
			continue
		}
		last := i == len(segs)-1
		switch strings.ReplaceAll(strings.ToLower(s), "%2e", ".") {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// checkSameOriginTarget fails unless target, the Location of a redirect
// from the pages of issuer, resolves to a URL of the issuer's origin under
// its path, as a browser resolves it.
func checkSameOriginTarget(t *testing.T, p *Pages, issuer, ret, target string) {
	t.Helper()
	if strings.ContainsFunc(target, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		t.Fatalf("return path %q: Location %q holds a character a browser reads differently", ret, target)
	}
	base, _ := url.Parse(issuer)
	loc, err := url.Parse(target)
	if err != nil {
		t.Fatalf("return path %q: Location %q does not parse: %v", ret, target, err)
	}
	abs := base.ResolveReference(loc)
	if abs.Scheme != base.Scheme || abs.Host != base.Host {
		t.Fatalf("return path %q leads to %s, another origin than %s", ret, abs, issuer)
	}
	if path := browserPath(abs.EscapedPath()); p.base != "" && path != p.base && !strings.HasPrefix(path, p.base+"/") {
		t.Fatalf("return path %q leads to %s, outside the issuer's path %s", ret, path, p.base)
	}
}

// FuzzSafeReturn_OnlySameOriginPaths checks the return path of the login
// and consent pages: an accepted one is a relative path that starts with a
// single "/" (not "//" or "/\"), has no scheme, host, fragment, backslash
// or control character, and, as a 303 from the pages, leads a browser to
// the issuer's origin under its path. Pages that fall back to the login
// page without a session carry only such paths.
func FuzzSafeReturn_OnlySameOriginPaths(f *testing.F) {
	var pages []*Pages
	for _, iss := range fuzzIssuers {
		p, _ := fuzzPages(f, iss)
		pages = append(pages, p)
	}
	for _, s := range []string{
		"/authorize?client_id=app&response_type=code&scope=read", "/oauth/authorize?client_id=app", "/", "/oauth", "/oauth/",
		"", "authorize", "//evil.example/x", "/\\evil.example", "/\t/evil.example", "/%2F/evil.example", "/%5Cevil.example",
		"https://evil.example/", "https:/evil.example", "/authorize\r\nLocation: https://evil.example", "/authorize#x",
		"/oauthx", "/oauth/x/../y", "/oauth/x/%2E%2e/y", "/x?next=//evil.example", "/@evil.example",
		"/\u3000/evil.example", "/\uff0f/evil.example", "/.//evil.example", "/..//evil.example", "/x/..//evil.example",
		"/%0d%0aSet-Cookie:x=y", "javascript:alert(1)", "/?", "\\/evil.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ret string) {
		for i, p := range pages {
			issuer := fuzzIssuers[i]
			ok := p.safeReturn(ret)
			if _, authOK := p.authorizeReturn(ret); authOK && !ok {
				t.Fatalf("authorizeReturn accepts %q, which safeReturn refuses", ret)
			}
			// The verification page of the device grant sends its own path
			// to the login page as the return path.
			if dp := p.devicePath(shownUserCode(ret)); !p.safeReturn(dp) {
				t.Fatalf("the device page's return path %q for input %q is refused", dp, ret)
			}
			if ok {
				if ret[0] != '/' || (len(ret) > 1 && (ret[1] == '/' || ret[1] == '\\')) {
					t.Fatalf("safeReturn accepted %q, which does not start with a single /", ret)
				}
				u, err := url.Parse(ret)
				if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Fragment != "" || strings.Contains(ret, "#") {
					t.Fatalf("safeReturn accepted %q, which is not a path and query", ret)
				}
				rec := httptest.NewRecorder()
				p.redirect(rec, httptest.NewRequest(http.MethodPost, p.path("/login"), nil), ret)
				checkSameOriginTarget(t, p, issuer, ret, rec.Header().Get("Location"))
			}
			// A consent link opens nothing without a session, and
			// redirects nowhere, whatever it holds.
			for _, param := range []string{"return", "request"} {
				rec := httptest.NewRecorder()
				p.ConsentForm(rec, httptest.NewRequest(http.MethodGet, p.path("/consent")+"?"+url.Values{param: {ret}}.Encode(), nil))
				if rec.Code != http.StatusForbidden || rec.Header().Get("Location") != "" || strings.Contains(rec.Body.String(), `name="consent"`) {
					t.Fatalf("consent page without a session for %s=%q: %d %q", param, ret, rec.Code, rec.Header().Get("Location"))
				}
			}
		}
	})
}

// FuzzSameOrigin_RefusesOtherOrigins checks the origin check of form
// posts on any Origin and Sec-Fetch-Site headers: a post is accepted only
// without an Origin or with exactly the issuer's origin, or "null" when the
// browser says same-origin; never when the browser says cross-site or
// same-site.
func FuzzSameOrigin_RefusesOtherOrigins(f *testing.F) {
	p, _ := fuzzPages(f, fuzzIssuers[0])
	for _, s := range []struct {
		origin, site string
		present      bool
		second       string
	}{
		{"http://localhost:9096", "same-origin", true, ""},
		{"http://localhost:9096", "", true, ""},
		{"http://localhost:9096", "none", true, ""},
		{"http://localhost:9096", "same-site", true, ""},
		{"http://localhost:9096/", "", true, ""},
		{"HTTP://LOCALHOST:9096", "", true, ""},
		{"http://localhost:9096.evil.example", "", true, ""},
		{"null", "same-origin", true, ""},
		{"null", "cross-site", true, ""},
		{"", "", true, ""},
		{"", "", false, ""},
		{"", "cross-site", false, ""},
		{"", "Cross-Site", false, ""},
		{"http://localhost:9096", "", true, "https://evil.example"},
	} {
		f.Add(s.origin, s.site, s.present, s.second)
	}
	f.Fuzz(func(t *testing.T, origin, site string, present bool, second string) {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		if present {
			r.Header["Origin"] = []string{origin}
			if second != "" {
				r.Header["Origin"] = append(r.Header["Origin"], second)
			}
		}
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		if !p.sameOrigin(r) {
			return
		}
		if site == "cross-site" || site == "same-site" {
			t.Fatalf("accepted a post the browser says is %s (Origin %q)", site, origin)
		}
		if !present {
			return
		}
		if second != "" {
			t.Fatalf("accepted a post with two Origin headers %q, %q", origin, second)
		}
		if origin == "null" {
			if site != "same-origin" {
				t.Fatalf(`accepted Origin "null" with Sec-Fetch-Site %q`, site)
			}
			return
		}
		if origin != "http://localhost:9096" {
			t.Fatalf("accepted a post from Origin %q", origin)
		}
	})
}
