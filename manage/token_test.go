package manage_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/models"
)

func TestGenerateAccessToken_ClientAuthentication(t *testing.T) {
	hash, err := secret.Hash("hashed-secret-Pp2")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		client oauth2.ClientInfo // registered under ID "x" when set
		id     string
		secret string
		given  oauth2.ClientInfo // tgr.Client
		want   error             // nil: authenticated
	}{
		{"right secret", nil, "conf", confSecret, nil, nil},
		{"wrong secret", nil, "conf", confSecret + "x", nil, errors.ErrInvalidClient},
		{"missing secret", nil, "conf", "", nil, errors.ErrInvalidClient},
		{"unknown client", nil, "nobody", confSecret, nil, errors.ErrInvalidClient},
		{"empty client id", nil, "", "", nil, errors.ErrInvalidClient},
		{"hashed secret right", &models.Client{ID: "x", SecretHash: hash}, "x", "hashed-secret-Pp2", nil, nil},
		{"hashed secret wrong", &models.Client{ID: "x", SecretHash: hash}, "x", "hashed-secret-Pp3", nil, errors.ErrInvalidClient},
		{"seed client right", &seedClient{id: "x", secret: "seed-secret-Kk1"}, "x", "seed-secret-Kk1", nil, nil},
		{"seed client wrong", &seedClient{id: "x", secret: "seed-secret-Kk1"}, "x", "seed-secret-Kk2", nil, errors.ErrInvalidClient},
		{"seed client without secret, none sent", &seedClient{id: "x"}, "x", "", nil, errors.ErrInvalidClient},
		{"seed client without secret, one sent", &seedClient{id: "x"}, "x", "anything", nil, errors.ErrInvalidClient},
		{"confidential client without secret", &models.Client{ID: "x"}, "x", "", nil, errors.ErrInvalidClient},
		{"public client, no secret", &models.Client{ID: "x", Public: true}, "x", "", nil, nil},
		{"public client sends a secret", &models.Client{ID: "x", Public: true, Secret: "pub-secret-Hh5"}, "x", "pub-secret-Hh5", nil, errors.ErrInvalidClient},
		{"client authenticated by the server", nil, "", "", &models.Client{ID: "given", Secret: "ignored"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.client != nil {
				cs := newClientStore()
				setClient(cs, tt.client)
				e.m.MapClientStorage(cs)
			}
			// The password grant exercises authentication for public and
			// confidential clients alike.
			ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.PasswordCredentials, &oauth2.TokenGenerateRequest{
				ClientID: tt.id, ClientSecret: tt.secret, Client: tt.given, UserID: "alice",
			})
			if tt.want == nil {
				if err != nil || ti.GetAccess() == "" {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantErr(t, ti, err, tt.want, tt.secret)
			if errors.Code(err) != "invalid_client" {
				t.Fatalf("maps to %q", errors.Code(err))
			}
		})
	}
}

func TestGenerateAccessToken_GrantMustBeAllowedForClient(t *testing.T) {
	tests := []struct {
		name string
		gt   oauth2.GrantType
		id   string
		want error
	}{
		{"password for a code-only client", oauth2.PasswordCredentials, "limited", errors.ErrUnauthorizedClient},
		{"client credentials for a code-only client", oauth2.ClientCredentials, "limited", errors.ErrUnauthorizedClient},
		{"code for a client-credentials-only client", oauth2.AuthorizationCode, "ccOnly", errors.ErrUnauthorizedClient},
		{"refresh for a code-only client", oauth2.Refreshing, "limited", errors.ErrUnauthorizedClient},
		{"implicit is no token endpoint grant", oauth2.Implicit, "conf", errors.ErrUnsupportedGrantType},
		{"unknown grant", "urn:example:grant", "conf", errors.ErrUnsupportedGrantType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ti, err := e.m.GenerateAccessToken(e.ctx, tt.gt, &oauth2.TokenGenerateRequest{
				ClientID: tt.id, ClientSecret: confSecret, Code: "c", Refresh: "r", UserID: "alice",
			})
			wantErr(t, ti, err, tt.want)
		})
	}
}

