package sqltest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/models"
)

// gather runs each of fns in a goroutine of its own, released at once,
// and waits for them.
func gather(fns []func()) {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for _, f := range fns {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-gate
			f()
		})
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

// waitFor polls cond until it holds, failing t after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(time.Millisecond)
	}
}

// BatchOutage checks a batch that fails as a whole because its engine goes
// away (behind p) while it is in flight, with more writes queued behind
// it: every caller gets an error wrapping oauth2.ErrUnavailable (the
// server's 503), and once the engine is back nothing is found half
// written: each record whole or absent, each code consumed exactly when
// the tokens of its exchange are stored.
func BatchOutage(t *testing.T, s *sqlstore.Store, p *Proxy) {
	ctx := t.Context()
	const creates, exchanges = 48, 16
	codes := make([]*models.Token, exchanges)
	for i := range codes {
		codes[i] = Code(time.Now(), "grant-"+Key()[:8], time.Hour)
		if err := s.Create(ctx, codes[i]); err != nil {
			t.Fatal(err)
		}
	}
	recs := make([]*models.Token, creates+exchanges)
	errs := make([]error, len(recs))
	var fns []func()
	for i := range recs {
		if i < exchanges {
			recs[i] = Tokens(time.Now(), codes[i].GrantID, time.Hour)
			fns = append(fns, func() { errs[i] = s.ExchangeCode(ctx, codes[i].Code, recs[i]) })
		} else {
			recs[i] = Tokens(time.Now(), "grant-"+Key()[:8], time.Hour)
			fns = append(fns, func() { errs[i] = s.Create(ctx, recs[i]) })
		}
	}
	p.Stall()
	before := s.Batches()
	// A first write hangs in the stalled connection; the others queue
	// behind it.
	pilot := Tokens(time.Now(), "grant-"+Key()[:8], time.Hour)
	var pilotErr error
	pilotDone := make(chan struct{})
	go func() {
		pilotErr = s.Create(ctx, pilot)
		close(pilotDone)
	}()
	waitFor(t, 5*time.Second, "a batch in flight", func() bool { return s.Batches().Batches > before.Batches })
	finished := make(chan struct{})
	go func() {
		gather(fns)
		close(finished)
	}()
	// Every write is queued, or in a batch hanging beside the first one
	// (an engine with several committers).
	waitFor(t, 5*time.Second, "writes queued behind the batch in flight", func() bool {
		return int64(sqlstore.Queued(s))+s.Batches().Ops-before.Ops == int64(len(fns)+1)
	})
	p.Down()
	<-finished
	<-pilotDone
	recs, errs = append(recs, pilot), append(errs, pilotErr)
	for i, err := range errs {
		if !errors.Is(err, oauth2.ErrUnavailable) {
			t.Fatalf("write %d with its batch's engine gone = %v, want ErrUnavailable", i, err)
		}
	}
	after := s.Batches()
	t.Logf("%d writes failed in %d batches", after.Ops-before.Ops, after.Batches-before.Batches)

	p.Resume()
	p.Up()
	waitFor(t, 10*time.Second, "the store back", func() bool { return s.Ping(ctx) == nil })
	for i, r := range recs {
		_, errA := s.GetByAccess(ctx, r.Access)
		_, errR := s.GetByRefresh(ctx, r.Refresh)
		if (errA == nil) != (errR == nil) {
			t.Fatalf("record %d half written: access %v, refresh %v", i, errA, errR)
		}
		if i < exchanges {
			_, errC := s.GetByCode(ctx, codes[i].Code)
			if errors.Is(errC, oauth2.ErrReused) != (errA == nil) {
				t.Fatalf("exchange %d half written: code %v, issued access %v", i, errC, errA)
			}
		}
	}
}

// FailingWrites checks that writes refused by the engine for reasons of
// their own, among concurrent writes that share their batches, fail only
// their own callers: a record whose access token is already stored, and
// one made bad by each of bad (e.g. a value longer than the engine keeps).
// Every other write succeeds and is found; nothing of a refused one is.
func FailingWrites(t *testing.T, s *sqlstore.Store, bad ...func(*models.Token)) {
	ctx := t.Context()
	old := Tokens(time.Now(), "grant", time.Hour)
	if err := s.Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	const writers = 64
	recs := make([]*models.Token, writers)
	errs := make([]error, writers)
	refused := map[int]bool{}
	var fns []func()
	for i := range recs {
		recs[i] = Tokens(time.Now(), "grant-"+Key()[:8], time.Hour)
		fns = append(fns, func() { errs[i] = s.Create(ctx, recs[i]) })
	}
	recs[7].Access = old.Access
	refused[7] = true
	for j, f := range bad {
		f(recs[20+j])
		refused[20+j] = true
	}
	before := s.Batches()
	gather(fns)
	after := s.Batches()
	if after.Batches-before.Batches >= writers {
		t.Logf("the %d writes ran in %d batches: none was shared", writers, after.Batches-before.Batches)
	}
	for i, r := range recs {
		_, errR := s.GetByRefresh(ctx, r.Refresh)
		switch {
		case refused[i] && errs[i] == nil:
			t.Fatalf("refused write %d succeeded", i)
		case refused[i] && errors.Is(errs[i], oauth2.ErrUnavailable):
			t.Fatalf("refused write %d = %v, want the engine's refusal, not unavailable", i, errs[i])
		case refused[i] && !errors.Is(errR, oauth2.ErrNotFound):
			t.Fatalf("refused write %d: its refresh token = %v, want not found", i, errR)
		case !refused[i] && errs[i] != nil:
			t.Fatalf("write %d, sharing a batch with refused ones: %v", i, errs[i])
		case !refused[i] && errR != nil:
			t.Fatalf("write %d answered nil: refresh token %v", i, errR)
		}
	}
	if _, err := s.GetByRefresh(ctx, old.Refresh); err != nil {
		t.Fatalf("record whose access token a refused write repeated: %v", err)
	}
}
