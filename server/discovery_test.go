package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	oauth2d "github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/server"
)

// getJSON fetches a document of the test server.
func (e *oidcEnv) getJSON(path string) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, err := http.Get(e.ts.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			e.t.Fatal(err)
		}
	}
	return resp, m
}

func TestDiscoveryWithGoOIDCNewProvider(t *testing.T) {
	e := newOIDCEnv(t)
	p := e.provider()
	ep := p.Endpoint()
	if ep.AuthURL != e.ts.URL+"/authorize" || ep.TokenURL != e.ts.URL+"/token" || p.UserInfoEndpoint() != e.ts.URL+"/userinfo" {
		t.Fatalf("endpoints %+v userinfo %q", ep, p.UserInfoEndpoint())
	}
	var doc struct {
		JWKSURI                string   `json:"jwks_uri"`
		SubjectTypes           []string `json:"subject_types_supported"`
		Algs                   []string `json:"id_token_signing_alg_values_supported"`
		Scopes                 []string `json:"scopes_supported"`
		Claims                 []string `json:"claims_supported"`
		ResponseTypes          []string `json:"response_types_supported"`
		ResponseModes          []string `json:"response_modes_supported"`
		GrantTypes             []string `json:"grant_types_supported"`
		ClaimsParameter        *bool    `json:"claims_parameter_supported"`
		RequestParameter       *bool    `json:"request_parameter_supported"`
		RequestURIParameter    *bool    `json:"request_uri_parameter_supported"`
		EndSession             string   `json:"end_session_endpoint"`
		AuthorizationIssParams bool     `json:"authorization_response_iss_parameter_supported"`
	}
	if err := p.Claims(&doc); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"jwks_uri", doc.JWKSURI == e.ts.URL+server.PathJWKS},
		{"subject_types_supported public and pairwise", reflect.DeepEqual(doc.SubjectTypes, []string{"public", "pairwise"})},
		{"id_token_signing_alg_values_supported has RS256 (Discovery 3)", slices.Contains(doc.Algs, "RS256")},
		{"scopes_supported has openid", slices.Contains(doc.Scopes, "openid") && slices.Contains(doc.Scopes, "email")},
		{"claims_supported", slices.Contains(doc.Claims, "sub") && slices.Contains(doc.Claims, "email_verified") && slices.Contains(doc.Claims, "auth_time")},
		{"response_types_supported", reflect.DeepEqual(doc.ResponseTypes, []string{"code"})},
		{"response_modes_supported", reflect.DeepEqual(doc.ResponseModes, []string{"query", "fragment", "form_post"})},
		{"grant_types_supported", slices.Contains(doc.GrantTypes, "authorization_code") && slices.Contains(doc.GrantTypes, "refresh_token")},
		{"claims_parameter_supported true", doc.ClaimsParameter != nil && *doc.ClaimsParameter},
		{"request_parameter_supported false", doc.RequestParameter != nil && !*doc.RequestParameter},
		{"request_uri_parameter_supported false (its default is true)", doc.RequestURIParameter != nil && !*doc.RequestURIParameter},
		{"no end_session_endpoint until logout exists", doc.EndSession == ""},
		{"authorization_response_iss_parameter_supported", doc.AuthorizationIssParams},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, doc)
		}
	}
}

func TestDiscoveryIsConsistentWithTheRFC8414Metadata(t *testing.T) {
	e := newOIDCEnv(t, func(e *oidcEnv) { e.srv.Config.ScopesSupported = []string{"read", "openid"} })
	_, oauthDoc := e.getJSON(server.MetadataPath(e.ts.URL))
	resp, oidcDoc := e.getJSON(server.PathOpenIDConfiguration)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	if len(oauthDoc) == 0 {
		t.Fatal("no RFC 8414 document")
	}
	for k, v := range oauthDoc {
		if k == "scopes_supported" {
			continue
		}
		if !reflect.DeepEqual(oidcDoc[k], v) {
			t.Errorf("%s: OpenID %v, RFC 8414 %v", k, oidcDoc[k], v)
		}
	}
	scopes, _ := oidcDoc["scopes_supported"].([]any)
	want := []any{"openid", "profile", "email", "address", "phone", "read"}
	if !reflect.DeepEqual(scopes, want) {
		t.Fatalf("scopes_supported %v, want %v", scopes, want)
	}
}

