package policy_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/policy"
	"github.com/oauth2d/oauth2/store"
)

// seedClient has no registration metadata and no verifier, as the seed's
// clients: only its Domain and secret.
type seedClient struct{ id, secret string }

func (c seedClient) GetID() string     { return c.id }
func (c seedClient) GetSecret() string { return c.secret }
func (c seedClient) GetDomain() string { return "https://seed.example" }
func (c seedClient) IsPublic() bool    { return false }
func (c seedClient) GetUserID() string { return "" }

func TestClient_CheckGrant(t *testing.T) {
	tests := []struct {
		name   string
		client oauth2.ClientInfo
		gt     oauth2.GrantType
		want   error
	}{
		{"no registered grants allow any", &models.Client{ID: "c"}, oauth2.PasswordCredentials, nil},
		{"a registered grant", &models.Client{ID: "c", GrantTypes: []oauth2.GrantType{oauth2.AuthorizationCode}}, oauth2.AuthorizationCode, nil},
		{"an unregistered grant", &models.Client{ID: "c", GrantTypes: []oauth2.GrantType{oauth2.AuthorizationCode}}, oauth2.Refreshing, policy.ErrGrantNotAllowed},
		{"implicit registered by its name", &models.Client{ID: "c", GrantTypes: []oauth2.GrantType{"implicit"}}, oauth2.Implicit, nil},
		{"implicit registered by its constant", &models.Client{ID: "c", GrantTypes: []oauth2.GrantType{oauth2.Implicit}}, oauth2.Implicit, nil},
		{"public client, client credentials (RFC 6749 4.4)", &models.Client{ID: "c", Public: true}, oauth2.ClientCredentials, policy.ErrPublicClientGrant},
		{"public client registered for client credentials", &models.Client{ID: "c", Public: true, GrantTypes: []oauth2.GrantType{oauth2.ClientCredentials}}, oauth2.ClientCredentials, policy.ErrPublicClientGrant},
		{"seed client without metadata", seedClient{id: "s"}, oauth2.DeviceCode, nil},
		{"no client", nil, oauth2.ClientCredentials, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := policy.Of(tt.client)
			if err := c.CheckGrant(tt.gt); err != tt.want {
				t.Fatalf("CheckGrant = %v, want %v", err, tt.want)
			}
			if c.AllowsGrant(tt.gt) != (tt.want == nil) {
				t.Fatal("AllowsGrant disagrees with CheckGrant")
			}
			if tt.want != nil && !stderrors.Is(tt.want, errors.ErrUnauthorizedClient) {
				t.Fatal("a grant refusal is not unauthorized_client")
			}
		})
	}
}

func TestClient_CheckScope(t *testing.T) {
	limited := &models.Client{ID: "c", Scopes: []string{"read", "write"}}
	tests := []struct {
		name   string
		client oauth2.ClientInfo
		scope  string
		ok     bool
	}{
		{"empty scope", limited, "", true},
		{"registered scopes", limited, "write read", true},
		{"extra spaces", limited, "  read   write ", true},
		{"an unregistered scope", limited, "read admin", false},
		{"a prefix of a registered scope", limited, "rea", false},
		{"no registered scopes allow any", &models.Client{ID: "c"}, "anything at all", true},
		{"seed client without metadata", seedClient{id: "s"}, "anything", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := policy.Of(tt.client).CheckScope(tt.scope)
			if (err == nil) != tt.ok || (err != nil && !stderrors.Is(err, errors.ErrInvalidScope)) {
				t.Fatalf("CheckScope(%q) = %v, want ok %t", tt.scope, err, tt.ok)
			}
		})
	}
}

// TestClient_Authenticates: a public client authenticates with none only,
// a confidential one with its own secret by a method its registration
// allows (RFC 6749 2.1, 2.3.1; RFC 7591 2).
func TestClient_Authenticates(t *testing.T) {
	conf := &models.Client{ID: "conf", Secret: "conf-secret-Kk1"}
	basicOnly := &models.Client{ID: "b", Secret: "b-secret-Kk1", TokenEndpointAuthMethod: policy.AuthMethodBasic}
	pub := &models.Client{ID: "pub", Public: true}
	pubWithSecret := &models.Client{ID: "pub2", Public: true, Secret: "pub-secret-Kk1"}
	jwtClient := &models.Client{ID: "j", Secret: "j-secret-Kk1", TokenEndpointAuthMethod: policy.AuthMethodPrivateKeyJWT}
	tests := []struct {
		name           string
		client         oauth2.ClientInfo
		secret, method string
		want           bool
	}{
		{"basic, right secret", conf, "conf-secret-Kk1", policy.AuthMethodBasic, true},
		{"post, right secret", conf, "conf-secret-Kk1", policy.AuthMethodPost, true},
		{"any secret method, right secret", conf, "conf-secret-Kk1", policy.AuthMethodSecret, true},
		{"wrong secret", conf, "conf-secret-Kk2", policy.AuthMethodBasic, false},
		{"no secret", conf, "", policy.AuthMethodPost, false},
		{"none for a confidential client", conf, "", policy.AuthMethodNone, false},
		{"registered method", basicOnly, "b-secret-Kk1", policy.AuthMethodBasic, true},
		{"another method than the registered one", basicOnly, "b-secret-Kk1", policy.AuthMethodPost, false},
		{"any secret method for a Basic client", basicOnly, "b-secret-Kk1", policy.AuthMethodSecret, true},
		{"public client, none", pub, "", policy.AuthMethodNone, true},
		{"public client, no secret by any method", pub, "", policy.AuthMethodSecret, true},
		{"public client presenting its secret", pubWithSecret, "pub-secret-Kk1", policy.AuthMethodPost, false},
		{"a JWT client's secret by post", jwtClient, "j-secret-Kk1", policy.AuthMethodPost, false},
		{"seed client, right secret", seedClient{id: "s", secret: "seed-Kk1"}, "seed-Kk1", policy.AuthMethodBasic, true},
		{"seed client without secret", seedClient{id: "s"}, "", policy.AuthMethodBasic, false},
		{"no client", nil, "", policy.AuthMethodNone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.Of(tt.client).Authenticates(tt.secret, tt.method); got != tt.want {
				t.Fatalf("Authenticates = %t, want %t", got, tt.want)
			}
		})
	}
}

