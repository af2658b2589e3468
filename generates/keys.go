package generates

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Errors about signing keys and algorithms. They never carry key material.
var (
	// ErrUnsupportedAlgorithm: the signing method is not one of the JWS
	// algorithms of RFC 7518 3.1 this package signs with (HS256, HS384,
	// HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512)
	// or EdDSA (RFC 8037 3.1). "none" is never supported.
	ErrUnsupportedAlgorithm = errors.New("generates: unsupported signing algorithm")
	// ErrInvalidKey: the key does not parse, or does not fit the algorithm.
	ErrInvalidKey = errors.New("generates: invalid signing key")
	// ErrNoSigningKey: a KeySet has no current key to sign with.
	ErrNoSigningKey = errors.New("generates: no current signing key")
)

// minRSABits is the smallest RSA modulus RFC 7518 3.3 and 3.5 allow.
const minRSABits = 2048

// jwtType is the "typ" header of an access token (RFC 9068 2.1).
const jwtType = "at+jwt"

type keyKind uint8

const (
	kindHMAC keyKind = iota + 1
	kindRSA
	kindPSS
	kindECDSA
	kindEd25519
)

// signingKey is a key ready to sign tokens: parsed, checked against its
// algorithm, with the encoded JOSE header computed once. It is immutable
// and safe for concurrent use.
type signingKey struct {
	id     string
	method jwt.SigningMethod
	kind   keyKind
	hash   crypto.Hash
	// ecSize is the byte length of r and of s in an ECDSA signature
	// (RFC 7518 3.4).
	ecSize int
	pss    *rsa.PSSOptions

	secret []byte        // HMAC keys
	signer crypto.Signer // every other key
	public crypto.PublicKey

	hmacs sync.Pool // of hash.Hash keyed with secret
	// header is BASE64URL(UTF8(JWS Protected Header)) followed by '.',
	// the start of every token this key signs (RFC 7515 7.1).
	header []byte
}

// newSigningKey checks key against method and prepares it for signing.
// key is a []byte secret for the HMAC methods and a crypto.Signer for the
// others. strictHMAC refuses HMAC secrets shorter than the hash output
// (RFC 7518 3.2); it is off only for the seed's constructor. An empty kid
// is derived from the key.
func newSigningKey(kid string, method jwt.SigningMethod, key any, strictHMAC bool) (*signingKey, error) {
	k := &signingKey{method: method}
	switch m := method.(type) {
	case *jwt.SigningMethodHMAC:
		secret, ok := key.([]byte)
		if !ok {
			return nil, fmt.Errorf("%w: %s needs a []byte secret, got %T", ErrInvalidKey, m.Alg(), key)
		}
		if len(secret) == 0 {
			return nil, fmt.Errorf("%w: empty %s secret", ErrInvalidKey, m.Alg())
		}
		if strictHMAC && len(secret) < m.Hash.Size() {
			return nil, fmt.Errorf("%w: %s secret of %d bytes, RFC 7518 3.2 requires at least %d",
				ErrInvalidKey, m.Alg(), len(secret), m.Hash.Size())
		}
		k.kind, k.hash, k.secret = kindHMAC, m.Hash, bytes.Clone(secret)
		k.hmacs.New = func() any { return hmac.New(m.Hash.New, k.secret) }
	case *jwt.SigningMethodRSAPSS:
		k.kind, k.hash = kindPSS, m.Hash
		k.pss = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: m.Hash}
	case *jwt.SigningMethodRSA:
		k.kind, k.hash = kindRSA, m.Hash
	case *jwt.SigningMethodECDSA:
		k.kind, k.hash, k.ecSize = kindECDSA, m.Hash, m.KeySize
	case *jwt.SigningMethodEd25519:
		k.kind = kindEd25519
	default:
		if method == nil {
			return nil, fmt.Errorf("%w: no signing method", ErrUnsupportedAlgorithm)
		}
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, method.Alg())
	}
	if k.kind != kindHMAC {
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: %s needs a crypto.Signer, got %T", ErrInvalidKey, method.Alg(), key)
		}
		if err := checkPublic(method, signer.Public()); err != nil {
			return nil, err
		}
		k.signer, k.public = signer, signer.Public()
	}
	if kid == "" {
		var err error
		if kid, err = k.defaultKeyID(); err != nil {
			return nil, err
		}
	}
	k.id = kid
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{method.Alg(), kid, jwtType})
	if err != nil {
		return nil, fmt.Errorf("generates: encode JOSE header: %w", err)
	}
	k.header = append(b64.AppendEncode(nil, header), '.')
	return k, nil
}

