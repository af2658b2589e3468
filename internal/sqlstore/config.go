package sqlstore

import (
	"fmt"
	"regexp"
	"time"
)

// Defaults of Config.
const (
	DefaultTimeout       = 3 * time.Second
	DefaultSweepInterval = time.Minute
	DefaultSweepBatch    = 256
	DefaultTablePrefix   = "oauth2_"
)

// Config is the configuration common to the SQL stores, set with Options.
type Config struct {
	// Now is the clock of every expiry decision.
	Now func() time.Time
	// Timeout bounds every operation, including its retries and the wait
	// for a connection, so that a dead engine fails fast. A write bounds
	// its wait in the group-commit queue and its batch by it each, so it
	// may take up to about twice Timeout (batch.go).
	Timeout time.Duration
	// TablePrefix starts every table and index name.
	TablePrefix string
	// Schema qualifies the table names (PostgreSQL); "" for none.
	Schema string
	// SweepInterval is how often expired rows are deleted in the
	// background; zero or less disables the sweeper.
	SweepInterval time.Duration
	// SweepBatch is how many rows one DELETE of the sweeper removes at most.
	SweepBatch int
	// Autocommit reports that every connection of the pool commits a
	// statement run outside a transaction on its own (MySQL: the store
	// opened the pool and set autocommit=1 on each connection; PostgreSQL
	// and SQLite always do). A batch of Creates then runs as one statement
	// without BEGIN and COMMIT (group commit, batch.go). Set by the engine
	// packages, not by an Option: a MySQL pool the caller gives may have
	// autocommit off.
	Autocommit bool
	// Sync, when set, makes every commit so far durable: the engine's
	// commits are not durable by themselves (SQLite at synchronous=NORMAL),
	// and a write is answered only after a Sync that started after its
	// commit (syncer.go). alone reports that writes come one at a time,
	// where a flush that blocks its thread answers the write sooner than
	// one that leaves the thread to other goroutines. Set by the engine
	// packages.
	Sync func(alone bool) error
}

// Option configures a store.
type Option func(*Config)

// WithClock makes the store read the time from now for every expiry
// decision, instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *Config) { c.Now = now }
}

// WithTimeout bounds every operation (default 3s).
func WithTimeout(d time.Duration) Option {
	return func(c *Config) { c.Timeout = d }
}

// WithTablePrefix sets the prefix of every table and index name (default
// "oauth2_"): letters, digits and underscores.
func WithTablePrefix(prefix string) Option {
	return func(c *Config) { c.TablePrefix = prefix }
}

// WithSchema puts the tables in schema, created if missing (PostgreSQL).
func WithSchema(schema string) Option {
	return func(c *Config) { c.Schema = schema }
}

// WithSweepInterval sets how often expired rows are deleted (default 1m);
// zero or less disables the background sweeper.
func WithSweepInterval(d time.Duration) Option {
	return func(c *Config) { c.SweepInterval = d }
}

// WithSweepBatch sets how many rows one DELETE of the sweeper removes at
// most (default 256), which bounds how long it holds locks.
func WithSweepBatch(n int) Option {
	return func(c *Config) { c.SweepBatch = n }
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,39}$`)

// NewConfig applies opts to the defaults and validates the result.
func NewConfig(opts ...Option) (Config, error) {
	c := Config{
		Now:           time.Now,
		Timeout:       DefaultTimeout,
		TablePrefix:   DefaultTablePrefix,
		SweepInterval: DefaultSweepInterval,
		SweepBatch:    DefaultSweepBatch,
	}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.Now == nil:
		return c, fmt.Errorf("WithClock: nil clock")
	case c.Timeout <= 0:
		return c, fmt.Errorf("WithTimeout: %v is not positive", c.Timeout)
	case c.TablePrefix != "" && !identifier.MatchString(c.TablePrefix):
		return c, fmt.Errorf("WithTablePrefix: %q is not letters, digits and underscores (at most 40)", c.TablePrefix)
	case c.Schema != "" && !identifier.MatchString(c.Schema):
		return c, fmt.Errorf("WithSchema: %q is not letters, digits and underscores (at most 40)", c.Schema)
	case c.SweepBatch <= 0:
		return c, fmt.Errorf("WithSweepBatch: %d is not positive", c.SweepBatch)
	}
	return c, nil
}
