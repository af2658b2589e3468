package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/oauth2d/oauth2/internal/sqlstore"
)

// pipeTx is the transaction of a batch of writes (sqlstore.BatchTx) on one
// pgx connection: statements are queued in a pgx.Batch and each Sync sends
// them in one round trip, pipelined. The first Sync starts with BEGIN and
// Commit ends with COMMIT, so a batch of writes that need no answer before
// the next (issuance, revocation, the KV writes) costs one round trip in
// all; a consumption's locking read costs one more.
type pipeTx struct {
	ctx   context.Context
	conn  *sql.Conn
	b     *pgx.Batch
	err   error
	ended bool
}

// beginPipeline is Dialect.Begin: BEGIN is only queued, sent with the
// batch's first statements.
func beginPipeline(ctx context.Context, conn *sql.Conn) (sqlstore.BatchTx, error) {
	t := &pipeTx{ctx: ctx, conn: conn, b: &pgx.Batch{}}
	t.b.Queue("BEGIN")
	return t, nil
}

func (t *pipeTx) Exec(query string, args []any, fn func(int64) error) {
	if t.err != nil {
		return
	}
	q := t.b.Queue(query, args...)
	if fn != nil {
		q.Exec(func(ct pgconn.CommandTag) error { return fn(ct.RowsAffected()) })
	}
}

func (t *pipeTx) QueryRow(query string, args []any, fn func(func(...any) error) error) {
	if t.err != nil {
		return
	}
	t.b.Queue(query, args...).QueryRow(func(r pgx.Row) error {
		return fn(func(dest ...any) error { return scan(r, dest) })
	})
}

// scan reads r into dest as database/sql would: bytea into a *string too,
// and no row as sql.ErrNoRows.
func scan(r pgx.Row, dest []any) error {
	strs := make([]*string, len(dest))
	bufs := make([][]byte, len(dest))
	d := make([]any, len(dest))
	for i, p := range dest {
		if sp, ok := p.(*string); ok {
			strs[i], d[i] = sp, &bufs[i]
			continue
		}
		d[i] = p
	}
	if err := r.Scan(d...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return sql.ErrNoRows
		}
		return err
	}
	for i, sp := range strs {
		if sp != nil {
			*sp = string(bufs[i])
		}
	}
	return nil
}

// send runs the queued statements and their callbacks in one round trip.
func (t *pipeTx) send() error {
	if t.err != nil || len(t.b.QueuedQueries) == 0 {
		return t.err
	}
	b := t.b
	t.b = &pgx.Batch{}
	t.err = t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("postgres: the pool's connections are not pgx's")
		}
		err := c.Conn().SendBatch(t.ctx, b).Close()
		if err != nil && c.Conn().IsClosed() {
			// database/sql drops the connection.
			return errors.Join(driver.ErrBadConn, err)
		}
		return err
	})
	return t.err
}

func (t *pipeTx) Sync() error { return t.send() }

func (t *pipeTx) Commit() error {
	if t.err != nil {
		return t.err
	}
	t.b.Queue("COMMIT")
	if err := t.send(); err != nil {
		return err
	}
	t.ended = true
	t.conn.Close()
	return nil
}

// Rollback ends a transaction that failed or was abandoned. When the
// connection broke, database/sql drops it instead.
func (t *pipeTx) Rollback() {
	if t.ended {
		return
	}
	t.ended = true
	_ = t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok || c.Conn().IsClosed() {
			return driver.ErrBadConn
		}
		// Bounded by the batch's deadline: past it, or on any error, the
		// connection is dropped rather than waited for.
		_, err := c.Conn().Exec(t.ctx, "ROLLBACK")
		if err != nil {
			return errors.Join(driver.ErrBadConn, err)
		}
		return nil
	})
	t.conn.Close()
}
