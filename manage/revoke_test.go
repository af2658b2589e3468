package manage_test

import (
	stderrors "errors"
	"fmt"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/models"
)

// TestRevokeToken follows RFC 7009 2.1: the token is found whatever the
// hint, a refresh token takes its whole grant, another client's token is
// refused with unauthorized_client and left alone.
func TestRevokeToken(t *testing.T) {
	tests := []struct {
		name          string
		which         string // "access" or "refresh"
		hint          string
		client        string
		accessLive    bool // the grant's current access token afterwards
		refreshLive   bool
		otherSurvives bool
	}{
		{"access, access hint", "access", "access_token", "conf", false, true, true},
		{"access, refresh hint", "access", "refresh_token", "conf", false, true, true},
		{"access, no hint", "access", "", "conf", false, true, true},
		{"access, unknown hint", "access", "id_token", "conf", false, true, true},
		{"refresh, refresh hint", "refresh", "refresh_token", "conf", false, false, true},
		{"refresh, access hint", "refresh", "access_token", "conf", false, false, true},
		{"refresh, no hint", "refresh", "", "conf", false, false, true},
		{"access of another client", "access", "", "conf2", true, true, true},
		{"refresh of another client", "refresh", "", "conf2", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			first := e.issueGrant("")
			// Revoking the refresh token of a grant also takes the access
			// tokens of its earlier rotations.
			cur, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
			if err != nil {
				t.Fatal(err)
			}
			other := e.issueGrant("")
			token := cur.GetAccess()
			if tt.which == "refresh" {
				token = cur.GetRefresh()
			}
			err = e.m.RevokeToken(e.ctx, e.clients[tt.client], token, tt.hint)
			if foreign := tt.client != "conf"; foreign {
				if !stderrors.Is(err, errors.ErrUnauthorizedClient) {
					t.Fatalf("RevokeToken of another client's token = %v, want unauthorized_client", err)
				}
			} else if err != nil {
				t.Fatalf("RevokeToken: %v", err)
			}
			if got := e.accessLive(cur.GetAccess()); got != tt.accessLive {
				t.Fatalf("access live = %t, want %t", got, tt.accessLive)
			}
			if got := e.refreshLive(cur.GetRefresh()); got != tt.refreshLive {
				t.Fatalf("refresh live = %t, want %t", got, tt.refreshLive)
			}
			if tt.otherSurvives && (!e.accessLive(other.GetAccess()) || !e.refreshLive(other.GetRefresh())) {
				t.Fatal("revocation touched another grant")
			}
		})
	}
}

func TestRevokeToken_UnknownAndRotatedOutAreNoOps(t *testing.T) {
	e := newEnv(t)
	first := e.issueGrant("")
	cur, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"", "unknown", first.GetRefresh(), first.GetAccess()} {
		if err := e.m.RevokeToken(e.ctx, e.clients["conf"], token, ""); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
	}
	if !e.accessLive(cur.GetAccess()) || !e.refreshLive(cur.GetRefresh()) {
		t.Fatal("revoking an unknown or rotated-out token touched the live grant")
	}
	if err := e.m.RevokeToken(e.ctx, nil, cur.GetAccess(), ""); err == nil {
		t.Fatal("revocation without a client accepted")
	}
}

func TestRevokeToken_GrantlessRefreshRemoved(t *testing.T) {
	e := newEnv(t)
	// A record from an older store, with no grant ID.
	rec := &models.Token{ClientID: "conf", Access: "legacy-access", AccessCreateAt: e.clock.Now(),
		Refresh: "legacy-refresh", RefreshCreateAt: e.clock.Now()}
	if err := e.tokens.Create(e.ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := e.m.RevokeToken(e.ctx, e.clients["conf"], "legacy-refresh", "refresh_token"); err != nil {
		t.Fatal(err)
	}
	if e.accessLive("legacy-access") || e.refreshLive("legacy-refresh") {
		t.Fatal("grantless refresh token not removed with its access token")
	}
}

func TestRevokeToken_StoreErrorsWrapped(t *testing.T) {
	for _, op := range []string{"GetByAccess", "GetByRefresh", "RevokeGrant"} {
		t.Run(op, func(t *testing.T) {
			e := newEnv(t)
			ti := e.issueGrant("")
			down := fmt.Errorf("db: %w", oauth2.ErrUnavailable)
			e.m.MapTokenStorage(&failingStore{TokenStore: e.tokens, err: down, fail: map[string]bool{op: true}})
			err := e.m.RevokeToken(e.ctx, e.clients["conf"], ti.GetRefresh(), "")
			if errors.Code(err) != "temporarily_unavailable" {
				t.Fatalf("error %v maps to %q", err, errors.Code(err))
			}
			noSecrets(t, err, ti.GetRefresh())
		})
	}
}
