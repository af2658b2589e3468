package redis_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/models"
)

// BenchmarkRedis compares the store with the bare Redis commands it stands
// on, through the same client: Create against a SET with expiry of a value
// of the same size, GetByAccess against a GET. Run with
//
//	OAUTH2_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run='^$' -bench=. -benchmem -benchtime=300ms ./store/redis/
func BenchmarkRedis(b *testing.B) {
	f := newFixture(b, time.Now)
	s, c, ctx := f.store, f.client, context.Background()
	now := time.Now()
	sample := tokenRecord("grant-bench", now)
	value := make([]byte, recordSize(b, f, sample))
	for i := range value {
		value[i] = 'x'
	}

	// Tokens for the lookups, stored once.
	const stored = 1024
	records := make([]*models.Token, stored)
	for i := range records {
		records[i] = tokenRecord("grant-bench-"+strconv.Itoa(i%64), now)
		if err := s.Create(ctx, records[i]); err != nil {
			b.Fatal(err)
		}
		if err := c.Set(ctx, f.prefix+"raw:"+strconv.Itoa(i), value, time.Hour).Err(); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Int64
	next := func() int64 { return seq.Add(1) }
	newRecord := func() *models.Token {
		r := tokenRecord("grant-bench-"+strconv.FormatInt(next()%64, 10), now)
		r.Refresh, r.RefreshExpiresIn = "", 0
		return r
	}

	ops := []struct {
		name string
		op   func() error
	}{
		{"Create", func() error { return s.Create(ctx, newRecord()) }},
		// A client_credentials token: one key, no grant (Create's SET NX).
		{"CreateClientToken", func() error { return s.Create(ctx, clientToken(now)) }},
		{"RawSet", func() error {
			return c.Set(ctx, f.prefix+"rawset:"+strconv.FormatInt(next(), 10), value, time.Hour).Err()
		}},
		{"GetByAccess", func() error {
			_, err := s.GetByAccess(ctx, records[next()%stored].Access)
			return err
		}},
		{"RawGet", func() error {
			return c.Get(ctx, f.prefix+"raw:"+strconv.FormatInt(next()%stored, 10)).Err()
		}},
	}
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := o.op(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, o := range ops {
		b.Run(o.name+"Parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16) // 32 callers on 2 cores, as under load
			before := s.Pipelines()
			defer func() {
				if after := s.Pipelines(); after.Pipelines > before.Pipelines {
					b.ReportMetric(float64(after.Commands-before.Commands)/float64(after.Pipelines-before.Pipelines), "cmds/roundtrip")
				}
			}()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := o.op(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// recordSize returns the size of the value the store writes for r, so
// that the raw SET and GET move as many bytes.
func recordSize(b *testing.B, f *fixture, r *models.Token) int {
	b.Helper()
	if err := f.store.Create(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	v, err := f.client.Get(context.Background(), keyOf(f.prefix, "access", r.Access)).Bytes()
	if err != nil {
		b.Fatal(err)
	}
	return len(v)
}