func TestDiscoveryFollowsTheServersConfiguration(t *testing.T) {
	e := newOIDCEnv(t, func(e *oidcEnv) {
		e.srv.SetAllowedResponseType(oauth2d.Code, oauth2d.Token)
		// A generator without a pairwise secret.
		gen, err := generates.NewJWTIDTokenGenerate(e.ks, e.ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		e.cfg.IDTokens, e.cfg.Subjects = gen, nil
		e.cfg.EndSessionEndpoint = e.ts.URL + "/logout"
		e.cfg.UserInfoEndpoint = "https://api.example.com/me"
		e.cfg.ACRValuesSupported = []string{"urn:mace:incommon:iap:silver"}
		e.cfg.ClaimsSupported = []string{"sub", "email"}
	})
	md, err := e.srv.OpenIDMetadata(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(md.ResponseModesSupported, []string{"query", "fragment", "form_post"}) ||
		!reflect.DeepEqual(md.SubjectTypesSupported, []string{"public"}) ||
		md.EndSessionEndpoint != e.ts.URL+"/logout" || md.UserInfoEndpoint != "https://api.example.com/me" ||
		!reflect.DeepEqual(md.ACRValuesSupported, []string{"urn:mace:incommon:iap:silver"}) ||
		!reflect.DeepEqual(md.ClaimsSupported, []string{"sub", "email"}) ||
		!reflect.DeepEqual(md.ResponseTypesSupported, []string{"code", "token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"}) {
		t.Fatalf("metadata %+v", md)
	}
}

func TestDiscoveryAdvertisesEveryIDTokenAlgorithmWithRS256(t *testing.T) {
	e := newOIDCEnv(t)
	es, err := generates.GenerateSigningKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	// A new ES256 current key; the RS256 key is kept, not retired, for the
	// clients that ask for RS256 ID tokens.
	if err := e.ks.Add(generates.SigningKey{Method: jwt.SigningMethodES256, Key: es}, true); err != nil {
		t.Fatal(err)
	}
	p := e.provider()
	var doc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := p.Claims(&doc); err != nil || !reflect.DeepEqual(doc.Algs, []string{"ES256", "RS256"}) {
		t.Fatalf("algorithms %v (%v)", doc.Algs, err)
	}
}

func TestDiscoveryRefusesAConfigurationThatIsNoOpenIDProvider(t *testing.T) {
	esOnly := func(e *oidcEnv) {
		ks := generates.NewKeySet()
		k, err := generates.GenerateSigningKey("ES256")
		if err != nil {
			t.Fatal(err)
		}
		if err := ks.Add(generates.SigningKey{Method: jwt.SigningMethodES256, Key: k}, true); err != nil {
			t.Fatal(err)
		}
		gen, err := generates.NewJWTIDTokenGenerate(ks, e.ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		e.srv.SetKeySet(ks)
		e.cfg.IDTokens = gen
		e.mgr.MapIDTokenGenerate(gen)
	}
	tests := []struct {
		name      string
		configure func(*oidcEnv)
		status    int
	}{
		{"no RS256 key (Core 15.1)", esOnly, 500},
		{"no key set published", func(e *oidcEnv) { e.srv.SetKeySet(nil) }, 500},
		{"published key set is not the ID tokens'", func(e *oidcEnv) { e.srv.SetKeySet(generates.NewKeySet()) }, 500},
		{"no ID token generator", func(e *oidcEnv) { e.cfg.IDTokens = nil; e.mgr.MapIDTokenGenerate(nil) }, 500},
		{"no issuer", func(e *oidcEnv) { e.srv.Config.Issuer = "" }, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOIDCEnv(t, tt.configure)
			resp, _ := e.getJSON(server.PathOpenIDConfiguration)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if _, err := gooidc.NewProvider(context.Background(), e.ts.URL); err == nil {
				t.Fatal("go-oidc accepted the provider")
			}
		})
	}
}

func TestDiscoveryAnswersOnlyGetAndHead(t *testing.T) {
	e := newOIDCEnv(t)
	h := e.srv.OpenIDConfigurationHandler(e.cfg)
	for method, want := range map[string]int{"GET": 200, "HEAD": 200, "POST": 405, "DELETE": 405} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, server.PathOpenIDConfiguration, nil))
		if w.Code != want {
			t.Errorf("%s: %d", method, w.Code)
		}
		if method == "HEAD" && w.Body.Len() != 0 {
			t.Error("HEAD with a body")
		}
		if want == 405 && w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: Allow %q", method, w.Header().Get("Allow"))
		}
	}
	if _, err := e.srv.OpenIDMetadata(nil); err == nil {
		t.Fatal("metadata without an OpenIDConfig")
	}
}

func TestOpenIDConfigurationPathAppendsTheWellKnownSuffix(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://op.example.com":          "/.well-known/openid-configuration",
		"https://op.example.com/":         "/.well-known/openid-configuration",
		"https://op.example.com/tenant/a": "/tenant/a/.well-known/openid-configuration",
	} {
		if got := server.OpenIDConfigurationPath(issuer); got != want {
			t.Errorf("%s: %s, want %s", issuer, got, want)
		}
	}
}
