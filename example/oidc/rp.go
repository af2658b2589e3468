package main

import (
	"context"
	"crypto/rand"
	"log"
	"net/http"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// rpConfig is what the relying party is set up with.
type rpConfig struct {
	// Issuer is the OpenID Provider's issuer: go-oidc discovers the rest
	// from its /.well-known/openid-configuration.
	Issuer       string
	RPURL        string // the relying party's own base URL
	ClientID     string
	ClientSecret string
}

// rp is a web application that signs its users in with OpenID Connect
// (Core 1.0 3.1, the authorization code flow) using
// github.com/coreos/go-oidc/v3 and golang.org/x/oauth2: discovery, state,
// nonce and PKCE, ID token verification, UserInfo.
type rp struct {
	cfg  rpConfig
	http *http.Client

	// The provider is discovered on first use, so that the relying party
	// may start before it.
	once     sync.Mutex
	provider *gooidc.Provider
	oauth    oauth2.Config

	mu       sync.Mutex
	sessions map[string]*rpSession // by cookie value
}

// rpSession is one browser's state at the relying party.
type rpSession struct {
	// The pending sign-in.
	state, nonce, verifier string
	// The signed-in user.
	token    *oauth2.Token
	subject  string
	name     string
	email    string
	authTime time.Time
	err      string
}

const rpCookie = "rp_session"

func newRP(cfg rpConfig) http.Handler {
	a := &rp{cfg: cfg, http: &http.Client{Timeout: 10 * time.Second}, sessions: map[string]*rpSession{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("GET /refresh", a.refresh)
	mux.HandleFunc("GET /logout", a.logout)
	return mux
}

// ctx makes go-oidc and golang.org/x/oauth2 use the application's client.
func (a *rp) ctx(r *http.Request) context.Context {
	return gooidc.ClientContext(r.Context(), a.http)
}

// discover returns the provider, discovering it once (OpenID Connect
// Discovery 1.0 4).
func (a *rp) discover(ctx context.Context) (*gooidc.Provider, oauth2.Config, error) {
	a.once.Lock()
	defer a.once.Unlock()
	if a.provider == nil {
		p, err := gooidc.NewProvider(ctx, a.cfg.Issuer)
		if err != nil {
			return nil, oauth2.Config{}, err
		}
		a.provider = p
		a.oauth = oauth2.Config{
			ClientID:     a.cfg.ClientID,
			ClientSecret: a.cfg.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  a.cfg.RPURL + "/callback",
			Scopes:       []string{gooidc.ScopeOpenID, "profile", "email"},
		}
	}
	return a.provider, a.oauth, nil
}

func (a *rp) session(w http.ResponseWriter, r *http.Request) *rpSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, err := r.Cookie(rpCookie); err == nil {
		if s, ok := a.sessions[c.Value]; ok {
			return s
		}
	}
	id := rand.Text()
	s := &rpSession{}
	a.sessions[id] = s
	http.SetCookie(w, &http.Cookie{Name: rpCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return s
}

type rpPage struct {
	Subject, Name, Email, AuthTime, Issuer, Error string
}

func (a *rp) home(w http.ResponseWriter, r *http.Request) {
	s := a.session(w, r)
	a.mu.Lock()
	data := rpPage{Subject: s.subject, Name: s.name, Email: s.email, Issuer: a.cfg.Issuer, Error: s.err}
	if !s.authTime.IsZero() {
		data.AuthTime = s.authTime.UTC().Format(time.RFC1123)
	}
	a.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, "rp.html", data); err != nil {
		log.Println("render:", err)
	}
}

// login sends the browser to the provider with a fresh state, nonce and
// PKCE challenge (Core 3.1.2.1, RFC 7636 4); ?prompt=none asks for a
// sign-in without any page, ?prompt=login for a fresh one.
func (a *rp) login(w http.ResponseWriter, r *http.Request) {
	_, cfg, err := a.discover(a.ctx(r))
	if err != nil {
		http.Error(w, "The provider could not be discovered.", http.StatusBadGateway)
		return
	}
	s := a.session(w, r)
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	a.mu.Lock()
	s.state, s.nonce, s.verifier, s.err = state, nonce, verifier, ""
	a.mu.Unlock()
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	switch p := r.URL.Query().Get("prompt"); p {
	case "none", "login":
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	http.Redirect(w, r, cfg.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback is the redirect URI: it checks state and iss, exchanges the
// code, verifies the ID token (signature, iss, aud, exp), its nonce and its
// at_hash, and reads the user's claims from UserInfo (Core 3.1.3.7, 5.3).
func (a *rp) callback(w http.ResponseWriter, r *http.Request) {
	p, cfg, err := a.discover(a.ctx(r))
	if err != nil {
		http.Error(w, "The provider could not be discovered.", http.StatusBadGateway)
		return
	}
	s := a.session(w, r)
	a.mu.Lock()
	state, nonce, verifier := s.state, s.nonce, s.verifier
	s.state, s.nonce, s.verifier = "", "", ""
	a.mu.Unlock()
	q := r.URL.Query()
	if state == "" || !equal(q.Get("state"), state) {
		http.Error(w, "State invalid", http.StatusBadRequest)
		return
	}
	if iss := q.Get("iss"); iss != "" && iss != a.cfg.Issuer {
		http.Error(w, "Response from an unexpected issuer", http.StatusBadRequest)
		return
	}
	fail := func(msg string) {
		a.mu.Lock()
		s.err = msg
		a.mu.Unlock()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
	if e := q.Get("error"); e != "" {
		fail(e) // login_required under prompt=none, access_denied, ...
		return
	}
	token, err := cfg.Exchange(a.ctx(r), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		fail("code exchange failed")
		return
	}
	rawID, _ := token.Extra("id_token").(string)
	idToken, err := p.Verifier(&gooidc.Config{ClientID: a.cfg.ClientID}).Verify(a.ctx(r), rawID)
	if err != nil {
		fail("invalid ID token")
		return
	}
	if !equal(idToken.Nonce, nonce) {
		fail("ID token nonce does not match")
		return
	}
	if err := idToken.VerifyAccessToken(token.AccessToken); err != nil {
		fail("ID token at_hash does not match")
		return
	}
	var claims struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := idToken.Claims(&claims); err != nil {
		fail("ID token claims")
		return
	}
	info, err := p.UserInfo(a.ctx(r), oauth2.StaticTokenSource(token))
	if err != nil || info.Subject != idToken.Subject {
		fail("UserInfo failed")
		return
	}
	var profile struct {
		Name string `json:"name"`
	}
	if err := info.Claims(&profile); err != nil {
		fail("UserInfo claims")
		return
	}
	a.mu.Lock()
	s.token, s.subject, s.name, s.email = token, idToken.Subject, profile.Name, info.Email
	s.authTime = time.Unix(claims.AuthTime, 0)
	a.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// refresh uses the refresh token and verifies the new ID token (Core 12.2):
// same sub, no nonce.
func (a *rp) refresh(w http.ResponseWriter, r *http.Request) {
	p, cfg, err := a.discover(a.ctx(r))
	if err != nil {
		http.Error(w, "The provider could not be discovered.", http.StatusBadGateway)
		return
	}
	s := a.session(w, r)
	a.mu.Lock()
	token, subject := s.token, s.subject
	a.mu.Unlock()
	if token == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	old := *token
	old.Expiry = time.Now() // make the token source refresh now
	fresh, err := cfg.TokenSource(a.ctx(r), &old).Token()
	if err != nil {
		http.Error(w, "Refresh failed", http.StatusBadGateway)
		return
	}
	rawID, _ := fresh.Extra("id_token").(string)
	idToken, err := p.Verifier(&gooidc.Config{ClientID: a.cfg.ClientID}).Verify(a.ctx(r), rawID)
	if err != nil || idToken.Subject != subject || idToken.Nonce != "" {
		http.Error(w, "Invalid ID token on refresh", http.StatusBadGateway)
		return
	}
	a.mu.Lock()
	s.token = fresh
	a.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout forgets the user at the relying party only.
func (a *rp) logout(w http.ResponseWriter, r *http.Request) {
	s := a.session(w, r)
	a.mu.Lock()
	*s = rpSession{}
	a.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
