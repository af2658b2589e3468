package oauth2d

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	root "github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store/postgres"
)

// testInitialAccessToken is the initial access token of the tests.
const testInitialAccessToken = "initial-access-token-0123456789abcdef"

// registrationConfig is testConfig with registration on, open.
func registrationConfig(t *testing.T) Config {
	t.Helper()
	cfg := testConfig(testRedirect)
	cfg.Secret = testAtRestSecret
	cfg.Registration.Enabled = true
	return cfg
}

// registered is a registration response.
type registered struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	RegistrationAccessToken string   `json:"registration_access_token"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	ClientName              string   `json:"client_name"`
	JWKSURI                 string   `json:"jwks_uri"`
}

// registrationCall sends a request to the registration endpoints as a
// client would, with net/http, and returns the status, the raw body and
// the response.
func registrationCall(t *testing.T, method, url, token, body string, header ...string) (int, []byte, *http.Response) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp
}

// register registers metadata and fails the test unless it gets a 201.
func register(t *testing.T, srv *testServer, token, body string) registered {
	t.Helper()
	status, raw, resp := registrationCall(t, http.MethodPost, srv.URL+"/register", token, body)
	if status != http.StatusCreated {
		t.Fatalf("register: %d %s", status, raw)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store (the response holds credentials)", cc)
	}
	var r registered
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// errorOf decodes an RFC 7591 3.2.2 error body.
func errorOf(t *testing.T, raw []byte) (code, description string) {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("error body is not JSON: %s", raw)
	}
	return e.Error, e.Description
}

func TestRegistration_OffByDefaultAndAdvertisedOnlyWhenOn(t *testing.T) {
	off := startApp(t, testConfig(testRedirect))
	on := startApp(t, registrationConfig(t))
	for _, tc := range []struct {
		name string
		srv  *testServer
		want bool
	}{{"off", off, false}, {"on", on, true}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
				_, raw, _ := registrationCall(t, http.MethodGet, tc.srv.URL+path, "", "")
				var md map[string]any
				if err := json.Unmarshal(raw, &md); err != nil {
					t.Fatal(err)
				}
				got, has := md["registration_endpoint"]
				if has != tc.want || (has && got != tc.srv.URL+"/register") {
					t.Fatalf("%s: registration_endpoint = %v (present %v), want present %v", path, got, has, tc.want)
				}
			}
			status, _, _ := registrationCall(t, http.MethodPost, tc.srv.URL+"/register", "", `{"redirect_uris":["https://a.example/cb"]}`)
			if (status == http.StatusNotFound) == tc.want {
				t.Fatalf("POST /register: %d", status)
			}
		})
	}
}

// TestRegistration_RegisteredClientWorksWithGolangOAuth2 registers a
// client as an application would, then uses it with golang.org/x/oauth2:
// client_credentials and the authorization code flow with PKCE.
func TestRegistration_RegisteredClientWorksWithGolangOAuth2(t *testing.T) {
	srv := startApp(t, registrationConfig(t))
	const redirect = "https://rp.example/callback"
	r := register(t, srv, "", `{
		"redirect_uris": ["`+redirect+`"],
		"grant_types": ["authorization_code", "refresh_token", "client_credentials"],
		"scope": "read",
		"client_name": "Example RP",
		"software_statement_of_no_interest": "ignored",
		"introspect_any": true
	}`)
	switch {
	case r.ClientID == "" || r.ClientSecret == "" || r.RegistrationAccessToken == "":
		t.Fatalf("missing credentials: %+v", r)
	case r.ClientSecretExpiresAt == nil || *r.ClientSecretExpiresAt != 0:
		t.Fatal("client_secret_expires_at must be 0 (RFC 7591 3.2.1)")
	case r.ClientIDIssuedAt == 0:
		t.Fatal("no client_id_issued_at")
	case r.RegistrationClientURI != srv.URL+"/register/"+r.ClientID:
		t.Fatalf("registration_client_uri %q", r.RegistrationClientURI)
	case r.TokenEndpointAuthMethod != "client_secret_basic" || strings.Join(r.ResponseTypes, " ") != "code":
		t.Fatalf("defaults of RFC 7591 2 not registered: %+v", r)
	case r.Scope != "read" || r.ClientName != "Example RP":
		t.Fatalf("registered metadata: %+v", r)
	}

	// Stored: hashed secret and token, no unknown member, no extension.
	body, err := srv.App.clients.docs.GetDocument(context.Background(), docClient, r.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{r.ClientSecret, r.RegistrationAccessToken, "software_statement", "introspect_any"} {
		if strings.Contains(string(body), leak) {
			t.Fatalf("the stored document holds %q: %s", leak, body)
		}
	}
	if !strings.Contains(string(body), `"source":"registration"`) {
		t.Fatalf("source: %s", body)
	}

	cc := clientcredentials.Config{ClientID: r.ClientID, ClientSecret: r.ClientSecret, TokenURL: srv.URL + "/token",
		Scopes: []string{"read"}, AuthStyle: oauth2.AuthStyleInHeader}
	if tok, err := cc.Token(context.Background()); err != nil || tok.AccessToken == "" {
		t.Fatalf("client_credentials with the registered client: %v", err)
	}
	cc.Scopes = []string{"write"}
	if _, err := cc.Token(context.Background()); err == nil {
		t.Fatal("a scope the client did not register was granted")
	}

	b := newBrowser(t, srv)
	authz := authorizeURLFor(r.ClientID, redirect, "read", "st4te")
	back := b.consent(b.login(authz, testUsername, testPassword), "allow")
	q := b.finish(back, redirect)
	if q.Get("code") == "" {
		t.Fatal("no code")
	}
	oc := oauth2.Config{ClientID: r.ClientID, ClientSecret: r.ClientSecret, RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := oc.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(testVerifier))
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("authorization code exchange: %v", err)
	}

	logs := srv.Logs.String()
	if !strings.Contains(logs, "action=client.register") || !strings.Contains(logs, "target="+r.ClientID) {
		t.Fatalf("no audit line of the registration:\n%s", logs)
	}
	for _, leak := range []string{r.ClientSecret, r.RegistrationAccessToken} {
		if strings.Contains(logs, leak) {
			t.Fatal("a credential is in the log")
		}
	}
}

// TestRegistration_BadInputGetsItsErrorAndChangesNothing sends each bad
// registration of RFC 7591 2 and 3.2.2 and checks its error and that the
// store is unchanged.
func TestRegistration_BadInputGetsItsErrorAndChangesNothing(t *testing.T) {
	site := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}]}`))
	}))
	defer site.Close()
	cfg := registrationConfig(t)
	cfg.Registration.RateLimit = 1000
	srv := startApp(t, cfg)
	const ecKey = `{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`
	tests := []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"fragment in redirect_uri", `{"redirect_uris":["https://a.example/cb#x"]}`, "", 400, errInvalidRedirectURI},
		{"http on a non-loopback host", `{"redirect_uris":["http://a.example/cb"]}`, "", 400, errInvalidRedirectURI},
		{"relative redirect_uri", `{"redirect_uris":["/cb"]}`, "", 400, errInvalidRedirectURI},
		{"javascript scheme", `{"redirect_uris":["javascript:alert(1)"]}`, "", 400, errInvalidRedirectURI},
		{"no redirect_uris for authorization_code", `{}`, "", 400, errInvalidRedirectURI},
		{"unsupported auth method", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"magic"}`, "", 400, errInvalidClientMetadata},
		{"client_secret_jwt", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_jwt"}`, "", 400, errInvalidClientMetadata},
		{"jwks and jwks_uri", `{"grant_types":["client_credentials"],"response_types":[],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[` + ecKey + `]},"jwks_uri":"https://keys.example/jwks"}`, "", 400, errInvalidClientMetadata},
		{"private_key_jwt without keys", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt"}`, "", 400, errInvalidClientMetadata},
		{"jwks_uri at 127.0.0.1", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://127.0.0.1:1/jwks"}`, "", 400, errInvalidClientMetadata},
		{"jwks_uri at localhost", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"` + strings.Replace(site.URL, "127.0.0.1", "localhost", 1) + `"}`, "", 400, errInvalidClientMetadata},
		{"jwks_uri at the metadata address", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://169.254.169.254/latest"}`, "", 400, errInvalidClientMetadata},
		{"jwks_uri over http", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"http://keys.example/jwks"}`, "", 400, errInvalidClientMetadata},
		{"jwks with a private key", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}]}}`, "", 400, errInvalidClientMetadata},
		{"unknown grant type", `{"redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code","magic"]}`, "", 400, errInvalidClientMetadata},
		{"password grant turned off", `{"grant_types":["password"],"response_types":[]}`, "", 400, errInvalidClientMetadata},
		{"code without authorization_code", `{"grant_types":["client_credentials"],"response_types":["code"]}`, "", 400, errInvalidClientMetadata},
		{"authorization_code without code", `{"redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code"],"response_types":["token"]}`, "", 400, errInvalidClientMetadata},
		{"public client with client_credentials", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}`, "", 400, errInvalidClientMetadata},
		{"scope the server does not have", `{"redirect_uris":["https://a.example/cb"],"scope":"read admin"}`, "", 400, errInvalidClientMetadata},
		{"scope outside RFC 6749 3.3", `{"redirect_uris":["https://a.example/cb"],"scope":"re\"ad"}`, "", 400, errInvalidClientMetadata},
		{"redirect_uris not an array", `{"redirect_uris":"https://a.example/cb"}`, "", 400, errInvalidClientMetadata},
		{"not JSON", `redirect_uris=https://a.example/cb`, "", 400, errInvalidClientMetadata},
		{"a JSON array", `[]`, "", 400, errInvalidClientMetadata},
		{"null", `null`, "", 400, errInvalidClientMetadata},
		{"trailing data", `{"redirect_uris":["https://a.example/cb"]} {}`, "", 400, errInvalidClientMetadata},
		{"form content type", `{"redirect_uris":["https://a.example/cb"]}`, "application/x-www-form-urlencoded", 400, errInvalidClientMetadata},
		{"body over 64 KiB", `{"client_name":"` + strings.Repeat("a", 70<<10) + `","redirect_uris":["https://a.example/cb"]}`, "", 413, errInvalidClientMetadata},
		{"control characters in client_name", `{"redirect_uris":["https://a.example/cb"],"client_name":"a\u0000b"}`, "", 400, errInvalidClientMetadata},
		{"logo_uri not a URL", `{"redirect_uris":["https://a.example/cb"],"logo_uri":"nope"}`, "", 400, errInvalidClientMetadata},
		{"post_logout_redirect_uri http", `{"redirect_uris":["https://a.example/cb"],"post_logout_redirect_uris":["http://a.example/bye"]}`, "", 400, errInvalidClientMetadata},
	}
	before := snapshotDocs(t, srv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			if tt.contentType != "" {
				header = []string{"Content-Type", tt.contentType}
			}
			status, raw, _ := registrationCall(t, http.MethodPost, srv.URL+"/register", "", tt.body, header...)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, raw)
			}
			if code, desc := errorOf(t, raw); code != tt.code || desc == "" {
				t.Fatalf("error %q (%q), want %s with a description", code, desc, tt.code)
			}
		})
	}
	if after := snapshotDocs(t, srv); !mapsEqual(before, after) {
		t.Fatalf("a refused registration changed the store:\nbefore %v\nafter  %v", before, after)
	}
}

