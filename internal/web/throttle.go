package web

import (
	"context"
	stderrors "errors"
	"fmt"
	"strconv"
	"time"

	"github.com/oauth2d/oauth2"
)

// Throttle slows and then refuses repeated failures for one subject (a
// username, a client ID), counting them in the KVStore so that every
// process that shares the store shares the count. Failures are counted in
// a fixed window; at Limit failures the subject is locked out for Window.
// A success clears the count.
type Throttle struct {
	// KV keeps the counters and lockouts.
	KV oauth2.KVStore
	// Name separates the counters of one throttle from another's
	// ("login", "client").
	Name string
	// Limit is the number of failures in Window that locks the subject
	// out; 5 when zero.
	Limit int
	// Window is the counting window and the lockout time; 15 minutes when
	// zero.
	Window time.Duration
	// SlowAfter is the number of failures after which each further failure
	// is answered after a delay; 2 when zero.
	SlowAfter int
	// Delay is the delay per failure beyond SlowAfter, up to MaxDelay;
	// 500ms and 2s when zero.
	Delay, MaxDelay time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// ErrThrottled is returned while a subject is locked out.
var ErrThrottled = stderrors.New("too many attempts, try again later")

func (t *Throttle) limit() int64 {
	if t.Limit <= 0 {
		return 5
	}
	return int64(t.Limit)
}

func (t *Throttle) window() time.Duration {
	if t.Window <= 0 {
		return 15 * time.Minute
	}
	return t.Window
}

// EffectiveWindow returns the counting window and lockout time: Window, or
// its default of 15 minutes.
func (t *Throttle) EffectiveWindow() time.Duration { return t.window() }

func (t *Throttle) now() time.Time {
	if t.Now == nil {
		return time.Now()
	}
	return t.Now()
}

func (t *Throttle) key(kind, subject string) string {
	return hashKey("oauth2d/throttle/"+t.Name+"/"+kind+"/", subject)
}

// Check returns ErrThrottled, with how long the lockout lasts, while
// subject is locked out.
func (t *Throttle) Check(ctx context.Context, subject string) (retryAfter time.Duration, err error) {
	v, err := t.KV.Get(ctx, t.key("lock", subject))
	if stderrors.Is(err, oauth2.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("web: throttle: %w", err)
	}
	until, perr := strconv.ParseInt(string(v), 10, 64)
	retryAfter = time.Unix(until, 0).Sub(t.now())
	if perr != nil || retryAfter <= 0 {
		retryAfter = time.Second
	}
	return retryAfter, ErrThrottled
}

// Fail records a failure for subject and returns how long to wait before
// answering it. It returns ErrThrottled when this failure locks the
// subject out.
func (t *Throttle) Fail(ctx context.Context, subject string) (delay time.Duration, err error) {
	n, err := t.KV.Incr(ctx, t.key("count", subject), t.window())
	if err != nil {
		return 0, fmt.Errorf("web: throttle: %w", err)
	}
	slowAfter := int64(t.SlowAfter)
	if slowAfter <= 0 {
		slowAfter = 2
	}
	if n > slowAfter {
		step, maxDelay := t.Delay, t.MaxDelay
		if step <= 0 {
			step = 500 * time.Millisecond
		}
		if maxDelay <= 0 {
			maxDelay = 2 * time.Second
		}
		delay = min(time.Duration(n-slowAfter)*step, maxDelay)
	}
	if n >= t.limit() {
		until := t.now().Add(t.window())
		if err := t.KV.Put(ctx, t.key("lock", subject), []byte(strconv.FormatInt(until.Unix(), 10)), t.window()); err != nil {
			return delay, fmt.Errorf("web: throttle: %w", err)
		}
		return delay, ErrThrottled
	}
	return delay, nil
}

// Succeed clears the failure count of subject.
func (t *Throttle) Succeed(ctx context.Context, subject string) error {
	if err := t.KV.Delete(ctx, t.key("count", subject)); err != nil {
		return fmt.Errorf("web: throttle: %w", err)
	}
	return nil
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
