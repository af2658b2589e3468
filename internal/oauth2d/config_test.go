package oauth2d

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/internal/secret"
)

// validYAML is a configuration with every field of docs/config.md.
const validYAML = `
issuer: https://auth.example.com
listen: 0.0.0.0:8443
store: memory
code_ttl: 5m
access_token: {ttl: 1h, format: jwt}
refresh_token: {ttl: 240h, rotate: false}
time_ordered_tokens: false
pkce: {required: true}
grants: {implicit: true, password: true}
clients:
  - id: "000000"
    secret: "hunter2-client"
    redirect_uris: [https://app.example.com/cb]
    grant_types: [authorization_code, refresh_token, client_credentials, password, implicit]
    scopes: [read, write]
    public: false
    token_endpoint_auth_method: client_secret_basic
  - id: spa
    public: true
    redirect_uris: [http://127.0.0.1/cb]
    grant_types: [authorization_code, refresh_token]
  - id: service
    token_endpoint_auth_method: private_key_jwt
    grant_types: [client_credentials]
    jwks: {keys: [{kty: EC, crv: P-256, x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, y: x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0}]}
    introspect_any: true
  - id: tv
    public: true
    grant_types: [device_code, "urn:ietf:params:oauth:grant-type:device_code", refresh_token]
users:
  - username: test
    password: test
secret_file: /etc/oauth2d/secret
trusted_proxies: [10.0.0.0/8, "2001:db8::1"]
metrics_listen: 127.0.0.1:9097
`

