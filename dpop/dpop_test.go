package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/dpop"
	oauth2errors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/internal/dpoptest"
	"github.com/oauth2d/oauth2/store"
)

const (
	tokenURL = "https://as.example.com/token"
	apiURL   = "https://rs.example.com/api/items"
	token    = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
)

// clock is a settable test clock.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock() *clock {
	c := &clock{}
	c.set(time.Unix(1_900_000_000, 0))
	return c
}
func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

type fixture struct {
	clock *clock
	kv    *store.MemoryKV
	v     *dpop.Verifier
	p     *dpoptest.Prover
}

func newFixture(t *testing.T, opts dpop.Options) *fixture {
	t.Helper()
	f := &fixture{clock: newClock()}
	f.kv = store.NewMemoryKV(f.clock.now)
	if opts.Replay == nil {
		opts.Replay = f.kv
	}
	opts.Now = f.clock.now
	v, err := dpop.NewVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.v = v
	f.p = dpoptest.NewProver(jose.ES256)
	f.p.Now = f.clock.now
	return f
}

func TestVerify_AcceptsProofsOfEveryAsymmetricAlgorithm(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.PS256, jose.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, dpop.Options{})
			p := dpoptest.NewProver(alg)
			p.Now = f.clock.now
			got, err := f.v.Verify(context.Background(), p.Proof("POST", tokenURL, ""), dpop.Request{Method: "POST", URL: tokenURL})
			if err != nil {
				t.Fatal(err)
			}
			if got.Thumbprint != p.Thumbprint() || got.Algorithm != string(alg) {
				t.Fatalf("proof %+v, want thumbprint %s", got, p.Thumbprint())
			}
		})
	}
}

// TestVerify_ThumbprintIsRFC7638 checks the thumbprint of the RSA key of
// RFC 7638 3.1 against the value the RFC gives.
func TestVerify_ThumbprintIsRFC7638(t *testing.T) {
	const n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	raw, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(raw), E: 65537}
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: pub})
	f := newFixture(t, dpop.Options{})
	// The proof's signature cannot verify (no private key); the header is
	// parsed first, so a proof signed by another key of the same kind
	// shows the thumbprint is computed before the signature fails.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	proof := dpoptest.SignWith(jose.SigningKey{Algorithm: jose.RS256, Key: other},
		f.p.Claims("POST", tokenURL, ""), map[string]any{"jwk": json.RawMessage(jwk)})
	if _, err := f.v.Verify(context.Background(), proof, dpop.Request{Method: "POST", URL: tokenURL}); !errors.Is(err, dpop.ErrSignature) {
		t.Fatalf("err %v, want a bad signature", err)
	}
	if got := dpop.Thumbprint(pub); got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %s", got)
	}
}

