package generates_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/generates"
)

func BenchmarkAuthorizeGenerate(b *testing.B) {
	g := generates.NewAuthorizeGenerate()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Token(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAccessGenerate(b *testing.B) {
	g := generates.NewAccessGenerate()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := g.Token(ctx, nil, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAccessGenerateParallel(b *testing.B) {
	g := generates.NewAccessGenerate()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := g.Token(ctx, nil, true); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

var benchAlgs = []string{"HS256", "ES256", "EdDSA", "RS256"}

// benchGenerator signs access tokens the way a server does: with an issuer,
// an audience, a user and a scope, and a refresh token alongside.
func benchGenerator(b *testing.B, alg string) *generates.JWTAccessGenerate {
	k := newTestKey(b, alg, 0)
	g, err := generates.NewJWTAccessGenerateFromKey(k.key, k.method,
		generates.WithIssuer("https://as.example.com"), generates.WithAudience("https://rs.example.com"))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func BenchmarkJWTAccessGenerate(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			g := benchGenerator(b, alg)
			data := grant("client-1", "user-1", "read write", time.Hour)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := g.Token(ctx, data, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkJWTAccessGenerateParallel(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			g := benchGenerator(b, alg)
			data := grant("client-1", "user-1", "read write", time.Hour)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := g.Token(ctx, data, true); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRawSign is the floor JWT signing is measured against: hashing and
// signing a fixed 300-byte payload with the standard library alone.
func BenchmarkRawSign(b *testing.B) {
	payload := make([]byte, 300)
	rand.Read(payload)
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		b.Run(alg, func(b *testing.B) {
			key := newTestKey(b, alg, 0).key
			b.ReportAllocs()
			var err error
			for b.Loop() {
				switch k := key.(type) {
				case *ecdsa.PrivateKey:
					sum := sha256.Sum256(payload)
					_, err = ecdsa.SignASN1(rand.Reader, k, sum[:])
				case ed25519.PrivateKey:
					_ = ed25519.Sign(k, payload)
				case *rsa.PrivateKey:
					sum := sha256.Sum256(payload)
					_, err = rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
