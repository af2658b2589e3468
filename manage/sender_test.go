package manage_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	oauth2errors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/policy"
	"github.com/oauth2d/oauth2/store"
)

// Two DPoP key thumbprints (RFC 7638), as the server puts them in a
// request's extension data once it has verified a proof.
const (
	jktA = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	jktB = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

// newExtEnv is newEnv over the file store, which keeps a record's
// extension data on this branch.
func newExtEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	ts, err := store.NewFileTokenStore(filepath.Join(t.TempDir(), "tokens"), store.WithFileClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	e.tokens = ts
	e.m.MapTokenStorage(ts)
	return e
}

func ext(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func extOf(ti oauth2.TokenInfo) url.Values { return ti.(oauth2.ExtendableTokenInfo).GetExtension() }

// code issues a code of client for alice with the S256 challenge of
// rfcVerifier and the extension data x.
func (e *env) codeWith(client, redirect string, x url.Values) string {
	e.t.Helper()
	ti, err := e.m.GenerateAuthToken(e.ctx, oauth2.Code, &oauth2.TokenGenerateRequest{
		ClientID: client, UserID: "alice", RedirectURI: redirect,
		CodeChallenge: s256(rfcVerifier), CodeChallengeMethod: oauth2.CodeChallengeS256, Extension: x,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return ti.GetCode()
}

func (e *env) exchangeWith(client, secret, code, redirect string, x url.Values) (oauth2.TokenInfo, error) {
	return e.m.GenerateAccessToken(e.ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{
		ClientID: client, ClientSecret: secret, Code: code, RedirectURI: redirect, CodeVerifier: rfcVerifier, Extension: x,
	})
}

func (e *env) refreshWith(client, secret, refresh string, x url.Values) (oauth2.TokenInfo, error) {
	return e.m.RefreshAccessToken(e.ctx, &oauth2.TokenGenerateRequest{ClientID: client, ClientSecret: secret, Refresh: refresh, Extension: x})
}

func TestBindSender_CodeBoundToItsKey(t *testing.T) {
	e := newExtEnv(t)
	code := e.codeWith("conf", confRedirect, ext(policy.ExtensionDPoPJKT, jktA))
	for _, x := range []url.Values{nil, ext(policy.ExtensionDPoPJKT, jktB)} {
		ti, err := e.exchangeWith("conf", confSecret, code, confRedirect, x)
		wantErr(t, ti, err, oauth2errors.ErrInvalidGrant)
	}
	ti, err := e.exchangeWith("conf", confSecret, code, confRedirect, ext(policy.ExtensionDPoPJKT, jktA))
	if err != nil || policy.DPoPThumbprint(ti) != jktA {
		t.Fatalf("with the key: %v %v", extOf(ti), err)
	}
}

func TestBindSender_PublicRefreshTokenBoundToTheKey(t *testing.T) {
	e := newExtEnv(t)
	code := e.codeWith("pub", pubRedirect, nil)
	ti, err := e.exchangeWith("pub", "", code, pubRedirect, ext(policy.ExtensionDPoPJKT, jktA))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []url.Values{nil, ext(policy.ExtensionDPoPJKT, jktB)} {
		got, err := e.refreshWith("pub", "", ti.GetRefresh(), x)
		wantErr(t, got, err, oauth2errors.ErrInvalidGrant)
	}
	next, err := e.refreshWith("pub", "", ti.GetRefresh(), ext(policy.ExtensionDPoPJKT, jktA))
	if err != nil || policy.DPoPThumbprint(next) != jktA {
		t.Fatalf("with the key: %v %v", err, next)
	}
	// The confidential client follows the proof, or drops the binding.
	code = e.codeWith("conf", confRedirect, nil)
	ti, _ = e.exchangeWith("conf", confSecret, code, confRedirect, ext(policy.ExtensionDPoPJKT, jktA))
	next, err = e.refreshWith("conf", confSecret, ti.GetRefresh(), ext(policy.ExtensionDPoPJKT, jktB))
	if err != nil || policy.DPoPThumbprint(next) != jktB {
		t.Fatalf("confidential, other key: %v %v", err, next)
	}
	next, err = e.refreshWith("conf", confSecret, next.GetRefresh(), nil)
	if err != nil || policy.DPoPThumbprint(next) != "" {
		t.Fatalf("confidential, no proof: %v %v", err, next)
	}
}

func TestBindSender_ResourcesNarrowAndWidenBack(t *testing.T) {
	e := newExtEnv(t)
	const a, b, c = "https://a/", "https://b/", "https://c/"
	code := e.codeWith("conf", confRedirect, url.Values{policy.ExtensionResource: {a, b}})
	ti, err := e.exchangeWith("conf", confSecret, code, confRedirect, ext(policy.ExtensionResource, c))
	wantErr(t, ti, err, oauth2errors.ErrInvalidTarget)
	ti, err = e.exchangeWith("conf", confSecret, code, confRedirect, ext(policy.ExtensionResource, a))
	if err != nil || !slices.Equal(policy.Resources(ti), []string{a}) || !slices.Equal(policy.GrantedResources(ti), []string{a, b}) {
		t.Fatalf("narrowed: %v %v", extOf(ti), err)
	}
	next, err := e.refreshWith("conf", confSecret, ti.GetRefresh(), nil)
	if err != nil || !slices.Equal(policy.Resources(next), []string{a, b}) || extOf(next).Has(policy.ExtensionGrantedResource) {
		t.Fatalf("widened back: %v %v", extOf(next), err)
	}
}

func TestExchangeToken_Policy(t *testing.T) {
	e := newExtEnv(t)
	now := e.clock.Now()
	subject := oauth2.TokenExchangeParty{UserID: "alice", ClientID: "conf", Scope: "read write", GrantID: "g1", Expiry: now.Add(10 * time.Minute)}
	tgr := func(scope string) *oauth2.TokenGenerateRequest {
		return &oauth2.TokenGenerateRequest{ClientID: "conf", ClientSecret: confSecret, Scope: scope}
	}
	ti, err := e.m.ExchangeToken(e.ctx, tgr("read"), &oauth2.TokenExchangeRequest{Subject: subject})
	if err != nil || ti.GetUserID() != "alice" || ti.GetScope() != "read" || ti.GetGrantID() != "g1" || ti.GetRefresh() != "" ||
		ti.GetAccessExpiresIn() != 10*time.Minute || extOf(ti).Get(policy.ExtensionIssuedTokenType) != oauth2.TokenTypeAccessToken {
		t.Fatalf("exchange: %v %v (%v)", ti, err, ti.GetAccessExpiresIn())
	}
	if got, err := e.m.ExchangeToken(e.ctx, tgr(""), &oauth2.TokenExchangeRequest{Subject: subject}); err != nil || got.GetScope() != "read write" {
		t.Fatalf("no scope asked: %v %v", got, err)
	}
	ti, err = e.m.ExchangeToken(e.ctx, tgr("admin"), &oauth2.TokenExchangeRequest{Subject: subject})
	wantErr(t, ti, err, oauth2errors.ErrInvalidScope)
	ti, err = e.m.ExchangeToken(e.ctx, tgr(""), &oauth2.TokenExchangeRequest{Subject: subject, Audience: []string{"urn:x"}})
	wantErr(t, ti, err, oauth2errors.ErrInvalidTarget)
	ti, err = e.m.ExchangeToken(e.ctx, &oauth2.TokenGenerateRequest{ClientID: "ccOnly", ClientSecret: confSecret},
		&oauth2.TokenExchangeRequest{Subject: subject})
	wantErr(t, ti, err, oauth2errors.ErrUnauthorizedClient)
	expired := subject
	expired.Expiry = now.Add(-time.Second)
	ti, err = e.m.ExchangeToken(e.ctx, tgr(""), &oauth2.TokenExchangeRequest{Subject: expired})
	wantErr(t, ti, err, oauth2errors.ErrInvalidRequest)

	// A delegation chain is bounded.
	chain := subject
	chain.Act = `{"sub":"a0"}`
	for i := 1; i < 8; i++ {
		chain.Act = `{"sub":"a` + strings.Repeat("x", i) + `","act":` + chain.Act + `}`
	}
	actor := &oauth2.TokenExchangeParty{ClientID: "svc"}
	ti, err = e.m.ExchangeToken(e.ctx, tgr(""), &oauth2.TokenExchangeRequest{Subject: chain, Actor: actor})
	wantErr(t, ti, err, oauth2errors.ErrInvalidRequest)
	chain.Act = `{"sub":"a0"}`
	ti, err = e.m.ExchangeToken(e.ctx, tgr(""), &oauth2.TokenExchangeRequest{Subject: chain, Actor: actor})
	if err != nil || extOf(ti).Get(policy.ExtensionActor) != `{"sub":"svc","act":{"sub":"a0"}}` {
		t.Fatalf("act: %v %v", err, extOf(ti))
	}
	m := manage.NewDefaultManager()
	if _, err := m.ExchangeToken(context.Background(), nil, nil); !errors.Is(err, oauth2errors.ErrInvalidRequest) {
		t.Fatalf("nil request: %v", err)
	}
}
