package manage_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/manage"
)

// benchManager is a default manager over the real memory stores.
func benchManager(b *testing.B) (*manage.Manager, map[string]oauth2.ClientInfo) {
	b.Helper()
	m := manage.NewDefaultManager()
	cs := newClientStore()
	clients := map[string]oauth2.ClientInfo{}
	for _, c := range testClients() {
		setClient(cs, c)
		clients[c.ID] = c
	}
	m.MapClientStorage(cs)
	m.MapTokenStorage(newTokenStore(b, nil))
	return m, clients
}

// BenchmarkClientCredentials is the hot path of the token endpoint: the
// client_credentials grant, with the secret checked by the manager (the
// seed's way) or a client the server already authenticated.
func BenchmarkClientCredentials(b *testing.B) {
	m, clients := benchManager(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		tgr  oauth2.TokenGenerateRequest
	}{
		{"secret", oauth2.TokenGenerateRequest{ClientID: "conf", ClientSecret: confSecret, Scope: "read"}},
		{"authenticated", oauth2.TokenGenerateRequest{Client: clients["conf"], Scope: "read"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tgr := bc.tgr
				if _, err := m.GenerateAccessToken(ctx, oauth2.ClientCredentials, &tgr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkClientCredentialsParallel(b *testing.B) {
	m, _ := benchManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tgr := oauth2.TokenGenerateRequest{ClientID: "conf", ClientSecret: confSecret, Scope: "read"}
			if _, err := m.GenerateAccessToken(ctx, oauth2.ClientCredentials, &tgr); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchAccessTokens(b *testing.B, m *manage.Manager) []string {
	b.Helper()
	tokens := make([]string, 1024)
	for i := range tokens {
		ti, err := m.GenerateAccessToken(context.Background(), oauth2.ClientCredentials,
			&oauth2.TokenGenerateRequest{ClientID: "conf", ClientSecret: confSecret, Scope: "read"})
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = ti.GetAccess()
	}
	return tokens
}

// BenchmarkLoadAccessToken is what a resource server or introspection does
// for every request.
func BenchmarkLoadAccessToken(b *testing.B) {
	m, _ := benchManager(b)
	tokens := benchAccessTokens(b, m)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.LoadAccessToken(ctx, tokens[i&1023]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkLoadAccessTokenParallel(b *testing.B) {
	m, _ := benchManager(b)
	tokens := benchAccessTokens(b, m)
	ctx := context.Background()
	b.ReportAllocs()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine starts elsewhere in the token list, as requests
		// for different tokens do; in lockstep they would contend for one
		// shard at a time and measure the benchmark, not the store.
		i := int(next.Add(331))
		for pb.Next() {
			if _, err := m.LoadAccessToken(ctx, tokens[i&1023]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// codeRoundTrip issues a code with an S256 challenge and redeems it.
func codeRoundTrip(ctx context.Context, m *manage.Manager, cli oauth2.ClientInfo) error {
	code, err := m.GenerateAuthToken(ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
		Client: cli, UserID: "alice", RedirectURI: confRedirect, Scope: "read",
		CodeChallenge: rfcChallenge, CodeChallengeMethod: oauth2.CodeChallengeS256,
	})
	if err != nil {
		return err
	}
	_, err = m.GenerateAccessToken(ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret, Code: code.GetCode(), RedirectURI: confRedirect, CodeVerifier: rfcVerifier,
	})
	return err
}

// BenchmarkAuthorizationCodeExchange: GenerateAuthToken then
// GenerateAccessToken, with PKCE.
func BenchmarkAuthorizationCodeExchange(b *testing.B) {
	m, clients := benchManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := codeRoundTrip(ctx, m, clients["conf"]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorizationCodeExchangeParallel(b *testing.B) {
	m, clients := benchManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := codeRoundTrip(ctx, m, clients["conf"]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
