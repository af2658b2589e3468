package oauth2d

import (
	"bytes"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"go.yaml.in/yaml/v3"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/atrest"
	"github.com/oauth2d/oauth2/internal/clientip"
	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/server"
)

// Defaults of the configuration (docs/config.md).
const (
	DefaultIssuer     = "http://localhost:9096"
	DefaultListen     = "127.0.0.1:9096"
	DefaultStore      = "sqlite:./oauth2d.db"
	DefaultCodeTTL    = 10 * time.Minute
	DefaultAccessTTL  = 2 * time.Hour
	DefaultRefreshTTL = 720 * time.Hour
	// DefaultSessionTTL and DefaultSessionIdle are the absolute lifetime
	// and the idle timeout of a sign-in session.
	DefaultSessionTTL  = 8 * time.Hour
	DefaultSessionIdle = time.Hour
	// DefaultSigningAlg is the algorithm of the signing key: RS256, which
	// every relying party and resource server supports (OpenID Connect
	// Core 1.0 15.1, RFC 9068 2.1).
	DefaultSigningAlg = "RS256"
)

// Environment variables that override the configuration file.
const (
	EnvListen = "OAUTH2D_LISTEN"
	EnvIssuer = "OAUTH2D_ISSUER"
	EnvStore  = "OAUTH2D_STORE"
	// EnvSecret is the secret that encrypts the private keys kept in the
	// store; it takes precedence over secret_file.
	EnvSecret = "OAUTH2D_SECRET"
	// EnvSecretOld holds former secrets, separated by white space, that
	// still decrypt while the secret is changed (docs/config.md).
	EnvSecretOld = "OAUTH2D_SECRET_OLD"
)

// Access token formats.
const (
	FormatOpaque = "opaque"
	// FormatJWT issues JWT access tokens in the profile of RFC 9068, signed
	// with the current signing key.
	FormatJWT = "jwt"
)

// Config is the configuration of the standalone server: the fields of the
// YAML file (docs/config.md), and a few that only a Go program can
// set. Start from Default or LoadConfig.
type Config struct {
	// Issuer is the public base URL of the server (RFC 8414 2): an absolute
	// http or https URL without query or fragment. Every endpoint hangs
	// under it, and it is the "iss" of authorization responses (RFC 9207).
	Issuer string
	// Listen is the TCP address to serve on, host:port.
	Listen string
	// Store is where codes, tokens and shared state live: "memory:",
	// "sqlite:PATH", "postgres://…", "mysql://…" or "redis://…".
	Store string
	// CodeTTL is the lifetime of authorization codes (RFC 6749 4.1.2).
	CodeTTL time.Duration
	// AccessToken configures access tokens.
	AccessToken AccessTokenConfig
	// RefreshToken configures refresh tokens.
	RefreshToken RefreshTokenConfig
	// TimeOrderedTokens makes the opaque codes and tokens lead with their
	// issue time when Store is a SQL store, which keeps its indexes in
	// order (generates.TimeOrderedAccessGenerate, docs/architecture.md
	// section 4). Turn it off while processes of a release before it
	// share the store (a rolling upgrade): they find only the tokens
	// without the time.
	TimeOrderedTokens bool
	// PKCE configures Proof Key for Code Exchange (RFC 7636).
	PKCE PKCEConfig
	// Grants turns on the grants that are off by default.
	Grants GrantsConfig
	// Clients are the registered clients (RFC 6749 2).
	Clients []ClientConfig
	// Users are the resource owners who may sign in.
	Users []UserConfig
	// SecretFile is a file whose first line is the secret that encrypts
	// the private keys kept in the store (AES-256-GCM), and whose further
	// lines are former secrets still accepted while the secret is changed.
	// OAUTH2D_SECRET, when set, is used instead.
	SecretFile string
	// Secret and OldSecrets are the at-rest secret and the former ones, as
	// OAUTH2D_SECRET and OAUTH2D_SECRET_OLD give them; they take
	// precedence over SecretFile. Not read from the file.
	Secret     string   `yaml:"-"`
	OldSecrets []string `yaml:"-"`
	// MetricsListen, when set, is the host:port where /metrics is served,
	// instead of on Listen, so that the metrics need not be public.
	MetricsListen string
	// TrustedProxies are the reverse proxies, as CIDR prefixes or single
	// addresses, whose X-Forwarded-For or Forwarded header is believed for
	// the client's address (the right-most hop that is not one of them).
	// Empty: the client's address is the TCP peer.
	TrustedProxies []string
	// DPoP, PAR, resource indicators, token exchange and TLS
	// (config_protocol.go).
	ProtocolConfig
	// The admin API's listener and credentials (config_admin.go).
	AdminConfig

	// OpenID Connect (oidc.go): the sign-in sessions of the pages and the
	// algorithm of the server's signing key.
	Session SessionConfig
	Signing SigningConfig

	// Registration serves dynamic client registration (RFC 7591, 7592);
	// JWKSFetch configures the fetching of clients' jwks_uri
	// (config_registration.go).
	Registration RegistrationConfig
	JWKSFetch    JWKSFetchConfig
	// KeyReloadInterval is how often the App reads the signing keys from
	// the store, to see the keys other processes (or `oauth2d keys
	// rotate`) added; DefaultKeyReloadInterval when zero. Not read from
	// the file.
	KeyReloadInterval time.Duration `yaml:"-"`

	// Logger receives the server's logs. When nil, they are written as
	// text to the process's standard error, buffered and written out every
	// 100ms and at App.Close, as the oauth2d command writes them. Not read
	// from the file.
	Logger *slog.Logger `yaml:"-"`
	// TokenStore, when set, is used instead of opening Store: for tests and
	// programs that embed the server. It is not closed by App.Close. Not
	// read from the file.
	TokenStore oauth2.TokenStore `yaml:"-"`
	// LoginThrottle and ClientThrottle override the limits on failed logins
	// per username and failed client authentications per client_id; zero
	// fields take the defaults. Not read from the file.
	LoginThrottle  ThrottleConfig `yaml:"-"`
	ClientThrottle ThrottleConfig `yaml:"-"`
	// Now is the clock of the throttles, the pages, the signing keys'
	// rotation and the OpenID Connect decisions (max_age); time.Now when
	// nil. Not read from the file.
	Now func() time.Time `yaml:"-"`
	// Device overrides the settings of the device authorization grant
	// (RFC 8628): code lifetime, polling interval and the limit on wrong
	// user codes; zero fields take the server package's defaults. Its
	// VerificationURI is ignored: the verification page is always the
	// issuer's /device. Not read from the file.
	Device server.DeviceConfig `yaml:"-"`
}

