package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	oauth2d "github.com/oauth2d/oauth2"
)

// FuzzOpenIDAuthorizeRequest sends arbitrary queries to the authorization
// endpoint of an OpenID Provider with the implicit switch on: it must never
// panic, never send the user agent anywhere but to a registered redirect
// URI (in the query, the fragment or a form_post page) or to the
// application's own pages, and never show a page under prompt=none.
func FuzzOpenIDAuthorizeRequest(f *testing.F) {
	base := url.Values{"client_id": {opRPID}, "redirect_uri": {opRPRedirect}, "scope": {"openid email"}, "state": {"s"}, "nonce": {"n"}}
	for _, extra := range []url.Values{
		{"response_type": {"code"}},
		{"response_type": {"id_token token"}, "response_mode": {"form_post"}},
		{"response_type": {"code id_token"}, "prompt": {"none"}},
		{"response_type": {"code"}, "prompt": {"login consent"}, "max_age": {"0"}},
		{"response_type": {"code"}, "claims": {`{"id_token":{"sub":{"value":"alice"}}}`}},
		{"response_type": {"code"}, "id_token_hint": {"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}},
		{"response_type": {"token"}, "response_mode": {"query"}},
		{"response_type": {"code"}, "request_uri": {"urn:x"}},
		{"response_type": {"code"}, "redirect_uri": {"https://evil.test/cb"}, "response_mode": {"form_post"}},
	} {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		for k, v := range extra {
			q[k] = v
		}
		f.Add(q.Encode())
	}
	e := newOPEnv(f, func(e *opEnv) { e.srv.SetAllowedResponseType(oauth2d.Code, oauth2d.Token) })
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/authorize", nil)
		r.URL.RawQuery = rawQuery
		w := httptest.NewRecorder()
		if err := e.srv.HandleAuthorizeRequest(w, r); err != nil {
			t.Fatalf("HandleAuthorizeRequest returned %v", err)
		}
		none := false
		if q, err := url.ParseQuery(rawQuery); err == nil {
			none = strings.Contains(q.Get("prompt"), "none")
		}
		switch loc := w.Header().Get("Location"); {
		case w.Code == http.StatusOK:
			body := w.Body.String()
			if !strings.Contains(body, `action="`+opRPRedirect+`"`) || strings.Count(body, "<form") != 1 {
				t.Fatalf("200 page that is no form_post to the redirect URI: %s", body)
			}
		case loc == "":
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d without a redirect: %s", w.Code, w.Body)
			}
		case strings.HasPrefix(loc, "/login?") || strings.HasPrefix(loc, "/consent?"):
			if none {
				t.Fatalf("a page under prompt=none for %q", rawQuery)
			}
		case !strings.HasPrefix(loc, opRPRedirect+"?") && !strings.HasPrefix(loc, opRPRedirect+"#"):
			t.Fatalf("redirected to %q for %q", loc, rawQuery)
		}
	})
}
