package oauth2d

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/oauth2d/oauth2/server"
)

// Clients of the endpoint tests, besides testConfig's confidential
// "web-app" (client_secret_basic or client_secret_post).
const (
	tvClientID  = "tv"  // public, device grant
	apiClientID = "api" // resource server: introspects any token
	apiSecret   = "api-secret-4c1d9e"
	postID      = "post-client" // client_secret_post only
	postSecret  = "post-secret-88a1"
	hmacID      = "hmac-client" // client_secret_jwt
	hmacSecret  = "hmac-secret-0123456789abcdef0123456789abcdef"
	jwtID       = "jwt-client" // private_key_jwt
)

// endpointConfig is testConfig with a client of every kind: a public
// device client, a resource server, and one client per authentication
// method. key is the private_key_jwt client's key.
func endpointConfig(t *testing.T, key *ecdsa.PrivateKey) Config {
	t.Helper()
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(testRedirect)
	cfg.Clients = append(cfg.Clients,
		ClientConfig{ID: tvClientID, Public: true, GrantTypes: []string{"device_code", "refresh_token"}, Scopes: []string{"read"}},
		ClientConfig{ID: apiClientID, Secret: apiSecret, GrantTypes: []string{"client_credentials"}, Scopes: []string{"introspect"}, IntrospectAny: true},
		ClientConfig{ID: postID, Secret: postSecret, TokenEndpointAuthMethod: "client_secret_post", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}},
		ClientConfig{ID: hmacID, Secret: hmacSecret, TokenEndpointAuthMethod: "client_secret_jwt", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}},
		ClientConfig{ID: jwtID, TokenEndpointAuthMethod: "private_key_jwt", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}, JWKS: jwks},
	)
	cfg.Device = server.DeviceConfig{PollInterval: time.Second}
	return cfg
}

// oidcScopes are the scope values an OpenID Provider's metadata lists
// first: openid and those of OpenID Connect Core 1.0 5.4.
func oidcScopes() []string { return []string{"openid", "profile", "email", "address", "phone"} }

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// postEndpoint posts form to path, with Basic credentials when id is set,
// and returns the response and its JSON body (nil when empty).
func postEndpoint(t *testing.T, srv *testServer, path, id, secret string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if strings.TrimSpace(body) == "" {
		return resp, nil
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(body), &data); err != nil {
		t.Fatalf("%s: response %d is not JSON: %q", path, resp.StatusCode, body)
	}
	return resp, data
}

