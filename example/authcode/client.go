package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// clientCookie is the name of the client application's session cookie.
const clientCookie = "client_session"

// clientConfig is what the client application is set up with.
type clientConfig struct {
	ServerURL    string // the authorization server's base URL (its issuer)
	ClientURL    string // the client application's own base URL
	ClientID     string
	ClientSecret string
}

// clientApp is a web application that signs its users in with the
// authorization code grant and PKCE (RFC 6749 4.1, RFC 7636), using
// golang.org/x/oauth2.
type clientApp struct {
	cfg       oauth2.Config
	cc        clientcredentials.Config
	serverURL string
	http      *http.Client

	mu       sync.Mutex
	sessions map[string]*clientSession // by cookie value
}

// clientSession is one browser's state at the client.
type clientSession struct {
	state    string // the pending authorization request's state
	verifier string // its PKCE code verifier
	token    *oauth2.Token
}

// newClientApp returns the handler of the client application.
func newClientApp(cfg clientConfig) http.Handler {
	c := &clientApp{
		cfg: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Scopes:       []string{"read"},
			RedirectURL:  cfg.ClientURL + "/oauth2",
			Endpoint: oauth2.Endpoint{
				AuthURL:   cfg.ServerURL + "/authorize",
				TokenURL:  cfg.ServerURL + "/token",
				AuthStyle: oauth2.AuthStyleInHeader,
			},
		},
		cc: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.ServerURL + "/token",
			Scopes:       []string{"read"},
			AuthStyle:    oauth2.AuthStyleInHeader,
		},
		serverURL: cfg.ServerURL,
		http:      &http.Client{Timeout: 10 * time.Second},
		sessions:  make(map[string]*clientSession),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.start)
	mux.HandleFunc("GET /oauth2", c.callback)
	mux.HandleFunc("GET /refresh", c.refresh)
	mux.HandleFunc("GET /try", c.try)
	mux.HandleFunc("GET /client", c.clientCredentials)
	return mux
}

// ctx makes golang.org/x/oauth2 use the application's HTTP client.
func (c *clientApp) ctx(r *http.Request) context.Context {
	return context.WithValue(r.Context(), oauth2.HTTPClient, c.http)
}

// session returns the browser's session, creating one when create is set.
func (c *clientApp) session(w http.ResponseWriter, r *http.Request, create bool) *clientSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ck, err := r.Cookie(clientCookie); err == nil {
		if s, ok := c.sessions[ck.Value]; ok {
			return s
		}
	}
	if !create {
		return nil
	}
	id := rand.Text()
	s := &clientSession{}
	c.sessions[id] = s
	http.SetCookie(w, &http.Cookie{Name: clientCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return s
}

// start sends the browser to the authorization endpoint with a fresh state
// and PKCE challenge (RFC 7636 4.1-4.3).
func (c *clientApp) start(w http.ResponseWriter, r *http.Request) {
	s := c.session(w, r, true)
	state, verifier := rand.Text(), oauth2.GenerateVerifier()
	c.mu.Lock()
	s.state, s.verifier = state, verifier
	c.mu.Unlock()
	http.Redirect(w, r, c.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback is the redirect URI: it checks state and iss, then exchanges the
// code with its PKCE verifier (RFC 6749 4.1.2, 4.1.3; RFC 9207 2.4).
func (c *clientApp) callback(w http.ResponseWriter, r *http.Request) {
	s := c.session(w, r, false)
	if s == nil {
		http.Error(w, "No sign-in in progress: start at /", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	state, verifier := s.state, s.verifier
	s.state, s.verifier = "", ""
	c.mu.Unlock()
	q := r.URL.Query()
	if state == "" || !equal(q.Get("state"), state) {
		http.Error(w, "State invalid", http.StatusBadRequest)
		return
	}
	if iss := q.Get("iss"); iss != "" && iss != c.serverURL {
		http.Error(w, "Response from an unexpected issuer", http.StatusBadRequest)
		return
	}
	if e := q.Get("error"); e != "" {
		http.Error(w, "Authorization failed: "+e, http.StatusBadRequest)
		return
	}
	token, err := c.cfg.Exchange(c.ctx(r), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		http.Error(w, "Code exchange failed: "+oauthErrorCode(err), http.StatusBadGateway)
		return
	}
	c.mu.Lock()
	s.token = token
	c.mu.Unlock()
	writeToken(w, token)
}

// refresh uses the refresh token (RFC 6749 6): the server rotates it.
func (c *clientApp) refresh(w http.ResponseWriter, r *http.Request) {
	s := c.session(w, r, false)
	token := c.token(s)
	if token == nil {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	token.Expiry = time.Now() // make the token source refresh now
	fresh, err := c.cfg.TokenSource(c.ctx(r), token).Token()
	if err != nil {
		http.Error(w, "Refresh failed: "+oauthErrorCode(err), http.StatusBadGateway)
		return
	}
	c.mu.Lock()
	s.token = fresh
	c.mu.Unlock()
	writeToken(w, fresh)
}

// try calls the server's protected /test resource with the access token
// (RFC 6750 2.1) and shows its answer.
func (c *clientApp) try(w http.ResponseWriter, r *http.Request) {
	token := c.token(c.session(w, r, false))
	if token == nil {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, c.serverURL+"/test", nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	token.SetAuthHeader(req)
	resp, err := c.http.Do(req)
	if err != nil {
		http.Error(w, "The resource server did not answer", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, 1<<20))
}

// clientCredentials gets a token for the client itself (RFC 6749 4.4).
func (c *clientApp) clientCredentials(w http.ResponseWriter, r *http.Request) {
	token, err := c.cc.Token(c.ctx(r))
	if err != nil {
		http.Error(w, "Client credentials failed: "+oauthErrorCode(err), http.StatusBadGateway)
		return
	}
	writeToken(w, token)
}

// token returns a copy of the session's token, or nil.
func (c *clientApp) token(s *clientSession) *oauth2.Token {
	if s == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.token == nil {
		return nil
	}
	t := *s.token
	return &t
}

// writeToken shows the token to the user, as the seed's client did.
func writeToken(w http.ResponseWriter, token *oauth2.Token) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	e.Encode(token)
}

// oauthErrorCode returns the RFC 6749 5.2 error code of a failed token
// request, never the response body, which could echo a credential.
func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return re.ErrorCode
	}
	return "the token endpoint did not answer"
}