func TestParseConfig_ReadsEveryField(t *testing.T) {
	cfg, err := ParseConfig([]byte(validYAML))
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
		{"issuer", cfg.Issuer, "https://auth.example.com"},
		{"listen", cfg.Listen, "0.0.0.0:8443"},
		{"store", cfg.Store, "memory"},
		{"code_ttl", cfg.CodeTTL, 5 * time.Minute},
		{"access_token.ttl", cfg.AccessToken.TTL, time.Hour},
		{"access_token.format", cfg.AccessToken.Format, "jwt"},
		{"refresh_token.ttl", cfg.RefreshToken.TTL, 240 * time.Hour},
		{"refresh_token.rotate", cfg.RefreshToken.Rotate, false},
		{"time_ordered_tokens", cfg.TimeOrderedTokens, false},
		{"pkce.required", cfg.PKCE.Required, true},
		{"grants.implicit", cfg.Grants.Implicit, true},
		{"grants.password", cfg.Grants.Password, true},
		{"clients", len(cfg.Clients), 4},
		{"clients[0].id keeps its zeros", cfg.Clients[0].ID, "000000"},
		{"clients[0].secret", cfg.Clients[0].Secret, "hunter2-client"},
		{"clients[1].public", cfg.Clients[1].Public, true},
		{"clients[2].jwks is JSON", strings.HasPrefix(string(cfg.Clients[2].JWKS), `{"keys":[{`), true},
		{"clients[2].introspect_any", cfg.Clients[2].IntrospectAny, true},
		{"clients[3].grant_types", strings.Join(cfg.Clients[3].GrantTypes, " "), "device_code urn:ietf:params:oauth:grant-type:device_code refresh_token"},
		{"users", len(cfg.Users), 1},
		{"secret_file", cfg.SecretFile, "/etc/oauth2d/secret"},
		{"trusted_proxies", strings.Join(cfg.TrustedProxies, " "), "10.0.0.0/8 2001:db8::1"},
		{"metrics_listen", cfg.MetricsListen, "127.0.0.1:9097"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseConfig_OmittedFieldsTakeDefaultsAndNoDemo(t *testing.T) {
	cfg, err := ParseConfig([]byte("listen: 127.0.0.1:9999\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != DefaultIssuer || cfg.Store != DefaultStore || cfg.CodeTTL != DefaultCodeTTL ||
		cfg.AccessToken.TTL != DefaultAccessTTL || cfg.AccessToken.Format != FormatOpaque ||
		cfg.RefreshToken.TTL != DefaultRefreshTTL || !cfg.RefreshToken.Rotate || !cfg.TimeOrderedTokens {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	if len(cfg.Clients) != 0 || len(cfg.Users) != 0 {
		t.Fatal("a configuration file got the demo client or user")
	}
	if cfg.IsDemo() {
		t.Fatal("IsDemo for a file without the demo credentials")
	}
	empty, err := ParseConfig(nil)
	if err != nil || empty.Listen != DefaultListen {
		t.Fatalf("empty file: %v %+v", err, empty)
	}
}

func TestDefault_IsTheDocumentedDevelopmentSetup(t *testing.T) {
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c := cfg.Clients[0]
	if cfg.Issuer != "http://localhost:9096" || cfg.Listen != "127.0.0.1:9096" || cfg.Store != "sqlite:./oauth2d.db" ||
		c.ID != "000000" || c.Secret != "999999" || c.RedirectURIs[0] != "http://localhost:9094/oauth2" ||
		strings.Join(c.GrantTypes, ",") != "authorization_code,refresh_token,client_credentials" ||
		strings.Join(c.Scopes, ",") != "read,write,openid,profile,email" || c.TokenEndpointAuthMethod != "client_secret_basic" ||
		strings.Join(c.PostLogoutRedirectURIs, ",") != "http://localhost:9094/" ||
		cfg.Users[0].Username != "test" || cfg.Users[0].Password != "test" || !cfg.IsDemo() ||
		cfg.Users[0].Claims["name"] != "Test User" || cfg.Users[0].Claims["email"] != "test@example.com" ||
		cfg.Session.TTL != 8*time.Hour || cfg.Session.IdleTimeout != time.Hour || cfg.Signing.Alg != "RS256" {
		t.Fatalf("Default() = %+v", cfg)
	}
}

// TestConfig_BadConfigNamesTheFieldAndNeverTheSecret checks that every
// kind of mistake stops with a message naming the field, and that no
// message repeats a secret, a hash or a password.
func TestConfig_BadConfigNamesTheFieldAndNeverTheSecret(t *testing.T) {
	const (
		sec  = "TopSecretValue123"
		pw   = "UserPassw0rdValue"
		hash = "$argon2id$v=19$m=65536,t=3,p=1$bm90YXJlYWxzYWx0$TopSecretHashPart"
	)
	client := func(extra string) string {
		return "clients:\n  - id: a\n    secret: " + sec + "\n    redirect_uris: [https://a.example/cb]\n" + extra
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top-level field", "isuer: http://x\n", `isuer: unknown field`},
		{"unknown nested field", "access_token: {ttl: 1h, fromat: jwt}\n", `access_token.fromat: unknown field`},
		{"unknown client field", client("    secrets: x\n"), `clients[0].secrets: unknown field`},
		{"issuer not absolute", "issuer: localhost:9096\n", `issuer: not an absolute http or https URL`},
		{"issuer with query", "issuer: https://a.example/?x=1\n", `issuer: must not have a query`},
		{"issuer with fragment", "issuer: https://a.example/#f\n", `issuer: must not have a fragment`},
		{"bad duration", "code_ttl: ten minutes\n", `code_ttl: "ten minutes" is not a duration`},
		{"negative ttl", "access_token: {ttl: -1h}\n", `access_token.ttl: must be positive`},
		{"code ttl too long", "code_ttl: 1h\n", `code_ttl: must be at most 10m`},
		{"bad format", "access_token: {format: paseto}\n", `access_token.format: "paseto" is not opaque or jwt`},
		{"bad bool", "pkce: {required: maybe}\n", `pkce.required: "maybe" is not true or false`},
		{"time_ordered_tokens not a bool", "time_ordered_tokens: sometimes\n", `time_ordered_tokens: "sometimes" is not true or false`},
		{"bad listen", "listen: 9096\n", `listen: "9096" is not host:port`},
		{"bad store", "store: mongodb://x\n", `store: unknown store kind`},
		{"store password not echoed", "store: postgres://u:" + sec + "@/db\n", `store: postgres: the URL has no host`},
		{"structure error names the field", "clients: {id: a}\n", `clients: cannot unmarshal`},
		{"redirect not absolute", "clients:\n  - id: a\n    secret: " + sec + "\n  - id: b\n    secret: " + sec + "\n    redirect_uris: [/cb]\n", `clients[1].redirect_uris[0]: not an absolute URI`},
		{"redirect with fragment", strings.Replace(client(""), "https://a.example/cb", "https://a.example/cb#x", 1), `clients[0].redirect_uris[0]: must not have a fragment`},
		{"unknown grant", client("    grant_types: [authorization_code, magic]\n"), `clients[0].grant_types[1]: "magic" is not a known grant type`},
		{"implicit not enabled", client("    grant_types: [implicit]\n"), `clients[0].grant_types[0]: the implicit grant is disabled`},
		{"password not enabled", client("    grant_types: [password]\n"), `clients[0].grant_types[0]: the password grant is disabled`},
		{"public with secret", client("    public: true\n"), `clients[0].secret: a public client has no secret`},
		{"public introspecting", "clients:\n  - id: a\n    public: true\n    grant_types: [device_code]\n    introspect_any: true\n", `clients[0].introspect_any: a public client cannot introspect tokens`},
		{"introspect_any not a bool", client("    introspect_any: always\n"), `clients[0].introspect_any: "always" is not true or false`},
		{"confidential without secret", "clients:\n  - id: a\n    redirect_uris: [https://a.example/cb]\n", `clients[0].secret: required`},
		{"public with client_credentials", "clients:\n  - id: a\n    public: true\n    redirect_uris: [https://a.example/cb]\n    grant_types: [client_credentials]\n", `clients[0].grant_types[0]: a public client cannot use client_credentials`},
		{"bad secret hash", "clients:\n  - id: a\n    secret_hash: \"" + hash + "\"\n    redirect_uris: [https://a.example/cb]\n", `clients[0].secret_hash: not an argon2id or bcrypt hash`},
		{"secret and hash", client("    secret_hash: \"" + hash + "\"\n"), `clients[0]: set secret or secret_hash, not both`},
		{"unknown auth method", client("    token_endpoint_auth_method: magic\n"), `clients[0].token_endpoint_auth_method: "magic" is not one of`},
		{"private_key_jwt without jwks", "clients:\n  - id: a\n    token_endpoint_auth_method: private_key_jwt\n    grant_types: [client_credentials]\n", `clients[0].jwks: jwks or jwks_uri required for private_key_jwt`},
		{"jwks with a private key", client("    jwks: {keys: [{kty: EC, crv: P-256, x: MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4, y: 4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM, d: 870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE}]}\n"), `clients[0].jwks: keys[0]: holds private key material`},
		{"jwks that does not parse", client("    jwks: {keys: [{kty: oct, k: " + sec + "}]}\n"), `clients[0].jwks: not a JSON Web Key Set`},
		{"value ending in a colon", "store: memory:\n", `quote values that end with a colon`},
		{"duplicate client", client("  - id: a\n    secret: " + sec + "\n    redirect_uris: [https://a.example/cb]\n"), `clients[1].id: duplicate of clients[0].id`},
		{"missing client id", "clients:\n  - secret: " + sec + "\n    grant_types: [client_credentials]\n", `clients[0].id: required`},
		{"bad scope", client("    scopes: [\"re ad\"]\n"), `clients[0].scopes[0]: not a scope token`},
		{"user without password", "users:\n  - username: bob\n", `users[0].password: required`},
		{"user bad hash", "users:\n  - username: bob\n    password_hash: \"" + hash + "\"\n", `users[0].password_hash: not an argon2id or bcrypt hash`},
		{"user with both", "users:\n  - username: bob\n    password: " + pw + "\n    password_hash: \"" + hash + "\"\n", `users[0]: set password or password_hash, not both`},
		{"username equal to a client ID", client("") + "users:\n  - username: a\n    password: " + pw + "\n", `users[0].username: equals clients[0].id`},
		{"metrics_listen not host:port", "metrics_listen: metrics\n", `metrics_listen: "metrics" is not host:port`},
		{"metrics_listen the public address", "listen: 127.0.0.1:9096\nmetrics_listen: 127.0.0.1:9096\n", `metrics_listen: must differ from listen`},
		{"shared store without a secret", "store: redis://cache.example:6379/0\n", `secret_file: required with a store that several processes share`},
		{"trusted proxy not an address", "trusted_proxies: [10.0.0.0/8, proxy.example]\n", `trusted_proxies[1]: "proxy.example" is not an IP address or CIDR prefix`},
		{"duplicate user", "users:\n  - username: bob\n    password: " + pw + "\n  - username: bob\n    password: " + pw + "\n", `users[1].username: duplicate of users[0].username`},
		{"secret of wrong type is not echoed", "clients:\n  - id: a\n    secret: [" + sec + "]\n", `clients[0].secret: cannot unmarshal`},
		{"not YAML", "clients: [\n  " + sec, `not valid YAML`},
		{"garbage after the document", "listen: 127.0.0.1:1\n! !", `not valid YAML`},
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
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("error %q does not contain %q", msg, tt.want)
			}
			for _, s := range []string{sec, pw, "TopSecretHashPart", "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"} {
				if strings.Contains(msg, s) {
					t.Fatalf("error %q repeats a secret", msg)
				}
			}
		})
	}
}

func TestConfig_EnvironmentOverridesTheFile(t *testing.T) {
	cfg, err := ParseConfig([]byte("listen: 127.0.0.1:1\nissuer: http://a.example\nstore: memory\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"OAUTH2D_LISTEN": "0.0.0.0:7000",
		"OAUTH2D_ISSUER": "https://b.example",
		"OAUTH2D_STORE":  "sqlite:/var/lib/oauth2d.db",
	}
	cfg.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if cfg.Listen != "0.0.0.0:7000" || cfg.Issuer != "https://b.example" || cfg.Store != "sqlite:/var/lib/oauth2d.db" {
		t.Fatalf("env not applied: %s %s %s", cfg.Listen, cfg.Issuer, cfg.Store)
	}
	// An empty variable does not clear the setting.
	cfg.ApplyEnv(func(k string) (string, bool) { return "", true })
	if cfg.Listen != "0.0.0.0:7000" {
		t.Fatal("an empty variable cleared listen")
	}
}

func TestMain_CheckConfigExitsZeroOrOne(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(validYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("clients:\n  - id: a\n    secret: Sup3rSecret\n    redirect_uris: [cb]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	var out, errOut bytes.Buffer
	if code := Main(Env{Args: []string{"-check-config", good}, Stdout: &out, Stderr: &errOut, LookupEnv: noEnv}); code != 0 {
		t.Fatalf("good config: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "valid") {
		t.Fatalf("good config: output %q", out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := Main(Env{Args: []string{"-check-config", bad}, Stdout: &out, Stderr: &errOut, LookupEnv: noEnv}); code != 1 {
		t.Fatalf("bad config: exit %d", code)
	}
	if msg := errOut.String(); !strings.Contains(msg, "clients[0].redirect_uris[0]: not an absolute URI") || strings.Contains(msg, "Sup3rSecret") {
		t.Fatalf("bad config: stderr %q", msg)
	}
	// The environment is applied before checking.
	errOut.Reset()
	badEnv := func(k string) (string, bool) { return "ftp://x", k == EnvIssuer }
	if code := Main(Env{Args: []string{"-check-config", good}, Stdout: &out, Stderr: &errOut, LookupEnv: badEnv}); code != 1 ||
		!strings.Contains(errOut.String(), "issuer:") {
		t.Fatalf("bad OAUTH2D_ISSUER: exit %d, stderr %q", code, errOut.String())
	}
}

func TestMain_BadConfigStopsStartup(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:0\nstore: memory\nunknown_field: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Main(Env{Args: []string{"-config", file}, Stdout: &out, Stderr: &errOut, LookupEnv: func(string) (string, bool) { return "", false }})
	if code != 1 || !strings.Contains(errOut.String(), "unknown_field: unknown field") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestMain_HashPasswordPrintsAnArgon2idHash(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		code  int
	}{
		{"line with newline", "pa55 word\n", 0},
		{"no newline", "pa55 word", 0},
		{"CRLF", "pa55 word\r\n", 0},
		{"empty", "\n", 1},
		{"too long", strings.Repeat("x", maxPasswordBytes+10), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(Env{Args: []string{"hash-password"}, Stdin: strings.NewReader(tt.stdin), Stdout: &out, Stderr: &errOut})
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errOut.String())
			}
			if code != 0 {
				return
			}
			h := strings.TrimSpace(out.String())
			if !strings.HasPrefix(h, "$argon2id$") || secret.Check(h) != nil || !secret.Verify(h, "pa55 word") {
				t.Fatalf("output %q is not an argon2id hash of the password", h)
			}
			if strings.Contains(errOut.String()+out.String(), "pa55") {
				t.Fatal("the password was echoed")
			}
		})
	}
}

func TestMain_VersionPrintsAndExits(t *testing.T) {
	var out bytes.Buffer
	if code := Main(Env{Args: []string{"-version"}, Stdout: &out, Stderr: &out}); code != 0 || !strings.HasPrefix(out.String(), "oauth2d ") {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
}

func TestRedactStore_HidesPasswords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:pw-123@db:5432/oauth?sslmode=disable", "postgres://app:xxxxx@db:5432/oauth?sslmode=disable"},
		{"redis://:pw-123@127.0.0.1:6379/0", "redis://:xxxxx@127.0.0.1:6379/0"},
		{"postgres://db/oauth?password=pw-123", "postgres://db/oauth?password=xxxxx"},
		{"sqlite:./oauth2d.db", "sqlite:./oauth2d.db"},
		{"memory:", "memory:"},
		{"mysql:app:pw-123@tcp(db:3306)/oauth", "mysql:app:xxxxx@tcp(db:3306)/oauth"},
		{"postgres://app:pw-123@db:bad port/x", "postgres:(unparsable, hidden)"},
	}
	for _, tt := range tests {
		if got := RedactStore(tt.in); got != tt.want || strings.Contains(got, "pw-123") {
			t.Errorf("RedactStore(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseStoreURL_KnowsEveryStore(t *testing.T) {
	tests := []struct {
		in, kind, dsn string
	}{
		{"memory:", StoreMemory, ""},
		{"memory", StoreMemory, ""},
		{"sqlite:./oauth2d.db", StoreSQLite, "./oauth2d.db"},
		{"sqlite:/var/lib/oauth2d.db", StoreSQLite, "/var/lib/oauth2d.db"},
		{"postgres://u:p@db:5432/x?sslmode=disable", StorePostgres, "postgres://u:p@db:5432/x?sslmode=disable"},
		{"postgresql://db/x", StorePostgres, "postgresql://db/x"},
		{"mysql://root@127.0.0.1:3306/test", StoreMySQL, "mysql://root@127.0.0.1:3306/test"},
		{"mysql:root:pw@tcp(127.0.0.1:3306)/test", StoreMySQL, "root:pw@tcp(127.0.0.1:3306)/test"},
		{"redis://:p@127.0.0.1:6379/0", StoreRedis, "redis://:p@127.0.0.1:6379/0"},
		{"rediss://cache.example:6380", StoreRedis, "rediss://cache.example:6380"},
	}
	for _, tt := range tests {
		su, err := ParseStoreURL(tt.in)
		if err != nil || su.Kind != tt.kind || su.DSN != tt.dsn {
			t.Errorf("ParseStoreURL(%q) = %+v, %v", tt.in, su, err)
		}
	}
	for _, bad := range []string{"", "memory:x", "sqlite:", "postgres:///x", "mongodb://x", "./oauth2d.db", "mysql:nothing"} {
		if _, err := ParseStoreURL(bad); err == nil {
			t.Errorf("ParseStoreURL(%q) accepted", bad)
		}
	}
}

func TestMySQLDSN_ConvertsTheURLToTheDriverFormat(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mysql://root@127.0.0.1:3306/test", "root@tcp(127.0.0.1:3306)/test"},
		{"mysql://app:p%40ss@db/oauth?parseTime=true", "app:p@ss@tcp(db:3306)/oauth?parseTime=true"},
		{"mysql://db.example", "tcp(db.example:3306)/"},
	}
	for _, tt := range tests {
		if got, err := mysqlDSN(tt.in); err != nil || got != tt.want {
			t.Errorf("mysqlDSN(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
