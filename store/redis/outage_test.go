package redis_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2"
	redisstore "github.com/oauth2d/oauth2/store/redis"
)

// proxy is a TCP proxy to Redis that a test stops and restarts on the same
// address, to play a Redis that goes away and comes back.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	// hang makes the proxy accept connections and never answer: a Redis
	// that is up but stuck.
	hang bool

	mu    sync.Mutex
	l     net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string, hang bool) *proxy {
	p := &proxy{t: t, addr: "127.0.0.1:0", target: target, hang: hang}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start() {
	p.t.Helper()
	var l net.Listener
	var err error
	// The port of a listener just closed may need a moment to be free.
	for range 50 {
		if l, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.l, p.addr, p.conns = l, l.Addr().String(), map[net.Conn]struct{}{}
	p.mu.Unlock()
	p.wg.Go(func() { p.serve(l) })
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) serve(l net.Listener) {
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		if !p.track(in) {
			_ = in.Close()
			return
		}
		if p.hang {
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(out) {
			_ = in.Close()
			continue
		}
		p.wg.Go(func() { _, _ = io.Copy(out, in); _ = out.Close() })
		p.wg.Go(func() { _, _ = io.Copy(in, out); _ = in.Close() })
	}
}

// stop closes the listener and every connection, as a Redis that dies.
func (p *proxy) stop() {
	p.mu.Lock()
	if p.l != nil {
		_ = p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// TestStore_RecoversWhenRedisComesBack checks that while Redis is away every
// operation fails quickly with ErrUnavailable (503 temporarily_unavailable),
// and that the same store works again, with its data, once Redis is back.
func TestStore_RecoversWhenRedisComesBack(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	p := startProxy(t, c.Options().Addr, false)
	s, err := redisstore.NewFromURL("redis://"+p.addr+"/0",
		redisstore.WithKeyPrefix(prefix), redisstore.WithTimeout(500*time.Millisecond))
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	now := time.Now()

	before := tokenRecord("grant-"+token()[:12], now)
	must(t, s.Create(ctx, before))

	p.stop()
	during := tokenRecord("grant-"+token()[:12], now)
	ops := map[string]func() error{
		"GetByAccess": func() error { _, err := s.GetByAccess(ctx, before.Access); return err },
		"Create":      func() error { return s.Create(ctx, during) },
		"RotateRefresh": func() error {
			return s.RotateRefresh(ctx, before.Refresh, tokenRecord(before.GrantID, now))
		},
		"RevokeGrant": func() error { return s.RevokeGrant(ctx, before.GrantID) },
	}
	for name, op := range ops {
		began := time.Now()
		if err := op(); !errors.Is(err, oauth2.ErrUnavailable) {
			t.Fatalf("%s while Redis is away = %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(began); d > 3*time.Second {
			t.Fatalf("%s while Redis is away took %v", name, d)
		}
	}

	p.start()
	// The client redials by itself; its dial breaker probes once a second.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := s.GetByAccess(ctx, before.Access)
		if err == nil {
			break
		}
		if !errors.Is(err, oauth2.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("GetByAccess after Redis came back = %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	must(t, s.Create(ctx, during))
	must(t, s.RotateRefresh(ctx, before.Refresh, tokenRecord(before.GrantID, now)))
	if _, err := s.GetByAccess(ctx, during.Access); err != nil {
		t.Fatalf("GetByAccess of a token stored after the outage: %v", err)
	}
}

// TestStore_TimeoutBoundsAStuckRedis checks that a Redis that accepts
// connections but never answers makes each operation fail with
// ErrUnavailable once the store's timeout has passed, even when the
// caller's context has no deadline.
func TestStore_TimeoutBoundsAStuckRedis(t *testing.T) {
	redisURL(t)
	p := startProxy(t, "", true)
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name string
		make func(t *testing.T) *redisstore.TokenStore
	}{
		{"NewFromURL", func(t *testing.T) *redisstore.TokenStore {
			s, err := redisstore.NewFromURL("redis://"+p.addr+"/0", redisstore.WithTimeout(timeout))
			must(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"New with a client that honours context deadlines", func(t *testing.T) *redisstore.TokenStore {
			c := goredis.NewClient(&goredis.Options{Addr: p.addr, ContextTimeoutEnabled: true, MaxRetries: -1})
			t.Cleanup(func() { _ = c.Close() })
			return redisstore.New(c, redisstore.WithTimeout(timeout))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.make(t)
			rec := tokenRecord("grant-x", time.Now())
			for name, op := range map[string]func() error{
				"Create":      func() error { return s.Create(t.Context(), rec) },
				"GetByAccess": func() error { _, err := s.GetByAccess(t.Context(), rec.Access); return err },
			} {
				began := time.Now()
				err := op()
				if !errors.Is(err, oauth2.ErrUnavailable) {
					t.Fatalf("%s on a stuck Redis = %v, want ErrUnavailable", name, err)
				}
				if d := time.Since(began); d > timeout+time.Second {
					t.Fatalf("%s on a stuck Redis took %v, want about %v", name, d, timeout)
				}
			}
		})
	}
}

// TestNewFromURL_ErrorHidesPassword checks that a bad URL's error names the
// problem but never the password, which would end up in logs.
func TestNewFromURL_ErrorHidesPassword(t *testing.T) {
	const password = "s3cretPW"
	tests := []struct{ name, url string }{
		{"bad escape in the password", "redis://user:" + password + "%zz@127.0.0.1:6379/0"},
		{"bad port", "redis://user:" + password + "@127.0.0.1:port/0"},
		{"bad database number", "redis://user:" + password + "@127.0.0.1:6379/db"},
		{"unknown scheme", "http://user:" + password + "@127.0.0.1:6379/0"},
		{"unknown option", "redis://user:" + password + "@127.0.0.1:6379/0?bogus=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redisstore.NewFromURL(tt.url)
			if err == nil {
				_ = s.Close()
				t.Fatal("NewFromURL accepted a bad URL")
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error text contains the password: %v", err)
			}
		})
	}
	s, err := redisstore.NewFromURL("redis://user:" + password + "@127.0.0.1:6379/0")
	if err != nil {
		t.Fatalf("NewFromURL of a good URL: %v", err)
	}
	_ = s.Close()
}