// metadata fetches the server's metadata (RFC 8414 3).
func metadata(t *testing.T, srv *testServer) map[string]any {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("metadata: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var md map[string]any
	if err := json.Unmarshal([]byte(body), &md); err != nil {
		t.Fatal(err)
	}
	return md
}

func strs(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func TestMetadata_ListsExactlyWhatTheConfigurationAccepts(t *testing.T) {
	key := newKey(t)
	full := func(cfg *Config) {}
	noDevice := func(cfg *Config) {
		cfg.Clients = slices.DeleteFunc(cfg.Clients, func(c ClientConfig) bool { return c.ID == tvClientID })
	}
	optIn := func(cfg *Config) {
		cfg.Grants = GrantsConfig{Implicit: true, Password: true}
	}
	anyScope := func(cfg *Config) { cfg.Clients[1].Scopes = nil }
	tests := []struct {
		name      string
		change    func(*Config)
		grants    []string
		responses []string
		device    bool
		scopes    []string
	}{
		{"device client", full,
			[]string{"authorization_code", "refresh_token", "client_credentials", string(oauth2DeviceCode)},
			[]string{"code"}, true, append(oidcScopes(), "read", "write", "introspect")},
		{"no device client", noDevice,
			[]string{"authorization_code", "refresh_token", "client_credentials"},
			[]string{"code"}, false, append(oidcScopes(), "read", "write", "introspect")},
		// An OpenID Provider with the implicit switch on serves the
		// response types of the implicit and hybrid flows too (OpenID
		// Connect Core 1.0 3.2, 3.3).
		{"implicit and password on", optIn,
			[]string{"authorization_code", "refresh_token", "client_credentials", "password", string(oauth2DeviceCode), "implicit"},
			[]string{"code", "token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"}, true,
			append(oidcScopes(), "read", "write", "introspect")},
		// The metadata is the OpenID Provider's document, whose
		// scopes_supported always lists openid and the scope values of
		// OpenID Connect Core 1.0 5.4 (Discovery 1.0 3).
		{"a client may ask any scope", anyScope,
			[]string{"authorization_code", "refresh_token", "client_credentials", string(oauth2DeviceCode)},
			[]string{"code"}, true, oidcScopes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := endpointConfig(t, key)
			tt.change(&cfg)
			srv := startApp(t, cfg)
			md := metadata(t, srv)
			iss := srv.URL
			want := map[string]any{
				"issuer":                 iss,
				"authorization_endpoint": iss + "/authorize",
				"token_endpoint":         iss + "/token",
				"revocation_endpoint":    iss + "/revoke",
				"introspection_endpoint": iss + "/introspect",
				"jwks_uri":               iss + "/jwks.json",
				"authorization_response_iss_parameter_supported": true,
			}
			if tt.device {
				want["device_authorization_endpoint"] = iss + "/device_authorization"
			} else if _, ok := md["device_authorization_endpoint"]; ok {
				t.Error("device_authorization_endpoint advertised without a device client")
			}
			for k, v := range want {
				if md[k] != v {
					t.Errorf("%s = %v, want %v", k, md[k], v)
				}
			}
			if got := strs(md["grant_types_supported"]); !slices.Equal(got, tt.grants) {
				t.Errorf("grant_types_supported = %v, want %v", got, tt.grants)
			}
			if got := strs(md["response_types_supported"]); !slices.Equal(got, tt.responses) {
				t.Errorf("response_types_supported = %v, want %v", got, tt.responses)
			}
			if tt.scopes == nil {
				if _, ok := md["scopes_supported"]; ok {
					t.Errorf("scopes_supported = %v, want none", md["scopes_supported"])
				}
			} else if got := strs(md["scopes_supported"]); !slices.Equal(got, tt.scopes) {
				t.Errorf("scopes_supported = %v, want %v", got, tt.scopes)
			}
			methods := []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt", "none"}
			if got := strs(md["token_endpoint_auth_methods_supported"]); !slices.Equal(got, methods) {
				t.Errorf("token_endpoint_auth_methods_supported = %v", got)
			}
			if got := strs(md["revocation_endpoint_auth_methods_supported"]); !slices.Equal(got, methods) {
				t.Errorf("revocation_endpoint_auth_methods_supported = %v", got)
			}
			if got := strs(md["introspection_endpoint_auth_methods_supported"]); slices.Contains(got, "none") {
				t.Errorf("introspection_endpoint_auth_methods_supported = %v lists none", got)
			}
			if got := strs(md["code_challenge_methods_supported"]); !slices.Equal(got, []string{"S256"}) {
				t.Errorf("code_challenge_methods_supported = %v", got)
			}
		})
	}
}

// oauth2DeviceCode is the device grant's grant_type (RFC 8628 3.4).
const oauth2DeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// TestMetadata_EveryAdvertisedGrantAndAuthMethodWorks reads the metadata
// and runs each grant type and each client authentication method it
// advertises; a value without a check here fails the test.
func TestMetadata_EveryAdvertisedGrantAndAuthMethodWorks(t *testing.T) {
	key := newKey(t)
	cfg := endpointConfig(t, key)
	cfg.Grants = GrantsConfig{Implicit: true, Password: true}
	cfg.Clients[0].GrantTypes = append(cfg.Clients[0].GrantTypes, "password", "implicit")
	srv := startApp(t, cfg)
	md := metadata(t, srv)
	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}
	ok := func(t *testing.T, resp *http.Response, data map[string]any) {
		t.Helper()
		if resp.StatusCode != http.StatusOK || data["access_token"] == nil {
			t.Fatalf("%d %v %v", resp.StatusCode, data["error"], data["error_description"])
		}
	}
	assertion := func(t *testing.T, method jwt.SigningMethod, iss string, signKey any, kid string) string {
		claims := jwt.RegisteredClaims{
			Issuer: iss, Subject: iss, Audience: jwt.ClaimStrings{srv.URL + "/token"},
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)), ID: "jti-" + iss,
		}
		tok := jwt.NewWithClaims(method, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(signKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	withAssertion := func(a string) url.Values {
		return url.Values{
			"grant_type":            {"client_credentials"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {a},
		}
	}

	// The code flow runs once (the consent is then remembered); the
	// refresh token check refreshes what it issued.
	var refresh string
	codeFlow := func(t *testing.T) {
		t.Helper()
		if refresh != "" {
			return
		}
		code := newBrowser(t, srv).code(testRedirect, "read", "st")
		resp, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}})
		ok(t, resp, data)
		refresh = data["refresh_token"].(string)
	}
	grants := map[string]func(t *testing.T){
		"authorization_code": codeFlow,
		"refresh_token": func(t *testing.T) {
			codeFlow(t)
			resp, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			ok(t, resp, data)
		},
		"client_credentials": func(t *testing.T) {
			resp, data := tokenRequest(t, srv, testClientID, testClientSecret, cc)
			ok(t, resp, data)
		},
		"password": func(t *testing.T) {
			resp, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
				"grant_type": {"password"}, "username": {testUsername}, "password": {testPassword}, "scope": {"read"}})
			ok(t, resp, data)
		},
		"implicit": func(t *testing.T) {
			b := newBrowser(t, srv)
			// Another scope than the code flow's, so that the consent
			// page is shown again.
			q := url.Values{"response_type": {"token"}, "client_id": {testClientID}, "redirect_uri": {testRedirect}, "scope": {"write"}, "state": {"imp"}}
			back := b.login("/authorize?"+q.Encode(), testUsername, testPassword)
			back = b.consent(back, "allow")
			resp, _ := b.get(back)
			loc := b.expectRedirect(resp, http.StatusFound, testRedirect+"#")
			if !strings.Contains(loc, "access_token=") {
				t.Fatal("no access token in the fragment")
			}
		},
		oauth2DeviceCode: func(t *testing.T) {
			tok, err := runDeviceFlow(t, srv, "allow")
			if err != nil || tok.AccessToken == "" {
				t.Fatalf("device flow: %v", err)
			}
		},
	}
	methods := map[string]func(t *testing.T){
		"client_secret_basic": func(t *testing.T) {
			resp, data := tokenRequest(t, srv, testClientID, testClientSecret, cc)
			ok(t, resp, data)
		},
		"client_secret_post": func(t *testing.T) {
			form := url.Values{"client_id": {postID}, "client_secret": {postSecret}}
			for k, v := range cc {
				form[k] = v
			}
			resp, data := postEndpoint(t, srv, "/token", "", "", form)
			ok(t, resp, data)
			// Registered for client_secret_post, Basic is refused.
			if resp, _ := tokenRequest(t, srv, postID, postSecret, cc); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("Basic for a client_secret_post client: %d", resp.StatusCode)
			}
		},
		"client_secret_jwt": func(t *testing.T) {
			a := assertion(t, jwt.SigningMethodHS256, hmacID, []byte(hmacSecret), "")
			resp, data := postEndpoint(t, srv, "/token", "", "", withAssertion(a))
			ok(t, resp, data)
		},
		"private_key_jwt": func(t *testing.T) {
			a := assertion(t, jwt.SigningMethodES256, jwtID, key, "k1")
			resp, data := postEndpoint(t, srv, "/token", "", "", withAssertion(a))
			ok(t, resp, data)
		},
		"none": func(t *testing.T) {
			// A public client: the device authorization endpoint with its
			// client_id alone.
			resp, data := postEndpoint(t, srv, "/device_authorization", "", "", url.Values{"client_id": {tvClientID}, "scope": {"read"}})
			if resp.StatusCode != http.StatusOK || data["device_code"] == nil {
				t.Fatalf("%d %v", resp.StatusCode, data["error"])
			}
		},
	}
	for _, g := range strs(md["grant_types_supported"]) {
		t.Run("grant "+g, func(t *testing.T) {
			run, found := grants[g]
			if !found {
				t.Fatalf("the metadata advertises %q and the test has no check for it", g)
			}
			run(t)
		})
	}
	for _, m := range strs(md["token_endpoint_auth_methods_supported"]) {
		t.Run("auth "+m, func(t *testing.T) {
			run, found := methods[m]
			if !found {
				t.Fatalf("the metadata advertises %q and the test has no check for it", m)
			}
			run(t)
		})
	}
}

