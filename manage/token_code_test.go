package manage_test

import (
	stderrors "errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
)

func TestGenerateAccessToken_CodeExchangeIssuesTokens(t *testing.T) {
	e := newEnv(t)
	code := e.authorize("conf", confRedirect, "read", rfcVerifier)
	e.clock.Advance(time.Minute)
	ti, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
	if err != nil {
		t.Fatal(err)
	}
	if ti.GetAccess() == "" || ti.GetRefresh() == "" || ti.GetCode() != "" {
		t.Fatal("want an access and a refresh token, and no code")
	}
	if ti.GetClientID() != "conf" || ti.GetUserID() != "alice" || ti.GetScope() != "read" ||
		ti.GetRedirectURI() != confRedirect || ti.GetGrantID() != code.GetGrantID() {
		t.Fatal("issued record does not carry the code's client, user, scope, redirect and grant")
	}
	now := e.clock.Now()
	if !ti.GetAccessCreateAt().Equal(now) || ti.GetAccessExpiresIn() != 2*time.Hour ||
		!ti.GetRefreshCreateAt().Equal(now) || ti.GetRefreshExpiresIn() != 72*time.Hour {
		t.Fatalf("lifetimes: access %v refresh %v", ti.GetAccessExpiresIn(), ti.GetRefreshExpiresIn())
	}
	if !e.accessLive(ti.GetAccess()) || !e.refreshLive(ti.GetRefresh()) {
		t.Fatal("issued tokens not stored")
	}
}

// TestGenerateAccessToken_CodeReplayRevokesIssuedTokens: a code used twice
// is refused and every token it issued is revoked (RFC 6749 4.1.2,
// RFC 9700 4.5).
func TestGenerateAccessToken_CodeReplayRevokesIssuedTokens(t *testing.T) {
	e := newEnv(t)
	code := e.authorize("conf", confRedirect, "", rfcVerifier)
	first, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
	if err != nil {
		t.Fatal(err)
	}
	// The grant's tokens also live on after a refresh: the replay must take
	// the rotated ones too.
	refreshed, err := e.refresh("conf", confSecret, first.GetRefresh(), "")
	if err != nil {
		t.Fatal(err)
	}
	other := e.issueGrant("") // another grant of the same client

	ti, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
	wantErr(t, ti, err, errors.ErrInvalidAuthorizeCode, code.GetCode())
	if errors.Code(err) != "invalid_grant" {
		t.Fatalf("replay maps to %q", errors.Code(err))
	}
	if e.accessLive(refreshed.GetAccess()) || e.refreshLive(refreshed.GetRefresh()) {
		t.Fatal("tokens issued from the replayed code are still live")
	}
	if !e.accessLive(other.GetAccess()) || !e.refreshLive(other.GetRefresh()) {
		t.Fatal("replay revoked another grant")
	}
}

func TestGenerateAccessToken_CodeReplayRevocationFailureIsReported(t *testing.T) {
	e := newEnv(t)
	code := e.authorize("conf", confRedirect, "", rfcVerifier)
	if _, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier); err != nil {
		t.Fatal(err)
	}
	down := fmt.Errorf("db: %w", oauth2.ErrUnavailable)
	e.m.MapTokenStorage(&failingStore{TokenStore: e.tokens, err: down, fail: map[string]bool{"RevokeGrant": true}})
	ti, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
	wantErr(t, ti, err, oauth2.ErrUnavailable)
}

// TestGenerateAccessToken_ConcurrentExchangeHasOneWinner: of concurrent
// redemptions of one code exactly one gets tokens, and the losers revoke
// them.
func TestGenerateAccessToken_ConcurrentExchangeHasOneWinner(t *testing.T) {
	e := newEnv(t)
	code := e.authorize("conf", confRedirect, "", rfcVerifier)
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
			ti, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
			if err != nil {
				if !stderrors.Is(err, errors.ErrInvalidGrant) || ti != nil {
					t.Errorf("loser got %v, token %v", err, ti != nil)
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
	if e.accessLive(winners[0].GetAccess()) {
		t.Fatal("the losers' replay did not revoke the winner's tokens")
	}
}

func TestGenerateAccessToken_CodeBoundToClient(t *testing.T) {
	e := newEnv(t)
	code := e.authorize("conf", confRedirect, "", rfcVerifier)
	ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
		ClientID: "conf2", ClientSecret: confSecret, Code: code.GetCode(), RedirectURI: confRedirect, CodeVerifier: rfcVerifier,
	})
	wantErr(t, ti, err, errors.ErrInvalidAuthorizeCode)
	if _, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier); err != nil {
		t.Fatalf("another client's attempt consumed the code: %v", err)
	}
}