// snapshotDocs returns every client document of the App's store.
func snapshotDocs(t *testing.T, srv *testServer) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := eachDocument(context.Background(), srv.App.clients.docs, docClient, func(d root.Document) { out[d.ID] = string(d.Body) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRegistration_NativeAndLoopbackRedirectsAreAccepted(t *testing.T) {
	srv := startApp(t, registrationConfig(t))
	for _, uri := range []string{"com.example.app:/oauth2redirect", "http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost/cb", "https://a.example/cb"} {
		r := register(t, srv, "", `{"redirect_uris":["`+uri+`"],"token_endpoint_auth_method":"none"}`)
		if r.ClientSecret != "" || r.ClientSecretExpiresAt != nil {
			t.Fatalf("%s: a public client got a secret", uri)
		}
	}
}

func TestRegistration_InitialAccessTokenIsEnforced(t *testing.T) {
	file := filepath.Join(t.TempDir(), "iat")
	if err := os.WriteFile(file, []byte(testInitialAccessToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{"inline", func(c *Config) { c.Registration.InitialAccessToken = testInitialAccessToken }},
		{"file", func(c *Config) { c.Registration.InitialAccessTokenFile = file }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := registrationConfig(t)
			tc.set(&cfg)
			srv := startApp(t, cfg)
			body := `{"redirect_uris":["https://a.example/cb"]}`
			for _, tok := range []string{"", "wrong-token-0123456789abcdef", testInitialAccessToken + "x", strings.ToUpper(testInitialAccessToken)} {
				status, raw, resp := registrationCall(t, http.MethodPost, srv.URL+"/register", tok, body)
				if code, _ := errorOf(t, raw); status != http.StatusUnauthorized || code != errInvalidToken {
					t.Fatalf("token %q: %d %s, want 401 invalid_token", tok, status, raw)
				}
				if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Fatal("no WWW-Authenticate (RFC 6750 3)")
				}
			}
			if n := len(snapshotDocs(t, srv)); n != 0 {
				t.Fatalf("%d clients stored by refused requests", n)
			}
			register(t, srv, testInitialAccessToken, body)
			if strings.Contains(srv.Logs.String(), testInitialAccessToken) {
				t.Fatal("the initial access token is in the log")
			}
		})
	}
}

// TestRegistration_ManagementWithTheRegistrationAccessToken reads,
// updates and deletes a registered client (RFC 7592 2) and checks that no
// other token opens it, and that the answer does not tell whether a
// client exists.
func TestRegistration_ManagementWithTheRegistrationAccessToken(t *testing.T) {
	srv := startApp(t, registrationConfig(t))
	a := register(t, srv, "", `{"redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code","client_credentials"],"scope":"read"}`)
	b := register(t, srv, "", `{"redirect_uris":["https://b.example/cb"]}`)

	// Every wrong or missing token is the same 401, for a client that
	// exists, one that does not, and a client of the file.
	denied := []struct{ uri, tok string }{
		{a.RegistrationClientURI, ""},
		{a.RegistrationClientURI, b.RegistrationAccessToken},
		{a.RegistrationClientURI, a.RegistrationAccessToken + "x"},
		{a.RegistrationClientURI, a.ClientSecret},
		{srv.URL + "/register/no-such-client", a.RegistrationAccessToken},
		{srv.URL + "/register/" + testClientID, a.RegistrationAccessToken},
	}
	var first []byte
	for _, d := range denied {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			body := ""
			if method == http.MethodPut {
				body = `{"client_id":"` + a.ClientID + `","redirect_uris":["https://evil.example/cb"]}`
			}
			status, raw, _ := registrationCall(t, method, d.uri, d.tok, body)
			if status != http.StatusUnauthorized {
				t.Fatalf("%s %s with a wrong token: %d %s", method, d.uri, status, raw)
			}
			if first == nil {
				first = raw
			} else if string(raw) != string(first) {
				t.Fatalf("answers differ: %s vs %s", raw, first)
			}
		}
	}
	before := snapshotDocs(t, srv)
	if len(before) != 2 {
		t.Fatalf("%d clients", len(before))
	}

	// Read.
	status, raw, _ := registrationCall(t, http.MethodGet, a.RegistrationClientURI, a.RegistrationAccessToken, "")
	var read registered
	_ = json.Unmarshal(raw, &read)
	if status != http.StatusOK || read.ClientID != a.ClientID || read.ClientSecret != "" || read.RegistrationClientURI != a.RegistrationClientURI || read.Scope != "read" {
		t.Fatalf("read: %d %s", status, raw)
	}

	// Update: another client_id, and a secret that is not the client's,
	// are refused and change nothing.
	for _, body := range []string{
		`{"client_id":"` + b.ClientID + `","redirect_uris":["https://a.example/new"]}`,
		`{"redirect_uris":["https://a.example/new"]}`,
		`{"client_id":"` + a.ClientID + `","client_secret":"chosen-by-the-client","redirect_uris":["https://a.example/new"]}`,
		`{"client_id":"` + a.ClientID + `","redirect_uris":["https://a.example/new#frag"]}`,
	} {
		status, raw, _ := registrationCall(t, http.MethodPut, a.RegistrationClientURI, a.RegistrationAccessToken, body)
		if status != http.StatusBadRequest {
			t.Fatalf("update %s: %d %s", body, status, raw)
		}
	}
	if after := snapshotDocs(t, srv); !mapsEqual(before, after) {
		t.Fatal("a refused update changed the store")
	}
	status, raw, _ = registrationCall(t, http.MethodPut, a.RegistrationClientURI, a.RegistrationAccessToken,
		`{"client_id":"`+a.ClientID+`","client_secret":"`+a.ClientSecret+`","redirect_uris":["https://a.example/new"],"grant_types":["authorization_code","client_credentials"],"scope":"read write","client_name":"Renamed"}`)
	var upd registered
	_ = json.Unmarshal(raw, &upd)
	if status != http.StatusOK || upd.ClientName != "Renamed" || upd.Scope != "read write" || upd.RedirectURIs[0] != "https://a.example/new" || upd.ClientSecret != "" {
		t.Fatalf("update: %d %s", status, raw)
	}
	// The secret was kept: the client still gets tokens, now with write.
	cc := clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: srv.URL + "/token",
		Scopes: []string{"write"}, AuthStyle: oauth2.AuthStyleInHeader}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatalf("after the update: %v", err)
	}
	// b was not touched by a's token.
	if snapshotDocs(t, srv)[b.ClientID] != before[b.ClientID] {
		t.Fatal("another client changed")
	}

	// Delete.
	status, raw, _ = registrationCall(t, http.MethodDelete, a.RegistrationClientURI, a.RegistrationAccessToken, "")
	if status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, raw)
	}
	if status, _, _ := registrationCall(t, http.MethodGet, a.RegistrationClientURI, a.RegistrationAccessToken, ""); status != http.StatusUnauthorized {
		t.Fatalf("read after delete: %d", status)
	}
	if _, err := cc.Token(context.Background()); err == nil {
		t.Fatal("a deleted client still gets tokens")
	}
	logs := srv.Logs.String()
	for _, action := range []string{"client.register", "client.reregister", "client.unregister"} {
		if !strings.Contains(logs, "action="+action) {
			t.Fatalf("no audit line %s", action)
		}
	}
}

