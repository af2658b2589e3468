package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/opaque"
	"github.com/oauth2d/oauth2/models"
)

// never is the expiry of a part that does not expire.
const never = math.MaxInt64

var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// unixNanos is t in Unix nanoseconds, clamped to what an int64 holds
// (years 1678 to 2262).
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// digest is the key of a code or token (opaque.Key: its SHA-256, led by
// its issue time when it has one): all the store keeps of it. Keys of the
// project's own values sort by issue time, so the unique indexes on them
// grow at their right edge.
func digest(value string) []byte {
	h := opaque.Key(value)
	return h[:]
}

// KeysFollowIssueTime reports that the store keys the values of
// generates.TimeOrderedAuthorizeGenerate and TimeOrderedAccessGenerate by
// their issue time (internal/opaque), so that those generators spare its
// indexes a random page per write. oauth2d maps them when its store says
// so.
func (*Store) KeysFollowIssueTime() bool { return true }

// part is one part of a record as stored.
type part struct {
	hash    []byte // nil: the part is absent
	created any    // Unix nanoseconds, or nil for the zero time
	ttl     int64
	expires int64
}

func newPart(value string, created time.Time, ttl time.Duration) part {
	if value == "" {
		return part{}
	}
	p := part{hash: digest(value), ttl: int64(ttl), expires: never}
	if !created.IsZero() {
		p.created = unixNanos(created)
	}
	if ttl > 0 {
		p.expires = unixNanos(created.Add(ttl))
	}
	return p
}

func (p part) args() []any {
	if p.hash == nil {
		return []any{nil, nil, nil, nil}
	}
	return []any{p.hash, p.created, p.ttl, p.expires}
}

// row is a record as stored. Text fields are bound as bytes: they are
// kept byte for byte, whatever the engine's character set.
type row struct {
	grant, client, user, redirect, scope, challenge, method string
	// extension is the record's extension data in its url.Values.Encode
	// form, "" for none (stored as NULL).
	extension string
	parts     [3]part
}

// newRow takes the fields of info and its code part when withCode is set,
// its access and refresh parts always.
func newRow(info oauth2.TokenInfo, withCode bool) *row {
	r := &row{
		grant: info.GetGrantID(), client: info.GetClientID(), user: info.GetUserID(),
		redirect: info.GetRedirectURI(), scope: info.GetScope(),
	}
	if x, ok := info.(oauth2.ExtendableTokenInfo); ok {
		if v := x.GetExtension(); len(v) > 0 {
			r.extension = v.Encode()
		}
	}
	if withCode {
		r.challenge, r.method = info.GetCodeChallenge(), string(info.GetCodeChallengeMethod())
		r.parts[0] = newPart(info.GetCode(), info.GetCodeCreateAt(), info.GetCodeExpiresIn())
	}
	r.parts[1] = newPart(info.GetAccess(), info.GetAccessCreateAt(), info.GetAccessExpiresIn())
	r.parts[2] = newPart(info.GetRefresh(), info.GetRefreshCreateAt(), info.GetRefreshExpiresIn())
	return r
}

// empty reports whether the row has no part.
func (r *row) empty() bool { return r.lastExpiry() == math.MinInt64 }

// lastExpiry is the latest expiry of the row's parts, MinInt64 without
// parts.
func (r *row) lastExpiry() int64 {
	last := int64(math.MinInt64)
	for _, p := range r.parts {
		if p.hash != nil {
			last = max(last, p.expires)
		}
	}
	return last
}

// args are the values of RecordColumns.
func (r *row) args(extra ...any) []any {
	a := make([]any, 0, 22)
	a = append(a, []byte(r.grant), []byte(r.client), []byte(r.user), []byte(r.redirect),
		[]byte(r.scope), []byte(r.challenge), []byte(r.method))
	for _, p := range r.parts {
		a = append(a, p.args()...)
	}
	a = append(a, r.lastExpiry())
	if r.extension == "" {
		a = append(a, nil)
	} else {
		a = append(a, []byte(r.extension))
	}
	return append(a, extra...)
}

