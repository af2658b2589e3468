package oauth2d

import (
	"io"
	"sync"
	"time"
)

// flushWriter buffers the log and writes it out from a goroutine of its
// own: every interval, as soon as logBufferSize bytes wait, and at Close.
// A request's log line is only copied into memory, so that the access log
// costs one write system call per batch of lines instead of one per
// request, and a disk that is slow for a moment (page cache writeback, a
// busy device) does not hold up requests. Writers wait only while
// maxPending bytes are already waiting for the disk, so memory stays
// bounded. Lines are written in the order they were written.
type flushWriter struct {
	w          io.Writer
	maxPending int

	mu      sync.Mutex
	taken   *sync.Cond // broadcast when a batch leaves buf
	buf     []byte     // lines waiting
	spare   []byte     // the last batch's buffer, for reuse
	closed  bool
	writeMu sync.Mutex // one batch is written at a time, in order

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// logBufferSize is how much waiting log wakes the writer up before its
// interval.
const logBufferSize = 64 << 10

// maxPendingLog bounds the log waiting for the disk.
const maxPendingLog = 4 << 20

// logFlushInterval is how often the buffered log is written out.
const logFlushInterval = 100 * time.Millisecond

func newFlushWriter(w io.Writer, every time.Duration) *flushWriter {
	f := &flushWriter{w: w, maxPending: maxPendingLog,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	f.taken = sync.NewCond(&f.mu)
	go f.run(every)
	return f
}

func (f *flushWriter) run(every time.Duration) {
	defer close(f.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		case <-f.kick:
		}
		_ = f.Flush()
	}
}

// Write copies p to the buffer. It waits only while the buffer is over
// maxPending; after Close it writes through.
func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	for !f.closed && len(f.buf) > 0 && len(f.buf)+len(p) > f.maxPending {
		f.wake()
		f.taken.Wait()
	}
	if f.closed {
		f.mu.Unlock()
		f.writeMu.Lock()
		defer f.writeMu.Unlock()
		_ = f.flushLocked()
		return f.w.Write(p)
	}
	f.buf = append(f.buf, p...)
	if len(f.buf) >= logBufferSize {
		f.wake()
	}
	f.mu.Unlock()
	return len(p), nil
}

// wake asks the writer goroutine to write out now; f.mu is held.
func (f *flushWriter) wake() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Flush writes out what is waiting.
func (f *flushWriter) Flush() error {
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	return f.flushLocked()
}

// flushLocked writes out what is waiting; f.writeMu is held.
func (f *flushWriter) flushLocked() error {
	f.mu.Lock()
	batch := f.buf
	f.buf, f.spare = f.spare[:0], nil
	f.taken.Broadcast()
	f.mu.Unlock()
	if len(batch) == 0 {
		f.keep(batch)
		return nil
	}
	_, err := f.w.Write(batch)
	f.keep(batch)
	return err
}

// maxKeptLogBuffer is the largest batch buffer kept for reuse.
const maxKeptLogBuffer = 1 << 20

// keep keeps a written batch's buffer for reuse, unless it grew large.
func (f *flushWriter) keep(batch []byte) {
	if cap(batch) > maxKeptLogBuffer {
		return
	}
	f.mu.Lock()
	f.spare = batch[:0]
	f.mu.Unlock()
}

// Close stops the writer goroutine and writes out what is buffered; later
// writes go straight through.
func (f *flushWriter) Close() error {
	f.once.Do(func() {
		close(f.stop)
		<-f.done
		f.mu.Lock()
		f.closed = true
		f.taken.Broadcast()
		f.mu.Unlock()
	})
	return f.Flush()
}
