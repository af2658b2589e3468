package models_test

import (
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
