package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/internal/sqlstore/sqltest"
	"github.com/oauth2d/oauth2/store/sqlite"
)

// BenchmarkSQLite compares the store's Create and GetByAccess with SQLite's
// raw INSERT and SELECT by primary key on the same table.
func BenchmarkSQLite(b *testing.B) {
	sqltest.Bench(b, func(tb testing.TB) *sqlstore.Store {
		return open(tb, filepath.Join(tb.TempDir(), "oauth2.db"), sqlite.WithSweepInterval(0)).Store
	}, true)
}

// BenchmarkSQLiteLookup measures GetByAccess in a table of 10,000 and of
// 1,000,000 records: an indexed lookup, whose time barely grows with the
// table. The table is bulk-loaded, with the records looked up spread
// through it.
func BenchmarkSQLiteLookup(b *testing.B) {
	for _, rows := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "oauth2.db"), sqlite.WithSweepInterval(0))
			keys := bulkLoad(b, s.Store, rows)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(1, 2))
			cpu := sqltest.CPUTime(b)
			n := 0
			for b.Loop() {
				if _, err := s.GetByAccess(ctx, keys[r.IntN(len(keys))]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			// The CPU time of the process per lookup: what a lookup costs,
			// whatever else the machine is running meanwhile.
			b.ReportMetric(float64(sqltest.CPUTime(b)-cpu)/float64(n), "cpu-ns/op")
		})
	}
}

// bulkLoad fills s's table with rows records, of which 1,000 evenly spread
// are real (their access tokens are returned) and the others have random
// hashes written by SQLite itself.
func bulkLoad(b *testing.B, s *sqlstore.Store, rows int) []string {
	b.Helper()
	const real = 1000
	ctx := context.Background()
	db := sqlstore.DBOf(s)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	insert := `INSERT INTO {tokens} (` + sqlstore.RecordColumns + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", strings.Count(sqlstore.RecordColumns, ",")+1), ", ") + `)`
	now := time.Now()
	filler := sqlstore.Rebind(s, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
	INSERT INTO {tokens} (`+sqlstore.RecordColumns+`)
	SELECT x'6772616e74', x'636c69656e74', x'75736572', x'', x'72656164', x'', x'',
		NULL, NULL, NULL, NULL,
		randomblob(32), ?, 3600000000000, ?,
		randomblob(32), ?, 7200000000000, ?,
		? FROM n`)
	created, expires := now.UnixNano(), now.Add(2*time.Hour).UnixNano()
	var keys []string
	for range real {
		r := sqltest.Tokens(now, "grant", time.Hour)
		if _, err := tx.ExecContext(ctx, sqlstore.Rebind(s, insert), sqlstore.RecordArgs(r)...); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, r.Access)
		if _, err := tx.ExecContext(ctx, filler, rows/real-1, created, expires, created, expires, expires); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// Steady state: the bulk load moved from the WAL into the database
	// file, as the automatic checkpoints do for ordinary writes.
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, sqlstore.Rebind(s, `SELECT COUNT(*) FROM {tokens}`)).Scan(&n); err != nil || n != rows {
		b.Fatalf("loaded %d rows, %v; want %d", n, err, rows)
	}
	return keys
}

// BenchmarkSQLiteGroupCommitShortOfCPU runs 32 writers at once on a
// database in memory-backed /dev/shm, where an fsync costs nothing: the
// commits are then bound by CPU, not by the disk, and with -cpu=1 the
// committer competes with the writers for the one core. It reports how
// many writes shared a commit; without the committer's yield to the
// writers ready to run, every commit held one.
func BenchmarkSQLiteGroupCommitShortOfCPU(b *testing.B) {
	dir, err := os.MkdirTemp("/dev/shm", "oauth2-sqlite-bench-")
	if err != nil {
		dir = b.TempDir() // no /dev/shm: the disk's fsync then counts too
	} else {
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	s := open(b, filepath.Join(dir, "oauth2.db"), sqlite.WithSweepInterval(0))
	ctx := context.Background()
	now := time.Now()
	before := s.Batches()
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Create(ctx, sqltest.Tokens(now, "grant", time.Hour)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if after := s.Batches(); after.Batches > before.Batches {
		b.ReportMetric(float64(after.Ops-before.Ops)/float64(after.Batches-before.Batches), "writes/commit")
	}
}
