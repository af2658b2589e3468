package baretoken

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	oerrors "github.com/oauth2d/oauth2/errors"
)

// CodeHandler is the baseline of the OpenID Connect code exchange (RFC 6749
// 4.1.3, RFC 7636 4.6, OpenID Connect Core 1.0 3.1.3): the least a token
// endpoint must do to answer it with an access token, a refresh token and
// a signed ID token.
type CodeHandler struct {
	h      *Handler
	header string
	codes  sync.Map // code -> codeGrant
	tokens sync.Map // access token -> client ID
}

type codeGrant struct {
	clientID, userID, redirectURI, challenge, nonce string
	authTime                                        int64
}

type idClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	AuthTime int64  `json:"auth_time"`
	Nonce    string `json:"nonce"`
	AtHash   string `json:"at_hash"`
}

type codeResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// NewCodeHandler returns the code exchange baseline for the one client
// clientID with clientSecret, signing ID tokens with s.
func NewCodeHandler(clientID, clientSecret string, s Signer) *CodeHandler {
	return &CodeHandler{
		h:      New(clientID, clientSecret, WithSigner(s)),
		header: base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"alg":%q,"kid":"k1","typ":"JWT"}`, s.Alg())),
	}
}

// Add issues code to the handler's client for userID, redirectURI and the
// S256 PKCE challenge (RFC 7636 4.2), with the nonce of the
// authentication request, as an authorization endpoint would.
func (c *CodeHandler) Add(code, userID, redirectURI, challenge, nonce string) {
	c.codes.Store(code, codeGrant{clientID: c.h.clientID, userID: userID, redirectURI: redirectURI,
		challenge: challenge, nonce: nonce, authTime: time.Now().Unix()})
}

// ServeToken exchanges a code: it authenticates the client in constant
// time, consumes the code once, checks its client, redirect_uri and PKCE
// verifier, makes and keeps the tokens, and signs the ID token with its
// at_hash (Core 3.1.3.6).
func (c *CodeHandler) ServeToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		writeError(w, oerrors.ErrInvalidRequest)
		return
	}
	if !c.h.authenticate(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		writeError(w, oerrors.ErrInvalidClient)
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		writeError(w, oerrors.ErrUnsupportedGrantType)
		return
	}
	v, ok := c.codes.LoadAndDelete(r.PostForm.Get("code"))
	g, _ := v.(codeGrant)
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || g.clientID != c.h.clientID || g.redirectURI != r.PostForm.Get("redirect_uri") ||
		subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
		writeError(w, oerrors.ErrInvalidGrant)
		return
	}
	var raw [64]byte
	if _, err := rand.Read(raw[:]); err != nil {
		writeError(w, err)
		return
	}
	access, refresh := base64.RawURLEncoding.EncodeToString(raw[:32]), base64.RawURLEncoding.EncodeToString(raw[32:])
	c.tokens.Store(access, g.clientID)
	now := time.Now()
	at := sha256.Sum256([]byte(access))
	payload, err := json.Marshal(idClaims{Iss: issuer, Sub: g.userID, Aud: g.clientID, Exp: now.Add(time.Hour).Unix(),
		Iat: now.Unix(), AuthTime: g.authTime, Nonce: g.nonce, AtHash: base64.RawURLEncoding.EncodeToString(at[:16])})
	if err != nil {
		writeError(w, err)
		return
	}
	input := c.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := c.h.signer.Sign([]byte(input))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, codeResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(tokenTTL / time.Second),
		RefreshToken: refresh, IDToken: input + "." + base64.RawURLEncoding.EncodeToString(sig)})
}
