package store_test

import (
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store"
	"github.com/oauth2d/oauth2/store/storetest"
)

func TestMemoryKV_Conformance(t *testing.T) {
	storetest.TestKVStore(t, storetest.KVHarness{
		New: func(t *testing.T, now func() time.Time) oauth2.KVStore { return store.NewMemoryKV(now) },
	})
}
