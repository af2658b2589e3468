package oauth2d

import (
	"context"
	stderrors "errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/oauth2d/oauth2/internal/web"
)

// clientGate throttles failed client authentications per client_id at the
// endpoints where clients authenticate. The counts and lockouts are the
// web.Throttle's, in the KVStore that every process shares; the gate keeps
// the KVStore off the path of the requests of a registered client that is
// not failing:
//
//   - after a failure seen by this process, every request of the client
//     asks the KVStore whether it is locked out, for the throttle's window;
//   - otherwise a "not locked out" answer of the KVStore is trusted for
//     recheck (one second), so that a client locked out by failures at
//     other processes is refused here within that time;
//   - a client_id that is not registered has no state here and is always
//     checked in the KVStore; its requests fail anyway.
//
// Only failures are counted; a success costs no KVStore round trip.
type clientGate struct {
	th      *web.Throttle
	log     *slog.Logger
	window  time.Duration
	recheck time.Duration
	now     func() time.Time
	// states has one entry per registered client, made at start and never
	// changed, so that it is read without a lock.
	states map[string]*gateState
}

// gateState is the in-process view of one registered client.
type gateState struct {
	id string
	// okUntil is when a "not locked out" answer stops being trusted, and
	// failedUntil when this process's last failure stops being recent, in
	// Unix nanoseconds.
	okUntil     atomic.Int64
	failedUntil atomic.Int64
}

// gateRecheck is how long a "not locked out" answer is trusted.
const gateRecheck = time.Second

func newClientGate(th *web.Throttle, log *slog.Logger, window time.Duration, clientIDs []string) *clientGate {
	g := &clientGate{th: th, log: log, window: window, recheck: gateRecheck, now: time.Now,
		states: make(map[string]*gateState, len(clientIDs))}
	for _, id := range clientIDs {
		g.states[id] = &gateState{id: id}
	}
	return g
}

// name returns a claimed client_id as a string for logs and the throttle:
// the registered ID itself when it is one (no copy), else the claim
// bounded and made valid UTF-8.
func (g *clientGate) name(id []byte) string {
	if len(id) == 0 {
		return ""
	}
	if st, ok := g.states[string(id)]; ok {
		return st.id
	}
	return boundClientID(string(id))
}

// check returns web.ErrThrottled, with how long the lockout lasts, while
// clientID is locked out.
func (g *clientGate) check(ctx context.Context, clientID string) (time.Duration, error) {
	st := g.states[clientID]
	now := g.now().UnixNano()
	if st != nil && now >= st.failedUntil.Load() && now < st.okUntil.Load() {
		return 0, nil
	}
	retry, err := g.th.Check(ctx, clientID)
	if err == nil && st != nil {
		st.okUntil.Store(now + int64(g.recheck))
	}
	return retry, err
}

// failed counts a failed authentication of clientID, and waits the delay
// the throttle asks for before the answer goes out.
func (g *clientGate) failed(ctx context.Context, clientID string) {
	if st := g.states[clientID]; st != nil {
		st.okUntil.Store(0)
		st.failedUntil.Store(g.now().Add(g.window).UnixNano())
	}
	delay, err := g.th.Fail(ctx, clientID)
	if err != nil && !stderrors.Is(err, web.ErrThrottled) {
		g.log.Error("client throttle", "err", err)
	}
	web.Wait(ctx, delay)
}
