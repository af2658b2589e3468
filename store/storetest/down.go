package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
)

// downLimit is how long an operation on an unreachable engine may take to
// fail.
const downLimit = 5 * time.Second

// testDown checks that every operation on a store whose engine is
// unreachable fails quickly with an error matching oauth2.ErrUnavailable,
// so that the server answers 503 temporarily_unavailable
// (docs/architecture.md section 4), and that nothing panics. A store that
// implements oauth2.DocumentStore is checked for its document operations
// too.
func testDown(t *testing.T, h Harness) {
	if h.Down == nil {
		t.Skip("Harness.Down is not set: the store has no engine to lose")
	}
	s := h.Down(t)
	if s == nil {
		t.Fatal("Harness.Down returned nil")
	}
	clock := NewClock(start())
	e := &env{t: t, clock: clock, s: s}
	code, rec := e.codeRecord(newGrant()), e.tokenRecord(newGrant())
	ops := []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"Create", func(ctx context.Context) error { return s.Create(ctx, rec) }},
		{"GetByCode", func(ctx context.Context) error { _, err := s.GetByCode(ctx, code.Code); return err }},
		{"GetByAccess", func(ctx context.Context) error { _, err := s.GetByAccess(ctx, rec.Access); return err }},
		{"GetByRefresh", func(ctx context.Context) error { _, err := s.GetByRefresh(ctx, rec.Refresh); return err }},
		{"RemoveByCode", func(ctx context.Context) error { return s.RemoveByCode(ctx, code.Code) }},
		{"RemoveByAccess", func(ctx context.Context) error { return s.RemoveByAccess(ctx, rec.Access) }},
		{"RemoveByRefresh", func(ctx context.Context) error { return s.RemoveByRefresh(ctx, rec.Refresh) }},
		{"ExchangeCode", func(ctx context.Context) error { return s.ExchangeCode(ctx, code.Code, rec) }},
		{"RotateRefresh", func(ctx context.Context) error { return s.RotateRefresh(ctx, rec.Refresh, rec) }},
		{"RevokeGrant", func(ctx context.Context) error { return s.RevokeGrant(ctx, rec.GrantID) }},
	}
	if d, ok := s.(oauth2.DocumentStore); ok {
		body := []byte(`{"name":"app"}`)
		ops = append(ops, []struct {
			name string
			op   func(ctx context.Context) error
		}{
			{"CreateDocument", func(ctx context.Context) error { return d.CreateDocument(ctx, docKind, "app", body) }},
			{"UpdateDocument", func(ctx context.Context) error { return d.UpdateDocument(ctx, docKind, "app", body) }},
			{"GetDocument", func(ctx context.Context) error { _, err := d.GetDocument(ctx, docKind, "app"); return err }},
			{"DeleteDocument", func(ctx context.Context) error { return d.DeleteDocument(ctx, docKind, "app") }},
			{"ListDocuments", func(ctx context.Context) error { _, err := d.ListDocuments(ctx, docKind, "", 10); return err }},
			{"DocumentsVersion", func(ctx context.Context) error { _, err := d.DocumentsVersion(ctx, docKind); return err }},
		}...)
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			// The context has no short deadline: the store must give up by
			// itself, as it must for a request context without one.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			done := make(chan error, 1)
			began := time.Now()
			go func() {
				defer func() {
					if r := recover(); r != nil {
						done <- fmt.Errorf("panic: %v", r)
					}
				}()
				done <- o.op(ctx)
			}()
			select {
			case err := <-done:
				if !errors.Is(err, oauth2.ErrUnavailable) {
					t.Fatalf("%s on an unreachable engine = %v, want ErrUnavailable", o.name, err)
				}
			case <-time.After(downLimit):
				t.Fatalf("%s on an unreachable engine did not return within %v", o.name, downLimit)
			}
			if d := time.Since(began); d > downLimit {
				t.Fatalf("%s took %v, want under %v", o.name, d, downLimit)
			}
		})
	}
}
