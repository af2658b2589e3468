package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// testCreateThenGet checks that each part of a record finds the record with
// every non-secret field intact, and that a part the record lacks is not
// found.
func testCreateThenGet(t *testing.T, h Harness) {
	tests := []struct {
		name   string
		record func(e *env) *models.Token
	}{
		{"authorization code with PKCE", func(e *env) *models.Token { return e.codeRecord(newGrant()) }},
		{"access and refresh token of a grant", func(e *env) *models.Token { return e.tokenRecord(newGrant()) }},
		{"client credentials access token", func(e *env) *models.Token { return e.accessRecord() }},
		{"code, access and refresh in one record", func(e *env) *models.Token {
			r := e.tokenRecord(newGrant())
			c := e.codeRecord(r.GrantID)
			r.Code, r.CodeChallenge, r.CodeChallengeMethod = c.Code, c.CodeChallenge, c.CodeChallengeMethod
			r.CodeCreateAt, r.CodeExpiresIn = c.CodeCreateAt, c.CodeExpiresIn
			return r
		}},
		{"sub-second create time", func(e *env) *models.Token {
			r := e.tokenRecord(newGrant())
			r.AccessCreateAt = r.AccessCreateAt.Add(-123456 * time.Microsecond)
			r.RefreshCreateAt = r.RefreshCreateAt.Add(-987 * time.Millisecond)
			return r
		}},
		{"non-ASCII user and scope", func(e *env) *models.Token {
			r := e.accessRecord()
			r.UserID, r.Scope = "josé@example.com", "read write:ünïcode"
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, h)
			other := e.tokenRecord(newGrant())
			e.create(other)
			want := tt.record(e)
			e.create(want)
			for _, p := range parts {
				if key(want, p) == "" {
					continue
				}
				e.found(want, p)
			}
			e.found(other, partAccess)
		})
	}
}

// testRecordsAreCopies checks that a store keeps its own copy: changing the
// TokenInfo given to Create, or one returned by a Get, changes nothing
// stored.
func testRecordsAreCopies(t *testing.T, h Harness) {
	e := newEnv(t, h)
	in := e.tokenRecord(newGrant())
	want := *in
	e.create(in)
	in.ClientID, in.Scope, in.AccessExpiresIn = "mallory", "admin", 0
	got := e.found(&want, partAccess)
	got.SetScope("admin")
	got.SetGrantID("")
	got.SetAccessExpiresIn(0)
	e.found(&want, partAccess)
	e.found(&want, partRefresh)
}

// testPartsExpire checks that each part is found until its own expiry
// (CreateAt + ExpiresIn, by the store's clock) and never after, and that a
// part with ExpiresIn <= 0 never expires.
func testPartsExpire(t *testing.T, h Harness) {
	type step struct {
		at                    time.Duration // since creation
		code, access, refresh bool          // live at that time
	}
	tests := []struct {
		name   string
		code   time.Duration
		access time.Duration
		refr   time.Duration
		steps  []step
	}{
		{
			name: "code 10m, access 1h, refresh 24h",
			code: 10 * time.Minute, access: time.Hour, refr: 24 * time.Hour,
			steps: []step{
				{0, true, true, true},
				{9 * time.Minute, true, true, true},
				{11 * time.Minute, false, true, true},
				{59 * time.Minute, false, true, true},
				{2 * time.Hour, false, false, true},
				{23 * time.Hour, false, false, true},
				{25 * time.Hour, false, false, false},
			},
		},
		{
			name: "access outlives refresh",
			code: time.Minute, access: 2 * time.Hour, refr: time.Hour,
			steps: []step{
				{30 * time.Second, true, true, true},
				{90 * time.Minute, false, true, false},
				{3 * time.Hour, false, false, false},
			},
		},
		{
			name: "zero and negative lifetimes never expire",
			code: 0, access: -time.Second, refr: 0,
			steps: []step{
				{time.Hour, true, true, true},
				{10 * 365 * 24 * time.Hour, true, true, true},
			},
		},
		{
			name: "one second lifetimes",
			code: time.Second, access: time.Second, refr: 2 * time.Second,
			steps: []step{
				{999 * time.Millisecond, true, true, true},
				{1001 * time.Millisecond, false, false, true},
				{2001 * time.Millisecond, false, false, false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, h)
			rec := e.tokenRecord(newGrant())
			rec.Code, rec.CodeCreateAt, rec.CodeExpiresIn = newKey(), rec.AccessCreateAt, tt.code
			rec.AccessExpiresIn, rec.RefreshExpiresIn = tt.access, tt.refr
			e.create(rec)
			created := e.clock.Now()
			for _, s := range tt.steps {
				e.clock.Advance(created.Add(s.at).Sub(e.clock.Now()))
				live := map[part]bool{partCode: s.code, partAccess: s.access, partRefresh: s.refresh}
				for _, p := range parts {
					if live[p] {
						e.found(rec, p)
					} else {
						e.notFound(p, key(rec, p), "after "+s.at.String())
					}
				}
			}
		})
	}
}

