package errors

import (
	stderrors "errors"
	"net/http"
)

// StatusError answers Err with an HTTP status and headers other than the
// catalog's: 405 with Allow for a wrong method (RFC 9110 15.5.6), or 429
// with Retry-After for a client or user that failed too often (RFC 6585
// 4). The error code and description are still Err's.
type StatusError struct {
	Err    error
	Status int
	Header http.Header
}

// WithStatus returns err answered with status and header (see
// StatusError).
func WithStatus(err error, status int, header http.Header) error {
	return &StatusError{Err: err, Status: status, Header: header}
}

func (e *StatusError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *StatusError) Unwrap() error { return e.Err }

// statusOf returns the status and headers of the outermost StatusError in
// err's chain, if any.
func statusOf(err error) (int, http.Header, bool) {
	var se *StatusError
	if stderrors.As(err, &se) && se.Status > 0 {
		return se.Status, se.Header, true
	}
	return 0, nil, false
}
