//go:build !linux

package sqlite

import (
	"errors"
	"os"
)

// aioFlusher is Linux's only; elsewhere the log is flushed with fsync.
type aioFlusher struct{}

var errAIOUnsupported = errors.New("AIO flush not supported")

func newAIOFlusher() *aioFlusher { return nil }

func (*aioFlusher) fdatasync(*os.File) error { return errAIOUnsupported }

func (*aioFlusher) close() {}

// fdatasync flushes f: fsync(2) (F_FULLFSYNC on macOS), as os.File.Sync.
func fdatasync(f *os.File) error { return f.Sync() }

// logReplaced reports whether the file at path is no longer f.
func logReplaced(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return !os.SameFile(fi, pi), nil
}
