// Package oauth2d is the standalone authorization server: configuration
// (docs/config.md), wiring of the manager, server, store and pages, the
// HTTP routes, and operations (health, metrics, logs, graceful shutdown). cmd/oauth2d is a thin main around Main; tests and benchmarks
// run the server in-process with New and Handler.
package oauth2d

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/dpop"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/atrest"
	"github.com/oauth2d/oauth2/internal/clientip"
	"github.com/oauth2d/oauth2/internal/grants"
	"github.com/oauth2d/oauth2/internal/jwksfetch"
	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/internal/throttle"
	"github.com/oauth2d/oauth2/internal/web"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

// App is one authorization server: what `oauth2d` serves.
type App struct {
	cfg    Config
	log    *slog.Logger
	issuer string // without a trailing slash
	base   string // the issuer's path, without a trailing slash

	rawStore  oauth2.TokenStore // as opened or given
	ownsStore bool
	memKV     *store.MemoryKV // the fallback KVStore, nil when the store has one
	store     *instrumentedStore
	kv        oauth2.KVStore // == store

	clients *clientRegistry // YAML clients, then the store's (registry.go)
	manager *manage.Manager
	server  *server.Server
	keys    *generates.KeySet
	web     *web.Pages
	tls     *tlsFiles // nil when the server serves plain HTTP (tls.go)
	admin   *adminAPI // nil when admin_listen is not set (admin.go)

	// grants is the index of users' consents and grants (grants.go).
	grants *grants.Index
	// Dynamic client registration (registration.go).
	jwks     *jwksfetch.Fetcher
	register *registrar

	// OpenID Connect (oidc.go, keys_rotate.go).
	keyStore   *keyStore
	idTokens   *generates.JWTIDTokenGenerate
	subjects   *oidc.Subjects
	userClaims func(ctx context.Context, username string) (oidc.Claims, error)

	// ips finds the client address of a request; clientGate throttles
	// client authentications by client and address, loginThrottle
	// sign-ins by username and address (the page and the password grant).
	ips           *clientip.Resolver
	clientGate    *throttle.Gate
	loginThrottle *throttle.Limiter
	now           func() time.Time
	metrics       *metrics
	routeByLabel  map[string]*route

	logOut    *flushWriter // the buffered log of a Config without Logger
	handler   http.Handler
	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// ThrottleConfig sets the limits of a throttle (internal/throttle); zero
// fields take the defaults: 5 attempts of one subject from one address
// without a success in 15 minutes refuse that address for the rest of the
// 15 minutes; from the third failure of the pair each answer is delayed by
// 500ms more, up to 2s, and so is every failure of the subject once it
// failed 20 times from all addresses together (which never refuses).
type ThrottleConfig struct {
	Limit            int
	Window           time.Duration
	SlowAfter        int
	Delay            time.Duration
	MaxDelay         time.Duration
	SubjectSlowAfter int
}

func (t ThrottleConfig) limiter(kv oauth2.KVStore, name string, now func() time.Time) *throttle.Limiter {
	return &throttle.Limiter{KV: kv, Name: name, Limit: t.Limit, Window: t.Window,
		SlowAfter: t.SlowAfter, Delay: t.Delay, MaxDelay: t.MaxDelay, SubjectSlowAfter: t.SubjectSlowAfter, Now: now}
}

// New validates cfg, opens the store (unless cfg.TokenStore is set), loads
// or makes the signing key and the pages' HMAC key, and wires the server.
// Call Close when done.
func New(cfg Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: cfg.Logger, metrics: newMetrics(), stop: make(chan struct{}),
		routeByLabel: map[string]*route{}}
	if a.log == nil {
		// As the oauth2d command does: text on stderr, buffered, so that
		// the line per request does not cost a system call each.
		a.logOut = newFlushWriter(os.Stderr, logFlushInterval)
		a.log = slog.New(newLogHandler(a.logOut, false))
	}
	iss, _ := issuerURL(cfg.Issuer) // Validate checked it
	a.base = strings.TrimSuffix(iss.Path, "/")
	a.issuer = strings.TrimSuffix(cfg.Issuer, "/")
	a.now = cfg.Now
	if a.now == nil {
		a.now = time.Now
	}
	proxies, _ := clientip.ParsePrefixes(cfg.TrustedProxies) // Validate checked them
	a.ips = clientip.New(proxies)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	a.grants = a.newGrantIndex()
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	ring, source, err := a.keyring()
	if err != nil {
		return nil, err
	}
	a.keyStore = a.newKeyStore(ring, source)
	if a.keys, err = a.keyStore.load(ctx); err != nil {
		return nil, err
	}
	if err := a.openRegistry(ctx); err != nil {
		return nil, err
	}
	if cfg.TLS.Enabled() {
		if a.tls, err = loadTLS(cfg.TLS, a.log, a.now); err != nil {
			return nil, err
		}
	}
	users, err := loadUsers(cfg.Users)
	if err != nil {
		return nil, err
	}
	if a.clients.docs != nil {
		users.SetFallback(a.storeUserPassword) // registry.go
	}
	a.loginThrottle = cfg.LoginThrottle.limiter(a.kv, "login", a.now)
	var confidential []string
	for _, c := range cfg.Clients {
		if !c.Public {
			confidential = append(confidential, c.ID)
		}
	}
	a.clientGate = throttle.NewGate(cfg.ClientThrottle.limiter(a.kv, "client", a.now), confidential,
		throttle.GateConfig{Known: a.clients.known})
	a.manager = a.newManager()
	a.server = a.newServer()
	if err := a.setupRegistration(a.server.Config); err != nil { // registration.go
		return nil, err
	}
	if err := a.setupOpenID(ctx, ring, source); err != nil {
		return nil, err
	}
	if cfg.DPoP.Enabled && cfg.DPoP.RequireNonce {
		// The DPoP nonces' key, sealed at rest like the other secrets
		// (the library would keep it in the store in the clear).
		if a.server.Config.DPoP.NonceKey, err = a.sealedSecret(ctx, ring, source, dpopNonceKeyName, "DPoP nonce key", dpop.MinNonceKeyBytes); err != nil {
			return nil, err
		}
	}
	wc := web.Config{
		Issuer:     a.issuer,
		KV:         a.kv,
		Users:      users,
		Client:     a.manager.GetClient,
		Throttle:   a.loginThrottle,
		ClientAddr: a.ips.Addr,
		Logger:     a.log,
		Now:        cfg.Now,
		Sealer:     &webSealer{ring: ring, source: source, log: a.log},
		Grants:     a.grants,
		ClientName: a.clientName,
		// Sessions end with their user (user_revoke.go).
		SignInsNotBefore: a.signInsNotBefore,
	}
	a.openIDPages(&wc)
	if a.deviceEnabled() {
		wc.Device = a.server
	}
	a.web, err = web.New(ctx, wc)
	if err != nil {
		return nil, fmt.Errorf("oauth2d: pages: %w", err)
	}
	a.handler = a.middleware(a.routes())
	if err := a.setupAdmin(); err != nil {
		return nil, err
	}
	go a.reloadKeys()
	ok = true
	return a, nil
}