// TestVerify_RefusesEveryBadProof is the table of RFC 9449 4.3: each rule,
// broken once, refused with its error.
func TestVerify_RefusesEveryBadProof(t *testing.T) {
	ctx := context.Background()
	ecOther, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaSmall, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaHuge, _ := rsa.GenerateKey(rand.Reader, 4608)
	hmacKey := []byte("0123456789abcdef0123456789abcdef")
	claimsMinus := func(f *fixture, k string) map[string]any {
		c := f.p.Claims("POST", tokenURL, "")
		delete(c, k)
		return c
	}
	with := func(f *fixture, k string, v any) map[string]any {
		c := f.p.Claims("POST", tokenURL, "")
		c[k] = v
		return c
	}
	cases := []struct {
		name  string
		proof func(f *fixture) string
		req   dpop.Request
		want  error
	}{
		{"empty", func(*fixture) string { return "" }, dpop.Request{}, dpop.ErrMissing},
		{"two segments", func(f *fixture) string {
			p := f.p.Proof("POST", tokenURL, "")
			return p[:strings.LastIndexByte(p, '.')]
		}, dpop.Request{}, dpop.ErrMalformed},
		{"four segments", func(f *fixture) string { return f.p.Proof("POST", tokenURL, "") + ".x" }, dpop.Request{}, dpop.ErrMalformed},
		{"not base64url", func(f *fixture) string { return "!!!." + strings.SplitN(f.p.Proof("POST", tokenURL, ""), ".", 2)[1] }, dpop.Request{}, dpop.ErrMalformed},
		{"too long", func(*fixture) string { return strings.Repeat("a", dpop.MaxProofLength+1) }, dpop.Request{}, dpop.ErrMalformed},
		{"no typ", func(f *fixture) string { return f.p.Sign(f.p.Claims("POST", tokenURL, ""), map[string]any{"typ": nil}) }, dpop.Request{}, dpop.ErrType},
		{"typ JWT", func(f *fixture) string {
			return f.p.Sign(f.p.Claims("POST", tokenURL, ""), map[string]any{"typ": "JWT"})
		}, dpop.Request{}, dpop.ErrType},
		{"typ at+jwt", func(f *fixture) string {
			return f.p.Sign(f.p.Claims("POST", tokenURL, ""), map[string]any{"typ": "at+jwt"})
		}, dpop.Request{}, dpop.ErrType},
		{"alg none", func(f *fixture) string {
			return dpoptest.Unsigned(map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": f.p.PublicJWK()}, f.p.Claims("POST", tokenURL, ""))
		}, dpop.Request{}, dpop.ErrAlgorithm},
		{"alg HS256 with an oct jwk", func(f *fixture) string {
			oct := map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(hmacKey)}
			return dpoptest.SignWith(jose.SigningKey{Algorithm: jose.HS256, Key: hmacKey}, f.p.Claims("POST", tokenURL, ""), map[string]any{"jwk": oct})
		}, dpop.Request{}, dpop.ErrAlgorithm},
		{"alg HS256 keyed by the public jwk", func(f *fixture) string {
			pub, _ := json.Marshal(f.p.PublicJWK())
			return dpoptest.SignWith(jose.SigningKey{Algorithm: jose.HS256, Key: pub}, f.p.Claims("POST", tokenURL, ""), map[string]any{"jwk": f.p.PublicJWK()})
		}, dpop.Request{}, dpop.ErrAlgorithm},
		{"private key in jwk", func(f *fixture) string {
			return f.p.Sign(f.p.Claims("POST", tokenURL, ""), map[string]any{"jwk": jose.JSONWebKey{Key: f.p.Key}})
		}, dpop.Request{}, dpop.ErrKey},
		{"no jwk", func(f *fixture) string {
			return dpoptest.SignWith(jose.SigningKey{Algorithm: jose.ES256, Key: f.p.Key}, f.p.Claims("POST", tokenURL, ""), nil)
		}, dpop.Request{}, dpop.ErrKey},
		{"jwk of another key", func(f *fixture) string {
			return dpoptest.SignWith(jose.SigningKey{Algorithm: jose.ES256, Key: ecOther}, f.p.Claims("POST", tokenURL, ""), map[string]any{"jwk": f.p.PublicJWK()})
		}, dpop.Request{}, dpop.ErrSignature},
		{"jwk alg differs from alg", func(f *fixture) string {
			jwk := f.p.PublicJWK()
			jwk.Algorithm = "ES384"
			return f.p.Sign(f.p.Claims("POST", tokenURL, ""), map[string]any{"jwk": jwk})
		}, dpop.Request{}, dpop.ErrKey},
		{"RSA key of 1024 bits", func(f *fixture) string {
			return dpoptest.SignWith(jose.SigningKey{Algorithm: jose.RS256, Key: rsaSmall}, f.p.Claims("POST", tokenURL, ""),
				map[string]any{"jwk": jose.JSONWebKey{Key: &rsaSmall.PublicKey}})
		}, dpop.Request{}, dpop.ErrKey},
		{"RSA key of 4608 bits", func(f *fixture) string {
			return dpoptest.SignWith(jose.SigningKey{Algorithm: jose.RS256, Key: rsaHuge}, f.p.Claims("POST", tokenURL, ""),
				map[string]any{"jwk": jose.JSONWebKey{Key: &rsaHuge.PublicKey}})
		}, dpop.Request{}, dpop.ErrKey},
		{"crit header", func(f *fixture) string {
			return f.p.Sign(f.p.Claims("POST", tokenURL, ""), map[string]any{"crit": []string{"exp"}, "exp": 1})
		}, dpop.Request{}, dpop.ErrMalformed},
		{"signature altered", func(f *fixture) string {
			p := f.p.Proof("POST", tokenURL, "")
			i := strings.LastIndexByte(p, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(p[i+1:])
			sig[0] ^= 1
			return p[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
		}, dpop.Request{}, dpop.ErrSignature},
		{"no jti", func(f *fixture) string { return f.p.Sign(claimsMinus(f, "jti"), nil) }, dpop.Request{}, dpop.ErrClaims},
		{"no htm", func(f *fixture) string { return f.p.Sign(claimsMinus(f, "htm"), nil) }, dpop.Request{}, dpop.ErrClaims},
		{"no htu", func(f *fixture) string { return f.p.Sign(claimsMinus(f, "htu"), nil) }, dpop.Request{}, dpop.ErrClaims},
		{"no iat", func(f *fixture) string { return f.p.Sign(claimsMinus(f, "iat"), nil) }, dpop.Request{}, dpop.ErrClaims},
		{"iat a string", func(f *fixture) string { return f.p.Sign(with(f, "iat", "1900000000"), nil) }, dpop.Request{}, dpop.ErrClaims},
		{"htm GET for a POST", func(f *fixture) string { return f.p.Proof("GET", tokenURL, "") }, dpop.Request{}, dpop.ErrMethod},
		{"htm in lower case", func(f *fixture) string { return f.p.Proof("post", tokenURL, "") }, dpop.Request{}, dpop.ErrMethod},
		{"htu of another path", func(f *fixture) string { return f.p.Proof("POST", "https://as.example.com/revoke", "") }, dpop.Request{}, dpop.ErrURI},
		{"htu of another host", func(f *fixture) string { return f.p.Proof("POST", "https://evil.example.com/token", "") }, dpop.Request{}, dpop.ErrURI},
		{"htu of another scheme", func(f *fixture) string { return f.p.Proof("POST", "http://as.example.com/token", "") }, dpop.Request{}, dpop.ErrURI},
		{"htu of another port", func(f *fixture) string { return f.p.Proof("POST", "https://as.example.com:8443/token", "") }, dpop.Request{}, dpop.ErrURI},
		{"htu with a query", func(f *fixture) string { return f.p.Proof("POST", tokenURL+"?x=1", "") }, dpop.Request{}, dpop.ErrURI},
		{"htu with an empty query", func(f *fixture) string { return f.p.Proof("POST", tokenURL+"?", "") }, dpop.Request{}, dpop.ErrURI},
		{"htu with a fragment", func(f *fixture) string { return f.p.Proof("POST", tokenURL+"#frag", "") }, dpop.Request{}, dpop.ErrURI},
		{"htu relative", func(f *fixture) string { return f.p.Proof("POST", "/token", "") }, dpop.Request{}, dpop.ErrURI},
		{"iat stale", func(f *fixture) string {
			return f.p.Sign(with(f, "iat", f.clock.now().Add(-dpop.DefaultMaxAge-time.Second).Unix()), nil)
		}, dpop.Request{}, dpop.ErrIssuedAt},
		{"iat in the future", func(f *fixture) string {
			return f.p.Sign(with(f, "iat", f.clock.now().Add(dpop.DefaultLeeway+time.Second).Unix()), nil)
		}, dpop.Request{}, dpop.ErrIssuedAt},
		{"no ath with a token", func(f *fixture) string { return f.p.Proof("GET", apiURL, "") }, dpop.Request{Method: "GET", URL: apiURL, AccessToken: token}, dpop.ErrClaims},
		{"ath of another token", func(f *fixture) string { return f.p.Proof("GET", apiURL, token+"x") }, dpop.Request{Method: "GET", URL: apiURL, AccessToken: token}, dpop.ErrAccessTokenHash},
		{"payload not JSON", func(f *fixture) string {
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: f.p.Key}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
			jws, _ := signer.Sign([]byte("not json"))
			s, _ := jws.CompactSerialize()
			return s
		}, dpop.Request{}, dpop.ErrClaims},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, dpop.Options{})
			req := tc.req
			if req.Method == "" {
				req = dpop.Request{Method: "POST", URL: tokenURL}
			}
			got, err := f.v.Verify(ctx, tc.proof(f), req)
			if got != nil || !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, %v; want %v", got, err, tc.want)
			}
			if !errors.Is(err, oauth2errors.ErrInvalidDPoPProof) {
				t.Fatalf("%v is not invalid_dpop_proof", err)
			}
			if code, status, _ := oauth2errors.Lookup(err); code != oauth2errors.ErrInvalidDPoPProof || status != http.StatusBadRequest {
				t.Fatalf("Lookup = %v %d", code, status)
			}
		})
	}
}

