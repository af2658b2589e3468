package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2d/oauth2"
)

// FuzzTokenRequest sends arbitrary bodies, content types and Authorization
// headers to the token endpoint: it must never panic, never answer 500,
// always send the token response headers, and never answer 200 unless the
// request carried the secret of the confidential client the token is for.
func FuzzTokenRequest(f *testing.F) {
	form := "application/x-www-form-urlencoded"
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(confID+":"+url.QueryEscape(confSecret)))
	f.Add("grant_type=client_credentials&scope=read", form, auth)
	f.Add("grant_type=client_credentials&client_id="+confID+"&client_secret="+url.QueryEscape(confSecret), form, "")
	f.Add("grant_type=client_credentials&client_id="+pubID, form, "")
	f.Add("grant_type=client_credentials&client_id="+confID+"&client_secret=", form, "")
	f.Add("grant_type=client_credentials&scope=read&scope=read", form, auth)
	f.Add("grant_type=authorization_code&code=x&redirect_uri="+url.QueryEscape(confRedirect), form, auth)
	f.Add("grant_type=refresh_token&refresh_token=x", form, auth)
	f.Add("grant_type=password&username=a&password=b", form, auth)
	f.Add("grant_type=client_credentials", "application/json", auth)
	f.Add("grant_type=%ff", form, auth)
	f.Add("grant_type=client_credentials;x=1", form+"; charset=utf-8", auth)
	f.Add("grant_type=client_credentials", form, "Basic "+base64.StdEncoding.EncodeToString([]byte(confID+":")))
	f.Add("grant_type=client_credentials", form, "Basic "+base64.StdEncoding.EncodeToString([]byte("%zz:x")))
	f.Add("grant_type=client_credentials", form, "Bearer x")
	f.Add(strings.Repeat("a=1&", 100), form, "")

	e := newEnv(f)
	e.srv.SetAllowedGrantType(oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials, oauth2.PasswordCredentials)
	e.srv.SetPasswordAuthorizationHandler(func(_ context.Context, _, username, password string) (string, error) {
		if username == "a" && password == "b" {
			return "user-a", nil
		}
		return "", nil
	})
	secrets := map[string]string{}
	for _, c := range testClients() {
		if !c.Public {
			secrets[c.ID] = c.Secret
		}
	}

	f.Fuzz(func(t *testing.T, body, contentType, authorization string) {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		w := httptest.NewRecorder()
		if err := e.srv.HandleTokenRequest(w, r); err != nil {
			t.Fatalf("HandleTokenRequest: %v", err)
		}
		if w.Code >= 500 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		checkTokenHeaders(t, w)
		var data map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &data); err != nil {
			t.Fatalf("body is not JSON: %q", w.Body)
		}
		if w.Code != http.StatusOK {
			if _, ok := data["access_token"]; ok {
				t.Fatal("error response with an access_token")
			}
			return
		}
		access, _ := data["access_token"].(string)
		ti, err := e.mgr.LoadAccessToken(context.Background(), access)
		if err != nil {
			t.Fatalf("200 with a token not in the store: %v", err)
		}
		want, ok := secrets[ti.GetClientID()]
		if !ok {
			t.Fatalf("200 for public or unknown client %q", ti.GetClientID())
		}
		if !carriesSecret(r, body, ti.GetClientID(), want) {
			t.Fatalf("200 without the client's credentials: body %q, Authorization %q", body, authorization)
		}
	})
}

// carriesSecret reports whether the request presented clientID's secret,
// by an independent reading of the Basic header and the body.
func carriesSecret(r *http.Request, body, clientID, secret string) bool {
	if id, sec, ok := r.BasicAuth(); ok {
		id, err1 := url.QueryUnescape(id)
		sec, err2 := url.QueryUnescape(sec)
		if err1 == nil && err2 == nil && id == clientID && sec == secret {
			return true
		}
	}
	v, err := url.ParseQuery(body)
	return err == nil && v.Get("client_id") == clientID && v.Get("client_secret") == secret
}

// FuzzAuthorizeRequest sends arbitrary queries to the authorization
// endpoint: it must never panic and never redirect anywhere but to a
// registered redirect URI.
func FuzzAuthorizeRequest(f *testing.F) {
	f.Add(authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "state", "s"))
	f.Add(authQuery("response_type", "token", "client_id", confID, "redirect_uri", confRedirect, "state", trickyState))
	f.Add(authQuery("response_type", "code", "client_id", pubID, "code_challenge", rfcChallenge, "code_challenge_method", "S256"))
	f.Add(authQuery("response_type", "code", "client_id", seedID, "redirect_uri", seedDomain+"/x?y=1"))
	f.Add(authQuery("response_type", "code", "client_id", seedID, "redirect_uri", "http://localhost:9094@evil.com/"))
	f.Add(authQuery("response_type", "code", "client_id", confID, "redirect_uri", "https://evil.example.com/"))
	f.Add(authQuery("response_type", "code", "client_id", confID, "redirect_uri", confRedirect, "redirect_uri", "https://evil.example.com/"))
	f.Add("response_type=code&client_id=" + confID + "&redirect_uri=" + url.QueryEscape(confRedirect) + "&state=%zz")
	f.Add("response_type=code&client_id=" + confID + ";redirect_uri=x")
	f.Add("client_id=nobody")
	f.Add("")

	e := newEnv(f)
	e.srv.Config.Issuer = issuer
	e.srv.SetAllowedResponseType(oauth2.Code, oauth2.Token)

	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/authorize", nil)
		r.URL.RawQuery = rawQuery
		w := httptest.NewRecorder()
		_ = e.srv.HandleAuthorizeRequest(w, r)
		loc := w.Header().Get("Location")
		if loc == "" {
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d without a redirect: %s", w.Code, w.Body)
			}
			return
		}
		if w.Code != http.StatusFound {
			t.Fatalf("Location with status %d", w.Code)
		}
		if !registeredPrefix(loc) {
			t.Fatalf("redirected to unregistered %q for query %q", loc, rawQuery)
		}
	})
}

// registeredPrefix reports whether loc is a registered redirect URI with
// parameters added: an exact URI of a client, or a path on the seed
// client's Domain origin.
func registeredPrefix(loc string) bool {
	for _, base := range []string{confRedirect, pubRedirect} {
		if strings.HasPrefix(loc, base) && len(loc) > len(base) && strings.ContainsRune("?&#", rune(loc[len(base)])) {
			return true
		}
	}
	// Scheme and host compare case-insensitively (RFC 3986 6.2.2.1).
	u, err := url.Parse(loc)
	return err == nil && len(loc) > len(seedDomain) && strings.EqualFold(loc[:len(seedDomain)], seedDomain) &&
		strings.ContainsRune("/?#", rune(loc[len(seedDomain)])) &&
		u.Scheme == "http" && strings.EqualFold(u.Host, "localhost:9094") && u.User == nil
}
