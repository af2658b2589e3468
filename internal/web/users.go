package web

import (
	"context"
	stderrors "errors"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/secret"
)

// Users is the directory of resource owners: each username with an
// argon2id or bcrypt hash of its password, and optionally a lookup of the
// users it does not hold (SetFallback). It is read-only once built and
// safe for concurrent use.
type Users struct {
	hashes   map[string]string
	fallback func(ctx context.Context, username string) (hash string, disabled bool, err error)
}

// SetFallback sets the lookup of the users the directory does not hold
// (users kept in a store): the password hash of username and whether the
// user is disabled, or an error wrapping oauth2.ErrNotFound. Call it
// before the directory is used.
func (u *Users) SetFallback(lookup func(ctx context.Context, username string) (hash string, disabled bool, err error)) {
	u.fallback = lookup
}

// NewUsers returns an empty directory.
func NewUsers() *Users { return &Users{hashes: map[string]string{}} }

// AddHash adds a user whose password hash is known (secret.Check must
// accept it).
func (u *Users) AddHash(username, hash string) error {
	if err := secret.Check(hash); err != nil {
		return fmt.Errorf("web: user %d: password hash: %w", len(u.hashes), err)
	}
	u.hashes[username] = hash
	return nil
}

// AddPassword adds a user with a password in the clear, which it hashes
// with argon2id so that every login is checked the same way.
func (u *Users) AddPassword(username, password string) error {
	h, err := secret.Hash(password)
	if err != nil {
		return fmt.Errorf("web: hash password: %w", err)
	}
	u.hashes[username] = h
	return nil
}

// Len returns the number of users.
func (u *Users) Len() int { return len(u.hashes) }

// Verify reports whether password is the password of username, who is
// not disabled. It spends the time of one argon2id verification whether
// or not the user exists or is disabled, so that the answer's timing does
// not tell which usernames exist. It returns secret.ErrBusy when no turn
// to hash came in time (the password was not checked).
func (u *Users) Verify(ctx context.Context, username, password string) (bool, error) {
	h, ok := u.hashes[username]
	if ok {
		return secret.VerifyContext(ctx, h, password)
	}
	if u.fallback != nil {
		hash, disabled, err := u.fallback(ctx, username)
		switch {
		case err == nil:
			match, err := secret.VerifyContext(ctx, hash, password)
			return match && !disabled, err
		case !stderrors.Is(err, oauth2.ErrNotFound):
			return false, err
		}
	}
	return false, secret.VerifyMissingContext(ctx, password)
}
