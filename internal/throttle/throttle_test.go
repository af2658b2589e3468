package throttle

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store"
	"github.com/oauth2d/oauth2/store/storetest"
)

var (
	attacker = netip.MustParseAddr("127.0.0.2")
	owner    = netip.MustParseAddr("127.0.0.1")
)

// countingKV counts the KVStore calls of a throttle.
type countingKV struct {
	oauth2.KVStore
	calls atomic.Int64
}

func (c *countingKV) Put(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	c.calls.Add(1)
	return c.KVStore.Put(ctx, k, v, ttl)
}

func (c *countingKV) Get(ctx context.Context, k string) ([]byte, error) {
	c.calls.Add(1)
	return c.KVStore.Get(ctx, k)
}

func (c *countingKV) Delete(ctx context.Context, k string) error {
	c.calls.Add(1)
	return c.KVStore.Delete(ctx, k)
}

func (c *countingKV) Incr(ctx context.Context, k string, ttl time.Duration) (int64, error) {
	c.calls.Add(1)
	return c.KVStore.Incr(ctx, k, ttl)
}

func newLimiter(t *testing.T) (*Limiter, *storetest.Clock, *countingKV) {
	t.Helper()
	clk := storetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	kv := &countingKV{KVStore: store.NewMemoryKV(clk.Now)}
	return &Limiter{KV: kv, Name: "t", Limit: 3, Window: 15 * time.Minute, SlowAfter: 1,
		Delay: 100 * time.Millisecond, MaxDelay: 250 * time.Millisecond, SubjectSlowAfter: 4, Now: clk.Now}, clk, kv
}

// attempt runs one attempt through the limiter, verifying with ok.
func attempt(t *testing.T, l *Limiter, subject string, addr netip.Addr, ok bool) (delay time.Duration, err error) {
	t.Helper()
	ctx := context.Background()
	res, err := l.Reserve(ctx, subject, addr)
	if err != nil {
		return 0, err
	}
	if ok {
		return 0, res.Succeed(ctx)
	}
	d, _, err := res.Fail(ctx)
	return d, err
}

func TestLimiter_StrangerCannotLockTheSubjectOutOfAnotherAddress(t *testing.T) {
	l, clk, _ := newLimiter(t)
	for i, want := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond} {
		if d, err := attempt(t, l, "bob", attacker, false); err != nil || d != want {
			t.Fatalf("failure %d: delay %v, %v; want %v", i+1, d, err, want)
		}
	}
	_, err := attempt(t, l, "bob", attacker, true)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrThrottled) || le.RetryAfter != 15*time.Minute {
		t.Fatalf("the attacker's fourth attempt, even right: %v", err)
	}
	// The owner of the account, from their own address, is not affected.
	if _, err := attempt(t, l, "bob", owner, true); err != nil {
		t.Fatalf("the owner: %v", err)
	}
	clk.Advance(10 * time.Minute)
	_, err = attempt(t, l, "bob", attacker, false)
	if !errors.As(err, &le) || le.RetryAfter != 5*time.Minute {
		t.Fatalf("Retry-After ten minutes into the window: %v", err)
	}
	clk.Advance(5*time.Minute + time.Second)
	if _, err := attempt(t, l, "bob", attacker, true); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestLimiter_SubjectCeilingDelaysButNeverRefuses(t *testing.T) {
	l, _, _ := newLimiter(t)
	// Ten addresses fail once each: the subject's count passes
	// SubjectSlowAfter (4), which delays failures up to MaxDelay.
	var last time.Duration
	for i := range 10 {
		addr := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		d, err := attempt(t, l, "bob", addr, false)
		if err != nil {
			t.Fatalf("address %d refused: %v", i, err)
		}
		last = d
	}
	if last != 250*time.Millisecond {
		t.Fatalf("the tenth failure of the subject is delayed %v, want the maximum", last)
	}
	if d, err := attempt(t, l, "bob", owner, true); err != nil || d != 0 {
		t.Fatalf("the owner's success: %v, delay %v", err, d)
	}
}