func TestVerify_NormalisesHTU(t *testing.T) {
	for _, tc := range []struct{ htu, target string }{
		{"https://AS.Example.COM/token", tokenURL},
		{"HTTPS://as.example.com/token", tokenURL},
		{"https://as.example.com:443/token", tokenURL},
		{"https://as.example.com/./a/../token", tokenURL},
		{"https://as.example.com/%74oken", tokenURL},
		{"http://as.example.com:80/token", "http://as.example.com/token"},
		{"https://as.example.com", "https://as.example.com/"},
		{"https://rs.example.com/a%2fb", "https://rs.example.com/a%2Fb"},
		{tokenURL, tokenURL + "?query=ignored#and-fragment"},
	} {
		t.Run(tc.htu, func(t *testing.T) {
			f := newFixture(t, dpop.Options{})
			if _, err := f.v.Verify(context.Background(), f.p.Proof("POST", tc.htu, ""), dpop.Request{Method: "POST", URL: tc.target}); err != nil {
				t.Fatalf("htu %s for %s: %v", tc.htu, tc.target, err)
			}
		})
	}
}

func TestVerify_AcceptsIATWithinTheWindowAndAFraction(t *testing.T) {
	f := newFixture(t, dpop.Options{})
	for _, iat := range []any{
		f.clock.now().Add(-dpop.DefaultMaxAge + time.Second).Unix(),
		f.clock.now().Add(dpop.DefaultLeeway).Unix(),
		float64(f.clock.now().Unix()) + 0.5,
	} {
		c := f.p.Claims("POST", tokenURL, "")
		c["iat"] = iat
		if _, err := f.v.Verify(context.Background(), f.p.Sign(c, nil), dpop.Request{Method: "POST", URL: tokenURL}); err != nil {
			t.Fatalf("iat %v: %v", iat, err)
		}
	}
}

