package generates_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/generates"
)

func TestGenerateSigningKey_FitsItsAlgorithm(t *testing.T) {
	onCurve := func(name string) func(crypto.Signer) bool {
		return func(s crypto.Signer) bool {
			k, ok := s.(*ecdsa.PrivateKey)
			return ok && k.Curve.Params().Name == name
		}
	}
	tests := []struct {
		alg   string
		check func(crypto.Signer) bool
	}{
		{"RS256", func(s crypto.Signer) bool { k, ok := s.(*rsa.PrivateKey); return ok && k.N.BitLen() == 2048 }},
		{"ES256", onCurve("P-256")},
		{"ES384", onCurve("P-384")},
		{"ES512", onCurve("P-521")},
		{"EdDSA", func(s crypto.Signer) bool { _, ok := s.(ed25519.PrivateKey); return ok }},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			key, err := generates.GenerateSigningKey(tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(key) {
				t.Fatalf("%T does not fit %s", key, tt.alg)
			}
			// It signs tokens for its algorithm once stored and read back.
			pemBytes, err := generates.MarshalPrivateKeyPEM(key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := generates.ParseSigningKey(pemBytes, jwt.GetSigningMethod(tt.alg)); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, alg := range []string{"HS256", "none", "", "RS1"} {
		if _, err := generates.GenerateSigningKey(alg); !errors.Is(err, generates.ErrUnsupportedAlgorithm) {
			t.Errorf("GenerateSigningKey(%q): %v", alg, err)
		}
	}
}

func TestParsePrivateKeyPEM_ReadsEveryCommonForm(t *testing.T) {
	rsaKey := newTestKey(t, "RS256", 0).key.(*rsa.PrivateKey)
	ecKey := newTestKey(t, "ES256", 0).key.(*ecdsa.PrivateKey)
	edKey := newTestKey(t, "EdDSA", 0).key.(ed25519.PrivateKey)
	pkcs8 := func(k crypto.Signer) []byte {
		p, err := generates.MarshalPrivateKeyPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		pem  []byte
		want crypto.Signer
	}{
		{"RSA PKCS#1", pkcs1PEM(rsaKey), rsaKey},
		{"RSA PKCS#8", pkcs8(rsaKey), rsaKey},
		{"EC SEC 1 after EC PARAMETERS", sec1PEM(t, ecKey), ecKey},
		{"EC PKCS#8", pkcs8(ecKey), ecKey},
		{"Ed25519 PKCS#8", pkcs8(edKey), edKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := generates.ParsePrivateKeyPEM(tt.pem)
			if err != nil {
				t.Fatal(err)
			}
			if !got.(interface{ Equal(crypto.PrivateKey) bool }).Equal(tt.want) {
				t.Fatal("parsed a different key")
			}
		})
	}
}

func TestParsePrivateKeyPEM_RefusesWhatIsNotAPrivateKey(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(small.Public())
	tests := []struct {
		name   string
		pem    []byte
		method jwt.SigningMethod
	}{
		{"empty", nil, jwt.SigningMethodRS256},
		{"public key only", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), jwt.SigningMethodRS256},
		{"encrypted", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), jwt.SigningMethodRS256},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("garbage")}), jwt.SigningMethodRS256},
		// RFC 7518 3.3: RSA keys of 2048 bits or more.
		{"1024-bit RSA", pkcs1PEM(small), jwt.SigningMethodRS256},
		{"1024-bit RSA for PS256", pkcs1PEM(small), jwt.SigningMethodPS256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := generates.ParseSigningKey(tt.pem, tt.method); !errors.Is(err, generates.ErrInvalidKey) {
				t.Fatalf("err %v, want ErrInvalidKey", err)
			}
		})
	}
}

func TestParseSigningKey_HMACSecretIsCopied(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	got, err := generates.ParseSigningKey(secret, jwt.SigningMethodHS256)
	if err != nil {
		t.Fatal(err)
	}
	secret[0] = 'X'
	if got.([]byte)[0] != '0' {
		t.Fatal("the returned secret aliases the caller's slice")
	}
}
