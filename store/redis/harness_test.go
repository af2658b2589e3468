package redis_test

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2"
	redisstore "github.com/oauth2d/oauth2/store/redis"
)

// envURL names the variable that switches the tests against a real Redis on.
const envURL = "OAUTH2_TEST_REDIS_URL"

// TestMain silences the client's own log of failed dials, which the
// outage tests provoke on purpose.
func TestMain(m *testing.M) {
	goredis.SetLogger(quietLog{})
	os.Exit(m.Run())
}

type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

// redisURL returns the test Redis URL, or skips t saying how to enable it.
func redisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		t.Skip("Redis store tests are off: set " + envURL + "=redis://127.0.0.1:6379/0 to run them against a real Redis")
	}
	return u
}

// newClient returns a client of the test Redis, closed when t ends. It
// fails t when the variable is set but Redis does not answer.
func newClient(t testing.TB) *goredis.Client {
	t.Helper()
	u := redisURL(t)
	opt, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatalf("%s is not a Redis URL: %v", envURL, err)
	}
	opt.ContextTimeoutEnabled = true
	c := goredis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("%s is set but Redis at %s does not answer: %v", envURL, opt.Addr, err)
	}
	return c
}

// newPrefix returns a fresh key prefix whose keys are deleted when t ends.
func newPrefix(t testing.TB, c *goredis.Client) string {
	t.Helper()
	prefix := "oauth2test:" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, err := scanKeys(ctx, c, prefix)
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("deleting the test keys under %s: %v", prefix, err)
		}
	})
	return prefix
}

// scanKeys lists the keys under prefix (tests only: never on a request
// path).
func scanKeys(ctx context.Context, c *goredis.Client, prefix string) ([]string, error) {
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// fixture is one store of a test with what the test needs to look under it.
type fixture struct {
	store  *redisstore.TokenStore
	client *goredis.Client
	prefix string
}

// newFixture returns a store on a fresh prefix, reading time from now.
func newFixture(t testing.TB, now func() time.Time, opts ...redisstore.Option) *fixture {
	t.Helper()
	c := newClient(t)
	p := newPrefix(t, c)
	opts = append([]redisstore.Option{redisstore.WithKeyPrefix(p), redisstore.WithClock(now)}, opts...)
	return &fixture{store: redisstore.New(c, opts...), client: c, prefix: p}
}

// prefixes remembers the prefix of every store the harness made, so that
// Reopen can open a second handle on the same keys.
var prefixes sync.Map // *redisstore.TokenStore -> string

func harnessNew(t *testing.T, now func() time.Time) oauth2.TokenStore {
	f := newFixture(t, now)
	prefixes.Store(f.store, f.prefix)
	t.Cleanup(func() { prefixes.Delete(f.store) })
	return f.store
}

// harnessReopen opens a second store with its own client on the keys of s,
// as a second server process would.
func harnessReopen(t *testing.T, s oauth2.TokenStore, now func() time.Time) oauth2.TokenStore {
	p, ok := prefixes.Load(s)
	if !ok {
		t.Fatal("Reopen of a store the harness did not make")
	}
	return redisstore.New(newClient(t), redisstore.WithKeyPrefix(p.(string)), redisstore.WithClock(now))
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// harnessDown returns a store whose Redis is a closed port.
func harnessDown(t *testing.T) oauth2.TokenStore {
	redisURL(t)
	s, err := redisstore.NewFromURL("redis://" + closedPort(t) + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
