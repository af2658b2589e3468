package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
)

// algAssertionAuth is the private_key_jwt stand-in, telling its
// algorithms.
type algAssertionAuth struct{ assertionAuth }

func (algAssertionAuth) SigningAlgorithms() []string { return []string{"RS256", "ES256"} }

// Server configurations the metadata tests run against.
var metadataConfigs = []struct {
	name  string
	setup func(e *env)
}{
	{"defaults", func(*env) {}},
	{"everything on: implicit, password, plain PKCE, private_key_jwt", func(e *env) {
		e.srv.SetAllowedResponseType(oauth2.Code, oauth2.Token)
		e.srv.SetAllowedGrantType(oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials,
			oauth2.PasswordCredentials)
		e.srv.SetPasswordAuthorizationHandler(func(context.Context, string, string, string) (string, error) { return "u1", nil })
		e.mgr.SetPKCE(manage.PKCEConfig{AllowPlain: true})
		e.srv.AddClientAuthenticator(algAssertionAuth{assertionAuth{e}})
	}},
	{"device grant on (RFC 8628)", func(e *env) {
		e.srv.SetAllowedGrantType(oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.DeviceCode)
	}},
	{"password allowed without a handler is not advertised", func(e *env) {
		e.srv.SetAllowedGrantType(oauth2.AuthorizationCode, oauth2.PasswordCredentials)
	}},
	{"Basic only (ClientBasicHandler)", func(e *env) { e.srv.SetClientInfoHandler(server.ClientBasicHandler) }},
	{"form only (ClientFormHandler)", func(e *env) { e.srv.SetClientInfoHandler(server.ClientFormHandler) }},
	{"plain allowed by the manager but not by the server", func(e *env) {
		e.mgr.SetPKCE(manage.PKCEConfig{AllowPlain: true})
		e.srv.Config.AllowedCodeChallengeMethods = []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256}
	}},
	{"no authorization endpoint grants", func(e *env) {
		e.srv.SetAllowedResponseType()
		e.srv.SetAllowedGrantType(oauth2.ClientCredentials)
	}},
}

func (e *env) metadata(t *testing.T) map[string]any {
	t.Helper()
	w := httptest.NewRecorder()
	e.srv.HandleMetadataRequest(w, httptest.NewRequest(http.MethodGet, server.PathMetadata, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("metadata: %d %s", w.Code, w.Body)
	}
	var md map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &md); err != nil {
		t.Fatal(err)
	}
	return md
}

func jsonStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, s := range l {
			out = append(out, s.(string))
		}
	}
	return out
}

