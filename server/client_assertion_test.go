package server_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
)

// Clients of the JWT client authentication tests.
const (
	pkID         = "pk-client"   // private_key_jwt, RSA, EC and Ed25519 keys
	pkOctID      = "pk-oct"      // private_key_jwt whose JWKS also has a symmetric key
	csID         = "cs-client"   // client_secret_jwt, 64-byte secret
	csShortID    = "cs-short"    // client_secret_jwt, secret too short for HS256
	csHashedID   = "cs-hashed"   // client_secret_jwt, only a hash of the secret
	longSecretID = "long-secret" // default method, a 64-byte secret and a JWKS
	tokenURL     = issuer + "/token"
	csSecret     = "cs-secret-0123456789abcdef0123456789abcdef0123456789abcdef012345"
	csShort      = "cs-short-secret-0123"
	octKeyString = "oct-key-in-the-jwks-0123456789abcdef"
)

// assertionKeys are the test clients' keys, generated once.
type assertionKeys struct {
	rsa, otherRSA, weakRSA *rsa.PrivateKey // weakRSA: 1024 bits
	ec                     *ecdsa.PrivateKey
	ed                     ed25519.PrivateKey
	encRSA                 *rsa.PrivateKey
}

var testKeys = sync.OnceValue(func() *assertionKeys {
	k := &assertionKeys{}
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.otherRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.encRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.weakRSA, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return k
})

// csSecretHash is an argon2id hash of csSecret, computed once.
var csSecretHash = sync.OnceValue(func() string {
	h, err := secret.Hash(csSecret)
	if err != nil {
		panic(err)
	}
	return h
})

func jwkJSON(t testing.TB, key any, kid, use string) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Use: use})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jwks(keys ...json.RawMessage) []byte {
	b, _ := json.Marshal(map[string][]json.RawMessage{"keys": keys})
	return b
}

