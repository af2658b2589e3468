package web

import (
	"os"
	"testing"

	"github.com/oauth2d/oauth2/internal/secret"
)

// TestMain makes the package's tests hash passwords at a test cost
// (secret.UseTestCost): argon2id's 64 MiB and three passes a hash, under
// the race detector, were most of their run time. The cost itself is
// tested in internal/secret.
func TestMain(m *testing.M) {
	secret.UseTestCost()
	os.Exit(m.Run())
}
