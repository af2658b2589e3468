package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/server"
)

// echoGrantType is a grant an application adds from outside the package:
// it issues a token for the subject the client names, through the
// manager's client credentials issuance, as a token exchange grant would
// through its own.
const echoGrantType oauth2.GrantType = "urn:example:params:oauth:grant-type:echo"

type echoGrant struct{}

func (echoGrant) Info() server.GrantInfo {
	return server.GrantInfo{Type: echoGrantType, Name: "echo", Aliases: []string{"echo_grant"}}
}

func (echoGrant) ReadRequest(_ context.Context, _ *server.Server, p server.Params, tgr *oauth2.TokenGenerateRequest) error {
	if tgr.UserID = p.Get("subject"); tgr.UserID == "" {
		return errors.WithDescription(errors.ErrInvalidRequest, "The subject parameter is missing")
	}
	tgr.Scope = p.Get("scope")
	return nil
}

func (echoGrant) Issue(ctx context.Context, s *server.Server, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	return s.Manager.GenerateAccessToken(ctx, oauth2.ClientCredentials, tgr)
}

func init() { server.RegisterGrant(echoGrant{}) }

// TestRegisterGrant_AddedGrantIsServedWhereAllowed: a grant registered from
// outside the package is dispatched, checked, advertised and reported like
// the built-in ones, on the servers whose configuration lists it and on no
// other.
func TestRegisterGrant_AddedGrantIsServedWhereAllowed(t *testing.T) {
	e := newEnv(t)
	e.srv.Config.Issuer = issuer
	body := url.Values{"grant_type": {string(echoGrantType)}, "subject": {"alice"}, "scope": {"read"}}.Encode()

	// Not listed in Config.AllowedGrantTypes: not served, not advertised.
	if e.srv.CheckGrantType(echoGrantType) {
		t.Fatal("CheckGrantType accepts a grant the configuration does not list")
	}
	w, data := e.token(tokenReq{body: body, basic: basic(confID, confSecret)}.build())
	if w.Code != http.StatusBadRequest || data["error"] != "unsupported_grant_type" {
		t.Fatalf("unlisted grant: %d %v", w.Code, data)
	}
	if md, _ := e.srv.Metadata(); slices.Contains(md.GrantTypesSupported, string(echoGrantType)) {
		t.Fatal("the metadata advertises an unlisted grant")
	}

	e.srv.SetAllowedGrantType(oauth2.AuthorizationCode, echoGrantType)
	var issuedBy oauth2.GrantType
	e.srv.SetTokenIssuedHandler(func(_ *http.Request, gt oauth2.GrantType, _ oauth2.TokenInfo) { issuedBy = gt })
	if !e.srv.CheckGrantType(echoGrantType) {
		t.Fatal("CheckGrantType refuses a listed grant")
	}
	w, data = e.token(tokenReq{body: body, basic: basic(confID, confSecret)}.build())
	if w.Code != http.StatusOK || data["scope"] != "read" {
		t.Fatalf("listed grant: %d %v", w.Code, data)
	}
	ti, err := e.mgr.LoadAccessToken(context.Background(), data["access_token"].(string))
	if err != nil || ti.GetUserID() != "alice" || ti.GetClientID() != confID {
		t.Fatalf("issued record: %v", err)
	}
	if issuedBy != echoGrantType {
		t.Fatalf("TokenIssuedHandler got %q", issuedBy)
	}
	md, err := e.srv.Metadata()
	if err != nil || !slices.Equal(md.GrantTypesSupported, []string{string(oauth2.AuthorizationCode), string(echoGrantType)}) {
		t.Fatalf("grant_types_supported %v, %v", md.GrantTypesSupported, err)
	}

	// The shared steps run for it: its own parameter is required, the
	// client's registration is checked, and a parameter it reads from the
	// query string is refused.
	for _, tt := range []struct {
		name  string
		req   tokenReq
		code  string
		state int
	}{
		{"missing subject", tokenReq{body: "grant_type=" + url.QueryEscape(string(echoGrantType)), basic: basic(confID, confSecret)}, "invalid_request", 400},
		{"client not registered for it", tokenReq{body: body, basic: basic(limitedID, confSecret)}, "unauthorized_client", 400},
		{"subject in the query", tokenReq{body: "grant_type=" + url.QueryEscape(string(echoGrantType)), query: "subject=alice", basic: basic(confID, confSecret)}, "invalid_request", 400},
		{"wrong secret", tokenReq{body: body, basic: basic(confID, "wrong")}, "invalid_client", 401},
	} {
		w, data := e.token(tt.req.build())
		if w.Code != tt.state || data["error"] != tt.code {
			t.Errorf("%s: %d %v, want %d %s", tt.name, w.Code, data, tt.state, tt.code)
		}
	}

	// ValidationTokenRequest and GetAccessToken reach it too.
	gt, tgr, err := e.srv.ValidationTokenRequest(tokenReq{body: body, basic: basic(confID, confSecret)}.build())
	if err != nil || gt != echoGrantType || tgr.UserID != "alice" {
		t.Fatalf("ValidationTokenRequest: %q %v", gt, err)
	}
	if ti, err := e.srv.GetAccessToken(context.Background(), gt, tgr); err != nil || ti.GetUserID() != "alice" {
		t.Fatalf("GetAccessToken: %v", err)
	}
}

