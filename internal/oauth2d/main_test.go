package oauth2d

import (
	"os"
	"testing"

	"github.com/oauth2d/oauth2/internal/secret"
)

// TestMain makes the package's tests hash passwords and client secrets at
// a test cost: they start some 170 servers with users and clients, and
// argon2id's 64 MiB and three passes a hash, under the race detector, were
// most of their run time. The cost of the hashes themselves is tested in
// internal/secret, and the binary's tests (TestBinary_*) run the real cost.
func TestMain(m *testing.M) {
	secret.UseTestCost()
	os.Exit(m.Run())
}
