package oauth2d

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfig_ReadsRegistrationAndJWKSURI(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
registration: {enabled: true, initial_access_token: ` + testInitialAccessToken + `}
jwks_uri_fetch: {allow_private: true}
clients:
  - id: service
    token_endpoint_auth_method: private_key_jwt
    grant_types: [client_credentials]
    jwks_uri: http://127.0.0.1:8080/jwks.json
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	switch {
	case !cfg.Registration.Enabled, cfg.Registration.InitialAccessToken != testInitialAccessToken:
		t.Fatalf("registration: %+v", cfg.Registration.Enabled)
	case !cfg.JWKSFetch.AllowPrivate:
		t.Fatal("jwks_uri_fetch.allow_private not read")
	case cfg.Clients[0].JWKSURI != "http://127.0.0.1:8080/jwks.json":
		t.Fatalf("clients[0].jwks_uri = %q", cfg.Clients[0].JWKSURI)
	}
	if got := cfg.Clients[0].model().JWKSURI; got != cfg.Clients[0].JWKSURI {
		t.Fatalf("the server's client has jwks_uri %q", got)
	}
}

func TestConfig_BadRegistrationAndJWKSURINameTheFieldAndNeverTheToken(t *testing.T) {
	const tok = "ShortTok3n"
	file := filepath.Join(t.TempDir(), "iat")
	if err := os.WriteFile(file, []byte(testInitialAccessToken), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := func(extra string) string {
		return "clients:\n  - id: s\n    token_endpoint_auth_method: private_key_jwt\n    grant_types: [client_credentials]\n" + extra
	}
	const key = `{keys: [{kty: EC, crv: P-256, x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, y: x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0}]}`
	tests := []struct{ name, yaml, want string }{
		{"enabled not a bool", "registration: {enabled: yes please}\n", `registration.enabled: "yes please" is not true or false`},
		{"short token", "registration: {enabled: true, initial_access_token: " + tok + "}\n", `registration.initial_access_token: shorter than 16 characters`},
		{"token with a space", "registration: {enabled: true, initial_access_token: \"" + tok + " " + tok + "\"}\n", `registration.initial_access_token: must be printable ASCII`},
		{"token and file", "registration: {enabled: true, initial_access_token: " + testInitialAccessToken + ", initial_access_token_file: " + file + "}\n", `registration: set initial_access_token or initial_access_token_file, not both`},
		{"unknown registration field", "registration: {enable: true}\n", `registration.enable: unknown field`},
		{"jwks and jwks_uri", svc("    jwks: " + key + "\n    jwks_uri: https://k.example/jwks\n"), `clients[0].jwks_uri: set jwks or jwks_uri, not both`},
		{"jwks_uri over http", svc("    jwks_uri: http://k.example/jwks\n"), `clients[0].jwks_uri: jwks_uri must be an https URL`},
		{"jwks_uri at loopback", svc("    jwks_uri: https://127.0.0.1/jwks\n"), `clients[0].jwks_uri: address not allowed`},
		{"jwks_uri at the metadata address", svc("    jwks_uri: https://169.254.169.254/jwks\n"), `clients[0].jwks_uri: address not allowed`},
		{"jwks_uri with a fragment", svc("    jwks_uri: https://k.example/jwks#a\n"), `clients[0].jwks_uri: jwks_uri must be an https URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), testInitialAccessToken) {
				t.Fatalf("error %q repeats the token", err)
			}
		})
	}
}

func TestRegistration_StartUpErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, want string
	}{
		{"missing file", filepath.Join(dir, "none"), "registration.initial_access_token_file: cannot read"},
		{"short token in the file", short, "registration.initial_access_token_file: the first line must be a token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := registrationConfig(t)
			cfg.Registration.InitialAccessTokenFile = tc.file
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
		})
	}
}