// checkPublic reports whether pub is a key of the kind and size method
// signs with.
func checkPublic(method jwt.SigningMethod, pub crypto.PublicKey) error {
	alg := method.Alg()
	switch m := method.(type) {
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		p, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: %s needs an RSA key, got %T", ErrInvalidKey, alg, pub)
		}
		if p.N.BitLen() < minRSABits {
			return fmt.Errorf("%w: %d-bit RSA key, RFC 7518 3.3 requires at least %d bits", ErrInvalidKey, p.N.BitLen(), minRSABits)
		}
	case *jwt.SigningMethodECDSA:
		p, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: %s needs an ECDSA key, got %T", ErrInvalidKey, alg, pub)
		}
		if p.Curve.Params().BitSize != m.CurveBits {
			return fmt.Errorf("%w: %s needs a %d-bit curve (RFC 7518 3.4), got %s", ErrInvalidKey, alg, m.CurveBits, p.Curve.Params().Name)
		}
	case *jwt.SigningMethodEd25519:
		if _, ok := pub.(ed25519.PublicKey); !ok {
			return fmt.Errorf("%w: %s needs an Ed25519 key, got %T", ErrInvalidKey, alg, pub)
		}
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
	}
	return nil
}

// defaultKeyID derives a stable key ID from the key. For a public key it is
// the RFC 7638 JWK thumbprint (SHA-256). For an HMAC secret it is 8 bytes of
// a domain-separated SHA-256 of the secret: stable across restarts, and not
// a hash that appears anywhere else the secret might be used.
func (k *signingKey) defaultKeyID() (string, error) {
	if k.kind == kindHMAC {
		h := sha256.New()
		h.Write([]byte("oauth2d generates HMAC kid\x00"))
		h.Write(k.secret)
		return b64.EncodeToString(h.Sum(nil)[:8]), nil
	}
	jwk := jose.JSONWebKey{Key: k.public}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: thumbprint: %w", ErrInvalidKey, err)
	}
	return b64.EncodeToString(tp), nil
}

// sign appends the JWS signature of msg (RFC 7515 5.1, RFC 7518 3) to dst.
func (k *signingKey) sign(dst, msg []byte) ([]byte, error) {
	if k.kind == kindHMAC {
		h := k.hmacs.Get().(hash.Hash)
		h.Reset()
		h.Write(msg)
		dst = h.Sum(dst)
		k.hmacs.Put(h)
		return dst, nil
	}
	if k.kind == kindEd25519 {
		// Ed25519 signs the message itself (RFC 8037 3.1).
		sig, err := k.signer.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("generates: sign: %w", err)
		}
		return append(dst, sig...), nil
	}
	var sum [sha512.Size]byte
	digest := hashSum(k.hash, msg, &sum)
	var opts crypto.SignerOpts = k.hash
	if k.pss != nil {
		opts = k.pss
	}
	sig, err := k.signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("generates: sign: %w", err)
	}
	if k.kind == kindECDSA {
		return appendECDSARaw(dst, sig, k.ecSize)
	}
	return append(dst, sig...), nil
}

// hashSum hashes msg with h into sum.
func hashSum(h crypto.Hash, msg []byte, sum *[sha512.Size]byte) []byte {
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256(msg)
		return sum[:copy(sum[:], s[:])]
	case crypto.SHA384:
		s := sha512.Sum384(msg)
		return sum[:copy(sum[:], s[:])]
	default:
		s := sha512.Sum512(msg)
		return sum[:copy(sum[:], s[:])]
	}
}

