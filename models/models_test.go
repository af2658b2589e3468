package models_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/models"
)

func TestClient_VerifyPassword(t *testing.T) {
	hash, err := secret.Hash("999999")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		client models.Client
		secret string
		want   bool
	}{
		{"plain secret matches", models.Client{Secret: "999999"}, "999999", true},
		{"plain secret differs", models.Client{Secret: "999999"}, "99999", false},
		{"hashed secret matches", models.Client{SecretHash: hash}, "999999", true},
		{"hashed secret wins over plain", models.Client{SecretHash: hash, Secret: "other"}, "other", false},
		{"no secret verifies nothing", models.Client{Public: true}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.client.VerifyPassword(tt.secret); got != tt.want {
				t.Fatalf("VerifyPassword = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClient_AllowsGrant(t *testing.T) {
	any := &models.Client{}
	if !any.AllowsGrant(oauth2.ClientCredentials) {
		t.Fatal("empty GrantTypes should allow every grant")
	}
	code := &models.Client{GrantTypes: []oauth2.GrantType{oauth2.AuthorizationCode}}
	if code.AllowsGrant(oauth2.ClientCredentials) || !code.AllowsGrant(oauth2.AuthorizationCode) {
		t.Fatal("GrantTypes not enforced")
	}
}

func TestToken_NewIsEmpty(t *testing.T) {
	tok := &models.Token{Access: "a", GrantID: "g"}
	n := tok.New()
	if n.GetAccess() != "" || n.GetGrantID() != "" {
		t.Fatal("New returned a non-empty token")
	}
}

// TestClient_SecretHashOfAnUnregisteredScheme: a SecretHash verifies
// through the verifier registered for its scheme, and nothing verifies a
// hash of a scheme no one registered.
func TestClient_SecretHashOfAnUnregisteredScheme(t *testing.T) {
	c := models.Client{SecretHash: "$test-scheme$secret-Vv1"}
	if c.VerifyPassword("secret-Vv1") {
		t.Fatal("a hash of an unregistered scheme verified")
	}
	models.RegisterSecretHash("$test-scheme$", func(hash, secret string) bool {
		return hash == "$test-scheme$"+secret
	})
	if !c.VerifyPassword("secret-Vv1") || c.VerifyPassword("secret-Vv2") {
		t.Fatal("the registered scheme's verifier was not used")
	}
}

// TestModels_DoesNotLinkXCrypto: importing models (or the manager or the
// server) does not link golang.org/x/crypto's password hashes; only
// models/secrethash does.
func TestModels_DoesNotLinkXCrypto(t *testing.T) {
	for _, tt := range []struct {
		pkg  string
		want bool
	}{
		{"github.com/oauth2d/oauth2/models", false},
		{"github.com/oauth2d/oauth2/manage", false},
		{"github.com/oauth2d/oauth2/server", false},
		{"github.com/oauth2d/oauth2/models/secrethash", true},
	} {
		out, err := exec.Command("go", "list", "-deps", tt.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", tt.pkg, err)
		}
		links := false
		for _, dep := range strings.Fields(string(out)) {
			if dep == "golang.org/x/crypto/argon2" || dep == "golang.org/x/crypto/bcrypt" {
				links = true
			}
		}
		if links != tt.want {
			t.Errorf("%s links argon2 or bcrypt: %t, want %t", tt.pkg, links, tt.want)
		}
	}
}
