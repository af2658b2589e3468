package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/models/secrethash"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// user is an End-User of the provider.
type user struct {
	Password string // in the clear in the configuration; only its hash is kept
	Claims   oidc.Claims
}

// providerConfig is what the OpenID Provider is set up with.
type providerConfig struct {
	// Issuer is the provider's base URL, the iss of its ID tokens.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURI is the relying party's one registered redirect URI.
	RedirectURI string
	Users       map[string]user
}

// provider is the OpenID Provider: the library's Server, and the sessions,
// login page and consent page the library leaves to the application.
type provider struct {
	srv    *server.Server
	hashes map[string]string // user name -> argon2id hash
	claims map[string]*oidc.Claims

	mu       sync.Mutex
	sessions map[string]*session // by cookie value
}

// session is one browser's session at the provider.
type session struct {
	// csrf is the token the login and consent forms must send back.
	csrf string
	// user is the signed-in End-User, "" before sign-in; authTime is when
	// they signed in, and sid their session's ID in ID tokens (never the
	// cookie value).
	user     string
	authTime time.Time
	sid      string
	expires  time.Time
	// consents holds, per client, the scope values the End-User allowed.
	consents map[string][]string
	// done records, per pending authorization request (its URL), what
	// the End-User did on the pages while it was pending: "login",
	// "consent" or "deny". The server needs it for prompt=login, max_age
	// and prompt=consent, which a page shown during the request satisfies.
	done map[string]map[string]bool
}

const (
	sessionCookie = "op_session"
	sessionTTL    = 8 * time.Hour
)

// newProvider returns the handler of the OpenID Provider.
func newProvider(cfg providerConfig) (http.Handler, error) {
	manager := manage.NewDefaultManager()
	// Every client must use PKCE (RFC 7636), as OAuth 2.1 asks.
	manager.SetPKCE(manage.PKCEConfig{Required: true})
	// The memory store keeps, with each code and token, the grant's
	// extension data (oauth2.ExtendableTokenInfo): the nonce, auth_time and
	// claims request that the grant's ID tokens need.
	manager.MustTokenStorage(store.NewMemoryTokenStore())
	clients := store.NewClientStore()
	if err := clients.Set(cfg.ClientID, &models.Client{
		ID:           cfg.ClientID,
		Secret:       cfg.ClientSecret,
		RedirectURIs: []string{cfg.RedirectURI},
		GrantTypes:   []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.Refreshing},
		Scopes:       []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail},
	}); err != nil {
		return nil, err
	}
	manager.MapClientStorage(clients)

	// The signing key: RS256, which every relying party supports (OpenID
	// Connect Core 1.0 15.1). A real provider keeps it, and rotates it
	// with KeySet.Schedule.
	key, err := generates.GenerateSigningKey("RS256")
	if err != nil {
		return nil, err
	}
	keys := generates.NewKeySet()
	if err := keys.Add(generates.SigningKey{Method: jwt.SigningMethodRS256, Key: key}, true); err != nil {
		return nil, err
	}
	idTokens, err := generates.NewJWTIDTokenGenerate(keys, cfg.Issuer)
	if err != nil {
		return nil, err
	}
	// With an ID token generator the server is an OpenID Provider.
	manager.MapIDTokenGenerate(idTokens)

	srvCfg := server.NewConfig()
	srvCfg.Issuer = cfg.Issuer
	p := &provider{
		srv:      server.NewServer(srvCfg, manager),
		hashes:   make(map[string]string, len(cfg.Users)),
		claims:   make(map[string]*oidc.Claims, len(cfg.Users)),
		sessions: make(map[string]*session),
	}
	for name, u := range cfg.Users {
		hash, err := secrethash.Hash(u.Password)
		if err != nil {
			return nil, err
		}
		p.hashes[name] = hash
		claims := u.Claims
		p.claims[name] = &claims
	}
	p.srv.SetKeySet(keys)
	p.srv.SetUserClaimsHandler(p.userClaims)
	p.srv.SetUserAuthenticationHandler(p.authenticate)
	p.srv.SetInternalErrorHandler(func(err error) *errors.Response {
		log.Println("internal error:", err)
		return nil
	})

	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		// The server answers every request itself; an error it returns
		// means its PreRedirectErrorHandler failed.
		if err := p.srv.HandleAuthorizeRequest(w, r); err != nil {
			http.Error(w, "The request could not be answered.", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) { _ = p.srv.HandleTokenRequest(w, r) })
	mux.HandleFunc(server.PathUserInfo, p.srv.HandleUserInfoRequest)
	mux.HandleFunc(server.OpenIDConfigurationPath(cfg.Issuer), p.srv.HandleOpenIDConfigurationRequest)
	mux.HandleFunc(server.PathJWKS, p.srv.HandleJWKSRequest)
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("GET /consent", p.consentPage)
	mux.HandleFunc("POST /consent", p.consent)
	return mux, nil
}

