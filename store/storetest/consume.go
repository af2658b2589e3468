package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// testExchangeCode checks that a code is exchanged once (RFC 6749 4.1.2):
// the exchange consumes it and stores the issued tokens; a replay gives a
// *ReusedError with the grant and stores nothing; an unknown or expired code
// gives ErrNotFound and stores nothing.
func testExchangeCode(t *testing.T, h Harness) {
	t.Run("first exchange stores issued and consumes the code", func(t *testing.T) {
		e := newEnv(t, h)
		code := e.codeRecord(newGrant())
		e.create(code)
		e.clock.Advance(time.Minute)
		issued := e.tokenRecord(code.GrantID)
		if err := e.s.ExchangeCode(e.ctx, code.Code, issued); err != nil {
			t.Fatalf("ExchangeCode: %v", err)
		}
		e.found(issued, partAccess)
		e.found(issued, partRefresh)
		e.reused(partCode, code.Code, code.GrantID, "exchanged code")

		replay := e.tokenRecord(code.GrantID)
		err := e.s.ExchangeCode(e.ctx, code.Code, replay)
		checkReused(t, err, code.GrantID, "second ExchangeCode")
		e.notFound(partAccess, replay.Access, "issued by a replayed exchange")
		e.notFound(partRefresh, replay.Refresh, "issued by a replayed exchange")
		e.found(issued, partAccess)
	})
	t.Run("issued without refresh token", func(t *testing.T) {
		e := newEnv(t, h)
		code := e.codeRecord(newGrant())
		e.create(code)
		issued := e.tokenRecord(code.GrantID)
		issued.Refresh, issued.RefreshCreateAt, issued.RefreshExpiresIn = "", time.Time{}, 0
		if err := e.s.ExchangeCode(e.ctx, code.Code, issued); err != nil {
			t.Fatalf("ExchangeCode: %v", err)
		}
		e.found(issued, partAccess)
		e.reused(partCode, code.Code, code.GrantID, "exchanged code")
	})

	tests := []struct {
		name  string
		setup func(e *env) string // returns the code to exchange
	}{
		{"unknown code", func(e *env) string { return newKey() }},
		{"expired code", func(e *env) string {
			c := e.codeRecord(newGrant())
			e.create(c)
			e.clock.Advance(codeTTL + time.Second)
			return c.Code
		}},
		{"removed code", func(e *env) string {
			c := e.codeRecord(newGrant())
			e.create(c)
			if err := e.s.RemoveByCode(e.ctx, c.Code); err != nil {
				e.t.Fatal(err)
			}
			return c.Code
		}},
		{"access token presented as a code", func(e *env) string {
			r := e.tokenRecord(newGrant())
			e.create(r)
			return r.Access
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is not found and stores nothing", func(t *testing.T) {
			e := newEnv(t, h)
			code := tt.setup(e)
			issued := e.tokenRecord(newGrant())
			if err := e.s.ExchangeCode(e.ctx, code, issued); !errors.Is(err, oauth2.ErrNotFound) {
				t.Fatalf("ExchangeCode = %v, want ErrNotFound", err)
			}
			e.notFound(partAccess, issued.Access, "issued by a failed exchange")
			e.notFound(partRefresh, issued.Refresh, "issued by a failed exchange")
		})
	}
	t.Run("issued colliding with a live token stores nothing and keeps the code", func(t *testing.T) {
		e := newEnv(t, h)
		live := e.tokenRecord(newGrant())
		e.create(live)
		code := e.codeRecord(newGrant())
		e.create(code)
		issued := e.tokenRecord(code.GrantID)
		issued.Access = live.Access
		if err := e.s.ExchangeCode(e.ctx, code.Code, issued); err == nil {
			t.Fatal("ExchangeCode issuing a live access token succeeded, want an error")
		}
		e.notFound(partRefresh, issued.Refresh, "issued by a failed exchange")
		e.found(code, partCode)
		e.found(live, partAccess)
	})
}