func TestJWKS_JWTAccessTokenVerifiesWithGoJose(t *testing.T) {
	for _, format := range []string{FormatJWT, FormatOpaque} {
		t.Run(format, func(t *testing.T) {
			cfg := testConfig(testRedirect)
			cfg.AccessToken.Format = format
			srv := startApp(t, cfg)
			resp, err := srv.Client().Get(metadata(t, srv)["jwks_uri"].(string))
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/jwk-set+json" {
				t.Fatalf("jwks: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal([]byte(body), &set); err != nil || len(set.Keys) == 0 {
				t.Fatalf("not a JWK Set: %v", err)
			}
			for _, k := range set.Keys {
				if !k.IsPublic() || k.Algorithm != "RS256" || k.KeyID == "" {
					t.Fatalf("published key: public %v alg %q kid %q", k.IsPublic(), k.Algorithm, k.KeyID)
				}
			}
			if strings.Contains(body, `"d"`) {
				t.Fatal("the JWK Set holds private key material")
			}
			_, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
			access := data["access_token"].(string)
			if format == FormatOpaque {
				if strings.Count(access, ".") == 2 {
					t.Fatal("an opaque access token looks like a JWT")
				}
				return
			}
			jws, err := jose.ParseSignedCompact(access, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatalf("the access token is not an RS256 JWS: %v", err)
			}
			kid := jws.Signatures[0].Header.KeyID
			keys := set.Key(kid)
			if len(keys) != 1 {
				t.Fatalf("kid %q is not in the JWK Set", kid)
			}
			payload, err := jws.Verify(keys[0].Key)
			if err != nil {
				t.Fatalf("the access token does not verify with the published key: %v", err)
			}
			var claims map[string]any
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			if claims["iss"] != srv.URL || claims["client_id"] != testClientID || claims["scope"] != "read" {
				t.Fatalf("claims iss %v client_id %v scope %v", claims["iss"], claims["client_id"], claims["scope"])
			}
		})
	}
}

