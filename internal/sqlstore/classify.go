package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"
)

// classify tells what err means: first the checks every driver shares,
// then the dialect's own. ctx is the operation's context: when its
// deadline passed, whatever the driver made of the interruption is a
// timeout.
func (s *Store) classify(ctx context.Context, err error) Class {
	if c := Common(err); c != Permanent {
		return c
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Unavailable
	}
	if s.d.Classify != nil {
		return s.d.Classify(err)
	}
	return Permanent
}

// Common classifies the errors that mean the same with every driver: a
// passed deadline, a broken or closed connection, a network error.
// context.Canceled is Permanent: the caller gave up, the engine did not.
func Common(err error) Class {
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return Permanent
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &ne):
		return Unavailable
	}
	return Permanent
}