// SessionConfig configures the sign-in sessions of the pages, kept in the
// store (docs/config.md, session).
type SessionConfig struct {
	// TTL is the absolute lifetime of a sign-in.
	TTL time.Duration
	// IdleTimeout ends a session no page has seen for this long.
	IdleTimeout time.Duration
}

// SigningConfig configures the server's signing key.
type SigningConfig struct {
	// Alg is the JWS algorithm of the key that signs ID tokens and JWT
	// access tokens: RS256 (the default), ES256, EdDSA or PS256. With
	// another algorithm than RS256 an RS256 key is kept beside it, for the
	// clients that ask for RS256 ID tokens (OpenID Connect Core 1.0 15.1).
	Alg string
}

// Signing algorithms of signing.alg.
var signingAlgs = []string{"RS256", "ES256", "EdDSA", "PS256"}

// AccessTokenConfig configures access tokens.
type AccessTokenConfig struct {
	// TTL is the access token lifetime.
	TTL time.Duration
	// Format is FormatOpaque or FormatJWT.
	Format string
}

// RefreshTokenConfig configures refresh tokens (RFC 6749 6).
type RefreshTokenConfig struct {
	// TTL is the refresh token lifetime.
	TTL time.Duration
	// Rotate issues a new refresh token at every refresh and retires the
	// presented one, whose replay then revokes the grant (RFC 9700 4.14.2).
	Rotate bool
}

// PKCEConfig configures PKCE (RFC 7636).
type PKCEConfig struct {
	// Required makes every client use PKCE; public clients always must
	// (RFC 9700 2.1.1).
	Required bool
}

// GrantsConfig turns on the grants that RFC 9700 advises against, and
// the device grant for clients kept in the store.
type GrantsConfig struct {
	// Implicit enables response_type=token (RFC 6749 4.2).
	Implicit bool
	// Password enables the resource owner password credentials grant
	// (RFC 6749 4.3).
	Password bool
	// Device serves the device authorization grant (RFC 8628) even when
	// no client of the file lists it, so that clients kept in the store
	// (the admin API, registration) may use it.
	Device bool
}

