package store

import (
	"math/rand/v2"
	"testing"
	"time"
)

func newTestShard() *shard {
	sh := &shard{}
	sh.init(newHasher())
	return sh
}

// TestShard_AgreesWithAMap runs random puts and deletes on a shard and a Go
// map, with keys crowded into few distinct values so that probe runs are
// long and backward shifts frequent, and checks that both always agree.
func TestShard_AgreesWithAMap(t *testing.T) {
	tests := []struct {
		name string
		keys int
		ops  int
	}{
		{"few keys, heavy churn", 40, 20000},
		{"grows and shrinks", 5000, 60000},
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			sh := newTestShard()
			var m meta
			ref := map[tkey]entry{}
			for op := range tt.ops {
				n := rng.IntN(tt.keys)
				var k tkey
				k[0], k[1], k[31] = byte(n), byte(n>>8), 7
				// Grow for the first half, shrink in the second.
				if rng.IntN(tt.ops) > op {
					e := entry{created: base + int64(op), info: kindAccess, meta: sh.metas.intern(&m)}
					if op%3 == 0 {
						e.ttl = int64(time.Hour) * int64(1+op%5)
					}
					sh.put(&k, e)
					ref[k] = e
				} else if e, ok := sh.get(&k); ok {
					sh.del(&k, e)
					delete(ref, k)
				} else if _, want := ref[k]; want {
					t.Fatalf("op %d: get missed a stored key", op)
				}
				if sh.idx.n != len(ref) {
					t.Fatalf("op %d: index holds %d, map %d", op, sh.idx.n, len(ref))
				}
				if op%97 == 0 {
					for k, want := range ref {
						if got, ok := sh.get(&k); !ok || got != want {
							t.Fatalf("op %d: get = %v, %v; want %v", op, got, ok, want)
						}
					}
				}
			}
			if len(sh.idx.slots) > minIndexCap && sh.idx.n*8 < len(sh.idx.slots) {
				t.Fatalf("index of %d slots holds %d entries: it did not shrink", len(sh.idx.slots), sh.idx.n)
			}
			if live := len(ref); len(sh.recs.reuse) > 2*tt.keys+live {
				t.Fatalf("%d records waiting for reuse", len(sh.recs.reuse))
			}
		})
	}
}

// TestShard_SweepFreesExpiredBucketsOnly checks that the reclaim removes
// exactly the expired entries, by bucket, and frees their chunks.
func TestShard_SweepFreesExpiredBucketsOnly(t *testing.T) {
	sh := newTestShard()
	var m meta
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	ttls := []time.Duration{time.Second, time.Minute, time.Hour, 0, 30 * 24 * time.Hour}
	keys := map[tkey]entry{}
	for i := range 5000 {
		var k tkey
		k[0], k[1], k[2] = byte(i), byte(i>>8), 1
		e := entry{created: base + int64(i)*int64(time.Millisecond), ttl: int64(ttls[i%len(ttls)]), info: kindAccess, meta: sh.metas.intern(&m)}
		sh.put(&k, e)
		keys[k] = e
	}
	for _, at := range []time.Duration{time.Second, time.Hour, 2 * time.Hour, 31 * 24 * time.Hour, 100 * 365 * 24 * time.Hour} {
		now := base + int64(at)
		for sh.recs.due() <= now {
			sh.sweep(now, 7, nil)
		}
		for k, e := range keys {
			_, ok := sh.get(&k)
			// Gone once its bucket's span is over too.
			gone := e.ttl > 0 && e.expiresAt()+int64(1)<<spanShift(e.ttl) <= now
			if (e.live(now) && !ok) || (gone && ok) {
				t.Fatalf("at +%v: entry with ttl %v found %v", at, time.Duration(e.ttl), ok)
			}
		}
	}
	chunks := 0
	for _, c := range sh.recs.chunks {
		if c != nil {
			chunks++
		}
	}
	if want := len(sh.recs.never.chunks); chunks != want || len(sh.recs.buckets) != 0 {
		t.Fatalf("%d chunks and %d buckets left, want the %d of the never-expiring records and none", chunks, len(sh.recs.buckets), want)
	}
}
