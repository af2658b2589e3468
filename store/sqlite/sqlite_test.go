package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/internal/sqlstore/sqltest"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store/sqlite"
	"github.com/oauth2d/oauth2/store/storetest"
)

// open opens a store on path, closed when the test ends.
func open(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// paths remembers the file of each store the tests opened, for Reopen.
var paths = map[any]string{}

func TestStore_Conformance(t *testing.T) {
	storetest.TestTokenStore(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) oauth2.TokenStore {
			path := filepath.Join(t.TempDir(), "oauth2.db")
			s := open(t, path, sqlite.WithClock(now))
			paths[s] = path
			return s
		},
		Reopen: func(t *testing.T, s oauth2.TokenStore, now func() time.Time) oauth2.TokenStore {
			return open(t, paths[s], sqlite.WithClock(now))
		},
	})
}

func TestKVStore_Conformance(t *testing.T) {
	storetest.TestKVStore(t, storetest.KVHarness{
		New: func(t *testing.T, now func() time.Time) oauth2.KVStore {
			return open(t, filepath.Join(t.TempDir(), "oauth2.db"), sqlite.WithClock(now))
		},
	})
}

func TestClientStore_Conformance(t *testing.T) {
	storetest.TestClientStore(t, storetest.ClientHarness{
		New: func(t *testing.T) (oauth2.ClientStore, func(context.Context, *models.Client) error) {
			s := open(t, filepath.Join(t.TempDir(), "oauth2.db"))
			return s, s.SaveClient
		},
	})
}

func TestStore_SQL(t *testing.T) {
	sqltest.Run(t, sqltest.Engine{
		Open: func(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
			path := filepath.Join(t.TempDir(), "oauth2.db")
			s := open(t, path, opts...).Store
			paths[s] = path
			return s
		},
		Reopen: func(t testing.TB, s *sqlstore.Store, opts ...sqlstore.Option) (*sqlstore.Store, error) {
			o, err := sqlite.Open(context.Background(), paths[s], opts...)
			if err != nil {
				return nil, err
			}
			t.Cleanup(func() { o.Close() })
			return o.Store, nil
		},
	})
}

// TestOpen_BadFileStopsOpen checks that a file that is not a usable
// SQLite database stops Open with an error naming it, and is left as it
// was: the store never starts over empty.
func TestOpen_BadFileStopsOpen(t *testing.T) {
	garbage := bytes.Repeat([]byte("this is not a database, it holds someone's data\n"), 200)
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, garbage, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"database with a corrupt schema page", func(t *testing.T, path string) {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Create(t.Context(), sqltest.Tokens(time.Now(), "g", time.Hour)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// Keep the 100-byte header, overwrite the rest of page 1,
			// which holds the schema.
			if _, err := f.WriteAt(garbage[:4000], 100); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"missing parent directory", func(t *testing.T, path string) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "oauth2.db")
			if tt.name == "missing parent directory" {
				path = filepath.Join(dir, "missing", "oauth2.db")
			}
			tt.setup(t, path)
			before, _ := os.ReadFile(path)
			s, err := sqlite.Open(t.Context(), path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file %s", err, path)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("Open changed the file")
			}
		})
	}
	for _, path := range []string{"", "db?mode=ro", "file:x.db", ":memory:"} {
		if _, err := sqlite.Open(t.Context(), path); !errors.Is(err, sqlite.ErrBadPath) {
			t.Fatalf("Open(%q) = %v, want ErrBadPath", path, err)
		}
	}
}

// TestStore_WALAndNormalSync checks the pragmas of the writer: the log,
// commits that write it without flushing it (the store flushes it before
// answering: walsync.go), and the log's checkpoint size.
func TestStore_WALAndNormalSync(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "oauth2.db"))
	db := sqlstore.DBOf(s.Store)
	var mode string
	var sync int
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 1 {
		t.Fatalf("journal_mode %q, synchronous %d, want wal and 1 (NORMAL)", mode, sync)
	}
	var pages int
	if err := db.QueryRow("PRAGMA wal_autocheckpoint").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages != 16000 {
		t.Fatalf("wal_autocheckpoint %d, want 16000 (a checkpoint for many batches)", pages)
	}
}

// TestOpen_NewFileIsPrivate checks that the database and its WAL files
// are readable by their owner only.
func TestOpen_NewFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "oauth2.db")
	s := open(t, path)
	if err := s.Create(t.Context(), sqltest.Tokens(time.Now(), "g", time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Fatalf("%s has permissions %v, want none for group and others", filepath.Base(p), perm)
		}
	}
}

