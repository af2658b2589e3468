package manage_test

import (
	"encoding/base64"
	stderrors "errors"
	"fmt"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/models"
)

func TestGenerateAuthToken_RefusesBadRequests(t *testing.T) {
	tests := []struct {
		name string
		rt   oauth2.ResponseType
		tgr  oauth2.TokenGenerateRequest
		want error
	}{
		{"unknown client", oauth2.Code, oauth2.TokenGenerateRequest{ClientID: "nobody", RedirectURI: confRedirect}, errors.ErrInvalidClient},
		{"empty client id", oauth2.Code, oauth2.TokenGenerateRequest{RedirectURI: confRedirect}, errors.ErrInvalidClient},
		{"unregistered redirect", oauth2.Code, oauth2.TokenGenerateRequest{ClientID: "conf", RedirectURI: "https://evil.example/cb"}, errors.ErrInvalidRedirectURI},
		{"redirect with fragment", oauth2.Code, oauth2.TokenGenerateRequest{ClientID: "conf", RedirectURI: confRedirect + "#x"}, errors.ErrInvalidRedirectURI},
		{"client without redirect", oauth2.Code, oauth2.TokenGenerateRequest{ClientID: "nowhere"}, errors.ErrInvalidRedirectURI},
		{"domain client, other host", oauth2.Code, oauth2.TokenGenerateRequest{ClientID: "domain", RedirectURI: "https://client.example.org.evil.com/cb"}, errors.ErrInvalidRedirectURI},
		{"code not among the client's grants", oauth2.Code, oauth2.TokenGenerateRequest{ClientID: "implicitName", RedirectURI: pubRedirect}, errors.ErrUnauthorizedClient},
		{"implicit not among the client's grants", oauth2.Token, oauth2.TokenGenerateRequest{ClientID: "limited", RedirectURI: confRedirect}, errors.ErrUnauthorizedClient},
		{"scope outside the client's", oauth2.Code, oauth2.TokenGenerateRequest{ClientID: "limited", RedirectURI: confRedirect, Scope: "read admin"}, errors.ErrInvalidScope},
		{"unknown response type", "id_token", oauth2.TokenGenerateRequest{ClientID: "conf", RedirectURI: confRedirect}, errors.ErrUnsupportedResponseType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ti, err := e.m.GenerateAuthToken(e.ctx, tt.rt, &tt.tgr)
			wantErr(t, ti, err, tt.want)
		})
	}
}

func TestGenerateAuthToken_CodeRecord(t *testing.T) {
	tests := []struct {
		name, client, redirect, scope string
		challenge                     string
		method, wantMethod            oauth2.CodeChallengeMethod
	}{
		{"redirect as requested", "conf", confRedirect, "read write", rfcChallenge, oauth2.CodeChallengeS256, oauth2.CodeChallengeS256},
		{"omitted redirect stays empty", "conf", "", "", "", "", ""},
		{"loopback redirect kept with its port", "pub", "http://127.0.0.1:4711/cb", "", rfcChallenge, oauth2.CodeChallengeS256, oauth2.CodeChallengeS256},
		{"scope within the client's", "limited", confRedirect, "write", "", "", ""},
		{"domain client", "domain", domainBase + "/cb", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ti, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
				ClientID: tt.client, UserID: "alice", RedirectURI: tt.redirect, Scope: tt.scope,
				CodeChallenge: tt.challenge, CodeChallengeMethod: tt.method,
			})
			if err != nil {
				t.Fatal(err)
			}
			if ti.GetCode() == "" || ti.GetAccess() != "" || ti.GetRefresh() != "" {
				t.Fatalf("want a code only, got code=%t access=%t refresh=%t", ti.GetCode() != "", ti.GetAccess() != "", ti.GetRefresh() != "")
			}
			if ti.GetClientID() != tt.client || ti.GetUserID() != "alice" || ti.GetRedirectURI() != tt.redirect || ti.GetScope() != tt.scope {
				t.Fatalf("record = client %q user %q redirect %q scope %q", ti.GetClientID(), ti.GetUserID(), ti.GetRedirectURI(), ti.GetScope())
			}
			if ti.GetCodeChallenge() != tt.challenge || ti.GetCodeChallengeMethod() != tt.wantMethod {
				t.Fatalf("challenge %q %q", ti.GetCodeChallenge(), ti.GetCodeChallengeMethod())
			}
			if !ti.GetCodeCreateAt().Equal(e.clock.Now()) || ti.GetCodeExpiresIn() != 10*time.Minute {
				t.Fatalf("code times %v %v", ti.GetCodeCreateAt(), ti.GetCodeExpiresIn())
			}
			raw, err := base64.RawURLEncoding.DecodeString(ti.GetGrantID())
			if err != nil || len(raw) != 28 {
				t.Fatalf("grant ID %q is not 128 random bits and a 96-bit tag, base64url", ti.GetGrantID())
			}
			stored, err := e.tokens.GetByCode(e.ctx, ti.GetCode())
			if err != nil || stored.GetGrantID() != ti.GetGrantID() || stored.GetRedirectURI() != tt.redirect {
				t.Fatalf("stored record: %v", err)
			}
		})
	}
}