// TestGenerateAccessToken_CodeRedirectMustMatch: RFC 6749 4.1.3.
func TestGenerateAccessToken_CodeRedirectMustMatch(t *testing.T) {
	tests := []struct {
		name, client, authRedirect, tokenRedirect string
		ok                                        bool
	}{
		{"identical", "conf", confRedirect, confRedirect, true},
		{"omitted at the token endpoint", "conf", confRedirect, "", false},
		{"different at the token endpoint", "conf", confRedirect, confRedirect + "?x=1", false},
		{"omitted at both", "conf", "", "", true},
		{"omitted then the single registered one", "conf", "", confRedirect, true},
		{"omitted then another", "conf", "", "https://evil.example/cb", false},
		{"loopback port must repeat", "pub", "http://127.0.0.1:4711/cb", "http://127.0.0.1:4712/cb", false},
		{"loopback identical", "pub", "http://127.0.0.1:4711/cb", "http://127.0.0.1:4711/cb", true},
		{"domain client identical", "domain", domainBase + "/cb", domainBase + "/cb", true},
		{"domain client other path", "domain", domainBase + "/cb", domainBase + "/other", false},
		{"domain client omitted then the domain", "domain", "", domainBase, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			code := e.authorize(tt.client, tt.authRedirect, "", rfcVerifier)
			secret := map[string]string{"conf": confSecret, "domain": domainSecret}[tt.client]
			ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
				ClientID: tt.client, ClientSecret: secret, Code: code.GetCode(), RedirectURI: tt.tokenRedirect, CodeVerifier: rfcVerifier,
			})
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantErr(t, ti, err, errors.ErrInvalidGrant)
			// The mismatch did not consume the code.
			ti, err = e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
				ClientID: tt.client, ClientSecret: secret, Code: code.GetCode(), RedirectURI: tt.authRedirect, CodeVerifier: rfcVerifier,
			})
			if err != nil || ti.GetAccess() == "" {
				t.Fatalf("code consumed by a refused exchange: %v", err)
			}
		})
	}
}

func TestGenerateAccessToken_CodeExpires(t *testing.T) {
	e := newEnv(t)
	e.m.SetAuthorizeCodeExp(time.Minute)
	code := e.authorize("conf", confRedirect, "", rfcVerifier)
	e.clock.Advance(time.Minute)
	ti, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
	wantErr(t, ti, err, errors.ErrInvalidAuthorizeCode)
}

// TestGenerateAccessToken_CodeExpiryCheckedByManagerClock: the manager
// refuses an expired code even if a store still returns it.
func TestGenerateAccessToken_CodeExpiryCheckedByManagerClock(t *testing.T) {
	e := newEnv(t)
	code := e.authorize("conf", confRedirect, "", rfcVerifier)
	late := e.clock.Now().Add(11 * time.Minute)
	e.m.SetClock(func() time.Time { return late })
	ti, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
	wantErr(t, ti, err, errors.ErrInvalidAuthorizeCode)
}

func TestGenerateAccessToken_CodeUnknownOrEmpty(t *testing.T) {
	e := newEnv(t)
	for _, code := range []string{"", "no-such-code"} {
		ti, err := e.exchange(code, confRedirect, rfcVerifier)
		wantErr(t, ti, err, errors.ErrInvalidAuthorizeCode)
	}
}

func TestGenerateAccessToken_CodeNoRefreshWithoutRefreshGrant(t *testing.T) {
	e := newEnv(t)
	code := e.authorize("limited", confRedirect, "read", rfcVerifier)
	ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
		ClientID: "limited", ClientSecret: confSecret, Code: code.GetCode(), RedirectURI: confRedirect, CodeVerifier: rfcVerifier,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ti.GetAccess() == "" || ti.GetRefresh() != "" {
		t.Fatal("a client whose grants lack refresh_token got a refresh token")
	}
}

func TestGenerateAccessToken_CodeConfigAndOverride(t *testing.T) {
	e := newEnv(t)
	e.m.SetAuthorizeCodeTokenCfg(&manage.Config{AccessTokenExp: time.Hour, IsGenerateRefresh: false})
	code := e.authorize("conf", confRedirect, "", rfcVerifier)
	ti, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
	if err != nil {
		t.Fatal(err)
	}
	if ti.GetAccessExpiresIn() != time.Hour || ti.GetRefresh() != "" {
		t.Fatalf("config ignored: %v refresh=%t", ti.GetAccessExpiresIn(), ti.GetRefresh() != "")
	}
	code = e.authorize("conf", confRedirect, "", rfcVerifier)
	ti, err = e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
		ClientID: "conf", ClientSecret: confSecret, Code: code.GetCode(), RedirectURI: confRedirect,
		CodeVerifier: rfcVerifier, AccessTokenExp: 3 * time.Minute,
	})
	if err != nil || ti.GetAccessExpiresIn() != 3*time.Minute {
		t.Fatalf("AccessTokenExp override ignored: %v", err)
	}
}

