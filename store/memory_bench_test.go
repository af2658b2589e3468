package store_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store"
)

// valueOf returns the i-th value of a sequence shaped like the library's
// tokens (43 base64url characters of 256 bits), spread over the shards.
func valueOf(i uint64) string {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], i*0x9e3779b97f4a7c15)
	binary.LittleEndian.PutUint64(b[8:], i)
	binary.LittleEndian.PutUint64(b[16:], 0x6f61757468326421)
	var v [43]byte
	base64.RawURLEncoding.Encode(v[:], b[:])
	return string(v[:])
}

// benchClock is a clock for benchmarks: atomic, so that it adds no lock of
// its own.
type benchClock struct{ ns atomic.Int64 }

func (c *benchClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// ccToken fills t as a client credentials token (RFC 6749 4.4.3): access
// only, no refresh, no grant, one client and scope.
func ccToken(t *models.Token, access string, now time.Time, ttl time.Duration) {
	*t = models.Token{ClientID: "000000", Scope: "read", Access: access, AccessCreateAt: now, AccessExpiresIn: ttl}
}

func benchStore(b *testing.B, opts ...store.MemoryOption) *store.MemoryTokenStore {
	b.Helper()
	return newMemory(b, append([]store.MemoryOption{store.WithSweepInterval(0)}, opts...)...)
}

// heapPerToken stores n+churn client credentials tokens in a fresh store,
// token i at i ms on the store's clock and living n ms: the first n fill
// it, then one expires per token stored, as in a server at a steady rate. It returns the Go heap the store holds per live token after
// garbage collection, after the fill and after the churn.
func heapPerToken(tb testing.TB, n, churn int) (filled, churned float64) {
	ctx := context.Background()
	clock := &benchClock{}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock.ns.Store(start.UnixNano())
	ttl := time.Duration(n) * time.Millisecond
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	before := heap()
	ts, err := store.NewMemoryTokenStore(store.WithClock(clock.Now), store.WithSweepInterval(0))
	if err != nil {
		tb.Fatal(err)
	}
	var tok models.Token
	for i := range n + churn {
		now := start.Add(time.Duration(i) * time.Millisecond)
		clock.ns.Store(now.UnixNano())
		ccToken(&tok, valueOf(uint64(i)), now, ttl)
		if err := ts.Create(ctx, &tok); err != nil {
			tb.Fatal(err)
		}
		if i == n-1 {
			filled = float64(heap()-before) / float64(n)
		}
	}
	churned = float64(heap()-before) / float64(n)
	if _, err := ts.GetByAccess(ctx, valueOf(uint64(n+churn-1))); err != nil {
		tb.Fatal(err)
	}
	runtime.KeepAlive(ts)
	return filled, churned
}

// TestMemoryTokenStore_HeapPerTokenIsBounded checks the memory budget of
// docs/architecture.md section 4: at 1,000,000 live client credentials tokens, at
// most 250 bytes of Go heap per token, map, record and expiry index
// together, both when filled and after as many tokens again came and went.
func TestMemoryTokenStore_HeapPerTokenIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store with 1,000,000 tokens; run without -short")
	}
	const n, budget = 1_000_000, 250
	churn := n
	if raceEnabled {
		churn = n / 10 // the index keeps no tombstones: any churn shows growth
	}
	filled, churned := heapPerToken(t, n, churn)
	t.Logf("%d live client credentials tokens: %.1f bytes of heap per token filled, %.1f after churn", n, filled, churned)
	if filled > budget || churned > budget {
		t.Fatalf("%.1f and %.1f bytes of heap per token, want at most %d", filled, churned, budget)
	}
}

// BenchmarkMemoryTokenStore_HeapPerToken reports the heap each client
// credentials token costs at 1,000,000 live tokens, filled and after churn.
func BenchmarkMemoryTokenStore_HeapPerToken(b *testing.B) {
	var filled, churned float64
	for b.Loop() {
		filled, churned = heapPerToken(b, 1_000_000, 1_000_000)
	}
	b.ReportMetric(filled, "heap-B/token")
	b.ReportMetric(churned, "churned-heap-B/token")
}

