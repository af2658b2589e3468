package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store/sqlite"
	"github.com/oauth2d/oauth2/store/storetest"
)

// open opens a store on path, closed when the test ends.
func open(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// paths remembers the file of each store the harness opened, for Reopen.
var paths = map[oauth2.TokenStore]string{}

func TestStore_Conformance(t *testing.T) {
	storetest.TestTokenStore(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) oauth2.TokenStore {
			path := filepath.Join(t.TempDir(), "oauth2.db")
			s := open(t, path, sqlite.WithClock(now))
			paths[s] = path
			return s
		},
		Reopen: func(t *testing.T, s oauth2.TokenStore, now func() time.Time) oauth2.TokenStore {
			return open(t, paths[s], sqlite.WithClock(now))
		},
	})
}

func TestClientStore_Conformance(t *testing.T) {
	storetest.TestClientStore(t, storetest.ClientHarness{
		New: func(t *testing.T) (oauth2.ClientStore, func(context.Context, *models.Client) error) {
			s := open(t, filepath.Join(t.TempDir(), "oauth2.db"))
			return s, s.SaveClient
		},
	})
}
