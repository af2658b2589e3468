package oauth2d

import (
	"crypto/tls"
	stderrors "errors"
	"fmt"
	"strings"
	"time"

	"github.com/oauth2d/oauth2/internal/jwksfetch"
)

// The configuration of dynamic client registration (RFC 7591, RFC 7592)
// and of the fetching of clients' jwks_uri (docs/config.md, registration
// and jwks_uri_fetch). Both are fields of Config.

// RegistrationConfig configures the registration endpoint, /register (RFC
// 7591 3) and its client configuration endpoint, /register/{client_id}
// (RFC 7592 2).
type RegistrationConfig struct {
	// Enabled serves the endpoints and advertises registration_endpoint.
	Enabled bool
	// InitialAccessToken, when set, is the bearer token every registration
	// request must carry (RFC 7591 3); without it registration is open.
	// A secret: never logged.
	InitialAccessToken string
	// InitialAccessTokenFile is a file whose first line is the initial
	// access token, instead of InitialAccessToken.
	InitialAccessTokenFile string
	// RateLimit is how many registrations (and updates) one client
	// address may make in RateWindow; zero fields take the defaults, 20
	// in an hour. Not read from the file.
	RateLimit  int           `yaml:"-"`
	RateWindow time.Duration `yaml:"-"`
}

// Defaults of RegistrationConfig.
const (
	DefaultRegistrationRateLimit  = 20
	DefaultRegistrationRateWindow = time.Hour
	// minInitialAccessToken is the shortest initial access token accepted.
	minInitialAccessToken = 16
)

// JWKSFetchConfig configures how the server fetches the JWK Set a client
// publishes at its jwks_uri (RFC 7591 2), for private_key_jwt (RFC 7523
// 2.2): internal/jwksfetch with its defaults (5s timeout, 64 KiB, 5m
// cache).
type JWKSFetchConfig struct {
	// AllowPrivate lets jwks_uri be http and reach loopback, private and
	// link-local addresses: for tests and development only. Off, such a
	// jwks_uri is refused (server-side request forgery).
	AllowPrivate bool
	// TLS, when set, is the TLS configuration of the fetches (RootCAs of a
	// private authority). Not read from the file.
	TLS *tls.Config `yaml:"-"`
}

type fileRegistration struct {
	Enabled                string `yaml:"enabled"`
	InitialAccessToken     string `yaml:"initial_access_token"`
	InitialAccessTokenFile string `yaml:"initial_access_token_file"`
}

type fileJWKSFetch struct {
	AllowPrivate string `yaml:"allow_private"`
}

// convert reads the registration section.
func (f *fileRegistration) convert(ps *problems) RegistrationConfig {
	return RegistrationConfig{
		Enabled:                parseBool(ps, "registration.enabled", f.Enabled),
		InitialAccessToken:     f.InitialAccessToken,
		InitialAccessTokenFile: f.InitialAccessTokenFile,
	}
}

// convert reads the jwks_uri_fetch section.
func (f *fileJWKSFetch) convert(ps *problems) JWKSFetchConfig {
	return JWKSFetchConfig{AllowPrivate: parseBool(ps, "jwks_uri_fetch.allow_private", f.AllowPrivate)}
}

// validateRegistration checks the registration section.
func (c *Config) validateRegistration(ps *problems) {
	r := &c.Registration
	switch {
	case r.InitialAccessToken != "" && r.InitialAccessTokenFile != "":
		ps.add("registration", "set initial_access_token or initial_access_token_file, not both")
	case r.InitialAccessToken != "" && len(r.InitialAccessToken) < minInitialAccessToken:
		ps.add("registration.initial_access_token", "shorter than %d characters", minInitialAccessToken)
	case strings.ContainsFunc(r.InitialAccessToken, func(r rune) bool { return r <= ' ' || r > '~' }):
		// RFC 6750 2.1 b64token.
		ps.add("registration.initial_access_token", "must be printable ASCII without spaces (RFC 6750 2.1)")
	}
	if r.RateLimit < 0 || r.RateWindow < 0 {
		ps.add("registration", "rate limit and window must not be negative")
	}
}

// validateClientJWKSURI checks the jwks_uri of a client, of the file or
// kept in the store (validateClient): an https URL (http and private
// addresses only with jwks_uri_fetch.allow_private, the fetcher's own
// check), not with jwks.
func (c *Config) validateClientJWKSURI(ps *problems, field string, cl *ClientConfig) {
	if cl.JWKSURI == "" {
		return
	}
	if len(cl.JWKS) > 0 {
		ps.add(field+".jwks_uri", "set jwks or jwks_uri, not both (RFC 7591 2)")
	}
	if _, err := jwksfetch.CheckURI(cl.JWKSURI, c.JWKSFetch.AllowPrivate); err != nil {
		ps.add(field+".jwks_uri", "%v", jwksURIProblem(err))
	}
}

// jwksURIProblem is the text of a jwks_uri refused by jwksfetch, for
// configuration errors and registration responses.
func jwksURIProblem(err error) string {
	return strings.TrimPrefix(err.Error(), "jwksfetch: ")
}

// jwksFetchProblem is the text of a registrant's jwks_uri that could not
// be fetched: fixed texts chosen with errors.Is, never the network error
// (a refused port, a missing host name, a certificate), so that anybody
// who may register cannot use /register to probe which hosts and ports
// the server reaches (RFC 7591 5, SSRF). A set that a public server did
// serve is described, since the registrant controls it.
func jwksFetchProblem(err error) string {
	switch {
	case stderrors.Is(err, jwksfetch.ErrTooLarge):
		return "the JWK Set is larger than the server accepts"
	case stderrors.Is(err, jwksfetch.ErrPrivateKey):
		return "the JWK Set holds a private or symmetric key"
	case stderrors.Is(err, jwksfetch.ErrInvalidSet):
		return "not a JWK Set with a usable public key"
	case stderrors.Is(err, jwksfetch.ErrBadURI):
		return "must be an https URL without credentials or fragment"
	}
	return "could not be fetched: it must answer 200 OK with a JWK Set over https from a public address"
}

// initialAccessToken returns the configured initial access token, read
// from its file when it is kept in one; "" when registration is open.
func (r *RegistrationConfig) initialAccessToken() (string, error) {
	if r.InitialAccessTokenFile == "" {
		return r.InitialAccessToken, nil
	}
	// As the other secret files: the first line that is neither empty nor
	// a # comment, in a file of bounded size.
	tok, _, err := readSecretFile(r.InitialAccessTokenFile)
	if err != nil {
		return "", &ConfigError{Field: "registration.initial_access_token_file", Problem: err.Error()}
	}
	if len(tok) < minInitialAccessToken || strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return "", &ConfigError{Field: "registration.initial_access_token_file", Problem: fmt.Sprintf("the first line must be a token of at least %d printable characters without spaces", minInitialAccessToken)}
	}
	return tok, nil
}
