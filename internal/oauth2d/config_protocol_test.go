package oauth2d

import (
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/internal/certtest"
)

// tlsFilesFor writes a server certificate of a new CA for 127.0.0.1 and
// localhost, and that CA as a client CA file, into dir; it returns the
// CA and the three paths.
func tlsFilesFor(t *testing.T, dir string) (ca *certtest.Cert, certFile, keyFile, caFile string) {
	t.Helper()
	ca = certtest.NewCA(t, "oauth2d test CA")
	certFile, keyFile, caFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "ca.pem")
	ca.Server(t, "oauth2d").WriteFiles(t, certFile, keyFile)
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return ca, certFile, keyFile, caFile
}

func TestParseConfig_ReadsEveryProtocolField(t *testing.T) {
	_, certFile, keyFile, caFile := tlsFilesFor(t, t.TempDir())
	yaml := `
issuer: https://auth.example.com
store: memory
dpop: {enabled: true, algorithms: [ES256, EdDSA], max_age: 2m, leeway: 10s, require_nonce: true, nonce_lifetime: 3m}
par: {required: true, lifetime: 90s}
resources: [https://api.example.com/]
token_exchange: {enabled: true}
tls: {cert_file: ` + certFile + `, key_file: ` + keyFile + `, mtls: true, client_ca_files: [` + caFile + `]}
clients:
  - id: web
    secret: s3cret-web-client
    redirect_uris: [https://app.example.com/cb]
    grant_types: [authorization_code, refresh_token, token_exchange]
    dpop_bound_access_tokens: true
    require_pushed_authorization_requests: true
    resources: [https://a.example.com/api]
    token_exchange_audiences: [urn:example:backend]
  - id: pki
    token_endpoint_auth_method: tls_client_auth
    tls_client_auth_subject_dn: "CN=pki,O=Example\\, Inc."
    tls_client_certificate_bound_access_tokens: true
    grant_types: [client_credentials]
  - id: dns
    token_endpoint_auth_method: tls_client_auth
    tls_client_auth_san_dns: client.example.com
    grant_types: [client_credentials]
  - id: self
    token_endpoint_auth_method: self_signed_tls_client_auth
    jwks: {keys: [{kty: EC, crv: P-256, x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, y: x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0}]}
    grant_types: [client_credentials]
`
	cfg, err := ParseConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"dpop.enabled", cfg.DPoP.Enabled, true},
		{"dpop.algorithms", strings.Join(cfg.DPoP.Algorithms, " "), "ES256 EdDSA"},
		{"dpop.max_age", cfg.DPoP.MaxAge, 2 * time.Minute},
		{"dpop.leeway", cfg.DPoP.Leeway, 10 * time.Second},
		{"dpop.require_nonce", cfg.DPoP.RequireNonce, true},
		{"dpop.nonce_lifetime", cfg.DPoP.NonceLifetime, 3 * time.Minute},
		{"par.required", cfg.PAR.Required, true},
		{"par.lifetime", cfg.PAR.Lifetime, 90 * time.Second},
		{"resources", strings.Join(cfg.Resources, " "), "https://api.example.com/"},
		{"token_exchange.enabled", cfg.TokenExchange.Enabled, true},
		{"tls.cert_file", cfg.TLS.CertFile, certFile},
		{"tls.key_file", cfg.TLS.KeyFile, keyFile},
		{"tls.mtls", cfg.TLS.MTLS, true},
		{"tls.client_ca_files", strings.Join(cfg.TLS.ClientCAFiles, " "), caFile},
		{"clients[0].dpop_bound_access_tokens", cfg.Clients[0].DPoPBoundAccessTokens, true},
		{"clients[0].require_pushed_authorization_requests", cfg.Clients[0].RequirePushedAuthorizationRequests, true},
		{"clients[0].resources", strings.Join(cfg.Clients[0].Resources, " "), "https://a.example.com/api"},
		{"clients[0].token_exchange_audiences", strings.Join(cfg.Clients[0].TokenExchangeAudiences, " "), "urn:example:backend"},
		{"clients[1].tls_client_auth_subject_dn", cfg.Clients[1].TLSClientAuth.SubjectDN, `CN=pki,O=Example\, Inc.`},
		{"clients[1].tls_client_certificate_bound_access_tokens", cfg.Clients[1].TLSClientCertificateBoundAccessTokens, true},
		{"clients[2].tls_client_auth_san_dns", cfg.Clients[2].TLSClientAuth.SANDNS, "client.example.com"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Left out, DPoP is on and nothing else is.
	def, err := ParseConfig([]byte("store: memory\n"))
	if err != nil || !def.DPoP.Enabled || def.PAR.Required || def.TokenExchange.Enabled || def.TLS.Enabled() || def.TLS.MTLS {
		t.Fatalf("defaults: %+v %v", def.ProtocolConfig, err)
	}
	if d := Default(); !d.DPoP.Enabled {
		t.Fatal("the demo configuration has DPoP off")
	}
}

