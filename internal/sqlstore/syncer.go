package sqlstore

import (
	"fmt"
	"sync"

	"github.com/oauth2d/oauth2"
)

// The flush of committed writes to the disk, when the engine's commits
// are not durable by themselves (Config.Sync: SQLite at
// synchronous=NORMAL, whose commit writes the log without flushing it).
// The committer hands the syncer each batch once the batch has committed,
// and commits the next batch while the flush of the one before is on its
// way: the disk's latency and the commit's CPU overlap, where an engine
// that flushes inside COMMIT makes the next batch wait for the disk. The
// committer stays at most syncAhead batches ahead of the flushes: with
// that many committed batches waiting for a Sync, it waits until a Sync
// takes them, and the writes that arrive meanwhile gather for its next
// batch. A write is answered only after a Sync that started after its
// commit returned, so a 200 still means "on disk".
//
// A failed Sync fails every write it was to make durable with
// oauth2.ErrUnavailable, and every later one: after a failed flush the
// kernel may have dropped the pages it could not write, and committed
// writes that readers already see may be lost, so the store stops taking
// writes until it is opened again (as PostgreSQL stops after a failed
// fsync).

// syncer makes committed batches durable and only then answers them.
type syncer struct {
	sync    func(alone bool) error
	alone   func() bool // writes come one at a time
	mu      sync.Mutex
	pending []*op
	closed  bool
	failed  error         // the first Sync's error; every later write gets it
	wake    chan struct{} // something is pending, or the syncer is closing
	handed  int           // committer batches in pending
	taken   *sync.Cond    // a Sync took what was pending; on mu
	done    chan struct{} // the loop returned
	syncs   int64         // Syncs run; guarded by mu
}

// newSyncer starts a syncer that makes writes durable with flush; alone
// reports whether writes come one at a time.
func newSyncer(flush func(alone bool) error, alone func() bool) *syncer {
	y := &syncer{sync: flush, alone: alone, wake: make(chan struct{}, 1), done: make(chan struct{})}
	y.taken = sync.NewCond(&y.mu)
	go y.loop()
	return y
}

// handOver gives the syncer the ops of a committed batch, whose done
// channels it closes after the next Sync, and returns once fewer than
// syncAhead committed batches wait for a Sync. It is the committer loops'.
func (y *syncer) handOver(ops []*op) {
	if !y.add(ops, true) {
		return
	}
	y.mu.Lock()
	for y.handed >= syncAhead && !y.closed {
		y.taken.Wait()
	}
	y.mu.Unlock()
}

// syncAhead is how many committed batches may wait for a Sync. With one,
// every flush carried one commit (11 writes at 32 connections); with two,
// a flush carries about two smaller commits (14 writes a flush, 7.4 a
// commit), fewer flushes cost the core less kernel time, and alternating
// load runs answered 3-6% more tokens a second (README, Performance);
// three did no better than two.
const syncAhead = 2

// barrier returns when the writes committed before it are durable: a
// write that did not go through the committer (a client or a document)
// calls it after its commit.
func (y *syncer) barrier() error {
	o := &op{done: make(chan struct{})}
	if !y.add([]*op{o}, false) {
		return o.err
	}
	<-o.done // bounded by the Sync, as a committed batch's wait is
	return o.err
}

// add appends ops to what the next Sync makes durable. It reports false,
// with every op answered, when the syncer failed or closed.
func (y *syncer) add(ops []*op, fromCommitter bool) bool {
	y.mu.Lock()
	if y.failed != nil || y.closed {
		err := y.failed
		if err == nil {
			err = errClosed
		}
		y.mu.Unlock()
		for _, o := range ops {
			if o.err == nil {
				o.err = err
			}
			close(o.done)
		}
		return false
	}
	if fromCommitter {
		y.handed++
	}
	y.pending = append(y.pending, ops...)
	y.mu.Unlock()
	select {
	case y.wake <- struct{}{}:
	default:
	}
	return true
}

// close runs a last Sync for what is pending and stops the syncer. The
// committer has stopped: nothing more is handed over.
func (y *syncer) close() {
	y.mu.Lock()
	y.closed = true
	y.mu.Unlock()
	select {
	case y.wake <- struct{}{}:
	default:
	}
	<-y.done
}

func (y *syncer) loop() {
	defer close(y.done)
	var batch []*op
	for {
		<-y.wake
		y.mu.Lock()
		batch, y.pending = y.pending, batch[:0]
		y.handed = 0
		y.taken.Broadcast() // the committer may commit its next batch
		closed, failed := y.closed, y.failed
		y.mu.Unlock()
		if len(batch) > 0 {
			err := failed
			if err == nil {
				if err = y.sync(len(batch) == 1 && y.alone()); err != nil {
					err = fmt.Errorf("flush to disk: %w: %w", oauth2.ErrUnavailable, err)
				}
				y.mu.Lock()
				y.syncs++
				if err != nil && y.failed == nil {
					y.failed = err
				}
				y.mu.Unlock()
			}
			for _, o := range batch {
				if err != nil && o.err == nil {
					o.err = err
				}
				close(o.done)
			}
			clear(batch)
		}
		if closed {
			return
		}
	}
}

// durable returns when the writes committed so far are on the disk: at
// once unless the engine's commits need a Sync (Config.Sync). The writes
// that do not go through the committer (clients, documents) call it after
// their commit.
func (s *Store) durable(op string) error {
	if s.y == nil {
		return nil
	}
	if err := s.y.barrier(); err != nil {
		return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
	}
	return nil
}
