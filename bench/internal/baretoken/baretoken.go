// Package baretoken is the baseline of the load benchmark: bare net/http
// handlers that do the least a token endpoint must (RFC 6749 4.4, 5.1) and
// the least an introspection endpoint must (RFC 7662 2), without the
// library. The library's figures are compared with these.
package baretoken

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	oerrors "github.com/oauth2d/oauth2/errors"
)

// tokenTTL is the lifetime of the issued access tokens, the library's
// default for client_credentials.
const tokenTTL = 2 * time.Hour

// issuer is the iss and aud of the signed tokens.
const issuer = "http://127.0.0.1:9190"

// Handler serves POST /token for the client_credentials grant with
// client_secret_basic, and, when it keeps its tokens, POST /introspect.
type Handler struct {
	clientID     string
	secretDigest [sha256.Size]byte
	signer       Signer // nil: opaque tokens
	header       string // base64url JWS header, when signing
	tokens       *sync.Map
	dpopKey      *ecdsa.PublicKey // WithDPoP (dpop.go)
}

// Option configures a Handler.
type Option func(*Handler)

// WithSigner makes the handler issue tokens signed by s, shaped as a JWT
// (RFC 7519 3) with a payload of about 300 bytes.
func WithSigner(s Signer) Option {
	return func(h *Handler) {
		h.signer = s
		h.header = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"alg":%q,"typ":"at+jwt"}`, s.Alg()))
	}
}

// WithStore makes the handler keep the tokens it issues, so that
// ServeIntrospect can find them.
func WithStore() Option {
	return func(h *Handler) { h.tokens = new(sync.Map) }
}

// New returns a handler for the one client clientID with clientSecret.
func New(clientID, clientSecret string, opts ...Option) *Handler {
	h := &Handler{clientID: clientID, secretDigest: sha256.Sum256([]byte(clientSecret))}
	for _, o := range opts {
		o(h)
	}
	return h
}

type record struct {
	clientID string
	scope    string
	exp      int64
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

type claims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Iat      int64  `json:"iat"`
	Exp      int64  `json:"exp"`
	Jti      string `json:"jti"`
}

// ServeToken is the token endpoint (RFC 6749 4.4.2, 4.4.3): it parses the
// form, authenticates the client with client_secret_basic in constant time
// (RFC 6749 2.3.1), makes 32 random bytes and answers with the token.
func (h *Handler) ServeToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, oerrors.WithDescription(oerrors.ErrInvalidRequest, "POST only"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, oerrors.ErrInvalidRequest)
		return
	}
	if !h.authenticate(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		writeError(w, oerrors.ErrInvalidClient)
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeError(w, oerrors.ErrUnsupportedGrantType)
		return
	}
	if h.dpopKey != nil && !h.verifyProof(r) {
		writeError(w, oerrors.ErrInvalidDPoPProof)
		return
	}
	token, err := h.Issue(r.PostForm.Get("scope"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, tokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(tokenTTL / time.Second)})
}

// Issue makes an access token for the handler's client, and keeps it when
// the handler has a store.
func (h *Handler) Issue(scope string) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("baretoken: random: %w", err)
	}
	now := time.Now()
	exp := now.Add(tokenTTL).Unix()
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	if h.signer != nil {
		payload, err := json.Marshal(claims{
			Iss: issuer, Sub: h.clientID, Aud: issuer, ClientID: h.clientID, Scope: scope,
			Iat: now.Unix(), Exp: exp, Jti: token,
		})
		if err != nil {
			return "", fmt.Errorf("baretoken: claims: %w", err)
		}
		input := h.header + "." + base64.RawURLEncoding.EncodeToString(payload)
		sig, err := h.signer.Sign([]byte(input))
		if err != nil {
			return "", err
		}
		token = input + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	if h.tokens != nil {
		h.tokens.Store(token, record{clientID: h.clientID, scope: scope, exp: exp})
	}
	return token, nil
}

type introspectionResponse struct {
	Active    bool   `json:"active"`
	ClientID  string `json:"client_id,omitempty"`
	Scope     string `json:"scope,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
}

// ServeIntrospect is the introspection endpoint (RFC 7662 2.1, 2.2): it
// authenticates the caller, looks the token up and answers whether it is
// active. It needs WithStore.
func (h *Handler) ServeIntrospect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, oerrors.WithDescription(oerrors.ErrInvalidRequest, "POST only"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, oerrors.ErrInvalidRequest)
		return
	}
	if !h.authenticate(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="introspect"`)
		writeError(w, oerrors.ErrInvalidClient)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeError(w, oerrors.ErrInvalidRequest)
		return
	}
	resp := introspectionResponse{}
	if h.tokens != nil {
		if v, ok := h.tokens.Load(token); ok {
			rec := v.(record)
			if time.Now().Unix() < rec.exp {
				resp = introspectionResponse{Active: true, ClientID: rec.clientID, Scope: rec.scope, TokenType: "Bearer", Exp: rec.exp}
			}
		}
	}
	writeJSON(w, resp)
}

// authenticate checks client_secret_basic: the id and secret are
// form-encoded inside the header (RFC 6749 2.3.1); the secret is compared
// in constant time.
func (h *Handler) authenticate(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil {
		return false
	}
	d := sha256.Sum256([]byte(secret))
	secretOK := subtle.ConstantTimeCompare(d[:], h.secretDigest[:]) == 1
	return secretOK && id == h.clientID
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json;charset=UTF-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	w.Write(b)
}

// writeError answers with the RFC 6749 5.2 error body that the catalog
// maps err to.
func writeError(w http.ResponseWriter, err error) {
	code, status, desc := oerrors.Lookup(err)
	b, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code.Error(), desc})
	hd := w.Header()
	hd.Set("Content-Type", "application/json;charset=UTF-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
