package dpop_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2/dpop"
	"github.com/oauth2d/oauth2/internal/dpoptest"
	"github.com/oauth2d/oauth2/store"
)

// FuzzVerify_AcceptsOnlyWhatGoJoseVerifies feeds the DPoP header parser
// arbitrary proofs. It must never panic, and a proof it accepts must be one
// go-jose parses as a compact JWS of an accepted algorithm, whose signature
// go-jose verifies with the public key of its jwk header, of the same
// thumbprint: the verifier's own signature check (keys parsed once, the
// signature checked by golang-jwt) agrees with go-jose's.
func FuzzVerify_AcceptsOnlyWhatGoJoseVerifies(f *testing.F) {
	c := newClock()
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256, jose.EdDSA} {
		p := dpoptest.NewProver(alg)
		p.Now = c.now
		f.Add(p.Proof("POST", tokenURL, ""), "POST", tokenURL, "")
		f.Add(p.Proof("GET", apiURL, token), "GET", apiURL, token)
		f.Add(p.Sign(p.Claims("POST", tokenURL, ""), map[string]any{"jwk": jose.JSONWebKey{Key: p.Key}}), "POST", tokenURL, "")
	}
	f.Add("e30.e30.", "POST", tokenURL, "")
	f.Add("..", "POST", tokenURL, "")
	f.Add("a.b.c.d", "GET", apiURL, token)

	algs := make([]jose.SignatureAlgorithm, 0, len(dpop.DefaultAlgorithms))
	for _, a := range dpop.DefaultAlgorithms {
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	f.Fuzz(func(t *testing.T, proof, method, url, accessToken string) {
		v, err := dpop.NewVerifier(dpop.Options{Replay: store.NewMemoryKV(c.now), Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(context.Background(), proof, dpop.Request{Method: method, URL: url, AccessToken: accessToken})
		if err != nil {
			if got != nil {
				t.Fatal("a proof with an error")
			}
			return
		}
		jws, err := jose.ParseSignedCompact(proof, algs)
		if err != nil || len(jws.Signatures) != 1 {
			t.Fatalf("accepted a proof go-jose does not parse: %v", err)
		}
		jwk := jws.Signatures[0].Protected.JSONWebKey
		if jwk == nil || !jwk.IsPublic() {
			t.Fatal("accepted a proof without a public jwk")
		}
		if _, err := jws.Verify(jwk); err != nil {
			t.Fatalf("accepted a proof whose signature go-jose refuses: %v", err)
		}
		tp, _ := jwk.Thumbprint(crypto.SHA256)
		if got.Thumbprint != base64.RawURLEncoding.EncodeToString(tp) {
			t.Fatal("thumbprint differs from go-jose's")
		}
		if got.ID == "" {
			t.Fatal("accepted a proof without a jti")
		}
	})
}

// FuzzNormalizeURI: never panics, and normalising twice changes nothing.
func FuzzNormalizeURI(f *testing.F) {
	for _, s := range []string{tokenURL, "HTTPS://A.example:443/./b/../c/%7e%2f?q#f", "http://[::1]:80/", "https://h/a/../../..", "http://u:p@h:8080/%zz", "http://]:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := dpop.NormalizeURI(s)
		if !ok {
			return
		}
		n2, ok := dpop.NormalizeURI(n)
		if !ok || n2 != n {
			t.Fatalf("NormalizeURI(%q) = %q, then %q (%v)", s, n, n2, ok)
		}
	})
}
