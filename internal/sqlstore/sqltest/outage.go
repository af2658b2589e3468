package sqltest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
)

// Outage checks a store whose engine is behind a proxy, over two rounds:
// while cut is in effect every operation fails within limit with an error
// wrapping oauth2.ErrUnavailable, and after heal the store works again by
// itself, without being reopened.
func Outage(t *testing.T, s *sqlstore.Store, cut, heal func(), limit time.Duration) {
	ctx := t.Context()
	rec := Tokens(time.Now(), "grant", time.Hour)
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		cut()
		ops := []struct {
			name string
			op   func() error
		}{
			{"GetByAccess", func() error { _, err := s.GetByAccess(ctx, rec.Access); return err }},
			{"Create", func() error { return s.Create(ctx, Tokens(time.Now(), "grant", time.Hour)) }},
			{"RotateRefresh", func() error { return s.RotateRefresh(ctx, rec.Refresh, Tokens(time.Now(), "grant", time.Hour)) }},
			{"RevokeGrant", func() error { return s.RevokeGrant(ctx, "other-grant") }},
			{"GetByID", func() error { _, err := s.GetByID(ctx, "client"); return err }},
			{"Incr", func() error { _, err := s.Incr(ctx, "counter", time.Minute); return err }},
			{"Ping", func() error { return s.Ping(ctx) }},
		}
		for _, o := range ops {
			began := time.Now()
			err := o.op()
			if !errors.Is(err, oauth2.ErrUnavailable) {
				t.Fatalf("round %d: %s with the engine away = %v, want ErrUnavailable", round, o.name, err)
			}
			if d := time.Since(began); d > limit {
				t.Fatalf("round %d: %s took %v to fail, want under %v", round, o.name, d, limit)
			}
		}
		heal()
		healed := time.Now()
		deadline := time.Now().Add(10 * time.Second)
		// Recovered means a read and a write succeed: the write opens the
		// writer pool's first new connection, which on a loaded machine
		// (CI runs packages side by side under -race) can take a good
		// part of the store's timeout, so it is not left to the
		// RotateRefresh below, whose outcome must be exact.
		for {
			_, err := s.GetByAccess(ctx, rec.Access)
			if err == nil {
				_, err = s.Incr(ctx, "probe", time.Minute)
			}
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the store did not recover: %v", round, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("round %d: recovered in %v", round, time.Since(healed))
		next := Tokens(time.Now(), "grant", time.Hour)
		if err := s.RotateRefresh(ctx, rec.Refresh, next); err != nil {
			t.Fatalf("round %d: RotateRefresh after recovery: %v", round, err)
		}
		rec = next
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err := s.Incr(cctx, "counter", time.Minute); err != nil {
			t.Fatalf("round %d: Incr after recovery: %v", round, err)
		}
		cancel()
	}
}