// testExchangeReplayRemembered checks that a consumed code is remembered,
// with its grant, until the last part of what it issued expires.
func testExchangeReplayRemembered(t *testing.T, h Harness) {
	tests := []struct {
		name        string
		access      time.Duration
		refresh     time.Duration // 0: no refresh token
		rememberFor time.Duration
	}{
		{"access and refresh", time.Hour, 24 * time.Hour, 24 * time.Hour},
		{"access only", time.Hour, 0, time.Hour},
		{"refresh shorter than access", 3 * time.Hour, 2 * time.Hour, 3 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, h)
			code := e.codeRecord(newGrant())
			e.create(code)
			e.clock.Advance(5 * time.Minute)
			issued := e.tokenRecord(code.GrantID)
			issued.AccessExpiresIn, issued.RefreshExpiresIn = tt.access, tt.refresh
			if tt.refresh == 0 {
				issued.Refresh, issued.RefreshCreateAt = "", time.Time{}
			}
			if err := e.s.ExchangeCode(e.ctx, code.Code, issued); err != nil {
				t.Fatalf("ExchangeCode: %v", err)
			}
			e.clock.Advance(tt.rememberFor - time.Minute)
			e.reused(partCode, code.Code, code.GrantID, "just before issued's last expiry")
			replay := e.tokenRecord(code.GrantID)
			checkReused(t, e.s.ExchangeCode(e.ctx, code.Code, replay), code.GrantID, "ExchangeCode just before issued's last expiry")
			e.notFound(partAccess, replay.Access, "issued by a replayed exchange")
		})
	}
}