// ClientConfig is one registered client (RFC 6749 2, RFC 7591 2).
type ClientConfig struct {
	ID string
	// Secret is the client secret in the clear; SecretHash an argon2id or
	// bcrypt hash of it. A confidential client has one of them, a public
	// client neither.
	Secret     string
	SecretHash string
	// RedirectURIs are matched exactly (RFC 9700 2.1).
	RedirectURIs []string
	// GrantTypes are grant_type names of RFC 6749, "implicit", and the
	// device authorization grant of RFC 8628 as its URN
	// urn:ietf:params:oauth:grant-type:device_code or as "device_code".
	// The server accepts the device grant only when a client lists it.
	GrantTypes []string
	// Scopes the client may request; empty means any.
	Scopes []string
	// Public marks a client that cannot keep a secret (RFC 6749 2.1).
	Public bool
	// TokenEndpointAuthMethod is the registered client authentication
	// method (RFC 7591 2).
	TokenEndpointAuthMethod string
	// JWKS is the client's public JSON Web Key Set (RFC 7517 5), for
	// private_key_jwt (RFC 7523 2.2).
	JWKS json.RawMessage
	// JWKSURI is where the client publishes its key set (RFC 7591 2),
	// instead of JWKS, fetched as JWKSFetch says.
	JWKSURI string
	// IntrospectAny lets this confidential client, a resource server,
	// introspect the tokens of every client (RFC 7662 2.1). Without it a
	// client sees only its own tokens as active.
	IntrospectAny bool
	// DPoP, PAR, resources, token exchange and mutual TLS
	// (config_protocol.go).
	ClientProtocolConfig

	// OpenID Connect registration (Dynamic Client Registration 1.0 2,
	// RP-Initiated Logout 1.0 3.1): where /logout may send the browser
	// back to, matched exactly; the subject type, public or pairwise; the
	// JWS algorithm of the client's ID tokens, RS256 or signing.alg.
	PostLogoutRedirectURIs   []string
	SubjectType              string
	IDTokenSignedResponseAlg string
}

// UserConfig is one resource owner.
type UserConfig struct {
	Username string
	// Password is the password in the clear; PasswordHash an argon2id or
	// bcrypt hash of it (see `oauth2d hash-password`). Exactly one is set.
	Password     string
	PasswordHash string
	// Claims are the user's standard claims (OpenID Connect Core 1.0 5.1),
	// as the YAML file gives them: strings, booleans, and an object for
	// address. Validate checks them with oidc.ClaimsFromMap.
	Claims map[string]any
}

// DemoClientID, DemoClientSecret, DemoUsername and DemoPassword are the
// development credentials of the built-in configuration.
const (
	DemoClientID     = "000000"
	DemoClientSecret = "999999"
	DemoRedirectURI  = "http://localhost:9094/oauth2"
	// DemoPostLogoutRedirectURI is where /logout may send the demo
	// client's users back to (RP-Initiated Logout 1.0 3).
	DemoPostLogoutRedirectURI = "http://localhost:9094/"
	DemoUsername              = "test"
	DemoPassword              = "test"
)

// Default returns the built-in configuration of `oauth2d` without -config:
// the defaults of docs/config.md with the demo client and user.
func Default() Config {
	cfg := baseConfig()
	cfg.Clients = []ClientConfig{{
		ID:                      DemoClientID,
		Secret:                  DemoClientSecret,
		RedirectURIs:            []string{DemoRedirectURI},
		GrantTypes:              []string{"authorization_code", "refresh_token", "client_credentials"},
		Scopes:                  []string{"read", "write", "openid", "profile", "email"},
		TokenEndpointAuthMethod: "client_secret_basic",
		PostLogoutRedirectURIs:  []string{DemoPostLogoutRedirectURI},
	}}
	cfg.Users = []UserConfig{{Username: DemoUsername, Password: DemoPassword, Claims: map[string]any{
		"name": "Test User", "given_name": "Test", "family_name": "User",
		"email": "test@example.com", "email_verified": true,
	}}}
	return cfg
}

// baseConfig is the defaults without any client or user: what a
// configuration file starts from.
func baseConfig() Config {
	return Config{
		Issuer:       DefaultIssuer,
		Listen:       DefaultListen,
		Store:        DefaultStore,
		CodeTTL:      DefaultCodeTTL,
		AccessToken:  AccessTokenConfig{TTL: DefaultAccessTTL, Format: FormatOpaque},
		RefreshToken: RefreshTokenConfig{TTL: DefaultRefreshTTL, Rotate: true},

		TimeOrderedTokens: true,

		ProtocolConfig: defaultProtocol(),
		Session:        SessionConfig{TTL: DefaultSessionTTL, IdleTimeout: DefaultSessionIdle},
		Signing:        SigningConfig{Alg: DefaultSigningAlg},
	}
}

// IsDemo reports whether the configuration registers the demo client or
// the demo user with their well-known credentials.
func (c *Config) IsDemo() bool {
	for _, cl := range c.Clients {
		if cl.ID == DemoClientID && cl.Secret == DemoClientSecret {
			return true
		}
	}
	for _, u := range c.Users {
		if u.Username == DemoUsername && u.Password == DemoPassword {
			return true
		}
	}
	return false
}

