package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauth2d/oauth2/server"
)

// serveAll runs every endpoint of e on an httptest.Server, at the default
// paths under the server's URL, which becomes the issuer.
func (e *env) serveAll(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	ts := httptest.NewUnstartedServer(mux)
	mux.HandleFunc(server.PathAuthorization, func(w http.ResponseWriter, r *http.Request) {
		_ = e.srv.HandleAuthorizeRequest(w, r)
	})
	for path, h := range map[string]func(http.ResponseWriter, *http.Request) error{
		server.PathToken:         e.srv.HandleTokenRequest,
		server.PathRevocation:    e.srv.HandleRevocationRequest,
		server.PathIntrospection: e.srv.HandleIntrospectionRequest,
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		})
	}
	mux.HandleFunc(server.PathJWKS, e.srv.HandleJWKSRequest)
	mux.HandleFunc(server.PathMetadata, e.srv.HandleMetadataRequest)
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		ti, err := e.srv.ValidationBearerToken(r)
		if err != nil {
			http.Error(w, "invalid_token", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, ti.GetClientID())
	})
	ts.Start()
	t.Cleanup(ts.Close)
	if e.srv.Config.Issuer == "" {
		e.srv.Config.Issuer = ts.URL
	}
	return ts
}

// postFormBasic posts form to url with Basic credentials and returns the status
// and body.
func postFormBasic(t *testing.T, u, id, secret string, form url.Values) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func introspectHTTP(t *testing.T, endpoint, token string) map[string]any {
	t.Helper()
	status, body := postFormBasic(t, endpoint, confID, confSecret, url.Values{"token": {token}})
	if status != http.StatusOK {
		t.Fatalf("introspection: %d %s", status, body)
	}
	var data map[string]any
	if err := json.Unmarshal(body, &data); err != nil {
		t.Fatalf("introspection answer %q: %v", body, err)
	}
	return data
}

// TestE2E_RevokeAndIntrospect gets tokens with golang.org/x/oauth2 through
// the endpoints the metadata advertises, then introspects and revokes them
// over HTTP (RFC 8414, RFC 7662, RFC 7009).
func TestE2E_RevokeAndIntrospect(t *testing.T) {
	e := newEnv(t)
	ts := e.serveAll(t)
	ctx := context.Background()

	resp, err := http.Get(ts.URL + server.MetadataPath(e.srv.Config.Issuer))
	if err != nil {
		t.Fatal(err)
	}
	var md server.Metadata
	err = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if err != nil || md.Issuer != ts.URL || md.RevocationEndpoint == "" || md.IntrospectionEndpoint == "" {
		t.Fatalf("metadata %+v: %v", md, err)
	}

	conf := &oauth2.Config{
		ClientID: confID, ClientSecret: confSecret, RedirectURL: confRedirect, Scopes: []string{"read"},
		Endpoint: oauth2.Endpoint{AuthURL: md.AuthorizationEndpoint, TokenURL: md.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader},
	}
	verifier := oauth2.GenerateVerifier()
	q := followAuthorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), confRedirect+"?")
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	got := introspectHTTP(t, md.IntrospectionEndpoint, tok.AccessToken)
	exp, _ := got["exp"].(float64)
	// The client computed its expiry from expires_in on receipt, a moment
	// after the server stamped the token.
	if skew := tok.Expiry.Unix() - int64(exp); got["active"] != true || got["sub"] != "u1" ||
		got["client_id"] != confID || got["iss"] != ts.URL || skew < 0 || skew > 1 {
		t.Fatalf("introspection %v, token expiry %v", got, tok.Expiry)
	}

	// Revoking the refresh token ends the grant: the access token goes
	// too, and refreshing fails.
	status, body := postFormBasic(t, md.RevocationEndpoint, confID, confSecret,
		url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}})
	if status != http.StatusOK || len(body) != 0 {
		t.Fatalf("revocation: %d %q", status, body)
	}
	if got := introspectHTTP(t, md.IntrospectionEndpoint, tok.AccessToken); got["active"] != false || len(got) != 1 {
		t.Fatalf("access token after revoking its refresh token: %v", got)
	}
	if code, _ := callAPI(t, conf.Client(ctx, tok), ts); code != http.StatusUnauthorized {
		t.Fatalf("api with a revoked token: %d", code)
	}
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Hour)
	if _, err := conf.TokenSource(ctx, &expired).Token(); !isOAuthError(err, "invalid_grant") {
		t.Fatalf("refresh with a revoked refresh token: %v", err)
	}

	// Client credentials: revoke the access token with client_secret_post.
	cc := &clientcredentials.Config{ClientID: confID, ClientSecret: confSecret, TokenURL: md.TokenEndpoint, Scopes: []string{"read"}}
	ctok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := callAPI(t, cc.Client(ctx), ts); code != http.StatusOK {
		t.Fatalf("api: %d", code)
	}
	resp, err = http.PostForm(md.RevocationEndpoint, url.Values{"token": {ctok.AccessToken}, "client_id": {confID}, "client_secret": {confSecret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %d", resp.StatusCode)
	}
	if got := introspectHTTP(t, md.IntrospectionEndpoint, ctok.AccessToken); got["active"] != false {
		t.Fatalf("revoked client credentials token: %v", got)
	}

	// A wrong secret at the revocation endpoint: 401 with WWW-Authenticate.
	req, _ := http.NewRequest(http.MethodPost, md.RevocationEndpoint, strings.NewReader("token=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(confID, "wrong")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="oauth2"` {
		t.Fatalf("wrong secret: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
