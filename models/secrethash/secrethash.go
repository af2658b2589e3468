// Package secrethash hashes client secrets and passwords with argon2id (RFC
// 9106, 64 MiB, 3 passes) and verifies argon2id and bcrypt hashes in
// constant time.
//
// Importing it registers both schemes with package models, so that a
// models.Client with a SecretHash verifies its secret:
//
//	hash, err := secrethash.Hash("s3cret")
//	clients.Set("app", &models.Client{ID: "app", SecretHash: hash})
//
// or, for hashes made elsewhere (htpasswd -B, another server):
//
//	import _ "github.com/oauth2d/oauth2/models/secrethash"
//
// Only programs that import it link golang.org/x/crypto; a program whose
// clients keep their secrets in the clear does not. The persistent stores
// of this module (SQLite, PostgreSQL, MySQL) keep only hashes and register
// the schemes themselves.
package secrethash

import (
	"github.com/oauth2d/oauth2/internal/secret"
)

// Hash returns an argon2id hash of password in the PHC string format
// "$argon2id$v=19$m=65536,t=3,p=1$salt$hash", with a random 16-byte salt.
func Hash(password string) (string, error) { return secret.Hash(password) }

// Check validates the format and parameters of an argon2id or bcrypt hash
// without verifying anything: an argon2id hash must be canonical and ask
// for at most 4 GiB and 64 passes, a bcrypt hash for a cost of at most 16.
// Verify refuses every hash Check refuses.
func Check(hash string) error { return secret.Check(hash) }

// Verify reports whether password matches hash (argon2id or bcrypt), in
// constant time with respect to the password.
func Verify(hash, password string) bool { return secret.Verify(hash, password) }

// VerifyMissing spends the time of one argon2id verification and returns
// false: call it when the user or client is unknown, so that the answer
// takes as long as for a wrong password.
func VerifyMissing(password string) bool { return secret.VerifyMissing(password) }
