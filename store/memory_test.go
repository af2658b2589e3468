package store_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store"
	"github.com/oauth2d/oauth2/store/storetest"
)

func newMemory(t testing.TB, opts ...store.MemoryOption) *store.MemoryTokenStore {
	t.Helper()
	ts, err := store.NewMemoryTokenStore(opts...)
	if err != nil {
		t.Fatal(err)
	}
	s := ts.(*store.MemoryTokenStore)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestMemoryTokenStore_Conformance(t *testing.T) {
	storetest.TestTokenStore(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) oauth2.TokenStore {
			return newMemory(t, store.WithClock(now))
		},
	})
}

func TestMemoryTokenStore_ConformanceOneShard(t *testing.T) {
	storetest.TestTokenStore(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) oauth2.TokenStore {
			return newMemory(t, store.WithClock(now), store.WithShards(1))
		},
	})
}

func TestMemoryTokenStore_KVConformance(t *testing.T) {
	storetest.TestKVStore(t, storetest.KVHarness{
		New: func(t *testing.T, now func() time.Time) oauth2.KVStore {
			return newMemory(t, store.WithClock(now))
		},
	})
}

func TestClientStore_Conformance(t *testing.T) {
	storetest.TestClientStore(t, storetest.ClientHarness{
		New: func(t *testing.T) (oauth2.ClientStore, func(context.Context, *models.Client) error) {
			cs := store.NewClientStore()
			return cs, func(_ context.Context, c *models.Client) error { return cs.Set(c.ID, c) }
		},
	})
}

func TestNewMemoryTokenStore_RejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  store.MemoryOption
	}{
		{"zero shards", store.WithShards(0)},
		{"negative shards", store.WithShards(-1)},
		{"too many shards", store.WithShards(1 << 20)},
		{"nil clock", store.WithClock(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := store.NewMemoryTokenStore(tt.opt); err == nil {
				t.Fatal("NewMemoryTokenStore succeeded, want an error")
			}
		})
	}
}

func TestClientStore_SetRejectsNil(t *testing.T) {
	if err := store.NewClientStore().Set("x", nil); err == nil {
		t.Fatal("Set(nil) succeeded, want an error")
	}
}

// fixture is a memory store on a settable clock.
type fixture struct {
	t     *testing.T
	s     *store.MemoryTokenStore
	clock *storetest.Clock
	n     atomic.Uint64
}

func newFixture(t *testing.T, opts ...store.MemoryOption) *fixture {
	clock := storetest.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	opts = append([]store.MemoryOption{store.WithClock(clock.Now), store.WithSweepInterval(0)}, opts...)
	return &fixture{t: t, s: newMemory(t, opts...), clock: clock}
}