func TestVerify_AcceptsTheAccessTokenHash(t *testing.T) {
	f := newFixture(t, dpop.Options{})
	if _, err := f.v.Verify(context.Background(), f.p.Proof("GET", apiURL, token), dpop.Request{Method: "GET", URL: apiURL, AccessToken: token}); err != nil {
		t.Fatal(err)
	}
	if got := dpop.AccessTokenHash(token); got != dpoptest.ATH(token) {
		t.Fatalf("AccessTokenHash %s, go-jose side %s", got, dpoptest.ATH(token))
	}
}

// TestVerify_ReplayedJTIRefusedByAnotherVerifierSharingTheStore is the
// replay of RFC 9449 11.1 across processes: two verifiers (two server
// processes) over one store.
func TestVerify_ReplayedJTIRefusedByAnotherVerifierSharingTheStore(t *testing.T) {
	f := newFixture(t, dpop.Options{})
	other, err := dpop.NewVerifier(dpop.Options{Replay: f.kv, Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	proof := f.p.Proof("POST", tokenURL, "")
	req := dpop.Request{Method: "POST", URL: tokenURL}
	if _, err := f.v.Verify(context.Background(), proof, req); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(context.Background(), proof, req); !errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("replay at another process: %v", err)
	}
	if _, err := f.v.Verify(context.Background(), proof, req); !errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("replay at the same process: %v", err)
	}
	// Once the window has passed, the proof is stale anyway.
	f.clock.add(dpop.DefaultMaxAge + dpop.DefaultLeeway + time.Second)
	if _, err := other.Verify(context.Background(), proof, req); !errors.Is(err, dpop.ErrIssuedAt) {
		t.Fatalf("after the window: %v", err)
	}
}

// TestVerify_RefusedProofLeavesNothingStored: a proof refused by any rule
// does not use up its jti.
func TestVerify_RefusedProofLeavesNothingStored(t *testing.T) {
	f := newFixture(t, dpop.Options{})
	c := f.p.Claims("POST", tokenURL, "")
	proof := f.p.Sign(c, nil)
	if _, err := f.v.Verify(context.Background(), proof, dpop.Request{Method: "GET", URL: tokenURL}); !errors.Is(err, dpop.ErrMethod) {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(context.Background(), proof, dpop.Request{Method: "POST", URL: tokenURL}); err != nil {
		t.Fatalf("the refused proof's jti was stored: %v", err)
	}
}

func TestVerify_StoreFailureIsNoProofError(t *testing.T) {
	f := newFixture(t, dpop.Options{Replay: failingKV{}})
	_, err := f.v.Verify(context.Background(), f.p.Proof("POST", tokenURL, ""), dpop.Request{Method: "POST", URL: tokenURL})
	if !errors.Is(err, oauth2.ErrUnavailable) || errors.Is(err, oauth2errors.ErrInvalidDPoPProof) {
		t.Fatalf("err %v", err)
	}
}

func TestVerify_NoncesRequiredAndRotated(t *testing.T) {
	c := newClock()
	n, err := dpop.NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, c.now)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, dpop.Options{Nonces: n})
	f.clock = c
	f.p.Now = c.now
	v, _ := dpop.NewVerifier(dpop.Options{Replay: f.kv, Nonces: n, Now: c.now})
	req := dpop.Request{Method: "POST", URL: tokenURL}

	_, err = v.Verify(context.Background(), f.p.Proof("POST", tokenURL, ""), req)
	var ne *dpop.NonceError
	if !errors.As(err, &ne) || !errors.Is(err, oauth2errors.ErrUseDPoPNonce) || ne.Nonce == "" {
		t.Fatalf("without a nonce: %v", err)
	}
	f.p.SetNonce("made-up-nonce")
	if _, err := v.Verify(context.Background(), f.p.Proof("POST", tokenURL, ""), req); !errors.As(err, &ne) {
		t.Fatalf("a forged nonce: %v", err)
	}
	f.p.SetNonce(ne.Nonce)
	p, err := v.Verify(context.Background(), f.p.Proof("POST", tokenURL, ""), req)
	if err != nil || p.NextNonce != "" {
		t.Fatalf("current nonce: %+v %v", p, err)
	}
	c.add(time.Minute)
	p, err = v.Verify(context.Background(), f.p.Proof("POST", tokenURL, ""), req)
	if err != nil || p.NextNonce == "" || p.NextNonce == ne.Nonce {
		t.Fatalf("stale nonce: %+v %v", p, err)
	}
	c.add(time.Minute)
	if _, err := v.Verify(context.Background(), f.p.Proof("POST", tokenURL, ""), req); !errors.As(err, &ne) {
		t.Fatalf("expired nonce: %v", err)
	}
	// Another process with the same key accepts the nonces.
	n2, _ := dpop.NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute, c.now)
	if n2.Current() != n.Current() {
		t.Fatal("two processes with one key disagree on the nonce")
	}
	if _, err := dpop.NewNonces([]byte("short"), 0, nil); err == nil {
		t.Fatal("a short nonce key was accepted")
	}
}

