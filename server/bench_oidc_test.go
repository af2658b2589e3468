package server_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	oauth2d "github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

// The authorization code exchange of an OpenID Connect grant (Core
// 3.1.3): the token endpoint answers with an access token, a refresh token
// and an ID token signed with RS256 or ES256. The library is compared with
// the least a handler must do for it: parse the form, authenticate the
// client in constant time, consume the code once, check redirect_uri and
// the PKCE verifier, make the two tokens, keep them, and sign the ID token
// with the raw signature of the standard library.

const (
	oidcBenchIssuer = "https://op.example.com"
	benchRedirect   = "https://rp.example.com/cb"
	benchNonce      = "n-0S6_WzA2Mj"
	benchBatch      = 64
)

var benchAlgs = []string{"RS256", "ES256"}

// benchKeys are made once per algorithm: RSA key generation is slow.
var benchKeys = sync.OnceValue(func() map[string]crypto.Signer {
	out := map[string]crypto.Signer{}
	for _, alg := range benchAlgs {
		k, err := generates.GenerateSigningKey(alg)
		if err != nil {
			panic(err)
		}
		out[alg] = k
	}
	return out
})

// codeBody is the token request that exchanges code.
func codeBody(code string) string {
	return "grant_type=authorization_code&code=" + code + "&redirect_uri=" + url.QueryEscape(benchRedirect) +
		"&code_verifier=" + rfcVerifier
}

func codeRequest(code string) *http.Request {
	body := codeBody(code)
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(confID, confSecret)
	return r
}

// libraryCodeBench is the library set up as its users do for OpenID
// Connect: the default manager and memory store, an ID token generator of
// alg mapped on the manager.
type libraryCodeBench struct {
	srv    *server.Server
	mgr    *manage.Manager
	client *models.Client
	ext    url.Values
}

func newLibraryCodeBench(b *testing.B, alg string) *libraryCodeBench {
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		b.Fatal(err)
	}
	l := &libraryCodeBench{client: &models.Client{ID: confID, Secret: confSecret, RedirectURIs: []string{benchRedirect}}}
	clients := store.NewClientStore()
	if err := clients.Set(confID, l.client); err != nil {
		b.Fatal(err)
	}
	l.mgr = manage.NewDefaultManager()
	l.mgr.MapTokenStorage(ts)
	l.mgr.MapClientStorage(clients)
	ks := generates.NewKeySet()
	if err := ks.Add(generates.SigningKey{Method: jwt.GetSigningMethod(alg), Key: benchKeys()[alg]}, true); err != nil {
		b.Fatal(err)
	}
	gen, err := generates.NewJWTIDTokenGenerate(ks, oidcBenchIssuer)
	if err != nil {
		b.Fatal(err)
	}
	l.mgr.MapIDTokenGenerate(gen)
	l.srv = server.NewDefaultServer(l.mgr)
	gi := oidc.GrantInfo{Nonce: benchNonce, AuthTime: time.Now().Add(-time.Minute)}
	if l.ext, err = gi.Encode(nil); err != nil {
		b.Fatal(err)
	}
	return l
}

// codes issues n codes of an OpenID Connect grant, as the authorization
// endpoint does once the End-User has signed in.
func (l *libraryCodeBench) codes(b *testing.B, n int) []string {
	out := make([]string, n)
	for i := range out {
		ti, err := l.mgr.GenerateAuthToken(context.Background(), oauth2d.Code, &oauth2d.TokenGenerateRequest{
			ClientID: confID, Client: l.client, UserID: "alice", RedirectURI: benchRedirect, Scope: "openid",
			CodeChallenge: rfcChallenge, CodeChallengeMethod: oauth2d.CodeChallengeS256, Extension: l.ext,
		})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = ti.GetCode()
	}
	return out
}

func (l *libraryCodeBench) serve(w http.ResponseWriter, r *http.Request) {
	_ = l.srv.HandleTokenRequest(w, r)
}

// bareCodeHandler is the baseline: a bare handler of the code exchange
// with an ID token.
type bareCodeHandler struct {
	digest [sha256.Size]byte
	codes  sync.Map // code -> bareCode
	tokens sync.Map // access token -> clientID
	alg    string
	header string
	key    crypto.Signer
}

type bareCode struct {
	clientID, userID, redirect, challenge, nonce string
	authTime                                     int64
}

func newBareCodeHandler(alg string) *bareCodeHandler {
	h := &bareCodeHandler{digest: sha256.Sum256([]byte(confSecret)), alg: alg, key: benchKeys()[alg]}
	h.header = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","kid":"k1","typ":"JWT"}`))
	return h
}

