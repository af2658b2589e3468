package storetest

import (
	"sync"
	"time"
)

// Clock is a settable clock for expiry tests; safe for concurrent use. A
// store, manager or server under test reads the time from Clock.Now, and the
// test moves it forward with Advance instead of sleeping. It is the one test
// clock of the repository: tests of every package share it rather than
// writing their own.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until it is advanced. The
// monotonic reading of start, if any, is dropped.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start.Round(0)}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
