package manage

import "time"

// Config is the token configuration of one grant type.
type Config struct {
	// AccessTokenExp is the access token lifetime; 0 means it does not
	// expire.
	AccessTokenExp time.Duration
	// RefreshTokenExp is the refresh token lifetime; 0 means it does not
	// expire.
	RefreshTokenExp time.Duration
	// IsGenerateRefresh issues a refresh token with the access token
	// (RFC 6749 1.5), unless the client's registered grant types leave out
	// refresh_token.
	IsGenerateRefresh bool
}

// RefreshingConfig is the configuration of the refresh token grant
// (RFC 6749 6).
type RefreshingConfig struct {
	// AccessTokenExp is the lifetime of the new access token; 0 keeps the
	// lifetime of the access token the refresh token was issued with.
	AccessTokenExp time.Duration
	// RefreshTokenExp is the refresh token lifetime; 0 keeps the lifetime of
	// the presented refresh token.
	RefreshTokenExp time.Duration
	// IsGenerateRefresh rotates the refresh token: every refresh issues a
	// new one and the presented one is retired, so that its replay is
	// detected (RFC 9700 4.14.2). It is the default. False keeps the same
	// refresh token value.
	IsGenerateRefresh bool
	// IsResetRefreshTime restarts the refresh token's lifetime at every
	// refresh. When false (the default) a refresh never extends the grant:
	// a rotated refresh token expires when the one it replaces would have.
	IsResetRefreshTime bool
	// IsRemoveAccess is ignored and kept for source compatibility with the
	// seed: the store's atomic RotateRefresh always removes the old access
	// token together with the old refresh token, so that the refresh grant
	// cannot leave two live access tokens behind.
	IsRemoveAccess bool
	// IsRemoveRefreshing is ignored and kept for source compatibility with
	// the seed: a rotated-out refresh token is always retired and
	// remembered by RotateRefresh so that its replay revokes the whole grant
	// (RFC 9700 4.14.2); keeping it usable would defeat that detection.
	IsRemoveRefreshing bool
}

// PKCEConfig configures Proof Key for Code Exchange (RFC 7636). Public
// clients must always use PKCE (RFC 9700 2.1.1); S256 is always accepted.
type PKCEConfig struct {
	// Required makes every client, confidential ones too, send a
	// code_challenge with an authorization code request (OAuth 2.1).
	Required bool
	// AllowPlain accepts the "plain" method, and a code_challenge without a
	// method, which RFC 7636 4.3 defines to be plain. It is off by default
	// (RFC 9700 2.1.1).
	AllowPlain bool
	// AllowShortVerifier accepts code verifiers (and plain challenges)
	// shorter than the 43 characters RFC 7636 4.1 requires, for legacy
	// clients such as go-oauth2 v4's example client. A short verifier is
	// easier to guess; leave it off unless such a client must be served.
	// Without it a short verifier is refused as "code_verifier too short".
	AllowShortVerifier bool
}

// Default configurations, the seed's values. A manager copies them when it
// is created: changing them later affects managers created afterwards only,
// and a manager's Set* methods never change them.
var (
	// DefaultCodeExp is the authorization code lifetime (RFC 6749 4.1.2
	// recommends at most ten minutes).
	DefaultCodeExp = 10 * time.Minute
	// DefaultAuthorizeCodeTokenCfg configures the authorization code grant.
	DefaultAuthorizeCodeTokenCfg = &Config{AccessTokenExp: 2 * time.Hour, RefreshTokenExp: 72 * time.Hour, IsGenerateRefresh: true}
	// DefaultImplicitTokenCfg configures the implicit grant, which never
	// issues a refresh token (RFC 6749 4.2.2).
	DefaultImplicitTokenCfg = &Config{AccessTokenExp: time.Hour}
	// DefaultPasswordTokenCfg configures the resource owner password
	// credentials grant.
	DefaultPasswordTokenCfg = &Config{AccessTokenExp: 2 * time.Hour, RefreshTokenExp: 7 * 24 * time.Hour, IsGenerateRefresh: true}
	// DefaultClientTokenCfg configures the client credentials grant, which
	// should not issue a refresh token (RFC 6749 4.4.3).
	DefaultClientTokenCfg = &Config{AccessTokenExp: 2 * time.Hour}
	// DefaultRefreshTokenCfg configures the refresh token grant: rotation
	// on, lifetime not reset.
	DefaultRefreshTokenCfg = &RefreshingConfig{IsGenerateRefresh: true, IsRemoveAccess: true, IsRemoveRefreshing: true}
)

// fallbackCodeExp is used when DefaultCodeExp has been set to zero or less:
// a code must always expire.
const fallbackCodeExp = 10 * time.Minute

func copyConfig(c *Config) Config {
	if c == nil {
		return Config{}
	}
	return *c
}

func copyRefreshingConfig(c *RefreshingConfig) RefreshingConfig {
	if c == nil {
		return RefreshingConfig{IsGenerateRefresh: true}
	}
	return *c
}

// SetAuthorizeCodeExp sets the authorization code lifetime. Zero or less
// restores DefaultCodeExp: a code always expires (RFC 6749 4.1.2).
func (m *Manager) SetAuthorizeCodeExp(exp time.Duration) {
	if exp <= 0 {
		exp = DefaultCodeExp
	}
	if exp <= 0 {
		exp = fallbackCodeExp
	}
	m.codeExp = exp
}

// SetAuthorizeCodeTokenCfg sets the token configuration of the
// authorization code grant. The manager keeps a copy; nil is ignored.
func (m *Manager) SetAuthorizeCodeTokenCfg(cfg *Config) {
	if cfg != nil {
		m.codeCfg = *cfg
	}
}

// SetImplicitTokenCfg sets the token configuration of the implicit grant.
// The manager keeps a copy; nil is ignored. The implicit grant never issues
// a refresh token (RFC 6749 4.2.2), whatever IsGenerateRefresh says.
func (m *Manager) SetImplicitTokenCfg(cfg *Config) {
	if cfg != nil {
		m.implicitCfg = *cfg
	}
}

// SetPasswordTokenCfg sets the token configuration of the password grant.
// The manager keeps a copy; nil is ignored.
func (m *Manager) SetPasswordTokenCfg(cfg *Config) {
	if cfg != nil {
		m.passwordCfg = *cfg
	}
}

// SetClientTokenCfg sets the token configuration of the client credentials
// grant. The manager keeps a copy; nil is ignored.
func (m *Manager) SetClientTokenCfg(cfg *Config) {
	if cfg != nil {
		m.clientCfg = *cfg
	}
}

// SetRefreshTokenCfg sets the configuration of the refresh token grant.
// The manager keeps a copy; nil is ignored.
func (m *Manager) SetRefreshTokenCfg(cfg *RefreshingConfig) {
	if cfg != nil {
		m.refreshCfg = *cfg
	}
}

// SetPKCE sets the PKCE policy (RFC 7636, RFC 9700 2.1.1).
func (m *Manager) SetPKCE(cfg PKCEConfig) {
	m.pkce = cfg
}

// SetClock sets the clock the manager stamps and checks expiry with; nil
// restores time.Now. Tests use it with the store's own clock option.
func (m *Manager) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	m.now = now
}
