//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on the open file f, so that a second
// process (or a second store in this one) cannot open the same file store;
// the kernel drops the lock when f is closed or the process dies. A file
// that was removed or replaced since is a new file, with a lock of its own.
func lockFile(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return errors.New("in use by another process or store")
		}
		return err
	}
	return nil
}
