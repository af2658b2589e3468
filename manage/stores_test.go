package manage_test

// Temporary stand-ins for the memory stores of package store, which another
// helper is writing; replaced by store.NewMemoryTokenStore and
// store.NewClientStore as soon as they compile.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

type fakeClients struct{ m map[string]oauth2.ClientInfo }

func newClientStore() *fakeClients { return &fakeClients{m: map[string]oauth2.ClientInfo{}} }

func setClient(cs *fakeClients, c oauth2.ClientInfo) { cs.m[c.GetID()] = c }

func (cs *fakeClients) GetByID(_ context.Context, id string) (oauth2.ClientInfo, error) {
	if c, ok := cs.m[id]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("fake: %w", oauth2.ErrNotFound)
}

type fakeTokens struct {
	mu     sync.Mutex
	now    func() time.Time
	recs   []*models.Token
	reused map[string]string // consumed code or rotated refresh -> grant
}

func newTokenStore(_ *testing.T, now func() time.Time) oauth2.TokenStore {
	return &fakeTokens{now: now, reused: map[string]string{}}
}

func cp(ti oauth2.TokenInfo) *models.Token {
	t := *ti.(*models.Token)
	return &t
}

func live(v string, at time.Time, exp time.Duration, now time.Time) bool {
	return v != "" && (exp <= 0 || now.Before(at.Add(exp)))
}

func (s *fakeTokens) find(f func(*models.Token, time.Time) bool) (int, *models.Token) {
	now := s.now()
	for i, r := range s.recs {
		if f(r, now) {
			return i, r
		}
	}
	return -1, nil
}

func byCode(k string) func(*models.Token, time.Time) bool {
	return func(r *models.Token, n time.Time) bool {
		return r.Code == k && live(r.Code, r.CodeCreateAt, r.CodeExpiresIn, n)
	}
}

func byAccess(k string) func(*models.Token, time.Time) bool {
	return func(r *models.Token, n time.Time) bool {
		return r.Access == k && live(r.Access, r.AccessCreateAt, r.AccessExpiresIn, n)
	}
}

func byRefresh(k string) func(*models.Token, time.Time) bool {
	return func(r *models.Token, n time.Time) bool {
		return r.Refresh == k && live(r.Refresh, r.RefreshCreateAt, r.RefreshExpiresIn, n)
	}
}

func (s *fakeTokens) Create(_ context.Context, info oauth2.TokenInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, cp(info))
	return nil
}

func (s *fakeTokens) remove(f func(*models.Token, time.Time) bool) {
	if i, _ := s.find(f); i >= 0 {
		s.recs = append(s.recs[:i], s.recs[i+1:]...)
	}
}

func (s *fakeTokens) RemoveByCode(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(byCode(k))
	return nil
}

func (s *fakeTokens) RemoveByAccess(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, r := s.find(byAccess(k)); r != nil {
		r.Access = ""
	}
	return nil
}

func (s *fakeTokens) RemoveByRefresh(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(byRefresh(k))
	return nil
}

func (s *fakeTokens) get(k string, f func(*models.Token, time.Time) bool) (oauth2.TokenInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, r := s.find(f); r != nil {
		return cp(r), nil
	}
	if g, ok := s.reused[k]; ok {
		return nil, &oauth2.ReusedError{GrantID: g}
	}
	return nil, fmt.Errorf("fake: %w", oauth2.ErrNotFound)
}

func (s *fakeTokens) GetByCode(_ context.Context, k string) (oauth2.TokenInfo, error) {
	return s.get(k, byCode(k))
}

func (s *fakeTokens) GetByAccess(_ context.Context, k string) (oauth2.TokenInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, r := s.find(byAccess(k)); r != nil {
		return cp(r), nil
	}
	return nil, fmt.Errorf("fake: %w", oauth2.ErrNotFound)
}

func (s *fakeTokens) GetByRefresh(_ context.Context, k string) (oauth2.TokenInfo, error) {
	return s.get(k, byRefresh(k))
}

func (s *fakeTokens) swap(k string, f func(*models.Token, time.Time) bool, issued oauth2.TokenInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, r := s.find(f)
	if r == nil {
		if g, ok := s.reused[k]; ok {
			return &oauth2.ReusedError{GrantID: g}
		}
		return fmt.Errorf("fake: %w", oauth2.ErrNotFound)
	}
	if issued.GetRefresh() != k {
		s.reused[k] = r.GrantID
	}
	s.recs[i] = cp(issued)
	return nil
}

func (s *fakeTokens) ExchangeCode(_ context.Context, k string, issued oauth2.TokenInfo) error {
	return s.swap(k, byCode(k), issued)
}

func (s *fakeTokens) RotateRefresh(_ context.Context, k string, issued oauth2.TokenInfo) error {
	return s.swap(k, byRefresh(k), issued)
}

func (s *fakeTokens) RevokeGrant(_ context.Context, g string) error {
	if g == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.recs[:0]
	for _, r := range s.recs {
		if r.GrantID != g {
			kept = append(kept, r)
		}
	}
	s.recs = kept
	return nil
}
