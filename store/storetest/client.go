package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	// The kit saves a client with a bcrypt SecretHash: verifying it needs
	// the hash schemes registered with models.
	_ "github.com/oauth2d/oauth2/models/secrethash"
)

// ClientHarness tells TestClientStore how to make client stores of one kind.
type ClientHarness struct {
	// New returns a fresh client store and a function that saves a client
	// into it. It registers its own cleanup with t.Cleanup.
	New func(t *testing.T) (oauth2.ClientStore, func(ctx context.Context, c *models.Client) error)
}

// TestClientStore checks an oauth2.ClientStore: a saved client comes back
// with its registration (RFC 6749 2, RFC 7591 2), its secret verifies and
// no other does, and an unknown client is ErrNotFound.
func TestClientStore(t *testing.T, h ClientHarness) {
	if h.New == nil {
		t.Fatal("storetest: ClientHarness.New is nil")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("hashed-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		client models.Client
		secret string // the secret that verifies; "" for none
	}{
		{"confidential client with a clear secret", models.Client{
			ID:                      "000000",
			Secret:                  "999999",
			Domain:                  "http://localhost:9094",
			RedirectURIs:            []string{"http://localhost:9094/oauth2", "https://client.example/cb?x=1"},
			GrantTypes:              []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials},
			Scopes:                  []string{"read", "write"},
			UserID:                  "owner-1",
			TokenEndpointAuthMethod: "client_secret_basic",
		}, "999999"},
		{"confidential client with a hashed secret", models.Client{
			ID:                      "client-hashed",
			SecretHash:              string(hash),
			RedirectURIs:            []string{"https://hashed.example/cb"},
			GrantTypes:              []oauth2.GrantType{oauth2.ClientCredentials},
			TokenEndpointAuthMethod: "client_secret_post",
		}, "hashed-secret"},
		{"public client", models.Client{
			ID:                      "native-app",
			Public:                  true,
			RedirectURIs:            []string{"http://127.0.0.1/callback", "com.example.app:/cb"},
			GrantTypes:              []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.Refreshing},
			Scopes:                  []string{"openid"},
			TokenEndpointAuthMethod: "none",
		}, ""},
		{"seed client with a domain only", models.Client{
			ID:     "seed-client",
			Secret: "seed-secret",
			Domain: "http://localhost:9094",
		}, "seed-secret"},
		{"non-ASCII identifiers", models.Client{
			ID:     "clïent/ü 1",
			Secret: "pässwörd",
			UserID: "josé",
		}, "pässwörd"},
	}
	ctx := t.Context()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, save := h.New(t)
			in := tt.client
			in.RedirectURIs = slices.Clone(tt.client.RedirectURIs)
			if err := save(ctx, &in); err != nil {
				t.Fatalf("save: %v", err)
			}
			got, err := cs.GetByID(ctx, tt.client.ID)
			if err != nil {
				t.Fatalf("GetByID: %v", err)
			}
			checkClient(t, got, &tt.client)
			checkSecret(t, got, tt.secret)
			if _, err := cs.GetByID(ctx, tt.client.ID+"x"); !errors.Is(err, oauth2.ErrNotFound) {
				t.Fatalf("GetByID of another ID = %v, want ErrNotFound", err)
			}
		})
	}
	t.Run("unknown client is not found", func(t *testing.T) {
		cs, save := h.New(t)
		if err := save(ctx, &models.Client{ID: "known", Secret: "s"}); err != nil {
			t.Fatalf("save: %v", err)
		}
		for _, id := range []string{"unknown", "", "KNOWN", "known ", "\xff\x00", "' OR '1'='1"} {
			c, err := cs.GetByID(ctx, id)
			if !errors.Is(err, oauth2.ErrNotFound) {
				t.Fatalf("GetByID(%q) = (%v, %v), want ErrNotFound", id, c != nil, err)
			}
		}
	})
}

func checkClient(t *testing.T, got oauth2.ClientInfo, want *models.Client) {
	t.Helper()
	if got == nil {
		t.Fatal("GetByID returned a nil client")
	}
	if got.GetID() != want.ID || got.IsPublic() != want.Public || got.GetUserID() != want.UserID ||
		got.GetDomain() != want.Domain {
		t.Fatalf("GetByID = {ID %q, Public %v, UserID %q, Domain %q}, want {%q, %v, %q, %q}",
			got.GetID(), got.IsPublic(), got.GetUserID(), got.GetDomain(),
			want.ID, want.Public, want.UserID, want.Domain)
	}
	md, ok := got.(oauth2.ClientMetadata)
	if !ok {
		t.Fatalf("the client returned (%T) does not implement oauth2.ClientMetadata", got)
	}
	if !sameStrings(md.GetRedirectURIs(), want.RedirectURIs) {
		t.Errorf("RedirectURIs = %q, want %q", md.GetRedirectURIs(), want.RedirectURIs)
	}
	if !sameStrings(md.GetGrantTypes(), want.GrantTypes) {
		t.Errorf("GrantTypes = %q, want %q", md.GetGrantTypes(), want.GrantTypes)
	}
	if !sameStrings(md.GetScopes(), want.Scopes) {
		t.Errorf("Scopes = %q, want %q", md.GetScopes(), want.Scopes)
	}
	if md.GetTokenEndpointAuthMethod() != want.TokenEndpointAuthMethod {
		t.Errorf("TokenEndpointAuthMethod = %q, want %q", md.GetTokenEndpointAuthMethod(), want.TokenEndpointAuthMethod)
	}
}

// sameStrings compares two lists in order, taking nil and empty as equal.
func sameStrings[S ~string](got, want []S) bool {
	return len(got) == len(want) && (len(got) == 0 || slices.Equal(got, want))
}

// checkSecret verifies the right secret and refuses wrong ones, through
// oauth2.ClientPasswordVerifier when the client implements it (a store that
// keeps only a hash must), else through GetSecret.
func checkSecret(t *testing.T, got oauth2.ClientInfo, secret string) {
	t.Helper()
	verify := func(s string) bool { return s != "" && got.GetSecret() == s }
	if v, ok := got.(oauth2.ClientPasswordVerifier); ok {
		verify = v.VerifyPassword
	}
	if secret != "" && !verify(secret) {
		t.Error("the client's secret does not verify")
	}
	for _, wrong := range []string{"", "wrong", secret + "x", "999999"} {
		if wrong != secret && verify(wrong) {
			t.Errorf("a wrong secret (%d bytes) verifies", len(wrong))
		}
	}
}