// testRotateRefresh checks refresh token rotation (RFC 6749 6, RFC 9700
// 4.14.2): the old refresh token and the access token stored with it are
// gone, the old refresh token is remembered with its grant, a replay stores
// nothing.
func testRotateRefresh(t *testing.T, h Harness) {
	t.Run("rotation replaces the record", func(t *testing.T) {
		e := newEnv(t, h)
		old := e.tokenRecord(newGrant())
		e.create(old)
		e.clock.Advance(30 * time.Minute)
		issued := e.tokenRecord(old.GrantID)
		if err := e.s.RotateRefresh(e.ctx, old.Refresh, issued); err != nil {
			t.Fatalf("RotateRefresh: %v", err)
		}
		e.notFound(partAccess, old.Access, "access token of a rotated refresh token")
		e.reused(partRefresh, old.Refresh, old.GrantID, "rotated-out refresh token")
		e.found(issued, partAccess)
		e.found(issued, partRefresh)

		replay := e.tokenRecord(old.GrantID)
		checkReused(t, e.s.RotateRefresh(e.ctx, old.Refresh, replay), old.GrantID, "second RotateRefresh")
		e.notFound(partAccess, replay.Access, "issued by a replayed rotation")
		e.notFound(partRefresh, replay.Refresh, "issued by a replayed rotation")
	})
	t.Run("issued keeping the refresh value", func(t *testing.T) {
		e := newEnv(t, h)
		old := e.tokenRecord(newGrant())
		e.create(old)
		e.clock.Advance(30 * time.Minute)
		issued := e.tokenRecord(old.GrantID)
		issued.Refresh, issued.RefreshCreateAt = old.Refresh, old.RefreshCreateAt
		if err := e.s.RotateRefresh(e.ctx, old.Refresh, issued); err != nil {
			t.Fatalf("RotateRefresh: %v", err)
		}
		e.notFound(partAccess, old.Access, "access token replaced by the rotation")
		e.found(issued, partAccess)
		e.found(issued, partRefresh)
		again := e.tokenRecord(old.GrantID)
		again.Refresh, again.RefreshCreateAt = old.Refresh, old.RefreshCreateAt
		if err := e.s.RotateRefresh(e.ctx, old.Refresh, again); err != nil {
			t.Fatalf("second RotateRefresh keeping the value: %v", err)
		}
		e.notFound(partAccess, issued.Access, "access token replaced by the second rotation")
		e.found(again, partAccess)
	})
	t.Run("access token expired, refresh token live", func(t *testing.T) {
		e := newEnv(t, h)
		old := e.tokenRecord(newGrant())
		e.create(old)
		e.clock.Advance(accessTTL + time.Minute)
		issued := e.tokenRecord(old.GrantID)
		if err := e.s.RotateRefresh(e.ctx, old.Refresh, issued); err != nil {
			t.Fatalf("RotateRefresh: %v", err)
		}
		e.found(issued, partAccess)
		e.reused(partRefresh, old.Refresh, old.GrantID, "rotated-out refresh token")
	})

	tests := []struct {
		name  string
		setup func(e *env) string // returns the refresh token to rotate
	}{
		{"unknown refresh token", func(e *env) string { return newKey() }},
		{"expired refresh token", func(e *env) string {
			r := e.tokenRecord(newGrant())
			e.create(r)
			e.clock.Advance(refreshTTL + time.Second)
			return r.Refresh
		}},
		{"removed refresh token", func(e *env) string {
			r := e.tokenRecord(newGrant())
			e.create(r)
			if err := e.s.RemoveByRefresh(e.ctx, r.Refresh); err != nil {
				e.t.Fatal(err)
			}
			return r.Refresh
		}},
		{"access token presented as a refresh token", func(e *env) string {
			r := e.tokenRecord(newGrant())
			e.create(r)
			return r.Access
		}},
		{"code presented as a refresh token", func(e *env) string {
			c := e.codeRecord(newGrant())
			e.create(c)
			return c.Code
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is not found and stores nothing", func(t *testing.T) {
			e := newEnv(t, h)
			refresh := tt.setup(e)
			issued := e.tokenRecord(newGrant())
			if err := e.s.RotateRefresh(e.ctx, refresh, issued); !errors.Is(err, oauth2.ErrNotFound) {
				t.Fatalf("RotateRefresh = %v, want ErrNotFound", err)
			}
			e.notFound(partAccess, issued.Access, "issued by a failed rotation")
			e.notFound(partRefresh, issued.Refresh, "issued by a failed rotation")
		})
	}
	t.Run("issued colliding with a live token stores nothing and keeps the old record", func(t *testing.T) {
		e := newEnv(t, h)
		live := e.tokenRecord(newGrant())
		e.create(live)
		old := e.tokenRecord(newGrant())
		e.create(old)
		issued := e.tokenRecord(old.GrantID)
		issued.Refresh = live.Refresh
		if err := e.s.RotateRefresh(e.ctx, old.Refresh, issued); err == nil {
			t.Fatal("RotateRefresh issuing a live refresh token succeeded, want an error")
		}
		e.notFound(partAccess, issued.Access, "issued by a failed rotation")
		e.found(old, partAccess)
		e.found(old, partRefresh)
		e.found(live, partRefresh)
	})
}

// testRotateReplayRemembered checks that a rotated-out refresh token is
// remembered until the later of its own and issued's refresh expiry.
func testRotateReplayRemembered(t *testing.T, h Harness) {
	tests := []struct {
		name        string
		oldRefresh  time.Duration
		newRefresh  time.Duration
		rotateAfter time.Duration
		rememberFor time.Duration // after the rotation
	}{
		{"issued refresh outlives the old one", 24 * time.Hour, 24 * time.Hour, 12 * time.Hour, 24 * time.Hour},
		{"old refresh outlives the issued one", 48 * time.Hour, time.Hour, time.Hour, 47 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, h)
			old := e.tokenRecord(newGrant())
			old.RefreshExpiresIn = tt.oldRefresh
			e.create(old)
			e.clock.Advance(tt.rotateAfter)
			issued := e.tokenRecord(old.GrantID)
			issued.RefreshExpiresIn = tt.newRefresh
			if err := e.s.RotateRefresh(e.ctx, old.Refresh, issued); err != nil {
				t.Fatalf("RotateRefresh: %v", err)
			}
			e.clock.Advance(tt.rememberFor - time.Minute)
			e.reused(partRefresh, old.Refresh, old.GrantID, "just before the later refresh expiry")
			replay := e.tokenRecord(old.GrantID)
			checkReused(t, e.s.RotateRefresh(e.ctx, old.Refresh, replay), old.GrantID, "RotateRefresh just before the later refresh expiry")
			e.notFound(partAccess, replay.Access, "issued by a replayed rotation")
		})
	}
}