// openStore opens the token store and finds its KVStore, falling back to a
// KVStore in memory, with a warning, when the store has none.
func (a *App) openStore(ctx context.Context) error {
	if a.cfg.TokenStore != nil {
		a.rawStore = a.cfg.TokenStore
	} else {
		su, err := ParseStoreURL(a.cfg.Store)
		if err != nil {
			return &ConfigError{Field: "store", Problem: err.Error()}
		}
		ts, err := openStore(ctx, su)
		if err != nil {
			return fmt.Errorf("oauth2d: open store %s: %w", RedactStore(a.cfg.Store), err)
		}
		a.rawStore, a.ownsStore = ts, true
	}
	kv, ok := a.rawStore.(oauth2.KVStore)
	if !ok {
		a.log.Warn("the store keeps no shared state (no oauth2.KVStore): signing keys, sessions, consent and throttling live in this process's memory and are lost at restart; run one process only")
		a.memKV = store.NewMemoryKV(nil)
		kv = a.memKV
		go a.sweep()
	}
	a.store = newInstrumentedStore(a.rawStore, kv, a.metrics)
	a.kv = a.store
	return nil
}

// sweep reclaims the expired entries of the fallback KVStore.
func (a *App) sweep() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.memKV.Sweep()
		}
	}
}

// loadUsers builds the user directory, hashing passwords given in the
// clear so that every login is checked with argon2id.
func loadUsers(users []UserConfig) (*web.Users, error) {
	dir := web.NewUsers()
	for i, u := range users {
		var err error
		if u.PasswordHash != "" {
			err = dir.AddHash(u.Username, u.PasswordHash)
		} else {
			err = dir.AddPassword(u.Username, u.Password)
		}
		if err != nil {
			return nil, fmt.Errorf("oauth2d: users[%d]: %w", i, err)
		}
	}
	return dir, nil
}