func TestRevoke_ThenIntrospectIsInactive(t *testing.T) {
	srv := startApp(t, endpointConfig(t, newKey(t)))
	code := newBrowser(t, srv).code(testRedirect, "read", "st")
	_, tok := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}})
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	introspect := func(token string) map[string]any {
		t.Helper()
		resp, data := postEndpoint(t, srv, "/introspect", testClientID, testClientSecret, url.Values{"token": {token}})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("introspect: %d", resp.StatusCode)
		}
		return data
	}
	if data := introspect(access); data["active"] != true || data["sub"] != testUsername || data["client_id"] != testClientID {
		t.Fatalf("a live token: %v", data)
	}
	tests := []struct {
		name, token, hint string
	}{
		{"access token", access, "access_token"},
		{"refresh token with a wrong hint", refresh, "access_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := postEndpoint(t, srv, "/revoke", testClientID, testClientSecret, url.Values{"token": {tt.token}, "token_type_hint": {tt.hint}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			if data := introspect(tt.token); data["active"] != false || len(data) != 1 {
				t.Fatalf("after revocation: %v", data)
			}
		})
	}
	// Revoking again, or an unknown token, is still 200 (RFC 7009 2.2).
	if resp, _ := postEndpoint(t, srv, "/revoke", testClientID, testClientSecret, url.Values{"token": {"no-such-token"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}
	// Other methods are 405 with Allow (RFC 7009 2.1).
	resp, err := srv.Client().Get(srv.URL + "/revoke")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET /revoke: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestRevoke_ClientCannotRevokeOrIntrospectAnothersToken(t *testing.T) {
	srv := startApp(t, endpointConfig(t, newKey(t)))
	_, tok := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	access := tok["access_token"].(string)
	active := func(id, secret string) any {
		t.Helper()
		_, data := postEndpoint(t, srv, "/introspect", id, secret, url.Values{"token": {access}})
		return data["active"]
	}
	// Another client's revocation is refused (RFC 7009 2.1) and does
	// nothing.
	form := url.Values{"token": {access}, "client_id": {postID}, "client_secret": {postSecret}}
	if resp, data := postEndpoint(t, srv, "/revoke", "", "", form); resp.StatusCode != http.StatusBadRequest || data["error"] != "unauthorized_client" {
		t.Fatalf("foreign revocation: %d %v", resp.StatusCode, data)
	}
	if active(testClientID, testClientSecret) != true {
		t.Fatal("another client revoked the token")
	}
	// Another client sees it inactive; the resource server sees it.
	_, data := postEndpoint(t, srv, "/introspect", "", "", url.Values{"token": {access}, "client_id": {postID}, "client_secret": {postSecret}})
	if data["active"] != false {
		t.Fatalf("another client introspected the token: %v", data)
	}
	if active(apiClientID, apiSecret) != true {
		t.Fatal("the resource server (introspect_any) does not see the token")
	}
	// A wrong secret is invalid_client, at both endpoints.
	for _, path := range []string{"/revoke", "/introspect"} {
		if resp, data := postEndpoint(t, srv, path, testClientID, "wrong", url.Values{"token": {access}}); resp.StatusCode != http.StatusUnauthorized || data["error"] != "invalid_client" {
			t.Fatalf("%s with a wrong secret: %d %v", path, resp.StatusCode, data["error"])
		}
	}
	if active(testClientID, testClientSecret) != true {
		t.Fatal("the token was revoked by a failed request")
	}
}

// signIn opens path, which sends a browser without a session to the login
// page, signs in, and returns where the login sends it back.
func (b *browser) signIn(path, username, password string) string {
	b.t.Helper()
	resp, _ := b.get(path)
	loginURL := b.expectRedirect(resp, http.StatusSeeOther, "/login?return=")
	_, page := b.get(loginURL)
	resp, _ = b.post("/login", url.Values{
		"username": {username}, "password": {password},
		"csrf": {hiddenValue(b.t, page, "csrf")}, "return": {hiddenValue(b.t, page, "return")},
	})
	return b.expectRedirect(resp, http.StatusSeeOther, "/")
}

// enterUserCode sends code in the device page's form.
func (b *browser) enterUserCode(code string) (*http.Response, string) {
	b.t.Helper()
	_, page := b.get("/device")
	return b.post("/device", url.Values{"user_code": {code}, "csrf": {hiddenValue(b.t, page, "csrf")}})
}

// runDeviceFlow runs the device grant with golang.org/x/oauth2 as the
// device (public client tv) while a browser signs in at the verification
// URI and answers decision on the consent page.
func runDeviceFlow(t *testing.T, srv *testServer, decision string) (*oauth2.Token, error) {
	t.Helper()
	conf := &oauth2.Config{
		ClientID: tvClientID,
		Scopes:   []string{"read"},
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: srv.URL + "/device_authorization",
			TokenURL:      srv.URL + "/token",
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client()), 30*time.Second)
	defer cancel()
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if da.VerificationURI != srv.URL+"/device" || !strings.HasPrefix(da.VerificationURIComplete, srv.URL+"/device?user_code=") ||
		len(da.UserCode) != 9 || da.Interval != 1 {
		t.Fatalf("device authorization response: uri %q complete %q interval %d", da.VerificationURI, da.VerificationURIComplete, da.Interval)
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	polled := make(chan result, 1)
	go func() {
		tok, err := conf.DeviceAccessToken(ctx, da)
		polled <- result{tok, err}
	}()

	b := newBrowser(t, srv)
	back := b.signIn(da.VerificationURIComplete, testUsername, testPassword)
	if want := "/device?" + (url.Values{"user_code": {da.UserCode}}).Encode(); back != want {
		t.Fatalf("the login returns to %q", back)
	}
	resp, page := b.get(back)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="user_code"`) ||
		!strings.Contains(page, `value="`+da.UserCode+`"`) {
		t.Fatalf("device page %d does not show the user code", resp.StatusCode)
	}
	// The user confirms the code: the consent page names the client.
	resp, page = b.post("/device", url.Values{"user_code": {da.UserCode}, "csrf": {hiddenValue(t, page, "csrf")}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<strong>"+tvClientID+"</strong> wants to access your account") ||
		!strings.Contains(page, `<span class="scope">read</span>`) || !strings.Contains(page, `value="deny"`) {
		t.Fatalf("consent page %d:\n%s", resp.StatusCode, page)
	}
	resp, _ = b.post("/device", url.Values{
		"consent": {decision}, "user_code": {hiddenValue(t, page, "user_code")}, "csrf": {hiddenValue(t, page, "csrf")},
	})
	done := b.expectRedirect(resp, http.StatusSeeOther, "/device/done?result=")
	resp, page = b.get(done)
	want := "You can return to your device."
	if decision == "deny" {
		want = "The device was not given access."
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
		t.Fatalf("result page %d lacks %q", resp.StatusCode, want)
	}
	// The code is answered once.
	if resp, page := b.enterUserCode(da.UserCode); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not valid or has expired") {
		t.Fatalf("the answered code again: %d", resp.StatusCode)
	}
	r := <-polled
	for name, s := range map[string]string{"device code": da.DeviceCode, "user code": da.UserCode, "user code unformatted": strings.ReplaceAll(da.UserCode, "-", "")} {
		if strings.Contains(srv.Logs.String(), s) {
			t.Errorf("the log holds the %s", name)
		}
	}
	return r.tok, r.err
}

func TestDevice_FlowWithGolangOAuth2(t *testing.T) {
	srv := startApp(t, endpointConfig(t, newKey(t)))
	tok, err := runDeviceFlow(t, srv, "allow")
	if err != nil {
		t.Fatalf("device access token: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Extra("scope") != "read" {
		t.Fatalf("token without access or refresh token or scope read (scope %v)", tok.Extra("scope"))
	}
	if strings.Contains(srv.Logs.String(), tok.AccessToken) || strings.Contains(srv.Logs.String(), tok.RefreshToken) {
		t.Error("the log holds a token")
	}
	_, data := postEndpoint(t, srv, "/introspect", apiClientID, apiSecret, url.Values{"token": {tok.AccessToken}})
	if data["active"] != true || data["sub"] != testUsername || data["client_id"] != tvClientID || data["scope"] != "read" {
		t.Fatalf("introspection of the device's token: %v", data)
	}
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := readBody(t, resp)
	for _, want := range []string{
		`oauth2d_tokens_issued_total{grant="device_code"} 1`,
		`oauth2d_http_request_duration_seconds_bucket{endpoint="/device_authorization",le=`,
		`oauth2d_http_request_duration_seconds_bucket{endpoint="/device",le=`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestDevice_DenyIsAccessDenied(t *testing.T) {
	srv := startApp(t, endpointConfig(t, newKey(t)))
	tok, err := runDeviceFlow(t, srv, "deny")
	var re *oauth2.RetrieveError
	if tok != nil || !errors.As(err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("after deny: token %v, error %v", tok != nil, err)
	}
}

func TestDevice_WrongCodeShowsErrorThenGuessingIsThrottled(t *testing.T) {
	cfg := endpointConfig(t, newKey(t))
	cfg.Device.UserCodeFailureLimit = 3
	srv := startApp(t, cfg)
	_, da := postEndpoint(t, srv, "/device_authorization", "", "", url.Values{"client_id": {tvClientID}})
	userCode := da["user_code"].(string)
	b := newBrowser(t, srv)
	b.signIn("/device", testUsername, testPassword)
	// A consent form of the right code, whose CSRF token is then used to
	// post a guessed code straight to the consent step.
	resp, consent := b.enterUserCode(userCode)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the right code: %d", resp.StatusCode)
	}
	guessAtConsent := func(code string) (*http.Response, string) {
		return b.post("/device", url.Values{"consent": {"allow"}, "user_code": {code}, "csrf": {hiddenValue(t, consent, "csrf")}})
	}
	tests := []struct {
		name    string
		send    func() (*http.Response, string)
		status  int
		message string
	}{
		{"empty (not counted)", func() (*http.Response, string) { return b.enterUserCode("") },
			http.StatusBadRequest, "Enter the code shown on your device."},
		{"unknown, at the consent step", func() (*http.Response, string) { return guessAtConsent("BBBB-BBBB") },
			http.StatusBadRequest, "That code is not valid or has expired."},
		{"malformed", func() (*http.Response, string) { return b.enterUserCode("AEIOU-123") },
			http.StatusBadRequest, "That code is not valid or has expired."},
		{"third failure", func() (*http.Response, string) { return b.enterUserCode("CCCC-CCCC") },
			http.StatusBadRequest, "That code is not valid or has expired."},
		{"locked out", func() (*http.Response, string) { return b.enterUserCode("DDDD-DDDD") },
			http.StatusTooManyRequests, "Too many wrong codes were entered."},
		{"even the right code", func() (*http.Response, string) { return b.enterUserCode(userCode) },
			http.StatusTooManyRequests, "Too many wrong codes were entered."},
	}
	for _, tt := range tests {
		resp, page := tt.send()
		if resp.StatusCode != tt.status || !strings.Contains(page, tt.message) {
			t.Fatalf("%s: %d, want %d with %q", tt.name, resp.StatusCode, tt.status, tt.message)
		}
		if !strings.Contains(page, `name="user_code"`) {
			t.Fatalf("%s: the page does not offer the form again", tt.name)
		}
	}
	// The guesses are counted per user: a new session of the same user is
	// still locked out.
	b2 := newBrowser(t, srv)
	b2.signIn("/device", testUsername, testPassword)
	if resp, _ := b2.enterUserCode(userCode); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a new session of the same user: %d", resp.StatusCode)
	}
}

func TestDevice_PagesRefuseOtherOriginsAndNeedASession(t *testing.T) {
	srv := startApp(t, endpointConfig(t, newKey(t)))
	_, da := postEndpoint(t, srv, "/device_authorization", "", "", url.Values{"client_id": {tvClientID}})
	userCode := da["user_code"].(string)

	anon := newBrowser(t, srv)
	if resp, _ := anon.post("/device", url.Values{"user_code": {userCode}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without a session: %d", resp.StatusCode)
	}
	b := newBrowser(t, srv)
	b.signIn("/device", testUsername, testPassword)
	_, page := b.get("/device")
	b.origin = "https://evil.example"
	resp, body := b.post("/device", url.Values{"user_code": {userCode}, "csrf": {hiddenValue(t, page, "csrf")}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "sent from another site") {
		t.Fatalf("cross-origin: %d", resp.StatusCode)
	}
	b.origin = srv.URL
	resp, body = b.post("/device", url.Values{"user_code": {userCode}, "csrf": {"forged"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This form is not valid.") {
		t.Fatalf("forged CSRF: %d", resp.StatusCode)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("the device page lacks %s", h)
		}
	}
	// The code is still pending: nothing above answered it.
	if resp, _ := b.enterUserCode(userCode); resp.StatusCode != http.StatusOK {
		t.Fatalf("the code after refused forms: %d", resp.StatusCode)
	}
}

func TestDevice_PagesAbsentWithoutADeviceClient(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	resp, err := srv.Client().Get(srv.URL + "/device")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /device: %d", resp.StatusCode)
	}
	resp, data := postEndpoint(t, srv, "/device_authorization", testClientID, testClientSecret, url.Values{})
	if resp.StatusCode != http.StatusBadRequest || data["error"] != "unsupported_grant_type" {
		t.Fatalf("device authorization: %d %v", resp.StatusCode, data["error"])
	}
}

func TestMetadata_IssuerWithAPathIsServedAtBothWellKnownPaths(t *testing.T) {
	cfg := testConfig(testRedirect)
	cfg.Issuer = "http://oauth2d.test/auth"
	cfg.Logger = slog.New(slog.DiscardHandler)
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	// RFC 8414 3.1: the well-known path goes before the issuer's path; the
	// same document under the issuer's path is what many clients try.
	for _, path := range []string{"/.well-known/oauth-authorization-server/auth", "/auth/.well-known/oauth-authorization-server"} {
		rec := httptest.NewRecorder()
		app.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var md map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &md); rec.Code != http.StatusOK || err != nil {
			t.Fatalf("%s: %d %v", path, rec.Code, err)
		}
		if md["issuer"] != cfg.Issuer || md["token_endpoint"] != cfg.Issuer+"/token" || md["jwks_uri"] != cfg.Issuer+"/jwks.json" {
			t.Fatalf("%s: issuer %v token_endpoint %v jwks_uri %v", path, md["issuer"], md["token_endpoint"], md["jwks_uri"])
		}
	}
	rec := httptest.NewRecorder()
	app.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/auth/jwks.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/auth/jwks.json: %d", rec.Code)
	}
}