// TestGrants_EnumeratesEveryGrantOnce: Grants lists each registered grant
// once, with the names a configuration and a metric use, and the implicit
// grant, which the token endpoint does not serve.
func TestGrants_EnumeratesEveryGrantOnce(t *testing.T) {
	grants := server.Grants()
	byType := map[oauth2.GrantType]server.GrantInfo{}
	names := map[string]oauth2.GrantType{}
	for _, g := range grants {
		if _, dup := byType[g.Type]; dup {
			t.Fatalf("grant type %q listed twice", g.Type)
		}
		byType[g.Type] = g
		for _, n := range g.Names() {
			if other, dup := names[n]; dup {
				t.Fatalf("name %q names both %q and %q", n, other, g.Type)
			}
			names[n] = g.Type
		}
	}
	want := []struct {
		gt            oauth2.GrantType
		name          string
		tokenEndpoint bool
		responseType  oauth2.ResponseType
	}{
		{oauth2.AuthorizationCode, "authorization_code", true, oauth2.Code},
		{oauth2.Refreshing, "refresh_token", true, ""},
		{oauth2.ClientCredentials, "client_credentials", true, ""},
		{oauth2.PasswordCredentials, "password", true, ""},
		{oauth2.DeviceCode, "device_code", true, ""},
		{oauth2.TokenExchange, "token_exchange", true, ""},
		{oauth2.Implicit, "implicit", false, oauth2.Token},
		{echoGrantType, "echo", true, ""},
	}
	if len(grants) != len(want) {
		t.Fatalf("%d grants, want %d: %+v", len(grants), len(want), grants)
	}
	for _, w := range want {
		g, ok := byType[w.gt]
		if !ok || g.Name != w.name || g.TokenEndpoint != w.tokenEndpoint || g.ResponseType != w.responseType {
			t.Errorf("grant %q: %+v", w.gt, g)
		}
	}
	if names[string(oauth2.DeviceCode)] != oauth2.DeviceCode || names["device_code"] != oauth2.DeviceCode {
		t.Error("the device grant is not named by its type and its short name")
	}
	if names["echo_grant"] != echoGrantType {
		t.Error("an alias is not among the names")
	}
	// The returned slices are copies.
	grants[len(grants)-2].Aliases = append(grants[len(grants)-2].Aliases, "changed")
	for _, g := range server.Grants() {
		if slices.Contains(g.Aliases, "changed") {
			t.Fatal("Grants returned the registry's own slice")
		}
	}
}

// TestRegisterGrant_RefusesAmbiguousGrants: a registry in which one name
// would mean two grants is a configuration bug; RegisterGrant panics
// rather than let the later grant shadow the earlier.
func TestRegisterGrant_RefusesAmbiguousGrants(t *testing.T) {
	tests := []struct {
		name string
		info server.GrantInfo
		nil_ bool
	}{
		{"nil grant", server.GrantInfo{}, true},
		{"no type", server.GrantInfo{Name: "x"}, false},
		{"no name", server.GrantInfo{Type: "urn:x"}, false},
		{"the implicit grant", server.GrantInfo{Type: oauth2.Implicit, Name: "implicit2"}, false},
		{"a registered type", server.GrantInfo{Type: oauth2.ClientCredentials, Name: "cc"}, false},
		{"a registered name", server.GrantInfo{Type: "urn:x:other", Name: "device_code"}, false},
		{"the implicit name", server.GrantInfo{Type: "urn:x:other", Name: "implicit"}, false},
		{"an alias that is a registered type", server.GrantInfo{Type: "urn:x:other", Name: "other", Aliases: []string{string(oauth2.Refreshing)}}, false},
		{"an alias that is a registered alias", server.GrantInfo{Type: "urn:x:other", Name: "other", Aliases: []string{"echo_grant"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(server.Grants())
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("RegisterGrant did not panic")
				}
				if msg, _ := r.(string); !strings.HasPrefix(msg, "server: RegisterGrant") {
					t.Fatalf("panic %v", r)
				}
				if len(server.Grants()) != before {
					t.Fatal("a refused grant was registered")
				}
			}()
			if tt.nil_ {
				server.RegisterGrant(nil)
			}
			server.RegisterGrant(infoGrant{tt.info})
		})
	}
}

// infoGrant is a grant with the given names and no behaviour, for
// registration tests only.
type infoGrant struct{ info server.GrantInfo }

func (g infoGrant) Info() server.GrantInfo { return g.info }
func (infoGrant) ReadRequest(context.Context, *server.Server, server.Params, *oauth2.TokenGenerateRequest) error {
	return errors.ErrInvalidRequest
}
func (infoGrant) Issue(context.Context, *server.Server, *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	return nil, errors.ErrInvalidRequest
}

// TestMetadata_GrantTypesFollowTheRegistry: grant_types_supported lists the
// configured grants the server serves, in configuration order: the
// password grant only with its handler, never a grant nothing serves.
func TestMetadata_GrantTypesFollowTheRegistry(t *testing.T) {
	e := newEnv(t)
	e.srv.Config.Issuer = issuer
	e.srv.SetAllowedGrantType(oauth2.DeviceCode, oauth2.PasswordCredentials, "urn:nobody:serves:this", oauth2.ClientCredentials)
	get := func() []string {
		md, err := e.srv.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(md)
		var v struct {
			G []string `json:"grant_types_supported"`
		}
		_ = json.Unmarshal(b, &v)
		return v.G
	}
	if got := get(); !slices.Equal(got, []string{string(oauth2.DeviceCode), "client_credentials"}) {
		t.Fatalf("without a password handler: %v", got)
	}
	e.srv.SetPasswordAuthorizationHandler(func(context.Context, string, string, string) (string, error) { return "u", nil })
	if got := get(); !slices.Equal(got, []string{string(oauth2.DeviceCode), "password", "client_credentials"}) {
		t.Fatalf("with a password handler: %v", got)
	}
}