func TestClientCredentials_RefusedForPublicClient(t *testing.T) {
	e := newEnv(t)
	for _, tgr := range []*oauth2.TokenGenerateRequest{
		{ClientID: "pubCC"},
		{ClientID: "pub"},
		{Client: &models.Client{ID: "given", Public: true}},
	} {
		ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.ClientCredentials, tgr)
		wantErr(t, ti, err, errors.ErrUnauthorizedClient)
	}
}

func TestClientCredentials_IssuesAccessOnly(t *testing.T) {
	tests := []struct {
		name, client, scope string
		exp                 time.Duration
		want                error
		wantExp             time.Duration
	}{
		{"default", "conf", "read", 0, nil, 2 * time.Hour},
		{"lifetime override", "conf", "", 90 * time.Second, nil, 90 * time.Second},
		{"scope within a client-credentials-only client", "ccOnly", "anything", 0, nil, 2 * time.Hour},
		{"client not allowed the grant", "limited", "read", 0, errors.ErrUnauthorizedClient, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{
				ClientID: tt.client, ClientSecret: confSecret, Scope: tt.scope, AccessTokenExp: tt.exp,
			})
			if tt.want != nil {
				wantErr(t, ti, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ti.GetAccess() == "" || ti.GetRefresh() != "" || ti.GetGrantID() != "" {
				t.Fatal("client credentials must issue an access token only, with no grant (RFC 6749 4.4.3)")
			}
			if ti.GetClientID() != tt.client || ti.GetScope() != tt.scope || ti.GetAccessExpiresIn() != tt.wantExp ||
				!ti.GetAccessCreateAt().Equal(e.clock.Now()) {
				t.Fatalf("record: client %q scope %q exp %v", ti.GetClientID(), ti.GetScope(), ti.GetAccessExpiresIn())
			}
			if !e.accessLive(ti.GetAccess()) {
				t.Fatal("token not stored")
			}
		})
	}
}

func TestScope_MustBeWithinClientScopes(t *testing.T) {
	cli := &models.Client{ID: "x", Secret: confSecret, Scopes: []string{"read", "write"}}
	tests := []struct {
		scope string
		ok    bool
	}{
		{"", true},
		{"read", true},
		{"read write", true},
		{"write  read", true},
		{"admin", false},
		{"read admin", false},
		{"rea", false},
		{"read,write", false},
		{"READ", false},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			e := newEnv(t)
			ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{Client: cli, Scope: tt.scope})
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantErr(t, ti, err, errors.ErrInvalidScope)
		})
	}
}

func TestPassword_IssuesRefreshWithNewGrant(t *testing.T) {
	e := newEnv(t)
	ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.PasswordCredentials, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret, UserID: "bob", Scope: "read",
	})
	if err != nil {
		t.Fatal(err)
	}
	if ti.GetAccess() == "" || ti.GetRefresh() == "" || ti.GetGrantID() == "" || ti.GetUserID() != "bob" {
		t.Fatal("password grant: want access, refresh, a grant ID and the user")
	}
	if ti.GetAccessExpiresIn() != 2*time.Hour || ti.GetRefreshExpiresIn() != 7*24*time.Hour {
		t.Fatalf("lifetimes %v %v", ti.GetAccessExpiresIn(), ti.GetRefreshExpiresIn())
	}
	// Its rotation and replay detection work like any other grant's.
	next, err := e.refresh("conf", confSecret, ti.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.refresh("conf", confSecret, ti.GetRefresh(), ""); err == nil {
		t.Fatal("replay accepted")
	}
	if e.accessLive(next.GetAccess()) {
		t.Fatal("replay did not revoke the password grant's family")
	}
	ti2, err := e.m.GenerateAccessToken(e.ctx, oauth2.PasswordCredentials, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret, UserID: "bob",
	})
	if err != nil || ti2.GetGrantID() == ti.GetGrantID() {
		t.Fatalf("grant ID reused: %v", err)
	}
}

