package manage_test

import (
	"context"
	"io"
	"net/url"
	"sync"
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

// extensionStore is the memory token store with each record's extension
// data (oauth2.ExtendableTokenInfo) kept beside it, keyed by the record's
// refresh token, as the storage contract has every store keep it with the
// record. The tests of data that travels in the extension run over it
// until the memory store keeps the extension itself.
type extensionStore struct {
	oauth2.TokenStore
	mu  sync.Mutex
	ext map[string]url.Values
}

func newExtensionStore(tb testing.TB, now func() time.Time) *extensionStore {
	return &extensionStore{TokenStore: newTokenStore(tb, now), ext: map[string]url.Values{}}
}

func (s *extensionStore) keep(info oauth2.TokenInfo) {
	e, ok := info.(oauth2.ExtendableTokenInfo)
	if !ok || info.GetRefresh() == "" {
		return
	}
	s.mu.Lock()
	s.ext[info.GetRefresh()] = e.GetExtension()
	s.mu.Unlock()
}

func (s *extensionStore) Create(ctx context.Context, info oauth2.TokenInfo) error {
	err := s.TokenStore.Create(ctx, info)
	if err == nil {
		s.keep(info)
	}
	return err
}

func (s *extensionStore) ExchangeCode(ctx context.Context, code string, issued oauth2.TokenInfo) error {
	err := s.TokenStore.ExchangeCode(ctx, code, issued)
	if err == nil {
		s.keep(issued)
	}
	return err
}

func (s *extensionStore) RotateRefresh(ctx context.Context, refresh string, issued oauth2.TokenInfo) error {
	err := s.TokenStore.RotateRefresh(ctx, refresh, issued)
	if err == nil {
		s.keep(issued)
	}
	return err
}

func (s *extensionStore) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	ti, err := s.TokenStore.GetByRefresh(ctx, refresh)
	if err != nil {
		return ti, err
	}
	if e, ok := ti.(oauth2.ExtendableTokenInfo); ok {
		s.mu.Lock()
		e.SetExtension(s.ext[refresh])
		s.mu.Unlock()
	}
	return ti, nil
}
