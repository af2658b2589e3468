package manage_test

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/manage"
)

// benchJWTAlgs are the JWS algorithms of the JWT access token benchmarks
// (RFC 7518 3.3 and 3.4, RFC 8037 3.1).
var benchJWTAlgs = []struct {
	alg    string
	method jwt.SigningMethod
}{
	{"ES256", jwt.SigningMethodES256},
	{"EdDSA", jwt.SigningMethodEdDSA},
	{"RS256", jwt.SigningMethodRS256},
}

// benchJWTManager is benchManager issuing JWT access tokens (RFC 9068)
// signed with a fresh key of alg.
func benchJWTManager(b *testing.B, alg string, method jwt.SigningMethod) (*manage.Manager, map[string]oauth2.ClientInfo) {
	b.Helper()
	m, clients := benchManager(b)
	key, err := generates.GenerateSigningKey(alg)
	if err != nil {
		b.Fatal(err)
	}
	gen, err := generates.NewJWTAccessGenerateFromKey(key, method,
		generates.WithIssuer("https://auth.example.com"), generates.WithAudience("https://api.example.com"))
	if err != nil {
		b.Fatal(err)
	}
	m.MapAccessGenerate(gen)
	return m, clients
}

// BenchmarkClientCredentialsJWT is BenchmarkClientCredentials/authenticated
// with JWT access tokens: the cost of signing on the token endpoint's hot
// path, per algorithm.
func BenchmarkClientCredentialsJWT(b *testing.B) {
	ctx := context.Background()
	for _, a := range benchJWTAlgs {
		b.Run(a.alg, func(b *testing.B) {
			m, clients := benchJWTManager(b, a.alg, a.method)
			cli := clients["conf"]
			b.ReportAllocs()
			for b.Loop() {
				tgr := oauth2.TokenGenerateRequest{Client: cli, Scope: "read"}
				if _, err := m.GenerateAccessToken(ctx, oauth2.ClientCredentials, &tgr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClientCredentialsJWTParallel is BenchmarkClientCredentialsJWT
// from GOMAXPROCS goroutines on one manager and one key.
func BenchmarkClientCredentialsJWTParallel(b *testing.B) {
	ctx := context.Background()
	for _, a := range benchJWTAlgs {
		b.Run(a.alg, func(b *testing.B) {
			m, clients := benchJWTManager(b, a.alg, a.method)
			cli := clients["conf"]
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tgr := oauth2.TokenGenerateRequest{Client: cli, Scope: "read"}
					if _, err := m.GenerateAccessToken(ctx, oauth2.ClientCredentials, &tgr); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
