package oauth2d

import (
	"encoding/json"
	stderrors "errors"
	"reflect"
	"slices"
	"testing"

	"github.com/oauth2d/oauth2/internal/secret"
)

// configFields returns the fields named by the *ConfigErrors of err.
func configFields(err error) []string {
	var out []string
	for _, e := range unjoin(err) {
		var ce *ConfigError
		if stderrors.As(e, &ce) {
			out = append(out, ce.Field)
		}
	}
	return out
}

func TestManagedClient_ConvertsLikeAYAMLClient(t *testing.T) {
	hash, err := secret.Hash("s3cr3t-s3cr3t-s3cr3t")
	if err != nil {
		t.Fatal(err)
	}
	yamlClient := ClientConfig{
		ID: "app", SecretHash: hash, RedirectURIs: []string{"https://app.example/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "read"},
		TokenEndpointAuthMethod: "client_secret_basic", PostLogoutRedirectURIs: []string{"https://app.example/"},
		SubjectType: "pairwise", IntrospectAny: true,
		ClientProtocolConfig: ClientProtocolConfig{DPoPBoundAccessTokens: true, Resources: []string{"https://api.example/"}},
	}
	body := `{"client_id":"app","client_secret_hash":` + strconvQuote(hash) + `,"redirect_uris":["https://app.example/cb"],
		"grant_types":["authorization_code","refresh_token"],"scope":"openid read","token_endpoint_auth_method":"client_secret_basic",
		"post_logout_redirect_uris":["https://app.example/"],"subject_type":"pairwise","introspect_any":true,
		"dpop_bound_access_tokens":true,"resources":["https://api.example/"],"source":"admin"}`
	d, err := decodeClientDoc([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	cc := d.config()
	if got, want := cc.model(), yamlClient.model(); !reflect.DeepEqual(got, want) {
		t.Errorf("store client converts to\n%+v\nwant the YAML client's\n%+v", got, want)
	}
	cfg := Default()
	if err := cfg.validateManagedClient(d); err != nil {
		t.Errorf("validateManagedClient: %v", err)
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestManagedClient_RefusedForTheReasonsOfAYAMLClient(t *testing.T) {
	hash, err := secret.Hash("s3cr3t-s3cr3t-s3cr3t")
	if err != nil {
		t.Fatal(err)
	}
	base := func() clientDoc {
		return clientDoc{ClientSecretHash: hash, Source: sourceAdmin, clientMetadata: clientMetadata{
			ClientID: "app", RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"},
			TokenEndpointAuthMethod: "client_secret_basic",
		}}
	}
	tests := []struct {
		name   string
		change func(d *clientDoc)
		field  string
	}{
		{"redirect URI with a fragment", func(d *clientDoc) { d.RedirectURIs = []string{"https://app.example/cb#x"} }, "redirect_uris[0]"},
		{"http redirect URI on a public host", func(d *clientDoc) { d.RedirectURIs = []string{"http://app.example/cb"} }, "redirect_uris[0]"},
		{"unknown grant", func(d *clientDoc) { d.GrantTypes = []string{"magic"} }, "grant_types[0]"},
		{"password grant disabled", func(d *clientDoc) { d.GrantTypes = []string{"password"} }, "grant_types[0]"},
		{"device grant not served", func(d *clientDoc) { d.GrantTypes = []string{"device_code"} }, "grant_types[0]"},
		{"unknown auth method", func(d *clientDoc) { d.TokenEndpointAuthMethod = "magic" }, "token_endpoint_auth_method"},
		{"public client with a secret", func(d *clientDoc) { d.TokenEndpointAuthMethod = "none" }, "client_secret"},
		{"confidential client without a secret", func(d *clientDoc) { d.ClientSecretHash = "" }, "client_secret"},
		{"client_secret_jwt needs the secret in the clear", func(d *clientDoc) { d.TokenEndpointAuthMethod = "client_secret_jwt" }, "client_secret"},
		{"bad scope token", func(d *clientDoc) { d.Scope = `read "x"` }, "scope"},
		{"client ID with a colon", func(d *clientDoc) { d.ClientID = "a:b" }, "client_id"},
		{"missing client ID", func(d *clientDoc) { d.ClientID = "" }, "client_id"},
		{"jwks and jwks_uri", func(d *clientDoc) {
			d.JWKS = json.RawMessage(`{"keys":[]}`)
			d.JWKSURI = "https://app.example/jwks"
		}, "jwks_uri"},
		{"jwks_uri over http", func(d *clientDoc) { d.JWKSURI = "http://app.example/jwks" }, "jwks_uri"},
		{"unknown response type", func(d *clientDoc) { d.ResponseTypes = []string{"code magic"} }, "response_types[0]"},
		{"post-logout URI over http", func(d *clientDoc) { d.PostLogoutRedirectURIs = []string{"http://app.example/"} }, "post_logout_redirect_uris[0]"},
		{"bad subject type", func(d *clientDoc) { d.SubjectType = "secret" }, "subject_type"},
		{"unknown signing algorithm", func(d *clientDoc) { d.IDTokenSignedResponseAlg = "HS256" }, "id_token_signed_response_alg"},
		{"mTLS without TLS", func(d *clientDoc) { d.TLSClientCertBoundAccessTokens = true }, "tls_client_certificate_bound_access_tokens"},
	}
	cfg := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base()
			tt.change(&d)
			err := cfg.validateManagedClient(&d)
			if fields := configFields(err); !slices.Contains(fields, tt.field) {
				t.Errorf("validateManagedClient = %v (fields %q), want a problem with %s", err, fields, tt.field)
			}
		})
	}
	t.Run("loopback http redirect URIs are accepted", func(t *testing.T) {
		for _, u := range []string{"http://localhost:8080/cb", "http://127.0.0.1/cb", "http://[::1]:9/cb", "com.example.app:/cb"} {
			d := base()
			d.RedirectURIs = []string{u}
			if err := cfg.validateManagedClient(&d); err != nil {
				t.Errorf("%s: %v", u, err)
			}
		}
	})
}

func TestManagedUser_Validation(t *testing.T) {
	hash, err := secret.Hash("password-password")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		doc   userDoc
		field string
	}{
		{"valid", userDoc{Username: "alice", PasswordHash: hash, Claims: map[string]any{"email": "a@example.com", "email_verified": true}}, ""},
		{"no username", userDoc{PasswordHash: hash}, "username"},
		{"username with a space", userDoc{Username: "a b", PasswordHash: hash}, "username"},
		{"no hash", userDoc{Username: "alice"}, "password"},
		{"bad claim", userDoc{Username: "alice", PasswordHash: hash, Claims: map[string]any{"email_verified": "yes"}}, "claims.email_verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateUserDoc(&tt.doc)
			fields := configFields(err)
			if tt.field == "" && err != nil || tt.field != "" && !slices.Contains(fields, tt.field) {
				t.Errorf("validateUserDoc = %v, want a problem with %q", err, tt.field)
			}
		})
	}
}
