package generates_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
)

// testKey is a signing key in every form the package takes it.
type testKey struct {
	alg    string
	method jwt.SigningMethod
	// key is what NewJWTAccessGenerateFromKey takes: []byte or crypto.Signer.
	key any
	// pem is what NewJWTAccessGenerate takes: the raw secret or a PEM key.
	pem []byte
	// verify is what a resource server verifies with: the public key, or
	// the HMAC secret.
	verify any
}

func hmacKey(alg string, method *jwt.SigningMethodHMAC) testKey {
	secret := make([]byte, method.Hash.Size())
	rand.Read(secret)
	return testKey{alg: alg, method: method, key: secret, pem: secret, verify: secret}
}

func signerKey(t testing.TB, alg string, method jwt.SigningMethod, signer crypto.Signer) testKey {
	t.Helper()
	pemBytes, err := generates.MarshalPrivateKeyPEM(signer)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{alg: alg, method: method, key: signer, pem: pemBytes, verify: signer.Public()}
}

// rsaKeys caches 2048-bit RSA keys: generating one takes a while.
var rsaKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return keys, err
		}
		keys[i] = k
	}
	return keys, nil
})

// newTestKey returns key number i (0 or 1) for alg; each call makes fresh
// keys except for RSA, of which there are two per test binary.
func newTestKey(t testing.TB, alg string, i int) testKey {
	t.Helper()
	switch alg {
	case "HS256":
		return hmacKey(alg, jwt.SigningMethodHS256)
	case "HS384":
		return hmacKey(alg, jwt.SigningMethodHS384)
	case "HS512":
		return hmacKey(alg, jwt.SigningMethodHS512)
	case "RS256", "PS256":
		keys, err := rsaKeys()
		if err != nil {
			t.Fatal(err)
		}
		return signerKey(t, alg, jwt.GetSigningMethod(alg), keys[i])
	case "ES256", "ES384", "ES512":
		curve := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return signerKey(t, alg, jwt.GetSigningMethod(alg), k)
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return signerKey(t, alg, jwt.SigningMethodEdDSA, k)
	}
	t.Fatalf("no test key for %s", alg)
	return testKey{}
}

// pkcs1PEM and sec1PEM write keys in the legacy PEM forms OpenSSL makes.
func pkcs1PEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func sec1PEM(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	// OpenSSL's "ecparam -genkey" writes the curve parameters first.
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})
	return append(params, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})...)
}

// grant is the GenerateBasic the manager passes for a token issued now.
func grant(clientID, userID, scope string, lifetime time.Duration) *oauth2.GenerateBasic {
	now := time.Now().Truncate(time.Second)
	return &oauth2.GenerateBasic{
		Client:   &models.Client{ID: clientID, Secret: "s"},
		UserID:   userID,
		CreateAt: now,
		TokenInfo: &models.Token{
			ClientID:        clientID,
			UserID:          userID,
			Scope:           scope,
			AccessCreateAt:  now,
			AccessExpiresIn: lifetime,
		},
	}
}

// publicKeyfunc verifies with one key and nothing else.
func publicKeyfunc(key any) jwt.Keyfunc {
	return func(*jwt.Token) (any, error) { return key, nil }
}
