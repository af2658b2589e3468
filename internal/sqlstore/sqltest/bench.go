package sqltest

import (
	"context"
	"database/sql"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/internal/sqlstore"
)

// Records is how many records the lookup benchmarks choose from.
const Records = 1000

// Bench runs, as sub-benchmarks of b, the store's hot paths beside the
// engine's raw statements on the same table, through the same pool:
//
//   - Create: Create of a record with an access and a refresh token;
//   - CreateParallel: the same by 32 writers at once, reporting how many
//     writes shared a commit;
//   - RawInsert: the INSERT of such a row, prepared, without the store;
//   - GetByAccess: GetByAccess of one of Records records;
//   - RawSelect: the SELECT of the same columns by primary key.
//
// open returns a fresh store. prepare makes the raw statements prepared
// through database/sql, as the store's are (false for pgx, which caches
// statements per connection by itself).
//
// Both sides run under a cancellable context, as a request handler's is.
// With context.Background the raw statements skip the drivers' context
// watching (a goroutine hand-off per query in database/sql, pgx and
// go-sql-driver/mysql) that the store's per-operation deadline always
// pays; a server never calls them that way.
func Bench(b *testing.B, open func(testing.TB) *sqlstore.Store, prepare bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("Create", func(b *testing.B) {
		s := open(b)
		now := time.Now()
		for b.Loop() {
			if err := s.Create(ctx, Tokens(now, "grant", time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateParallel", func(b *testing.B) {
		// 32 writers at once, as under load: group commit shares each
		// commit among the writers waiting for it.
		s := open(b)
		now := time.Now()
		before := s.Batches()
		cpu := CPUTime(b)
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Create(ctx, Tokens(now, "grant", time.Hour)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		// The CPU time of the process per write, the engine's own
		// included where it runs in the process (SQLite): what bounds
		// the writes a core can serve, whatever else the machine runs.
		b.ReportMetric(float64(CPUTime(b)-cpu)/float64(b.N), "cpu-ns/op")
		after := s.Batches()
		if n := after.Batches - before.Batches; n > 0 {
			b.ReportMetric(float64(after.Ops-before.Ops)/float64(n), "writes/commit")
		}
	})
	b.Run("RawInsert", func(b *testing.B) {
		s := open(b)
		insert := raw(b, s, prepare, `INSERT INTO {tokens} (`+sqlstore.RecordColumns+`) VALUES (`+
			strings.TrimSuffix(strings.Repeat("?, ", strings.Count(sqlstore.RecordColumns, ",")+1), ", ")+`)`)
		now := time.Now()
		for b.Loop() {
			if _, err := insert.exec(ctx, sqlstore.RecordArgs(Tokens(now, "grant", time.Hour))...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetByAccess", func(b *testing.B) {
		s := open(b)
		keys, _ := Load(b, s, Records)
		i := 0
		for b.Loop() {
			if _, err := s.GetByAccess(ctx, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("RawSelect", func(b *testing.B) {
		s := open(b)
		_, ids := Load(b, s, Records)
		sel := raw(b, s, prepare, `SELECT `+sqlstore.ReadColumns+` FROM {tokens} WHERE id = ?`)
		var text [7]string
		var ints [6]sql.NullInt64
		var ext []byte
		dest := []any{&text[0], &text[1], &text[2], &text[3], &text[4], &text[5], &text[6],
			&ints[0], &ints[1], &ints[2], &ints[3], &ints[4], &ints[5], &ext}
		i := 0
		for b.Loop() {
			if err := sel.row(ctx, ids[i%len(ids)]).Scan(dest...); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// Load writes n records of access and refresh tokens into s's table in one
// transaction and returns their access tokens and row IDs.
func Load(tb testing.TB, s *sqlstore.Store, n int) (keys []string, ids []int64) {
	tb.Helper()
	ctx := context.Background()
	db := sqlstore.DBOf(s)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	insert := sqlstore.Rebind(s, `INSERT INTO {tokens} (`+sqlstore.RecordColumns+`) VALUES (`+
		strings.TrimSuffix(strings.Repeat("?, ", strings.Count(sqlstore.RecordColumns, ",")+1), ", ")+`)`)
	now := time.Now()
	for range n {
		r := Tokens(now, "grant-"+Key()[:8], time.Hour)
		if _, err := tx.ExecContext(ctx, insert, sqlstore.RecordArgs(r)...); err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, r.Access)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, sqlstore.Rebind(s, `SELECT id FROM {tokens}`))
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, id)
	}
	return keys, ids
}

// rawStmt is a statement run directly on the store's pool.
type rawStmt struct {
	db   *sql.DB
	text string
	ps   *sql.Stmt
}

func raw(tb testing.TB, s *sqlstore.Store, prepare bool, q string) *rawStmt {
	tb.Helper()
	r := &rawStmt{db: sqlstore.DBOf(s), text: sqlstore.Rebind(s, q)}
	if prepare {
		var err error
		if r.ps, err = r.db.Prepare(r.text); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { r.ps.Close() })
	}
	return r
}

func (r *rawStmt) exec(ctx context.Context, args ...any) (sql.Result, error) {
	if r.ps != nil {
		return r.ps.ExecContext(ctx, args...)
	}
	return r.db.ExecContext(ctx, r.text, args...)
}

func (r *rawStmt) row(ctx context.Context, args ...any) *sql.Row {
	if r.ps != nil {
		return r.ps.QueryRowContext(ctx, args...)
	}
	return r.db.QueryRowContext(ctx, r.text, args...)
}

// CPUTime returns the user and system CPU time the process has used.
func CPUTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