// testCreateAllOrNothing checks that a Create whose key collides with a live
// record fails, stores none of its parts, and leaves the existing record
// as it was.
func testCreateAllOrNothing(t *testing.T, h Harness) {
	for _, collide := range parts {
		t.Run("duplicate "+collide.String(), func(t *testing.T) {
			e := newEnv(t, h)
			old := e.tokenRecord(newGrant())
			old.Code, old.CodeCreateAt, old.CodeExpiresIn = newKey(), old.AccessCreateAt, codeTTL
			e.create(old)

			dup := e.tokenRecord(newGrant())
			dup.ClientID, dup.Scope = "client-other", "write"
			dup.Code, dup.CodeCreateAt, dup.CodeExpiresIn = newKey(), dup.AccessCreateAt, codeTTL
			switch collide {
			case partCode:
				dup.Code = old.Code
			case partAccess:
				dup.Access = old.Access
			case partRefresh:
				dup.Refresh = old.Refresh
			}
			if err := e.s.Create(e.ctx, dup); err == nil {
				t.Fatalf("Create with a live record's %s succeeded, want an error", collide)
			}
			for _, p := range parts {
				if p != collide {
					e.notFound(p, key(dup, p), "part of a failed Create")
				}
				e.found(old, p)
			}
		})
	}
}

// testOddKeys checks that unknown, empty, huge and non-text keys are not
// found, are not consumed, and panic nothing.
func testOddKeys(t *testing.T, h Harness) {
	e := newEnv(t, h)
	rec := e.tokenRecord(newGrant())
	rec.Code, rec.CodeCreateAt, rec.CodeExpiresIn = newKey(), rec.AccessCreateAt, codeTTL
	e.create(rec)
	e.create(e.accessRecord())
	keys := []struct{ name, key string }{
		{"unknown", newKey()},
		{"empty", ""},
		{"10 KB", strings.Repeat("k", 10<<10)},
		{"invalid UTF-8", "\xff\xfe\xfd\x80"},
		{"binary with NUL", "\x00\x01\x02\x00tok\x00"},
		{"SQL and glob metacharacters", "' OR '1'='1'; -- *?[%_\\"},
		{"prefix of a live key", rec.Access[:len(rec.Access)-1]},
		{"live key with a suffix", rec.Access + "x"},
		{"live key in upper case", strings.ToUpper(rec.Refresh)},
		{"live key with spaces", " " + rec.Code + " "},
	}
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			e := &env{t: t, clock: e.clock, s: e.s, ctx: e.ctx}
			for _, p := range parts {
				e.notFound(p, k.key, "odd key")
			}
			issued := e.tokenRecord(rec.GrantID)
			if err := e.s.ExchangeCode(e.ctx, k.key, issued); !errors.Is(err, oauth2.ErrNotFound) {
				t.Fatalf("ExchangeCode = %v, want ErrNotFound", err)
			}
			if err := e.s.RotateRefresh(e.ctx, k.key, issued); !errors.Is(err, oauth2.ErrNotFound) {
				t.Fatalf("RotateRefresh = %v, want ErrNotFound", err)
			}
			e.notFound(partAccess, issued.Access, "issued by a failed call")
			e.notFound(partRefresh, issued.Refresh, "issued by a failed call")
			for name, remove := range removers(e) {
				if err := remove(k.key); err != nil {
					t.Fatalf("%s of a missing key = %v, want nil", name, err)
				}
			}
			if err := e.s.RevokeGrant(e.ctx, k.key); err != nil {
				t.Fatalf("RevokeGrant = %v, want nil", err)
			}
			for _, p := range parts {
				e.found(rec, p)
			}
		})
	}
}

func removers(e *env) map[string]func(string) error {
	return map[string]func(string) error{
		"RemoveByCode":    func(k string) error { return e.s.RemoveByCode(e.ctx, k) },
		"RemoveByAccess":  func(k string) error { return e.s.RemoveByAccess(e.ctx, k) },
		"RemoveByRefresh": func(k string) error { return e.s.RemoveByRefresh(e.ctx, k) },
	}
}

