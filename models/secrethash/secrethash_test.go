package secrethash_test

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/models/secrethash"
)

// TestSecretHash_ClientsVerifyHashedSecrets: importing the package lets a
// models.Client verify a secret kept as an argon2id hash made by Hash, or
// as a bcrypt hash made elsewhere; a wrong secret and a malformed hash
// verify nothing.
func TestSecretHash_ClientsVerifyHashedSecrets(t *testing.T) {
	argon, err := secrethash.Hash("s3cret-Aa1")
	if err != nil {
		t.Fatal(err)
	}
	if err := secrethash.Check(argon); err != nil {
		t.Fatalf("Check of a fresh hash: %v", err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("s3cret-Aa1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, hash, secret string
		want               bool
	}{
		{"argon2id, right", argon, "s3cret-Aa1", true},
		{"argon2id, wrong", argon, "s3cret-Aa2", false},
		{"bcrypt, right", string(bc), "s3cret-Aa1", true},
		{"bcrypt, wrong", string(bc), "", false},
		{"truncated argon2id", argon[:len(argon)-4], "s3cret-Aa1", false},
		{"unknown scheme", "$md5$abc", "s3cret-Aa1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &models.Client{ID: "c", SecretHash: tt.hash}
			if got := c.VerifyPassword(tt.secret); got != tt.want {
				t.Fatalf("VerifyPassword = %t, want %t", got, tt.want)
			}
			if got := secrethash.Verify(tt.hash, tt.secret); got != tt.want {
				t.Fatalf("Verify = %t, want %t", got, tt.want)
			}
		})
	}
	if secrethash.VerifyMissing("anything") {
		t.Fatal("VerifyMissing verified")
	}
}
