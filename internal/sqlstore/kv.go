package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/oauth2d/oauth2"
)

var _ oauth2.KVStore = (*Store)(nil)

// kvExpiry is when a value put with ttl at now expires; never for a ttl of
// zero or less.
func kvExpiry(now time.Time, ttl time.Duration) int64 {
	if ttl <= 0 {
		return never
	}
	return unixNanos(now.Add(ttl))
}

// Put stores value under key, replacing what was there. A ttl of zero or
// less keeps it until it is deleted.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	now := s.now()
	args := []any{[]byte(key), value, kvExpiry(now, ttl), unixNanos(now)}
	return s.write(ctx, "kv put", func(tx BatchTx) error {
		tx.Exec(s.q.kvPut.text, args, nil)
		return nil
	}, nil)
}

// PutIfAbsent stores value only if key has no live value, and reports
// whether it stored it: of concurrent callers, in any number of
// processes, one stores it.
func (s *Store) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now := s.now()
	args := []any{[]byte(key), value, kvExpiry(now, ttl), unixNanos(now)}
	var n int64
	err := s.write(ctx, "kv put if absent", func(tx BatchTx) error {
		n = 0
		tx.Exec(s.q.kvPutIfAbsent.text, args, func(c int64) error { n = c; return nil })
		return nil
	}, nil)
	return err == nil && n > 0, err
}

// Get returns the live value of key, or an error wrapping
// oauth2.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := s.readOp(ctx)
	defer cancel()
	var v []byte
	err := s.q.kvGet.row(ctx, nil, []byte(key), s.nowNanos()).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, s.notFound("kv get")
	case err != nil:
		return nil, s.fail(ctx, "kv get", err)
	}
	return v, nil
}

// Take returns and deletes the live value of key: of concurrent callers,
// in any number of processes, one gets it and the others get
// oauth2.ErrNotFound. The locking read and the delete of the live value
// are sent together.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	now := s.nowNanos()
	k := []byte(key)
	var v []byte
	var found bool
	err := s.write(ctx, "kv take", func(tx BatchTx) error {
		v, found = nil, false
		tx.QueryRow(s.q.kvLock.text, []any{k, now}, func(scan func(...any) error) error {
			err := scan(&v)
			if noRows(err) {
				return nil
			}
			found = err == nil
			return err
		})
		tx.Exec(s.q.kvTakeDelete.text, []any{k, now}, nil)
		return nil
	}, func() error {
		if !found {
			return s.notFound("kv take")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Delete removes key. Deleting a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	args := []any{[]byte(key)}
	return s.write(ctx, "kv delete", func(tx BatchTx) error {
		tx.Exec(s.q.kvDelete.text, args, nil)
		return nil
	}, nil)
}

// Incr adds one to the counter under key and returns the new count. A
// counter that Incr creates expires ttl after its creation (a fixed
// window); later increments do not extend it. Concurrent increments, in
// any number of processes, are all counted.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	now := s.now()
	k := []byte(key)
	args := []any{k, kvExpiry(now, ttl), unixNanos(now)}
	var n int64
	err := s.write(ctx, "kv incr", func(tx BatchTx) error {
		n = 0
		tx.Exec(s.q.kvIncr.text, args, nil)
		tx.QueryRow(s.q.kvCount.text, []any{k}, func(scan func(...any) error) error { return scan(&n) })
		return nil
	}, nil)
	return n, err
}
