package manage_test

import (
	"io"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store"
)

// newTokenStore returns the real memory token store, reading the time from
// now (time.Now when nil), closed when the test ends.
func newTokenStore(tb testing.TB, now func() time.Time) oauth2.TokenStore {
	tb.Helper()
	var opts []store.MemoryOption
	if now != nil {
		opts = append(opts, store.WithClock(now))
	}
	s, err := store.NewMemoryTokenStore(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	if c, ok := s.(io.Closer); ok {
		tb.Cleanup(func() { _ = c.Close() })
	}
	return s
}

func newClientStore() *store.ClientStore { return store.NewClientStore() }

func setClient(cs *store.ClientStore, c oauth2.ClientInfo) {
	if err := cs.Set(c.GetID(), c); err != nil {
		panic(err)
	}
}
