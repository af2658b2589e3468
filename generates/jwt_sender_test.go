package generates_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/policy"
)

// TestJWTAccessGenerate_SenderClaims: the resources of a token are its aud
// (RFC 8707 2), its DPoP key is cnf.jkt (RFC 9449 6.1), a delegation is
// act (RFC 8693 4.1); extension data of an application cannot forge them.
func TestJWTAccessGenerate_SenderClaims(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	g := generates.NewJWTAccessGenerate(k.pem, k.method, generates.WithAudience("default-aud"))
	tests := []struct {
		name    string
		ext     url.Values
		aud     []string
		jkt     string
		act     string
		noCnf   bool
		noActor bool
	}{
		{"none", nil, []string{"default-aud"}, "", "", true, true},
		{"one resource", url.Values{policy.ExtensionResource: {"https://a/"}}, []string{"https://a/"}, "", "", true, true},
		{"two resources", url.Values{policy.ExtensionResource: {"https://a/", "urn:b"}}, []string{"https://a/", "urn:b"}, "", "", true, true},
		{"DPoP key", url.Values{policy.ExtensionDPoPJKT: {"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}, []string{"default-aud"}, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "", false, true},
		{"actor", url.Values{policy.ExtensionActor: {`{"sub":"svc","act":{"sub":"x"}}`}}, []string{"default-aud"}, "", `{"sub":"svc","act":{"sub":"x"}}`, true, false},
		{"malformed actor left out", url.Values{policy.ExtensionActor: {`{"sub":`}}, []string{"default-aud"}, "", "", true, true},
		{"application keys are no claims", url.Values{"cnf": {"x"}, "act": {"{}"}, "aud": {"y"}}, []string{"default-aud"}, "", "", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := grant("client-1", "user-1", "read", time.Hour)
			data.TokenInfo.(*models.Token).Extension = tc.ext
			access, _, err := g.Token(context.Background(), data, false)
			if err != nil {
				t.Fatal(err)
			}
			c := &generates.JWTAccessClaims{}
			if _, err := jwt.ParseWithClaims(access, c, publicKeyfunc(k.verify)); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal([]string(c.Audience), tc.aud) {
				t.Errorf("aud %v, want %v", c.Audience, tc.aud)
			}
			if tc.noCnf != (c.Confirmation == nil) || (c.Confirmation != nil && c.Confirmation.JKT != tc.jkt) {
				t.Errorf("cnf %+v, want jkt %q", c.Confirmation, tc.jkt)
			}
			if tc.noActor != (c.Actor == nil) || (c.Actor != nil && string(c.Actor) != tc.act) {
				t.Errorf("act %s, want %s", c.Actor, tc.act)
			}
		})
	}
}

// TestWithExtensionClaims_CannotNameAct: act is the library's claim.
func TestWithExtensionClaims_CannotNameAct(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	if _, err := generates.NewJWTAccessGenerateFromKey(k.key, k.method, generates.WithExtensionClaims("act")); err == nil {
		t.Fatal("act accepted as an extension claim")
	}
}