func TestGenerateAccessToken_StoreFailureReturnsNothing(t *testing.T) {
	for _, gt := range []oauth2.GrantType{oauth2.ClientCredentials, oauth2.PasswordCredentials} {
		t.Run(gt.String(), func(t *testing.T) {
			e := newEnv(t)
			down := fmt.Errorf("db: %w", oauth2.ErrUnavailable)
			e.m.MapTokenStorage(&failingStore{TokenStore: e.tokens, err: down, fail: map[string]bool{"Create": true}})
			ti, err := e.m.GenerateAccessToken(e.ctx, gt, &oauth2.TokenGenerateRequest{ClientID: "conf", ClientSecret: confSecret, UserID: "u"})
			wantErr(t, ti, err, oauth2.ErrUnavailable)
		})
	}
}

func TestLoadAccessToken(t *testing.T) {
	e := newEnv(t)
	ti := e.issueGrant("read")
	got, err := e.m.LoadAccessToken(e.ctx, ti.GetAccess())
	if err != nil || got.GetScope() != "read" || got.GetClientID() != "conf" {
		t.Fatalf("LoadAccessToken: %v", err)
	}
	for _, access := range []string{"", "unknown", ti.GetRefresh()} {
		got, err := e.m.LoadAccessToken(e.ctx, access)
		wantErr(t, got, err, errors.ErrInvalidAccessToken)
	}
	e.clock.Advance(2 * time.Hour)
	got, err = e.m.LoadAccessToken(e.ctx, ti.GetAccess())
	wantErr(t, got, err, errors.ErrInvalidToken)
}

// TestLoadAccessToken_ExpiryCheckedByManagerClock: defence in depth, the
// manager refuses an expired token a store still returns.
func TestLoadAccessToken_ExpiryCheckedByManagerClock(t *testing.T) {
	e := newEnv(t)
	ti := e.issueGrant("")
	late := e.clock.Now().Add(2 * time.Hour)
	e.m.SetClock(func() time.Time { return late })
	got, err := e.m.LoadAccessToken(e.ctx, ti.GetAccess())
	wantErr(t, got, err, errors.ErrExpiredAccessToken)
	late = late.Add(72 * time.Hour)
	got, err = e.m.LoadRefreshToken(e.ctx, ti.GetRefresh())
	wantErr(t, got, err, errors.ErrExpiredRefreshToken)
}

func TestLoadRefreshToken_RotatedOutIsInvalidWithoutRevocation(t *testing.T) {
	e := newEnv(t)
	ti := e.issueGrant("")
	next, err := e.refresh("conf", confSecret, ti.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.m.LoadRefreshToken(e.ctx, ti.GetRefresh())
	wantErr(t, got, err, errors.ErrInvalidRefreshToken)
	if !e.accessLive(next.GetAccess()) || !e.refreshLive(next.GetRefresh()) {
		t.Fatal("a mere load of a rotated-out token revoked the grant")
	}
	for _, r := range []string{"", "unknown"} {
		got, err := e.m.LoadRefreshToken(e.ctx, r)
		wantErr(t, got, err, errors.ErrInvalidRefreshToken)
	}
}

func TestRemoveTokens(t *testing.T) {
	e := newEnv(t)
	ti := e.issueGrant("")
	if err := e.m.RemoveAccessToken(e.ctx, ti.GetAccess()); err != nil {
		t.Fatal(err)
	}
	if e.accessLive(ti.GetAccess()) || !e.refreshLive(ti.GetRefresh()) {
		t.Fatal("RemoveAccessToken must remove the access token only")
	}
	ti = e.issueGrant("")
	if err := e.m.RemoveRefreshToken(e.ctx, ti.GetRefresh()); err != nil {
		t.Fatal(err)
	}
	if e.accessLive(ti.GetAccess()) || e.refreshLive(ti.GetRefresh()) {
		t.Fatal("RemoveRefreshToken must remove the refresh token and its access token")
	}
	if err := e.m.RemoveAccessToken(e.ctx, "unknown"); err != nil {
		t.Fatalf("removing an unknown token: %v", err)
	}
}
