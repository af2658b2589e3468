package oauth2d

import (
	"net/http"
	"testing"

	"github.com/oauth2d/oauth2/internal/grants"
)

// TestRegistry_ClientCacheOutlivesWritesOfOtherKinds checks that the
// per-process client cache (docs/architecture.md section 6.2) is dropped
// by a change of a client in the store, as another process makes it, and
// kept through writes of users and of the grant index, which oauth2d makes
// on every code issuance and refresh.
func TestRegistry_ClientCacheOutlivesWritesOfOtherKinds(t *testing.T) {
	for _, kind := range []string{"memory", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			s := startAdmin(t, kind)
			status, body, _ := s.call(t, nil, "POST", "/admin/clients", testAdminToken,
				`{"client_id":"svc","grant_types":["client_credentials"],"scope":"read"}`)
			if status != http.StatusCreated {
				t.Fatalf("create: %d %v", status, body)
			}
			secret, _ := body["client_secret"].(string)
			ctx := t.Context()
			reg := s.App.clients
			// The cache is at the version of the create, so that the poll
			// does not drop it again.
			if err := reg.refresh(ctx); err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if _, err := clientCredentialsToken(t, s.testServer, "svc", secret); err != nil {
				t.Fatalf("client_credentials: %v", err)
			}
			cached := reg.cache.Load()
			if _, ok := cached.clients.Load("svc"); !ok {
				t.Fatal("the store client is not cached after a token request")
			}
			others := []struct{ kind, id string }{
				{docUser, "alice"},
				{"grant/alice", "g1"},
				{grants.OwnerKind("g1"), "g1"},
				{"consent/alice", "svc"},
			}
			for _, o := range others {
				if err := s.Docs.CreateDocument(ctx, o.kind, o.id, []byte(`{}`)); err != nil {
					t.Fatalf("CreateDocument(%q): %v", o.kind, err)
				}
				if err := s.Docs.UpdateDocument(ctx, o.kind, o.id, []byte(`{"a":1}`)); err != nil {
					t.Fatalf("UpdateDocument(%q): %v", o.kind, err)
				}
			}
			if err := s.Docs.DeleteDocument(ctx, grants.OwnerKind("g1"), "g1"); err != nil {
				t.Fatal(err)
			}
			if err := reg.refresh(ctx); err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if reg.cache.Load() != cached {
				t.Fatal("writes of users and of the grant index dropped the client cache")
			}
			if _, ok := reg.cache.Load().clients.Load("svc"); !ok {
				t.Fatal("the store client left the cache after writes of other kinds")
			}
			// Another process changes the client: the store alone tells.
			raw, err := s.Docs.GetDocument(ctx, docClient, "svc")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Docs.UpdateDocument(ctx, docClient, "svc", raw); err != nil {
				t.Fatal(err)
			}
			if err := reg.refresh(ctx); err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if reg.cache.Load() == cached {
				t.Fatal("a change of a client kept the client cache")
			}
			if _, ok := reg.cache.Load().clients.Load("svc"); ok {
				t.Fatal("the changed client is still cached")
			}
		})
	}
}