// assertionEnv is a server with both JWT client authentication methods
// and the clients above.
func assertionEnv(t testing.TB) *env {
	t.Helper()
	e := newEnv(t)
	e.srv.Config.Issuer = issuer
	e.srv.SetKVStore(e.tokens.TokenStore.(oauth2.KVStore))
	e.srv.AddClientAssertionAuthenticators()
	k := testKeys()
	hashed := csSecretHash()
	for _, c := range []*models.Client{
		{ID: pkID, TokenEndpointAuthMethod: server.AuthMethodPrivateKeyJWT, JWKS: jwks(
			jwkJSON(t, &k.rsa.PublicKey, "rsa1", "sig"),
			jwkJSON(t, &k.ec.PublicKey, "ec1", ""),
			jwkJSON(t, k.ed.Public(), "ed1", "sig"),
			jwkJSON(t, &k.encRSA.PublicKey, "enc1", "enc"),
			jwkJSON(t, &k.weakRSA.PublicKey, "weak", "sig"),
		)},
		{ID: longSecretID, Secret: csSecret, JWKS: jwks(jwkJSON(t, &k.rsa.PublicKey, "rsa1", "sig"))},
		{ID: pkOctID, TokenEndpointAuthMethod: server.AuthMethodPrivateKeyJWT, JWKS: jwks(
			jwkJSON(t, []byte(octKeyString), "oct1", "sig"),
			jwkJSON(t, &k.rsa.PublicKey, "rsa1", "sig"),
		)},
		{ID: csID, Secret: csSecret, TokenEndpointAuthMethod: server.AuthMethodClientSecretJWT},
		{ID: csShortID, Secret: csShort, TokenEndpointAuthMethod: server.AuthMethodClientSecretJWT},
		{ID: csHashedID, SecretHash: hashed, TokenEndpointAuthMethod: server.AuthMethodClientSecretJWT},
	} {
		if err := e.clients.Set(c.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

var jtiCounter struct {
	sync.Mutex
	n int
}

func newJTI() string {
	jtiCounter.Lock()
	defer jtiCounter.Unlock()
	jtiCounter.n++
	return fmt.Sprintf("jti-%d-%d", time.Now().UnixNano(), jtiCounter.n)
}

// claimsFor returns valid claims of an assertion by clientID.
func claimsFor(clientID string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": clientID, "sub": clientID, "aud": tokenURL,
		"exp": now.Add(2 * time.Minute).Unix(), "iat": now.Unix(), "jti": newJTI(),
	}
}

func sign(t testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawJWT builds a JWS from a header, claims and a signature computed by
// sig over the signing input: for tokens no library would make.
func rawJWT(header map[string]any, claims jwt.MapClaims, sig func(input string) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig(input))
}

func assertionReq(assertion string, extra url.Values) *http.Request {
	v := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {server.ClientAssertionTypeJWTBearer},
		"client_assertion":      {assertion},
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return tokenReq{body: v.Encode()}.build()
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestClientAssertion_Rules(t *testing.T) {
	k := testKeys()
	pemPub, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pemPub})
	now := time.Now()
	pk := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", c) }
	cs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(csSecret), "", c) }

	tests := []struct {
		name      string
		assertion func() string
		extra     url.Values
		issuer    string // "" keeps the test issuer; "-" removes it
		status    int
		code      string
	}{
		// Accepted algorithms (RFC 7518 3.1) of each method.
		{name: "RS256 with the registered key", assertion: func() string { return pk(claimsFor(pkID)) }, status: 200},
		{name: "PS256", assertion: func() string { return sign(t, jwt.SigningMethodPS256, k.rsa, "rsa1", claimsFor(pkID)) }, status: 200},
		{name: "ES256", assertion: func() string { return sign(t, jwt.SigningMethodES256, k.ec, "ec1", claimsFor(pkID)) }, status: 200},
		{name: "EdDSA", assertion: func() string { return sign(t, jwt.SigningMethodEdDSA, k.ed, "ed1", claimsFor(pkID)) }, status: 200},
		{name: "RS256 without kid tries every fitting key", assertion: func() string { return sign(t, jwt.SigningMethodRS256, k.rsa, "", claimsFor(pkID)) }, status: 200},
		{name: "HS256 client_secret_jwt", assertion: func() string { return cs(claimsFor(csID)) }, status: 200},
		{name: "HS384 client_secret_jwt", assertion: func() string { return sign(t, jwt.SigningMethodHS384, []byte(csSecret), "", claimsFor(csID)) }, status: 200},
		{name: "HS512 client_secret_jwt", assertion: func() string { return sign(t, jwt.SigningMethodHS512, []byte(csSecret), "", claimsFor(csID)) }, status: 200},

		// iss, sub and client_id (RFC 7523 3 items 1, 2).
		{name: "matching client_id parameter", assertion: func() string { return pk(claimsFor(pkID)) }, extra: url.Values{"client_id": {pkID}}, status: 200},
		{name: "other client_id parameter", assertion: func() string { return pk(claimsFor(pkID)) }, extra: url.Values{"client_id": {csID}}, status: 401, code: "invalid_client"},
		{name: "iss differs from sub", assertion: func() string { return pk(with(claimsFor(pkID), "iss", "someone")) }, status: 401, code: "invalid_client"},
		{name: "no sub", assertion: func() string { return pk(with(claimsFor(pkID), "sub", nil)) }, status: 401, code: "invalid_client"},
		{name: "no iss", assertion: func() string { return pk(with(claimsFor(pkID), "iss", nil)) }, status: 401, code: "invalid_client"},
		{name: "unknown client", assertion: func() string { return pk(claimsFor("nobody")) }, status: 401, code: "invalid_client"},
		{name: "client not registered for client_secret_jwt", assertion: func() string {
			return sign(t, jwt.SigningMethodHS256, []byte(csSecret), "", claimsFor(longSecretID))
		}, status: 401, code: "invalid_client"},
		{name: "client not registered for private_key_jwt", assertion: func() string {
			return sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claimsFor(longSecretID))
		}, status: 401, code: "invalid_client"},
		{name: "private_key_jwt client names another client's key set", assertion: func() string { return pk(claimsFor(csID)) }, status: 401, code: "invalid_client"},

		// Algorithms and signatures.
		{name: "alg none", assertion: func() string {
			return rawJWT(map[string]any{"alg": "none", "typ": "JWT"}, claimsFor(pkID), func(string) []byte { return nil })
		}, status: 401, code: "invalid_client"},
		{name: "alg none with the none signing method", assertion: func() string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claimsFor(pkID))
		}, status: 401, code: "invalid_client"},
		{name: "HS256 keyed with the RSA public key PEM (algorithm confusion)", assertion: func() string {
			return sign(t, jwt.SigningMethodHS256, pemBytes, "rsa1", claimsFor(pkID))
		}, status: 401, code: "invalid_client"},
		{name: "HS256 keyed with the RSA modulus", assertion: func() string {
			return sign(t, jwt.SigningMethodHS256, k.rsa.N.Bytes(), "rsa1", claimsFor(pkID))
		}, status: 401, code: "invalid_client"},
		{name: "HS256 keyed with a symmetric key of the JWKS", assertion: func() string {
			return sign(t, jwt.SigningMethodHS256, []byte(octKeyString), "oct1", claimsFor(pkOctID))
		}, status: 401, code: "invalid_client"},
		{name: "RS256 for a client_secret_jwt client", assertion: func() string { return pk(claimsFor(csID)) }, status: 401, code: "invalid_client"},
		{name: "RS384 is not accepted", assertion: func() string { return sign(t, jwt.SigningMethodRS384, k.rsa, "rsa1", claimsFor(pkID)) }, status: 401, code: "invalid_client"},
		{name: "signed by another key", assertion: func() string { return sign(t, jwt.SigningMethodRS256, k.otherRSA, "rsa1", claimsFor(pkID)) }, status: 401, code: "invalid_client"},
		{name: "unknown kid", assertion: func() string { return sign(t, jwt.SigningMethodRS256, k.rsa, "nope", claimsFor(pkID)) }, status: 401, code: "invalid_client"},
		{name: "key registered for encryption", assertion: func() string { return sign(t, jwt.SigningMethodRS256, k.encRSA, "enc1", claimsFor(pkID)) }, status: 401, code: "invalid_client"},
		{name: "registered 1024-bit key", assertion: func() string { return sign(t, jwt.SigningMethodRS256, k.weakRSA, "weak", claimsFor(pkID)) }, status: 401, code: "invalid_client"},
		{name: "registered 1024-bit key without kid", assertion: func() string { return sign(t, jwt.SigningMethodRS256, k.weakRSA, "", claimsFor(pkID)) }, status: 401, code: "invalid_client"},
		{name: "ES256 with the RSA key's kid", assertion: func() string { return sign(t, jwt.SigningMethodES256, k.ec, "rsa1", claimsFor(pkID)) }, status: 401, code: "invalid_client"},
		{name: "crit header", assertion: func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claimsFor(pkID))
			tok.Header["kid"] = "rsa1"
			tok.Header["crit"] = []string{"exp"}
			s, _ := tok.SignedString(k.rsa)
			return s
		}, status: 401, code: "invalid_client"},
		{name: "wrong HMAC secret", assertion: func() string {
			return sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("w", 64)), "", claimsFor(csID))
		}, status: 401, code: "invalid_client"},
		{name: "secret shorter than the HS256 output", assertion: func() string {
			return sign(t, jwt.SigningMethodHS256, []byte(csShort), "", claimsFor(csShortID))
		}, status: 401, code: "invalid_client"},
		{name: "client keeps only a hash of its secret", assertion: func() string {
			return sign(t, jwt.SigningMethodHS256, []byte(csSecret), "", claimsFor(csHashedID))
		}, status: 401, code: "invalid_client"},
		{name: "tampered payload", assertion: func() string {
			s := pk(claimsFor(pkID))
			parts := strings.Split(s, ".")
			c, _ := json.Marshal(with(claimsFor(pkID), "sub", csID, "iss", csID))
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(c) + "." + parts[2]
		}, status: 401, code: "invalid_client"},

		// aud (RFC 7523 3 item 3, as draft-ietf-oauth-rfc7523bis narrows
		// it): the issuer or the token endpoint, and an array only when
		// every entry is one of those.
		{name: "aud is the issuer", assertion: func() string { return pk(with(claimsFor(pkID), "aud", issuer)) }, status: 200},
		{name: "aud is the token endpoint", assertion: func() string { return pk(with(claimsFor(pkID), "aud", tokenURL)) }, status: 200},
		{name: "aud list of the issuer and the token endpoint", assertion: func() string {
			return pk(with(claimsFor(pkID), "aud", []string{issuer, tokenURL}))
		}, status: 200},
		{name: "aud list injects another audience before the issuer", assertion: func() string {
			return pk(with(claimsFor(pkID), "aud", []string{"https://evil.example", issuer}))
		}, status: 401, code: "invalid_client"},
		{name: "aud list injects another audience after the token endpoint", assertion: func() string {
			return pk(with(claimsFor(pkID), "aud", []string{tokenURL, "https://other.example"}))
		}, status: 401, code: "invalid_client"},
		{name: "aud is an empty list", assertion: func() string { return pk(with(claimsFor(pkID), "aud", []string{})) }, status: 401, code: "invalid_client"},
		{name: "aud is another server", assertion: func() string { return pk(with(claimsFor(pkID), "aud", "https://other.example/token")) }, status: 401, code: "invalid_client"},
		{name: "no aud", assertion: func() string { return pk(with(claimsFor(pkID), "aud", nil)) }, status: 401, code: "invalid_client"},
		{name: "server without issuer accepts no assertion", issuer: "-", assertion: func() string { return pk(claimsFor(pkID)) }, status: 401, code: "invalid_client"},

		// exp, nbf, iat (RFC 7523 3 items 4 to 6).
		{name: "no exp", assertion: func() string { return pk(with(claimsFor(pkID), "exp", nil)) }, status: 401, code: "invalid_client"},
		{name: "expired", assertion: func() string { return pk(with(claimsFor(pkID), "exp", now.Add(-time.Minute).Unix())) }, status: 401, code: "invalid_client"},
		{name: "expired within the leeway", assertion: func() string { return pk(with(claimsFor(pkID), "exp", now.Add(-10*time.Second).Unix())) }, status: 200},
		{name: "exp too far ahead", assertion: func() string { return pk(with(claimsFor(pkID), "exp", now.Add(time.Hour).Unix())) }, status: 401, code: "invalid_client"},
		{name: "nbf in the future", assertion: func() string { return pk(with(claimsFor(pkID), "nbf", now.Add(5*time.Minute).Unix())) }, status: 401, code: "invalid_client"},
		{name: "nbf within the leeway", assertion: func() string { return pk(with(claimsFor(pkID), "nbf", now.Add(10*time.Second).Unix())) }, status: 200},
		{name: "iat in the future", assertion: func() string { return pk(with(claimsFor(pkID), "iat", now.Add(5*time.Minute).Unix())) }, status: 401, code: "invalid_client"},
		{name: "exp is not a number", assertion: func() string { return pk(with(claimsFor(pkID), "exp", "soon")) }, status: 401, code: "invalid_client"},

		// jti (RFC 7523 3 item 7).
		{name: "no jti", assertion: func() string { return pk(with(claimsFor(pkID), "jti", nil)) }, status: 401, code: "invalid_client"},
		{name: "jti too long", assertion: func() string { return pk(with(claimsFor(pkID), "jti", strings.Repeat("j", 300))) }, status: 401, code: "invalid_client"},

		// Parameters (RFC 7521 4.2) and methods (RFC 6749 2.3).
		{name: "wrong client_assertion_type", assertion: func() string { return pk(claimsFor(pkID)) },
			extra: url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}}, status: 401, code: "invalid_client"},
		{name: "client_assertion_type without assertion", assertion: func() string { return "" }, status: 401, code: "invalid_client"},
		{name: "not a JWT", assertion: func() string { return "not-a-jwt" }, status: 401, code: "invalid_client"},
		{name: "assertion with client_secret is two methods", assertion: func() string { return pk(claimsFor(pkID)) },
			extra: url.Values{"client_secret": {"x"}}, status: 400, code: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := assertionEnv(t)
			switch tt.issuer {
			case "-":
				e.srv.Config.Issuer = ""
			case "":
			default:
				e.srv.Config.Issuer = tt.issuer
			}
			before := e.issued()
			w, data := e.token(assertionReq(tt.assertion(), tt.extra))
			checkTokenHeaders(t, w)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %v", w.Code, tt.status, data)
			}
			if tt.status != 200 {
				if data["error"] != tt.code {
					t.Fatalf("error %v, want %s", data["error"], tt.code)
				}
				if e.issued() != before {
					t.Fatal("a token was issued on an error path")
				}
				return
			}
			if data["access_token"] == "" || data["access_token"] == nil {
				t.Fatalf("no access token: %v", data)
			}
		})
	}
}