// TestMigration5_PartialIndexesKeepRecordsAndUniqueness upgrades a
// database of version 4, whose hash columns are UNIQUE, and checks that
// its records survive with their row IDs, that a live hash still cannot be
// stored twice, that the lookups and RevokeGrant use the partial indexes,
// and that no index holds an entry for a NULL hash or for no grant.
func TestMigration5_PartialIndexesKeepRecordsAndUniqueness(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "oauth2.db")
	tb := sqlstore.TablesOf(open(t, path).Store) // the file, migrated, then taken back to 4
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	run := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := raw.ExecContext(ctx, tb.Expand(q)); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	// Version 4's table: migration 1's shape with migration 3's column.
	run(`DROP TABLE {tokens}`, `CREATE TABLE {tokens} (
	id INTEGER PRIMARY KEY, grant_id BLOB NOT NULL, client_id BLOB NOT NULL, user_id BLOB NOT NULL,
	redirect_uri BLOB NOT NULL, scope BLOB NOT NULL, code_challenge BLOB NOT NULL, code_challenge_method BLOB NOT NULL,
	code_hash BLOB UNIQUE, code_created INTEGER, code_ttl INTEGER, code_expires INTEGER,
	access_hash BLOB UNIQUE, access_created INTEGER, access_ttl INTEGER, access_expires INTEGER,
	refresh_hash BLOB UNIQUE, refresh_created INTEGER, refresh_ttl INTEGER, refresh_expires INTEGER,
	expires_at INTEGER NOT NULL, extension BLOB)`,
		`CREATE INDEX {prefix}tokens_grant ON {tokens} (grant_id)`,
		`CREATE INDEX {prefix}tokens_expires ON {tokens} (expires_at)`,
		`DELETE FROM {migrations} WHERE version = 5`)
	now := time.Now()
	granted := sqltest.Tokens(now, "g1", time.Hour)
	code := sqltest.Code(now, "g2", time.Hour)
	alone := &models.Token{ClientID: "c", Scope: "read", Access: sqltest.Key(), AccessCreateAt: now, AccessExpiresIn: time.Hour}
	marks := strings.TrimSuffix(strings.Repeat("?, ", strings.Count(sqlstore.RecordColumns, ",")+1), ", ")
	ids := map[string]int64{}
	for i, r := range []*models.Token{granted, code, alone} {
		id := int64(100 + i)
		if _, err := raw.ExecContext(ctx, tb.Expand(`INSERT INTO {tokens} (id, `+sqlstore.RecordColumns+`) VALUES (?, `+marks+`)`),
			append([]any{id}, sqlstore.RecordArgs(r)...)...); err != nil {
			t.Fatal(err)
		}
		ids[r.Access+r.Code] = id
	}

	s := open(t, path)
	if vs := sqltest.Recorded(t, raw, tb); !slices.Equal(vs, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("versions after upgrading = %v, want 1 to 5", vs)
	}
	for _, r := range []*models.Token{granted, code, alone} {
		var id int64
		if err := raw.QueryRowContext(ctx, tb.Expand(`SELECT id FROM {tokens} WHERE client_id = ? AND expires_at = ?`),
			[]byte(r.ClientID), sqlstore.RecordArgs(r)[19]).Scan(&id); err != nil || id != ids[r.Access+r.Code] {
			t.Fatalf("row of %s after upgrading: id %d, %v; want %d", r.ClientID, id, err, ids[r.Access+r.Code])
		}
	}
	if _, err := s.GetByRefresh(ctx, granted.Refresh); err != nil {
		t.Fatalf("GetByRefresh after upgrading: %v", err)
	}
	if _, err := s.GetByCode(ctx, code.Code); err != nil {
		t.Fatalf("GetByCode after upgrading: %v", err)
	}
	if got, err := s.GetByAccess(ctx, alone.Access); err != nil || got.GetClientID() != "c" {
		t.Fatalf("GetByAccess after upgrading = %v, %v", got, err)
	}
	for _, dup := range []*models.Token{
		{ClientID: "other", Access: granted.Access, AccessCreateAt: now, AccessExpiresIn: time.Hour},
		{ClientID: "other", Refresh: granted.Refresh, RefreshCreateAt: now, RefreshExpiresIn: time.Hour},
		{ClientID: "other", Code: code.Code, CodeCreateAt: now, CodeExpiresIn: time.Hour},
	} {
		if err := s.Create(ctx, dup); err == nil {
			t.Fatalf("Create of a stored hash succeeded after upgrading: %+v", dup)
		}
	}

	plans := map[string]string{
		`SELECT id FROM {tokens} WHERE code_hash = ? AND code_expires > ?`:       "tokens_code",
		`SELECT id FROM {tokens} WHERE access_hash = ? AND access_expires > ?`:   "tokens_access",
		`SELECT id FROM {tokens} WHERE refresh_hash = ? AND refresh_expires > ?`: "tokens_refresh",
		`DELETE FROM {tokens} WHERE grant_id = ?` + sqlite.Dialect.RevokeWhere:   "tokens_grant",
	}
	for q, index := range plans {
		if plan := queryPlan(t, raw, tb.Expand(q)); !strings.Contains(plan, tb.Prefix+index) {
			t.Errorf("plan of %s = %q, want the index %s", q, plan, index)
		}
	}
	entries := func(index string) (n int) {
		t.Helper()
		if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM `+tb.Tokens+` INDEXED BY `+tb.Prefix+index+
			` WHERE `+map[string]string{"tokens_code": "code_hash IS NOT NULL", "tokens_refresh": "refresh_hash IS NOT NULL",
			"tokens_grant": "grant_id <> x''"}[index]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := entries("tokens_code"); n != 1 {
		t.Errorf("tokens_code holds %d entries, want 1 (one code among three records)", n)
	}
	if n := entries("tokens_refresh"); n != 1 {
		t.Errorf("tokens_refresh holds %d entries, want 1", n)
	}
	if n := entries("tokens_grant"); n != 2 {
		t.Errorf("tokens_grant holds %d entries, want 2 (the record of no grant left out)", n)
	}

	if err := s.RevokeGrant(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetByAccess(ctx, granted.Access); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("GetByAccess after RevokeGrant = %v, want ErrNotFound", err)
	}
	if _, err := s.GetByAccess(ctx, alone.Access); err != nil {
		t.Fatalf("RevokeGrant took a record of no grant: %v", err)
	}
}

// queryPlan returns SQLite's plan for q, its details joined.
func queryPlan(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	args := make([]any, strings.Count(q, "?"))
	for i := range args {
		args[i] = []byte("x")
	}
	rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// TestStore_WriteQueuedBehindAStuckBatchFailsUnwritten holds SQLite's
// write lock from another connection, so that the committer's batch waits
// for it until the store's timeout: a write queued behind that batch,
// whose caller has no deadline of its own, has then waited about the
// timeout and is answered ErrUnavailable as the batch ends, without a
// batch of its own (which would wait for the lock a second timeout), and
// is not written once the lock is released.
func TestStore_WriteQueuedBehindAStuckBatchFailsUnwritten(t *testing.T) {
	const timeout = time.Second
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "oauth2.db")
	s := open(t, path, sqlite.WithTimeout(timeout), sqlite.WithSweepInterval(0))
	holder, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	lock, err := holder.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()

	before := s.Batches()
	first := sqltest.Tokens(time.Now(), "grant", time.Hour)
	firstErr := make(chan error, 1)
	go func() { firstErr <- s.Create(ctx, first) }()
	// The first write is in a batch, waiting for the lock.
	for deadline := time.Now().Add(5 * time.Second); s.Batches().Ops == before.Ops || sqlstore.Queued(s.Store) > 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first write never reached a batch")
		}
		time.Sleep(time.Millisecond)
	}
	second := sqltest.Tokens(time.Now(), "grant", time.Hour)
	began := time.Now()
	err = s.Create(ctx, second)
	took := time.Since(began)
	t.Logf("second write: %v after %v", err, took)
	if !errors.Is(err, oauth2.ErrUnavailable) {
		t.Fatalf("write queued behind a stuck batch = %v, want ErrUnavailable", err)
	}
	if took > timeout*3/2 {
		t.Fatalf("write queued behind a stuck batch answered after %v, want about %v: it ran in a batch of its own", took, timeout)
	}
	if err := <-firstErr; !errors.Is(err, oauth2.ErrUnavailable) {
		t.Fatalf("write of the stuck batch = %v, want ErrUnavailable", err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*models.Token{first, second} {
		if _, err := s.GetByRefresh(ctx, r.Refresh); !errors.Is(err, oauth2.ErrNotFound) {
			t.Fatalf("a write answered ErrUnavailable is stored: %v", err)
		}
	}
	// The store works again once the lock is gone.
	if err := s.Create(ctx, sqltest.Tokens(time.Now(), "grant", time.Hour)); err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
}
