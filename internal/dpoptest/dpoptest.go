// Package dpoptest is the DPoP client of the tests (RFC 9449): it signs
// proofs with github.com/go-jose/go-jose/v4, never with this module's own
// DPoP code, so that the tests check the server against an independent
// implementation. Transport adds proofs to the requests of an HTTP client,
// such as the one golang.org/x/oauth2 uses, and answers server nonces (RFC
// 9449 8, 9) as oauth4webapi does: one retry with the nonce of the
// DPoP-Nonce header.
//
// Only tests import it.
package dpoptest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Prover holds a client's DPoP key and makes its proofs.
type Prover struct {
	Alg jose.SignatureAlgorithm
	Key crypto.Signer
	// Now is the clock of iat; time.Now when nil.
	Now func() time.Time

	mu    sync.Mutex
	nonce string
}

// NewProver returns a prover with a new key for alg: ES256, ES384, ES512
// (ECDSA), RS256 or PS256 (RSA 2048), or EdDSA (Ed25519).
func NewProver(alg jose.SignatureAlgorithm) *Prover {
	var key crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES512:
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jose.RS256, jose.PS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic("dpoptest: no key for " + string(alg))
	}
	if err != nil {
		panic(err)
	}
	return &Prover{Alg: alg, Key: key}
}

// PublicJWK returns the public JWK of the prover's key.
func (p *Prover) PublicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: p.Key.Public(), Algorithm: string(p.Alg), Use: "sig"}
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of the key, base64url,
// as go-jose computes it: the dpop_jkt and cnf.jkt of the key.
func (p *Prover) Thumbprint() string {
	jwk := jose.JSONWebKey{Key: p.Key.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// SetNonce sets the server nonce later proofs carry.
func (p *Prover) SetNonce(n string) {
	p.mu.Lock()
	p.nonce = n
	p.mu.Unlock()
}

func (p *Prover) currentNonce() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nonce
}

func (p *Prover) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Claims returns the claims of a proof for a request (RFC 9449 4.2): a
// fresh jti, htm, htu, iat, ath when accessToken is not "", and the
// prover's nonce when it has one.
func (p *Prover) Claims(method, htu, accessToken string) map[string]any {
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	c := map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
		"htm": method,
		"htu": htu,
		"iat": p.now().Unix(),
	}
	if accessToken != "" {
		c["ath"] = ATH(accessToken)
	}
	if n := p.currentNonce(); n != "" {
		c["nonce"] = n
	}
	return c
}

// Proof returns a proof for a request.
func (p *Prover) Proof(method, htu, accessToken string) string {
	return p.Sign(p.Claims(method, htu, accessToken), nil)
}

// Sign signs claims with the prover's key, the public JWK embedded and typ
// dpop+jwt, as RFC 9449 4.2 says; headers adds or replaces header
// parameters (a "jwk" there replaces the embedded key, a nil value removes
// typ).
func (p *Prover) Sign(claims map[string]any, headers map[string]any) string {
	opts := &jose.SignerOptions{EmbedJWK: true}
	opts.WithType("dpop+jwt")
	for k, v := range headers {
		switch {
		case k == "jwk":
			opts.EmbedJWK = false
			opts.WithHeader(jose.HeaderKey(k), v)
		case k == "typ" && v == nil:
			delete(opts.ExtraHeaders, jose.HeaderType)
		default:
			opts.WithHeader(jose.HeaderKey(k), v)
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: p.Alg, Key: p.Key}, opts)
	if err != nil {
		panic(err)
	}
	return signCompact(signer, claims)
}

// SignWith signs claims with another JOSE signing key (an HMAC secret, a
// key other than the header's), the header being headers plus typ.
func SignWith(key jose.SigningKey, claims map[string]any, headers map[string]any) string {
	opts := (&jose.SignerOptions{}).WithType("dpop+jwt")
	for k, v := range headers {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		panic(err)
	}
	return signCompact(signer, claims)
}

func signCompact(signer jose.Signer, claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return out
}

// Unsigned returns a JWS of alg "none" (RFC 7519 6): the header and claims
// given, and an empty signature.
func Unsigned(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

// ATH returns the ath of an access token (RFC 9449 4.2).
func ATH(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Transport adds a DPoP proof of Prover to every request it sends through
// Base (http.DefaultTransport when nil): for a request with
// "Authorization: DPoP <token>" the proof carries the token's ath. The htu
// is the request URL without query and fragment. An answer of
// use_dpop_nonce (400 at the token endpoint, 401 at a resource) with a
// DPoP-Nonce header is retried once with that nonce; every DPoP-Nonce
// header seen sets the nonce of later proofs (RFC 9449 8.2).
type Transport struct {
	Prover *Prover
	Base   http.RoundTripper
	// Proofs counts the proofs sent.
	Proofs int
	mu     sync.Mutex
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		body = b
	}
	for attempt := 0; ; attempt++ {
		r := req.Clone(req.Context())
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		var token string
		if v := r.Header.Get("Authorization"); len(v) > 5 && strings.EqualFold(v[:5], "DPoP ") {
			token = strings.TrimSpace(v[5:])
		}
		u := *r.URL
		u.RawQuery, u.Fragment = "", ""
		r.Header.Set("DPoP", t.Prover.Proof(r.Method, u.String(), token))
		t.mu.Lock()
		t.Proofs++
		t.mu.Unlock()
		resp, err := base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		nonce := resp.Header.Get("DPoP-Nonce")
		if nonce != "" {
			t.Prover.SetNonce(nonce)
		}
		if attempt > 0 || nonce == "" || !useNonce(resp) {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

// useNonce reports whether resp answers use_dpop_nonce, in its
// WWW-Authenticate challenge or its JSON body (whose bytes it puts back).
func useNonce(resp *http.Response) bool {
	if strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
		return true
	}
	if resp.StatusCode != http.StatusBadRequest {
		return false
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var e struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(b, &e) == nil && e.Error == "use_dpop_nonce"
}

// String describes the prover, for test names.
func (p *Prover) String() string { return fmt.Sprintf("prover(%s)", p.Alg) }
