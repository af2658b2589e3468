package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore/sqltest"
	"github.com/oauth2d/oauth2/models"
)

// gate wraps the store's flush of the log: each flush reports its start
// and waits for its release; fail makes the flush fail after it ran.
type gate struct {
	started chan struct{}
	release chan struct{}
	fail    atomic.Bool
	flushes atomic.Int32
}

func (g *gate) wrap(sync func(bool) error) func(bool) error {
	return func(alone bool) error {
		g.started <- struct{}{}
		<-g.release
		err := sync(alone) // the real flush, on the real log
		g.flushes.Add(1)
		if err == nil && g.fail.Load() {
			err = errors.New("EIO")
		}
		return err
	}
}

func openGated(t *testing.T) (*Store, *gate) {
	t.Helper()
	g := &gate{started: make(chan struct{}, 16), release: make(chan struct{}, 16)}
	s, err := open(t.Context(), filepath.Join(t.TempDir(), "oauth2.db"), g.wrap, WithSweepInterval(0))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		for range 16 {
			g.release <- struct{}{}
		}
		s.Close()
	})
	return s, g
}

func clientToken() *models.Token {
	return &models.Token{ClientID: "c", Scope: "read", Access: sqltest.Key(), AccessCreateAt: time.Now(), AccessExpiresIn: time.Hour}
}

// TestStore_WriteIsAnsweredOnlyAfterTheLogIsFlushed checks that every
// kind of write (an issuance through the group commit, a client and a
// document written directly) returns only after a flush of the log that
// started after its commit, and that the write was committed before the
// flush (a reader sees it).
func TestStore_WriteIsAnsweredOnlyAfterTheLogIsFlushed(t *testing.T) {
	tests := []struct {
		name  string
		write func(context.Context, *Store) error
		seen  func(context.Context, *Store) error
	}{
		{"issuance", func(ctx context.Context, s *Store) error {
			tok := clientToken()
			if err := s.Create(ctx, tok); err != nil {
				return err
			}
			_, err := s.GetByAccess(ctx, tok.Access)
			return err
		}, nil},
		{"client", func(ctx context.Context, s *Store) error {
			return s.SaveClient(ctx, &models.Client{ID: "app", Secret: "s3cret-s3cret", RedirectURIs: []string{"https://app.example/cb"}})
		}, func(ctx context.Context, s *Store) error {
			_, err := s.GetByID(ctx, "app")
			return err
		}},
		{"document", func(ctx context.Context, s *Store) error {
			return s.CreateDocument(ctx, "user", "alice", []byte(`{}`))
		}, func(ctx context.Context, s *Store) error {
			_, err := s.GetDocument(ctx, "user", "alice")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, g := openGated(t)
			ctx := t.Context()
			done := make(chan error, 1)
			go func() { done <- tt.write(ctx, s) }()
			select {
			case <-g.started: // the write committed; its flush is on its way
			case err := <-done:
				t.Fatalf("the write returned (%v) without a flush of the log", err)
			}
			if tt.seen != nil {
				if err := tt.seen(ctx, s); err != nil {
					t.Fatalf("the write is not committed when its flush starts: %v", err)
				}
			}
			select {
			case err := <-done:
				t.Fatalf("the write returned (%v) before the log was flushed", err)
			default:
			}
			g.release <- struct{}{}
			if err := <-done; err != nil {
				t.Fatalf("write: %v", err)
			}
			if g.flushes.Load() == 0 {
				t.Fatal("no flush ran")
			}
		})
	}
}

// TestStore_FailedFlushFailsTheWriteAndTheStoreStopsWriting checks that a
// write whose flush failed is not answered as stored, and that the store
// then refuses writes (the kernel may have dropped the pages it could not
// write) without flushing again.
func TestStore_FailedFlushFailsTheWriteAndTheStoreStopsWriting(t *testing.T) {
	s, g := openGated(t)
	g.fail.Store(true)
	g.release <- struct{}{}
	ctx := t.Context()
	if err := s.Create(ctx, clientToken()); !errors.Is(err, oauth2.ErrUnavailable) {
		t.Fatalf("Create whose flush failed = %v, want ErrUnavailable", err)
	}
	if err := s.Create(ctx, clientToken()); !errors.Is(err, oauth2.ErrUnavailable) {
		t.Fatalf("Create after a failed flush = %v, want ErrUnavailable", err)
	}
	if err := s.SaveClient(ctx, &models.Client{ID: "app", Secret: "s3cret-s3cret"}); !errors.Is(err, oauth2.ErrUnavailable) {
		t.Fatalf("SaveClient after a failed flush = %v, want ErrUnavailable", err)
	}
	if n := g.flushes.Load(); n != 1 {
		t.Fatalf("%d flushes, want 1", n)
	}
}

// TestWALSync_FlushesAndFollowsANewLog checks the flush on a real file,
// and that it flushes the file at the log's path when SQLite replaced the
// log (a new file after the last connection closed), not the old one.
func TestWALSync_FlushesAndFollowsANewLog(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	if err := os.WriteFile(db+"-wal", []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWALSync(db)
	defer w.close()
	if err := w.sync(false); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if err := w.sync(true); err != nil {
		t.Fatalf("blocking sync: %v", err)
	}
	first := w.f
	if err := os.Remove(db + "-wal"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db+"-wal", []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(false); err != nil {
		t.Fatalf("sync of a new log: %v", err)
	}
	if w.f == first {
		t.Fatal("the flush kept the replaced log")
	}
	fi, err := w.f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if pi := stat(t, db+"-wal"); !os.SameFile(fi, pi) {
		t.Fatal("the flushed file is not the log at the path")
	}
	if err := os.Remove(db + "-wal"); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(false); err == nil {
		t.Fatal("sync without a log succeeded")
	}
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
