package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/oauth2d/oauth2/internal/jwksfetch"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
)

// joseAssertion is a private_key_jwt assertion (RFC 7523 3) made with
// go-jose, as a client library would make it.
func joseAssertion(t *testing.T, key *ecdsa.PrivateKey, kid, clientID string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := josejwt.Signed(signer).Claims(josejwt.Claims{
		Issuer: clientID, Subject: clientID, Audience: josejwt.Audience{tokenURL},
		Expiry: josejwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: josejwt.NewNumericDate(now), ID: newJTI(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestClientAssertion_KeysFromTheClientsJWKSURI authenticates a client
// registered with a jwks_uri (RFC 7591 2): its keys come from the URL
// through the server's JWKSResolver (a jwksfetch.Fetcher), a rotated key
// is found by its kid, and a key the set does not hold is refused.
func TestClientAssertion_KeysFromTheClientsJWKSURI(t *testing.T) {
	first, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	second, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var (
		mu   sync.Mutex
		keys = []jose.JSONWebKey{{Key: &first.PublicKey, KeyID: "k1", Use: "sig"}}
		hits atomic.Int64
	)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys})
	}))
	defer site.Close()

	e := assertionEnv(t)
	const id = "uri-client"
	if err := e.clients.Set(id, &models.Client{ID: id, TokenEndpointAuthMethod: server.AuthMethodPrivateKeyJWT, JWKSURI: site.URL + "/jwks"}); err != nil {
		t.Fatal(err)
	}

	// Without a resolver the client has no keys.
	if w, data := e.token(assertionReq(joseAssertion(t, first, "k1", id), nil)); w.Code != http.StatusUnauthorized || data["error"] != "invalid_client" {
		t.Fatalf("without a resolver: %d %v, want 401 invalid_client", w.Code, data)
	}
	if hits.Load() != 0 {
		t.Fatal("fetched without a resolver")
	}

	f := jwksfetch.New(jwksfetch.Config{AllowPrivate: true, RefreshInterval: 50 * time.Millisecond})
	e.srv.SetJWKSResolver(f.Get)

	if w, data := e.token(assertionReq(joseAssertion(t, first, "k1", id), nil)); w.Code != http.StatusOK {
		t.Fatalf("key of the jwks_uri: %d %v", w.Code, data)
	}
	if w, data := e.token(assertionReq(joseAssertion(t, stranger, "k1", id), nil)); w.Code != http.StatusUnauthorized || data["error"] != "invalid_client" {
		t.Fatalf("a key not in the set: %d %v, want 401 invalid_client", w.Code, data)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1 (cached)", n)
	}

	// The client rotates to k2; the first assertion naming k2 after the
	// refresh interval makes the server fetch the set again.
	mu.Lock()
	keys = []jose.JSONWebKey{{Key: &second.PublicKey, KeyID: "k2", Use: "sig"}}
	mu.Unlock()
	time.Sleep(60 * time.Millisecond)
	if w, data := e.token(assertionReq(joseAssertion(t, second, "k2", id), nil)); w.Code != http.StatusOK {
		t.Fatalf("rotated key: %d %v", w.Code, data)
	}
	if w, data := e.token(assertionReq(joseAssertion(t, first, "k1", id), nil)); w.Code != http.StatusUnauthorized {
		t.Fatalf("the key the client dropped: %d %v, want 401", w.Code, data)
	}
}