// testRemove checks the Remove methods: RemoveByRefresh also removes the
// access token stored with it (RFC 7009 2.1), RemoveByAccess only the access
// token, and removing twice is not an error.
func testRemove(t *testing.T, h Harness) {
	tests := []struct {
		name   string
		remove func(e *env, r *models.Token) error
		gone   []part
		kept   []part
	}{
		{"by code removes the code only",
			func(e *env, r *models.Token) error { return e.s.RemoveByCode(e.ctx, r.Code) },
			[]part{partCode}, []part{partAccess, partRefresh}},
		{"by access removes the access token only",
			func(e *env, r *models.Token) error { return e.s.RemoveByAccess(e.ctx, r.Access) },
			[]part{partAccess}, []part{partCode, partRefresh}},
		{"by refresh removes the access token with it",
			func(e *env, r *models.Token) error { return e.s.RemoveByRefresh(e.ctx, r.Refresh) },
			[]part{partAccess, partRefresh}, []part{partCode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, h)
			other := e.tokenRecord(newGrant())
			e.create(other)
			rec := e.tokenRecord(newGrant())
			rec.Code, rec.CodeCreateAt, rec.CodeExpiresIn = newKey(), rec.AccessCreateAt, codeTTL
			e.create(rec)
			for i := range 2 {
				if err := tt.remove(e, rec); err != nil {
					t.Fatalf("remove #%d = %v, want nil", i+1, err)
				}
				for _, p := range tt.gone {
					e.notFound(p, key(rec, p), "removed")
				}
				for _, p := range tt.kept {
					e.found(rec, p)
				}
			}
			for _, p := range []part{partAccess, partRefresh} {
				e.found(other, p)
			}
		})
	}
	t.Run("access removed then refresh still rotates", func(t *testing.T) {
		e := newEnv(t, h)
		rec := e.tokenRecord(newGrant())
		e.create(rec)
		if err := e.s.RemoveByAccess(e.ctx, rec.Access); err != nil {
			t.Fatal(err)
		}
		issued := e.tokenRecord(rec.GrantID)
		if err := e.s.RotateRefresh(e.ctx, rec.Refresh, issued); err != nil {
			t.Fatalf("RotateRefresh = %v", err)
		}
		e.found(issued, partAccess)
		e.found(issued, partRefresh)
	})
}

// testExpiredStaysGone checks that expired parts do not come back after
// many later operations, and that the store keeps working while it holds
// many expired entries.
func testExpiredStaysGone(t *testing.T, h Harness) {
	e := newEnv(t, h)
	const n = 64
	var expired, live []*models.Token
	for range n {
		r := e.tokenRecord(newGrant())
		r.Code, r.CodeCreateAt, r.CodeExpiresIn = newKey(), r.AccessCreateAt, time.Minute
		r.AccessExpiresIn, r.RefreshExpiresIn = time.Minute, 2*time.Minute
		e.create(r)
		expired = append(expired, r)
	}
	for range n / 4 {
		r := e.tokenRecord(newGrant())
		r.AccessExpiresIn, r.RefreshExpiresIn = 0, 0
		e.create(r)
		live = append(live, r)
	}
	e.clock.Advance(3 * time.Minute)
	for i := range 3 * n {
		r := e.tokenRecord(newGrant())
		e.create(r)
		e.found(r, partAccess)
		if i%3 == 0 {
			if err := e.s.RotateRefresh(e.ctx, r.Refresh, e.tokenRecord(r.GrantID)); err != nil {
				t.Fatalf("RotateRefresh: %v", err)
			}
		}
		if i%n == 0 {
			e.clock.Advance(time.Second)
		}
	}
	for _, r := range expired {
		for _, p := range parts {
			e.notFound(p, key(r, p), "expired")
		}
		if err := e.s.RotateRefresh(e.ctx, r.Refresh, e.tokenRecord(r.GrantID)); !errors.Is(err, oauth2.ErrNotFound) {
			t.Fatalf("RotateRefresh of an expired refresh token = %v, want ErrNotFound", err)
		}
		if err := e.s.ExchangeCode(e.ctx, r.Code, e.tokenRecord(r.GrantID)); !errors.Is(err, oauth2.ErrNotFound) {
			t.Fatalf("ExchangeCode of an expired code = %v, want ErrNotFound", err)
		}
	}
	for _, r := range live {
		e.found(r, partAccess)
		e.found(r, partRefresh)
	}
}

// testReopen checks that a second handle on the same data sees what the
// first wrote and consumed.
func testReopen(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("Harness.Reopen is not set: the store serves one process only")
	}
	e := newEnv(t, h)
	other := &env{t: t, clock: e.clock, s: h.Reopen(t, e.s, e.clock.Now), ctx: e.ctx}
	code := e.codeRecord(newGrant())
	e.create(code)
	other.found(code, partCode)
	issued := e.tokenRecord(code.GrantID)
	if err := other.s.ExchangeCode(other.ctx, code.Code, issued); err != nil {
		t.Fatalf("ExchangeCode on the second handle: %v", err)
	}
	e.reused(partCode, code.Code, code.GrantID, "code exchanged through the other handle")
	e.found(issued, partAccess)
	if err := e.s.RevokeGrant(e.ctx, code.GrantID); err != nil {
		t.Fatal(err)
	}
	other.notFound(partAccess, issued.Access, "revoked through the other handle")
	other.notFound(partRefresh, issued.Refresh, "revoked through the other handle")
}
