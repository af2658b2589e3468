package oauth2d

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// gateWriter is a sink whose writes wait until it is opened.
type gateWriter struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gateWriter) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

func TestFlushWriter_SlowDiskDoesNotHoldUpWritersAndKeepsOrder(t *testing.T) {
	sink := &gateWriter{open: make(chan struct{})}
	f := newFlushWriter(sink, time.Millisecond)
	line := strings.Repeat("x", 100)
	// The sink is stuck: lines well past one batch are still taken at once.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			fmt.Fprintf(f, "%05d %s\n", i, line)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("writers waited for the disk below the pending limit")
	}
	close(sink.open)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(sink.String(), "\n"), "\n")
	if len(lines) != 2000 {
		t.Fatalf("%d lines written, want 2000", len(lines))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, fmt.Sprintf("%05d ", i)) {
			t.Fatalf("line %d is %.5q: out of order", i, l)
		}
	}
	// After Close, writes go straight through.
	fmt.Fprintln(f, "after close")
	if !strings.HasSuffix(sink.String(), "after close\n") {
		t.Fatal("a write after Close was not written")
	}
}

func TestFlushWriter_WaitsOverThePendingLimit(t *testing.T) {
	sink := &gateWriter{open: make(chan struct{})}
	f := newFlushWriter(sink, time.Hour)
	f.mu.Lock()
	f.maxPending = 1000
	f.mu.Unlock()
	fmt.Fprint(f, strings.Repeat("a", 900))
	wrote := make(chan struct{})
	go func() {
		fmt.Fprint(f, strings.Repeat("b", 200)) // over the limit: waits
		fmt.Fprint(f, strings.Repeat("c", 900))
		fmt.Fprint(f, strings.Repeat("d", 200)) // the first batch is stuck
		close(wrote)
	}()
	select {
	case <-wrote:
		t.Fatal("writes past the pending limit did not wait for the disk")
	case <-time.After(100 * time.Millisecond):
	}
	close(sink.open)
	select {
	case <-wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("the writer never caught up")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("a", 900) + strings.Repeat("b", 200) + strings.Repeat("c", 900) + strings.Repeat("d", 200)
	if sink.String() != want {
		t.Fatal("the log lost or reordered bytes")
	}
}
