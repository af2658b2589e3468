package oauth2d

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzRegistrationRequest reads any body as a registration request (RFC
// 7591 3.1) and checks it against a server's policy and the rules of a
// store-kept client, as POST /register does before fetching or storing
// anything. Whatever the body, the outcome is an RFC 7591 3.2.2 error
// with a description, or a client whose every redirect URI is https, http
// on a loopback host or a private-use scheme, without a fragment, whose
// method is one the server supports (never client_secret_jwt), with jwks
// or jwks_uri but not both, and whose scopes are the server's.
func FuzzRegistrationRequest(f *testing.F) {
	for _, s := range []string{
		`{"redirect_uris":["https://a.example/cb"]}`,
		`{"redirect_uris":["com.example.app:/cb"],"token_endpoint_auth_method":"none","scope":"read"}`,
		`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://k.example/jwks"}`,
		`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}`,
		`{"redirect_uris":["http://127.0.0.1/cb#f"],"response_types":["code id_token"]}`,
		`{"redirect_uris":"x"}`, `[]`, `null`, ``, `{"scope":"read admin"}`,
	} {
		f.Add([]byte(s))
	}
	cfg := testConfig(testRedirect)
	policy := &registrationPolicy{
		authMethods:   []string{"client_secret_basic", "client_secret_post", "none", "private_key_jwt", "client_secret_jwt"},
		grantTypes:    []string{"authorization_code", "refresh_token", "client_credentials"},
		responseTypes: []string{"code"},
		scopes:        []string{"read", "write"},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseRegistration(body)
		if err == nil {
			err = policy.normalize(req)
		}
		var doc *clientDoc
		if err == nil {
			doc = &clientDoc{clientMetadata: clientMetadata{ClientID: "fuzz", RedirectURIs: req.RedirectURIs, GrantTypes: req.GrantTypes,
				ResponseTypes: req.ResponseTypes, Scope: req.Scope, TokenEndpointAuthMethod: req.TokenEndpointAuthMethod,
				JWKS: req.JWKS, JWKSURI: req.JWKSURI, ClientName: req.ClientName, LogoURI: req.LogoURI, Contacts: req.Contacts,
				PostLogoutRedirectURIs: req.PostLogoutRedirectURIs}, Source: sourceRegistration}
			if slices.Contains(confidentialMethods, doc.TokenEndpointAuthMethod) {
				doc.ClientSecretHash, _ = dummySecretHash()
			}
			err = cfg.validateManagedClient(doc)
		}
		if err != nil {
			re := asRegistrationError(err)
			if (re.code != errInvalidClientMetadata && re.code != errInvalidRedirectURI) || re.description == "" {
				t.Fatalf("error %q %q", re.code, re.description)
			}
			return
		}
		m := doc.TokenEndpointAuthMethod
		if !slices.Contains(policy.authMethods, m) || m == "client_secret_jwt" {
			t.Fatalf("method %q accepted", m)
		}
		if len(doc.JWKS) > 0 && doc.JWKSURI != "" {
			t.Fatal("jwks and jwks_uri accepted together")
		}
		if m == "private_key_jwt" && len(doc.JWKS) == 0 && doc.JWKSURI == "" {
			t.Fatal("private_key_jwt without keys")
		}
		for _, s := range strings.Fields(doc.Scope) {
			if !slices.Contains(policy.scopes, s) {
				t.Fatalf("scope %q accepted", s)
			}
		}
		for _, ru := range doc.RedirectURIs {
			u, err := url.Parse(ru)
			if err != nil || strings.Contains(ru, "#") {
				t.Fatalf("redirect URI %q accepted", ru)
			}
			switch {
			case u.Scheme == "https" && u.Host != "":
			case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || strings.HasPrefix(u.Hostname(), "127.") || u.Hostname() == "::1" || strings.HasPrefix(u.Host, "[::ffff:127.")):
			case strings.Contains(u.Scheme, ".") && u.Scheme != "http" && u.Scheme != "https":
			default:
				t.Fatalf("redirect URI %q accepted", ru)
			}
		}
		if slices.Contains(doc.GrantTypes, "authorization_code") != slices.Contains(doc.ResponseTypes, "code") {
			t.Fatalf("grant_types %v and response_types %v disagree", doc.GrantTypes, doc.ResponseTypes)
		}
	})
}
