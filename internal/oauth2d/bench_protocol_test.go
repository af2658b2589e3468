package oauth2d

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2/internal/dpoptest"
)

const benchIssuer = "https://as.example.com"

// bareDPoPRS256 is the baseline of the standalone server's DPoP-bound
// issuance: form, Basic secret, one ES256 verification of the request's
// proof with a key parsed once, and the token's own signature, RS256 as
// the App's key signs (internal/oauth2d/keys.go). It checks nothing else:
// it is the least any DPoP server with that key must do.
func bareDPoPRS256(proofKey *ecdsa.PublicKey, signer *rsa.PrivateKey) http.HandlerFunc {
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"at+jwt"}`))
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok || id != testClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(testClientSecret)) != 1 {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		proof := r.Header.Get("DPoP")
		i := strings.LastIndexByte(proof, '.')
		sig, err := base64.RawURLEncoding.DecodeString(proof[i+1:])
		if i < 0 || err != nil || len(sig) != 64 {
			http.Error(w, `{"error":"invalid_dpop_proof"}`, http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256([]byte(proof[:i]))
		if !ecdsa.Verify(proofKey, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			http.Error(w, `{"error":"invalid_dpop_proof"}`, http.StatusBadRequest)
			return
		}
		var b [16]byte
		_, _ = rand.Read(b[:])
		now := time.Now().Unix()
		payload, _ := json.Marshal(map[string]any{"iss": benchIssuer, "sub": id, "aud": id, "client_id": id,
			"scope": r.PostForm.Get("scope"), "iat": now, "exp": now + 7200, "jti": base64.RawURLEncoding.EncodeToString(b[:])})
		input := hdr + "." + base64.RawURLEncoding.EncodeToString(payload)
		digest := sha256.Sum256([]byte(input))
		s, err := rsa.SignPKCS1v15(rand.Reader, signer, crypto.SHA256, digest[:])
		if err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json;charset=UTF-8")
		h.Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": input + "." + base64.RawURLEncoding.EncodeToString(s),
			"token_type": "DPoP", "expires_in": 7200, "scope": r.PostForm.Get("scope")})
	}
}

// benchDPoPApp is the App with JWT access tokens over the memory store,
// logging to nowhere.
func benchDPoPApp(b *testing.B) *App {
	b.Helper()
	cfg := testConfig(testRedirect)
	cfg.Issuer = benchIssuer
	cfg.AccessToken.Format = FormatJWT
	cfg.Logger = slog.New(slog.DiscardHandler)
	app, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { app.Close() })
	return app
}

// dpopRequests makes n client_credentials requests of the test client,
// each with a fresh proof of p for the token endpoint (a proof is good
// once); without p, bearer requests.
func dpopRequests(n int, p *dpoptest.Prover) []*http.Request {
	out := make([]*http.Request, n)
	for i := range out {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(benchBody))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(testClientID, testClientSecret)
		if p != nil {
			r.Header.Set("DPoP", p.Proof(http.MethodPost, benchIssuer+"/token", ""))
		}
		out[i] = r
	}
	return out
}

func serveBatch(b *testing.B, h http.Handler, reqs []*http.Request) time.Duration {
	start := time.Now()
	for _, r := range reqs {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	return time.Since(start)
}

const appRatioBatch = 16

// BenchmarkApp_DPoPVsBare alternates batches of the bare baseline
// (bareDPoPRS256) and the standalone server's DPoP-bound issuance of RS256
// JWT access tokens (the App's handler: log line, metrics, client
// throttle, server, memory store), proofs made outside the measured time,
// and reports the App's rate relative to the baseline's (the target is at
// least 0.80).
func BenchmarkApp_DPoPVsBare(b *testing.B) {
	app := benchDPoPApp(b)
	p := dpoptest.NewProver(jose.ES256)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	bare := bareDPoPRS256(p.Key.Public().(*ecdsa.PublicKey), rsaKey)
	var bareT, appT time.Duration
	for b.Loop() {
		b.StopTimer()
		br, ar := dpopRequests(appRatioBatch, p), dpopRequests(appRatioBatch, p)
		b.StartTimer()
		bareT += serveBatch(b, bare, br)
		appT += serveBatch(b, app.Handler(), ar)
	}
	n := float64(b.N * appRatioBatch)
	b.ReportMetric(float64(bareT.Nanoseconds())/n, "bare-ns/req")
	b.ReportMetric(float64(appT.Nanoseconds())/n, "app-ns/req")
	b.ReportMetric(float64(bareT)/float64(appT), "rate-ratio")
}

// BenchmarkApp_TokenBearerAndDPoP is the App's JWT issuance with and
// without a DPoP proof, for the cost and the allocations of DPoP alone
// (-benchmem).
func BenchmarkApp_TokenBearerAndDPoP(b *testing.B) {
	for _, mode := range []string{"bearer", "dpop"} {
		b.Run(mode, func(b *testing.B) {
			app := benchDPoPApp(b)
			var p *dpoptest.Prover
			if mode == "dpop" {
				p = dpoptest.NewProver(jose.ES256)
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				reqs := dpopRequests(1, p)
				b.StartTimer()
				serveBatch(b, app.Handler(), reqs)
			}
		})
	}
}

// BenchmarkApp_PARRoundTrip is one authorization through a pushed request
// (RFC 9126) at the standalone server, by a client and a browser whose
// user has signed in and consented before: the push with Basic
// authentication, /authorize with client_id and request_uri and the
// session cookie (a code issued, the request used up), and the code
// exchanged with its PKCE verifier. "http" goes over loopback HTTP
// connections kept alive (client-side costs included); "handler" calls the
// App's handler in process.
func BenchmarkApp_PARRoundTrip(b *testing.B) {
	srv := startApp(b, func() Config {
		cfg := testConfig(testRedirect)
		cfg.Logger = slog.New(slog.DiscardHandler)
		return cfg
	}())
	br := newBrowser(b, srv)
	br.code(testRedirect, "read", "warm-up") // sign in and consent once
	var cookies []string
	for _, c := range br.client.Jar.Cookies(nil) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	push := url.Values{"response_type": {"code"}, "redirect_uri": {testRedirect}, "scope": {"read"}, "state": {"s"},
		"code_challenge": {testChallenge()}, "code_challenge_method": {"S256"}}.Encode()
	exchangeBody := func(code string) string {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}.Encode()
	}

	for _, mode := range []string{"http", "handler"} {
		b.Run(mode, func(b *testing.B) {
			do := func(r *http.Request) (int, http.Header, []byte) {
				if mode == "handler" {
					w := httptest.NewRecorder()
					srv.App.Handler().ServeHTTP(w, r)
					return w.Code, w.Header(), w.Body.Bytes()
				}
				resp, err := br.client.Do(r)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, resp.Header, body
			}
			newReq := func(method, path, body string) *http.Request {
				var rd io.Reader
				if body != "" {
					rd = strings.NewReader(body)
				}
				if mode == "handler" {
					return httptest.NewRequest(method, path, rd)
				}
				r, _ := http.NewRequest(method, srv.URL+path, rd)
				return r
			}
			b.ReportAllocs()
			for b.Loop() {
				r := newReq(http.MethodPost, "/par", push)
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(testClientID, testClientSecret)
				status, _, body := do(r)
				var pushed struct {
					RequestURI string `json:"request_uri"`
				}
				if status != http.StatusCreated || json.Unmarshal(body, &pushed) != nil {
					b.Fatalf("push: %d %s", status, body)
				}
				r = newReq(http.MethodGet, parAuthorize(pushed.RequestURI), "")
				if mode == "handler" {
					r.Header.Set("Cookie", strings.Join(cookies, "; "))
				}
				status, h, _ := do(r)
				loc, _ := url.Parse(h.Get("Location"))
				code := loc.Query().Get("code")
				if status != http.StatusFound || code == "" {
					b.Fatalf("authorize: %d %s", status, h.Get("Location"))
				}
				r = newReq(http.MethodPost, "/token", exchangeBody(code))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(testClientID, testClientSecret)
				if status, _, body := do(r); status != http.StatusOK {
					b.Fatalf("token: %d %s", status, body)
				}
			}
		})
	}
}