// RecordArgs returns the values of RecordColumns for info as the store
// writes them, for tests and benchmarks that write the table directly.
func RecordArgs(info oauth2.TokenInfo) []any { return newRow(info, true).args() }

// Create stores every non-empty part of info in one row: all or none. A
// key that is already stored fails it.
func (s *Store) Create(ctx context.Context, info oauth2.TokenInfo) error {
	r := newRow(info, true)
	if r.empty() {
		return nil
	}
	return s.submit(ctx, "create", &op{insert: r.args()}, nil)
}

// GetByCode returns the live record of code, a *oauth2.ReusedError for a
// code already exchanged (while remembered), or oauth2.ErrNotFound.
func (s *Store) GetByCode(ctx context.Context, code string) (oauth2.TokenInfo, error) {
	return s.get(ctx, kindCode, code, "get by code")
}

// GetByAccess returns the live record of access, or oauth2.ErrNotFound.
func (s *Store) GetByAccess(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	return s.get(ctx, kindAccess, access, "get by access")
}

// GetByRefresh returns the live record of refresh, a *oauth2.ReusedError
// for a rotated-out refresh token (while remembered), or
// oauth2.ErrNotFound.
func (s *Store) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	return s.get(ctx, kindRefresh, refresh, "get by refresh")
}