func TestGenerateAuthToken_FreshGrantIDs(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for range 50 {
		id := e.authorize("conf", confRedirect, "", "").GetGrantID()
		if seen[id] {
			t.Fatalf("grant ID %q repeated", id)
		}
		seen[id] = true
	}
}

func TestGenerateAuthToken_ImplicitIssuesAccessOnly(t *testing.T) {
	for _, client := range []string{"implicitName", "implicitConst", "pub"} {
		t.Run(client, func(t *testing.T) {
			e := newEnv(t)
			ti, err := e.m.GenerateAuthToken(e.ctx, oauth2.Token, &oauth2.TokenGenerateRequest{
				ClientID: client, UserID: "alice", RedirectURI: pubRedirect, Scope: "read",
			})
			if err != nil {
				t.Fatal(err)
			}
			if ti.GetAccess() == "" || ti.GetRefresh() != "" || ti.GetCode() != "" {
				t.Fatal("implicit grant must issue an access token only (RFC 6749 4.2.2)")
			}
			if ti.GetAccessExpiresIn() != time.Hour || ti.GetScope() != "read" || ti.GetUserID() != "alice" {
				t.Fatalf("record: exp %v scope %q", ti.GetAccessExpiresIn(), ti.GetScope())
			}
			if !e.accessLive(ti.GetAccess()) {
				t.Fatal("implicit access token not stored")
			}
		})
	}
}

func TestGenerateAuthToken_StoreFailureReturnsNothing(t *testing.T) {
	e := newEnv(t)
	down := fmt.Errorf("db: %w", oauth2.ErrUnavailable)
	e.m.MapTokenStorage(&failingStore{TokenStore: e.tokens, err: down, fail: map[string]bool{"Create": true}})
	for _, rt := range []oauth2.ResponseType{oauth2.Code, oauth2.Token} {
		ti, err := e.m.GenerateAuthToken(e.ctx, rt, &oauth2.TokenGenerateRequest{ClientID: "pub", RedirectURI: pubRedirect, CodeChallenge: rfcChallenge, CodeChallengeMethod: oauth2.CodeChallengeS256})
		wantErr(t, ti, err, oauth2.ErrUnavailable)
		if errors.Code(err) != "temporarily_unavailable" {
			t.Fatalf("store outage maps to %q", errors.Code(err))
		}
	}
}

func TestGenerateAuthToken_PreAuthenticatedClient(t *testing.T) {
	e := newEnv(t)
	cli := &models.Client{ID: "outside", RedirectURIs: []string{"https://o.example/cb"}}
	ti, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{Client: cli, RedirectURI: "https://o.example/cb"})
	if err != nil || ti.GetClientID() != "outside" {
		t.Fatalf("client given by the server not used: %v", err)
	}
	_, err = e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{Client: cli, RedirectURI: confRedirect})
	if !stderrors.Is(err, errors.ErrInvalidRedirectURI) {
		t.Fatalf("redirect of the given client not checked: %v", err)
	}
}