// The YAML file is decoded into these string-typed structs first, so that
// every conversion error can name its field; yaml's own errors only know
// the line.
type fileConfig struct {
	Issuer         string       `yaml:"issuer"`
	Listen         string       `yaml:"listen"`
	Store          string       `yaml:"store"`
	CodeTTL        string       `yaml:"code_ttl"`
	AccessToken    fileAccess   `yaml:"access_token"`
	RefreshToken   fileRefresh  `yaml:"refresh_token"`
	PKCE           filePKCE     `yaml:"pkce"`
	Grants         fileGrants   `yaml:"grants"`
	Clients        []fileClient `yaml:"clients"`
	Users          []fileUser   `yaml:"users"`
	TrustedProxies []string     `yaml:"trusted_proxies"`
	SecretFile     string       `yaml:"secret_file"`
	MetricsListen  string       `yaml:"metrics_listen"`
	TimeOrdered    string       `yaml:"time_ordered_tokens"`
	fileProtocol   `yaml:",inline"`
	fileAdmin      `yaml:",inline"`
	// OpenID Connect.
	Session fileSession `yaml:"session"`
	Signing fileSigning `yaml:"signing"`
	// Dynamic client registration and jwks_uri (config_registration.go).
	Registration fileRegistration `yaml:"registration"`
	JWKSFetch    fileJWKSFetch    `yaml:"jwks_uri_fetch"`
}

type fileSession struct {
	TTL         string `yaml:"ttl"`
	IdleTimeout string `yaml:"idle_timeout"`
}

type fileSigning struct {
	Alg string `yaml:"alg"`
}

type fileAccess struct {
	TTL    string `yaml:"ttl"`
	Format string `yaml:"format"`
}

type fileRefresh struct {
	TTL    string `yaml:"ttl"`
	Rotate string `yaml:"rotate"`
}

type filePKCE struct {
	Required string `yaml:"required"`
}

type fileGrants struct {
	Implicit string `yaml:"implicit"`
	Password string `yaml:"password"`
	Device   string `yaml:"device"`
}

type fileClient struct {
	ID                      string    `yaml:"id"`
	Secret                  string    `yaml:"secret"`
	SecretHash              string    `yaml:"secret_hash"`
	RedirectURIs            []string  `yaml:"redirect_uris"`
	GrantTypes              []string  `yaml:"grant_types"`
	Scopes                  []string  `yaml:"scopes"`
	Public                  string    `yaml:"public"`
	TokenEndpointAuthMethod string    `yaml:"token_endpoint_auth_method"`
	JWKS                    yaml.Node `yaml:"jwks"`
	JWKSURI                 string    `yaml:"jwks_uri"`
	IntrospectAny           string    `yaml:"introspect_any"`
	fileClientProtocol      `yaml:",inline"`
	// OpenID Connect.
	PostLogoutRedirectURIs   []string `yaml:"post_logout_redirect_uris"`
	SubjectType              string   `yaml:"subject_type"`
	IDTokenSignedResponseAlg string   `yaml:"id_token_signed_response_alg"`
	// SectorIdentifierURI is read only to be refused with a reason.
	SectorIdentifierURI string `yaml:"sector_identifier_uri"`
}

type fileUser struct {
	Username     string    `yaml:"username"`
	Password     string    `yaml:"password"`
	PasswordHash string    `yaml:"password_hash"`
	Claims       yaml.Node `yaml:"claims"`
}

// ConfigError is a configuration problem, named by the path of its field
// in the YAML file ("clients[1].redirect_uris[0]"). Its text never holds
// a secret.
type ConfigError struct {
	Field   string
	Problem string
}

func (e *ConfigError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// problems collects configuration errors.
type problems []error

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return stderrors.Join(p...)
}

// LoadConfig reads the YAML configuration file at path, applies the
// environment overrides and validates the result. The demo client and user
// are not added: a file lists every client and user.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, err
	}
	cfg.ApplyEnv(os.LookupEnv)
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

var (
	yamlUnknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)
	yamlLine         = regexp.MustCompile(`^line (\d+): (.*)$`)
	// yamlQuoted spans from the first backtick of a decoder message to its
	// last: the decoder quotes a value in backticks without escaping the
	// ones inside it, and a value may be a secret.
	yamlQuoted = regexp.MustCompile("(?s)`.*`")
)

