package main

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/models/secrethash"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// serverConfig is what the authorization server is set up with.
type serverConfig struct {
	// Issuer is the server's base URL, sent as "iss" with every
	// authorization response (RFC 9207).
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURI is the client's one registered redirect URI.
	RedirectURI string
	// Users maps user names to passwords; they are hashed with argon2id at
	// start-up and only the hashes are kept.
	Users map[string]string
}

// authServer is the authorization server: the library's Server, plus the
// login and consent pages the library leaves to the application.
type authServer struct {
	srv      *server.Server
	users    map[string]string // user name -> argon2id hash
	sessions *sessions
	throttle *throttle
}

// newAuthServer returns the handler of the authorization server.
func newAuthServer(cfg serverConfig) (http.Handler, error) {
	manager := manage.NewDefaultManager()
	manager.SetAuthorizeCodeTokenCfg(manage.DefaultAuthorizeCodeTokenCfg)
	// Every client must use PKCE (RFC 7636), as OAuth 2.1 asks.
	manager.SetPKCE(manage.PKCEConfig{Required: true})
	manager.MustTokenStorage(store.NewMemoryTokenStore())

	clientStore := store.NewClientStore()
	if err := clientStore.Set(cfg.ClientID, &models.Client{
		ID:           cfg.ClientID,
		Secret:       cfg.ClientSecret,
		RedirectURIs: []string{cfg.RedirectURI},
		GrantTypes:   []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials},
		Scopes:       []string{"read", "write"},
	}); err != nil {
		return nil, err
	}
	manager.MapClientStorage(clientStore)

	cfgSrv := server.NewConfig()
	cfgSrv.Issuer = cfg.Issuer
	a := &authServer{
		srv:      server.NewServer(cfgSrv, manager),
		users:    make(map[string]string, len(cfg.Users)),
		sessions: newSessions(),
		throttle: newThrottle(5, 15*time.Minute),
	}
	for name, password := range cfg.Users {
		hash, err := secrethash.Hash(password)
		if err != nil {
			return nil, err
		}
		a.users[name] = hash
	}
	a.srv.SetUserAuthorizationHandler(a.userAuthorize)
	a.srv.SetInternalErrorHandler(func(err error) (re *errors.Response) {
		log.Println("Internal Error:", err.Error())
		return
	})

	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		// The server answers every request itself; an error it returns
		// was shown to the user agent because the client or redirect URI
		// was not valid (RFC 6749 4.1.2.1).
		if err := a.srv.HandleAuthorizeRequest(w, r); err != nil {
			log.Println("authorization request refused:", errors.Code(err))
		}
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		a.srv.HandleTokenRequest(w, r)
	})
	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET /consent", a.consentPage)
	mux.HandleFunc("POST /consent", a.consent)
	mux.HandleFunc("/test", a.test)
	return mux, nil
}

// userAuthorize is the server's UserAuthorizationHandler. It sends a
// browser that has not signed in to the login page, then to the consent
// page, and returns the user once the user has allowed this very request.
func (a *authServer) userAuthorize(w http.ResponseWriter, r *http.Request) (string, error) {
	if err := r.ParseForm(); err != nil {
		return "", errors.ErrInvalidRequest
	}
	sess := a.sessions.load(r)
	request := r.Form.Encode()
	switch {
	case sess.User == "":
		sess.Pending, sess.Consent = request, ""
		a.sessions.save(w, r, sess)
		http.Redirect(w, r, "/login", http.StatusFound)
		return "", nil
	case sess.Pending != request || sess.Consent == "":
		sess.Pending, sess.Consent = request, ""
		a.sessions.save(w, r, sess)
		http.Redirect(w, r, "/consent", http.StatusFound)
		return "", nil
	}
	// The decision answers this request only once.
	decision := sess.Consent
	sess.Pending, sess.Consent = "", ""
	a.sessions.save(w, r, sess)
	if decision != "allow" {
		return "", errors.ErrAccessDenied
	}
	return sess.User, nil
}

// pageHeaders keep the login and consent pages out of frames, caches and
// Referer headers.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
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
	CSRF, Username, Error string
}

func (a *authServer) loginPage(w http.ResponseWriter, r *http.Request) {
	sess := a.sessions.load(r)
	a.sessions.save(w, r, sess)
	render(w, http.StatusOK, "login.html", loginData{CSRF: sess.CSRF})
}

