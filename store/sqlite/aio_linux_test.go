package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAIOFlusher_FlushesAFileAndReportsErrors checks the AIO flush on this
// kernel: a file is flushed, again and again, and a flush of a closed
// descriptor fails with the kernel's error instead of reporting success.
func TestAIOFlusher_FlushesAFileAndReportsErrors(t *testing.T) {
	a := newAIOFlusher()
	if a == nil {
		t.Skip("the kernel refuses AIO here (io_setup failed); the store flushes with fdatasync")
	}
	defer a.close()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := f.Write([]byte("data")); err != nil {
			t.Fatal(err)
		}
		if err := a.fdatasync(f); errors.Is(err, errAIOUnsupported) {
			t.Skip("this file system does not flush through AIO; the store flushes with fdatasync")
		} else if err != nil {
			t.Fatalf("flush %d: %v", i, err)
		}
	}
	closed, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if err := a.fdatasync(closed); !errors.Is(err, unix.EBADF) {
		t.Fatalf("flush of a closed file = %v, want EBADF", err)
	}
	f.Close()
}
