package generates_test

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
)

// TestJWTAccessGenerate_ExtensionClaims: the named extension values become
// claims, one value a string and several an array; unnamed values and
// absent names add nothing; the token still verifies and keeps its own
// claims.
func TestJWTAccessGenerate_ExtensionClaims(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	g := generates.NewJWTAccessGenerate(k.pem, k.method,
		generates.WithExtensionClaims("acr", "amr", "groups", "tenant", "acr"))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	data := grant("client-1", "user-1", "read", time.Hour)
	data.TokenInfo.(*models.Token).Extension = url.Values{
		"acr":    {"urn:mace:incommon:iap:silver"},
		"amr":    {"pwd", "otp"},
		"groups": {`quote" and ünïcode \ </script>`},
		"nonce":  {"not named: stays out"},
		"sub":    {"not named either"},
	}
	access, _, err := g.Token(context.Background(), data, false)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(access, claims, publicKeyfunc(k.verify)); err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	want := map[string]any{
		"acr":    "urn:mace:incommon:iap:silver",
		"amr":    []any{"pwd", "otp"},
		"groups": `quote" and ünïcode \ </script>`,
		"sub":    "user-1",
	}
	for name, w := range want {
		if !reflect.DeepEqual(claims[name], w) {
			t.Errorf("claim %s = %#v, want %#v", name, claims[name], w)
		}
	}
	for _, absent := range []string{"nonce", "tenant"} {
		if _, ok := claims[absent]; ok {
			t.Errorf("claim %s is in the token", absent)
		}
	}
	if n := strings.Count(string(mustPayloadJSON(t, access)), `"acr"`); n != 1 {
		t.Fatalf("acr appears %d times", n)
	}
	// Tokens without extension data, or without the option, are unchanged.
	plain := generates.NewJWTAccessGenerate(k.pem, k.method)
	a2, _, err := plain.Token(context.Background(), data, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := payload(t, a2)["acr"]; ok {
		t.Fatal("a generator without WithExtensionClaims copied extension data")
	}
}

func mustPayloadJSON(t *testing.T, token string) []byte {
	t.Helper()
	b, err := json.Marshal(payload(t, token))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJWTAccessGenerate_ExtensionClaimsReserved: the claims the generator
// sets, nbf and cnf cannot come from extension data; naming one fails the
// generator instead of letting data forge it.
func TestJWTAccessGenerate_ExtensionClaimsReserved(t *testing.T) {
	k := newTestKey(t, "HS256", 0)
	for _, name := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "auth_time", "cnf", ""} {
		t.Run(name, func(t *testing.T) {
			g := generates.NewJWTAccessGenerate(k.pem, k.method, generates.WithExtensionClaims("acr", name))
			if g.Err() == nil {
				t.Fatal("generator accepted the name")
			}
			if _, _, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), false); err == nil {
				t.Fatal("Token succeeded")
			}
			if _, err := generates.NewJWTAccessGenerateFromKey(k.key, k.method, generates.WithExtensionClaims(name)); err == nil {
				t.Fatal("NewJWTAccessGenerateFromKey accepted the name")
			}
		})
	}
}

// TestJWTAccessClaims_V3Accessors: the seed's UserID and ExpiredAt, as
// accessors of sub and exp.
func TestJWTAccessClaims_V3Accessors(t *testing.T) {
	k := newTestKey(t, "HS512", 0)
	g := generates.NewJWTAccessGenerate(k.pem, k.method)
	data := grant("client-1", "user-1", "", 2*time.Minute)
	access, _, err := g.Token(context.Background(), data, false)
	if err != nil {
		t.Fatal(err)
	}
	claims := &generates.JWTAccessClaims{}
	if _, err := jwt.ParseWithClaims(access, claims, publicKeyfunc(k.verify)); err != nil {
		t.Fatal(err)
	}
	if claims.UserID() != "user-1" {
		t.Fatalf("UserID() = %q", claims.UserID())
	}
	if want := data.TokenInfo.GetAccessCreateAt().Add(2 * time.Minute).Unix(); claims.ExpiredAt() != want {
		t.Fatalf("ExpiredAt() = %d, want %d", claims.ExpiredAt(), want)
	}
	if (&generates.JWTAccessClaims{}).ExpiredAt() != 0 {
		t.Fatal("ExpiredAt() of claims without exp is not 0")
	}
}
