package generates_test

import (
	"context"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
)

// The seed's JWT example, with jwt-go replaced by jwt/v5.
func ExampleNewJWTAccessGenerate() {
	g := generates.NewJWTAccessGenerate([]byte("00000000"), jwt.SigningMethodHS512)

	now := time.Now()
	access, _, err := g.Token(context.Background(), &oauth2.GenerateBasic{
		Client:    &models.Client{ID: "000000"},
		UserID:    "user",
		CreateAt:  now,
		TokenInfo: &models.Token{Scope: "read", AccessCreateAt: now, AccessExpiresIn: 2 * time.Hour},
	}, false)
	if err != nil {
		panic(err)
	}

	// Parse and verify jwt access token
	token, err := jwt.ParseWithClaims(access, &generates.JWTAccessClaims{}, func(t *jwt.Token) (interface{}, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, fmt.Errorf("parse error")
		}
		return []byte("00000000"), nil
	})
	if err != nil {
		panic(err)
	}
	claims, ok := token.Claims.(*generates.JWTAccessClaims)
	if !ok || !token.Valid {
		panic("invalid token")
	}
	fmt.Println(claims.Subject, claims.ClientID, claims.Scope, token.Header["typ"])
	// Output: user 000000 read at+jwt
}

// A server keeps its signing keys in a KeySet, signs with the current one
// and publishes the public keys at its jwks_uri.
func ExampleKeySet() {
	key, err := generates.GenerateSigningKey("ES256")
	if err != nil {
		panic(err)
	}
	ks := generates.NewKeySet()
	if err := ks.Add(generates.SigningKey{KeyID: "2025-01", Method: jwt.SigningMethodES256, Key: key}, true); err != nil {
		panic(err)
	}
	g := generates.NewJWTAccessGenerateFromKeySet(ks,
		generates.WithIssuer("https://as.example.com"), generates.WithAudience("https://api.example.com"))

	// Later: a new key signs, the old one stays published while its tokens
	// may still be valid.
	next, err := generates.GenerateSigningKey("EdDSA")
	if err != nil {
		panic(err)
	}
	if err := ks.Rotate(generates.SigningKey{KeyID: "2025-02", Method: jwt.SigningMethodEdDSA, Key: next}, 2*time.Hour); err != nil {
		panic(err)
	}

	now := time.Now()
	access, _, err := g.Token(context.Background(), &oauth2.GenerateBasic{
		Client:    &models.Client{ID: "client"},
		CreateAt:  now,
		TokenInfo: &models.Token{AccessCreateAt: now, AccessExpiresIn: time.Hour},
	}, false)
	if err != nil {
		panic(err)
	}
	token, err := jwt.ParseWithClaims(access, &generates.JWTAccessClaims{}, ks.Keyfunc,
		jwt.WithIssuer("https://as.example.com"), jwt.WithAudience("https://api.example.com"))
	if err != nil {
		panic(err)
	}
	for _, k := range ks.Public() {
		fmt.Println("published", k.KeyID, k.Algorithm)
	}
	fmt.Println("signed with", token.Header["kid"])
	// Output:
	// published 2025-01 ES256
	// published 2025-02 EdDSA
	// signed with 2025-02
}