// testRevokeGrant checks that RevokeGrant removes every live code and token
// of the grant, across the records of a code exchange and two rotations,
// keeps the replays remembered, and touches no other grant (RFC 9700
// 4.14.2, RFC 7009 2.1).
func testRevokeGrant(t *testing.T, h Harness) {
	e := newEnv(t, h)
	grant := newGrant()
	code := e.codeRecord(grant)
	e.create(code)
	pending := e.codeRecord(grant) // a second, unexchanged code of the grant
	e.create(pending)

	first := e.tokenRecord(grant)
	if err := e.s.ExchangeCode(e.ctx, code.Code, first); err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	second := e.tokenRecord(grant)
	if err := e.s.RotateRefresh(e.ctx, first.Refresh, second); err != nil {
		t.Fatalf("RotateRefresh: %v", err)
	}
	third := e.tokenRecord(grant)
	if err := e.s.RotateRefresh(e.ctx, second.Refresh, third); err != nil {
		t.Fatalf("RotateRefresh: %v", err)
	}
	extra := e.tokenRecord(grant) // another token of the grant, stored by Create
	e.create(extra)

	otherCode := e.codeRecord(newGrant())
	e.create(otherCode)
	otherTokens := e.tokenRecord(newGrant())
	e.create(otherTokens)
	noGrant := e.accessRecord()
	e.create(noGrant)
	noGrantRefresh := e.tokenRecord("")
	e.create(noGrantRefresh)

	keepOthers := func() {
		t.Helper()
		e.found(otherCode, partCode)
		e.found(otherTokens, partAccess)
		e.found(otherTokens, partRefresh)
		e.found(noGrant, partAccess)
		e.found(noGrantRefresh, partAccess)
		e.found(noGrantRefresh, partRefresh)
	}

	for _, g := range []string{"", newGrant()} {
		if err := e.s.RevokeGrant(e.ctx, g); err != nil {
			t.Fatalf("RevokeGrant(%q) = %v, want nil", g, err)
		}
	}
	e.found(third, partAccess)
	e.found(pending, partCode)
	keepOthers()

	if err := e.s.RevokeGrant(e.ctx, grant); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	e.notFound(partCode, pending.Code, "unexchanged code of a revoked grant")
	for _, r := range []*models.Token{third, extra} {
		e.notFound(partAccess, r.Access, "access token of a revoked grant")
		e.notFound(partRefresh, r.Refresh, "refresh token of a revoked grant")
	}
	e.gone(partAccess, first.Access, "access token of a revoked grant")
	e.gone(partAccess, second.Access, "access token of a revoked grant")
	e.reused(partCode, code.Code, grant, "consumed code after RevokeGrant")
	e.reused(partRefresh, first.Refresh, grant, "rotated-out refresh token after RevokeGrant")
	e.reused(partRefresh, second.Refresh, grant, "rotated-out refresh token after RevokeGrant")
	keepOthers()

	issued := e.tokenRecord(grant)
	if err := e.s.RotateRefresh(e.ctx, third.Refresh, issued); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("RotateRefresh of a revoked refresh token = %v, want ErrNotFound", err)
	}
	if err := e.s.ExchangeCode(e.ctx, pending.Code, issued); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("ExchangeCode of a revoked code = %v, want ErrNotFound", err)
	}
	e.notFound(partAccess, issued.Access, "issued from a revoked grant")
	if err := e.s.RevokeGrant(e.ctx, grant); err != nil {
		t.Fatalf("second RevokeGrant = %v, want nil", err)
	}
}
