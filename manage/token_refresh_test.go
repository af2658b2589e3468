package manage_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
)

func TestRefresh_RotatesByDefault(t *testing.T) {
	e := newEnv(t)
	first := e.issueGrant("read write")
	e.clock.Advance(time.Hour)
	next, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	if next.GetAccess() == first.GetAccess() || next.GetRefresh() == first.GetRefresh() || next.GetRefresh() == "" {
		t.Fatal("want a new access and a new refresh token")
	}
	if next.GetClientID() != "conf" || next.GetUserID() != "alice" || next.GetScope() != "read write" ||
		next.GetRedirectURI() != confRedirect || next.GetGrantID() != first.GetGrantID() {
		t.Fatal("refreshed record does not keep the grant's client, user, scope, redirect and grant ID")
	}
	now := e.clock.Now()
	if !next.GetAccessCreateAt().Equal(now) || next.GetAccessExpiresIn() != 2*time.Hour {
		t.Fatalf("access %v %v", next.GetAccessCreateAt(), next.GetAccessExpiresIn())
	}
	// Refreshing does not extend the grant: the new refresh token expires
	// when the first one would have.
	if !next.GetRefreshCreateAt().Equal(now) ||
		!next.GetRefreshCreateAt().Add(next.GetRefreshExpiresIn()).Equal(first.GetRefreshCreateAt().Add(72*time.Hour)) {
		t.Fatalf("refresh %v %v", next.GetRefreshCreateAt(), next.GetRefreshExpiresIn())
	}
	if e.accessLive(first.GetAccess()) || e.refreshLive(first.GetRefresh()) {
		t.Fatal("old pair still live after rotation")
	}
	if !e.accessLive(next.GetAccess()) || !e.refreshLive(next.GetRefresh()) {
		t.Fatal("new pair not stored")
	}
}

// TestRefresh_RotatedTokenReplayRevokesFamily: RFC 9700 4.14.2.
func TestRefresh_RotatedTokenReplayRevokesFamily(t *testing.T) {
	e := newEnv(t)
	first := e.issueGrant("")
	second, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	third, err := e.refresh("conf", confSecret, second.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	other := e.issueGrant("")

	ti, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
	wantErr(t, ti, err, errors.ErrInvalidRefreshToken, first.GetRefresh())
	if e.accessLive(third.GetAccess()) || e.refreshLive(third.GetRefresh()) {
		t.Fatal("replay of a rotated-out token left the family live")
	}
	if !e.accessLive(other.GetAccess()) || !e.refreshLive(other.GetRefresh()) {
		t.Fatal("replay revoked another grant")
	}
	// The legitimate holder's current token is gone too.
	ti, err = e.refresh("conf", confSecret, third.GetRefresh(), "")
	wantErr(t, ti, err, errors.ErrInvalidRefreshToken)
}

func TestRefresh_ConcurrentRotationHasOneWinner(t *testing.T) {
	e := newEnv(t)
	first := e.issueGrant("")
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []oauth2.TokenInfo
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ti, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
			if err != nil {
				if !stderrors.Is(err, errors.ErrInvalidGrant) || ti != nil {
					t.Errorf("loser got %v", err)
				}
				return
			}
			mu.Lock()
			winners = append(winners, ti)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d winners, want 1", len(winners))
	}
	if e.refreshLive(winners[0].GetRefresh()) {
		t.Fatal("losing a concurrent rotation did not revoke the family")
	}
}

// TestRefresh_CannotWidenScope: RFC 6749 6.
func TestRefresh_CannotWidenScope(t *testing.T) {
	tests := []struct {
		name, granted, requested, want string
		ok                             bool
	}{
		{"empty keeps the original", "read write", "", "read write", true},
		{"same", "read write", "read write", "read write", true},
		{"narrower", "read write", "read", "read", true},
		{"reordered", "read write", "write read", "write read", true},
		{"wider", "read", "read write", "", false},
		{"other", "read", "admin", "", false},
		{"prefix of a granted scope", "read", "rea", "", false},
		{"any scope when none was granted", "", "read", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExtensionEnv(t)
			first := e.issueGrant(tt.granted)
			ti, err := e.refresh("conf", confSecret, first.GetRefresh(), tt.requested)
			if !tt.ok {
				wantErr(t, ti, err, errors.ErrInvalidScope)
				if !e.refreshLive(first.GetRefresh()) {
					t.Fatal("a refused refresh consumed the refresh token")
				}
				return
			}
			if err != nil || ti.GetScope() != tt.want {
				t.Fatalf("scope %q, %v; want %q", scopeOf(ti), err, tt.want)
			}
			// A refresh without scope gets the original scope back, even
			// after a narrowed one (RFC 6749 6); the narrowing was the
			// access token's, not the grant's.
			again, err := e.refresh("conf", confSecret, ti.GetRefresh(), "")
			if err != nil || again.GetScope() != tt.granted {
				t.Fatalf("second refresh scope %q, %v; want the original %q", scopeOf(again), err, tt.granted)
			}
		})
	}
}