// login checks the user name and password against the argon2id hashes.
func (a *authServer) login(w http.ResponseWriter, r *http.Request) {
	sess := a.sessions.load(r)
	if !equal(r.PostFormValue("csrf"), sess.CSRF) {
		http.Error(w, "The form has expired; go back and try again.", http.StatusForbidden)
		return
	}
	if sess.Pending == "" {
		http.Error(w, "No authorization request is waiting; start from the client application.", http.StatusBadRequest)
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	if !a.throttle.allow(username) {
		render(w, http.StatusTooManyRequests, "login.html", loginData{CSRF: sess.CSRF, Username: username,
			Error: "Too many failed sign-ins; try again later."})
		return
	}
	hash, known := a.users[username]
	ok := false
	if known {
		ok = secrethash.Verify(hash, password)
	} else {
		// Take as long as for a known user, so that timing does not tell
		// which user names exist.
		secrethash.VerifyMissing(password)
	}
	if !ok {
		a.throttle.fail(username)
		render(w, http.StatusUnauthorized, "login.html", loginData{CSRF: sess.CSRF, Username: username,
			Error: "Invalid username or password."})
		return
	}
	a.throttle.reset(username)
	sess.User = username
	sess.CSRF = rand.Text() // a new session identity after sign-in
	a.sessions.save(w, r, sess)
	http.Redirect(w, r, "/consent", http.StatusSeeOther)
}

type consentData struct {
	CSRF, User, ClientID string
	Scopes               []string
}

func (a *authServer) consentPage(w http.ResponseWriter, r *http.Request) {
	sess := a.sessions.load(r)
	if sess.User == "" || sess.Pending == "" {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	// Pending was validated by the server before it was saved.
	req, _ := url.ParseQuery(sess.Pending)
	render(w, http.StatusOK, "consent.html", consentData{
		CSRF:     sess.CSRF,
		User:     sess.User,
		ClientID: req.Get("client_id"),
		Scopes:   strings.Fields(req.Get("scope")),
	})
}

// consent records the decision and sends the browser back to the
// authorization endpoint, which answers the client: with a code, or with
// access_denied (RFC 6749 4.1.2.1).
func (a *authServer) consent(w http.ResponseWriter, r *http.Request) {
	sess := a.sessions.load(r)
	if !equal(r.PostFormValue("csrf"), sess.CSRF) {
		http.Error(w, "The form has expired; go back and try again.", http.StatusForbidden)
		return
	}
	if sess.User == "" || sess.Pending == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	switch d := r.PostFormValue("consent"); d {
	case "allow", "deny":
		sess.Consent = d
	default:
		http.Error(w, "Choose Allow or Deny.", http.StatusBadRequest)
		return
	}
	a.sessions.save(w, r, sess)
	http.Redirect(w, r, "/authorize?"+sess.Pending, http.StatusSeeOther)
}

// test is a protected resource: it describes the bearer token it is
// called with (RFC 6750 2.1), as the seed's /test did.
func (a *authServer) test(w http.ResponseWriter, r *http.Request) {
	// A Bearer token, or a DPoP-bound one with a proof of its key (RFC
	// 9449 7); the answer to a refused request carries the challenge.
	ti, err := a.srv.ValidateResourceRequest(w, r)
	if err != nil {
		a.srv.WriteResourceError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	e.Encode(map[string]any{
		"expires_in": int64(time.Until(ti.GetAccessCreateAt().Add(ti.GetAccessExpiresIn())).Seconds()),
		"client_id":  ti.GetClientID(),
		"user_id":    ti.GetUserID(),
		"scope":      ti.GetScope(),
	})
}

// throttle counts failed sign-ins per user name in fixed windows.
type throttle struct {
	max    int
	window time.Duration
	mu     sync.Mutex
	fails  map[string]failures
}

type failures struct {
	count int
	since time.Time
}

func newThrottle(max int, window time.Duration) *throttle {
	return &throttle{max: max, window: window, fails: make(map[string]failures)}
}

func (t *throttle) allow(user string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.fails[user]
	if ok && time.Since(f.since) > t.window {
		delete(t.fails, user)
		return true
	}
	return f.count < t.max
}

func (t *throttle) fail(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.fails[user]
	if !ok || time.Since(f.since) > t.window {
		f = failures{since: time.Now()}
	}
	f.count++
	t.fails[user] = f
}

func (t *throttle) reset(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, user)
}

// equal compares a presented value with the expected one in constant time;
// an empty expected value equals nothing.
func equal(presented, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(want)) == 1
}
