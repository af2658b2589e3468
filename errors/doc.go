// Package errors is the RFC error catalog of the authorization server and
// the one place that maps an internal error to an error code, an HTTP status
// and a description (RFC 6749 4.1.2.1, 4.2.2.1 and 5.2; RFC 6750 3.1;
// RFC 7009 2.2.1; RFC 8628 3.5; OpenID Connect Core 1.0 3.1.2.6).
//
// Every error the library returns either is one of the code errors below or
// wraps one (errors.Is finds it); Lookup turns any error into what goes on
// the wire. An error that wraps no code is a server_error whose text is never
// shown.
package errors