func TestGenerateAccessToken_CodeStoreErrorsWrapped(t *testing.T) {
	for _, op := range []string{"GetByCode", "ExchangeCode"} {
		t.Run(op, func(t *testing.T) {
			e := newEnv(t)
			code := e.authorize("conf", confRedirect, "", rfcVerifier)
			down := fmt.Errorf("db: %w", oauth2.ErrUnavailable)
			e.m.MapTokenStorage(&failingStore{TokenStore: e.tokens, err: down, fail: map[string]bool{op: true}})
			ti, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
			wantErr(t, ti, err, oauth2.ErrUnavailable, code.GetCode())
			if errors.Code(err) != "temporarily_unavailable" {
				t.Fatalf("maps to %q", errors.Code(err))
			}
			e.m.MapTokenStorage(e.tokens)
			if _, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier); err != nil {
				t.Fatalf("code lost after a store failure: %v", err)
			}
		})
	}
}

// TestGenerateAccessToken_InvalidCodeReplayRevokesNothing: a replayed code
// is judged like a first exchange before it revokes anything (OAuth 2.1
// 7.5.2): presented by another client, or with a code_verifier that does
// not match its challenge (or none), it is refused with invalid_grant and
// the tokens issued from the code stay live; a replay that would otherwise
// be valid revokes them (RFC 6749 4.1.2).
func TestGenerateAccessToken_InvalidCodeReplayRevokesNothing(t *testing.T) {
	otherVerifier := strings.Repeat("x", 43)
	tests := []struct {
		name       string
		challenge  string // the verifier the code was issued with, "" for none
		client     string
		verifier   string
		wantRevoke bool
	}{
		{"wrong code_verifier", rfcVerifier, "conf", otherVerifier, false},
		{"no code_verifier", rfcVerifier, "conf", "", false},
		{"malformed code_verifier", rfcVerifier, "conf", "short", false},
		{"the challenge itself as a plain verifier", rfcVerifier, "conf", rfcChallenge, false},
		{"another client with the right verifier", rfcVerifier, "conf2", rfcVerifier, false},
		{"another client, code without PKCE", "", "conf2", "", false},
		{"a verifier for a code issued without PKCE", "", "conf", rfcVerifier, false},
		{"the client with the right verifier", rfcVerifier, "conf", rfcVerifier, true},
		{"the client, code without PKCE", "", "conf", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			code := e.authorize("conf", confRedirect, "", tt.challenge)
			first, err := e.exchange(code.GetCode(), confRedirect, tt.challenge)
			if err != nil {
				t.Fatal(err)
			}
			ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
				ClientID: tt.client, ClientSecret: confSecret, Code: code.GetCode(), RedirectURI: confRedirect, CodeVerifier: tt.verifier,
			})
			wantErr(t, ti, err, errors.ErrInvalidGrant, code.GetCode())
			live := e.accessLive(first.GetAccess()) && e.refreshLive(first.GetRefresh())
			if live == tt.wantRevoke {
				t.Fatalf("tokens of the code live = %t after the replay, want %t", live, !tt.wantRevoke)
			}
		})
	}
}

// TestGenerateAccessToken_PlainCodeReplay: the replay check of a code
// issued with a plain challenge (when enabled) compares the verifier as
// the exchange does.
func TestGenerateAccessToken_PlainCodeReplay(t *testing.T) {
	for _, tt := range []struct {
		name       string
		verifier   string
		wantRevoke bool
	}{
		{"wrong verifier", strings.Repeat("y", 43), false},
		{"right verifier", rfcVerifier, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.m.SetPKCE(manage.PKCEConfig{AllowPlain: true})
			code, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
				ClientID: "conf", UserID: "alice", RedirectURI: confRedirect,
				CodeChallenge: rfcVerifier, CodeChallengeMethod: oauth2.CodeChallengePlain,
			})
			if err != nil {
				t.Fatal(err)
			}
			first, err := e.exchange(code.GetCode(), confRedirect, rfcVerifier)
			if err != nil {
				t.Fatal(err)
			}
			ti, err := e.exchange(code.GetCode(), confRedirect, tt.verifier)
			wantErr(t, ti, err, errors.ErrInvalidGrant)
			if live := e.accessLive(first.GetAccess()); live == tt.wantRevoke {
				t.Fatalf("access token live = %t, want %t", live, !tt.wantRevoke)
			}
		})
	}
}