// value returns a distinct value shaped like the library's tokens: 43
// base64url characters.
func (f *fixture) value() string {
	n := f.n.Add(1)
	var b [32]byte
	for i := range 8 {
		b[i] = byte(n >> (8 * i))
	}
	b[31] = 0x5a
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (f *fixture) tokens(grant string, ttl time.Duration) *models.Token {
	now := f.clock.Now()
	return &models.Token{
		ClientID: "c", Scope: "read", GrantID: grant,
		Access: f.value(), AccessCreateAt: now, AccessExpiresIn: ttl,
		Refresh: f.value(), RefreshCreateAt: now, RefreshExpiresIn: 2 * ttl,
	}
}

func (f *fixture) create(info oauth2.TokenInfo) {
	f.t.Helper()
	if err := f.s.Create(context.Background(), info); err != nil {
		f.t.Fatal(err)
	}
}

func TestMemoryTokenStore_ExpiredEntriesAreReclaimed(t *testing.T) {
	tests := []struct {
		name    string
		reclaim func(f *fixture)
	}{
		{"by Sweep", func(f *fixture) { f.s.Sweep() }},
		{"by later writes", func(f *fixture) {
			for range 2000 {
				r := f.tokens("", 0)
				r.Refresh = ""
				f.create(r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, store.WithShards(8))
			ctx := context.Background()
			for i := range 500 {
				r := f.tokens(fmt.Sprint("grant-", i%50), time.Minute)
				r.UserID = fmt.Sprint("user-", i)
				f.create(r)
				if i%5 == 0 {
					if err := f.s.RotateRefresh(ctx, r.Refresh, f.tokens(r.GrantID, time.Minute)); err != nil {
						t.Fatal(err)
					}
				}
			}
			keep := f.tokens("grant-keep", 0)
			f.create(keep)
			f.clock.Advance(10 * time.Minute)
			tt.reclaim(f)
			f.s.Sweep()
			entries, wheel, grants, metas := store.Counts(f.s)
			want := 2 + 2000*btoi(tt.name == "by later writes")
			if entries != want || wheel != 0 || grants != 1 {
				t.Fatalf("after reclaim: %d entries, %d wheel keys, %d grants; want %d, 0, 1", entries, wheel, grants, want)
			}
			if metas > 2+8 { // keep's two parts, and the writes' client in each shard
				t.Fatalf("after reclaim: %d interned metas, want the live ones only", metas)
			}
			if _, err := f.s.GetByRefresh(ctx, keep.Refresh); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestMemoryTokenStore_BackgroundSweepReclaims(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	s := newMemory(t, store.WithClock(clock.Now), store.WithSweepInterval(time.Millisecond))
	for range 100 {
		var b [32]byte
		_, _ = rand.Read(b[:])
		tok := &models.Token{Access: base64.RawURLEncoding.EncodeToString(b[:]), AccessCreateAt: clock.Now(), AccessExpiresIn: time.Second}
		if err := s.Create(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if entries, _, _, _ := store.Counts(s); entries == 0 {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%d entries left 5s after they expired", entries)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMemoryTokenStore_DroppedStoreStopsItsSweeper(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		if _, err := store.NewMemoryTokenStore(store.WithSweepInterval(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before: dropped stores keep sweeping", runtime.NumGoroutine(), before)
		}
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMemoryTokenStore_CloseStopsTheSweeper(t *testing.T) {
	before := runtime.NumGoroutine()
	s := newMemory(t, store.WithSweepInterval(time.Millisecond))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper still runs after Close")
		}
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(s)
	tok := &models.Token{Access: "still-usable", AccessCreateAt: time.Now(), AccessExpiresIn: time.Hour}
	if err := s.Create(context.Background(), tok); err != nil {
		t.Fatal("Create after Close:", err)
	}
}

func TestMemoryTokenStore_KeyDomainsDoNotMix(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	jwtLike := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	canonical := f.value()
	f.create(&models.Token{Access: jwtLike, AccessCreateAt: f.clock.Now(), AccessExpiresIn: time.Hour})
	f.create(&models.Token{Access: canonical, AccessCreateAt: f.clock.Now(), AccessExpiresIn: time.Hour})
	sum := sha256.Sum256([]byte(jwtLike))
	// The canonical value ends in 'a' (its last 2 bits zero); 'b' decodes to
	// the same bytes with a lenient decoder.
	lenient := canonical[:42] + string(canonical[42]+1)
	tests := []struct {
		name, value string
		found       bool
	}{
		{"hashed value", jwtLike, true},
		{"canonical value", canonical, true},
		{"base64url of the hashed value's SHA-256", base64.RawURLEncoding.EncodeToString(sum[:]), false},
		{"non-canonical encoding of the canonical value", lenient, false},
		{"padded canonical value", canonical + "=", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.s.GetByAccess(ctx, tt.value)
			if tt.found != (err == nil) {
				t.Fatalf("GetByAccess = %v, want found %v", err, tt.found)
			}
		})
	}
}

func TestMemoryTokenStore_RecordCarriesEveryCanonicalValue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.tokens("g", time.Hour)
	f.create(r)
	byAccess, err := f.s.GetByAccess(ctx, r.Access)
	if err != nil {
		t.Fatal(err)
	}
	byRefresh, err := f.s.GetByRefresh(ctx, r.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	if byAccess.GetRefresh() != r.Refresh || byRefresh.GetAccess() != r.Access {
		t.Fatal("a lookup by one part does not carry the other part's value")
	}
}

// TestMemoryTokenStore_RevokeGrantRacingConsumersLeavesNoLiveToken runs
// the race of the conformance kit many times, with the revocation landing
// at varied points of the exchange and rotations.
func TestMemoryTokenStore_RevokeGrantRacingConsumersLeavesNoLiveToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	for round := range rounds {
		grant := fmt.Sprint("g", round)
		now := f.clock.Now()
		code := &models.Token{GrantID: grant, Code: f.value(), CodeCreateAt: now, CodeExpiresIn: time.Minute}
		f.create(code)
		issued := []*models.Token{f.tokens(grant, time.Hour), f.tokens(grant, time.Hour), f.tokens(grant, time.Hour)}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if f.s.ExchangeCode(ctx, code.Code, issued[0]) != nil {
				return
			}
			for i := 1; i < len(issued); i++ {
				if f.s.RotateRefresh(ctx, issued[i-1].Refresh, issued[i]) != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			spin(round % 64 * 20)
			if err := f.s.RevokeGrant(ctx, grant); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		for i, r := range issued {
			if _, err := f.s.GetByAccess(ctx, r.Access); err == nil {
				t.Fatalf("round %d: access token %d of the revoked grant is live", round, i)
			}
			if _, err := f.s.GetByRefresh(ctx, r.Refresh); err == nil {
				t.Fatalf("round %d: refresh token %d of the revoked grant is live", round, i)
			}
		}
	}
}

// TestMemoryTokenStore_ConcurrentConsumersHaveOneWinner runs the kit's
// one-winner race many times, two consumers at a time with varied offsets.
func TestMemoryTokenStore_ConcurrentConsumersHaveOneWinner(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	for round := range rounds {
		old := f.tokens(fmt.Sprint("g", round), time.Hour)
		f.create(old)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				spin(i * (round % 32) * 20)
				err := f.s.RotateRefresh(ctx, old.Refresh, f.tokens(old.GrantID, time.Hour))
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, oauth2.ErrReused):
					t.Errorf("round %d: RotateRefresh = %v, want nil or ErrReused", round, err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners, want 1", round, wins.Load())
		}
	}
}

var spinSink atomic.Int64

// spin burns about n short steps, to offset one goroutine from another.
func spin(n int) {
	for i := range n {
		spinSink.Add(int64(i))
	}
}

func TestMemoryTokenStore_RepeatedValueInOneRecordIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.tokens("g", time.Hour)
	r.Refresh = r.Access
	if err := f.s.Create(ctx, r); err == nil {
		t.Fatal("Create with access == refresh succeeded, want an error")
	}
	if _, err := f.s.GetByAccess(ctx, r.Access); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("GetByAccess = %v, want ErrNotFound", err)
	}
	code := &models.Token{GrantID: "g2", Code: f.value(), CodeCreateAt: f.clock.Now(), CodeExpiresIn: time.Minute}
	f.create(code)
	issued := f.tokens("g2", time.Hour)
	issued.Refresh = issued.Access
	if err := f.s.ExchangeCode(ctx, code.Code, issued); err == nil {
		t.Fatal("ExchangeCode issuing access == refresh succeeded, want an error")
	}
	if _, err := f.s.GetByCode(ctx, code.Code); err != nil {
		t.Fatalf("the code was consumed by a failed exchange: %v", err)
	}
}

func TestMemoryTokenStore_ExchangeKeepsTokensStoredWithTheCode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.tokens("g", time.Hour)
	r.Code, r.CodeCreateAt, r.CodeExpiresIn = f.value(), f.clock.Now(), time.Minute
	f.create(r)
	if err := f.s.ExchangeCode(ctx, r.Code, f.tokens("g", time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetByAccess(ctx, r.Access); err != nil {
		t.Fatalf("the access token stored with the code is gone: %v", err)
	}
}

func TestMemoryDocuments_Conformance(t *testing.T) {
	storetest.TestDocumentStore(t, storetest.DocumentHarness{
		New: func(*testing.T) oauth2.DocumentStore { return store.NewMemoryDocuments() },
	})
}