func TestClientAssertion_WithBasicIsTwoMethods(t *testing.T) {
	e := assertionEnv(t)
	r := assertionReq(sign(t, jwt.SigningMethodRS256, testKeys().rsa, "rsa1", claimsFor(pkID)), nil)
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(confID+":"+confSecret)))
	w, data := e.token(r)
	if w.Code != http.StatusBadRequest || data["error"] != "invalid_request" {
		t.Fatalf("got %d %v, want 400 invalid_request (RFC 6749 2.3)", w.Code, data)
	}
}

func TestClientAssertion_ReplayRefusedAcrossServers(t *testing.T) {
	e := assertionEnv(t)
	// A second server process over the same store.
	other := server.NewServer(&server.Config{Issuer: issuer, TokenType: "Bearer",
		AllowedGrantTypes: []oauth2.GrantType{oauth2.ClientCredentials}}, e.mgr)
	other.SetKVStore(e.tokens.TokenStore.(oauth2.KVStore))
	other.AddClientAssertionAuthenticators()

	for _, tc := range []struct {
		name      string
		assertion string
	}{
		{"private_key_jwt", sign(t, jwt.SigningMethodES256, testKeys().ec, "ec1", claimsFor(pkID))},
		{"client_secret_jwt", sign(t, jwt.SigningMethodHS256, []byte(csSecret), "", claimsFor(csID))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, data := e.token(assertionReq(tc.assertion, nil))
			if w.Code != 200 {
				t.Fatalf("first use: %d %v", w.Code, data)
			}
			for i, srv := range []*server.Server{e.srv, other} {
				rw := httptest.NewRecorder()
				if err := srv.HandleTokenRequest(rw, assertionReq(tc.assertion, nil)); err != nil {
					t.Fatal(err)
				}
				if rw.Code != http.StatusUnauthorized || !strings.Contains(rw.Body.String(), "invalid_client") {
					t.Fatalf("replay %d: %d %s, want 401 invalid_client", i, rw.Code, rw.Body.String())
				}
			}
		})
	}
}