// ParseConfig decodes a YAML configuration over the defaults (without the
// demo client and user). Unknown fields are errors. It does not apply the
// environment and does not validate beyond the types of the fields.
func ParseConfig(data []byte) (Config, error) {
	base := baseConfig()
	fc := fileConfig{
		Issuer:       base.Issuer,
		Listen:       base.Listen,
		Store:        base.Store,
		CodeTTL:      base.CodeTTL.String(),
		AccessToken:  fileAccess{TTL: base.AccessToken.TTL.String(), Format: base.AccessToken.Format},
		RefreshToken: fileRefresh{TTL: base.RefreshToken.TTL.String(), Rotate: "true"},
		TimeOrdered:  "true",
		PKCE:         filePKCE{Required: "false"},
		Grants:       fileGrants{Implicit: "false", Password: "false", Device: "false"},
		fileProtocol: defaultFileProtocol(),
		Session:      fileSession{TTL: base.Session.TTL.String(), IdleTimeout: base.Session.IdleTimeout.String()},
		Signing:      fileSigning{Alg: base.Signing.Alg},
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !stderrors.Is(err, io.EOF) {
		return Config{}, yamlError(data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return Config{}, &ConfigError{Problem: "the file holds more than one YAML document"}
	case !stderrors.Is(err, io.EOF):
		// Whatever follows the first document must parse too: a file
		// that is cut or garbled after it is not a configuration.
		return Config{}, yamlError(data, err)
	}
	return fc.convert()
}

// yamlError rewrites the errors of the YAML decoder: field paths instead of
// line numbers where it can, and no quoted values, which could be secrets.
func yamlError(data []byte, err error) error {
	var te *yaml.TypeError
	if !stderrors.As(err, &te) {
		msg := "not valid YAML: " + yamlQuoted.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "a value")
		if strings.Contains(msg, "mapping values are not allowed") {
			msg += ` (quote values that end with a colon, for example store: "memory:", or write store: memory)`
		}
		return &ConfigError{Problem: msg}
	}
	var doc yaml.Node
	_ = yaml.Unmarshal(data, &doc)
	idx := indexPaths(&doc)
	var ps problems
	for _, msg := range te.Errors {
		msg = yamlQuoted.ReplaceAllString(msg, "a value")
		if m := yamlUnknownField.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			field := idx.byKey[lineKey{line, m[2]}]
			if field == "" {
				field = m[2]
			}
			ps.add(field, "unknown field (line %d)", line)
			continue
		}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			if field := idx.byLine[line]; field != "" {
				ps.add(field, "%s (line %d)", m[2], line)
				continue
			}
		}
		ps.add("", "%s", msg)
	}
	return ps.err()
}

type lineKey struct {
	line int
	key  string
}

type pathIndex struct {
	byKey  map[lineKey]string
	byLine map[int]string
}

// indexPaths maps the mapping keys of a YAML document to their field paths.
func indexPaths(doc *yaml.Node) pathIndex {
	idx := pathIndex{byKey: map[lineKey]string{}, byLine: map[int]string{}}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				idx.byKey[lineKey{k.Line, k.Value}] = p
				if _, ok := idx.byLine[k.Line]; !ok {
					idx.byLine[k.Line] = p
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if _, ok := idx.byLine[c.Line]; !ok {
					idx.byLine[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(doc, "")
	return idx
}

// convert turns the decoded strings into a Config, naming the field of
// every value that does not convert.
func (fc *fileConfig) convert() (Config, error) {
	var ps problems
	cfg := Config{
		Issuer:         fc.Issuer,
		Listen:         fc.Listen,
		Store:          fc.Store,
		TrustedProxies: fc.TrustedProxies,
		SecretFile:     fc.SecretFile,
		MetricsListen:  fc.MetricsListen,
	}
	cfg.CodeTTL = parseDuration(&ps, "code_ttl", fc.CodeTTL)
	cfg.AccessToken.TTL = parseDuration(&ps, "access_token.ttl", fc.AccessToken.TTL)
	cfg.AccessToken.Format = fc.AccessToken.Format
	cfg.RefreshToken.TTL = parseDuration(&ps, "refresh_token.ttl", fc.RefreshToken.TTL)
	cfg.RefreshToken.Rotate = parseBool(&ps, "refresh_token.rotate", fc.RefreshToken.Rotate)
	cfg.TimeOrderedTokens = parseBool(&ps, "time_ordered_tokens", fc.TimeOrdered)
	cfg.PKCE.Required = parseBool(&ps, "pkce.required", fc.PKCE.Required)
	cfg.Grants.Implicit = parseBool(&ps, "grants.implicit", fc.Grants.Implicit)
	cfg.Grants.Password = parseBool(&ps, "grants.password", fc.Grants.Password)
	cfg.Grants.Device = parseBool(&ps, "grants.device", fc.Grants.Device)
	cfg.ProtocolConfig = fc.fileProtocol.convert(&ps)
	cfg.AdminConfig = fc.fileAdmin.convert(&ps)
	cfg.Session.TTL = parseDuration(&ps, "session.ttl", fc.Session.TTL)
	cfg.Session.IdleTimeout = parseDuration(&ps, "session.idle_timeout", fc.Session.IdleTimeout)
	cfg.Signing.Alg = fc.Signing.Alg
	cfg.Registration = fc.Registration.convert(&ps)
	cfg.JWKSFetch = fc.JWKSFetch.convert(&ps)
	for i, c := range fc.Clients {
		field := fmt.Sprintf("clients[%d]", i)
		cc := ClientConfig{
			ID:                      c.ID,
			Secret:                  c.Secret,
			SecretHash:              c.SecretHash,
			RedirectURIs:            c.RedirectURIs,
			GrantTypes:              c.GrantTypes,
			Scopes:                  c.Scopes,
			TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
			JWKSURI:                 c.JWKSURI,
		}
		if c.Public != "" {
			cc.Public = parseBool(&ps, field+".public", c.Public)
		}
		if c.IntrospectAny != "" {
			cc.IntrospectAny = parseBool(&ps, field+".introspect_any", c.IntrospectAny)
		}
		if c.JWKS.Kind != 0 {
			cc.JWKS = nodeJSON(&ps, field+".jwks", &c.JWKS)
		}
		cc.ClientProtocolConfig = c.fileClientProtocol.convert(&ps, field)
		convertClientOpenID(&ps, field, &c, &cc)
		cfg.Clients = append(cfg.Clients, cc)
	}
	for i, u := range fc.Users {
		uc := UserConfig{Username: u.Username, Password: u.Password, PasswordHash: u.PasswordHash}
		if u.Claims.Kind != 0 {
			uc.Claims = nodeClaims(&ps, fmt.Sprintf("users[%d].claims", i), &u.Claims)
		}
		cfg.Users = append(cfg.Users, uc)
	}
	return cfg, ps.err()
}

func parseDuration(ps *problems, field, s string) time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		ps.add(field, "%q is not a duration (write for example 10m, 2h or 720h)", s)
		return 0
	}
	return d
}

func parseBool(ps *problems, field, s string) bool {
	switch strings.TrimSpace(s) {
	case "true":
		return true
	case "false", "":
		return false
	}
	ps.add(field, "%q is not true or false", s)
	return false
}

// nodeJSON turns the jwks field, a YAML mapping or a string of JSON, into
// JSON.
func nodeJSON(ps *problems, field string, n *yaml.Node) json.RawMessage {
	if n.Kind == yaml.ScalarNode {
		if !json.Valid([]byte(n.Value)) {
			ps.add(field, "not a JSON Web Key Set (RFC 7517 5): the string is not JSON")
			return nil
		}
		return json.RawMessage(n.Value)
	}
	var v any
	if err := n.Decode(&v); err != nil {
		ps.add(field, "not a JSON Web Key Set (RFC 7517 5)")
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		ps.add(field, "not a JSON Web Key Set (RFC 7517 5): it does not convert to JSON")
		return nil
	}
	return b
}

// ApplyEnv applies the environment overrides OAUTH2D_LISTEN,
// OAUTH2D_ISSUER and OAUTH2D_STORE, read with lookup (os.LookupEnv).
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) {
	if v, ok := lookup(EnvListen); ok && v != "" {
		c.Listen = v
	}
	if v, ok := lookup(EnvIssuer); ok && v != "" {
		c.Issuer = v
	}
	if v, ok := lookup(EnvStore); ok && v != "" {
		c.Store = v
	}
	if v, ok := lookup(EnvSecret); ok && v != "" {
		c.Secret = v
	}
	if v, ok := lookup(EnvSecretOld); ok && strings.TrimSpace(v) != "" {
		c.OldSecrets = strings.Fields(v)
	}
	if v, ok := lookup(EnvAdminToken); ok && v != "" {
		c.AdminToken = v
	}
}

