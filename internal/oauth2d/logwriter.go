package oauth2d

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// flushWriter buffers the log and writes it out every interval, when the
// buffer is full, and at Close: the access log then costs one write system
// call per batch of lines instead of one per request.
type flushWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// logBufferSize is the size of the log buffer.
const logBufferSize = 64 << 10

// logFlushInterval is how often the buffered log is written out.
const logFlushInterval = 100 * time.Millisecond

func newFlushWriter(w io.Writer, every time.Duration) *flushWriter {
	f := &flushWriter{w: bufio.NewWriterSize(w, logBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
				_ = f.Flush()
			}
		}
	}()
	return f
}

// Write buffers p.
func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w.Write(p)
}

// Flush writes out what is buffered.
func (f *flushWriter) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w.Flush()
}

// Close stops the periodic flush and writes out what is buffered.
func (f *flushWriter) Close() error {
	f.once.Do(func() {
		close(f.stop)
		<-f.done
	})
	return f.Flush()
}
