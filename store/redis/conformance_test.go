package redis_test

import (
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store/storetest"
)

// TestTokenStore_Conformance runs the storage contract's conformance kit
// against a real Redis, with a second client as a second server process and
// a closed port as a Redis that is down (docs/architecture.md section 4).
func TestTokenStore_Conformance(t *testing.T) {
	redisURL(t)
	storetest.TestTokenStore(t, storetest.Harness{
		New:    harnessNew,
		Reopen: harnessReopen,
		Down:   harnessDown,
	})
}

// TestKVStore_Conformance runs the kit of the oauth2.KVStore capability.
func TestKVStore_Conformance(t *testing.T) {
	redisURL(t)
	storetest.TestKVStore(t, storetest.KVHarness{
		New: func(t *testing.T, now func() time.Time) oauth2.KVStore {
			return newFixture(t, now).store
		},
	})
}