func TestLimiter_SuccessStartsTheCountAgain(t *testing.T) {
	l, _, _ := newLimiter(t)
	for range 2 {
		attempt(t, l, "bob", owner, false)
	}
	if _, err := attempt(t, l, "bob", owner, true); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := attempt(t, l, "bob", owner, false); err != nil {
			t.Fatalf("failure %d after a success: %v", i+1, err)
		}
	}
}

func TestLimiter_ConcurrentWrongAttemptsVerifyAtMostTheLimit(t *testing.T) {
	l, _, _ := newLimiter(t)
	var verified atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx := context.Background()
			res, err := l.Reserve(ctx, "bob", attacker)
			if err != nil {
				return
			}
			verified.Add(1)
			res.Fail(ctx)
		}()
	}
	close(start)
	wg.Wait()
	if n := verified.Load(); n > 3 {
		t.Fatalf("%d of 30 concurrent wrong attempts were verified; the limit is 3", n)
	}
}

func TestGate_SuccessCostsNoKVStoreCallBetweenRechecks(t *testing.T) {
	l, clk, kv := newLimiter(t)
	g := NewGate(l, []string{"app"}, GateConfig{})
	ctx := context.Background()
	run := func(ok bool) error {
		tk, err := g.Begin(ctx, "app", owner)
		if err != nil {
			return err
		}
		_, _, err = tk.Done(ctx, ok)
		return err
	}
	if err := run(true); err != nil {
		t.Fatal(err)
	}
	before := kv.calls.Load()
	for range 1000 {
		if err := run(true); err != nil {
			t.Fatal(err)
		}
	}
	if n := kv.calls.Load() - before; n != 0 {
		t.Fatalf("1000 successes within a second made %d KVStore calls", n)
	}
	clk.Advance(time.Second)
	before = kv.calls.Load()
	run(true)
	if n := kv.calls.Load() - before; n != 1 {
		t.Fatalf("the recheck after a second made %d KVStore calls, want one read", n)
	}
	// A subject the gate does not know is not throttled at all.
	before = kv.calls.Load()
	if tk, err := g.Begin(ctx, "unknown", attacker); err != nil || tk.mode != modeNone {
		t.Fatalf("unknown subject: %v", err)
	}
	if n := kv.calls.Load() - before; n != 0 {
		t.Fatalf("an unknown subject made %d KVStore calls", n)
	}
}

// TestGate_OnTheProcessClock runs the gate on its own clock (a Limiter
// without Now, as the server makes it): successes within a recheck stay in
// process, and a failure sends the pair's next attempt to the store.
func TestGate_OnTheProcessClock(t *testing.T) {
	l, _, kv := newLimiter(t)
	l.Now = nil
	g := NewGate(l, []string{"app"}, GateConfig{Recheck: time.Hour})
	ctx := context.Background()
	begin := func() Ticket {
		t.Helper()
		tk, err := g.Begin(ctx, "app", owner)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	tk := begin()
	tk.Done(ctx, true)
	before := kv.calls.Load()
	for range 100 {
		tk := begin()
		if tk.mode != modeLocal {
			t.Fatalf("a success within the recheck was not admitted in process (mode %d)", tk.mode)
		}
		tk.Done(ctx, true)
	}
	if n := kv.calls.Load() - before; n != 0 {
		t.Fatalf("100 successes within the recheck made %d KVStore calls", n)
	}
	begin().Done(ctx, false)
	tk = begin()
	if tk.mode == modeLocal {
		t.Fatal("the attempt after a failure was admitted in process, not by the store")
	}
	tk.Done(ctx, true)
}

func TestGate_ConcurrentWrongAttemptsVerifyAtMostTheLimit(t *testing.T) {
	for _, warm := range []bool{false, true} {
		name := map[bool]string{false: "first sight", true: "after successes"}[warm]
		t.Run(name, func(t *testing.T) {
			l, _, _ := newLimiter(t)
			g := NewGate(l, []string{"app"}, GateConfig{})
			ctx := context.Background()
			if warm {
				tk, _ := g.Begin(ctx, "app", attacker)
				tk.Done(ctx, true)
			}
			var verified, inFlight, maxInFlight atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 30 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					tk, err := g.Begin(ctx, "app", attacker)
					if err != nil {
						return
					}
					verified.Add(1)
					n := inFlight.Add(1)
					for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
					}
					time.Sleep(time.Millisecond) // a verification that takes a while
					inFlight.Add(-1)
					tk.Done(ctx, false)
				}()
			}
			close(start)
			wg.Wait()
			if n := verified.Load(); n > 3 {
				t.Fatalf("%d of 30 concurrent wrong attempts were verified; the limit is 3", n)
			}
			// The owner, elsewhere, is admitted.
			tk, err := g.Begin(ctx, "app", owner)
			if err != nil {
				t.Fatalf("the owner: %v", err)
			}
			tk.Done(ctx, true)
		})
	}
}

