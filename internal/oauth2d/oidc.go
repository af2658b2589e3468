package oauth2d

import (
	"context"
	"crypto/rand"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/atrest"
	"github.com/oauth2d/oauth2/internal/web"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/server"
)

// oauth2d is an OpenID Provider (OpenID Connect Core 1.0, Discovery 1.0,
// RP-Initiated Logout 1.0; docs/architecture.md section 2.5): the manager
// maps an ID token generator signing with the key set, the server reads
// the OpenID Connect parameters of requests with the openid scope and asks
// the pages who is signed in (userAuthentication), and the routes add
// discovery, UserInfo and logout.

// pairwiseSecretName is the KVStore key of the secret of pairwise subject
// identifiers (OpenID Connect Core 1.0 8.1): 32 random bytes, made once
// and sealed with the at-rest keyring, so that every process sharing the
// store computes the same sub, and a change of the at-rest secret (which
// seals it again) changes no sub.
const pairwiseSecretName = "oauth2d/oidc/pairwise-secret"

// dpopNonceKeyName is where the key of the DPoP nonces (RFC 9449 8) is kept,
// sealed with the at-rest secret.
const dpopNonceKeyName = "oauth2d/dpop/nonce-key"

// Paths of the logout endpoint (RP-Initiated Logout 1.0 2) and of the
// page after it.
const (
	pathLogout     = "/logout"
	pathLogoutDone = "/logout/done"
)

// setupOpenID makes the server an OpenID Provider: subject identifiers,
// the ID token generator on the key set, the End-Users' claims, and the
// discovery document's end_session_endpoint.
func (a *App) setupOpenID(ctx context.Context, ring *atrest.Keyring, source string) error {
	secret, err := a.pairwiseSecret(ctx, ring, source)
	if err != nil {
		return err
	}
	if a.subjects, err = oidc.NewSubjects(secret); err != nil {
		return fmt.Errorf("oauth2d: pairwise subjects: %w", err)
	}
	a.idTokens, err = generates.NewJWTIDTokenGenerate(a.keys, a.issuer,
		generates.WithSubjects(a.subjects), generates.WithIDTokenClock(a.now))
	if err != nil {
		return fmt.Errorf("oauth2d: ID tokens: %w", err)
	}
	a.manager.MapIDTokenGenerate(a.idTokens)
	// RFC 8693: an ID token of this issuer may be a token exchange's
	// subject or actor token (verified, and unexpired, by the grant).
	a.server.Config.TokenExchange.IDTokens = a.idTokens
	a.userClaims = a.withStoreUsers(configUserClaims(a.cfg.Users)) // registry.go
	oc := server.NewOpenIDConfig(a.idTokens, a.claimsHandler)
	oc.EndSessionEndpoint = a.issuer + pathLogout
	a.server.SetOpenIDConfig(oc)
	if a.cfg.Now != nil {
		// prompt and max_age are decided on the pages' clock, which
		// records auth_time, and codes and tokens (whose ID tokens
		// carry it) expire on it too.
		a.server.SetClock(a.cfg.Now)
		a.manager.SetClock(a.cfg.Now)
	}
	return nil
}

// pairwiseSecret returns the pairwise secret kept in the store, making it
// on first start. Of several processes starting at once, the first to
// store its secret wins and the others read that one.
func (a *App) pairwiseSecret(ctx context.Context, ring *atrest.Keyring, source string) ([]byte, error) {
	return a.sealedSecret(ctx, ring, source, pairwiseSecretName, "pairwise subject secret", oidc.MinPairwiseSecretBytes)
}

