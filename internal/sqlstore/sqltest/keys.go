package sqltest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/opaque"
	"github.com/oauth2d/oauth2/internal/opaque/opaquetest"
	"github.com/oauth2d/oauth2/internal/sqlstore"
)

// testKeysFollowIssueOrder issues tokens a millisecond apart, out of order,
// and reads the stored access keys: each begins with its token's issue time,
// so that ordered by key they are ordered by issue time (the unique index
// grows at its right edge, internal/opaque).
func testKeysFollowIssueOrder(t *testing.T, e Engine) {
	ctx := t.Context()
	s := e.Open(t)
	start := time.Now().Truncate(time.Millisecond)
	want := make(map[string]time.Time) // stored key -> issue time
	for _, i := range []int{3, 0, 7, 1, 5, 2, 6, 4} {
		at := start.Add(time.Duration(i) * time.Millisecond)
		r := Tokens(at, "", time.Hour)
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		k := opaque.Key(r.Access)
		want[string(k[:])] = at
	}
	rows, err := sqlstore.DBOf(s).QueryContext(ctx, "SELECT access_hash FROM "+sqlstore.TablesOf(s).Tokens+" ORDER BY access_hash")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev time.Time
	n := 0
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		at, ok := want[string(k)]
		if !ok {
			t.Fatalf("stored key %x is not the key of an issued token", k)
		}
		if n > 0 && !at.After(prev) {
			t.Fatalf("key of the token of %v sorts after the token of %v", at, prev)
		}
		if got := time.UnixMilli(opaquetest.Millis(k[:6])); !got.Equal(at) {
			t.Fatalf("key begins with time %v, want the issue time %v", got, at)
		}
		prev = at
		n++
	}
	if err := rows.Err(); err != nil || n != len(want) {
		t.Fatalf("read %d keys (%v), want %d", n, err, len(want))
	}
}

// testValuesOfOtherFormsResolve stores codes and tokens of other forms
// (43 random characters, the form of earlier releases; a JWT; values of
// the time-ordered length without its form; 51 random characters) and finds, exchanges,
// rotates and removes them by every path: tokens stored before the
// library's form changed are still served.
func testValuesOfOtherFormsResolve(t *testing.T, e Engine) {
	ctx := t.Context()
	s := e.Open(t)
	now := time.Now()
	forms := map[string]func() string{
		"43 random characters": Key,
		"JWT": func() string {
			return "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"`+Key()+`"}`)) + "." + Key()
		},
		"the library's length, not its form": func() string { return "!" + opaque.New(now)[1:] },
		"52 base64url characters without the dot": func() string {
			return strings.Replace(opaque.New(now), ".", "A", 1)
		},
		"51 base64url characters of another generator": func() string {
			b := make([]byte, 38)
			_, _ = rand.Read(b)
			return base64.RawURLEncoding.EncodeToString(b)
		},
	}
	for name, value := range forms {
		t.Run(name, func(t *testing.T) {
			code := Code(now, "grant-"+Key()[:8], time.Minute)
			code.Code = value()
			if err := s.Create(ctx, code); err != nil {
				t.Fatal(err)
			}
			if got, err := s.GetByCode(ctx, code.Code); err != nil || got.GetCode() != code.Code {
				t.Fatalf("GetByCode: %v", err)
			}
			first := Tokens(now, code.GrantID, time.Hour)
			first.Access, first.Refresh = value(), value()
			if err := s.ExchangeCode(ctx, code.Code, first); err != nil {
				t.Fatalf("ExchangeCode: %v", err)
			}
			if err := s.ExchangeCode(ctx, code.Code, Tokens(now, code.GrantID, time.Hour)); !errors.Is(err, oauth2.ErrReused) {
				t.Fatalf("second ExchangeCode: %v, want ErrReused", err)
			}
			if got, err := s.GetByAccess(ctx, first.Access); err != nil || got.GetAccess() != first.Access {
				t.Fatalf("GetByAccess: %v", err)
			}
			second := Tokens(now, code.GrantID, time.Hour)
			second.Access, second.Refresh = value(), value()
			if err := s.RotateRefresh(ctx, first.Refresh, second); err != nil {
				t.Fatalf("RotateRefresh: %v", err)
			}
			if got, err := s.GetByRefresh(ctx, second.Refresh); err != nil || got.GetRefresh() != second.Refresh {
				t.Fatalf("GetByRefresh: %v", err)
			}
			if err := s.RemoveByAccess(ctx, second.Access); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetByAccess(ctx, second.Access); !errors.Is(err, oauth2.ErrNotFound) {
				t.Fatalf("GetByAccess after RemoveByAccess: %v, want ErrNotFound", err)
			}
		})
	}
}