func TestConfig_BadProtocolConfigNamesTheField(t *testing.T) {
	dir := t.TempDir()
	_, certFile, keyFile, caFile := tlsFilesFor(t, dir)
	otherKey := filepath.Join(dir, "other.key")
	certtest.NewCA(t, "other").Server(t, "x").WriteFiles(t, filepath.Join(dir, "other.crt"), otherKey)
	expiredCert, expiredKey := filepath.Join(dir, "expired.crt"), filepath.Join(dir, "expired.key")
	certtest.NewCA(t, "old").Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "old"}, NotBefore: time.Now().Add(-48 * time.Hour),
		NotAfter: time.Now().Add(-time.Hour)}).WriteFiles(t, expiredCert, expiredKey)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsOn := "issuer: https://auth.example.com\ntls: {cert_file: " + certFile + ", key_file: " + keyFile + ", mtls: true, client_ca_files: [" + caFile + "]}\n"
	tlsNoCA := "issuer: https://auth.example.com\ntls: {cert_file: " + certFile + ", key_file: " + keyFile + ", mtls: true}\n"
	const sec = "TopSecretValue123"
	client := func(extra string) string {
		return "clients:\n  - id: a\n    secret: " + sec + "\n    redirect_uris: [https://a.example/cb]\n" + extra
	}
	tlsClient := func(extra string) string {
		return "clients:\n  - id: a\n    grant_types: [client_credentials]\n" + extra
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"DPoP algorithm not asymmetric", "dpop: {algorithms: [ES256, HS256]}\n", `dpop.algorithms[1]: "HS256" is not one of`},
		{"DPoP max_age not a duration", "dpop: {max_age: soon}\n", `dpop.max_age: "soon" is not a duration`},
		{"DPoP max_age too long", "dpop: {max_age: 1h}\n", `dpop.max_age: must be at most 10m`},
		{"DPoP leeway negative", "dpop: {leeway: -1s}\n", `dpop.leeway: must be positive`},
		{"DPoP off with settings", "dpop: {enabled: false, require_nonce: true}\n", `dpop.enabled: false, but other dpop settings are set`},
		{"DPoP enabled not a bool", "dpop: {enabled: yes please}\n", `dpop.enabled: "yes please" is not true or false`},
		{"PAR lifetime too long", "par: {lifetime: 1h}\n", `par.lifetime: must be at most 10m`},
		{"PAR required not a bool", "par: {required: sometimes}\n", `par.required: "sometimes" is not true or false`},
		{"resource with a fragment", "resources: [https://api.example.com/#x]\n", `resources[0]: not an absolute URI without a fragment`},
		{"resource relative", "resources: [/api]\n", `resources[0]: not an absolute URI`},
		{"unknown protocol field", "par: {requried: true}\n", `par.requried: unknown field`},
		{"client resource relative", client("    resources: [api]\n"), `clients[0].resources[0]: not an absolute URI without a fragment`},
		{"DPoP-bound client, DPoP off", "dpop: {enabled: false}\n" + client("    dpop_bound_access_tokens: true\n"), `clients[0].dpop_bound_access_tokens: DPoP is disabled`},
		{"bound client with the implicit grant", "grants: {implicit: true}\n" + client("    dpop_bound_access_tokens: true\n    grant_types: [authorization_code, implicit]\n"), `clients[0].grant_types: a client with sender-constrained tokens`},
		{"bound client with every grant, implicit on", "grants: {implicit: true}\n" + client("    dpop_bound_access_tokens: true\n"), `clients[0].grant_types: a client with sender-constrained tokens`},
		{"token exchange grant, exchange off", client("    grant_types: [authorization_code, token_exchange]\n"), `clients[0].grant_types[1]: the token exchange grant is disabled`},
		{"exchange audiences, exchange off", client("    token_exchange_audiences: [urn:x]\n"), `clients[0].token_exchange_audiences: the token exchange grant is disabled`},
		{"exchange audiences without the grant", "token_exchange: {enabled: true}\n" + client("    grant_types: [authorization_code]\n    token_exchange_audiences: [urn:x]\n"), `clients[0].token_exchange_audiences: the client does not list the token_exchange grant`},
		{"empty exchange audience", "token_exchange: {enabled: true}\n" + client("    token_exchange_audiences: [\"\"]\n"), `clients[0].token_exchange_audiences[0]: must be 1 to`},
		{"key without cert", "issuer: https://a.example\ntls: {key_file: " + keyFile + "}\n", `tls.cert_file: required with tls.key_file`},
		{"cert without key", "issuer: https://a.example\ntls: {cert_file: " + certFile + "}\n", `tls.key_file: required with tls.cert_file`},
		{"TLS with an http issuer", "issuer: http://a.example\ntls: {cert_file: " + certFile + ", key_file: " + keyFile + "}\n", `issuer: must be an https URL when tls.cert_file is set`},
		{"TLS cert file missing", "issuer: https://a.example\ntls: {cert_file: " + filepath.Join(dir, "none.crt") + ", key_file: " + keyFile + "}\n", `tls.cert_file: cannot read`},
		{"TLS key of another certificate", "issuer: https://a.example\ntls: {cert_file: " + certFile + ", key_file: " + otherKey + "}\n", `tls.key_file: does not hold the private key of tls.cert_file`},
		{"TLS certificate expired", "issuer: https://a.example\ntls: {cert_file: " + expiredCert + ", key_file: " + expiredKey + "}\n", `tls.cert_file: the certificate expired at`},
		{"mTLS without TLS", "tls: {mtls: true}\n", `tls.mtls: needs tls.cert_file and tls.key_file`},
		{"client CAs without mTLS", "issuer: https://a.example\ntls: {cert_file: " + certFile + ", key_file: " + keyFile + ", client_ca_files: [" + caFile + "]}\n", `tls.client_ca_files: only with tls.mtls: true`},
		{"client CA file not PEM", "issuer: https://a.example\ntls: {cert_file: " + certFile + ", key_file: " + keyFile + ", mtls: true, client_ca_files: [" + garbage + "]}\n", `tls.client_ca_files[0]: holds no PEM certificate`},
		{"tls_client_auth without mTLS", tlsClient("    token_endpoint_auth_method: tls_client_auth\n    tls_client_auth_san_dns: a.example\n"), `clients[0].token_endpoint_auth_method: needs mutual TLS`},
		{"bound tokens without mTLS", client("    tls_client_certificate_bound_access_tokens: true\n"), `clients[0].tls_client_certificate_bound_access_tokens: needs mutual TLS`},
		{"tls_client_auth without an identity", tlsOn + tlsClient("    token_endpoint_auth_method: tls_client_auth\n"), `clients[0]: one of tls_client_auth_subject_dn, tls_client_auth_san_dns`},
		{"tls_client_auth with two identities", tlsOn + tlsClient("    token_endpoint_auth_method: tls_client_auth\n    tls_client_auth_san_dns: a.example\n    tls_client_auth_san_ip: 192.0.2.1\n"), `clients[0]: exactly one of`},
		{"tls_client_auth with a bad DN", tlsOn + tlsClient("    token_endpoint_auth_method: tls_client_auth\n    tls_client_auth_subject_dn: nonsense\n"), `clients[0].tls_client_auth_subject_dn: not a distinguished name`},
		{"tls_client_auth with a bad IP", tlsOn + tlsClient("    token_endpoint_auth_method: tls_client_auth\n    tls_client_auth_san_ip: 1.2.3\n"), `clients[0].tls_client_auth_san_ip: not an IPv4 or IPv6 address`},
		{"tls_client_auth without client CAs", tlsNoCA + tlsClient("    token_endpoint_auth_method: tls_client_auth\n    tls_client_auth_san_dns: a.example\n"), `clients[0].token_endpoint_auth_method: tls_client_auth needs tls.client_ca_files`},
		{"identity with another method", client("    tls_client_auth_san_dns: a.example\n"), `clients[0]: tls_client_auth_* values are only for token_endpoint_auth_method: tls_client_auth`},
		{"self-signed without jwks", tlsOn + tlsClient("    token_endpoint_auth_method: self_signed_tls_client_auth\n"), `clients[0].jwks: required for self_signed_tls_client_auth`},
		{"public client with tls_client_auth", tlsOn + "clients:\n  - id: a\n    public: true\n    redirect_uris: [https://a.example/cb]\n    token_endpoint_auth_method: tls_client_auth\n    tls_client_auth_san_dns: a.example\n", `clients[0].token_endpoint_auth_method: a public client authenticates with none`},
		{"bound tokens not a bool", client("    tls_client_certificate_bound_access_tokens: certainly\n"), `clients[0].tls_client_certificate_bound_access_tokens: "certainly" is not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil {
				t.Fatalf("no error for\n%s", tt.yaml)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, sec) || strings.Contains(msg, "PRIVATE KEY") {
				t.Fatalf("error %q does not contain %q (or repeats a secret)", msg, tt.want)
			}
		})
	}
}

func TestConfig_ProtocolClientsReachTheServer(t *testing.T) {
	cfg := testConfig("https://app.example/cb")
	cfg.TokenExchange.Enabled = true
	cfg.Resources = []string{"https://api.example.com/"}
	cfg.Clients[0].GrantTypes = append(cfg.Clients[0].GrantTypes, "token_exchange")
	cfg.Clients[0].DPoPBoundAccessTokens = true
	cfg.Clients[0].RequirePushedAuthorizationRequests = true
	cfg.Clients[0].Resources = []string{"https://a.example/"}
	cfg.Clients[0].TokenExchangeAudiences = []string{"urn:x"}
	srv := startApp(t, cfg)
	cl, err := srv.App.clients.GetByID(t.Context(), testClientID)
	if err != nil {
		t.Fatal(err)
	}
	m := cl.(interface {
		GetDPoPBoundAccessTokens() bool
		GetRequirePushedAuthorizationRequests() bool
		GetResources() []string
		GetTokenExchangeAudiences() []string
	})
	if !m.GetDPoPBoundAccessTokens() || !m.GetRequirePushedAuthorizationRequests() ||
		!slices.Equal(m.GetResources(), []string{"https://a.example/"}) || !slices.Equal(m.GetTokenExchangeAudiences(), []string{"urn:x"}) {
		t.Fatal("the client's protocol registration did not reach the client store")
	}
	md := metadata(t, srv)
	if !slices.Contains(strs(md["grant_types_supported"]), "urn:ietf:params:oauth:grant-type:token-exchange") {
		t.Fatalf("grant_types_supported = %v", md["grant_types_supported"])
	}
}
