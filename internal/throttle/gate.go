package throttle

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauth2d/oauth2/internal/clientip"
)

// Defaults of Gate.
const (
	// DefaultRecheck is how long a process trusts that a pair has no
	// failures counted in the store by other processes.
	DefaultRecheck = time.Second
	// DefaultMaxPairs bounds the addresses a Gate keeps per subject.
	DefaultMaxPairs = 4096
	// DefaultQueueWait bounds how long an attempt waits for a turn while
	// the limit of attempts of its pair is being verified.
	DefaultQueueWait = 2 * time.Second
)

// Gate throttles the authentications of a fixed set of subjects (the
// registered confidential clients) with a Limiter, without a KVStore round
// trip for a pair of subject and address that is not failing:
//
//   - A pair without known failures is admitted in process: a semaphore of
//     the limiter's Limit per pair bounds its attempts being verified at
//     once, so that a burst of wrong attempts at one process has at most
//     Limit verified before the first failure is counted. A success costs
//     nothing more; a failure is counted in the store (Limiter.Failed)
//     before its turn is given back, and switches the pair to the store.
//   - Every Recheck (one second) the process asks the store whether other
//     processes counted attempts of the pair without a success
//     (Limiter.Failing, one KVStore read), and switches the pair to the
//     store if so.
//   - A failing pair is admitted by the store, counting first
//     (Limiter.Reserve), until a success resets it or Window passes.
//
// The bound across P processes sharing the store: in one window, at most
// Limit attempts of a pair are verified after the store knows it is
// failing, plus at most Limit at each process admitted in process before
// that process counted its first failure or saw the store's count at a
// recheck; (P+1)·Limit in all. A success in between (the same address
// knows the secret) starts the count again.
//
// Subjects outside the set are not throttled: they have no secret to
// guess, and keeping state for them would let anyone fill memory. A
// subject outside the set that GateConfig.Known vouches for (a client
// registered while the server runs) is throttled like one of the set; its
// state is made on first use and kept, bounded by the subjects Known
// accepts.
type Gate struct {
	lim       *Limiter
	recheck   time.Duration
	maxPairs  int
	queueWait time.Duration
	// subjects is made at start and never changed: read without a lock.
	subjects map[string]*subjectState
	// known and dynamic are the subjects added while the gate runs.
	known   func(ctx context.Context, subject string) bool
	dynamic sync.Map // subject -> *subjectState
}

// GateConfig configures NewGate; zero fields take the defaults.
type GateConfig struct {
	Recheck   time.Duration
	MaxPairs  int
	QueueWait time.Duration
	// Known, when set, is asked about a subject outside the set given to
	// NewGate: true throttles it as one of the set. It must answer false
	// for a subject that does not exist, so that nobody can fill the
	// gate's memory with made-up subjects.
	Known func(ctx context.Context, subject string) bool
}

// NewGate returns a gate over lim for subjects.
func NewGate(lim *Limiter, subjects []string, cfg GateConfig) *Gate {
	g := &Gate{lim: lim, recheck: cfg.Recheck, maxPairs: cfg.MaxPairs, queueWait: cfg.QueueWait,
		subjects: make(map[string]*subjectState, len(subjects)), known: cfg.Known}
	if g.recheck <= 0 {
		g.recheck = DefaultRecheck
	}
	if g.maxPairs <= 0 {
		g.maxPairs = DefaultMaxPairs
	}
	if g.queueWait <= 0 {
		g.queueWait = DefaultQueueWait
	}
	for _, s := range subjects {
		g.subjects[s] = &subjectState{pairs: map[netip.Addr]*pairState{}}
	}
	return g
}

// Limiter returns the gate's limiter.
func (g *Gate) Limiter() *Limiter { return g.lim }

// subjectState holds the pairs of one subject seen by this process.
type subjectState struct {
	// last is the pair of the latest attempt: most subjects authenticate
	// from one address, found without a lock.
	last  atomic.Pointer[pairState]
	mu    sync.RWMutex
	pairs map[netip.Addr]*pairState
}