// TestMetadata_Document checks the whole document for each configuration
// (RFC 8414 2).
func TestMetadata_Document(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"issuer":                                         issuer,
			"authorization_endpoint":                         issuer + "/authorize",
			"token_endpoint":                                 issuer + "/token",
			"revocation_endpoint":                            issuer + "/revoke",
			"introspection_endpoint":                         issuer + "/introspect",
			"response_types_supported":                       []string{"code"},
			"grant_types_supported":                          []string{"authorization_code", "refresh_token", "client_credentials"},
			"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
			"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
			"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
			"code_challenge_methods_supported":               []string{"S256"},
			"authorization_response_iss_parameter_supported": true,
		}
	}
	algs := []string{"RS256", "ES256"}
	tests := []struct {
		name   string
		config string // a metadataConfigs name, or "" for the defaults
		setup  func(e *env)
		want   func(m map[string]any)
	}{
		{"defaults", "defaults", nil, func(map[string]any) {}},
		{"everything on", "everything on: implicit, password, plain PKCE, private_key_jwt", nil, func(m map[string]any) {
			m["response_types_supported"] = []string{"code", "token"}
			m["grant_types_supported"] = []string{"authorization_code", "refresh_token", "client_credentials", "password", "implicit"}
			m["code_challenge_methods_supported"] = []string{"S256", "plain"}
			all := []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
			m["token_endpoint_auth_methods_supported"] = all
			m["revocation_endpoint_auth_methods_supported"] = all
			m["introspection_endpoint_auth_methods_supported"] = all[:3]
			m["token_endpoint_auth_signing_alg_values_supported"] = algs
			m["revocation_endpoint_auth_signing_alg_values_supported"] = algs
			m["introspection_endpoint_auth_signing_alg_values_supported"] = algs
		}},
		{"device grant: listed with its endpoint", "device grant on (RFC 8628)", nil, func(m map[string]any) {
			m["grant_types_supported"] = []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"}
			m["device_authorization_endpoint"] = issuer + "/device_authorization"
		}},
		{"the RFC 7523 authenticators list their methods and algorithms", "", func(e *env) {
			e.srv.AddClientAssertionAuthenticators()
		}, func(m map[string]any) {
			all := []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt", "none"}
			jwtAlgs := []string{"RS256", "PS256", "ES256", "EdDSA", "HS256", "HS384", "HS512"}
			m["token_endpoint_auth_methods_supported"] = all
			m["revocation_endpoint_auth_methods_supported"] = all
			m["introspection_endpoint_auth_methods_supported"] = all[:4]
			for _, ep := range []string{"token", "revocation", "introspection"} {
				m[ep+"_endpoint_auth_signing_alg_values_supported"] = jwtAlgs
			}
		}},
		{"password without a handler", "password allowed without a handler is not advertised", nil, func(m map[string]any) {
			m["grant_types_supported"] = []string{"authorization_code"}
		}},
		{"Basic only", "Basic only (ClientBasicHandler)", nil, func(m map[string]any) {
			for _, k := range []string{"token", "revocation", "introspection"} {
				m[k+"_endpoint_auth_methods_supported"] = []string{"client_secret_basic"}
			}
		}},
		{"form only", "form only (ClientFormHandler)", nil, func(m map[string]any) {
			m["token_endpoint_auth_methods_supported"] = []string{"client_secret_post", "none"}
			m["revocation_endpoint_auth_methods_supported"] = []string{"client_secret_post", "none"}
			m["introspection_endpoint_auth_methods_supported"] = []string{"client_secret_post"}
		}},
		{"server narrows PKCE methods", "plain allowed by the manager but not by the server", nil, func(map[string]any) {}},
		{"no response types: no authorization endpoint, no PKCE", "no authorization endpoint grants", nil, func(m map[string]any) {
			delete(m, "authorization_endpoint")
			delete(m, "code_challenge_methods_supported")
			m["response_types_supported"] = []string{}
			m["grant_types_supported"] = []string{"client_credentials"}
		}},
		{"no grant at all is an empty list, not the RFC 8414 default", "", func(e *env) {
			e.srv.SetAllowedResponseType()
			e.srv.SetAllowedGrantType()
		}, func(m map[string]any) {
			delete(m, "authorization_endpoint")
			delete(m, "code_challenge_methods_supported")
			m["response_types_supported"] = []string{}
			m["grant_types_supported"] = []string{}
		}},
		{"an application's ClientInfoHandler hides extension methods", "", func(e *env) {
			e.srv.SetClientInfoHandler(func(r *http.Request) (string, string, error) {
				return r.Form.Get("client_id"), r.Form.Get("client_secret"), nil
			})
			e.srv.AddClientAuthenticator(algAssertionAuth{assertionAuth{e}})
		}, func(map[string]any) {}},
		{"key set, scopes, endpoints elsewhere, issuer with a trailing slash", "", func(e *env) {
			e.srv.Config.Issuer = issuer + "/"
			ks := generates.NewKeySet()
			if err := ks.Add(generates.SigningKey{Method: jwt.SigningMethodHS256, Key: []byte(strings.Repeat("k", 32))}, true); err != nil {
				e.t.Fatal(err)
			}
			e.srv.SetKeySet(ks)
			e.srv.Config.ScopesSupported = []string{"read", "write"}
			e.srv.Config.Endpoints.Introspection = "https://internal.example.com/introspect"
			e.srv.Config.Endpoints.JWKS = "https://cdn.example.com/keys"
		}, func(m map[string]any) {
			m["issuer"] = issuer + "/"
			m["jwks_uri"] = "https://cdn.example.com/keys"
			m["scopes_supported"] = []string{"read", "write"}
			m["introspection_endpoint"] = "https://internal.example.com/introspect"
		}},
		{"default jwks_uri", "", func(e *env) { e.srv.SetKeySet(generates.NewKeySet()) }, func(m map[string]any) {
			m["jwks_uri"] = issuer + "/jwks.json"
		}},
		{"a device grant that is not allowed has no endpoint", "", func(e *env) {
			e.srv.Config.Endpoints.DeviceAuthorization = "https://as.example.com/device"
		}, func(map[string]any) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Config.Issuer = issuer
			for _, c := range metadataConfigs {
				if c.name == tt.config {
					c.setup(e)
				}
			}
			if tt.setup != nil {
				tt.setup(e)
			}
			want := base()
			tt.want(want)
			// Compare through JSON, where []string and []any agree.
			wb, _ := json.Marshal(want)
			var wantJSON map[string]any
			_ = json.Unmarshal(wb, &wantJSON)
			got := e.metadata(t)
			if !jsonEqual(got, wantJSON) {
				gb, _ := json.MarshalIndent(got, "", " ")
				wb, _ := json.MarshalIndent(wantJSON, "", " ")
				t.Fatalf("metadata\n got %s\nwant %s", gb, wb)
			}
		})
	}
}