// failingClients is a client store that is down.
type failingClients struct{}

func (failingClients) GetByID(context.Context, string) (oauth2.ClientInfo, error) {
	return nil, fmt.Errorf("db: %w", oauth2.ErrUnavailable)
}

// TestAuthenticate: an unknown client gets the same answer as a wrong
// secret, a store failure is passed through as it is, and the client is
// returned read once.
func TestAuthenticate(t *testing.T) {
	cs := store.NewClientStore()
	if err := cs.Set("conf", &models.Client{ID: "conf", Secret: "conf-secret-Kk1", Scopes: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lookup := func(ctx context.Context, id string) (oauth2.ClientInfo, error) { return cs.GetByID(ctx, id) }

	c, err := policy.Authenticate(ctx, lookup, "conf", "conf-secret-Kk1", policy.AuthMethodBasic)
	if err != nil || c.ID() != "conf" || c.Info() == nil || c.CheckScope("write") == nil {
		t.Fatalf("right secret: %v", err)
	}
	for _, tt := range []struct{ id, secret string }{{"conf", "wrong"}, {"nobody", "conf-secret-Kk1"}, {"", ""}} {
		c, err := policy.Authenticate(ctx, lookup, tt.id, tt.secret, policy.AuthMethodBasic)
		if err != policy.ErrClientAuth || c.Info() != nil {
			t.Fatalf("%q/%q: %v", tt.id, tt.secret, err)
		}
	}
	down := func(ctx context.Context, id string) (oauth2.ClientInfo, error) {
		return failingClients{}.GetByID(ctx, id)
	}
	if _, err := policy.Authenticate(ctx, down, "conf", "conf-secret-Kk1", policy.AuthMethodBasic); !stderrors.Is(err, oauth2.ErrUnavailable) {
		t.Fatalf("store failure: %v", err)
	}
}

func TestScopeWithin(t *testing.T) {
	tests := []struct {
		requested, granted string
		want               bool
	}{
		{"", "", true},
		{"", "read", true},
		{"read", "read write", true},
		{"write read", "read write", true},
		{" read  ", "read", true},
		{"read admin", "read write", false},
		{"rea", "read", false},
		{"read", "", false},
	}
	for _, tt := range tests {
		if got := policy.ScopeWithin(tt.requested, tt.granted); got != tt.want {
			t.Errorf("ScopeWithin(%q, %q) = %t, want %t", tt.requested, tt.granted, got, tt.want)
		}
	}
}

// TestValidScopeAndState follow RFC 6749 Appendix A.4 (NQCHAR scope tokens)
// and A.5 (VSCHAR state).
func TestValidScopeAndState(t *testing.T) {
	for _, tt := range []struct {
		v            string
		scope, state bool
	}{
		{"", true, true},
		{"read write", true, true},
		{"https://api.example/read!#$%&'()*+,-./:;<=>?@[]^_`{|}~", true, true},
		{`a"b`, false, true},
		{`a\b`, false, true},
		{"a\tb", false, false},
		{"a\x00b", false, false},
		{"a\x7fb", false, false},
		{"caf\u00e9", false, false},
		{"line\nbreak", false, false},
	} {
		if got := policy.ValidScope(tt.v); got != tt.scope {
			t.Errorf("ValidScope(%q) = %t", tt.v, got)
		}
		if got := policy.ValidState(tt.v); got != tt.state {
			t.Errorf("ValidState(%q) = %t", tt.v, got)
		}
	}
}

func TestGrantedScope(t *testing.T) {
	narrowed := &models.Token{Scope: "read", Extension: url.Values{policy.ExtensionGrantedScope: {"read write"}}}
	plain := &models.Token{Scope: "read"}
	if got := policy.GrantedScope(narrowed); got != "read write" {
		t.Fatalf("narrowed record: %q", got)
	}
	if got := policy.GrantedScope(plain); got != "read" {
		t.Fatalf("record without the key: %q", got)
	}
}

func TestEqual(t *testing.T) {
	if !policy.Equal("s3cret", "s3cret") || policy.Equal("s3cret", "s3cre") || policy.Equal("", "x") {
		t.Fatal("Equal")
	}
	if policy.UnknownClient("anything") {
		t.Fatal("UnknownClient verified")
	}
}
