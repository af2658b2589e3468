// Package throttle limits guessing of secrets (passwords, client secrets)
// without letting a stranger lock anybody out. Failures are counted per
// subject (a username, a client ID) and source address together: after
// repeated failures one address is slowed, then refused for that subject,
// while the same subject from another address keeps working. Failures of a
// subject from every address together only ever slow its failed attempts,
// by a bounded delay; they never refuse it. See docs/config.md.
//
// The counts live in the oauth2.KVStore that every server process shares.
// An attempt is counted before it is verified (Limiter.Reserve), so that of
// any number of concurrent attempts, in any number of processes, at most
// the limit are verified. Gate keeps that KVStore round trip off the path
// of a subject that authenticates often and rarely fails: a client at the
// token endpoint.
package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	stderrors "errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/clientip"
)

// Defaults of Limiter.
const (
	DefaultLimit     = 5
	DefaultWindow    = 15 * time.Minute
	DefaultSlowAfter = 2
	DefaultDelay     = 500 * time.Millisecond
	DefaultMaxDelay  = 2 * time.Second
	// DefaultSubjectSlowAfter is how many failures of one subject, from
	// every address together, are answered without delay in a window.
	DefaultSubjectSlowAfter = 20
)

// ErrThrottled matches the error of an attempt refused because its
// subject failed too often from its address (*LockedError).
var ErrThrottled = stderrors.New("throttle: too many failed attempts, try again later")

// LockedError refuses an attempt; it matches ErrThrottled.
type LockedError struct {
	// RetryAfter is how long the refusal lasts at most.
	RetryAfter time.Duration
}

func (e *LockedError) Error() string { return ErrThrottled.Error() }

// RetryAfterHeader is RetryAfter as the value of a Retry-After header
// (RFC 9110 10.2.3): whole seconds, at least 1.
func (e *LockedError) RetryAfterHeader() string {
	return strconv.Itoa(max(1, int(e.RetryAfter.Round(time.Second)/time.Second)))
}

// Is reports whether target is ErrThrottled.
func (e *LockedError) Is(target error) bool { return target == ErrThrottled }