// pairState is this process's view of one subject at one address.
type pairState struct {
	addr netip.Addr
	// inFlight counts the attempts being verified in process, at most
	// the limiter's Limit; waiting counts the attempts waiting for a turn,
	// woken through wake when one is given back.
	inFlight atomic.Int64
	waiting  atomic.Int64
	wake     chan struct{}
	// drain is read-locked by every attempt verified in process. An
	// attempt admitted by the store first takes the write lock once, to
	// wait until every in-process attempt that may fail has been counted
	// in the store.
	drain sync.RWMutex
	// okUntil is when the store's "not failing" answer stops being
	// trusted; failedUntil when the pair's last failure stops counting;
	// used is the time of the latest attempt. All three are Gate.nanos.
	okUntil     atomic.Int64
	failedUntil atomic.Int64
	used        atomic.Int64
}

// monoEpoch is the origin of Gate.nanos.
var monoEpoch = time.Now()

// nanos reads the gate's clock, in nanoseconds: the monotonic clock since
// monoEpoch, which is one clock read where time.Now makes two (wall and
// monotonic); the gate only measures intervals, on every request. A
// Limiter with a clock of its own (Limiter.Now, tests) is read in Unix
// nanoseconds instead.
func (g *Gate) nanos() int64 {
	if g.lim.Now != nil {
		return g.lim.Now().UnixNano()
	}
	return int64(time.Since(monoEpoch))
}

// pair returns the state of (st, addr), made on first use; nil when the
// subject already has maxPairs addresses and none is idle.
func (g *Gate) pair(st *subjectState, addr netip.Addr, now int64) *pairState {
	if p := st.last.Load(); p != nil && p.addr == addr {
		return p
	}
	st.mu.RLock()
	p := st.pairs[addr]
	st.mu.RUnlock()
	if p == nil {
		st.mu.Lock()
		if p = st.pairs[addr]; p == nil {
			if len(st.pairs) >= g.maxPairs && !g.evict(st, now) {
				st.mu.Unlock()
				return nil
			}
			p = &pairState{addr: addr, wake: make(chan struct{}, g.lim.limit())}
			st.pairs[addr] = p
		}
		st.mu.Unlock()
	}
	st.last.Store(p)
	return p
}

// evict drops the pairs that are idle (no attempt for a window, none being
// verified, no failure counting) and reports whether it dropped any. It is
// called with st.mu held.
func (g *Gate) evict(st *subjectState, now int64) bool {
	idle := now - int64(g.lim.EffectiveWindow())
	dropped := false
	for a, p := range st.pairs {
		if p.used.Load() < idle && p.inFlight.Load() == 0 && p.waiting.Load() == 0 && p.failedUntil.Load() < now {
			delete(st.pairs, a)
			st.last.CompareAndSwap(p, nil)
			dropped = true
		}
	}
	return dropped
}

// mode is how an attempt was admitted.
type mode uint8

const (
	modeNone  mode = iota // not throttled
	modeLocal             // a turn of the pair's in-process limit
	modeStore             // a Reservation in the store
)

// Ticket is one admitted attempt; report its outcome with Done. The zero
// Ticket is an attempt that is not throttled.
type Ticket struct {
	g       *Gate
	pair    *pairState
	subject string
	addr    netip.Addr
	n       int64 // the place of a store-admitted attempt in its window
	mode    mode
}

// Begin admits an attempt of subject from addr before it is verified, or
// refuses it with a *LockedError (ErrThrottled). A store failure is
// returned as is. The zero Ticket, for subjects the gate does not know,
// costs nothing.
func (g *Gate) Begin(ctx context.Context, subject string, addr netip.Addr) (Ticket, error) {
	st := g.subjects[subject]
	if st == nil {
		if st = g.added(ctx, subject); st == nil {
			return Ticket{}, nil
		}
	}
	addr = clientip.Group(addr)
	now := g.nanos()
	t := Ticket{g: g, subject: subject, addr: addr}
	p := g.pair(st, addr, now)
	if p == nil {
		return g.reserve(ctx, t)
	}
	t.pair = p
	p.used.Store(now)
	if now < p.failedUntil.Load() {
		return g.reserve(ctx, t)
	}
	if now >= p.okUntil.Load() {
		failing, err := g.lim.Failing(ctx, subject, addr)
		if err != nil {
			return Ticket{}, err
		}
		if failing {
			p.failedUntil.Store(now + int64(g.lim.EffectiveWindow()))
			return g.reserve(ctx, t)
		}
		p.okUntil.Store(now + int64(g.recheck))
	}
	if !g.takeTurn(ctx, p) {
		if err := ctx.Err(); err != nil {
			return Ticket{}, err
		}
		return g.reserve(ctx, t)
	}
	p.drain.RLock()
	if now < p.failedUntil.Load() {
		// A failure was counted while this attempt waited.
		p.drain.RUnlock()
		p.giveTurn()
		return g.reserve(ctx, t)
	}
	t.mode = modeLocal
	return t, nil
}

