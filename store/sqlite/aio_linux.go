package sqlite

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// aioFlusher flushes a file with Linux AIO: io_submit of IOCB_CMD_FDSYNC
// (Linux 4.18 and later) with IOCB_FLAG_RESFD, so that the kernel flushes
// the file in a worker of its own and then signals an eventfd, which the
// Go runtime's network poller waits on. No thread of the process blocks
// in the flush.
type aioFlusher struct {
	ctx uintptr // the AIO context (aio_context_t)
	ev  *os.File
	efd int
	cb  iocb
	cbp *iocb // io_submit takes an array of pointers
	e   ioEvent
}

// iocb is the kernel's struct iocb (linux/aio_abi.h). aio_key and
// aio_rw_flags swap places on a big-endian machine; both stay zero here.
type iocb struct {
	data      uint64
	key       uint32
	rwFlags   uint32
	opcode    uint16
	reqprio   int16
	fildes    uint32
	buf       uint64
	nbytes    uint64
	offset    int64
	reserved2 uint64
	flags     uint32
	resfd     uint32
}

// ioEvent is the kernel's struct io_event.
type ioEvent struct {
	data, obj uint64
	res, res2 int64
}

const (
	iocbCmdFdsync = 3 // IOCB_CMD_FDSYNC
	iocbFlagResfd = 1 // IOCB_FLAG_RESFD
)

// errAIOUnsupported: the kernel or the file system does not flush through
// AIO; the caller flushes with fdatasync.
var errAIOUnsupported = errors.New("AIO flush not supported")

// newAIOFlusher returns a flusher, or nil where the kernel refuses AIO (a
// kernel without it, a seccomp profile, the system's aio-max-nr reached).
func newAIOFlusher() *aioFlusher {
	a := &aioFlusher{}
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&a.ctx)), 0); e != 0 {
		return nil
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Syscall(unix.SYS_IO_DESTROY, a.ctx, 0, 0)
		return nil
	}
	// A non-blocking descriptor: os.NewFile puts it in the poller.
	a.efd, a.ev = efd, os.NewFile(uintptr(efd), "eventfd")
	a.cbp = &a.cb
	return a
}

// fdatasync flushes f's data and the metadata needed to read it back, as
// fdatasync(2) does. It returns errAIOUnsupported when the kernel refuses
// the request itself.
func (a *aioFlusher) fdatasync(f *os.File) error {
	a.cb = iocb{opcode: iocbCmdFdsync, fildes: uint32(f.Fd()), flags: iocbFlagResfd, resfd: uint32(a.efd)}
	_, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, a.ctx, 1, uintptr(unsafe.Pointer(&a.cbp)))
	switch e {
	case 0:
	case unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP:
		return errAIOUnsupported
	default:
		return fmt.Errorf("sqlite: flush the write-ahead log: io_submit: %w", e)
	}
	// The request is in the kernel: wait for it to complete whatever
	// happens, so that the next one never finds this one in flight.
	var b [8]byte
	for {
		if _, err := a.ev.Read(b[:]); err == nil {
			break
		} else if !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("sqlite: flush the write-ahead log: wait: %w", err)
		}
	}
	var zero unix.Timespec
	n, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, a.ctx, 1, 1, uintptr(unsafe.Pointer(&a.e)), uintptr(unsafe.Pointer(&zero)), 0)
	switch {
	case e != 0:
		return fmt.Errorf("sqlite: flush the write-ahead log: io_getevents: %w", e)
	case n != 1:
		return errors.New("sqlite: flush the write-ahead log: io_getevents found no completion")
	case a.e.res == -int64(unix.EINVAL) || a.e.res == -int64(unix.EOPNOTSUPP):
		return errAIOUnsupported
	case a.e.res < 0:
		return fmt.Errorf("sqlite: flush the write-ahead log: %w", unix.Errno(-a.e.res))
	}
	return nil
}

func (a *aioFlusher) close() {
	unix.Syscall(unix.SYS_IO_DESTROY, a.ctx, 0, 0)
	a.ev.Close()
}

// fdatasync flushes f with fdatasync(2).
func fdatasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// logReplaced reports whether the log file f was deleted (SQLite deletes
// the log when the last connection closes, and the next one creates
// another at path): one fstat, cheaper than a stat of the path, since a
// deleted file has no link left.
func logReplaced(f *os.File, _ string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false, err
	}
	return st.Nlink == 0, nil
}
