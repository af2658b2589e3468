package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// audOf returns the aud of an access token as its JWT and its introspection
// say it, failing when they differ.
func (e *senderEnv) audOf(token string) []string {
	e.t.Helper()
	jwtAud := []string(e.jwtClaims(token).Audience)
	var in []string
	switch v := e.introspect(token)["aud"].(type) {
	case string:
		in = []string{v}
	case []any:
		for _, a := range v {
			in = append(in, a.(string))
		}
	}
	if in == nil {
		in = []string{} // introspection leaves out an unrestricted aud
		if !slices.Equal(jwtAud, []string{e.jwtClaims(token).ClientID}) {
			e.t.Fatalf("JWT aud %v without an introspected aud", jwtAud)
		}
		return in
	}
	if !slices.Equal(jwtAud, in) {
		e.t.Fatalf("JWT aud %v, introspected aud %v", jwtAud, in)
	}
	return in
}

func TestResource_AudienceFollowsTheGrantAndNarrows(t *testing.T) {
	e := newSenderEnv(t)
	code := e.code(resID, confRedirect, url.Values{"resource": {resA, resB}})
	exchange := func(extra url.Values) (*http.Response, map[string]any) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}}
		for k, vs := range extra {
			form[k] = vs
		}
		return e.post("/token", form, resID, "")
	}
	// A resource the grant was not given: refused, the code kept.
	resp, data := exchange(url.Values{"resource": {"https://c.example.com/"}})
	wantError(t, resp, data, http.StatusBadRequest, "invalid_target")

	resp, data = exchange(url.Values{"resource": {resA}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, data)
	}
	if aud := e.audOf(data["access_token"].(string)); !slices.Equal(aud, []string{resA}) {
		t.Fatalf("narrowed aud %v", aud)
	}
	refresh := func(rt string, resources ...string) (*http.Response, map[string]any) {
		return e.post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "resource": resources}, resID, "")
	}
	resp, data = refresh(data["refresh_token"].(string))
	if aud := e.audOf(data["access_token"].(string)); resp.StatusCode != http.StatusOK || !slices.Equal(aud, []string{resA, resB}) {
		t.Fatalf("refresh without resource: %d aud %v", resp.StatusCode, aud)
	}
	resp, data = refresh(data["refresh_token"].(string), resB)
	if aud := e.audOf(data["access_token"].(string)); resp.StatusCode != http.StatusOK || !slices.Equal(aud, []string{resB}) {
		t.Fatalf("refresh narrowed to B: %d aud %v", resp.StatusCode, aud)
	}
	before := e.issued()
	e.srv.Config.Resources = []string{"https://c.example.com/"}
	resp, bad := refresh(data["refresh_token"].(string), "https://c.example.com/")
	wantError(t, resp, bad, http.StatusBadRequest, "invalid_target")
	if e.issued() != before {
		t.Fatal("a refused refresh issued")
	}
	// The refused refresh did not rotate the token: the grant still
	// widens back to A and B.
	resp, data = refresh(data["refresh_token"].(string))
	if aud := e.audOf(data["access_token"].(string)); resp.StatusCode != http.StatusOK || !slices.Equal(aud, []string{resA, resB}) {
		t.Fatalf("after a refusal: %d aud %v", resp.StatusCode, aud)
	}
}

// TestResource_RefusesBadResources is the table of RFC 8707 2 at both
// endpoints: each is invalid_target, redirected from /authorize, 400 from
// /token, and nothing is issued.
func TestResource_RefusesBadResources(t *testing.T) {
	nine := make([]string, 9)
	for i := range nine {
		nine[i] = resA + "?" + strings.Repeat("x", i)
	}
	cases := []struct {
		name      string
		resources []string
	}{
		{"fragment", []string{resA + "#frag"}},
		{"empty fragment", []string{resA + "#"}},
		{"relative", []string{"/api"}},
		{"no scheme", []string{"a.example.com/api"}},
		{"http without a host", []string{"https:///api"}},
		{"space", []string{"https://a.example.com/a b"}},
		{"not registered", []string{"https://c.example.com/api"}},
		{"one of two not registered", []string{resA, "https://c.example.com/api"}},
		{"too many", nine},
		{"too long", []string{"https://a.example.com/" + strings.Repeat("a", 600)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSenderEnv(t)
			q := url.Values{"client_id": {resID}, "response_type": {"code"}, "redirect_uri": {confRedirect}, "state": {"s"}, "resource": tc.resources}
			got := e.redirected(e.authorize(q))
			if got.Get("error") != "invalid_target" || got.Get("code") != "" || got.Get("state") != "s" {
				t.Fatalf("authorize: %v", got)
			}
			resp, data := e.post("/token", url.Values{"grant_type": {"client_credentials"}, "resource": tc.resources}, resID, "")
			wantError(t, resp, data, http.StatusBadRequest, "invalid_target")
			if e.issued() != 0 {
				t.Fatal("issued")
			}
		})
	}
}

func TestResource_AllowedByRegistrationOrByTheServer(t *testing.T) {
	e := newSenderEnv(t)
	cc := func(id string, res ...string) (*http.Response, map[string]any) {
		return e.post("/token", url.Values{"grant_type": {"client_credentials"}, "resource": res}, id, "")
	}
	resp, data := cc(resID, resB, resA, resB)
	if resp.StatusCode != http.StatusOK || !slices.Equal(e.audOf(data["access_token"].(string)), []string{resB, resA}) {
		t.Fatalf("registered: %d %v", resp.StatusCode, data)
	}
	resp, data = cc(confID, resA)
	wantError(t, resp, data, http.StatusBadRequest, "invalid_target")
	e.srv.Config.Resources = []string{resA}
	resp, data = cc(confID, resA)
	if resp.StatusCode != http.StatusOK || !slices.Equal(e.audOf(data["access_token"].(string)), []string{resA}) {
		t.Fatalf("allowed by the server: %d %v", resp.StatusCode, data)
	}
	// Without resource the token has its usual audience.
	_, data = cc(confID)
	if aud := e.audOf(data["access_token"].(string)); len(aud) != 0 {
		t.Fatalf("no resource: aud %v", aud)
	}
}
