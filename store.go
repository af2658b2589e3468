package oauth2

import (
	"context"
	"errors"
)

// Errors of the storage contract. Stores wrap them (fmt.Errorf with %w) and
// callers test them with errors.Is.
var (
	// ErrNotFound: no live record has that key (unknown, expired, removed).
	ErrNotFound = errors.New("oauth2: not found")
	// ErrReused: the code was already exchanged or the refresh token already
	// rotated. A *ReusedError carries the grant to revoke.
	ErrReused = errors.New("oauth2: already used")
	// ErrUnavailable: the store cannot be reached or timed out. The server
	// answers 503 temporarily_unavailable.
	ErrUnavailable = errors.New("oauth2: store unavailable")
)

// ReusedError reports the replay of a consumed code or a rotated-out refresh
// token, with the grant it belonged to so that the caller can revoke it
// (RFC 6749 4.1.2, RFC 9700 4.14.2). It matches ErrReused with errors.Is.
//
// ClientID and Record are what the store kept of the consumed record, so
// that the caller can tell a replay by the client and redirect URI the code
// was issued to, with a verifier for its PKCE challenge, from one by
// anybody else (RFC 6749 4.1.3, RFC 7636 4.6) before it revokes. They are
// empty where a store keeps only the grant (a replay marker written before
// the store kept more, or a store that does not).
type ReusedError struct {
	GrantID string
	// ClientID is the client the consumed code or refresh token was
	// issued to; "" when the store did not keep it.
	ClientID string
	// Record, when not nil, holds the non-secret fields of the consumed
	// record that the store kept: its client, grant, redirect URI and, for
	// a code, its PKCE challenge and method. It holds no code or token
	// value, no times and no extension data.
	Record TokenInfo
}

func (e *ReusedError) Error() string { return ErrReused.Error() }

// Is reports whether target is ErrReused.
func (e *ReusedError) Is(target error) bool { return target == ErrReused }

// ClientStore reads registered clients.
type ClientStore interface {
	// GetByID returns the client, or an error wrapping ErrNotFound.
	GetByID(ctx context.Context, id string) (ClientInfo, error)
}

// TokenStore keeps codes and tokens. Every implementation must pass the
// conformance kit in store/storetest against its real engine.
//
// Keys are the code, access and refresh values of a TokenInfo; persistent
// stores keep only a SHA-256 of each. A part is found until its own expiry
// (CreateAt + ExpiresIn, by the store's clock) and never after.
type TokenStore interface {
	// Create stores every non-empty part of info, all or none.
	Create(ctx context.Context, info TokenInfo) error
	// RemoveByCode removes the code. Removing a missing key is not an error.
	RemoveByCode(ctx context.Context, code string) error
	// RemoveByAccess removes the access token only.
	RemoveByAccess(ctx context.Context, access string) error
	// RemoveByRefresh removes the refresh token and the access token stored
	// with it.
	RemoveByRefresh(ctx context.Context, refresh string) error

	// GetByCode returns the live record of the code. It returns a
	// *ReusedError for a code already exchanged (while remembered) and an
	// error wrapping ErrNotFound otherwise.
	GetByCode(ctx context.Context, code string) (TokenInfo, error)
	// GetByAccess returns the live record of the access token, or an error
	// wrapping ErrNotFound.
	GetByAccess(ctx context.Context, access string) (TokenInfo, error)
	// GetByRefresh returns the live record of the refresh token. It returns
	// a *ReusedError for a rotated-out refresh token (while remembered) and
	// an error wrapping ErrNotFound otherwise.
	GetByRefresh(ctx context.Context, refresh string) (TokenInfo, error)

	// ExchangeCode atomically consumes the live code and stores issued (its
	// access and refresh parts), which carries the code's grant ID. The
	// consumed code is remembered, with its grant ID, until the last of
	// issued's parts expires, so that a replay is detected. Of any number of
	// concurrent calls for one code, in one process or many, exactly one
	// succeeds; the others get a *ReusedError. An unknown or expired code
	// gives ErrNotFound. On any error nothing is stored.
	ExchangeCode(ctx context.Context, code string, issued TokenInfo) error
	// RotateRefresh atomically replaces the live record of refresh (its
	// access and refresh tokens) with issued. Unless issued keeps the same
	// refresh value, the old refresh token is remembered, with its grant ID,
	// until the later of its own and issued's refresh expiry. Concurrency and
	// errors are as for ExchangeCode.
	RotateRefresh(ctx context.Context, refresh string, issued TokenInfo) error
	// RevokeGrant removes every live code and token of the grant. Remembered
	// consumed codes and rotated refresh tokens stay remembered. An empty
	// grantID is a no-op.
	RevokeGrant(ctx context.Context, grantID string) error
}