// userClaims is the server's UserClaimsHandler: the End-User's claims,
// of which ID tokens and UserInfo release what the grant asked for.
func (p *provider) userClaims(_ context.Context, userID string) (*oidc.Claims, error) {
	c, ok := p.claims[userID]
	if !ok {
		return nil, fmt.Errorf("user %q: %w", userID, oauth2.ErrNotFound)
	}
	return c, nil
}

// authenticate is the server's UserAuthenticationHandler. Asked who is
// signed in (InteractionNone), it reads the session and writes nothing;
// asked for a page, it redirects there. The server decides, from prompt,
// max_age and id_token_hint, which page is needed, if any.
func (p *provider) authenticate(w http.ResponseWriter, r *http.Request, req *server.AuthorizeRequest) (*server.Authentication, error) {
	ret := returnPath(r)
	switch req.Interaction {
	case server.InteractionNone:
		p.mu.Lock()
		defer p.mu.Unlock()
		s := p.sessionLocked(r)
		if s == nil || s.user == "" {
			return nil, nil
		}
		if s.done[ret]["deny"] {
			delete(s.done, ret)
			return nil, errors.ErrAccessDenied
		}
		return &server.Authentication{
			UserID:           s.user,
			AuthTime:         s.authTime,
			AMR:              []string{"pwd"},
			SessionID:        s.sid,
			Consented:        consented(s.consents[req.ClientID], req.Scope),
			AuthenticatedNow: s.done[ret]["login"],
			ConsentedNow:     s.done[ret]["consent"],
		}, nil
	case server.InteractionLogin:
		q := url.Values{"return": {ret}, "reason": {req.Reason.String()}}
		if req.OpenID != nil && req.OpenID.LoginHint != "" {
			q.Set("login_hint", req.OpenID.LoginHint)
		}
		http.Redirect(w, r, "/login?"+q.Encode(), http.StatusFound)
	default:
		http.Redirect(w, r, "/consent?"+url.Values{"return": {ret}}.Encode(), http.StatusFound)
	}
	return nil, nil
}

// consented reports whether allowed has every value of scope.
func consented(allowed []string, scope string) bool {
	for _, v := range strings.Fields(scope) {
		if !slices.Contains(allowed, v) {
			return false
		}
	}
	return allowed != nil
}

// returnPath is the path and query of the authorization request, where
// the pages send the browser back to.
func returnPath(r *http.Request) string {
	if r.Method == http.MethodPost {
		return "/authorize?" + r.Form.Encode()
	}
	return "/authorize?" + r.URL.RawQuery
}

// validReturn accepts only a return path to the authorization endpoint, so
// that the pages are no open redirector.
func validReturn(ret string) bool {
	return strings.HasPrefix(ret, "/authorize?") && !strings.ContainsAny(ret, "\\\r\n")
}

// sessionLocked returns the live session of the request's cookie, nil
// when none. p.mu must be held.
func (p *provider) sessionLocked(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s, ok := p.sessions[c.Value]
	if !ok || time.Now().After(s.expires) {
		delete(p.sessions, c.Value)
		return nil
	}
	return s
}

// startSession returns the request's session, or a new one with its
// cookie.
func (p *provider) startSession(w http.ResponseWriter, r *http.Request) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.sessionLocked(r); s != nil {
		return s
	}
	id := rand.Text()
	s := &session{csrf: rand.Text(), expires: time.Now().Add(sessionTTL), consents: map[string][]string{}, done: map[string]map[string]bool{}}
	p.sessions[id] = s
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return s
}

func (s *session) mark(ret, what string) {
	if s.done[ret] == nil {
		s.done[ret] = map[string]bool{}
	}
	s.done[ret][what] = true
}

// pageHeaders keep the pages out of frames, caches and Referer headers.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func render(w http.ResponseWriter, status int, name string, data any) {
	pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		log.Println("render:", err)
	}
}

type loginData struct {
	CSRF, Return, Username, Message, Error string
}