func TestNewVerifier_RefusesUnsafeConfigurations(t *testing.T) {
	kv := store.NewMemoryKV(nil)
	for _, opts := range []dpop.Options{
		{},
		{Replay: kv, Algorithms: []string{"HS256"}},
		{Replay: kv, Algorithms: []string{"none"}},
		{Replay: kv, Algorithms: []string{"ES256", "RS1"}},
	} {
		if _, err := dpop.NewVerifier(opts); err == nil {
			t.Errorf("NewVerifier(%+v) accepted", opts)
		}
	}
}

func TestVerify_AlgorithmsRestrictedByOptions(t *testing.T) {
	f := newFixture(t, dpop.Options{Algorithms: []string{"EdDSA"}})
	_, err := f.v.Verify(context.Background(), f.p.Proof("POST", tokenURL, ""), dpop.Request{Method: "POST", URL: tokenURL})
	if !errors.Is(err, dpop.ErrAlgorithm) {
		t.Fatalf("ES256 with EdDSA only: %v", err)
	}
	if got := f.v.Algorithms(); len(got) != 1 || got[0] != "EdDSA" {
		t.Fatalf("Algorithms %v", got)
	}
}

// TestVerify_CacheStaysBounded: many keys, each parsed once, never more
// than the bound kept; every proof still verified.
func TestVerify_CacheStaysBounded(t *testing.T) {
	f := newFixture(t, dpop.Options{CacheSize: 4})
	for i := 0; i < 12; i++ {
		p := dpoptest.NewProver(jose.EdDSA)
		p.Now = f.clock.now
		for j := 0; j < 2; j++ {
			if _, err := f.v.Verify(context.Background(), p.Proof("POST", tokenURL, ""), dpop.Request{Method: "POST", URL: tokenURL}); err != nil {
				t.Fatalf("key %d proof %d: %v", i, j, err)
			}
		}
	}
}

func TestFromHeader_RefusesTwoProofs(t *testing.T) {
	h := http.Header{}
	if p, err := dpop.FromHeader(h); p != "" || err != nil {
		t.Fatalf("none: %q %v", p, err)
	}
	h.Add("DPoP", "a.b.c")
	if p, err := dpop.FromHeader(h); p != "a.b.c" || err != nil || !dpop.HasProof(h) {
		t.Fatalf("one: %q %v", p, err)
	}
	h.Add("dpop", "d.e.f")
	if _, err := dpop.FromHeader(h); !errors.Is(err, dpop.ErrMultiple) {
		t.Fatalf("two: %v", err)
	}
}

func TestValidThumbprint(t *testing.T) {
	p := dpoptest.NewProver(jose.ES256)
	if !dpop.ValidThumbprint(p.Thumbprint()) {
		t.Fatal("a real thumbprint refused")
	}
	for _, s := range []string{"", "abc", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("+", 43), strings.Repeat("A", 42) + "B"} {
		if dpop.ValidThumbprint(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

type failingKV struct{ oauth2.KVStore }

func (failingKV) PutIfAbsent(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, oauth2.ErrUnavailable
}
