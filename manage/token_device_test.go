package manage_test

import (
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
)

// deviceClients are registered for the device grant (RFC 8628 3.4).
func addDeviceClients(e *env) {
	cs := newClientStore()
	for _, c := range e.clients {
		setClient(cs, c)
	}
	for _, c := range []*models.Client{
		{ID: "tv", Public: true, GrantTypes: []oauth2.GrantType{oauth2.DeviceCode, oauth2.Refreshing}, Scopes: []string{"read", "write"}},
		{ID: "tvNoRefresh", Public: true, GrantTypes: []oauth2.GrantType{oauth2.DeviceCode}},
	} {
		e.clients[c.ID] = c
		setClient(cs, c)
	}
	e.m.MapClientStorage(cs)
}

func TestDevice_IssuesAccessAndRefreshWithNewGrant(t *testing.T) {
	e := newEnv(t)
	addDeviceClients(e)
	tgr := &oauth2.TokenGenerateRequest{ClientID: "tv", Client: e.clients["tv"], UserID: "alice", Scope: "read"}
	ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.DeviceCode, tgr)
	if err != nil {
		t.Fatal(err)
	}
	if ti.GetAccess() == "" || ti.GetRefresh() == "" || ti.GetGrantID() == "" {
		t.Fatal("device grant: want an access token, a refresh token and a grant ID")
	}
	if ti.GetUserID() != "alice" || ti.GetClientID() != "tv" || ti.GetScope() != "read" {
		t.Fatalf("record = user %q client %q scope %q", ti.GetUserID(), ti.GetClientID(), ti.GetScope())
	}
	// The authorization code grant's configuration applies.
	if ti.GetAccessExpiresIn() != 2*time.Hour || ti.GetRefreshExpiresIn() != 72*time.Hour {
		t.Fatalf("lifetimes %v %v", ti.GetAccessExpiresIn(), ti.GetRefreshExpiresIn())
	}
	if !e.accessLive(ti.GetAccess()) || !e.refreshLive(ti.GetRefresh()) {
		t.Fatal("issued tokens are not stored")
	}
	// The refresh token rotates like any other grant's (RFC 9700 4.14.2).
	next, err := e.m.RefreshAccessToken(e.ctx, &oauth2.TokenGenerateRequest{ClientID: "tv", Client: e.clients["tv"], Refresh: ti.GetRefresh()})
	if err != nil {
		t.Fatal(err)
	}
	if next.GetGrantID() != ti.GetGrantID() || next.GetUserID() != "alice" {
		t.Fatal("refresh lost the device grant")
	}
	again, err := e.m.GenerateAccessToken(e.ctx, oauth2.DeviceCode, tgr)
	if err != nil || again.GetGrantID() == ti.GetGrantID() {
		t.Fatalf("a second device grant reused the grant ID: %v", err)
	}
}

func TestDevice_FollowsAuthorizeCodeTokenCfg(t *testing.T) {
	e := newEnv(t)
	addDeviceClients(e)
	e.m.SetAuthorizeCodeTokenCfg(&manage.Config{AccessTokenExp: time.Minute})
	ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.DeviceCode, &oauth2.TokenGenerateRequest{ClientID: "tv", Client: e.clients["tv"], UserID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if ti.GetAccessExpiresIn() != time.Minute || ti.GetRefresh() != "" {
		t.Fatalf("access %v, refresh issued %v: want one minute and no refresh token", ti.GetAccessExpiresIn(), ti.GetRefresh() != "")
	}
}

func TestDevice_Refusals(t *testing.T) {
	tests := []struct {
		name string
		tgr  oauth2.TokenGenerateRequest
		want error
	}{
		{"client not registered for the device grant", oauth2.TokenGenerateRequest{ClientID: "limited", ClientSecret: confSecret, UserID: "alice"}, errors.ErrUnauthorizedClient},
		{"no approving user", oauth2.TokenGenerateRequest{ClientID: "tv", UserID: ""}, errors.ErrInvalidGrant},
		{"scope outside the client's registration", oauth2.TokenGenerateRequest{ClientID: "tv", UserID: "alice", Scope: "read admin"}, errors.ErrInvalidScope},
		{"unknown client", oauth2.TokenGenerateRequest{ClientID: "nobody", UserID: "alice"}, errors.ErrInvalidClient},
		{"confidential client with a wrong secret", oauth2.TokenGenerateRequest{ClientID: "conf", ClientSecret: "wrong", UserID: "alice"}, errors.ErrInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			addDeviceClients(e)
			tgr := tt.tgr
			ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.DeviceCode, &tgr)
			wantErr(t, ti, err, tt.want)
		})
	}
}

func TestDevice_NoRefreshWhenClientLacksRefreshGrant(t *testing.T) {
	e := newEnv(t)
	addDeviceClients(e)
	ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.DeviceCode, &oauth2.TokenGenerateRequest{ClientID: "tvNoRefresh", UserID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if ti.GetAccess() == "" || ti.GetRefresh() != "" {
		t.Fatal("want an access token only")
	}
}

func TestKVStore_IsTheTokenStoreWhenItHasTheCapability(t *testing.T) {
	e := newEnv(t)
	kv := e.m.KVStore()
	if kv == nil {
		t.Fatal("the memory token store is a KVStore, the manager did not find it")
	}
	if kv != e.tokens.(oauth2.KVStore) {
		t.Fatal("KVStore is not the mapped token store")
	}
	if manage.NewManager().KVStore() != nil {
		t.Fatal("a manager without a token store returned a KVStore")
	}
	e.m.MapTokenStorage(&failingStore{TokenStore: e.tokens})
	if e.m.KVStore() != nil {
		t.Fatal("a token store without the capability returned a KVStore")
	}
}
