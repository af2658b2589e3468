package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// consumers is how many goroutines race for one code or refresh token.
const consumers = 64

// handles returns the store and, when the harness can reopen it, a second
// handle on the same data, as two server processes would have.
func handles(t *testing.T, h Harness, e *env) []oauth2.TokenStore {
	hs := []oauth2.TokenStore{e.s}
	if h.Reopen != nil {
		hs = append(hs, h.Reopen(t, e.s, e.clock.Now))
	}
	return hs
}

// race runs consume concurrently for each of issued, spread over the
// handles, all released at once, and returns their errors.
func race(ctx context.Context, hs []oauth2.TokenStore, issued []*models.Token,
	consume func(ctx context.Context, s oauth2.TokenStore, issued *models.Token) error) []error {
	errs := make([]error, len(issued))
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i := range issued {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			errs[i] = consume(ctx, hs[i%len(hs)], issued[i])
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return errs
}

// checkOneWinner asserts that exactly one consumer won, that every other
// got a *ReusedError naming grant, and that only the winner's tokens are
// stored.
func checkOneWinner(e *env, errs []error, issued []*models.Token, grant string) {
	e.t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				e.t.Fatalf("consumers %d and %d both succeeded, want exactly one", winner, i)
			}
			winner = i
		case errors.Is(err, oauth2.ErrReused):
			checkReused(e.t, err, grant, "losing consumer")
		default:
			e.t.Fatalf("consumer %d: %v, want nil or ErrReused", i, err)
		}
	}
	if winner < 0 {
		e.t.Fatal("no consumer succeeded, want exactly one")
	}
	for i, r := range issued {
		if i == winner {
			e.found(r, partAccess)
			if r.Refresh != "" {
				e.found(r, partRefresh)
			}
			continue
		}
		e.notFound(partAccess, r.Access, "access token issued by a losing consumer")
		e.notFound(partRefresh, r.Refresh, "refresh token issued by a losing consumer")
	}
}

// testConcurrentExchange checks that of 64 concurrent exchanges of one
// code, across handles when the store has several, exactly one wins
// (RFC 6749 4.1.2; docs/architecture.md section 4).
func testConcurrentExchange(t *testing.T, h Harness) {
	e := newEnv(t, h)
	hs := handles(t, h, e)
	for round := range 10 {
		code := e.codeRecord(newGrant())
		e.create(code)
		issued := make([]*models.Token, consumers)
		for i := range issued {
			issued[i] = e.tokenRecord(code.GrantID)
			if round%2 == 1 {
				issued[i].Refresh = ""
			}
		}
		errs := race(e.ctx, hs, issued, func(ctx context.Context, s oauth2.TokenStore, r *models.Token) error {
			return s.ExchangeCode(ctx, code.Code, r)
		})
		checkOneWinner(e, errs, issued, code.GrantID)
		e.reused(partCode, code.Code, code.GrantID, "code after the race")
	}
}

// testConcurrentRotate checks that of 64 concurrent rotations of one
// refresh token, across handles when the store has several, exactly one
// wins (RFC 9700 4.14.2; docs/architecture.md section 4).
func testConcurrentRotate(t *testing.T, h Harness) {
	e := newEnv(t, h)
	hs := handles(t, h, e)
	for range 10 {
		old := e.tokenRecord(newGrant())
		e.create(old)
		issued := make([]*models.Token, consumers)
		for i := range issued {
			issued[i] = e.tokenRecord(old.GrantID)
		}
		errs := race(e.ctx, hs, issued, func(ctx context.Context, s oauth2.TokenStore, r *models.Token) error {
			return s.RotateRefresh(ctx, old.Refresh, r)
		})
		checkOneWinner(e, errs, issued, old.GrantID)
		e.notFound(partAccess, old.Access, "access token of the rotated refresh token")
		e.reused(partRefresh, old.Refresh, old.GrantID, "refresh token after the race")
	}
}

// testRevokeRace checks that RevokeGrant racing with an exchange and a
// chain of rotations of the same grant never leaves a live token of the
// grant: whichever runs first, the grant ends revoked.
func testRevokeRace(t *testing.T, h Harness) {
	e := newEnv(t, h)
	hs := handles(t, h, e)
	revoker := hs[len(hs)-1]
	for round := range 20 {
		grant := newGrant()
		code := e.codeRecord(grant)
		e.create(code)
		var issued []*models.Token
		var revokeErr error
		var wg sync.WaitGroup
		gate := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-gate
			next := e.tokenRecord(grant)
			issued = append(issued, next)
			if err := e.s.ExchangeCode(e.ctx, code.Code, next); err != nil {
				return
			}
			for range round % 5 {
				cur := next
				next = e.tokenRecord(grant)
				issued = append(issued, next)
				if err := e.s.RotateRefresh(e.ctx, cur.Refresh, next); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			<-gate
			revokeErr = revoker.RevokeGrant(e.ctx, grant)
		}()
		close(gate)
		wg.Wait()
		if revokeErr != nil {
			t.Fatalf("RevokeGrant: %v", revokeErr)
		}
		e.gone(partCode, code.Code, "code of a revoked grant")
		for _, r := range issued {
			e.notFound(partAccess, r.Access, "access token of a revoked grant")
			e.gone(partRefresh, r.Refresh, "refresh token of a revoked grant")
		}
	}
}
