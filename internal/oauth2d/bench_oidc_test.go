package oauth2d

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
)

// BenchmarkApp_UserInfoAndIntrospection measures, through the whole
// handler of the App (log line, metrics, routing, server, memory store),
// the UserInfo endpoint (OpenID Connect Core 1.0 5.3: the token, the
// user's claims, the JSON answer) next to the introspection endpoint (RFC
// 7662: client authentication, the token) for the same access token, so
// that their rates can be compared (issue "OpenID Connect", Speed: UserInfo
// at 0.80 of introspection or better).
func BenchmarkApp_UserInfoAndIntrospection(b *testing.B) {
	cfg := Default()
	cfg.Store = "memory:"
	cfg.Logger = slog.New(slog.DiscardHandler)
	app, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	const access = "bench-access-token-0123456789abcdefghijklmnopqrstuvwxyz"
	now := time.Now()
	if err := app.store.Create(context.Background(), &models.Token{
		ClientID: DemoClientID, UserID: DemoUsername, Scope: "openid profile email",
		Access: access, AccessCreateAt: now, AccessExpiresIn: time.Hour,
	}); err != nil {
		b.Fatal(err)
	}
	h := app.Handler()
	introspectBody := url.Values{"token": {access}, "token_type_hint": {"access_token"}}.Encode()
	for _, endpoint := range []string{"userinfo", "introspect"} {
		b.Run(endpoint, func(b *testing.B) {
			var tmpl *http.Request
			body := ""
			if endpoint == "userinfo" {
				tmpl = httptest.NewRequest(http.MethodGet, "/userinfo", nil)
				tmpl.Header.Set("Authorization", "Bearer "+access)
			} else {
				body = introspectBody
				tmpl = httptest.NewRequest(http.MethodPost, "/introspect", nil)
				tmpl.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				tmpl.SetBasicAuth(DemoClientID, DemoClientSecret)
				tmpl.ContentLength = int64(len(body))
			}
			check := func(rec *httptest.ResponseRecorder) {
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"`) {
					b.Fatalf("%s: status %d", endpoint, rec.Code)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rb := &resettableBody{}
				for pb.Next() {
					req := *tmpl
					rb.Reset(body)
					req.Body = rb
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, &req)
					check(rec)
				}
			})
		})
	}
}

// The code exchange of an OpenID Connect grant through the App (Core
// 3.1.3): the token endpoint answers an access token, a refresh token and
// an ID token signed with the App's key. The baseline is the least a
// handler must do for the same answer: parse the form, authenticate the
// client in constant time, consume the code once, check the redirect URI
// and the PKCE verifier, make and keep the tokens, and sign the ID token
// with the standard library's raw signature.

const codeBenchBatch = 64

// appCodeBench is an App whose demo client redeems codes of OpenID
// Connect grants, issued as the authorization endpoint issues them.
type appCodeBench struct {
	app *App
	h   http.Handler
	ext url.Values
}

func newAppCodeBench(b *testing.B, alg string) *appCodeBench {
	cfg := Default()
	cfg.Store = "memory:"
	cfg.Signing.Alg = alg
	cfg.Logger = slog.New(slog.DiscardHandler)
	app, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { app.Close() })
	gi := oidc.GrantInfo{Nonce: "n-0S6_WzA2Mj", AuthTime: time.Now().Add(-time.Minute), SID: "sid-1", AMR: []string{"pwd"}}
	ext, err := gi.Encode(nil)
	if err != nil {
		b.Fatal(err)
	}
	return &appCodeBench{app: app, h: app.Handler(), ext: ext}
}

func (c *appCodeBench) codes(b *testing.B, n int) []string {
	out := make([]string, n)
	client, err := c.app.manager.GetClient(context.Background(), DemoClientID)
	if err != nil {
		b.Fatal(err)
	}
	for i := range out {
		ti, err := c.app.manager.GenerateAuthToken(context.Background(), oauth2.Code, &oauth2.TokenGenerateRequest{
			ClientID: DemoClientID, Client: client, UserID: DemoUsername, RedirectURI: DemoRedirectURI, Scope: "openid profile",
			CodeChallenge: testChallenge(), CodeChallengeMethod: oauth2.CodeChallengeS256, Extension: c.ext,
		})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = ti.GetCode()
	}
	return out
}