// newManager configures the grants: lifetimes, rotation, PKCE and the
// access token format.
func (a *App) newManager() *manage.Manager {
	cfg := a.cfg
	m := manage.NewDefaultManager()
	m.MapClientStorage(a.clients)
	m.MapTokenStorage(managerStore{a.store, a}) // grants.go
	m.SetAuthorizeCodeExp(cfg.CodeTTL)
	access, refresh := cfg.AccessToken.TTL, cfg.RefreshToken.TTL
	m.SetAuthorizeCodeTokenCfg(&manage.Config{AccessTokenExp: access, RefreshTokenExp: refresh, IsGenerateRefresh: true})
	m.SetPasswordTokenCfg(&manage.Config{AccessTokenExp: access, RefreshTokenExp: refresh, IsGenerateRefresh: true})
	m.SetImplicitTokenCfg(&manage.Config{AccessTokenExp: access})
	m.SetClientTokenCfg(&manage.Config{AccessTokenExp: access})
	m.SetRefreshTokenCfg(&manage.RefreshingConfig{
		AccessTokenExp:    access,
		IsGenerateRefresh: cfg.RefreshToken.Rotate,
	})
	m.SetPKCE(manage.PKCEConfig{Required: cfg.PKCE.Required})
	if ordered, ok := a.rawStore.(interface{ KeysFollowIssueTime() bool }); ok && ordered.KeysFollowIssueTime() && cfg.TimeOrderedTokens {
		// The SQL stores index such values at their indexes' right edge.
		m.MapAuthorizeGenerate(generates.NewTimeOrderedAuthorizeGenerate())
		m.MapAccessGenerate(generates.NewTimeOrderedAccessGenerate())
	}
	if cfg.AccessToken.Format == FormatJWT {
		m.MapAccessGenerate(generates.NewJWTAccessGenerateFromKeySet(a.keys, generates.WithIssuer(a.issuer)))
	}
	return m
}

// webSealer seals the pages' HMAC key with the at-rest keyring, as the
// signing key is.
type webSealer struct {
	ring   *atrest.Keyring
	source string
	log    *slog.Logger
}

// Load reads the value of name sealed in kv (web.Sealer).
func (s *webSealer) Load(ctx context.Context, kv oauth2.KVStore, name string, clear func([]byte) bool) ([]byte, error) {
	return openSealed(ctx, kv, s.ring, name, "pages' HMAC key", s.source, clear, s.log)
}

// Seal seals a value to store under name (web.Sealer).
func (s *webSealer) Seal(name string, plaintext []byte) []byte { return s.ring.Seal(name, plaintext) }

// deviceEnabled reports whether a client lists the device authorization
// grant (RFC 8628), which the server then accepts and advertises.
func (a *App) deviceEnabled() bool { return a.cfg.deviceEnabled() }

// scopesSupported returns the union of the clients' registered scopes,
// for the metadata's scopes_supported (RFC 8414 2), or nil when a client
// registered none and so may ask for any scope: the list would then not
// be what the server accepts.
func (a *App) scopesSupported() []string {
	var out []string
	for _, c := range a.cfg.Clients {
		if len(c.Scopes) == 0 {
			return nil
		}
		for _, sc := range c.Scopes {
			if !slices.Contains(out, sc) {
				out = append(out, sc)
			}
		}
	}
	return out
}

