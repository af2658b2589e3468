package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/dpoptest"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

const benchIssuer = "https://as.example.com"

// bareDPoPHandler is the baseline of DPoP-bound issuance: the bare handler
// (form, Basic secret, 32 random bytes, JSON) plus one ES256 verification,
// of the request's proof with a key it has parsed once, and the token's own
// ES256 signature of a JWT-shaped payload. It checks nothing else of the
// proof: it is the least any DPoP server must do, not a correct one.
func bareDPoPHandler(proofKey *ecdsa.PublicKey, signer *ecdsa.PrivateKey) http.HandlerFunc {
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"at+jwt"}`))
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok || id != confID || subtle.ConstantTimeCompare([]byte(secret), []byte(confSecret)) != 1 {
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
		var b [32]byte
		_, _ = rand.Read(b[:])
		now := time.Now().Unix()
		payload, _ := json.Marshal(map[string]any{"iss": benchIssuer, "sub": id, "aud": id, "client_id": id,
			"scope": r.PostForm.Get("scope"), "iat": now, "exp": now + 7200, "jti": base64.RawURLEncoding.EncodeToString(b[:16])})
		input := hdr + "." + base64.RawURLEncoding.EncodeToString(payload)
		digest := sha256.Sum256([]byte(input))
		rr, ss, err := ecdsa.Sign(rand.Reader, signer, digest[:])
		if err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		var out [64]byte
		rr.FillBytes(out[:32])
		ss.FillBytes(out[32:])
		h := w.Header()
		h.Set("Content-Type", "application/json;charset=UTF-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": input + "." + base64.RawURLEncoding.EncodeToString(out[:]),
			"token_type":   "DPoP",
			"expires_in":   7200,
			"scope":        r.PostForm.Get("scope"),
		})
	}
}

// dpopBench is a library server issuing ES256 JWT access tokens bound to
// the ES256 proofs of one client key, over the memory store, and the bare
// baseline with the same keys.
type dpopBench struct {
	srv    *server.Server
	bare   http.HandlerFunc
	prover *dpoptest.Prover
}

func newDPoPBench(b *testing.B) *dpopBench {
	b.Helper()
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		b.Fatal(err)
	}
	cs := store.NewClientStore()
	for _, c := range testClients() {
		_ = cs.Set(c.ID, c)
	}
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	gen, err := generates.NewJWTAccessGenerateFromKey(signer, jwt.SigningMethodES256, generates.WithIssuer(benchIssuer))
	if err != nil {
		b.Fatal(err)
	}
	mgr := manage.NewDefaultManager()
	mgr.MapTokenStorage(ts)
	mgr.MapClientStorage(cs)
	mgr.MapAccessGenerate(gen)
	cfg := server.NewConfig()
	cfg.Issuer = benchIssuer
	srv := server.NewServer(cfg, mgr)
	p := dpoptest.NewProver(jose.ES256)
	return &dpopBench{srv: srv, prover: p, bare: bareDPoPHandler(p.Key.Public().(*ecdsa.PublicKey), signer)}
}

// requests makes n client_credentials requests, each with a fresh proof
// for the token endpoint: a proof is good once.
func (d *dpopBench) requests(n int) []*http.Request {
	out := make([]*http.Request, n)
	for i := range out {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(benchBody))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(confID, confSecret)
		r.Header.Set("DPoP", d.prover.Proof(http.MethodPost, benchIssuer+"/token", ""))
		out[i] = r
	}
	return out
}

func serveAll(b *testing.B, h http.HandlerFunc, reqs []*http.Request) time.Duration {
	start := time.Now()
	for _, r := range reqs {
		w := httptest.NewRecorder()
		h(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	return time.Since(start)
}

// BenchmarkDPoP_TokenEndpoint is DPoP-bound issuance by the library alone,
// for its allocations (-benchmem). Proofs are made outside the timer.
func BenchmarkDPoP_TokenEndpoint(b *testing.B) {
	d := newDPoPBench(b)
	h := func(w http.ResponseWriter, r *http.Request) { _ = d.srv.HandleTokenRequest(w, r) }
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		reqs := d.requests(1)
		b.StartTimer()
		serveAll(b, h, reqs)
	}
}

// BenchmarkDPoP_VsBare alternates batches of the bare DPoP baseline and the
// library's DPoP-bound issuance, each with fresh proofs made outside the
// measured time, and reports the library's rate relative to the
// baseline's (the project target is at least 0.80).
func BenchmarkDPoP_VsBare(b *testing.B) {
	d := newDPoPBench(b)
	ours := func(w http.ResponseWriter, r *http.Request) { _ = d.srv.HandleTokenRequest(w, r) }
	var bare, srv time.Duration
	for b.Loop() {
		b.StopTimer()
		br, sr := d.requests(ratioBatch), d.requests(ratioBatch)
		b.StartTimer()
		bare += serveAll(b, d.bare, br)
		srv += serveAll(b, ours, sr)
	}
	reportRatio(b, b.N, bare, srv)
}