// sealedSecret returns the random secret of n bytes every process sharing
// the store uses under name, kept in the KVStore sealed with the at-rest
// secret, making it when there is none yet (the first process to store one
// wins).
func (a *App) sealedSecret(ctx context.Context, ring *atrest.Keyring, source, name, what string, n int) ([]byte, error) {
	never := func([]byte) bool { return false } // never stored in the clear
	secret, err := openSealed(ctx, a.kv, ring, name, what, source, never, a.log)
	if err != nil || secret != nil {
		return secret, err
	}
	fresh := make([]byte, n)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails (Go 1.24+)
	stored, err := a.kv.PutIfAbsent(ctx, name, ring.Seal(name, fresh), 0)
	if err != nil {
		return nil, fmt.Errorf("oauth2d: store the %s: %w", what, err)
	}
	if stored {
		return fresh, nil
	}
	if secret, err = openSealed(ctx, a.kv, ring, name, what, source, never, a.log); err == nil && secret == nil {
		err = stderrors.New("oauth2d: the " + what + " another process stored is gone")
	}
	return secret, err
}

// configUserClaims returns the claims lookup of the users of the
// configuration (users[].claims), which Validate checked. The App takes
// every End-User's claims from such a function (App.userClaims), so that
// users kept elsewhere only need another one.
func configUserClaims(users []UserConfig) func(context.Context, string) (oidc.Claims, error) {
	byName := make(map[string]oidc.Claims, len(users))
	for _, u := range users {
		c, err := oidc.ClaimsFromMap(u.Claims)
		if err != nil {
			// Validate refused it; keep the user without claims.
			c = &oidc.Claims{}
		}
		byName[u.Username] = *c
	}
	return func(_ context.Context, username string) (oidc.Claims, error) {
		c, ok := byName[username]
		if !ok {
			return oidc.Claims{}, fmt.Errorf("oauth2d: user %q: %w", username, oauth2.ErrNotFound)
		}
		return c, nil
	}
}

// claimsHandler is the server's UserClaimsHandler: the claims of the
// End-User, of which ID tokens and UserInfo release those the grant asked
// for. A user that no longer exists makes their tokens invalid_token at
// UserInfo.
func (a *App) claimsHandler(ctx context.Context, userID string) (*oidc.Claims, error) {
	c, err := a.userClaims(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// openIDPages gives the pages what RP-initiated logout needs: the
// id_token_hint check of the ID token generator and the subject
// identifiers, and the session settings.
func (a *App) openIDPages(wc *web.Config) {
	wc.SessionTTL = a.cfg.Session.TTL
	wc.SessionIdle = a.cfg.Session.IdleTimeout
	wc.IDTokenHint = a.idTokens.ParseIDTokenHint
	wc.Subject = a.subjects.Subject
	wc.ClaimNames = a.claimNames
}

// claimNames returns the names of the claims the user has values for, for
// the consent page.
func (a *App) claimNames(ctx context.Context, username string) ([]string, error) {
	c, err := a.userClaims(ctx, username)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("oauth2d: the claims of a user: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("oauth2d: the claims of a user: %w", err)
	}
	out := make([]string, 0, len(m))
	for name := range m {
		out = append(out, name)
	}
	return out, nil
}

// openIDRoutes adds the OpenID Connect endpoints to routes().
func (a *App) openIDRoutes(handle func(pattern string, h http.HandlerFunc)) {
	// Discovery 1.0 4: GET and HEAD; the server answers other methods
	// with 405.
	handle(server.PathOpenIDConfiguration, a.server.HandleOpenIDConfigurationRequest)
	// Core 5.3.1: GET and POST; the server answers other methods with
	// 405.
	handle(server.PathUserInfo, a.server.HandleUserInfoRequest)
	// RP-Initiated Logout 1.0 2: GET and POST.
	handle("GET "+pathLogout, a.web.Logout)
	handle("POST "+pathLogout, a.web.Logout)
	handle("GET "+pathLogoutDone, a.web.LogoutDone)
}

// handleMetadata serves the authorization server metadata (RFC 8414 3):
// the OpenID Provider's configuration document, the same as at
// /.well-known/openid-configuration. RFC 8414 2 lets the metadata carry
// the OpenID Connect members, which are registered for it (RFC 8414 7.1.2),
// and one document cannot disagree with itself.
func (a *App) handleMetadata(w http.ResponseWriter, r *http.Request) {
	a.server.HandleOpenIDConfigurationRequest(w, r)
}
