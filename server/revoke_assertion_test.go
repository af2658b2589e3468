package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/server"
)

// TestRevokeAndIntrospect_PrivateKeyJWT: the revocation and introspection
// endpoints authenticate clients with the server's real private_key_jwt
// authenticator (RFC 7523 2.2), jti replay protection included, since they
// share the token endpoint's client authentication.
func TestRevokeAndIntrospect_PrivateKeyJWT(t *testing.T) {
	e := assertionEnv(t)
	k := testKeys()
	assertion := func() string { return sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claimsFor(pkID)) }
	w, data := e.token(assertionReq(assertion(), nil))
	if w.Code != http.StatusOK {
		t.Fatalf("token: %d %v", w.Code, data)
	}
	access := data["access_token"].(string)
	form := func(as string) tokenReq {
		return tokenReq{body: url.Values{"token": {access}, "client_assertion_type": {server.ClientAssertionTypeJWTBearer},
			"client_assertion": {as}}.Encode()}
	}

	if w := e.call(introspection, form(assertion()).build()); w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), `{"active":true,`) {
		t.Fatalf("introspection: %d %s", w.Code, w.Body)
	}
	used := assertion()
	if w := e.call(revocation, form(used).build()); w.Code != http.StatusOK {
		t.Fatalf("revocation: %d %s", w.Code, w.Body)
	}
	if e.accessLive(access) {
		t.Fatal("the access token survived its revocation")
	}
	// The same assertion again is a replay (RFC 7523 3 jti).
	if w := e.call(revocation, form(used).build()); w.Code != http.StatusUnauthorized {
		t.Fatalf("replayed assertion: %d %s", w.Code, w.Body)
	}
}
