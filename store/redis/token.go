package redis

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/oauth2d/oauth2"
	goredis "github.com/redis/go-redis/v9"
)

// batch is an issue block (see scripts.go) being built after the keys and
// arguments a script takes first.
type batch struct {
	keys []string
	args []any
	n    int // record keys in the block
	// last is the latest expiry stamp of the written parts, lastTTL its
	// Redis TTL; refresh and refreshTTL those of the refresh part ("" when
	// there is none).
	last, refresh       string
	lastTTL, refreshTTL int64
}

// issueBlock appends to keys and args the issue block that writes record
// r under the keys of its parts (newRecord).
func (s *TokenStore) issueBlock(r *record, parts []part, now time.Time, keys []string, args []any) *batch {
	b := &batch{keys: keys, args: args, n: len(parts)}
	if len(parts) == 0 {
		return b
	}
	b.args = append(b.args, r.encode(), len(parts))
	var grantTTL int64
	for i, p := range parts {
		t := ttl(p.exp, now)
		exp := r.exp(p.kind)
		b.keys = append(b.keys, s.partKey(p))
		b.args = append(b.args, t, expField[p.kind])
		if i == 0 || longer(t, grantTTL) {
			grantTTL = t
		}
		if exp > b.last {
			b.last, b.lastTTL = exp, t
		}
		if p.kind == kindRefresh {
			b.refresh, b.refreshTTL = exp, t
		}
	}
	if r.GrantID == "" {
		b.args = append(b.args, "")
	} else {
		b.keys = append(b.keys, s.grantKey(r.GrantID))
		b.args = append(b.args, grantTTL)
	}
	return b
}

// partKey returns the key of part p.
func (s *TokenStore) partKey(p part) string { return s.prefix + keyword[p.kind] + p.hash }

// longer reports whether TTL a (ms, -1 for none) outlasts b.
func longer(a, b int64) bool { return b >= 0 && (a < 0 || a > b) }

// Create stores every non-empty part of info, all or none, in one round
// trip. It fails, storing nothing, if one of its codes or tokens is already
// live in the store.
func (s *TokenStore) Create(ctx context.Context, info oauth2.TokenInfo) error {
	now := s.now()
	r, parts := newRecord(info, true)
	if len(parts) == 0 {
		return nil
	}
	if len(parts) == 1 && r.GrantID == "" {
		switch stored, err := s.createAlone(ctx, r, parts[0], now); {
		case err != nil:
			return classify("create", err)
		case stored:
			return nil
		}
	}
	b := s.issueBlock(r, parts, now, nil, []any{stamp(now)})
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := createScript.Run(ctx, s.pipe, b.keys, b.args...).Text()
	if err != nil {
		return classify("create", err)
	}
	if res != "O" {
		return fmt.Errorf("redis store: create: %w", errTaken)
	}
	return nil
}

// createAlone is Create's fast path for a record of one key and no grant
// (a client_credentials token): one SET ... NX, a command Redis runs
// natively, instead of the Lua script, whose interpreter and JSON decoding
// cost Redis several times as much CPU. Redis answers OK when the key was
// free: no error to inspect on the hot path. When the key is taken, a GET
// tells whether it holds this very value (the client's resend of a write
// whose reply was lost): stored is then true. A key holding another value
// may still be free in the script's sense (a dead record or replay marker
// that Redis has not expired yet): stored is then false, and Create asks
// the script.
//
// It is the hot path of issuance, so it spends no timer on the store's
// timeout: the pipeliner bounds the command's wait in its queue and its
// round trip by the same timeout (pipeliner.flush).
func (s *TokenStore) createAlone(ctx context.Context, r *record, p part, now time.Time) (stored bool, err error) {
	key, value := s.partKey(p), r.encode()
	var cmd *goredis.StatusCmd
	if t := ttl(p.exp, now); t < 0 {
		cmd = goredis.NewStatusCmd(ctx, "set", key, value, "nx")
	} else {
		cmd = goredis.NewStatusCmd(ctx, "set", key, value, "nx", "px", t)
	}
	s.pipe.do(ctx, cmd)
	switch err := cmd.Err(); {
	case err == nil:
		return true, nil
	case !errors.Is(err, goredis.Nil):
		return false, err
	}
	get := goredis.NewStringCmd(ctx, "get", key)
	s.pipe.do(ctx, get)
	old, err := get.Bytes()
	switch {
	case errors.Is(err, goredis.Nil): // gone meanwhile: the script decides
		return false, nil
	case err != nil:
		return false, err
	}
	return bytes.Equal(old, value), nil
}

// ExchangeCode atomically consumes the live code and stores issued's access
// and refresh parts (RFC 6749 4.1.2: a code is used once). The code's key
// then remembers its grant until the last of issued's parts expires, so
// that a replay gets a *oauth2.ReusedError.
func (s *TokenStore) ExchangeCode(ctx context.Context, code string, issued oauth2.TokenInfo) error {
	return s.consume(ctx, "exchange code", kindCode, code, issued)
}

// RotateRefresh atomically replaces the live record of refresh, and the
// access token stored with it, with issued (RFC 6749 6). Unless issued
// keeps the refresh value, the old refresh token's key then remembers its
// grant until the later of its own and issued's refresh expiry, so that a
// replay gets a *oauth2.ReusedError (RFC 9700 4.14.2).
func (s *TokenStore) RotateRefresh(ctx context.Context, refresh string, issued oauth2.TokenInfo) error {
	return s.consume(ctx, "rotate refresh token", kindRefresh, refresh, issued)
}