func TestClientAssertion_SameJTIForAnotherClientIsNoReplay(t *testing.T) {
	e := assertionEnv(t)
	jti := newJTI()
	a := sign(t, jwt.SigningMethodRS256, testKeys().rsa, "rsa1", with(claimsFor(pkID), "jti", jti))
	b := sign(t, jwt.SigningMethodHS256, []byte(csSecret), "", with(claimsFor(csID), "jti", jti))
	for _, s := range []string{a, b} {
		if w, data := e.token(assertionReq(s, nil)); w.Code != 200 {
			t.Fatalf("%d %v", w.Code, data)
		}
	}
}

func TestClientAssertion_OneMethodAloneRefusesTheOtherFamily(t *testing.T) {
	k := testKeys()
	pemPub, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	tests := []struct {
		name      string
		add       func(*server.Server) server.ClientAuthenticator
		assertion func(t *testing.T) string
	}{
		{"private_key_jwt alone refuses HS256 keyed with the public key",
			func(s *server.Server) server.ClientAuthenticator { return server.NewPrivateKeyJWTAuthenticator(s) },
			func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, pemPub, "rsa1", claimsFor(pkID)) }},
		{"client_secret_jwt alone refuses RS256",
			func(s *server.Server) server.ClientAuthenticator { return server.NewClientSecretJWTAuthenticator(s) },
			func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claimsFor(csID)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := assertionEnv(t)
			e.srv.ClientAuthenticators = nil
			e.srv.AddClientAuthenticator(tt.add(e.srv))
			w, data := e.token(assertionReq(tt.assertion(t), url.Values{"client_id": {pkID}}))
			if w.Code != http.StatusUnauthorized || data["error"] != "invalid_client" {
				t.Fatalf("got %d %v, want 401 invalid_client", w.Code, data)
			}
		})
	}
}