// newExtensionEnv is newEnv over extensionStore, for the tests of data a
// grant keeps in its extension (the scope originally granted).
func newExtensionEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.tokens = newExtensionStore(t, e.clock.Now)
	e.m.MapTokenStorage(e.tokens)
	return e
}

// TestRefresh_OmittedScopeAfterNarrowingIsTheOriginal follows a grant
// through narrowing refreshes: a refresh may ask for any part of the scope
// the resource owner granted, however narrow the previous access token was,
// and a refresh without scope gets all of it back (RFC 6749 6: "if omitted
// is treated as equal to the scope originally granted by the resource
// owner"). It never gets more.
func TestRefresh_OmittedScopeAfterNarrowingIsTheOriginal(t *testing.T) {
	e := newExtensionEnv(t)
	first := e.issueGrant("read write admin")
	steps := []struct {
		requested, want string
		ok              bool
	}{
		{"read", "read", true},
		{"", "read write admin", true},
		{"write", "write", true},
		{"read admin", "read admin", true},
		{"delete", "", false},
		{"", "read write admin", true},
		{"", "read write admin", true},
	}
	cur := first
	for i, st := range steps {
		next, err := e.refresh("conf", confSecret, cur.GetRefresh(), st.requested)
		if !st.ok {
			wantErr(t, next, err, errors.ErrInvalidScope)
			continue
		}
		if err != nil || next.GetScope() != st.want {
			t.Fatalf("step %d (scope %q): got %q, %v; want %q", i, st.requested, scopeOf(next), err, st.want)
		}
		// The access token carries the narrowed scope, for resource
		// servers and introspection.
		at, err := e.m.LoadAccessToken(e.ctx, next.GetAccess())
		if err != nil || at.GetScope() != st.want {
			t.Fatalf("step %d: access token scope %q, %v", i, scopeOf(at), err)
		}
		cur = next
	}
}

func scopeOf(ti oauth2.TokenInfo) string {
	if ti == nil {
		return "<nil>"
	}
	return ti.GetScope()
}

// TestRefresh_BoundToClient: a refresh token works only for the client it
// was issued to (RFC 6749 6), and another client's attempt does not consume
// it.
func TestRefresh_BoundToClient(t *testing.T) {
	e := newEnv(t)
	first := e.issueGrant("")
	ti, err := e.refresh("conf2", confSecret, first.GetRefresh(), "")
	wantErr(t, ti, err, errors.ErrInvalidRefreshToken)
	ti, err = e.m.RefreshAccessToken(e.ctx, &oauth2.TokenGenerateRequest{
		Client: &models.Client{ID: "intruder"}, Refresh: first.GetRefresh(),
	})
	wantErr(t, ti, err, errors.ErrInvalidRefreshToken)
	if _, err := e.refresh("conf", confSecret, first.GetRefresh(), ""); err != nil {
		t.Fatalf("owner's refresh refused after another client's attempt: %v", err)
	}
}

func TestRefresh_ClientAuthenticated(t *testing.T) {
	e := newEnv(t)
	first := e.issueGrant("")
	for _, s := range []string{"", "wrong"} {
		ti, err := e.refresh("conf", s, first.GetRefresh(), "")
		wantErr(t, ti, err, errors.ErrInvalidClient)
	}
	if !e.refreshLive(first.GetRefresh()) {
		t.Fatal("failed authentication consumed the refresh token")
	}
}

