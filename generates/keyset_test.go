package generates_test

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/generates"
)

// jwksKeyfunc verifies tokens the way an outside resource server does: with
// nothing but the published JWK Set.
func jwksKeyfunc(t *testing.T, jwks []byte) jwt.Keyfunc {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	return func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		keys := set.Key(kid)
		if len(keys) != 1 {
			return nil, fmt.Errorf("kid %q: %d keys", kid, len(keys))
		}
		if keys[0].Algorithm != tok.Method.Alg() {
			return nil, errors.New("alg does not match the JWK")
		}
		return keys[0].Key, nil
	}
}

func addKey(t *testing.T, ks *generates.KeySet, alg, kid string, current bool) testKey {
	t.Helper()
	k := newTestKey(t, alg, 0)
	if err := ks.Add(generates.SigningKey{KeyID: kid, Method: k.method, Key: k.key}, current); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeySet_JWKSPublishesOnlyPublicSigningKeys(t *testing.T) {
	ks := generates.NewKeySet()
	addKey(t, ks, "ES256", "ec", true)
	addKey(t, ks, "RS256", "rsa", false)
	addKey(t, ks, "EdDSA", "ed", false)
	addKey(t, ks, "HS256", "hmac", false)

	jwks, err := ks.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &raw); err != nil {
		t.Fatal(err)
	}
	// RFC 7518 6.2.2, 6.3.2, RFC 8037 2 and RFC 7518 6.4: the private and
	// symmetric members.
	for _, k := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %v publishes %q", k["kid"], private)
			}
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ec": "ES256", "rsa": "RS256", "ed": "EdDSA"}
	if len(set.Keys) != len(want) {
		t.Fatalf("%d keys published, want %d (no HMAC key)", len(set.Keys), len(want))
	}
	for _, k := range set.Keys {
		if want[k.KeyID] != k.Algorithm || k.Use != "sig" || !k.IsPublic() || !k.Valid() {
			t.Errorf("key %q: alg %q use %q public %v", k.KeyID, k.Algorithm, k.Use, k.IsPublic())
		}
	}
}

func TestKeySet_EmptySetPublishesEmptyJWKS(t *testing.T) {
	var ks generates.KeySet
	jwks, err := ks.JWKS()
	if err != nil || string(jwks) != `{"keys":[]}` {
		t.Fatalf("%s, %v", jwks, err)
	}
	if _, ok := ks.Current(); ok {
		t.Fatal("empty set has a current key")
	}
	g := generates.NewJWTAccessGenerateFromKeySet(&ks)
	if _, _, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), false); !errors.Is(err, generates.ErrNoSigningKey) {
		t.Fatalf("Token: %v", err)
	}
}