func (s *Store) get(ctx context.Context, k kind, value, op string) (oauth2.TokenInfo, error) {
	if value == "" {
		return nil, s.notFound(op)
	}
	h := digest(value)
	ctx, cancel := s.readOp(ctx)
	defer cancel()
	now := s.nowNanos()
	t, err := scanRecord(s.q.get[k.index()].row(ctx, nil, h, now))
	if errors.Is(err, sql.ErrNoRows) {
		if k == kindAccess {
			return nil, s.notFound(op)
		}
		return nil, s.replayed(ctx, k, h, now, op)
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	switch k {
	case kindCode:
		t.Code = value
	case kindAccess:
		t.Access = value
	case kindRefresh:
		t.Refresh = value
	}
	return t, nil
}

// scanRecord reads ReadColumns into a token without secret values.
func scanRecord(sr *sql.Row) (*models.Token, error) {
	var t models.Token
	var method string
	var created, ttl [3]sql.NullInt64
	var ext []byte
	err := sr.Scan(&t.GrantID, &t.ClientID, &t.UserID, &t.RedirectURI, &t.Scope, &t.CodeChallenge, &method,
		&created[0], &ttl[0], &created[1], &ttl[1], &created[2], &ttl[2], &ext)
	if err != nil {
		return nil, err
	}
	if len(ext) > 0 {
		// Written by url.Values.Encode, which ParseQuery reads back
		// exactly.
		if t.Extension, err = url.ParseQuery(string(ext)); err != nil {
			return nil, fmt.Errorf("stored extension data: %w", err)
		}
	}
	t.CodeChallengeMethod = oauth2.CodeChallengeMethod(method)
	at := func(n sql.NullInt64) time.Time {
		if !n.Valid {
			return time.Time{}
		}
		return time.Unix(0, n.Int64)
	}
	if ttl[0].Valid {
		t.CodeCreateAt, t.CodeExpiresIn = at(created[0]), time.Duration(ttl[0].Int64)
	} else {
		t.CodeChallenge, t.CodeChallengeMethod = "", ""
	}
	if ttl[1].Valid {
		t.AccessCreateAt, t.AccessExpiresIn = at(created[1]), time.Duration(ttl[1].Int64)
	}
	if ttl[2].Valid {
		t.RefreshCreateAt, t.RefreshExpiresIn = at(created[2]), time.Duration(ttl[2].Int64)
	}
	return &t, nil
}

// replayed tells a consumed key, still remembered, from an unknown one.
func (s *Store) replayed(ctx context.Context, k kind, h []byte, now int64, op string) error {
	var err error
	scanUsed(func(fn func(func(...any) error) error) {
		_ = fn(s.q.getUsed.row(ctx, nil, h, int64(k), now).Scan) // its error is in err
	}, &err)
	switch {
	case err == errMiss:
		return s.notFound(op)
	case errors.Is(err, oauth2.ErrReused):
		return err
	}
	return s.fail(ctx, op, err)
}

// scanUsed reads a row of the used-key query through query, setting *res
// to a *oauth2.ReusedError, errMiss when there is no row, or the engine's
// error.
func scanUsed(query func(fn func(func(...any) error) error), res *error) {
	query(func(scan func(...any) error) error {
		var grant string
		var client, redirect, challenge, method []byte
		err := scan(&grant, &client, &redirect, &challenge, &method)
		switch {
		case noRows(err):
			*res = errMiss
			return nil
		case err != nil:
			*res = err
			return err
		}
		re := &oauth2.ReusedError{GrantID: grant}
		if client != nil { // NULL in rows written before migration 3
			re.ClientID = string(client)
			re.Record = &models.Token{
				ClientID: re.ClientID, GrantID: grant, RedirectURI: string(redirect),
				CodeChallenge: string(challenge), CodeChallengeMethod: oauth2.CodeChallengeMethod(method),
			}
		}
		*res = re
		return nil
	})
}

// RemoveByCode removes the code, live or not. The record's other parts
// stay.
func (s *Store) RemoveByCode(ctx context.Context, code string) error {
	return s.remove(ctx, kindCode, code, "remove by code")
}

// RemoveByAccess removes the access token only.
func (s *Store) RemoveByAccess(ctx context.Context, access string) error {
	return s.remove(ctx, kindAccess, access, "remove by access")
}

// RemoveByRefresh removes the refresh token and the access token stored
// with it (RFC 7009 2.1).
func (s *Store) RemoveByRefresh(ctx context.Context, refresh string) error {
	return s.remove(ctx, kindRefresh, refresh, "remove by refresh")
}

// errMiss is the outcome of an op that found no live row to change.
var errMiss = errors.New("no live row")

// locked is the row a transaction holds for a change.
type locked struct {
	id                      int64
	grant, client, redirect string
	challenge, method       string
	expires                 int64
	alone                   bool // nothing else is left in the row without the part
}

// lock reads the live row of part k with hash h for a change, into l, and
// sets *found; the result is there after tx's next Sync.
func (s *Store) lock(tx BatchTx, k kind, h []byte, now int64, l *locked, found *bool) {
	*found = false
	tx.QueryRow(s.q.lock[k.index()].text, []any{h, now}, func(scan func(...any) error) error {
		err := scan(&l.id, &l.grant, &l.client, &l.redirect, &l.challenge, &l.method, &l.expires, &l.alone)
		if noRows(err) {
			return nil
		}
		*found = err == nil
		return err
	})
}

// drop removes part k of the locked row: the row itself when nothing else
// is left in it.
func (s *Store) drop(tx BatchTx, k kind, l *locked) {
	if l.alone {
		tx.Exec(s.q.deleteID.text, []any{l.id}, nil)
	} else {
		tx.Exec(s.q.clear[k.index()].text, []any{l.id}, nil)
	}
}

func (s *Store) remove(ctx context.Context, k kind, value, op string) error {
	if value == "" {
		return nil
	}
	h := digest(value)
	return s.write(ctx, op, func(tx BatchTx) error {
		var l locked
		var found bool
		s.lock(tx, k, h, math.MinInt64, &l, &found)
		if err := tx.Sync(); err != nil || !found {
			return err
		}
		s.drop(tx, k, &l)
		return nil
	}, nil)
}

// ExchangeCode atomically consumes the live code and stores issued's
// access and refresh parts in its place, under the code's grant (RFC 6749
// 4.1.2). The code is remembered until issued's last part expires. Of any
// number of concurrent calls, in one process or many, one succeeds and the
// others get a *oauth2.ReusedError; an unknown or expired code is
// oauth2.ErrNotFound. On error nothing is stored.
func (s *Store) ExchangeCode(ctx context.Context, code string, issued oauth2.TokenInfo) error {
	return s.consume(ctx, kindCode, code, issued, "exchange code")
}

// RotateRefresh atomically replaces the live record of refresh (its access
// and refresh tokens) with issued (RFC 6749 6, RFC 9700 4.14.2). Unless
// issued keeps the refresh value, the old one is remembered until the
// later of its own and issued's refresh expiry. Concurrency and errors are
// as for ExchangeCode.
func (s *Store) RotateRefresh(ctx context.Context, refresh string, issued oauth2.TokenInfo) error {
	return s.consume(ctx, kindRefresh, refresh, issued, "rotate refresh")
}

// consume runs in a batch: a locking read of the live row (its result
// needed before anything else is written, so the batch's statements so far
// are sent with it), then the used row and the issued record. A miss reads
// the used row in the same transaction, so that it sees a consumption by
// an op earlier in the batch.
func (s *Store) consume(ctx context.Context, k kind, value string, issued oauth2.TokenInfo, op string) error {
	if value == "" {
		return s.notFound(op)
	}
	h := digest(value)
	r := newRow(issued, false)
	kept := k == kindRefresh && issued.GetRefresh() == value
	now := s.nowNanos()
	var res error
	return s.write(ctx, op, func(tx BatchTx) error {
		res = nil
		var l locked
		var found bool
		s.lock(tx, k, h, now, &l, &found)
		if err := tx.Sync(); err != nil {
			return err
		}
		if !found {
			scanUsed(func(fn func(func(...any) error) error) {
				tx.QueryRow(s.q.getUsedTx.text, []any{h, int64(k), now}, fn)
			}, &res)
			return nil
		}
		issuedRow := *r
		if l.grant != "" {
			issuedRow.grant = l.grant
		}
		if !kept {
			// Remember the consumed key, with its grant and what it was
			// issued to, as long as a replay must be detected.
			until := l.expires
			if k == kindCode {
				until = max(until, r.lastExpiry())
			} else if p := r.parts[kindRefresh.index()]; p.hash != nil {
				until = max(until, p.expires)
			}
			tx.Exec(s.q.upsertUsed.text, []any{h, int64(k), []byte(issuedRow.grant), until,
				[]byte(l.client), []byte(l.redirect), []byte(l.challenge), []byte(l.method)}, nil)
		}
		switch {
		case issuedRow.empty():
			s.drop(tx, k, &l)
		case l.alone:
			// The issued record takes the consumed row's place.
			tx.Exec(s.q.replace.text, issuedRow.args(l.id), nil)
		default:
			s.drop(tx, k, &l)
			tx.Exec(s.q.insertRows[0].text, issuedRow.args(), nil)
		}
		return nil
	}, func() error {
		if res == errMiss {
			return s.notFound(op)
		}
		return res
	})
}

// RevokeGrant removes every live code and token of the grant (RFC 9700
// 4.14.2). Remembered consumed keys stay remembered. An empty grantID is a
// no-op.
func (s *Store) RevokeGrant(ctx context.Context, grantID string) error {
	if grantID == "" {
		return nil
	}
	args := []any{[]byte(grantID)}
	return s.write(ctx, "revoke grant", func(tx BatchTx) error {
		tx.Exec(s.q.revoke.text, args, nil)
		return nil
	}, nil)
}

// write runs run in the next batch (see batch.go), bounded by the store's
// timeout, and then result, when not nil, for the op's own outcome.
func (s *Store) write(ctx context.Context, name string, run func(BatchTx) error, result func() error) error {
	return s.submit(ctx, name, &op{run: run}, result)
}

// submit is write for an op already made.
func (s *Store) submit(ctx context.Context, name string, o *op, result func() error) error {
	err := s.c.do(ctx, o)
	if err == nil && result != nil {
		err = result()
	}
	return s.fail(ctx, name, err)
}