// bareCodeExchange is the baseline handler.
type bareCodeExchange struct {
	secret [sha256.Size]byte
	header string
	key    crypto.Signer
	codes  sync.Map // code -> PKCE challenge
	tokens sync.Map // access token -> user
}

func newBareCodeExchange(b *testing.B, app *App) *bareCodeExchange {
	cur, _ := app.Keys().Current()
	signer, ok := cur.Key.(crypto.Signer)
	if !ok {
		b.Fatal("the App's key is no crypto.Signer")
	}
	return &bareCodeExchange{
		secret: sha256.Sum256([]byte(DemoClientSecret)),
		header: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + cur.Method.Alg() + `","kid":"` + cur.KeyID + `","typ":"JWT"}`)),
		key:    signer,
	}
}

func (h *bareCodeExchange) issue(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = cryptorand.Text()
		h.codes.Store(out[i], testChallenge())
	}
	return out
}

func (h *bareCodeExchange) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int) { w.WriteHeader(status) }
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "authorization_code" {
		fail(http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	sum := sha256.Sum256([]byte(secret))
	if !ok || id != DemoClientID || subtle.ConstantTimeCompare(sum[:], h.secret[:]) != 1 {
		fail(http.StatusUnauthorized)
		return
	}
	v, ok := h.codes.LoadAndDelete(r.PostForm.Get("code"))
	vs := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("redirect_uri") != DemoRedirectURI ||
		subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(vs[:])), []byte(v.(string))) != 1 {
		fail(http.StatusBadRequest)
		return
	}
	access, refresh := cryptorand.Text()+cryptorand.Text(), cryptorand.Text()+cryptorand.Text()
	h.tokens.Store(access, DemoUsername)
	at := sha256.Sum256([]byte(access))
	now := time.Now().Unix()
	payload, _ := json.Marshal(map[string]any{"iss": DefaultIssuer, "sub": DemoUsername, "aud": DemoClientID,
		"exp": now + 3600, "iat": now, "auth_time": now - 60, "nonce": "n-0S6_WzA2Mj", "sid": "sid-1", "amr": []string{"pwd"},
		"at_hash": base64.RawURLEncoding.EncodeToString(at[:16])})
	input := h.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch k := h.key.(type) {
	case *ecdsa.PrivateKey:
		var rr, ss *big.Int
		if rr, ss, err = ecdsa.Sign(cryptorand.Reader, k, digest[:]); err == nil {
			sig = make([]byte, 64)
			rr.FillBytes(sig[:32])
			ss.FillBytes(sig[32:])
		}
	default:
		sig, err = h.key.Sign(cryptorand.Reader, digest[:], crypto.SHA256)
	}
	if err != nil {
		fail(http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json;charset=UTF-8")
	hd.Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 7200,
		"refresh_token": refresh, "scope": "openid profile", "id_token": input + "." + base64.RawURLEncoding.EncodeToString(sig)})
}

// redeem serves one code exchange and checks that it answered an ID token.
func redeem(b *testing.B, h http.Handler, code string) {
	body := "grant_type=authorization_code&code=" + code + "&redirect_uri=" + url.QueryEscape(DemoRedirectURI) + "&code_verifier=" + testVerifier
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(DemoClientID, DemoClientSecret)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"id_token":"`) {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// BenchmarkApp_CodeWithIDTokenVsBare alternates batches of the baseline
// and the App, so that both see the same machine load, and reports the
// App's rate relative to the baseline's (issue "OpenID Connect", Speed:
// 0.80 or better), for RS256 and ES256 keys.
func BenchmarkApp_CodeWithIDTokenVsBare(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			c := newAppCodeBench(b, alg)
			bare := newBareCodeExchange(b, c.app)
			var bareT, appT time.Duration
			for b.Loop() {
				bareCodes, appCodes := bare.issue(codeBenchBatch), c.codes(b, codeBenchBatch)
				start := time.Now()
				for _, code := range bareCodes {
					redeem(b, bare, code)
				}
				bareT += time.Since(start)
				start = time.Now()
				for _, code := range appCodes {
					redeem(b, c.h, code)
				}
				appT += time.Since(start)
			}
			n := float64(b.N * codeBenchBatch)
			b.ReportMetric(float64(bareT.Nanoseconds())/n, "bare-ns/req")
			b.ReportMetric(float64(appT.Nanoseconds())/n, "app-ns/req")
			b.ReportMetric(float64(bareT)/float64(appT), "rate-ratio")
		})
	}
}