// knownGrants maps the grant names of the configuration to grant types:
// every name (short name, grant type, aliases) of every grant the server
// knows, from its registry (server.Grants), so that a grant added there is
// known here.
var knownGrants = func() map[string]oauth2.GrantType {
	m := map[string]oauth2.GrantType{}
	for _, g := range server.Grants() {
		for _, name := range g.Names() {
			m[name] = g.Type
		}
	}
	return m
}()

// Client authentication methods of RFC 7591 2, RFC 7523 2.2 and RFC 8705 2.
var knownAuthMethods = []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none",
	"tls_client_auth", "self_signed_tls_client_auth"}

// Validate checks the configuration and returns every problem, each naming
// its field. It never puts a secret, a hash or a password in its errors.
func (c *Config) Validate() error {
	var ps problems
	c.validateServer(&ps)
	ids := map[string]int{}
	for i := range c.Clients {
		field := fmt.Sprintf("clients[%d]", i)
		cl := &c.Clients[i]
		if prev, dup := ids[cl.ID]; dup && cl.ID != "" {
			ps.add(field+".id", "duplicate of clients[%d].id", prev)
		}
		ids[cl.ID] = i
		c.validateClient(&ps, field, cl)
	}
	names := map[string]int{}
	for i, u := range c.Users {
		field := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Username == "":
			ps.add(field+".username", "required")
		case strings.ContainsFunc(u.Username, isControl):
			ps.add(field+".username", "contains control characters")
		}
		if prev, dup := names[u.Username]; dup && u.Username != "" {
			ps.add(field+".username", "duplicate of users[%d].username", prev)
		}
		names[u.Username] = i
		switch {
		case u.Password != "" && u.PasswordHash != "":
			ps.add(field, "set password or password_hash, not both")
		case u.Password == "" && u.PasswordHash == "":
			ps.add(field+".password", "required (or password_hash)")
		case u.PasswordHash != "" && secret.Check(u.PasswordHash) != nil:
			ps.add(field+".password_hash", "not an argon2id or bcrypt hash (make one with `oauth2d hash-password`)")
		}
		validateClaims(&ps, field+".claims", u.Claims)
		if j, clash := ids[u.Username]; clash && u.Username != "" {
			// RFC 9068 2.2: the sub of a token without a resource owner
			// (client_credentials) is the client ID, so that a user and
			// a client of one name would be one subject to resource
			// servers.
			ps.add(field+".username", "equals clients[%d].id: a client's tokens have its client ID as their subject (RFC 9068 2.2), so a username must differ from every client ID", j)
		}
	}
	return ps.err()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func (c *Config) validateServer(ps *problems) {
	if _, err := issuerURL(c.Issuer); err != nil {
		ps.add("issuer", "%v", err)
	}
	if host, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		ps.add("listen", "%q is not host:port", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add("listen", "port %q is not a number from 0 to 65535", port)
	} else {
		_ = host
	}
	if _, err := ParseStoreURL(c.Store); err != nil {
		ps.add("store", "%v", err)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"code_ttl", c.CodeTTL}, {"access_token.ttl", c.AccessToken.TTL}, {"refresh_token.ttl", c.RefreshToken.TTL}} {
		if d.v <= 0 {
			ps.add(d.field, "must be positive")
		}
	}
	if c.CodeTTL > 10*time.Minute {
		ps.add("code_ttl", "must be at most 10m (RFC 6749 4.1.2)")
	}
	if f := c.AccessToken.Format; f != FormatOpaque && f != FormatJWT {
		ps.add("access_token.format", "%q is not opaque or jwt", f)
	}
	if c.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil || port == "" {
			ps.add("metrics_listen", "%q is not host:port", c.MetricsListen)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			ps.add("metrics_listen", "port %q is not a number from 0 to 65535", port)
		} else if c.MetricsListen == c.Listen && n != 0 {
			ps.add("metrics_listen", "must differ from listen")
		}
	}
	c.validateSecret(ps)
	c.validateProtocol(ps)
	c.validateAdmin(ps) // config_admin.go
	c.validateOpenIDServer(ps)
	c.validateRegistration(ps) // config_registration.go
	for i, p := range c.TrustedProxies {
		if _, err := clientip.ParsePrefixes([]string{p}); err != nil {
			ps.add(fmt.Sprintf("trusted_proxies[%d]", i), "%s", strings.TrimPrefix(err.Error(), "[0]: "))
		}
	}
}

