package manage_test

import (
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/manage"
)

// TestDefaults_NotShared: each manager copies the package defaults, so one
// manager's Set* changes neither another manager nor the defaults, and a
// later change of a default does not reach existing managers.
func TestDefaults_NotShared(t *testing.T) {
	a, b := newEnv(t), newEnv(t)
	a.m.SetClientTokenCfg(&manage.Config{AccessTokenExp: time.Minute})
	a.m.SetAuthorizeCodeTokenCfg(&manage.Config{AccessTokenExp: time.Minute})
	if manage.DefaultClientTokenCfg.AccessTokenExp != 2*time.Hour || manage.DefaultAuthorizeCodeTokenCfg.AccessTokenExp != 2*time.Hour {
		t.Fatal("Set* changed a package default")
	}
	cc := func(e *env) time.Duration {
		ti, err := e.m.GenerateAccessToken(e.ctx, oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{ClientID: "conf", ClientSecret: confSecret})
		if err != nil {
			t.Fatal(err)
		}
		return ti.GetAccessExpiresIn()
	}
	if cc(a) != time.Minute || cc(b) != 2*time.Hour {
		t.Fatalf("a: %v, b: %v; one manager's config leaked into the other", cc(a), cc(b))
	}

	// Mutating the struct passed to Set* later has no effect either.
	cfg := &manage.Config{AccessTokenExp: 3 * time.Minute}
	a.m.SetClientTokenCfg(cfg)
	cfg.AccessTokenExp = time.Hour
	if cc(a) != 3*time.Minute {
		t.Fatal("manager keeps a reference to the caller's config")
	}

	// A default changed after construction reaches new managers only.
	saved := *manage.DefaultClientTokenCfg
	t.Cleanup(func() { *manage.DefaultClientTokenCfg = saved })
	manage.DefaultClientTokenCfg.AccessTokenExp = 5 * time.Minute
	if cc(b) != 2*time.Hour {
		t.Fatal("a later change of a default reached an existing manager")
	}
	if c := newEnv(t); cc(c) != 5*time.Minute {
		t.Fatal("a new manager did not pick up the changed default")
	}
}

// TestDefaults_SeedValues: the seed's lifetimes.
func TestDefaults_SeedValues(t *testing.T) {
	if manage.DefaultCodeExp != 10*time.Minute {
		t.Fatal("code lifetime")
	}
	want := map[string]manage.Config{
		"authorization_code": {AccessTokenExp: 2 * time.Hour, RefreshTokenExp: 72 * time.Hour, IsGenerateRefresh: true},
		"implicit":           {AccessTokenExp: time.Hour},
		"password":           {AccessTokenExp: 2 * time.Hour, RefreshTokenExp: 168 * time.Hour, IsGenerateRefresh: true},
		"client_credentials": {AccessTokenExp: 2 * time.Hour},
	}
	got := map[string]manage.Config{
		"authorization_code": *manage.DefaultAuthorizeCodeTokenCfg,
		"implicit":           *manage.DefaultImplicitTokenCfg,
		"password":           *manage.DefaultPasswordTokenCfg,
		"client_credentials": *manage.DefaultClientTokenCfg,
	}
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("%s: %+v, want %+v", k, got[k], w)
		}
	}
	r := *manage.DefaultRefreshTokenCfg
	if !r.IsGenerateRefresh || r.IsResetRefreshTime {
		t.Fatalf("refresh defaults %+v", r)
	}
}

func TestSetAuthorizeCodeExp_NonPositiveKeepsCodesExpiring(t *testing.T) {
	e := newEnv(t)
	e.m.SetAuthorizeCodeExp(0)
	code := e.authorize("conf", confRedirect, "", rfcVerifier)
	if code.GetCodeExpiresIn() != 10*time.Minute {
		t.Fatalf("code lifetime %v", code.GetCodeExpiresIn())
	}
}

func TestManager_WithoutStoresOrGenerators(t *testing.T) {
	m := manage.NewManager()
	ctx := t.Context()
	tgr := &oauth2.TokenGenerateRequest{ClientID: "x"}
	if ti, err := m.GenerateAccessToken(ctx, oauth2.ClientCredentials, tgr); err == nil || ti != nil {
		t.Fatal("no token store: want an error")
	}
	if _, err := m.GetClient(ctx, "x"); err == nil {
		t.Fatal("no client store: want an error")
	}
	e := newEnv(t)
	bare := manage.NewManager()
	bare.MapClientStorage(newClientStoreWith(e))
	bare.MapTokenStorage(e.tokens)
	if ti, err := bare.GenerateAccessToken(ctx, oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{ClientID: "conf", ClientSecret: confSecret}); err == nil || ti != nil {
		t.Fatal("no access generator: want an error")
	}
	if ti, err := bare.GenerateAuthToken(ctx, oauth2.Code, &oauth2.TokenGenerateRequest{ClientID: "conf", RedirectURI: confRedirect}); err == nil || ti != nil {
		t.Fatal("no code generator: want an error")
	}
}

func newClientStoreWith(e *env) oauth2.ClientStore {
	cs := newClientStore()
	for _, c := range e.clients {
		setClient(cs, c)
	}
	return cs
}

func TestMustStorage_PanicsOnError(t *testing.T) {
	m := manage.NewManager()
	for name, f := range map[string]func(){
		"client": func() { m.MustClientStorage(nil, errTest) },
		"token":  func() { m.MustTokenStorage(nil, errTest) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

var errTest = testError("test")

type testError string

func (e testError) Error() string { return string(e) }
