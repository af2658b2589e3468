package oidc_test

import (
	"strings"
	"testing"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
)

func TestResponseTypesOfCore3AreParsedInAnyOrder(t *testing.T) {
	tests := []struct {
		in   string
		want oauth2.ResponseType
	}{
		{"code", oauth2.Code},
		{"token", oauth2.Token},
		{"id_token", oidc.ResponseTypeIDToken},
		{"id_token token", oidc.ResponseTypeIDTokenToken},
		{"token id_token", oidc.ResponseTypeIDTokenToken},
		{"code id_token", oidc.ResponseTypeCodeIDToken},
		{"id_token code", oidc.ResponseTypeCodeIDToken},
		{"code token", oidc.ResponseTypeCodeToken},
		{"code id_token token", oidc.ResponseTypeCodeIDTokenToken},
		{"token code id_token", oidc.ResponseTypeCodeIDTokenToken},
		{"code  id_token", oidc.ResponseTypeCodeIDToken},
	}
	for _, tt := range tests {
		rt, ok := oidc.ParseResponseType(tt.in)
		if !ok || rt.ResponseType() != tt.want {
			t.Errorf("%q: %v %q, want %q", tt.in, ok, rt.ResponseType(), tt.want)
		}
	}
	for _, bad := range []string{"", " ", "none", "code code", "code none", "Code", "id_token id_token token", "code\tid_token", "device_code"} {
		if rt, ok := oidc.ParseResponseType(bad); ok {
			t.Errorf("%q accepted as %q", bad, rt.ResponseType())
		}
	}
}

// FuzzParseResponseType checks that what ParseResponseType accepts has
// each value once and writes back to a value it accepts the same way.
func FuzzParseResponseType(f *testing.F) {
	for _, s := range []string{"code", "code id_token token", "token  code", "none", "code code"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rt, ok := oidc.ParseResponseType(s)
		if !ok {
			return
		}
		out := string(rt.ResponseType())
		if out == "" {
			t.Fatalf("%q accepted without a value", s)
		}
		if len(strings.Fields(out)) != len(strings.Fields(s)) {
			t.Fatalf("%q parsed as %q", s, out)
		}
		again, ok := oidc.ParseResponseType(out)
		if !ok || again != rt {
			t.Fatalf("%q: %q does not parse back", s, out)
		}
	})
}

// Core 3.2.2.1 and 3.3.2.11: the implicit and hybrid flows need a nonce;
// the code flow and the plain token response do not.
func TestNonceIsRequiredForTheImplicitAndHybridFlows(t *testing.T) {
	for rt, required := range map[string]bool{
		"code": false, "token": false, "id_token": true, "id_token token": true,
		"code id_token": true, "code token": true, "code id_token token": true,
	} {
		_, err := oidc.ParseAuthRequest(params(), rt)
		if (err != nil) != required {
			t.Errorf("%s without nonce: %v", rt, err)
		}
	}
}

// RP-Initiated Logout 1.0 3.1: post-logout redirect URIs match exactly.
func TestPostLogoutRedirectURIMatchesExactly(t *testing.T) {
	c := &models.Client{ID: "rp", PostLogoutRedirectURIs: []string{"https://rp.example.com/bye", "https://rp.example.com/bye?x=1"}}
	for uri, ok := range map[string]bool{
		"https://rp.example.com/bye":      true,
		"https://rp.example.com/bye?x=1":  true,
		"https://rp.example.com/bye/":     false,
		"https://rp.example.com/BYE":      false,
		"https://rp.example.com/bye?x=2":  false,
		"https://rp.example.com/bye#f":    false,
		"https://evil.example.com/bye":    false,
		"":                                false,
		"https://rp.example.com/bye?x=1&": false,
	} {
		if oidc.ValidPostLogoutRedirectURI(c, uri) != ok {
			t.Errorf("%q: want %v", uri, ok)
		}
	}
	if oidc.ValidPostLogoutRedirectURI(&seedClient{}, "https://rp.example.com/bye") {
		t.Error("a client without post_logout_redirect_uris accepted one")
	}
}

// seedClient has none of the optional interfaces.
type seedClient struct{}

func (seedClient) GetID() string     { return "seed" }
func (seedClient) GetSecret() string { return "" }
func (seedClient) GetDomain() string { return "https://rp.example.com" }
func (seedClient) IsPublic() bool    { return false }
func (seedClient) GetUserID() string { return "" }