func TestClientAssertion_StoreFailures(t *testing.T) {
	t.Run("KVStore down is temporarily_unavailable", func(t *testing.T) {
		e := assertionEnv(t)
		e.srv.SetKVStore(downKV{})
		w, data := e.token(assertionReq(sign(t, jwt.SigningMethodRS256, testKeys().rsa, "rsa1", claimsFor(pkID)), nil))
		if w.Code != http.StatusServiceUnavailable || data["error"] != "temporarily_unavailable" {
			t.Fatalf("got %d %v", w.Code, data)
		}
	})
	t.Run("no KVStore is a server_error", func(t *testing.T) {
		e := assertionEnv(t)
		e.srv.SetKVStore(nil) // the counting store hides the memory store's KVStore
		w, data := e.token(assertionReq(sign(t, jwt.SigningMethodRS256, testKeys().rsa, "rsa1", claimsFor(pkID)), nil))
		if w.Code != http.StatusInternalServerError || data["error"] != "server_error" {
			t.Fatalf("got %d %v", w.Code, data)
		}
	})
}

func TestClientAssertion_MethodAndAlgorithms(t *testing.T) {
	s := server.NewDefaultServer(nil)
	pk, cs := server.NewPrivateKeyJWTAuthenticator(s), server.NewClientSecretJWTAuthenticator(s)
	if pk.Method() != "private_key_jwt" || cs.Method() != "client_secret_jwt" {
		t.Fatalf("methods %q %q", pk.Method(), cs.Method())
	}
	if got := strings.Join(pk.SigningAlgorithms(), " "); got != "RS256 PS256 ES256 EdDSA" {
		t.Fatalf("private_key_jwt algorithms %q", got)
	}
	if got := strings.Join(cs.SigningAlgorithms(), " "); got != "HS256 HS384 HS512" {
		t.Fatalf("client_secret_jwt algorithms %q", got)
	}
	pk.SigningAlgorithms()[0] = "none"
	if pk.SigningAlgorithms()[0] != "RS256" {
		t.Fatal("SigningAlgorithms returned the authenticator's own slice")
	}
}

