package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
)

// KVHarness tells TestKVStore how to make key-value stores of one kind.
type KVHarness struct {
	// New returns a fresh, empty store that reads the time from now. It
	// registers its own cleanup with t.Cleanup.
	New func(t *testing.T, now func() time.Time) oauth2.KVStore
}

// TestKVStore checks the oauth2.KVStore contract.
func TestKVStore(t *testing.T, h KVHarness) {
	ctx := context.Background()
	fresh := func(t *testing.T) (oauth2.KVStore, *Clock) {
		clock := NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		return h.New(t, clock.Now), clock
	}

	t.Run("PutGetDelete", func(t *testing.T) {
		kv, _ := fresh(t)
		if err := kv.Put(ctx, "k", []byte("v1"), 0); err != nil {
			t.Fatal(err)
		}
		if err := kv.Put(ctx, "k", []byte("v2"), 0); err != nil {
			t.Fatal(err)
		}
		got, err := kv.Get(ctx, "k")
		if err != nil || string(got) != "v2" {
			t.Fatalf("Get = %q, %v; want v2", got, err)
		}
		if err := kv.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Get(ctx, "k"); !errors.Is(err, oauth2.ErrNotFound) {
			t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
		}
		if err := kv.Delete(ctx, "missing"); err != nil {
			t.Fatalf("Delete missing = %v", err)
		}
	})

	t.Run("ValueExpiresAfterTTL", func(t *testing.T) {
		kv, clock := fresh(t)
		if err := kv.Put(ctx, "short", []byte("x"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := kv.Put(ctx, "forever", []byte("y"), 0); err != nil {
			t.Fatal(err)
		}
		clock.Advance(59 * time.Second)
		if _, err := kv.Get(ctx, "short"); err != nil {
			t.Fatalf("Get before expiry = %v", err)
		}
		clock.Advance(2 * time.Second)
		if _, err := kv.Get(ctx, "short"); !errors.Is(err, oauth2.ErrNotFound) {
			t.Fatalf("Get after expiry = %v, want ErrNotFound", err)
		}
		clock.Advance(1000 * time.Hour)
		if _, err := kv.Get(ctx, "forever"); err != nil {
			t.Fatalf("Get of a value without ttl = %v", err)
		}
	})

	t.Run("PutIfAbsentOnlyOnceWhileLive", func(t *testing.T) {
		kv, clock := fresh(t)
		ok, err := kv.PutIfAbsent(ctx, "jti", []byte("1"), time.Minute)
		if err != nil || !ok {
			t.Fatalf("first PutIfAbsent = %v, %v", ok, err)
		}
		ok, err = kv.PutIfAbsent(ctx, "jti", []byte("2"), time.Minute)
		if err != nil || ok {
			t.Fatalf("second PutIfAbsent = %v, %v; want false", ok, err)
		}
		clock.Advance(2 * time.Minute)
		ok, err = kv.PutIfAbsent(ctx, "jti", []byte("3"), time.Minute)
		if err != nil || !ok {
			t.Fatalf("PutIfAbsent after expiry = %v, %v; want true", ok, err)
		}
	})

	t.Run("ConcurrentPutIfAbsentHasOneWinner", func(t *testing.T) {
		kv, _ := fresh(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := kv.PutIfAbsent(ctx, "race", []byte("x"), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("winners = %d, want 1", wins.Load())
		}
	})

	t.Run("ConcurrentTakeHasOneWinner", func(t *testing.T) {
		kv, _ := fresh(t)
		if err := kv.Put(ctx, "device", []byte("approved"), time.Minute); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := kv.Take(ctx, "device")
				switch {
				case err == nil && string(v) == "approved":
					wins.Add(1)
				case errors.Is(err, oauth2.ErrNotFound):
				default:
					t.Errorf("Take = %q, %v", v, err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("winners = %d, want 1", wins.Load())
		}
	})

	t.Run("IncrCountsInAFixedWindow", func(t *testing.T) {
		kv, clock := fresh(t)
		for want := int64(1); want <= 3; want++ {
			n, err := kv.Incr(ctx, "fail:alice", time.Minute)
			if err != nil || n != want {
				t.Fatalf("Incr = %d, %v; want %d", n, err, want)
			}
			clock.Advance(10 * time.Second)
		}
		clock.Advance(31 * time.Second) // the window began 61s ago
		n, err := kv.Incr(ctx, "fail:alice", time.Minute)
		if err != nil || n != 1 {
			t.Fatalf("Incr after window = %d, %v; want 1", n, err)
		}
	})

	t.Run("ConcurrentIncrLosesNoCount", func(t *testing.T) {
		kv, _ := fresh(t)
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := kv.Incr(ctx, "n", time.Hour); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		n, err := kv.Incr(ctx, "n", time.Hour)
		if err != nil || n != 51 {
			t.Fatalf("count = %d, %v; want 51", n, err)
		}
	})

	t.Run("KeysAreIndependent", func(t *testing.T) {
		kv, _ := fresh(t)
		for i := 0; i < 20; i++ {
			if err := kv.Put(ctx, fmt.Sprintf("key:%d", i), []byte(fmt.Sprint(i)), time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 20; i++ {
			v, err := kv.Get(ctx, fmt.Sprintf("key:%d", i))
			if err != nil || string(v) != fmt.Sprint(i) {
				t.Fatalf("key:%d = %q, %v", i, v, err)
			}
		}
	})
}
