package server_test

import (
	"context"
	stderrors "errors"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/server"
)

// gatedKV holds every lookup of a user code until each lookup still
// running has reached one, so that concurrent lookups overlap as much as
// they can: a check-then-act throttle lets them all through.
type gatedKV struct {
	oauth2.KVStore
	mu      sync.Mutex
	cond    *sync.Cond
	running int // LookupUserCode calls not yet returned
	waiting int // of those, held at a user code lookup
	lookups int // user code lookups made
}

func newGatedKV(kv oauth2.KVStore, running int) *gatedKV {
	g := &gatedKV{KVStore: kv, running: running}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gatedKV) Get(ctx context.Context, key string) ([]byte, error) {
	if strings.HasPrefix(key, "oauth2/device/user/") {
		g.mu.Lock()
		g.lookups++
		g.waiting++
		g.cond.Broadcast()
		for g.waiting < g.running {
			g.cond.Wait()
		}
		g.mu.Unlock()
	}
	return g.KVStore.Get(ctx, key)
}

// returned records that a LookupUserCode call returned.
func (g *gatedKV) returned(heldAtLookup bool) {
	g.mu.Lock()
	g.running--
	if heldAtLookup {
		g.waiting--
	}
	g.cond.Broadcast()
	g.mu.Unlock()
}

// TestLookupUserCode_ConcurrentGuessesAreBounded: thirty concurrent wrong
// user codes under one throttle key look up at most the failure limit of
// codes; the rest are refused without a lookup (RFC 8628 5.1). Each
// attempt is reserved with one atomic KVStore.Incr before the code is
// looked up, so no burst passes a check before the failures are counted.
func TestLookupUserCode_ConcurrentGuessesAreBounded(t *testing.T) {
	const n = 30
	e := newDeviceEnv(t)
	g := newGatedKV(e.kv, n)
	e.srv.SetKVStore(g)
	e.srv.Config.Device.UserCodeFailureLimit = 10

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.srv.LookupUserCode(context.Background(), "BCDF-BCDF", "attacker")
			g.returned(stderrors.Is(errs[i], server.ErrUserCodeInvalid))
		}()
	}
	wg.Wait()
	invalid, throttled := 0, 0
	for _, err := range errs {
		switch {
		case stderrors.Is(err, server.ErrUserCodeInvalid):
			invalid++
		case stderrors.Is(err, server.ErrUserCodeThrottled):
			throttled++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if g.lookups > 10 || invalid != g.lookups || throttled != n-invalid {
		t.Fatalf("%d lookups, %d invalid, %d throttled; want at most 10 lookups", g.lookups, invalid, throttled)
	}
	// The right code is refused too under that key, and works under
	// another.
	da := e.authorizeDevice("read")
	if _, err := e.srv.LookupUserCode(context.Background(), da.UserCode, "attacker"); !stderrors.Is(err, server.ErrUserCodeThrottled) {
		t.Fatalf("right code under the throttled key: %v", err)
	}
}

// TestLookupUserCode_ValidCodeBuysNoGuesses: a successful lookup gives
// its attempt back, so a user who enters the right code is not counted;
// but looking up a valid code of one's own any number of times never buys
// more than the limit of wrong guesses.
func TestLookupUserCode_ValidCodeBuysNoGuesses(t *testing.T) {
	e := newDeviceEnv(t)
	e.srv.Config.Device.UserCodeFailureLimit = 3
	da := e.authorizeDevice("read")
	ctx := context.Background()
	for i := range 20 {
		if _, err := e.srv.LookupUserCode(ctx, da.UserCode, "k"); err != nil {
			t.Fatalf("valid lookup %d: %v", i+1, err)
		}
	}
	for i := range 3 {
		if _, err := e.srv.LookupUserCode(ctx, "BCDF-BCDF", "k"); !stderrors.Is(err, server.ErrUserCodeInvalid) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	for _, code := range []string{"BCDF-BCDF", da.UserCode} {
		if _, err := e.srv.LookupUserCode(ctx, code, "k"); !stderrors.Is(err, server.ErrUserCodeThrottled) {
			t.Fatalf("after the limit of guesses, %s: %v", code, err)
		}
	}
}