// FuzzClientAssertion sends arbitrary client assertions, as JWT or as
// parts of one, to the JWT client authenticators: they must never panic
// and never authenticate a client.
func FuzzClientAssertion(f *testing.F) {
	k := testKeys()
	valid := sign(f, jwt.SigningMethodRS256, k.rsa, "rsa1", claimsFor(pkID))
	parts := strings.Split(valid, ".")
	pemPub, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	f.Add(parts[0]+"."+parts[1]+".", "")
	f.Add(parts[0]+"."+parts[1]+"."+base64.RawURLEncoding.EncodeToString([]byte("sig")), pkID)
	f.Add(sign(f, jwt.SigningMethodHS256, pemPub, "rsa1", claimsFor(pkID)), pkID)
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claimsFor(csID)), "")
	f.Add(sign(f, jwt.SigningMethodHS256, []byte(strings.Repeat("k", 64)), "", claimsFor(csID)), csID)
	f.Add(rawJWT(map[string]any{"alg": "RS256", "kid": "rsa1"}, with(claimsFor(pkID), "exp", 1e300), func(in string) []byte {
		h := crypto.SHA256.New()
		h.Write([]byte(in))
		s, _ := rsa.SignPKCS1v15(rand.Reader, k.otherRSA, crypto.SHA256, h.Sum(nil))
		return s
	}), "")
	f.Add("e30.e30.", "")
	f.Add("..", "")
	f.Add("eyJhbGciOiJIUzI1NiJ9", "")
	f.Add(strings.Repeat("a.", 1000), "")

	e := assertionEnv(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, assertion, clientID string) {
		p := params{"client_assertion_type": server.ClientAssertionTypeJWTBearer, "client_assertion": assertion, "client_id": clientID}
		r := assertionReq(assertion, nil)
		for _, a := range e.srv.ClientAuthenticators {
			a.Match(r, p)
			c, err := a.Authenticate(ctx, r, p)
			if err == nil || c != nil {
				t.Fatalf("%s authenticated %v with a fuzzed assertion", a.Method(), c)
			}
		}
	})
}

