package baretoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Signature algorithms of the signing modes, by their JWS names (RFC 7518
// 3.1, RFC 8037 3.1).
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
	RS256 = "RS256"
)

// ErrUnknownAlg is returned for an algorithm NewSigner does not know.
var ErrUnknownAlg = errors.New("baretoken: unknown signature algorithm")

// Signer makes one raw signature in the JWS encoding of its algorithm.
type Signer interface {
	// Alg is the JWS algorithm name.
	Alg() string
	// Sign signs input.
	Sign(input []byte) ([]byte, error)
}

// GenerateKey makes a new private key for alg: ECDSA P-256 for ES256
// (RFC 7518 3.4), Ed25519 for EdDSA (RFC 8037 3.1), RSA 2048 for RS256
// (RFC 7518 3.3). The library modes of the benchmark use the same keys.
func GenerateKey(alg string) (crypto.Signer, error) {
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case RS256:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlg, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("baretoken: %s key: %w", alg, err)
	}
	return k, nil
}

// NewSigner returns a signer for alg with a key made by GenerateKey, once.
func NewSigner(alg string) (Signer, error) {
	k, err := GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	return NewSignerWithKey(alg, k)
}

// NewSignerWithKey returns a signer for alg with key, which must be of the
// kind GenerateKey makes for alg.
func NewSignerWithKey(alg string, key crypto.Signer) (Signer, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if alg == ES256 && k.Curve == elliptic.P256() {
			return es256{k}, nil
		}
	case ed25519.PrivateKey:
		if alg == EdDSA {
			return eddsa{k}, nil
		}
	case *rsa.PrivateKey:
		if alg == RS256 {
			return rs256{k}, nil
		}
	}
	return nil, fmt.Errorf("%w: %q with a %T key", ErrUnknownAlg, alg, key)
}

type es256 struct{ key *ecdsa.PrivateKey }

func (es256) Alg() string { return ES256 }

// Sign returns R || S, each 32 bytes big-endian (RFC 7518 3.4).
func (s es256) Sign(input []byte) ([]byte, error) {
	h := sha256.Sum256(input)
	r, ss, err := ecdsa.Sign(rand.Reader, s.key, h[:])
	if err != nil {
		return nil, fmt.Errorf("baretoken: ES256: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return sig, nil
}

type eddsa struct{ key ed25519.PrivateKey }

func (eddsa) Alg() string { return EdDSA }

func (s eddsa) Sign(input []byte) ([]byte, error) { return ed25519.Sign(s.key, input), nil }

type rs256 struct{ key *rsa.PrivateKey }

func (rs256) Alg() string { return RS256 }

func (s rs256) Sign(input []byte) ([]byte, error) {
	h := sha256.Sum256(input)
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, h[:])
	if err != nil {
		return nil, fmt.Errorf("baretoken: RS256: %w", err)
	}
	return sig, nil
}
