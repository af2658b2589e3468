package sqlstore

import (
	"context"
	"time"
)

// Sweep deletes the expired rows of {tokens}, {used} and {kv}, a batch per
// statement so that no statement holds locks for long, and returns how
// many it deleted. Lookups never need it: they compare expiries by index.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	var total int64
	for _, q := range []*query{s.q.sweepTokens, s.q.sweepUsed, s.q.sweepKV} {
		for {
			n, err := s.sweepBatch(ctx, q)
			total += n
			if err != nil {
				return total, err
			}
			if n < int64(s.batch) {
				break
			}
			select {
			case <-ctx.Done():
				return total, s.fail(ctx, "sweep", ctx.Err())
			case <-s.stop:
				return total, nil
			default:
			}
		}
	}
	return total, nil
}

func (s *Store) sweepBatch(ctx context.Context, q *query) (int64, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	n, err := q.exec(ctx, nil, s.nowNanos(), int64(s.batch))
	return n, s.fail(ctx, "sweep", err)
}

// sweepEvery runs Sweep every interval until Close. Its errors are not
// reported: an engine that is down fails the requests too, and the next
// sweep catches up.
func (s *Store) sweepEvery(interval time.Duration) {
	defer close(s.swept)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, _ = s.Sweep(ctx)
		}
	}
}