// params is a server.Params over a map.
type params map[string]string

func (p params) Get(key string) string { return p[key] }

// downKV is a KVStore whose engine is unreachable.
type downKV struct{}

var errKVDown = fmt.Errorf("kv: %w", oauth2.ErrUnavailable)

func (downKV) Put(context.Context, string, []byte, time.Duration) error { return errKVDown }
func (downKV) PutIfAbsent(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, errKVDown
}
func (downKV) Get(context.Context, string) ([]byte, error)  { return nil, errKVDown }
func (downKV) Take(context.Context, string) ([]byte, error) { return nil, errKVDown }
func (downKV) Delete(context.Context, string) error         { return errKVDown }
func (downKV) Incr(context.Context, string, time.Duration) (int64, error) {
	return 0, errKVDown
}

func TestMetadata_AdvertisesClientAssertionMethods(t *testing.T) {
	e := assertionEnv(t)
	md, err := e.srv.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{server.AuthMethodPrivateKeyJWT, server.AuthMethodClientSecretJWT} {
		if !slices.Contains(md.TokenEndpointAuthMethodsSupported, m) {
			t.Errorf("token_endpoint_auth_methods_supported %v lacks %s", md.TokenEndpointAuthMethodsSupported, m)
		}
	}
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA", "HS256", "HS384", "HS512"} {
		if !slices.Contains(md.TokenEndpointAuthSigningAlgValuesSupported, alg) {
			t.Errorf("token_endpoint_auth_signing_alg_values_supported %v lacks %s", md.TokenEndpointAuthSigningAlgValuesSupported, alg)
		}
	}
	if slices.Contains(md.TokenEndpointAuthSigningAlgValuesSupported, "none") {
		t.Error("none is advertised")
	}
}

func TestClientAssertion_AtTheDeviceAuthorizationEndpoint(t *testing.T) {
	e := assertionEnv(t)
	e.srv.SetAllowedGrantType(oauth2.ClientCredentials, oauth2.DeviceCode)
	assertion := sign(t, jwt.SigningMethodEdDSA, testKeys().ed, "ed1", with(claimsFor(pkID), "aud", issuer))
	v := url.Values{"client_assertion_type": {server.ClientAssertionTypeJWTBearer}, "client_assertion": {assertion}}
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		w := httptest.NewRecorder()
		if err := e.srv.HandleDeviceAuthorizationRequest(w, tokenReq{body: v.Encode()}.build()); err != nil {
			t.Fatal(err)
		}
		if w.Code != want {
			t.Fatalf("request %d: %d %s, want %d (the second is a replay)", i+1, w.Code, w.Body.String(), want)
		}
	}
}