// validateSecret checks the at-rest secret settings: secrets long enough
// to be random, and one set for a store that several processes share,
// which must all encrypt with the same key.
func (c *Config) validateSecret(ps *problems) {
	if c.Secret != "" && len(c.Secret) < atrest.MinSecretLen {
		ps.add(EnvSecret, "must be at least %d characters of random text (make one with: head -c 32 /dev/urandom | base64)", atrest.MinSecretLen)
	}
	for _, old := range c.OldSecrets {
		if len(old) < atrest.MinSecretLen {
			ps.add(EnvSecretOld, "each former secret must be at least %d characters", atrest.MinSecretLen)
			break
		}
	}
	if len(c.OldSecrets) > 0 && c.Secret == "" {
		ps.add(EnvSecretOld, "set only with %s, the new secret", EnvSecret)
	}
	if c.Secret != "" || c.SecretFile != "" || c.TokenStore != nil {
		return
	}
	if su, err := ParseStoreURL(c.Store); err == nil && su.Kind != StoreMemory && su.Kind != StoreSQLite {
		ps.add("secret_file", "required with a store that several processes share (%s): set secret_file, or %s, to the same random secret on every process, so that they can all read the signing keys it encrypts (make one with: head -c 32 /dev/urandom | base64)", su.Kind, EnvSecret)
	}
}

// issuerURL parses and checks an issuer identifier (RFC 8414 2): an
// absolute http or https URL with a host and no query or fragment.
func issuerURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return nil, stderrors.New("required")
	case err != nil:
		return nil, stderrors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, stderrors.New("not an absolute http or https URL")
	case u.Hostname() == "" || u.Opaque != "":
		return nil, stderrors.New("has no host")
	case u.User != nil:
		return nil, stderrors.New("must not hold user information")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, stderrors.New("must not have a query (RFC 8414 2)")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, stderrors.New("must not have a fragment (RFC 8414 2)")
	}
	return u, nil
}

