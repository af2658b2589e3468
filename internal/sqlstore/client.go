package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/models"
)

// ErrNoClientID is returned by SaveClient for a client without an ID.
var ErrNoClientID = errors.New("client has no ID")

// SaveClient stores c, replacing the client of the same ID (RFC 7591 2).
// The secret is kept only as a hash: a clear Secret is hashed with
// argon2id, a SecretHash (argon2id or bcrypt) is checked and kept as is.
// c is not modified.
func (s *Store) SaveClient(ctx context.Context, c *models.Client) error {
	if c == nil || c.ID == "" {
		return fmt.Errorf("%s: save client: %w", s.d.Name, ErrNoClientID)
	}
	hash := c.SecretHash
	if hash != "" {
		if err := secret.Check(hash); err != nil {
			return fmt.Errorf("%s: save client: secret hash: %w", s.d.Name, err)
		}
	} else if c.Secret != "" {
		var err error
		if hash, err = secret.Hash(c.Secret); err != nil {
			return fmt.Errorf("%s: save client: %w", s.d.Name, err)
		}
	}
	lists := make([][]byte, 3)
	for i, v := range []any{c.RedirectURIs, c.GrantTypes, c.Scopes} {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s: save client: %w", s.d.Name, err)
		}
		lists[i] = b
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	err := s.retry(ctx, func() error {
		_, err := s.q.upsertClient.exec(ctx, nil, []byte(c.ID), []byte(hash), []byte(c.Domain),
			lists[0], lists[1], lists[2], c.Public, []byte(c.UserID), []byte(c.TokenEndpointAuthMethod), c.JWKS)
		return err
	})
	if err != nil {
		return s.fail(ctx, "save client", err)
	}
	return s.durable("save client")
}

// GetByID returns the client as a *models.Client with its SecretHash and
// no clear Secret, or an error wrapping oauth2.ErrNotFound.
func (s *Store) GetByID(ctx context.Context, id string) (oauth2.ClientInfo, error) {
	const op = "get client"
	if id == "" {
		return nil, s.notFound(op)
	}
	ctx, cancel := s.readOp(ctx)
	defer cancel()
	c := &models.Client{ID: id}
	var redirects, grants, scopes []byte
	err := s.q.getClient.row(ctx, nil, []byte(id)).Scan(&c.SecretHash, &c.Domain, &redirects, &grants, &scopes,
		&c.Public, &c.UserID, &c.TokenEndpointAuthMethod, &c.JWKS)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, s.notFound(op)
	case err != nil:
		return nil, s.fail(ctx, op, err)
	}
	for _, l := range []struct {
		b []byte
		v any
	}{{redirects, &c.RedirectURIs}, {grants, &c.GrantTypes}, {scopes, &c.Scopes}} {
		if err := json.Unmarshal(l.b, l.v); err != nil {
			return nil, fmt.Errorf("%s: %s: stored list: %w", s.d.Name, op, err)
		}
	}
	return c, nil
}

// DeleteClient removes the client. Removing a missing client is not an
// error.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	err := s.retry(ctx, func() error {
		_, err := s.q.deleteClient.exec(ctx, nil, []byte(id))
		return err
	})
	if err != nil {
		return s.fail(ctx, "delete client", err)
	}
	return s.durable("delete client")
}
