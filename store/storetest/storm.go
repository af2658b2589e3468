package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// testMixedStorm drives a few hundred concurrent writers, released at
// once and spread over the handles, that mix every kind of write a server
// makes under load: issuance of new tokens, exchanges of the same code,
// rotations of the same refresh token, and revocations of some of the
// grants. A store that gathers concurrent writes into shared transactions
// (group commit) must keep each one's meaning: every issuance answered nil
// is found; of the consumers of one code or refresh token exactly one wins
// and the others get a *oauth2.ReusedError of its grant; a revoked grant
// keeps no live token, whatever order its revocation took among the
// consumers.
func testMixedStorm(t *testing.T, h Harness) {
	const (
		grants    = 8
		consumers = 16 // per code and per refresh token
		issuers   = 64
	)
	e := newEnv(t, h)
	hs := handles(t, h, e)
	type grantCase struct {
		code, tokens     *models.Token
		exchange, rotate []*models.Token
		exchangeErr      []error
		rotateErr        []error
		revoked          bool
	}
	cases := make([]*grantCase, grants)
	for g := range cases {
		c := &grantCase{code: e.codeRecord(newGrant()), revoked: g%2 == 1}
		c.tokens = e.tokenRecord(newGrant())
		e.create(c.code)
		e.create(c.tokens)
		for range consumers {
			c.exchange = append(c.exchange, e.tokenRecord(c.code.GrantID))
			c.rotate = append(c.rotate, e.tokenRecord(c.tokens.GrantID))
		}
		c.exchangeErr = make([]error, consumers)
		c.rotateErr = make([]error, consumers)
		cases[g] = c
	}
	issued := make([]*models.Token, issuers)
	issueErr := make([]error, issuers)
	for i := range issued {
		issued[i] = e.accessRecord()
		if i%2 == 0 {
			issued[i] = e.tokenRecord(newGrant())
		}
	}

	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	n := 0
	spawn := func(f func(s oauth2.TokenStore)) {
		s := hs[n%len(hs)]
		n++
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-gate
			f(s)
		})
	}
	for _, c := range cases {
		for i := range consumers {
			spawn(func(s oauth2.TokenStore) { c.exchangeErr[i] = s.ExchangeCode(e.ctx, c.code.Code, c.exchange[i]) })
			spawn(func(s oauth2.TokenStore) { c.rotateErr[i] = s.RotateRefresh(e.ctx, c.tokens.Refresh, c.rotate[i]) })
		}
		if c.revoked {
			spawn(func(s oauth2.TokenStore) {
				for _, g := range []string{c.code.GrantID, c.tokens.GrantID} {
					if err := s.RevokeGrant(e.ctx, g); err != nil {
						t.Errorf("RevokeGrant: %v", err)
					}
				}
			})
		}
	}
	for i := range issued {
		spawn(func(s oauth2.TokenStore) { issueErr[i] = s.Create(e.ctx, issued[i]) })
	}
	ready.Wait()
	close(gate)
	done.Wait()
	if t.Failed() {
		return
	}

	for i, r := range issued {
		if issueErr[i] != nil {
			t.Fatalf("issuer %d: Create: %v", i, issueErr[i])
		}
		e.found(r, partAccess)
		if r.Refresh != "" {
			e.found(r, partRefresh)
		}
	}
	for g, c := range cases {
		for _, k := range []struct {
			what   string
			grant  string
			errs   []error
			issued []*models.Token
		}{
			{"exchange", c.code.GrantID, c.exchangeErr, c.exchange},
			{"rotation", c.tokens.GrantID, c.rotateErr, c.rotate},
		} {
			wins := 0
			for i, err := range k.errs {
				switch {
				case err == nil:
					wins++
					if !c.revoked {
						e.found(k.issued[i], partAccess)
						e.found(k.issued[i], partRefresh)
					}
				case errors.Is(err, oauth2.ErrReused):
					checkReused(t, err, k.grant, k.what+" losing")
				case c.revoked && errors.Is(err, oauth2.ErrNotFound):
					// Revoked before this consumer came.
				default:
					t.Fatalf("grant %d: %s %d: %v", g, k.what, i, err)
				}
				if err != nil {
					e.notFound(partAccess, k.issued[i].Access, k.what+" that failed")
					e.notFound(partRefresh, k.issued[i].Refresh, k.what+" that failed")
				}
			}
			switch {
			case !c.revoked && wins != 1:
				t.Fatalf("grant %d: %d winners of the %s, want exactly 1", g, wins, k.what)
			case c.revoked && wins > 1:
				t.Fatalf("grant %d: %d winners of the revoked grant's %s, want at most 1", g, wins, k.what)
			}
		}
		if c.revoked {
			e.gone(partCode, c.code.Code, "code of a revoked grant")
			e.gone(partRefresh, c.tokens.Refresh, "refresh token of a revoked grant")
			e.notFound(partAccess, c.tokens.Access, "access token of a revoked grant")
			for i := range consumers {
				for _, r := range []*models.Token{c.exchange[i], c.rotate[i]} {
					e.notFound(partAccess, r.Access, "access token issued in a revoked grant")
					e.gone(partRefresh, r.Refresh, "refresh token issued in a revoked grant")
				}
			}
		}
	}
}

// testCancelledWrites gives a few hundred concurrent writes contexts that
// end at random moments, some before the write could start, some while it
// waits behind others, some during it. A write answered nil is stored
// whole; a write answered with an error is stored whole or not at all,
// never in part; and no write is answered nil and lost.
func testCancelledWrites(t *testing.T, h Harness) {
	const writers = 256
	e := newEnv(t, h)
	hs := handles(t, h, e)
	recs := make([]*models.Token, writers)
	errs := make([]error, writers)
	codes := make([]*models.Token, writers/4)
	for i := range codes {
		codes[i] = e.codeRecord(newGrant())
		e.create(codes[i])
	}
	var wg sync.WaitGroup
	r := rand.New(rand.NewPCG(rand.Uint64(), 1))
	for i := range recs {
		recs[i] = e.tokenRecord(newGrant())
		if i < len(codes) {
			recs[i].GrantID = codes[i].GrantID
		}
		wait := time.Duration(r.IntN(10_000)) * time.Microsecond
		s := hs[i%len(hs)]
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(e.ctx, wait)
			defer cancel()
			if i < len(codes) {
				errs[i] = s.ExchangeCode(ctx, codes[i].Code, recs[i])
			} else {
				errs[i] = s.Create(ctx, recs[i])
			}
		})
	}
	wg.Wait()
	var failed int
	for i, rec := range recs {
		_, errA := get(e.ctx, e.s, partAccess, rec.Access)
		_, errR := get(e.ctx, e.s, partRefresh, rec.Refresh)
		switch {
		case errs[i] == nil && (errA != nil || errR != nil):
			t.Fatalf("write %d answered nil, then access %v, refresh %v", i, errA, errR)
		case (errA == nil) != (errR == nil):
			t.Fatalf("write %d (%v) stored in part: access %v, refresh %v", i, errs[i], errA, errR)
		}
		if errs[i] != nil {
			failed++
		}
		if i < len(codes) {
			_, errC := get(e.ctx, e.s, partCode, codes[i].Code)
			consumed := errors.Is(errC, oauth2.ErrReused)
			if consumed != (errA == nil) {
				t.Fatalf("exchange %d (%v): code consumed %v but issued tokens stored %v", i, errs[i], consumed, errA == nil)
			}
		}
	}
	t.Logf("%d of %d writes ended by their context", failed, writers)
}
