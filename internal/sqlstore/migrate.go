package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrSchemaTooNew is returned by Open when the database was migrated by a
// later release than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this release supports")

// migrate brings the schema to the last of the dialect's migrations,
// recording each version applied in {migrations}. Processes that open the
// store at the same time take turns: the engine's lock where it has one,
// else the exclusive write transaction.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.d.LockMigrations != nil {
		unlock, err := s.d.LockMigrations(ctx, conn, s.t)
		if err != nil {
			return err
		}
		defer unlock()
	}
	for _, stmt := range s.d.Setup(s.t) {
		if _, err := conn.ExecContext(ctx, s.t.Expand(stmt)); err != nil {
			return err
		}
	}
	migrations := s.d.Migrations(s.t)
	var current int
	if err := conn.QueryRowContext(ctx, s.t.Expand(`SELECT COALESCE(MAX(version), 0) FROM {migrations}`)).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("%w: version %d, this release knows %d", ErrSchemaTooNew, current, len(migrations))
	}
	for _, m := range migrations[current:] {
		if err := s.apply(ctx, conn, m); err != nil {
			return fmt.Errorf("migration %d: %w", m.Version, err)
		}
	}
	return nil
}

// apply runs one migration and records its version, in one transaction
// where the engine's DDL is transactional. It checks the version again
// inside, in case another process applied it meanwhile.
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m Migration) error {
	record := s.d.rebind(s.t, `INSERT INTO {migrations} (version, applied_at) VALUES (?, ?)`)
	applied := s.d.rebind(s.t, `SELECT COUNT(*) FROM {migrations} WHERE version = ?`)
	exec := func(run func(string, ...any) error, count func(string, ...any) (int, error)) error {
		n, err := count(applied, m.Version)
		if err != nil || n > 0 {
			return err
		}
		for _, stmt := range m.Statements {
			if err := run(s.t.Expand(stmt)); err != nil {
				return err
			}
		}
		return run(record, m.Version, time.Now().UnixNano())
	}
	if !s.d.TransactionalDDL {
		return exec(func(q string, args ...any) error {
			_, err := conn.ExecContext(ctx, q, args...)
			if err != nil && s.d.AlreadyApplied != nil && s.d.AlreadyApplied(err) {
				return nil
			}
			return err
		}, func(q string, args ...any) (n int, err error) {
			err = conn.QueryRowContext(ctx, q, args...).Scan(&n)
			return n, err
		})
	}
	tx, err := conn.BeginTx(ctx, s.d.TxOptions)
	if err != nil {
		return err
	}
	err = exec(func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}, func(q string, args ...any) (n int, err error) {
		err = tx.QueryRowContext(ctx, q, args...).Scan(&n)
		return n, err
	})
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