func TestRefresh_UnknownOrExpired(t *testing.T) {
	e := newEnv(t)
	for _, r := range []string{"", "unknown"} {
		ti, err := e.refresh("conf", confSecret, r, "")
		wantErr(t, ti, err, errors.ErrInvalidRefreshToken)
	}
	first := e.issueGrant("")
	e.clock.Advance(72 * time.Hour)
	ti, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
	wantErr(t, ti, err, errors.ErrInvalidGrant)
}

func TestRefresh_Config(t *testing.T) {
	tests := []struct {
		name        string
		cfg         manage.RefreshingConfig
		sameRefresh bool
		accessExp   time.Duration
		refreshEnd  func(first oauth2.TokenInfo, now time.Time) time.Time
	}{
		{
			name: "rotation, lifetime kept", cfg: manage.RefreshingConfig{IsGenerateRefresh: true},
			accessExp:  2 * time.Hour,
			refreshEnd: func(f oauth2.TokenInfo, _ time.Time) time.Time { return f.GetRefreshCreateAt().Add(72 * time.Hour) },
		},
		{
			name: "rotation, lifetime reset", cfg: manage.RefreshingConfig{IsGenerateRefresh: true, IsResetRefreshTime: true},
			accessExp:  2 * time.Hour,
			refreshEnd: func(_ oauth2.TokenInfo, now time.Time) time.Time { return now.Add(72 * time.Hour) },
		},
		{
			name: "rotation, new lifetimes", cfg: manage.RefreshingConfig{IsGenerateRefresh: true, AccessTokenExp: time.Minute, RefreshTokenExp: 10 * time.Hour, IsResetRefreshTime: true},
			accessExp:  time.Minute,
			refreshEnd: func(_ oauth2.TokenInfo, now time.Time) time.Time { return now.Add(10 * time.Hour) },
		},
		{
			name: "same refresh value", cfg: manage.RefreshingConfig{}, sameRefresh: true,
			accessExp:  2 * time.Hour,
			refreshEnd: func(f oauth2.TokenInfo, _ time.Time) time.Time { return f.GetRefreshCreateAt().Add(72 * time.Hour) },
		},
		{
			name: "same refresh value, lifetime reset", cfg: manage.RefreshingConfig{IsResetRefreshTime: true}, sameRefresh: true,
			accessExp:  2 * time.Hour,
			refreshEnd: func(_ oauth2.TokenInfo, now time.Time) time.Time { return now.Add(72 * time.Hour) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.m.SetRefreshTokenCfg(&tt.cfg)
			first := e.issueGrant("")
			e.clock.Advance(time.Hour)
			next, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
			if err != nil {
				t.Fatal(err)
			}
			if (next.GetRefresh() == first.GetRefresh()) != tt.sameRefresh {
				t.Fatalf("same refresh value = %t, want %t", next.GetRefresh() == first.GetRefresh(), tt.sameRefresh)
			}
			if next.GetAccess() == first.GetAccess() || e.accessLive(first.GetAccess()) {
				t.Fatal("old access token must be replaced")
			}
			if next.GetAccessExpiresIn() != tt.accessExp {
				t.Fatalf("access lifetime %v, want %v", next.GetAccessExpiresIn(), tt.accessExp)
			}
			end := next.GetRefreshCreateAt().Add(next.GetRefreshExpiresIn())
			if want := tt.refreshEnd(first, e.clock.Now()); !end.Equal(want) {
				t.Fatalf("refresh token ends at %v, want %v", end, want)
			}
			if !e.refreshLive(next.GetRefresh()) {
				t.Fatal("refresh token not live")
			}
			// Without rotation the same value refreshes again.
			if tt.sameRefresh {
				if _, err := e.refresh("conf", confSecret, first.GetRefresh(), ""); err != nil {
					t.Fatalf("kept refresh token refused: %v", err)
				}
			}
		})
	}
}

func TestRefresh_AccessTokenExpOverride(t *testing.T) {
	e := newEnv(t)
	first := e.issueGrant("")
	ti, err := e.m.RefreshAccessToken(e.ctx, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret, Refresh: first.GetRefresh(), AccessTokenExp: 42 * time.Second,
	})
	if err != nil || ti.GetAccessExpiresIn() != 42*time.Second {
		t.Fatalf("override ignored: %v", err)
	}
	// GenerateAccessToken delegates the refresh_token grant.
	ti, err = e.m.GenerateAccessToken(e.ctx, oauth2.Refreshing, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret, Refresh: ti.GetRefresh(),
	})
	if err != nil || ti.GetAccess() == "" {
		t.Fatalf("GenerateAccessToken(refresh_token): %v", err)
	}
}