func (h *bareCodeHandler) codesFor(n int) []string {
	out := make([]string, n)
	for i := range out {
		var b [32]byte
		_, _ = rand.Read(b[:])
		out[i] = base64.RawURLEncoding.EncodeToString(b[:])
		h.codes.Store(out[i], bareCode{clientID: confID, userID: "alice", redirect: benchRedirect,
			challenge: rfcChallenge, nonce: benchNonce, authTime: time.Now().Add(-time.Minute).Unix()})
	}
	return out
}

func (h *bareCodeHandler) fail(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + code + `"}`))
}

func (h *bareCodeHandler) sign(input []byte) ([]byte, error) {
	sum := sha256.Sum256(input)
	switch k := h.key.(type) {
	case *rsa.PrivateKey:
		return rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	}
	panic("unknown key")
}

func (h *bareCodeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "authorization_code" {
		h.fail(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	d := sha256.Sum256([]byte(secret))
	if !ok || id != confID || subtle.ConstantTimeCompare(d[:], h.digest[:]) != 1 {
		h.fail(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	v, ok := h.codes.LoadAndDelete(r.PostForm.Get("code"))
	c, _ := v.(bareCode)
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || c.clientID != id || c.redirect != r.PostForm.Get("redirect_uri") ||
		subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.challenge)) != 1 {
		h.fail(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	var rnd [64]byte
	_, _ = rand.Read(rnd[:])
	access, refresh := base64.RawURLEncoding.EncodeToString(rnd[:32]), base64.RawURLEncoding.EncodeToString(rnd[32:])
	h.tokens.Store(access, id)
	at := sha256.Sum256([]byte(access))
	now := time.Now().Unix()
	payload, err := json.Marshal(struct {
		Iss      string `json:"iss"`
		Sub      string `json:"sub"`
		Aud      string `json:"aud"`
		Exp      int64  `json:"exp"`
		Iat      int64  `json:"iat"`
		AuthTime int64  `json:"auth_time"`
		Nonce    string `json:"nonce"`
		AtHash   string `json:"at_hash"`
	}{oidcBenchIssuer, c.userID, id, now + 3600, now, c.authTime, c.nonce, base64.RawURLEncoding.EncodeToString(at[:16])})
	if err != nil {
		h.fail(w, http.StatusInternalServerError, "server_error")
		return
	}
	input := h.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := h.sign([]byte(input))
	if err != nil {
		h.fail(w, http.StatusInternalServerError, "server_error")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json;charset=UTF-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh,
		"scope": "openid", "id_token": input + "." + base64.RawURLEncoding.EncodeToString(sig),
	})
}

// exchange serves one code exchange with h and checks that it answered an
// ID token.
func exchange(b *testing.B, h http.HandlerFunc, code string) {
	w := httptest.NewRecorder()
	h(w, codeRequest(code))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"id_token":"`) {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// BenchmarkTokenEndpoint_CodeWithIDToken is the library's code exchange
// with an ID token. Codes are issued, outside the timing, in batches.
func BenchmarkTokenEndpoint_CodeWithIDToken(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			l := newLibraryCodeBench(b, alg)
			var codes []string
			b.ReportAllocs()
			for b.Loop() {
				if len(codes) == 0 {
					b.StopTimer()
					codes = l.codes(b, benchBatch)
					b.StartTimer()
				}
				exchange(b, l.serve, codes[0])
				codes = codes[1:]
			}
		})
	}
}

// BenchmarkBareCodeWithIDToken is the baseline alone.
func BenchmarkBareCodeWithIDToken(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			h := newBareCodeHandler(alg)
			var codes []string
			b.ReportAllocs()
			for b.Loop() {
				if len(codes) == 0 {
					b.StopTimer()
					codes = h.codesFor(benchBatch)
					b.StartTimer()
				}
				exchange(b, h.ServeHTTP, codes[0])
				codes = codes[1:]
			}
		})
	}
}

// BenchmarkTokenEndpoint_CodeWithIDTokenVsBare alternates batches of the
// bare handler and the library, so that both see the same machine load,
// and reports the library's rate relative to the bare handler's (the
// project's target is at least 0.80).
func BenchmarkTokenEndpoint_CodeWithIDTokenVsBare(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			l := newLibraryCodeBench(b, alg)
			bare := newBareCodeHandler(alg)
			var bareT, libT time.Duration
			for b.Loop() {
				bareCodes, libCodes := bare.codesFor(benchBatch), l.codes(b, benchBatch)
				start := time.Now()
				for _, c := range bareCodes {
					exchange(b, bare.ServeHTTP, c)
				}
				bareT += time.Since(start)
				start = time.Now()
				for _, c := range libCodes {
					exchange(b, l.serve, c)
				}
				libT += time.Since(start)
			}
			n := float64(b.N * benchBatch)
			b.ReportMetric(float64(bareT.Nanoseconds())/n, "bare-ns/req")
			b.ReportMetric(float64(libT.Nanoseconds())/n, "server-ns/req")
			b.ReportMetric(float64(bareT)/float64(libT), "rate-ratio")
		})
	}
}