// After a rotation, tokens signed with the old key verify against the JWK
// Set until the old key's NotAfter, and new tokens carry the new kid.
func TestKeySet_RotatedOutKeyStillVerifiesUntilRetired(t *testing.T) {
	ks := generates.NewKeySet()
	addKey(t, ks, "ES256", "old", true)
	g := generates.NewJWTAccessGenerateFromKeySet(ks, generates.WithIssuer("https://as"), generates.WithKeyID("ignored"))
	oldToken, _, err := g.Token(context.Background(), grant("c", "u", "read", time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	newKey := newTestKey(t, "EdDSA", 0)
	if err := ks.Rotate(generates.SigningKey{KeyID: "new", Method: newKey.method, Key: newKey.key}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if cur, ok := ks.Current(); !ok || cur.KeyID != "new" {
		t.Fatalf("current key %q", cur.KeyID)
	}
	newToken, _, err := g.Token(context.Background(), grant("c", "u", "read", time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}

	jwks, err := ks.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ token, kid string }{"old": {oldToken, "old"}, "new": {newToken, "new"}} {
		tok, err := jwt.ParseWithClaims(tc.token, &generates.JWTAccessClaims{}, jwksKeyfunc(t, jwks), jwt.WithIssuer("https://as"))
		if err != nil {
			t.Fatalf("%s token: %v", name, err)
		}
		if tok.Header["kid"] != tc.kid {
			t.Fatalf("%s token kid %v", name, tok.Header["kid"])
		}
		if _, err := jwt.ParseWithClaims(tc.token, &generates.JWTAccessClaims{}, ks.Keyfunc); err != nil {
			t.Fatalf("%s token with Keyfunc: %v", name, err)
		}
	}

	keys := ks.Keys()
	if len(keys) != 2 || keys[0].NotAfter.IsZero() || !keys[1].NotAfter.IsZero() {
		t.Fatalf("keys after rotation: %+v", keys)
	}
	if removed := ks.Prune(time.Now()); len(removed) != 0 {
		t.Fatalf("pruned %v before NotAfter", removed)
	}
	if removed := ks.Prune(time.Now().Add(2 * time.Hour)); !slices.Equal(removed, []string{"old"}) {
		t.Fatalf("pruned %v", removed)
	}
	jwks, _ = ks.JWKS()
	if _, err := jwt.ParseWithClaims(oldToken, &generates.JWTAccessClaims{}, jwksKeyfunc(t, jwks)); err == nil {
		t.Fatal("a retired key still verifies")
	}
}

func TestKeySet_KeyPastNotAfterIsNotPublished(t *testing.T) {
	ks := generates.NewKeySet()
	addKey(t, ks, "ES256", "current", true)
	k := newTestKey(t, "ES256", 0)
	past := generates.SigningKey{KeyID: "retired", Method: k.method, Key: k.key, NotAfter: time.Now().Add(-time.Second)}
	if err := ks.Add(past, false); err != nil {
		t.Fatal(err)
	}
	pub := ks.Public()
	if len(pub) != 1 || pub[0].KeyID != "current" {
		t.Fatalf("published %+v", pub)
	}
}

func TestKeySet_AddRefuses(t *testing.T) {
	ks := generates.NewKeySet()
	addKey(t, ks, "ES256", "a", true)
	ec := newTestKey(t, "ES256", 0)
	tests := []struct {
		name string
		key  generates.SigningKey
		cur  bool
	}{
		{"a duplicate kid", generates.SigningKey{KeyID: "a", Method: ec.method, Key: ec.key}, false},
		{"a current key with NotAfter", generates.SigningKey{KeyID: "b", Method: ec.method, Key: ec.key, NotAfter: time.Now().Add(time.Hour)}, true},
		{"an HMAC secret shorter than RFC 7518 3.2 allows", generates.SigningKey{KeyID: "c", Method: jwt.SigningMethodHS256, Key: []byte("short")}, false},
		{"a key that does not fit its method", generates.SigningKey{KeyID: "d", Method: jwt.SigningMethodRS256, Key: ec.key}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ks.Add(tt.key, tt.cur); err == nil {
				t.Fatal("added")
			}
			if cur, _ := ks.Current(); cur.KeyID != "a" {
				t.Fatalf("current key changed to %q", cur.KeyID)
			}
		})
	}
	if err := ks.Rotate(generates.SigningKey{KeyID: "e", Method: ec.method, Key: ec.key}, 0); err == nil {
		t.Fatal("rotated with no grace period for the old key's tokens")
	}
}

// Keyfunc is what a resource server of this set uses (RFC 9068 4).
func TestKeySet_KeyfuncChecksTypKidAndAlg(t *testing.T) {
	ks := generates.NewKeySet()
	rsaKey := addKey(t, ks, "RS256", "rsa", true)
	g := generates.NewJWTAccessGenerateFromKeySet(ks)
	good, _, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	claims := &generates.JWTAccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: "u", Audience: jwt.ClaimStrings{"c"}, ID: "j",
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)), IssuedAt: jwt.NewNumericDate(time.Now()),
		},
		ClientID: "c",
	}
	sign := func(method jwt.SigningMethod, header map[string]any, key any) string {
		tok := jwt.NewWithClaims(method, claims)
		for k, v := range header {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaPublicPEM := rsaKey.pem // what an attacker would use as an HMAC secret
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"token of the set", good, true},
		{"typ JWT: not an access token", sign(jwt.SigningMethodRS256, map[string]any{"kid": "rsa", "typ": "JWT"}, rsaKey.key), false},
		{"typ application/at+jwt", sign(jwt.SigningMethodRS256, map[string]any{"kid": "rsa", "typ": "application/at+jwt"}, rsaKey.key), true},
		{"unknown kid", sign(jwt.SigningMethodRS256, map[string]any{"kid": "other", "typ": "at+jwt"}, rsaKey.key), false},
		{"HS256 with the RSA key's kid: algorithm confusion", sign(jwt.SigningMethodHS256, map[string]any{"kid": "rsa", "typ": "at+jwt"}, rsaPublicPEM), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwt.ParseWithClaims(tt.token, &generates.JWTAccessClaims{}, ks.Keyfunc)
			if tt.ok != (err == nil) {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, jwt.ErrTokenUnverifiable) {
				t.Fatalf("err %v does not wrap ErrTokenUnverifiable", err)
			}
		})
	}
}

// Tokens issued while keys rotate all verify: the generator never sees a
// half-added key.
func TestKeySet_RotationWhileSigning(t *testing.T) {
	ks := generates.NewKeySet()
	addKey(t, ks, "EdDSA", "k0", true)
	g := generates.NewJWTAccessGenerateFromKeySet(ks)
	var wg sync.WaitGroup
	tokens := make(chan string, 400)
	for range 4 {
		wg.Go(func() {
			for range 100 {
				access, _, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), false)
				if err != nil {
					t.Error(err)
					return
				}
				tokens <- access
			}
		})
	}
	for i := 1; i <= 10; i++ {
		k := newTestKey(t, "EdDSA", 0)
		if err := ks.Rotate(generates.SigningKey{KeyID: fmt.Sprint("k", i), Method: k.method, Key: k.key.(crypto.Signer)}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(tokens)
	jwks, err := ks.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	kf := jwksKeyfunc(t, jwks)
	for access := range tokens {
		if _, err := jwt.ParseWithClaims(access, &generates.JWTAccessClaims{}, kf); err != nil {
			t.Fatal(err)
		}
	}
}