// TestRegistration_UpdateToAConfidentialMethodIssuesASecret checks that a
// public client that becomes confidential gets a secret, once.
func TestRegistration_UpdateToAConfidentialMethodIssuesASecret(t *testing.T) {
	srv := startApp(t, registrationConfig(t))
	r := register(t, srv, "", `{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`)
	status, raw, _ := registrationCall(t, http.MethodPut, r.RegistrationClientURI, r.RegistrationAccessToken,
		`{"client_id":"`+r.ClientID+`","redirect_uris":["http://127.0.0.1/cb"],"grant_types":["authorization_code","client_credentials"],"token_endpoint_auth_method":"client_secret_post"}`)
	var upd registered
	_ = json.Unmarshal(raw, &upd)
	if status != http.StatusOK || upd.ClientSecret == "" || upd.ClientSecretExpiresAt == nil {
		t.Fatalf("update: %d %s", status, raw)
	}
	cc := clientcredentials.Config{ClientID: r.ClientID, ClientSecret: upd.ClientSecret, TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatalf("the issued secret: %v", err)
	}
}

// TestRegistration_PrivateKeyJWTWithJWKSURI registers a client whose keys
// are at its jwks_uri (fetched once at registration), then authenticates
// it with an assertion made with go-jose.
func TestRegistration_PrivateKeyJWTWithJWKSURI(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var hits atomic.Int64
	site := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}})
	}))
	defer site.Close()
	cfg := registrationConfig(t)
	cfg.JWKSFetch.AllowPrivate = true // the site is on 127.0.0.1
	cfg.JWKSFetch.TLS = site.Client().Transport.(*http.Transport).TLSClientConfig
	srv := startApp(t, cfg)

	r := register(t, srv, "", `{"grant_types":["client_credentials"],"response_types":[],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"`+site.URL+`/jwks","scope":"read"}`)
	if r.ClientSecret != "" || r.JWKSURI != site.URL+"/jwks" {
		t.Fatalf("registered: %+v", r)
	}
	if hits.Load() != 1 {
		t.Fatalf("jwks_uri fetched %d times at registration, want 1", hits.Load())
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	assertion, err := josejwt.Signed(signer).Claims(josejwt.Claims{Issuer: r.ClientID, Subject: r.ClientID,
		Audience: josejwt.Audience{srv.URL + "/token"}, Expiry: josejwt.NewNumericDate(now.Add(time.Minute)),
		IssuedAt: josejwt.NewNumericDate(now), ID: "jti-" + r.ClientID}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	resp, data := postEndpoint(t, srv, "/token", "", "", map[string][]string{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	})
	if resp.StatusCode != http.StatusOK || data["access_token"] == nil {
		t.Fatalf("private_key_jwt with the jwks_uri's key: %d %v", resp.StatusCode, data)
	}
}

// TestRegistration_RateLimitedPerAddressOnly registers until one address
// is refused, and checks that another address still registers.
func TestRegistration_RateLimitedPerAddressOnly(t *testing.T) {
	cfg := registrationConfig(t)
	cfg.Registration.RateLimit = 3
	cfg.TrustedProxies = []string{"127.0.0.1", "::1"}
	srv := startApp(t, cfg)
	body := `{"redirect_uris":["https://a.example/cb"]}`
	from := func(addr string) int {
		status, _, resp := registrationCall(t, http.MethodPost, srv.URL+"/register", "", body, "X-Forwarded-For", addr)
		if status == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		return status
	}
	for i := range 3 {
		if s := from("203.0.113.7"); s != http.StatusCreated {
			t.Fatalf("registration %d: %d", i, s)
		}
	}
	if s := from("203.0.113.7"); s != http.StatusTooManyRequests {
		t.Fatalf("fourth from one address: %d, want 429", s)
	}
	// Bad requests count too: they cost the same to refuse.
	if s := from("198.51.100.9"); s != http.StatusCreated {
		t.Fatalf("another address was refused: %d", s)
	}
	if n := len(snapshotDocs(t, srv)); n != 4 {
		t.Fatalf("%d clients, want 4", n)
	}
}

// TestRegistration_ClientRegisteredAtOneProcessWorksAtAnother runs two
// Apps on one SQLite file (and, with OAUTH2_TEST_POSTGRES_URL set, on one
// PostgreSQL schema, each with its own pool): a client registered through
// one gets tokens from the other and is managed there, and is gone there
// within a second once deleted through the first.
func TestRegistration_ClientRegisteredAtOneProcessWorksAtAnother(t *testing.T) {
	run := "oauth2d_reg_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, a, b *Config)
	}{
		{"sqlite", func(t *testing.T, a, b *Config) {
			a.Store = "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
			b.Store = a.Store
		}},
		{"postgres", func(t *testing.T, a, b *Config) {
			dsn := os.Getenv("OAUTH2_TEST_POSTGRES_URL")
			if dsn == "" {
				t.Skip("set OAUTH2_TEST_POSTGRES_URL (see .ci/services.sh) to run two Apps on PostgreSQL")
			}
			t.Cleanup(func() {
				if err := execSQL("pgx", dsn, "DROP SCHEMA IF EXISTS "+run+" CASCADE"); err != nil {
					t.Errorf("remove the data of this run: %v", err)
				}
			})
			for _, c := range []*Config{a, b} {
				ts, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(run))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ts.Close() })
				c.TokenStore = ts
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgA, cfgB := registrationConfig(t), registrationConfig(t)
			tc.setup(t, &cfgA, &cfgB)
			one := startApp(t, cfgA)
			two := startApp(t, cfgB)
			r := register(t, one, "", `{"grant_types":["client_credentials"],"scope":"read"}`)
			cc := clientcredentials.Config{ClientID: r.ClientID, ClientSecret: r.ClientSecret, TokenURL: two.URL + "/token",
				Scopes: []string{"read"}, AuthStyle: oauth2.AuthStyleInHeader}
			if _, err := cc.Token(context.Background()); err != nil {
				t.Fatalf("the other process: %v", err)
			}
			if status, raw, _ := registrationCall(t, http.MethodGet, two.URL+"/register/"+r.ClientID, r.RegistrationAccessToken, ""); status != http.StatusOK {
				t.Fatalf("read at the other process: %d %s", status, raw)
			}
			if status, _, _ := registrationCall(t, http.MethodDelete, r.RegistrationClientURI, r.RegistrationAccessToken, ""); status != http.StatusNoContent {
				t.Fatalf("delete: %d", status)
			}
			deadline := time.Now().Add(time.Second)
			for {
				if _, err := cc.Token(context.Background()); err != nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the other process still issues tokens a second after the deletion")
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestRegistration_JWKSURIErrorsDoNotTellTheNetwork: a jwks_uri that
// cannot be fetched gets one fixed description, whatever the network said
// (a host that does not resolve, a name resolving to a refused address, a
// refused port), so that /register is no probe of what the server reaches.
func TestRegistration_JWKSURIErrorsDoNotTellTheNetwork(t *testing.T) {
	cfg := registrationConfig(t)
	cfg.Registration.RateLimit = 1000
	srv := startApp(t, cfg)
	const want = "jwks_uri: could not be fetched: it must answer 200 OK with a JWK Set over https from a public address"
	for _, uri := range []string{
		"https://no-such-host.invalid/jwks",
		"https://localhost:1/jwks",
		"https://localhost:9/jwks",
	} {
		t.Run(uri, func(t *testing.T) {
			before := snapshotDocs(t, srv)
			status, raw, _ := registrationCall(t, http.MethodPost, srv.URL+"/register", "",
				`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"`+uri+`"}`)
			code, desc := errorOf(t, raw)
			if status != http.StatusBadRequest || code != errInvalidClientMetadata || desc != want {
				t.Fatalf("%d %s %q, want 400 %s %q", status, code, desc, errInvalidClientMetadata, want)
			}
			if after := snapshotDocs(t, srv); len(after) != len(before) {
				t.Fatal("a refused registration stored a document")
			}
		})
	}
}