func (c *Config) validateClient(ps *problems, field string, cl *ClientConfig) {
	if cl.ID == "" {
		ps.add(field+".id", "required")
	} else if strings.ContainsFunc(cl.ID, isControl) || strings.Contains(cl.ID, ":") {
		// RFC 6749 2.3.1: the client ID is form-encoded into Basic
		// credentials, where a colon would be ambiguous for old clients.
		ps.add(field+".id", "must not contain control characters or ':'")
	}
	method := cl.TokenEndpointAuthMethod
	if method != "" && !slices.Contains(knownAuthMethods, method) {
		ps.add(field+".token_endpoint_auth_method", "%q is not one of %s", method, strings.Join(knownAuthMethods, ", "))
	}
	hasSecret := cl.Secret != "" || cl.SecretHash != ""
	switch {
	case cl.Secret != "" && cl.SecretHash != "":
		ps.add(field, "set secret or secret_hash, not both")
	case cl.Public && hasSecret:
		ps.add(field+".secret", "a public client has no secret (RFC 6749 2.1)")
	case cl.Public && method != "" && method != "none":
		ps.add(field+".token_endpoint_auth_method", "a public client authenticates with none")
	case !cl.Public && method == "none":
		ps.add(field+".token_endpoint_auth_method", "none is only for public clients (set public: true)")
	case !cl.Public && method == "private_key_jwt":
		if len(cl.JWKS) == 0 && cl.JWKSURI == "" {
			ps.add(field+".jwks", "jwks or jwks_uri required for private_key_jwt (RFC 7523 2.2)")
		}
	case !cl.Public && (method == "tls_client_auth" || method == "self_signed_tls_client_auth"):
		// A certificate, no secret (validateClientProtocol).
	case !cl.Public && !hasSecret:
		ps.add(field+".secret", "required for a confidential client (or secret_hash, or set public: true)")
	case method == "client_secret_jwt" && cl.Secret == "":
		// The assertion is an HMAC keyed with the secret itself.
		ps.add(field+".secret", "client_secret_jwt needs the secret in the clear, not secret_hash")
	}
	c.validateClientProtocol(ps, field, cl)
	if cl.IntrospectAny && cl.Public {
		ps.add(field+".introspect_any", "a public client cannot introspect tokens (RFC 7662 2.1)")
	}
	if cl.SecretHash != "" && secret.Check(cl.SecretHash) != nil {
		ps.add(field+".secret_hash", "not an argon2id or bcrypt hash (make one with `oauth2d hash-password`)")
	}
	if len(cl.JWKS) > 0 {
		if err := checkJWKS(cl.JWKS); err != nil {
			ps.add(field+".jwks", "%v", err)
		}
	}
	needsRedirect := len(cl.GrantTypes) == 0
	for j, g := range cl.GrantTypes {
		gf := fmt.Sprintf("%s.grant_types[%d]", field, j)
		gt, ok := knownGrants[g]
		if !ok {
			ps.add(gf, "%q is not a known grant type", g)
			continue
		}
		switch gt {
		case oauth2.AuthorizationCode, oauth2.Implicit:
			needsRedirect = true
		}
		switch {
		case gt == oauth2.Implicit && !c.Grants.Implicit:
			ps.add(gf, "the implicit grant is disabled (set grants.implicit: true)")
		case gt == oauth2.PasswordCredentials && !c.Grants.Password:
			ps.add(gf, "the password grant is disabled (set grants.password: true)")
		case gt == oauth2.ClientCredentials && cl.Public:
			ps.add(gf, "a public client cannot use client_credentials (RFC 6749 4.4)")
		}
	}
	if needsRedirect && len(cl.RedirectURIs) == 0 {
		ps.add(field+".redirect_uris", "required for the authorization_code and implicit grants")
	}
	for j, ru := range cl.RedirectURIs {
		if err := checkRedirectURI(ru); err != nil {
			ps.add(fmt.Sprintf("%s.redirect_uris[%d]", field, j), "%v", err)
		}
	}
	for j, s := range cl.Scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r > '~' }) {
			ps.add(fmt.Sprintf("%s.scopes[%d]", field, j), "not a scope token (RFC 6749 3.3)")
		}
	}
	c.validateClientOpenID(ps, field, cl)
	c.validateClientJWKSURI(ps, field, cl) // config_registration.go
}

// checkRedirectURI checks a registered redirect URI: absolute, without a
// fragment (RFC 6749 3.1.2).
func checkRedirectURI(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return stderrors.New("not a URI")
	case !u.IsAbs():
		return stderrors.New("not an absolute URI")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return stderrors.New("must not have a fragment (RFC 6749 3.1.2)")
	case (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() == "":
		return stderrors.New("has no host")
	}
	return nil
}

// checkJWKS checks a client's key set: a JSON Web Key Set (RFC 7517 5) of
// valid public keys.
func checkJWKS(raw json.RawMessage) error {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return stderrors.New("not a JSON Web Key Set (RFC 7517 5)")
	}
	if len(set.Keys) == 0 {
		return stderrors.New("has no keys (RFC 7517 5)")
	}
	for i, k := range set.Keys {
		if !k.Valid() {
			return fmt.Errorf("keys[%d]: not a valid key", i)
		}
		if !k.IsPublic() {
			return fmt.Errorf("keys[%d]: holds private key material; register public keys only", i)
		}
	}
	return nil
}
