package secret

import "github.com/oauth2d/oauth2/models"

// The hashes this package makes and checks are the ones models.Client keeps
// in SecretHash: every program that handles them (the SQL stores, the
// standalone server, models/secrethash) imports this package, so it
// registers their verifier with models here, and a program that handles
// none does not link golang.org/x/crypto for models' sake.
func init() {
	for _, prefix := range []string{"$argon2id$", "$2a$", "$2b$", "$2y$"} {
		models.RegisterSecretHash(prefix, Verify)
	}
}