func TestRefresh_StoreErrorsWrapped(t *testing.T) {
	for _, op := range []string{"GetByRefresh", "RotateRefresh"} {
		t.Run(op, func(t *testing.T) {
			e := newEnv(t)
			first := e.issueGrant("")
			down := fmt.Errorf("db: %w", oauth2.ErrUnavailable)
			e.m.MapTokenStorage(&failingStore{TokenStore: e.tokens, err: down, fail: map[string]bool{op: true}})
			ti, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
			wantErr(t, ti, err, oauth2.ErrUnavailable, first.GetRefresh())
			e.m.MapTokenStorage(e.tokens)
			if _, err := e.refresh("conf", confSecret, first.GetRefresh(), ""); err != nil {
				t.Fatalf("refresh token lost after a store failure: %v", err)
			}
		})
	}
}

// TestRefresh_AfterAccessExpiredStillExpires: refreshing once the access
// token has expired (the usual case) issues an access token that expires.
func TestRefresh_AfterAccessExpiredStillExpires(t *testing.T) {
	e := newEnv(t)
	first := e.issueGrant("")
	e.clock.Advance(3 * time.Hour)
	next, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	if next.GetAccessExpiresIn() != 2*time.Hour {
		t.Fatalf("access lifetime %v, want 2h", next.GetAccessExpiresIn())
	}
}

// noAccessPart is a store whose GetByRefresh returns the record without its
// access part, as a store may once the access token has expired.
type noAccessPart struct{ oauth2.TokenStore }

func (s noAccessPart) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	ti, err := s.TokenStore.GetByRefresh(ctx, refresh)
	if err == nil {
		ti.SetAccess("")
		ti.SetAccessCreateAt(time.Time{})
		ti.SetAccessExpiresIn(0)
	}
	return ti, err
}

// TestRefresh_NeverIssuesNonExpiringAccessByAccident: without an access
// lifetime in the refresh config or the stored record, the new access token
// gets the authorization code grant's lifetime, not "never expires".
func TestRefresh_NeverIssuesNonExpiringAccessByAccident(t *testing.T) {
	e := newEnv(t)
	first := e.issueGrant("")
	e.m.MapTokenStorage(noAccessPart{e.tokens})
	next, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	if next.GetAccessExpiresIn() != 2*time.Hour {
		t.Fatalf("access lifetime %v, want 2h", next.GetAccessExpiresIn())
	}
}

// TestRefresh_PublicClientsAlwaysRotate: a public client's refresh token is
// rotated at every refresh even when rotation is turned off for the
// server, and the rotated-out token's replay revokes the grant (RFC 9700
// 4.14.2); a confidential client keeps its refresh token as configured.
func TestRefresh_PublicClientsAlwaysRotate(t *testing.T) {
	e := newEnv(t)
	e.m.SetRefreshTokenCfg(&manage.RefreshingConfig{IsGenerateRefresh: false})

	code := e.authorize("pub", pubRedirect, "", rfcVerifier)
	first, err := e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
		ClientID: "pub", Code: code.GetCode(), RedirectURI: pubRedirect, CodeVerifier: rfcVerifier,
	})
	if err != nil {
		t.Fatal(err)
	}
	next, err := e.refresh("pub", "", first.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	if next.GetRefresh() == "" || next.GetRefresh() == first.GetRefresh() {
		t.Fatal("a public client's refresh token was not rotated")
	}
	if e.refreshLive(first.GetRefresh()) {
		t.Fatal("the rotated-out refresh token is still live")
	}
	ti, err := e.refresh("pub", "", first.GetRefresh(), "")
	wantErr(t, ti, err, errors.ErrInvalidRefreshToken)
	if e.accessLive(next.GetAccess()) || e.refreshLive(next.GetRefresh()) {
		t.Fatal("replaying the rotated-out token did not revoke the grant")
	}

	conf := e.issueGrant("")
	kept, err := e.refresh("conf", confSecret, conf.GetRefresh(), "")
	if err != nil || kept.GetRefresh() != conf.GetRefresh() {
		t.Fatalf("a confidential client's refresh token changed with rotation off: %v", err)
	}
}
