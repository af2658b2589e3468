package baretoken

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// The DPoP modes (RFC 9449): the load generator signs a proof for every
// request with the benchmark's client key, DPoPKey, and the bare baseline
// verifies it with that key's public half, parsed once.

// dpopScalar is the private scalar of DPoPKey: a benchmark key, public by
// design, never a secret.
var dpopScalar = []byte("oauth2d benchmark DPoP key 0001!")

// DPoPKey returns the ECDSA P-256 key of the benchmark client's DPoP proofs.
func DPoPKey() *ecdsa.PrivateKey {
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), dpopScalar)
	if err != nil {
		panic(fmt.Sprintf("baretoken: DPoP key: %v", err))
	}
	return k
}

// WithDPoP makes the handler require a DPoP proof (RFC 9449 5) on every
// token request and verify its ES256 signature with pub: the one
// verification the DPoP baseline adds. Nothing else of the proof is
// checked: this is the least a DPoP server does, not a correct one.
func WithDPoP(pub *ecdsa.PublicKey) Option {
	return func(h *Handler) { h.dpopKey = pub }
}

// verifyProof checks the signature of the request's proof.
func (h *Handler) verifyProof(r *http.Request) bool {
	proof := r.Header.Get("DPoP")
	i := strings.LastIndexByte(proof, '.')
	if i < 0 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(proof[i+1:])
	if err != nil || len(sig) != 64 {
		return false
	}
	sum := sha256.Sum256([]byte(proof[:i]))
	return ecdsa.Verify(h.dpopKey, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// Prover signs the DPoP proofs of the load generator (RFC 9449 4.2) with
// DPoPKey: typ dpop+jwt, the key as jwk, a fresh jti, htm POST, htu and
// iat. It is cheap enough to sign one per request on the generator's core.
type Prover struct {
	key    *ecdsa.PrivateKey
	header string
	htu    string
	n      atomic.Uint64
}

// NewProver returns a prover of proofs for POST requests to htu.
func NewProver(htu string) *Prover {
	k := DPoPKey()
	var x, y [32]byte
	k.PublicKey.X.FillBytes(x[:])
	k.PublicKey.Y.FillBytes(y[:])
	hdr := fmt.Sprintf(`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":%q,"y":%q}}`,
		base64.RawURLEncoding.EncodeToString(x[:]), base64.RawURLEncoding.EncodeToString(y[:]))
	return &Prover{key: k, header: base64.RawURLEncoding.EncodeToString([]byte(hdr)), htu: htu}
}

// Proof returns a new proof. It is safe for concurrent use.
func (p *Prover) Proof() (string, error) {
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	payload := fmt.Sprintf(`{"jti":"%s-%d","htm":"POST","htu":%q,"iat":%d}`,
		base64.RawURLEncoding.EncodeToString(rnd[:]), p.n.Add(1), p.htu, time.Now().Unix())
	input := p.header + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig, err := es256{p.key}.Sign([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