// appendECDSARaw converts an ASN.1 ECDSA signature, as crypto.Signer returns
// it, to the JWS form R || S, each left-padded to size bytes (RFC 7518 3.4).
func appendECDSARaw(dst, der []byte, size int) ([]byte, error) {
	var r, s []byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() ||
		len(r) > size || len(s) > size {
		return nil, errors.New("generates: sign: malformed ECDSA signature")
	}
	n := len(dst)
	dst = append(dst, make([]byte, 2*size)...)
	copy(dst[n+size-len(r):n+size], r)
	copy(dst[n+2*size-len(s):], s)
	return dst, nil
}

// ParseSigningKey parses the key for method: for the HMAC methods (RFC 7518
// 3.2) the raw secret bytes, returned as a []byte copy; for every other
// method a PEM private key (see ParsePrivateKeyPEM), returned as a
// crypto.Signer after checking that it fits method (an RSA key of at least
// 2048 bits for RS* and PS*, a key on the method's curve for ES*, an Ed25519
// key for EdDSA).
func ParseSigningKey(pemBytes []byte, method jwt.SigningMethod) (any, error) {
	switch method.(type) {
	case *jwt.SigningMethodHMAC, *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS,
		*jwt.SigningMethodECDSA, *jwt.SigningMethodEd25519:
	case nil:
		return nil, fmt.Errorf("%w: no signing method", ErrUnsupportedAlgorithm)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, method.Alg())
	}
	if m, ok := method.(*jwt.SigningMethodHMAC); ok {
		if len(pemBytes) == 0 {
			return nil, fmt.Errorf("%w: empty %s secret", ErrInvalidKey, m.Alg())
		}
		return bytes.Clone(pemBytes), nil
	}
	signer, err := ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		return nil, err
	}
	if err := checkPublic(method, signer.Public()); err != nil {
		return nil, err
	}
	return signer, nil
}

// ParsePrivateKeyPEM parses the first private key of a PEM file: PKCS#8
// ("PRIVATE KEY": RSA, ECDSA or Ed25519), PKCS#1 ("RSA PRIVATE KEY") or SEC 1
// ("EC PRIVATE KEY"). Other blocks, such as the "EC PARAMETERS" that OpenSSL
// writes before an EC key, are skipped. Encrypted PEM is not supported.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%w: no PEM private key block", ErrInvalidKey)
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: encrypted PEM keys are not supported", ErrInvalidKey)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKey, block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: %T cannot sign", ErrInvalidKey, key)
		}
		return signer, nil
	}
}

// MarshalPrivateKeyPEM encodes an RSA, ECDSA or Ed25519 private key as a
// PKCS#8 "PRIVATE KEY" PEM block (RFC 5208, RFC 7468 10), the form
// ParsePrivateKeyPEM reads back. The result is secret.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// GenerateSigningKey makes a new private key for the JWS algorithm alg: a
// 2048-bit RSA key for RS256, RS384, RS512, PS256, PS384 and PS512 (RFC 7518
// 3.3); a key on P-256, P-384 or P-521 for ES256, ES384 and ES512 (RFC 7518
// 3.4); an Ed25519 key for EdDSA (RFC 8037 3.1).
func GenerateSigningKey(alg string) (crypto.Signer, error) {
	var curve elliptic.Curve
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		key, err := rsa.GenerateKey(rand.Reader, minRSABits)
		if err != nil {
			return nil, fmt.Errorf("generates: generate %s key: %w", alg, err)
		}
		return key, nil
	case "EdDSA":
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generates: generate %s key: %w", alg, err)
		}
		return key, nil
	case "ES256":
		curve = elliptic.P256()
	case "ES384":
		curve = elliptic.P384()
	case "ES512":
		curve = elliptic.P521()
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
	}
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generates: generate %s key: %w", alg, err)
	}
	return key, nil
}
