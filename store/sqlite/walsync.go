package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// walSync makes the commits in a database's write-ahead log durable by
// flushing the log file. The store runs SQLite at synchronous=NORMAL,
// where a commit writes its pages to the log without flushing them, and
// flushes the log itself before it answers a write (sqlstore's syncer).
// At synchronous=FULL, SQLite flushes inside COMMIT, holding the writer
// connection, so the next batch waits for the disk; and the flush is a
// blocking system call, during which the Go runtime gives the thread's
// scheduler slot (its P: with GOMAXPROCS=1, the whole process) to other
// goroutines only when its monitor notices, which under load took a few
// hundred microseconds of a flush's three to four hundred. Here the next
// batch commits while the flush of the ones before it is on its way, and
// on Linux the flush runs in the kernel (AIO) while the process waits on
// a file descriptor, as it waits on the network.
//
// A flush covers every write made to the file before it started, so one
// flush that starts after a commit returned makes that commit durable.
// SQLite flushes the log itself before each checkpoint, flushes the
// database file after it, and flushes the log's header when it starts
// reusing the log (synchronous=NORMAL's guarantees), so a crash of the
// machine loses only commits no flush covered, none of which was answered.
//
// It is used by one goroutine at a time (the syncer's).
type walSync struct {
	path string   // the log: the database's path and "-wal"
	f    *os.File // the log, opened read-only for flushing
	aio  *aioFlusher
}

// newWALSync returns the flush of the log of the database at dbPath, with
// AIO where the kernel takes it.
func newWALSync(dbPath string) *walSync {
	return &walSync{path: dbPath + "-wal", aio: newAIOFlusher()}
}

// sync flushes the log: every commit written before it started is on the
// disk when it returns nil. A lone write (alone) is flushed with a
// blocking fdatasync, which returns sooner than AIO's worker and eventfd
// (about 150 µs against 190 here) when nothing else waits for the thread.
func (w *walSync) sync(alone bool) error {
	if err := w.open(); err != nil {
		return err
	}
	if w.aio != nil && !alone {
		err := w.aio.fdatasync(w.f)
		if !errors.Is(err, errAIOUnsupported) {
			return err
		}
		w.aio.close() // the file system does not flush through AIO
		w.aio = nil
	}
	if err := fdatasync(w.f); err != nil {
		return fmt.Errorf("sqlite: flush the write-ahead log: %w", err)
	}
	return nil
}

// open opens the log, again when SQLite made a new one: it deletes the log
// when the last connection to the database closes (after copying it into
// the database file and flushing that), and the next connection creates
// another. The store keeps its connections open, so this is a safeguard.
func (w *walSync) open() error {
	if w.f != nil {
		replaced, err := logReplaced(w.f, w.path)
		if err != nil {
			return fmt.Errorf("sqlite: stat the write-ahead log: %w", err)
		}
		if !replaced {
			return nil
		}
		w.f.Close()
		w.f = nil
	}
	f, err := os.Open(w.path)
	if err != nil {
		return fmt.Errorf("sqlite: open the write-ahead log: %w", err)
	}
	// The log's directory entry too: SQLite flushes it with the log's
	// first flush, which synchronous=NORMAL defers to the first checkpoint.
	if err := syncDir(filepath.Dir(w.path)); err != nil {
		f.Close()
		return err
	}
	w.f = f
	return nil
}

func (w *walSync) close() {
	if w.aio != nil {
		w.aio.close()
		w.aio = nil
	}
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sqlite: open the database's directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sqlite: flush the database's directory: %w", err)
	}
	return nil
}