// newServer configures the endpoints and their hooks. The endpoints are
// served at the issuer followed by the server package's default paths
// (server.PathToken, ...), which the metadata advertises.
func (a *App) newServer() *server.Server {
	sc := server.NewConfig()
	sc.Issuer = a.issuer
	if a.cfg.Grants.Password {
		sc.AllowedGrantTypes = append(sc.AllowedGrantTypes, oauth2.PasswordCredentials)
	}
	if a.cfg.Grants.Implicit {
		sc.AllowedResponseTypes = append(sc.AllowedResponseTypes, oauth2.Token)
	}
	if a.deviceEnabled() {
		// The verification URI is the issuer followed by /device, the
		// page of routes().
		sc.AllowedGrantTypes = append(sc.AllowedGrantTypes, oauth2.DeviceCode)
		sc.Device = a.cfg.Device
		sc.Device.VerificationURI = ""
	}
	for _, c := range a.cfg.Clients {
		if c.IntrospectAny {
			sc.IntrospectionClients = append(sc.IntrospectionClients, c.ID)
		}
	}
	sc.IntrospectAny = a.clients.introspectAny
	sc.ScopesSupported = a.scopesSupported()
	a.configureProtocol(sc) // DPoP, PAR, resources, token exchange, mTLS (protocol.go)
	s := server.NewServer(sc, &authManager{Manager: a.manager, app: a})
	s.SetKVStore(a.kv)
	// The signing key is published whatever the access token format: a
	// resource server can be set up once, before a switch to JWT access
	// tokens, and a key is published before anything signed with it is
	// met (server.JWKSMaxAge).
	s.SetKeySet(a.keys)
	// RFC 7523 2.2 and OpenID Connect Core 9: JWT client authentication,
	// for clients registered with private_key_jwt or client_secret_jwt.
	s.AddClientAssertionAuthenticators()
	// RFC 7591 2: the keys of clients registered with a jwks_uri
	// (registration.go).
	s.SetJWKSResolver(a.newJWKSFetcher().Get)
	a.addProtocolAuthenticators(s) // RFC 8705 2 (protocol.go)
	// The pages are made after the server, which they use for the device
	// grant; the hook reaches them when it is called.
	s.SetUserAuthenticationHandler(a.userAuthentication)
	if a.cfg.Grants.Password {
		s.SetPasswordAuthorizationHandler(a.passwordAuthorization)
	}
	// The throttle of client authentications and the issued-token metric
	// hang on the server's hooks: they see exactly the client the server
	// authenticates and the grant it issued for.
	s.SetClientAuthHandler(a.clientAuthHook)
	s.SetTokenIssuedHandler(a.tokenIssued)
	s.SetPreRedirectErrorHandler(a.authorizeErrorPage)
	s.SetResponseErrorHandler(func(re *errors.Response) { a.metrics.countError(re.Error) })
	s.SetInternalErrorHandler(func(err error) *errors.Response {
		a.log.Error("request failed", "code", errors.Code(err), "err", err)
		return nil
	})
	return s
}

// passwordAuthorization verifies the resource owner of the password grant
// (RFC 6749 4.3.2) with the same directory and throttle as the login page,
// keyed by the username and the client's address.
func (a *App) passwordAuthorization(ctx context.Context, _, username, password string) (string, error) {
	var addr netip.Addr
	if rw := recordOf(ctx); rw != nil {
		addr = rw.addr
	}
	userID, err := a.web.Authenticate(ctx, username, password, addr)
	switch {
	case err == nil:
		return userID, nil
	case stderrors.Is(err, web.ErrBadCredentials):
		return "", errors.ErrAccessDenied
	case stderrors.Is(err, web.ErrThrottled):
		return "", errors.WithDescription(errors.ErrInvalidGrant, "Too many failed attempts for this user from this address; try again later")
	case stderrors.Is(err, secret.ErrBusy):
		return "", errors.WithDescription(errors.ErrTemporarilyUnavailable, "Too many sign-ins at once; try again in a moment")
	}
	return "", fmt.Errorf("oauth2d: password grant: %w", err)
}