// loginMessages say why the login page is shown.
var loginMessages = map[string]string{
	oidc.ReasonPromptLogin.String(): "The application asks you to sign in again.",
	oidc.ReasonMaxAge.String():      "Your sign-in is too old for this application: please sign in again.",
	oidc.ReasonOtherUser.String():   "The application expects another account: please sign in with it.",
}

func (p *provider) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !validReturn(q.Get("return")) {
		http.Error(w, "Start from the application.", http.StatusBadRequest)
		return
	}
	s := p.startSession(w, r)
	p.mu.Lock()
	csrf := s.csrf
	p.mu.Unlock()
	render(w, http.StatusOK, "login.html", loginData{CSRF: csrf, Return: q.Get("return"),
		Username: q.Get("login_hint"), Message: loginMessages[q.Get("reason")]})
}

// login checks the password against the argon2id hash, signs the user in
// and sends the browser back to the authorization request, with 303.
func (p *provider) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ret, username, password := r.PostFormValue("return"), r.PostFormValue("username"), r.PostFormValue("password")
	p.mu.Lock()
	s := p.sessionLocked(r)
	csrf := ""
	if s != nil {
		csrf = s.csrf
	}
	p.mu.Unlock()
	if s == nil || !equal(r.PostFormValue("csrf"), csrf) || !validReturn(ret) {
		http.Error(w, "The form has expired; go back to the application and try again.", http.StatusForbidden)
		return
	}
	hash, known := p.hashes[username]
	ok := false
	if known {
		ok = secrethash.Verify(hash, password)
	} else {
		secrethash.VerifyMissing(password) // as long as for a known user
	}
	if !ok {
		render(w, http.StatusUnauthorized, "login.html", loginData{CSRF: csrf, Return: ret, Username: username,
			Error: "Invalid username or password."})
		return
	}
	p.mu.Lock()
	if s.user != username {
		s.consents = map[string][]string{}
	}
	s.user, s.authTime, s.sid = username, time.Now(), rand.Text()
	s.csrf = rand.Text() // a new form identity after sign-in
	s.mark(ret, "login")
	p.mu.Unlock()
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

type consentData struct {
	CSRF, Return, User, ClientID string
	Claims                       []string
}

// consentRequest reads the pending authorization request of the consent
// page, or writes an error.
func (p *provider) consentRequest(w http.ResponseWriter, r *http.Request, ret string) (*session, url.Values, bool) {
	p.mu.Lock()
	s := p.sessionLocked(r)
	signedIn := s != nil && s.user != ""
	p.mu.Unlock()
	if !signedIn || !validReturn(ret) {
		http.Error(w, "Your session has ended; go back to the application and try again.", http.StatusForbidden)
		return nil, nil, false
	}
	q, err := url.ParseQuery(strings.TrimPrefix(ret, "/authorize?"))
	if err != nil {
		http.Error(w, "Invalid request.", http.StatusBadRequest)
		return nil, nil, false
	}
	return s, q, true
}

// consentPage lists the claims the application will receive, by the
// scope values it asks for (OpenID Connect Core 1.0 5.4).
func (p *provider) consentPage(w http.ResponseWriter, r *http.Request) {
	ret := r.URL.Query().Get("return")
	s, q, ok := p.consentRequest(w, r, ret)
	if !ok {
		return
	}
	p.mu.Lock()
	data := consentData{CSRF: s.csrf, Return: ret, User: s.user, ClientID: q.Get("client_id"),
		Claims: oidc.ScopeClaims(q.Get("scope")).Names()}
	p.mu.Unlock()
	render(w, http.StatusOK, "consent.html", data)
}

// consent records the decision and sends the browser back to the
// authorization request, which answers the client: with a code, or with
// access_denied.
func (p *provider) consent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ret := r.PostFormValue("return")
	s, q, ok := p.consentRequest(w, r, ret)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !equal(r.PostFormValue("csrf"), s.csrf) {
		http.Error(w, "The form has expired; go back to the application and try again.", http.StatusForbidden)
		return
	}
	switch r.PostFormValue("consent") {
	case "allow":
		client := q.Get("client_id")
		for _, v := range strings.Fields(q.Get("scope")) {
			if !slices.Contains(s.consents[client], v) {
				s.consents[client] = append(s.consents[client], v)
			}
		}
		s.mark(ret, "consent")
	case "deny":
		s.mark(ret, "deny")
	default:
		http.Error(w, "Choose Allow or Deny.", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

// equal compares a presented value with the expected one in constant time;
// an empty expected value equals nothing.
func equal(presented, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(want)) == 1
}
