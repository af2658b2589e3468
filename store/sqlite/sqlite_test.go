package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
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

// TestStore_WALAndFullSync checks the pragmas that make a commit durable.
func TestStore_WALAndFullSync(t *testing.T) {
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
	if mode != "wal" || sync != 2 {
		t.Fatalf("journal_mode %q, synchronous %d, want wal and 2 (FULL)", mode, sync)
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