func jsonEqual(a, b map[string]any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return string(ab) == string(bb)
}

// TestMetadata_HTTP checks the answers of the metadata endpoint other than
// the document (RFC 8414 3).
func TestMetadata_HTTP(t *testing.T) {
	tests := []struct {
		name       string
		issuer     string
		method     string
		wantStatus int
		wantBody   string // prefix; "-" for none
		wantHeader map[string]string
	}{
		{"GET", issuer, http.MethodGet, 200, `{"issuer":"` + issuer + `"`, map[string]string{
			"Content-Type": "application/json;charset=UTF-8", "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}},
		{"HEAD has no body", issuer, http.MethodHead, 200, "-", map[string]string{"Content-Type": "application/json;charset=UTF-8"}},
		{"POST is 405 with Allow", issuer, http.MethodPost, 405, `{"error":"invalid_request"`, map[string]string{"Allow": "GET, HEAD"}},
		{"no issuer publishes nothing", "", http.MethodGet, 404, "404 page not found", nil},
		{"issuer with a query is a server_error", issuer + "?x=1", http.MethodGet, 500, `{"error":"server_error"`, nil},
		{"issuer with a fragment is a server_error", issuer + "#f", http.MethodGet, 500, `{"error":"server_error"`, nil},
		{"relative issuer is a server_error", "as.example.com", http.MethodGet, 500, `{"error":"server_error"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Config.Issuer = tt.issuer
			w := httptest.NewRecorder()
			e.srv.HandleMetadataRequest(w, httptest.NewRequest(tt.method, server.PathMetadata, nil))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantBody == "-" {
				if w.Body.Len() != 0 {
					t.Fatalf("body %q", w.Body)
				}
			} else if !strings.HasPrefix(w.Body.String(), tt.wantBody) {
				t.Fatalf("body %s, want prefix %s", w.Body, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestMetadataPath_InsertsWellKnownBeforeIssuerPath(t *testing.T) {
	tests := map[string]string{
		"https://as.example.com":          "/.well-known/oauth-authorization-server",
		"https://as.example.com/":         "/.well-known/oauth-authorization-server",
		"https://example.com/issuer1":     "/.well-known/oauth-authorization-server/issuer1",
		"https://example.com/tenant/a%2F": "/.well-known/oauth-authorization-server/tenant/a%2F",
	}
	for iss, want := range tests {
		if got := server.MetadataPath(iss); got != want {
			t.Errorf("MetadataPath(%q) = %q, want %q", iss, got, want)
		}
	}
}

// authAs builds a request authenticated by the named method (RFC 7591 2):
// the confidential client for client_secret_*, the public client for none,
// "jwt-client" for private_key_jwt.
func authAs(method string, body url.Values) tokenReq {
	switch method {
	case server.AuthMethodBasic:
		return tokenReq{body: body.Encode(), basic: basic(confID, confSecret)}
	case server.AuthMethodPost:
		body.Set("client_id", confID)
		body.Set("client_secret", confSecret)
	case server.AuthMethodNone:
		body.Set("client_id", pubID)
	case "private_key_jwt":
		body.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		body.Set("client_assertion", "signed-by-jwt-client")
	}
	return tokenReq{body: body.Encode()}
}

// TestMetadata_AdvertisesOnlyWhatIsAccepted: for each configuration,
// every grant type, response type, client authentication method and PKCE
// method the metadata lists is accepted, and every one it leaves out is
// refused (RFC 8414 2).
func TestMetadata_AdvertisesOnlyWhatIsAccepted(t *testing.T) {
	grants := []string{"authorization_code", "refresh_token", "client_credentials", "password", "urn:ietf:params:oauth:grant-type:device_code"}
	methods := []string{server.AuthMethodBasic, server.AuthMethodPost, server.AuthMethodNone, "private_key_jwt"}
	for _, c := range metadataConfigs {
		t.Run(c.name, func(t *testing.T) {
			newConfigured := func() *env {
				e := newEnv(t)
				e.srv.Config.Issuer = issuer
				if err := e.clients.Set("jwt-client", &models.Client{ID: "jwt-client", RedirectURIs: []string{confRedirect}, TokenEndpointAuthMethod: "private_key_jwt"}); err != nil {
					t.Fatal(err)
				}
				if err := e.clients.Set(pubID, &models.Client{ID: pubID, Public: true, RedirectURIs: []string{pubRedirect}}); err != nil {
					t.Fatal(err)
				}
				c.setup(e)
				return e
			}
			e := newConfigured()
			md := e.metadata(t)
			advertised := jsonStrings(md["grant_types_supported"])

			for _, g := range grants {
				method := server.AuthMethodBasic
				if !slices.Contains(jsonStrings(md["token_endpoint_auth_methods_supported"]), method) {
					method = server.AuthMethodPost
				}
				body := url.Values{"grant_type": {g}, "code": {"x"}, "refresh_token": {"x"}, "device_code": {"x"},
					"username": {"u"}, "password": {"p"}, "redirect_uri": {confRedirect}}
				w, data := e.token(authAs(method, body).build())
				unsupported := data["error"] == "unsupported_grant_type"
				if slices.Contains(advertised, g) == unsupported {
					t.Errorf("grant %s: advertised %t, answer %d %v", g, slices.Contains(advertised, g), w.Code, data)
				}
			}

			rts := jsonStrings(md["response_types_supported"])
			for _, rt := range []string{"code", "token"} {
				q := url.Values{"response_type": {rt}, "client_id": {confID}, "redirect_uri": {confRedirect}, "state": {"s"},
					"code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"}}
				w, _ := e.authorize(q.Encode())
				loc := w.Header().Get("Location")
				accepted := w.Code == http.StatusFound && (strings.Contains(loc, "code=") || strings.Contains(loc, "access_token="))
				if slices.Contains(rts, rt) != accepted {
					t.Errorf("response type %s: advertised %t, answer %d %s", rt, slices.Contains(rts, rt), w.Code, loc)
				}
				if rt == "token" && slices.Contains(jsonStrings(md["grant_types_supported"]), "implicit") != accepted {
					t.Errorf("implicit grant: advertised %t, accepted %t", !accepted, accepted)
				}
			}

			if slices.Contains(rts, "code") {
				pkce := jsonStrings(md["code_challenge_methods_supported"])
				for _, m := range []string{"S256", "plain"} {
					challenge := rfcChallenge
					if m == "plain" {
						challenge = rfcVerifier
					}
					q := url.Values{"response_type": {"code"}, "client_id": {confID}, "redirect_uri": {confRedirect},
						"code_challenge": {challenge}, "code_challenge_method": {m}}
					w, _ := e.authorize(q.Encode())
					accepted := w.Code == http.StatusFound && strings.Contains(w.Header().Get("Location"), "code=")
					if slices.Contains(pkce, m) != accepted {
						t.Errorf("PKCE %s: advertised %t, answer %d %s", m, slices.Contains(pkce, m), w.Code, w.Header().Get("Location"))
					}
				}
			}

			for _, method := range methods {
				// Token endpoint: an authenticated client gets past
				// invalid_client to the grant's own error.
				tokenMethods := jsonStrings(md["token_endpoint_auth_methods_supported"])
				body := url.Values{"grant_type": {advertised[0]}, "code": {"bogus"}, "redirect_uri": {confRedirect}}
				w, data := e.token(authAs(method, body).build())
				if slices.Contains(tokenMethods, method) == (data["error"] == "invalid_client") {
					t.Errorf("token endpoint, %s: advertised %t, answer %d %v", method, slices.Contains(tokenMethods, method), w.Code, data)
				}
				for _, ep := range []struct {
					name string
					fn   endpointFunc
				}{{"revocation", revocation}, {"introspection", introspection}} {
					listed := jsonStrings(md[ep.name+"_endpoint_auth_methods_supported"])
					fresh := newConfigured()
					w := fresh.call(ep.fn, authAs(method, url.Values{"token": {"t"}}).build())
					if slices.Contains(listed, method) != (w.Code == http.StatusOK) {
						t.Errorf("%s endpoint, %s: advertised %t, answer %d %s", ep.name, method, slices.Contains(listed, method), w.Code, w.Body)
					}
				}
			}
		})
	}
}