func (s *TokenStore) consume(ctx context.Context, op string, k kind, value string, issued oauth2.TokenInfo) error {
	if value == "" {
		return notFound(op)
	}
	now := s.now()
	mode := "code"
	if k == kindRefresh {
		mode = "refresh"
		if issued.GetRefresh() == value {
			mode = "keep"
		}
	}
	// The nonce marks this call in the replay marker it writes, so that the
	// client's retry of the call, after a lost reply, reads success.
	nonce := rand.Text()
	args := make([]any, 6, 16)
	args[0], args[1], args[2], args[3] = stamp(now), s.prefix, nonce, mode
	r, parts := newRecord(issued, false)
	b := s.issueBlock(r, parts, now, []string{s.key(k, value)}, args)
	// Remember a code until the last issued part expires (its own expiry if
	// nothing is issued), a refresh token until the later of its own and
	// issued's refresh expiry.
	if k == kindCode {
		b.args[4], b.args[5] = b.last, b.lastTTL
	} else {
		b.args[4], b.args[5] = b.refresh, b.refreshTTL
	}
	if b.n == 0 {
		// No issue block: n = 0 and no grant.
		b.args = append(b.args, "", 0, "")
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := consumeScript.Run(ctx, s.pipe, b.keys, b.args...).Text()
	if err != nil {
		return classify(op, err)
	}
	switch {
	case res == "O":
		return nil
	case res == "N":
		return notFound(op)
	case res == "E":
		return fmt.Errorf("redis store: %s: %w", op, errTaken)
	case len(res) > 0 && res[0] == 'R':
		return &oauth2.ReusedError{GrantID: res[1:]}
	}
	return fmt.Errorf("redis store: %s: unexpected script reply", op)
}

// GetByCode returns the live record of the code, with CodeChallenge for
// PKCE (RFC 7636 4.6). A code already exchanged gives a *oauth2.ReusedError
// while it is remembered.
func (s *TokenStore) GetByCode(ctx context.Context, code string) (oauth2.TokenInfo, error) {
	return s.get(ctx, "get by code", kindCode, code)
}

// GetByAccess returns the live record of the access token, in one GET.
func (s *TokenStore) GetByAccess(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	return s.get(ctx, "get by access token", kindAccess, access)
}

// GetByRefresh returns the live record of the refresh token. A rotated-out
// refresh token gives a *oauth2.ReusedError while it is remembered
// (RFC 9700 4.14.2).
func (s *TokenStore) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	return s.get(ctx, "get by refresh token", kindRefresh, refresh)
}

// get reads the kind k key of value. The record returned has value in its
// kind's field and no other code or token value: the store keeps none.
func (s *TokenStore) get(ctx context.Context, op string, k kind, value string) (oauth2.TokenInfo, error) {
	if value == "" {
		return nil, notFound(op)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.pipe.Get(ctx, s.key(k, value)).Bytes()
	if err != nil {
		return nil, classify(op, err)
	}
	now := stamp(s.now())
	if len(v) > 0 && v[0] == markerTag {
		exp, grant, err := parseMarker(v)
		if err != nil {
			return nil, fmt.Errorf("redis store: %s: %w", op, err)
		}
		if exp > now {
			return nil, &oauth2.ReusedError{GrantID: grant}
		}
		return nil, notFound(op)
	}
	r, err := decodeRecord(v)
	if err != nil {
		return nil, fmt.Errorf("redis store: %s: %w", op, err)
	}
	if !r.live(k, now) {
		return nil, notFound(op)
	}
	t, err := r.token(k, value)
	if err != nil {
		return nil, fmt.Errorf("redis store: %s: %w", op, err)
	}
	return t, nil
}

// RemoveByCode removes the code. A consumed code stays remembered.
func (s *TokenStore) RemoveByCode(ctx context.Context, code string) error {
	return s.remove(ctx, "remove code", kindCode, code, false)
}

// RemoveByAccess removes the access token only (RFC 7009 2.1).
func (s *TokenStore) RemoveByAccess(ctx context.Context, access string) error {
	return s.remove(ctx, "remove access token", kindAccess, access, false)
}

// RemoveByRefresh removes the refresh token and the access token stored
// with it (RFC 7009 2.1). A rotated-out refresh token stays remembered.
func (s *TokenStore) RemoveByRefresh(ctx context.Context, refresh string) error {
	return s.remove(ctx, "remove refresh token", kindRefresh, refresh, true)
}

func (s *TokenStore) remove(ctx context.Context, op string, k kind, value string, withAccess bool) error {
	if value == "" {
		return nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	also := "0"
	if withAccess {
		also = "1"
	}
	err := removeScript.Run(ctx, s.pipe, []string{s.key(k, value)}, s.prefix, also).Err()
	return classify(op, err)
}

// RevokeGrant removes every live code and token of the grant (RFC 9700
// 4.14.2, RFC 7009 2.1) in one script. Consumed codes and rotated-out
// refresh tokens stay remembered. An empty grantID is a no-op.
func (s *TokenStore) RevokeGrant(ctx context.Context, grantID string) error {
	if grantID == "" {
		return nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := revokeScript.Run(ctx, s.pipe, []string{s.grantKey(grantID)}).Err()
	return classify("revoke grant", err)
}
