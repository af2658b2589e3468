package sqlstore

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/oauth2d/oauth2"
)

// gatedSync is a Sync that reports each start on started and returns only
// when release sends it its result.
type gatedSync struct {
	started chan int // the number of the Sync, from 1
	release chan error
	n       atomic.Int32
}

func newGatedSync() *gatedSync {
	return &gatedSync{started: make(chan int, 8), release: make(chan error)}
}

func (g *gatedSync) sync(bool) error {
	g.started <- int(g.n.Add(1))
	return <-g.release
}

func notAlone() bool { return false }

func newOps(n int) []*op {
	ops := make([]*op, n)
	for i := range ops {
		ops[i] = &op{done: make(chan struct{})}
	}
	return ops
}

func answered(o *op) bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

// TestSyncer_AnswersAWriteOnlyAfterASyncThatStartedAfterIt checks the
// durability rule: a write committed while a Sync is on its way is not
// answered by that Sync, but by the next one, and no write is answered
// before its Sync returned.
func TestSyncer_AnswersAWriteOnlyAfterASyncThatStartedAfterIt(t *testing.T) {
	g := newGatedSync()
	y := newSyncer(g.sync, notAlone)
	defer func() { go func() { g.release <- nil }(); y.close() }()

	first := newOps(3)
	y.handOver(first) // committed; Sync 1 starts with it
	if n := <-g.started; n != 1 {
		t.Fatalf("Sync %d started, want 1", n)
	}
	second := newOps(1)
	barrierDone := make(chan error, 1)
	go func() { barrierDone <- y.barrier() }()
	handed := make(chan struct{})
	go func() { y.handOver(second); close(handed) }()
	for { // both are pending before Sync 1 returns
		y.mu.Lock()
		n := len(y.pending)
		y.mu.Unlock()
		if n == 2 {
			break
		}
		runtime.Gosched()
	}

	for _, o := range first {
		if answered(o) {
			t.Fatal("a write was answered before its Sync returned")
		}
	}
	g.release <- nil // Sync 1 returns
	for _, o := range first {
		<-o.done
		if o.err != nil {
			t.Fatalf("write of Sync 1: %v", o.err)
		}
	}
	if n := <-g.started; n != 2 {
		t.Fatalf("Sync %d started, want 2", n)
	}
	<-handed // the committer's second batch is in Sync 2
	if answered(second[0]) {
		t.Fatal("a write committed during Sync 1 was answered by it")
	}
	select {
	case err := <-barrierDone:
		t.Fatalf("a barrier taken during Sync 1 returned %v before Sync 2 did", err)
	default:
	}
	g.release <- nil
	<-second[0].done
	if err := <-barrierDone; err != nil || second[0].err != nil {
		t.Fatalf("after Sync 2: barrier %v, write %v", err, second[0].err)
	}
}

// TestSyncer_FailedSyncFailsItsWritesAndEveryLaterOne checks that a failed
// flush is never answered as success: its writes, and every write after
// it, get oauth2.ErrUnavailable, without another flush.
func TestSyncer_FailedSyncFailsItsWritesAndEveryLaterOne(t *testing.T) {
	g := newGatedSync()
	y := newSyncer(g.sync, notAlone)
	defer y.close()

	ops := newOps(2)
	ops[1].err = oauth2.ErrNotFound // an op's own error stands
	y.handOver(ops)
	<-g.started
	g.release <- errors.New("EIO")
	<-ops[0].done
	<-ops[1].done
	if !errors.Is(ops[0].err, oauth2.ErrUnavailable) {
		t.Fatalf("write of a failed Sync: %v, want ErrUnavailable", ops[0].err)
	}
	if !errors.Is(ops[1].err, oauth2.ErrNotFound) {
		t.Fatalf("an op's own error became %v", ops[1].err)
	}
	later := newOps(1)
	y.handOver(later)
	<-later[0].done
	if err := y.barrier(); !errors.Is(err, oauth2.ErrUnavailable) || !errors.Is(later[0].err, oauth2.ErrUnavailable) {
		t.Fatalf("after a failed Sync: barrier %v, write %v; want ErrUnavailable", err, later[0].err)
	}
	if n := g.n.Load(); n != 1 {
		t.Fatalf("%d Syncs ran, want 1: a failed store stops flushing", n)
	}
}

// TestSyncer_CloseFlushesWhatIsPending checks that Close answers, after a
// last Sync, the writes handed over before it, and fails later ones.
func TestSyncer_CloseFlushesWhatIsPending(t *testing.T) {
	var n atomic.Int32
	y := newSyncer(func(bool) error { n.Add(1); return nil }, notAlone)
	ops := newOps(4)
	y.handOver(ops[:2])
	y.handOver(ops[2:])
	y.close()
	for _, o := range ops {
		if !answered(o) || o.err != nil {
			t.Fatalf("after close: answered %v, err %v", answered(o), o.err)
		}
	}
	if n.Load() == 0 {
		t.Fatal("no Sync ran")
	}
	if err := y.barrier(); !errors.Is(err, oauth2.ErrUnavailable) {
		t.Fatalf("barrier after close = %v, want ErrUnavailable", err)
	}
}

// TestSyncer_FlushesALoneWriteAlone checks what the syncer tells its Sync:
// alone only for a batch of one write while writes come one at a time.
func TestSyncer_FlushesALoneWriteAlone(t *testing.T) {
	tests := []struct {
		name      string
		ops       int
		comeAlone bool
		wantAlone bool
	}{
		{"one write, writes come alone", 1, true, true},
		{"one write, writes come together", 1, false, false},
		{"several writes", 3, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan bool, 1)
			y := newSyncer(func(alone bool) error { got <- alone; return nil }, func() bool { return tt.comeAlone })
			defer y.close()
			ops := newOps(tt.ops)
			y.handOver(ops)
			<-ops[0].done
			if alone := <-got; alone != tt.wantAlone {
				t.Fatalf("Sync(alone=%v), want %v", alone, tt.wantAlone)
			}
		})
	}
}

// TestSyncer_CommitterWaitsWithSyncAheadBatchesCommitted checks the bound
// on the committer: it goes on while fewer than syncAhead committed
// batches wait for a flush, and waits until a Sync takes them.
func TestSyncer_CommitterWaitsWithSyncAheadBatchesCommitted(t *testing.T) {
	g := newGatedSync()
	y := newSyncer(g.sync, notAlone)
	defer func() { go func() { g.release <- nil; g.release <- nil }(); y.close() }()

	y.handOver(newOps(1))
	<-g.started // Sync 1 is on its way with the first batch
	for range syncAhead - 1 {
		y.handOver(newOps(1)) // returns: fewer than syncAhead wait
	}
	returned := make(chan struct{})
	go func() { y.handOver(newOps(1)); close(returned) }()
	for { // the last batch is pending
		y.mu.Lock()
		n := y.handed
		y.mu.Unlock()
		if n == syncAhead {
			break
		}
		runtime.Gosched()
	}
	select {
	case <-returned:
		t.Fatalf("the committer went on with %d batches waiting for a flush", syncAhead)
	default:
	}
	g.release <- nil // Sync 1 returns; Sync 2 takes the waiting batches
	<-g.started
	<-returned
}