func TestGate_FailuresAtOneProcessReachTheOtherAtItsRecheck(t *testing.T) {
	l, clk, _ := newLimiter(t)
	a := NewGate(l, []string{"app"}, GateConfig{})
	b := NewGate(l, []string{"app"}, GateConfig{})
	ctx := context.Background()
	run := func(g *Gate, ok bool) error {
		tk, err := g.Begin(ctx, "app", attacker)
		if err != nil {
			return err
		}
		_, _, err = tk.Done(ctx, ok)
		return err
	}
	if err := run(b, true); err != nil { // b trusts the pair for a second
		t.Fatal(err)
	}
	for range 3 {
		run(a, false)
	}
	if err := run(a, true); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a, after three failures: %v", err)
	}
	clk.Advance(time.Second)
	if err := run(b, true); !errors.Is(err, ErrThrottled) {
		t.Fatalf("b, at its recheck: %v", err)
	}
}

func TestGate_KeepsAtMostMaxPairsPerSubject(t *testing.T) {
	l, clk, kv := newLimiter(t)
	g := NewGate(l, []string{"app"}, GateConfig{MaxPairs: 2})
	ctx := context.Background()
	for i := range 3 {
		tk, err := g.Begin(ctx, "app", netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(ctx, true)
	}
	if n := len(g.subjects["app"].pairs); n != 2 {
		t.Fatalf("%d pairs kept, want 2", n)
	}
	// The third address was admitted by the store, and works.
	before := kv.calls.Load()
	tk, _ := g.Begin(ctx, "app", netip.AddrFrom4([4]byte{192, 0, 2, 2}))
	tk.Done(ctx, true)
	if kv.calls.Load() == before {
		t.Fatal("an address over the bound was admitted without the store")
	}
	// Idle pairs make room after a window.
	clk.Advance(16 * time.Minute)
	tk, _ = g.Begin(ctx, "app", netip.AddrFrom4([4]byte{192, 0, 2, 3}))
	tk.Done(ctx, true)
	if _, ok := g.subjects["app"].pairs[netip.AddrFrom4([4]byte{192, 0, 2, 3})]; !ok {
		t.Fatal("an idle pair was not evicted for a new one")
	}
}

func TestGate_SuccessAllocatesNothing(t *testing.T) {
	l, _, _ := newLimiter(t)
	g := NewGate(l, []string{"app"}, GateConfig{})
	ctx := context.Background()
	run := func() {
		tk, err := g.Begin(ctx, "app", owner)
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(ctx, true)
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocations per success", n)
	}
}

func BenchmarkGate_Success(b *testing.B) {
	clk := storetest.NewClock(time.Now())
	l := &Limiter{KV: store.NewMemoryKV(clk.Now), Name: "b", Now: clk.Now}
	g := NewGate(l, []string{"app"}, GateConfig{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tk, err := g.Begin(ctx, "app", owner)
			if err != nil {
				b.Fatal(err)
			}
			tk.Done(ctx, true)
		}
	})
}
