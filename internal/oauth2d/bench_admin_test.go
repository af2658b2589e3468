package oauth2d

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/secret"
)

// BenchmarkApp_StoreClientCredentials compares client_credentials
// issuance for a client of the YAML file and one kept in the store (issue
// 12: within 10%), both with an argon2id secret hash, on the memory store
// and, when their variables are set, PostgreSQL and Redis.
func BenchmarkApp_StoreClientCredentials(b *testing.B) {
	stores := map[string]string{"memory": "memory:"}
	if u := os.Getenv("OAUTH2_TEST_POSTGRES_URL"); u != "" {
		stores["postgres"] = u
	}
	if u := os.Getenv("OAUTH2_TEST_REDIS_URL"); u != "" {
		stores["redis"] = u
	}
	const sec = "bench-client-secret-0123456789"
	hash, err := secret.Hash(sec)
	if err != nil {
		b.Fatal(err)
	}
	for name, url := range stores {
		cfg := baseConfig()
		cfg.Store = url
		cfg.Secret = testAtRestSecret
		cfg.Logger = slog.New(slog.DiscardHandler)
		yamlID, storeID := "bench-yaml-"+randomToken(4), "bench-store-"+randomToken(4)
		cfg.Clients = []ClientConfig{{ID: yamlID, SecretHash: hash, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}}
		app, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		doc, _ := json.Marshal(clientDoc{ClientSecretHash: hash, Source: sourceAdmin, clientMetadata: clientMetadata{
			ClientID: storeID, GrantTypes: []string{"client_credentials"}, Scope: "read", TokenEndpointAuthMethod: "client_secret_basic"}})
		docs := app.rawStore.(oauth2.DocumentStore)
		if err := docs.CreateDocument(context.Background(), docClient, storeID, doc); err != nil {
			b.Fatal(err)
		}
		for _, id := range []string{yamlID, storeID} {
			kind := "yaml"
			if id == storeID {
				kind = "store"
			}
			b.Run(name+"/"+kind, func(b *testing.B) {
				h := app.Handler()
				tmpl := benchRequest(id, sec)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					body := &resettableBody{}
					for pb.Next() {
						req := *tmpl
						body.Reset(benchBody)
						req.Body = body
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, &req)
						if rec.Code != http.StatusOK {
							b.Fatalf("status %d %s", rec.Code, rec.Body)
						}
					}
				})
			})
		}
		_ = docs.DeleteDocument(context.Background(), docClient, storeID)
		app.Close()
	}
}