// BenchmarkMemoryTokenStore_Create stores client credentials tokens.
func BenchmarkMemoryTokenStore_Create(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b)
		var tok models.Token
		now := time.Now()
		var i uint64
		b.ReportAllocs()
		for b.Loop() {
			i++
			ccToken(&tok, valueOf(i), now, time.Hour)
			if err := s.Create(ctx, &tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := benchStore(b)
		var next atomic.Uint64
		now := time.Now()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var tok models.Token
			for pb.Next() {
				ccToken(&tok, valueOf(next.Add(1)), now, time.Hour)
				if err := s.Create(ctx, &tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// fill stores n client credentials tokens, values 0 to n-1.
func fill(b *testing.B, s oauth2.TokenStore, n int, now time.Time, ttl time.Duration) {
	b.Helper()
	var tok models.Token
	for i := range n {
		ccToken(&tok, valueOf(uint64(i)), now, ttl)
		if err := s.Create(context.Background(), &tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryTokenStore_GetByAccess looks up live access tokens among
// 100,000 (RFC 6750 resource requests, RFC 7662 introspection).
func BenchmarkMemoryTokenStore_GetByAccess(b *testing.B) {
	const live = 100_000
	ctx := context.Background()
	s := benchStore(b)
	fill(b, s, live, time.Now(), time.Hour)
	values := make([]string, live)
	for i := range values {
		values[i] = valueOf(uint64(i))
	}
	b.Run("serial", func(b *testing.B) {
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i = (i + 7919) % live
			if _, err := s.GetByAccess(ctx, values[i]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var seed atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(1000))
			for pb.Next() {
				i = (i + 7919) % live
				if _, err := s.GetByAccess(ctx, values[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkMemoryTokenStore_ExchangeCode exchanges a code for an access
// and a refresh token (RFC 6749 4.1.3); each op also stores the code.
func BenchmarkMemoryTokenStore_ExchangeCode(b *testing.B) {
	ctx := context.Background()
	op := func(s oauth2.TokenStore, i uint64, code, issued *models.Token) error {
		now := time.Now()
		grant := valueOf(3*i + 1<<62)[:22]
		*code = models.Token{ClientID: "000000", UserID: "u", RedirectURI: "http://localhost:9094/oauth2",
			Scope: "read", GrantID: grant, Code: valueOf(3 * i), CodeCreateAt: now, CodeExpiresIn: 10 * time.Minute,
			CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: oauth2.CodeChallengeS256}
		if err := s.Create(ctx, code); err != nil {
			return err
		}
		*issued = models.Token{ClientID: "000000", UserID: "u", Scope: "read", GrantID: grant,
			Access: valueOf(3*i + 1), AccessCreateAt: now, AccessExpiresIn: 2 * time.Hour,
			Refresh: valueOf(3*i + 2), RefreshCreateAt: now, RefreshExpiresIn: 72 * time.Hour}
		return s.ExchangeCode(ctx, code.Code, issued)
	}
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b)
		var code, issued models.Token
		var i uint64
		b.ReportAllocs()
		for b.Loop() {
			i++
			if err := op(s, i, &code, &issued); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := benchStore(b)
		var next atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var code, issued models.Token
			for pb.Next() {
				if err := op(s, next.Add(1), &code, &issued); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkMemoryLoad measures Create+GetByAccess at a steady number of
// live tokens: each op stores a client credentials token and looks it up,
// while the clock moves 1ms per op and tokens live for live ms, so that
// they expire (and are reclaimed by the writes) as fast as they are
// created. Throughput should not depend on live. cpu-ns/op is the
// process's CPU time per op, steadier than ns/op on a shared machine.
func BenchmarkMemoryLoad(b *testing.B) { benchmarkLoad(b, 0) }

// BenchmarkMemoryLoadOldTokens is BenchmarkMemoryLoad looking up, instead
// of the new token, the one stored live/2 ops before: a lookup that misses
// every cache once the store outgrows them.
func BenchmarkMemoryLoadOldTokens(b *testing.B) { benchmarkLoad(b, 2) }

// benchmarkLoad runs the load benchmarks; each op looks up the token
// stored live/ago ops before, or the new one when ago is 0.
func benchmarkLoad(b *testing.B, ago int) {
	ctx := context.Background()
	for _, live := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("live=%s", short(live)), func(b *testing.B) {
			clock := &benchClock{}
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			clock.ns.Store(start.UnixNano())
			s := benchStore(b, store.WithClock(clock.Now))
			ttl := time.Duration(live) * time.Millisecond
			// Fill as the steady state would be: token i created at i ms.
			var tok models.Token
			for i := range live {
				ccToken(&tok, valueOf(uint64(i)), start.Add(time.Duration(i)*time.Millisecond), ttl)
				if err := s.Create(ctx, &tok); err != nil {
					b.Fatal(err)
				}
			}
			back := uint64(0)
			if ago > 0 {
				back = uint64(live / ago)
			}
			i := uint64(live)
			clock.ns.Store(start.Add(time.Duration(i) * time.Millisecond).UnixNano())
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				now := clock.Now()
				ccToken(&tok, valueOf(i), now, ttl)
				if err := s.Create(ctx, &tok); err != nil {
					b.Fatal(err)
				}
				look := tok.Access
				if back > 0 {
					look = valueOf(i - back)
				}
				if _, err := s.GetByAccess(ctx, look); err != nil {
					b.Fatal(err)
				}
				i++
				clock.ns.Add(int64(time.Millisecond))
			}
			b.StopTimer()
			if cpu := cpuTime() - cpu; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
			entries, _, _, _ := store.Counts(s)
			b.ReportMetric(float64(entries), "entries")
		})
	}
}

func short(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprint(n/1_000_000, "M")
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprint(n/1000, "k")
	}
	return fmt.Sprint(n)
}
