// Package web serves the pages a person sees during an authorization
// request (RFC 6749 4.1.1, OpenID Connect Core 1.0 3.1.2.3): the login
// form, the consent page, the error page, and the end_session_endpoint of
// RP-Initiated Logout 1.0 with its confirmation page, with server-side
// sessions, CSRF tokens, origin checks and login throttling. State that
// every server process must share (the HMAC key, sessions, spent CSRF
// tokens, remembered consent, throttling counters) lives in the store's
// oauth2.KVStore (docs/architecture.md section 2.5).
//
// Pages follow RFC 9700 4.16 (docs/architecture.md, security): no framing
// (frame-ancestors 'none', X-Frame-Options), no referrer, no caching, a
// 303 after every successful POST, every value HTML-escaped by
// html/template, and no JavaScript.
package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/clientip"
	"github.com/oauth2d/oauth2/internal/grants"
	"github.com/oauth2d/oauth2/internal/throttle"
	"github.com/oauth2d/oauth2/oidc"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ClientLookup returns a registered client, or an error wrapping
// oauth2.ErrNotFound or errors.ErrInvalidClient when there is none.
type ClientLookup func(ctx context.Context, clientID string) (oauth2.ClientInfo, error)

// Config configures the pages.
type Config struct {
	// Issuer is the server's issuer URL: its origin is the only one forms
	// may be posted from, its path is where the pages hang, and cookies are
	// Secure when it is https.
	Issuer string
	// KV keeps the shared state of the pages.
	KV oauth2.KVStore
	// Users are the people who may sign in.
	Users *Users
	// Client looks up the client of an authorization request.
	Client ClientLookup
	// Throttle limits failed logins per username and address; its KV is
	// KV and its Name "login" when they are not set.
	Throttle *throttle.Limiter
	// Sealer, when set, keeps the pages' HMAC key encrypted in KV;
	// without it the key is stored as it is.
	Sealer Sealer
	// ClientAddr returns the address of the client of a request, which the
	// login throttle counts by; the TCP peer when nil.
	ClientAddr func(*http.Request) netip.Addr
	// Device, when set, enables the verification pages of the device
	// authorization grant (RFC 8628 3.3): DeviceForm, Device and
	// DeviceDone. Without it they answer 404.
	Device DeviceGrant
	// SessionTTL is how long a sign-in lasts whatever its use (the
	// absolute lifetime); 8 hours when zero.
	SessionTTL time.Duration
	// SessionIdle ends a session that no page has seen for this long;
	// 1 hour when zero.
	SessionIdle time.Duration
	// ConsentTTL is how long a consent is remembered; 30 days when zero.
	ConsentTTL time.Duration
	// IDTokenHint verifies the id_token_hint of an RP-initiated logout
	// request (OpenID Connect RP-Initiated Logout 1.0 2): a previous ID
	// token of this server, signature and issuer checked, expiry not.
	// Without it a logout request with a hint is refused.
	IDTokenHint func(raw string) (*oidc.IDTokenHint, error)
	// ClaimNames returns the names of the claims the user has values for
	// (OpenID Connect Core 1.0 5.1): the consent page lists those of the
	// requested claims, which are all the client can receive. Without it
	// every requested claim is listed.
	ClaimNames func(ctx context.Context, user string) ([]string, error)
	// Subject returns the sub of userID for client, as its ID tokens
	// carry it (OpenID Connect Core 1.0 8), to match an id_token_hint
	// without sid with the signed-in user; the user ID when nil.
	Subject func(client oauth2.ClientInfo, userID string) (string, error)
	// Grants is the index of what users allowed (internal/grants): the
	// consent is recorded there as well, and the /account page lists and
	// withdraws from it. Without it, or with the index off, /account
	// lists nothing.
	Grants *grants.Index
	// SignInsNotBefore, when set, is asked at every page view and
	// authorization request that reads a session of a user whom Users
	// holds only through its fallback (Users.SetFallback) whether that
	// user may still be signed in (the users Users holds itself always
	// are): it returns the earliest sign-in that counts
	// for user (zero: any), or an error wrapping oauth2.ErrNotFound when
	// the user no longer exists or is disabled. A session signed in
	// before that time, or of such a user, is signed out, and a consent
	// remembered before it is not (docs/architecture.md section 6.2).
	// Any other error is the store's: the pages answer 503.
	SignInsNotBefore func(ctx context.Context, user string) (time.Time, error)
	// ClientName returns a client's display name (RFC 7591 2
	// client_name), shown on the account page; "" for none. The client
	// ID is shown when nil.
	ClientName func(ctx context.Context, clientID string) string
	// Logger receives security events (failed logins, refused forms),
	// never a password or a token; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Pages serves the login and consent pages and authenticates the resource
// owner at the authorization endpoint.
type Pages struct {
	kv          oauth2.KVStore
	users       *Users
	client      ClientLookup
	device      DeviceGrant
	throttle    *throttle.Limiter
	clientAddr  func(*http.Request) netip.Addr
	log         *slog.Logger
	now         func() time.Time
	sessionTTL  time.Duration
	sessionIdle time.Duration
	consentTTL  time.Duration
	idTokenHint func(string) (*oidc.IDTokenHint, error)
	claimNames  func(context.Context, string) ([]string, error)
	subject     func(oauth2.ClientInfo, string) (string, error)
	grants      *grants.Index
	clientName  func(context.Context, string) string
	notBefore   func(context.Context, string) (time.Time, error)

	origin string // scheme://host[:port] of the issuer
	base   string // the issuer's path, without a trailing slash
	secure bool

	sessionKey []byte
	csrfKey    []byte

	tmpl   *template.Template
	static http.Handler
}

// New returns the pages. It reads the HMAC key from cfg.KV, creating it on
// first start.
func New(ctx context.Context, cfg Config) (*Pages, error) {
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || iss.Scheme == "" || iss.Host == "" {
		return nil, fmt.Errorf("web: issuer is not an absolute URL")
	}
	if cfg.KV == nil || cfg.Users == nil || cfg.Client == nil {
		return nil, fmt.Errorf("web: KV, Users and Client are required")
	}
	p := &Pages{
		kv:          cfg.KV,
		users:       cfg.Users,
		client:      cfg.Client,
		device:      cfg.Device,
		log:         cfg.Logger,
		now:         cfg.Now,
		sessionTTL:  cfg.SessionTTL,
		sessionIdle: cfg.SessionIdle,
		consentTTL:  cfg.ConsentTTL,
		idTokenHint: cfg.IDTokenHint,
		claimNames:  cfg.ClaimNames,
		subject:     cfg.Subject,
		grants:      cfg.Grants,
		clientName:  cfg.ClientName,
		notBefore:   cfg.SignInsNotBefore,
		origin:      iss.Scheme + "://" + iss.Host,
		base:        strings.TrimSuffix(iss.Path, "/"),
		secure:      iss.Scheme == "https",
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.sessionTTL <= 0 {
		p.sessionTTL = 8 * time.Hour
	}
	if p.sessionIdle <= 0 {
		p.sessionIdle = time.Hour
	}
	if p.subject == nil {
		p.subject = func(_ oauth2.ClientInfo, userID string) (string, error) { return userID, nil }
	}
	if p.consentTTL <= 0 {
		p.consentTTL = 30 * 24 * time.Hour
	}
	p.throttle = &throttle.Limiter{}
	if cfg.Throttle != nil {
		*p.throttle = *cfg.Throttle
	}
	if p.throttle.KV == nil {
		p.throttle.KV = cfg.KV
	}
	if p.throttle.Name == "" {
		p.throttle.Name = "login"
	}
	if p.throttle.Now == nil {
		p.throttle.Now = p.now
	}
	p.clientAddr = cfg.ClientAddr
	if p.clientAddr == nil {
		p.clientAddr = func(r *http.Request) netip.Addr { return clientip.Peer(r.RemoteAddr) }
	}
	master, err := loadMasterKey(ctx, cfg.KV, cfg.Sealer)
	if err != nil {
		return nil, err
	}
	p.sessionKey = deriveKey(master, "session")
	p.csrfKey = deriveKey(master, "csrf")
	p.tmpl, err = template.New("").Funcs(template.FuncMap{
		"path":      p.path,
		"scopeText": scopeText,
		"claimText": claimText,
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	p.static = http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return p, nil
}

// path returns the absolute path of a page under the issuer's path.
func (p *Pages) path(page string) string { return p.base + page }

// securityHeaders are sent with every page (RFC 9700 4.16):
// no framing, no scripts or styles but our own files, no referrer, no
// caching of pages that carry CSRF tokens and personal data.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// Static serves the style sheet and images of the pages. Mount it at
// /static/ of a handler that sees paths relative to the issuer's path.
func (p *Pages) Static(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=3600")
	p.static.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Title string
	Error string
	// The login form, and why it is shown to a signed-in user.
	Username string
	Return   string
	CSRF     string
	Reason   string
	// The consent page and the login page of an authorization request.
	ClientID     string
	RedirectHost string
	Scopes       []string
	// Claims are the claims about the user the client will receive
	// (OpenID Connect Core 1.0 5.4, 5.5), on the consent page.
	Claims []string
	// User is the signed-in user; SignOut the CSRF token of the "Not
	// you? Sign out" form shown with it, and SignOutReturn where that
	// form leads back to once signed out.
	User          string
	SignOut       string
	SignOutReturn string
	// The consent page's form action when it is not /consent, and the
	// one-time reference of the authorization request it answers.
	Action  string
	Request string
	// The device pages (RFC 8628 3.3): the user code, and whether the
	// user denied the request.
	UserCode string
	Denied   bool
	// The error page, and notes on other pages.
	Message string
	// The account page: the applications the user allowed, and whether
	// the store keeps the index they are listed from.
	Applications []application
	Indexed      bool
	// The confirmation page of an RP-initiated logout: the client that
	// asks (OpenID Connect RP-Initiated Logout 1.0 2), "" when unknown.
	LogoutClient string
}

// render writes a page with the security headers.
func (p *Pages) render(w http.ResponseWriter, status int, name string, data page) {
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var buf strings.Builder
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// Error writes the error page: title and message are shown as text.
func (p *Pages) Error(w http.ResponseWriter, status int, title, message string) {
	p.render(w, status, "error.html", page{Title: title, Message: message})
}

// redirect answers with a 303 to a path of ours, with the security headers.
func (p *Pages) redirect(w http.ResponseWriter, r *http.Request, target string) {
	securityHeaders(w.Header())
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// unavailable logs a store failure of a page and shows the error page.
func (p *Pages) unavailable(w http.ResponseWriter, what string, err error) {
	p.log.Error(what, "err", err)
	p.Error(w, http.StatusServiceUnavailable, "Temporarily unavailable", msgUnavailable)
}

// NotFound writes the error page for an unknown path.
func (p *Pages) NotFound(w http.ResponseWriter, _ *http.Request) {
	p.Error(w, http.StatusNotFound, "Page not found", "There is nothing at this address.")
}

// Home shows what the server is, and who is signed in, with a form to
// sign out.
func (p *Pages) Home(w http.ResponseWriter, r *http.Request) {
	s, ok := p.currentSession(r)
	data := page{Title: "oauth2d"}
	if ok {
		p.signOutForm(w, r, &data, s, "")
	}
	p.render(w, http.StatusOK, "home.html", data)
}

// scopeDescriptions are shown under well-known scopes on the consent page.
var scopeDescriptions = map[string]string{
	"read":           "Read your data",
	"write":          "Create and change your data",
	"openid":         "Confirm who you are",
	"profile":        "See your basic profile",
	"email":          "See your email address",
	"address":        "See your postal address",
	"phone":          "See your phone number",
	"offline_access": "Keep access when you are not using the application",
}

func scopeText(s string) string { return scopeDescriptions[s] }
