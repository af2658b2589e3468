package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2"
)

// Defaults of the options.
const (
	// DefaultKeyPrefix starts every key the store writes.
	DefaultKeyPrefix = "oauth2:"
	// DefaultTimeout bounds each operation, so that a Redis that does not
	// answer makes the server reply 503 quickly instead of hanging.
	DefaultTimeout = 2 * time.Second
)

// ttlSlack is how much longer than the token it holds a key lives in
// Redis: the store's clock, not Redis's, decides expiry, and the slack
// covers clock skew between server processes and slow machines.
const ttlSlack = 10 * time.Second

// TokenStore keeps codes and tokens in Redis. It implements
// oauth2.TokenStore, oauth2.KVStore and oauth2.DocumentStore and is safe
// for concurrent use by any number of goroutines and processes.
type TokenStore struct {
	client  goredis.UniversalClient
	pipe    *pipeliner // the scripts and lookups, pipelined with other callers'
	owned   bool       // the store made the client, and closes it
	prefix  string
	now     func() time.Time
	timeout time.Duration
}

var (
	_ oauth2.TokenStore = (*TokenStore)(nil)
	_ oauth2.KVStore    = (*TokenStore)(nil)
)

// Option configures a TokenStore.
type Option func(*TokenStore)

// WithKeyPrefix sets the prefix of every key (default DefaultKeyPrefix).
// Stores that share a prefix share their data; use a hash tag such as
// "{oauth2}:" on Redis Cluster.
func WithKeyPrefix(prefix string) Option {
	return func(s *TokenStore) { s.prefix = prefix }
}

// WithClock sets the clock that decides expiry (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *TokenStore) {
		if now != nil {
			s.now = now
		}
	}
}

// WithTimeout bounds each operation (default DefaultTimeout); d <= 0 leaves
// only the caller's context and the client's own timeouts. Create of a
// client_credentials token, the hot path, sets no timer of its own: the
// pipeline bounds its wait in the queue and its round trip by d each. A client given
// to New honours it on reads and writes only if its options have
// ContextTimeoutEnabled; NewFromURL sets that.
func WithTimeout(d time.Duration) Option {
	return func(s *TokenStore) { s.timeout = d }
}

// New returns a store that uses client, which the caller keeps and closes.
// The client may be a *redis.Client, a failover client, or a cluster client
// with a hash-tagged prefix (see WithKeyPrefix).
func New(client goredis.UniversalClient, opts ...Option) *TokenStore {
	s := &TokenStore{
		client:  client,
		prefix:  DefaultKeyPrefix,
		now:     time.Now,
		timeout: DefaultTimeout,
	}
	for _, o := range opts {
		o(s)
	}
	s.pipe = &pipeliner{client: client, timeout: s.timeout}
	return s
}

// NewFromURL returns a store with its own client for a redis://, rediss://
// or unix:// URL, as go-redis's ParseURL reads it (for example
// redis://:password@127.0.0.1:6379/0?dial_timeout=1s). Close closes the
// client. It does not connect: a Redis that is down makes operations fail
// with ErrUnavailable until it is back. The error for a bad URL never
// contains the URL or its password.
func NewFromURL(rawURL string, opts ...Option) (*TokenStore, error) {
	o, err := goredis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// url.Parse quotes the URL, and its escape errors quote
			// pieces of the password: say nothing more.
			return nil, errors.New("redis store: malformed Redis URL")
		}
		return nil, fmt.Errorf("redis store: bad Redis URL: %w", err)
	}
	s := New(nil, opts...)
	// The per-operation timeout must reach the sockets.
	o.ContextTimeoutEnabled = true
	if o.DialTimeout == 0 && s.timeout > 0 {
		o.DialTimeout = s.timeout
	}
	if o.DialerRetries == 0 {
		// Each command is retried by the client already; retrying every
		// dial as well would make a dead Redis slow to report.
		o.DialerRetries = 1
	}
	s.client = goredis.NewClient(o)
	s.pipe.client = s.client
	s.owned = true
	return s, nil
}

// Close closes the client if NewFromURL made it; a client given to New is
// left to the caller.
func (s *TokenStore) Close() error {
	if !s.owned {
		return nil
	}
	return s.client.Close()
}

// Ping checks that Redis answers, for health checks.
func (s *TokenStore) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return classify("ping", s.client.Ping(ctx).Err())
}

// bound applies the store's timeout to ctx.
func (s *TokenStore) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

func (s *TokenStore) key(k kind, value string) string {
	return s.prefix + keyword[k] + hashValue(value)
}

func (s *TokenStore) grantKey(grantID string) string {
	return s.prefix + "grant:" + grantID
}

// ttl returns the Redis TTL in milliseconds of a key that holds data until
// exp by the store's clock, with slack; -1 when exp is zero (never).
func ttl(exp, now time.Time) int64 {
	if exp.IsZero() {
		return -1
	}
	d := exp.Sub(now)
	if d > math.MaxInt64-ttlSlack {
		return -1 // centuries away: the same as never
	}
	d += ttlSlack
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	return max(ms, 1)
}