// added returns the state of a subject outside the set, or nil when
// Known does not vouch for it.
func (g *Gate) added(ctx context.Context, subject string) *subjectState {
	if g.known == nil {
		return nil
	}
	if st, ok := g.dynamic.Load(subject); ok {
		return st.(*subjectState)
	}
	if !g.known(ctx, subject) {
		return nil
	}
	st, _ := g.dynamic.LoadOrStore(subject, &subjectState{pairs: map[netip.Addr]*pairState{}})
	return st.(*subjectState)
}

// takeTurn takes one of the pair's Limit turns, waiting up to queueWait
// while every turn is taken. It reports false when none came.
func (g *Gate) takeTurn(ctx context.Context, p *pairState) bool {
	limit := g.lim.limit()
	if p.inFlight.Add(1) <= limit {
		return true
	}
	p.inFlight.Add(-1)
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	tm := time.NewTimer(g.queueWait)
	defer tm.Stop()
	for {
		// Tried again after waiting was raised, so that a turn given back
		// in between is not missed.
		if p.inFlight.Add(1) <= limit {
			return true
		}
		p.inFlight.Add(-1)
		select {
		case <-p.wake:
		case <-tm.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// giveTurn gives a turn back, waking a waiter if there is one.
func (p *pairState) giveTurn() {
	p.inFlight.Add(-1)
	if p.waiting.Load() > 0 {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// reserve admits t by the store.
func (g *Gate) reserve(ctx context.Context, t Ticket) (Ticket, error) {
	if t.pair != nil {
		// Wait until the attempts verified in process have been counted:
		// the write lock is granted once every read lock is given back.
		t.pair.drain.Lock()
		//lint:ignore SA2001 the empty critical section is the barrier
		t.pair.drain.Unlock()
	}
	res, err := g.lim.Reserve(ctx, t.subject, t.addr)
	if err != nil {
		return Ticket{}, err
	}
	t.mode, t.n = modeStore, res.n
	return t, nil
}

// Abandon gives up an attempt whose outcome is unknown (the store that
// verifies it failed): nothing is counted for it beyond what Begin counted.
func (t Ticket) Abandon() {
	if t.mode == modeLocal {
		t.pair.drain.RUnlock()
		t.pair.giveTurn()
	}
}

// Done reports the outcome of the attempt: ok when it was verified. It
// returns how long to wait before answering a failure; locked reports that
// the failure made the pair refused. A store failure while counting is
// returned with the delay of the failure; the attempt has failed anyway.
func (t Ticket) Done(ctx context.Context, ok bool) (delay time.Duration, locked bool, err error) {
	switch t.mode {
	case modeNone:
		return 0, false, nil
	case modeLocal:
		defer func() {
			t.pair.drain.RUnlock()
			t.pair.giveTurn()
		}()
		if ok {
			return 0, false, nil
		}
		// Counted in the store before the turn is given back, so that
		// the attempts waiting for it are admitted by the store.
		t.pair.failedUntil.Store(t.g.nanos() + int64(t.g.lim.EffectiveWindow()))
		return t.g.lim.Failed(ctx, t.subject, t.addr)
	}
	if ok {
		if t.pair != nil {
			t.pair.failedUntil.Store(0)
			t.pair.okUntil.Store(t.g.nanos() + int64(t.g.recheck))
		}
		return 0, false, t.g.lim.Succeeded(ctx, t.subject, t.addr)
	}
	if t.pair != nil {
		t.pair.failedUntil.Store(t.g.nanos() + int64(t.g.lim.EffectiveWindow()))
	}
	return t.g.lim.failed(ctx, t.subject, t.n)
}