// Limiter counts attempts per (subject, address) and failures per subject
// in a KVStore. The zero values of its limits take the defaults.
type Limiter struct {
	// KV keeps the counters.
	KV oauth2.KVStore
	// Name separates the counters of one limiter from another's ("login",
	// "client").
	Name string
	// Limit is the number of attempts of one subject from one address,
	// without a success in between, after which further attempts are
	// refused until Window has passed since the first of them.
	Limit int
	// Window is the counting window and the longest refusal.
	Window time.Duration
	// SlowAfter is the number of failures of a pair after which each
	// further failure is answered after Delay more, up to MaxDelay.
	SlowAfter int
	// Delay and MaxDelay shape the delay of failures.
	Delay, MaxDelay time.Duration
	// SubjectSlowAfter is the number of failures of one subject from every
	// address together in Window after which each further failure is
	// answered after Delay more, up to MaxDelay: the global ceiling, which
	// delays but never refuses.
	SubjectSlowAfter int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (l *Limiter) limit() int64 {
	if l.Limit <= 0 {
		return DefaultLimit
	}
	return int64(l.Limit)
}

// EffectiveLimit returns Limit, or its default.
func (l *Limiter) EffectiveLimit() int { return int(l.limit()) }

// EffectiveWindow returns Window, or its default.
func (l *Limiter) EffectiveWindow() time.Duration {
	if l.Window <= 0 {
		return DefaultWindow
	}
	return l.Window
}

func (l *Limiter) now() time.Time {
	if l.Now == nil {
		return time.Now()
	}
	return l.Now()
}

// delay returns the delay of the n-th failure when the first after are
// free.
func (l *Limiter) delay(n, after int64) time.Duration {
	if n <= after {
		return 0
	}
	step, maxDelay := l.Delay, l.MaxDelay
	if step <= 0 {
		step = DefaultDelay
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	if n-after > int64(maxDelay/step) {
		return maxDelay // and no overflow
	}
	return min(time.Duration(n-after)*step, maxDelay)
}

func (l *Limiter) slowAfter() int64 {
	if l.SlowAfter <= 0 {
		return DefaultSlowAfter
	}
	return int64(l.SlowAfter)
}

func (l *Limiter) subjectSlowAfter() int64 {
	if l.SubjectSlowAfter <= 0 {
		return DefaultSubjectSlowAfter
	}
	return int64(l.SubjectSlowAfter)
}

// Keys: the base64url SHA-256 of the subject (and address), never the
// subject itself, which may be a username.
func (l *Limiter) pairKey(kind, subject string, addr netip.Addr) string {
	return l.key(kind, subject, clientip.Group(addr).String())
}

func (l *Limiter) key(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "oauth2d/throttle/" + l.Name + "/" + kind + "/" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// Reservation is one attempt that Reserve admitted; report its outcome
// with Succeed or Fail.
type Reservation struct {
	l       *Limiter
	subject string
	addr    netip.Addr
	n       int64 // the attempt's place in its pair's window
}

// Reserve counts an attempt of subject from addr before it is verified:
// the pair's counter is incremented first (KVStore.Incr), and the attempt
// may be verified only when the count is within Limit. Of any number of
// concurrent attempts of the pair, in any number of processes sharing the
// store, at most Limit are admitted until a success resets the count or
// Window passes. Beyond it Reserve returns a *LockedError.
func (l *Limiter) Reserve(ctx context.Context, subject string, addr netip.Addr) (Reservation, error) {
	n, err := l.count(ctx, subject, addr)
	if err != nil {
		return Reservation{}, err
	}
	if n > l.limit() {
		return Reservation{}, &LockedError{RetryAfter: l.retryAfter(ctx, subject, addr)}
	}
	return Reservation{l: l, subject: subject, addr: addr, n: n}, nil
}

// count increments the pair's counter. The first count of a window also
// records when the window started, under a key whose presence says that
// the pair has attempts without a success (Failing).
func (l *Limiter) count(ctx context.Context, subject string, addr netip.Addr) (int64, error) {
	n, err := l.KV.Incr(ctx, l.pairKey("pair", subject, addr), l.EffectiveWindow())
	if err != nil {
		return 0, fmt.Errorf("throttle: count attempt: %w", err)
	}
	if n == 1 {
		start := strconv.FormatInt(l.now().UnixMilli(), 10)
		if err := l.KV.Put(ctx, l.pairKey("window", subject, addr), []byte(start), l.EffectiveWindow()); err != nil {
			return 0, fmt.Errorf("throttle: count attempt: %w", err)
		}
	}
	return n, nil
}

// Failing reports whether the pair has counted attempts without a success
// in its window. It counts nothing.
func (l *Limiter) Failing(ctx context.Context, subject string, addr netip.Addr) (bool, error) {
	_, err := l.KV.Get(ctx, l.pairKey("window", subject, addr))
	switch {
	case err == nil:
		return true, nil
	case stderrors.Is(err, oauth2.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("throttle: read count: %w", err)
}

// retryAfter returns how long the pair's window has left, at least one
// second; the whole window when its start is unknown.
func (l *Limiter) retryAfter(ctx context.Context, subject string, addr netip.Addr) time.Duration {
	w := l.EffectiveWindow()
	v, err := l.KV.Get(ctx, l.pairKey("window", subject, addr))
	if err != nil {
		return w
	}
	start, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return w
	}
	left := time.UnixMilli(start).Add(w).Sub(l.now())
	return min(w, max(left, time.Second))
}

// Succeed reports that the attempt was verified: the pair's count starts
// again from zero.
func (r Reservation) Succeed(ctx context.Context) error {
	return r.l.Succeeded(ctx, r.subject, r.addr)
}

// Succeeded resets the count of the pair of subject and addr, after a
// verified attempt.
func (l *Limiter) Succeeded(ctx context.Context, subject string, addr netip.Addr) error {
	if err := l.KV.Delete(ctx, l.pairKey("pair", subject, addr)); err != nil {
		return fmt.Errorf("throttle: reset count: %w", err)
	}
	if err := l.KV.Delete(ctx, l.pairKey("window", subject, addr)); err != nil {
		return fmt.Errorf("throttle: reset count: %w", err)
	}
	return nil
}

// Fail reports that the attempt failed. It returns how long to wait before
// answering it (growing from the pair's SlowAfter-th failure and from the
// subject's SubjectSlowAfter-th failure, up to MaxDelay) and whether the
// pair is now refused until its window ends.
func (r Reservation) Fail(ctx context.Context) (delay time.Duration, locked bool, err error) {
	return r.l.failed(ctx, r.subject, r.n)
}

// Failed reports a failure of subject from addr that was verified without
// a Reservation (Gate admits attempts of pairs without failures in
// process): it counts it for the pair and the subject, and returns what
// Reservation.Fail returns.
func (l *Limiter) Failed(ctx context.Context, subject string, addr netip.Addr) (delay time.Duration, locked bool, err error) {
	n, err := l.count(ctx, subject, addr)
	if err != nil {
		return 0, false, err
	}
	return l.failed(ctx, subject, n)
}

// failed counts a failure of subject, the n-th of its pair, and returns
// its delay.
func (l *Limiter) failed(ctx context.Context, subject string, n int64) (time.Duration, bool, error) {
	m, err := l.KV.Incr(ctx, l.key("subject", subject), l.EffectiveWindow())
	if err != nil {
		return l.delay(n, l.slowAfter()), n >= l.limit(), fmt.Errorf("throttle: count failure: %w", err)
	}
	d := max(l.delay(n, l.slowAfter()), l.delay(m, l.subjectSlowAfter()))
	return d, n >= l.limit(), nil
}

// Wait sleeps for d or until ctx is done.
func Wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}
