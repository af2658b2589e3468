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
	ctx, cancel := s.op(ctx)
	defer cancel()
	err := s.retry(ctx, func() error {
		_, err := s.q.kvPut.exec(ctx, nil, []byte(key), value, kvExpiry(now, ttl), unixNanos(now))
		return err
	})
	return s.fail(ctx, "kv put", err)
}

// PutIfAbsent stores value only if key has no live value, and reports
// whether it stored it: of concurrent callers, in any number of
// processes, one stores it.
func (s *Store) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now := s.now()
	ctx, cancel := s.op(ctx)
	defer cancel()
	var n int64
	err := s.retry(ctx, func() error {
		var err error
		n, err = s.q.kvPutIfAbsent.exec(ctx, nil, []byte(key), value, kvExpiry(now, ttl), unixNanos(now))
		return err
	})
	return n > 0, s.fail(ctx, "kv put if absent", err)
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
// oauth2.ErrNotFound.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	now := s.nowNanos()
	var v []byte
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := s.q.kvLock.row(ctx, tx, []byte(key), now).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return errMiss
		}
		if err != nil {
			return err
		}
		_, err = s.q.kvDelete.exec(ctx, tx, []byte(key))
		return err
	})
	if errors.Is(err, errMiss) {
		return nil, s.notFound("kv take")
	}
	if err != nil {
		return nil, s.fail(ctx, "kv take", err)
	}
	return v, nil
}

// Delete removes key. Deleting a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	err := s.retry(ctx, func() error {
		_, err := s.q.kvDelete.exec(ctx, nil, []byte(key))
		return err
	})
	return s.fail(ctx, "kv delete", err)
}

// Incr adds one to the counter under key and returns the new count. A
// counter that Incr creates expires ttl after its creation (a fixed
// window); later increments do not extend it. Concurrent increments, in
// any number of processes, are all counted.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	now := s.now()
	ctx, cancel := s.op(ctx)
	defer cancel()
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.q.kvIncr.exec(ctx, tx, []byte(key), kvExpiry(now, ttl), unixNanos(now)); err != nil {
			return err
		}
		return s.q.kvCount.row(ctx, tx, []byte(key)).Scan(&n)
	})
	return n, s.fail(ctx, "kv incr", err)
}