// authorizeErrorPage shows an authorization error that must not be
// redirected, because the client or its redirect URI is not valid (RFC
// 6749 4.1.2.1), as an HTML page.
func (a *App) authorizeErrorPage(w http.ResponseWriter, _ *server.AuthorizeRequest, err error) error {
	a.metrics.countError(err)
	code, status, desc := errors.Lookup(err)
	if status < http.StatusInternalServerError {
		status = http.StatusBadRequest
	}
	title := "This request cannot be completed"
	switch {
	case code == errors.ErrTemporarilyUnavailable, code == errors.ErrServerError:
		title = "Temporarily unavailable"
		desc = "The service is temporarily unavailable. Please try again in a moment."
		a.log.Error("authorization request failed", "code", code.Error(), "err", err)
	case stderrors.Is(err, errors.ErrInvalidRedirectURI):
		title = "Unregistered redirect address"
		desc = "The application asked to send you to an address it has not registered. You have not been redirected. Contact the application's developer."
	default:
		desc += ". Go back to the application and try again."
	}
	a.web.Error(w, status, title, desc)
	return nil
}

// Handler returns the HTTP handler of the server: every endpoint under the
// issuer's path.
func (a *App) Handler() http.Handler { return a.handler }

// MetricsHandler returns the Prometheus metrics of the App, for a listener
// of their own (metrics_listen).
func (a *App) MetricsHandler() http.Handler { return a.metrics.handler() }

// Issuer returns the issuer identifier, without a trailing slash.
func (a *App) Issuer() string { return a.issuer }

// Close stops background work and closes the store if New opened it.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		close(a.stop)
		if c, ok := a.rawStore.(io.Closer); ok && a.ownsStore {
			a.closeErr = c.Close()
		}
		if a.logOut != nil {
			_ = a.logOut.Close()
		}
	})
	return a.closeErr
}

// routes is the one table of the server's endpoints, relative to the
// issuer's path. Patterns use net/http's method matching; each is labelled
// in the metrics with its path.
func (a *App) routes() *router {
	rt := &router{exact: map[string]http.Handler{}, mux: http.NewServeMux()}
	handle := func(pattern string, h http.HandlerFunc) { a.handle(rt, pattern, h) }
	// RFC 6749 3.1: the authorization endpoint takes GET and may take POST.
	handle("GET /authorize", a.handleAuthorize)
	handle("POST /authorize", a.handleAuthorize)
	// RFC 6749 3.2: POST only; the server answers other methods with 405
	// and an invalid_request body, so every method is routed to it.
	handle("/token", a.handleToken)
	// RFC 7009 2, RFC 7662 2, RFC 8628 3.1: POST only, like the token
	// endpoint; the server answers other methods with 405.
	handle("/revoke", a.handleRevoke)
	handle("/introspect", a.handleIntrospect)
	handle("/device_authorization", a.handleDeviceAuthorization)
	// RFC 9126 2: POST only; the server answers other methods with 405.
	handle(server.PathPushedAuthorization, a.handlePAR)
	// RFC 8414 3 and RFC 7517 5: public documents, GET and HEAD; the
	// server answers other methods with 405.
	handle(server.PathMetadata, a.handleMetadata)
	handle(server.PathJWKS, a.server.HandleJWKSRequest)
	handle("GET /login", a.web.LoginForm)
	handle("POST /login", a.web.Login)
	handle("GET /consent", a.web.ConsentForm)
	handle("POST /consent", a.web.Consent)
	if a.deviceEnabled() {
		// RFC 8628 3.3: the verification page.
		handle("GET /device", a.web.DeviceForm)
		handle("POST /device", a.web.Device)
		handle("GET /device/done", a.web.DeviceDone)
	}
	a.openIDRoutes(handle)
	a.accountRoutes(handle)
	a.registrationRoutes(handle) // registration.go
	handle("GET /healthz", a.handleHealth)
	if a.cfg.MetricsListen == "" {
		// Otherwise served on its own address (run.go).
		handle("GET /metrics", a.metrics.handler().ServeHTTP)
	}
	handle("GET /static/", a.web.Static)
	handle("GET /{$}", a.web.Home)
	// Anything else is labelled "other" by the middleware.
	rt.mux.HandleFunc("/", a.web.NotFound)
	return rt
}
