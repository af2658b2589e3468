package server_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauth2d/oauth2/generates"
)

// fetchJWKS gets the JWK Set over HTTP and parses it with go-jose, a JWKS
// consumer that shares no code with this project.
func fetchJWKS(t *testing.T, url string) (jose.JSONWebKeySet, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Fatalf("Cache-Control %q", cc)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("go-jose cannot parse the JWK Set: %v\n%s", err, body)
	}
	return set, body
}

// verifyWithJWKS verifies token's signature with go-jose and the key the
// JWK Set has under the token's kid, and checks its iss and exp. It
// returns the kid, or an error when the set has no such key or the
// signature does not verify.
func verifyWithJWKS(set jose.JSONWebKeySet, token string, alg jose.SignatureAlgorithm) (string, error) {
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return "", err
	}
	kid := tok.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		return kid, errNoKey
	}
	if !keys[0].Valid() || !keys[0].IsPublic() || keys[0].Use != "sig" || keys[0].Algorithm != string(alg) {
		return kid, errBadKey
	}
	var claims josejwt.Claims
	var extra struct {
		ClientID string `json:"client_id"`
	}
	if err := tok.Claims(keys[0].Key, &claims, &extra); err != nil {
		return kid, err
	}
	if err := claims.Validate(josejwt.Expected{Issuer: issuer, Time: time.Now()}); err != nil {
		return kid, err
	}
	if extra.ClientID != confID {
		return kid, errBadKey
	}
	return kid, nil
}

type jwksErr string

func (e jwksErr) Error() string { return string(e) }

const (
	errNoKey  = jwksErr("no key with that kid in the JWK Set")
	errBadKey = jwksErr("the JWK or the token is not as published")
)

// TestJWKS_RotationVerifiedByGoJose: key A signs a token, B replaces it;
// both tokens verify through the JWK Set served over HTTP, read by
// go-jose; once A is retired and pruned its kid is gone and only B's token
// verifies (RFC 7517 5, RFC 8414 2 jwks_uri, RFC 9068 4).
func TestJWKS_RotationVerifiedByGoJose(t *testing.T) {
	rsaKey := func() crypto.Signer {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ecKey := func() crypto.Signer {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	edKey := func() crypto.Signer {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	tests := []struct {
		name   string
		method jwt.SigningMethod
		alg    jose.SignatureAlgorithm
		newKey func() crypto.Signer
	}{
		{"RS256", jwt.SigningMethodRS256, jose.RS256, rsaKey},
		{"ES256", jwt.SigningMethodES256, jose.ES256, ecKey},
		{"EdDSA", jwt.SigningMethodEdDSA, jose.EdDSA, edKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Config.Issuer = issuer
			ks := generates.NewKeySet()
			if err := ks.Add(generates.SigningKey{KeyID: "key-a", Method: tt.method, Key: tt.newKey()}, true); err != nil {
				t.Fatal(err)
			}
			e.mgr.MapAccessGenerate(generates.NewJWTAccessGenerateFromKeySet(ks, generates.WithIssuer(issuer)))
			e.srv.SetKeySet(ks)
			ts := e.serveAll(t)
			cc := &clientcredentials.Config{ClientID: confID, ClientSecret: confSecret, TokenURL: ts.URL + "/token", Scopes: []string{"read"}}
			ctx := context.Background()

			tokA, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			const retireAfter = 2 * time.Hour // covers the access token lifetime
			if err := ks.Rotate(generates.SigningKey{KeyID: "key-b", Method: tt.method, Key: tt.newKey()}, retireAfter); err != nil {
				t.Fatal(err)
			}
			tokB, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}

			set, body := fetchJWKS(t, ts.URL+"/jwks.json")
			for _, private := range []string{`"d":`, `"p":`, `"q":`, `"k":`} {
				if strings.Contains(string(body), private) {
					t.Fatalf("the JWK Set has a private member %s: %s", private, body)
				}
			}
			if len(set.Keys) != 2 {
				t.Fatalf("JWK Set has %d keys, want A and B", len(set.Keys))
			}
			if kid, err := verifyWithJWKS(set, tokA.AccessToken, tt.alg); err != nil || kid != "key-a" {
				t.Fatalf("token of key A: kid %q: %v", kid, err)
			}
			if kid, err := verifyWithJWKS(set, tokB.AccessToken, tt.alg); err != nil || kid != "key-b" {
				t.Fatalf("token of key B: kid %q: %v", kid, err)
			}

			// A token signed by A but claiming B's kid does not verify.
			parts := strings.Split(tokA.AccessToken, ".")
			hdrB := strings.Split(tokB.AccessToken, ".")[0]
			if _, err := verifyWithJWKS(set, hdrB+"."+parts[1]+"."+parts[2], tt.alg); err == nil {
				t.Fatal("a signature of A verified under B's kid")
			}

			// A's tokens have expired: A is retired and unpublished.
			if removed := ks.Prune(time.Now().Add(retireAfter + time.Minute)); len(removed) != 1 || removed[0] != "key-a" {
				t.Fatalf("Prune removed %v", removed)
			}
			set, _ = fetchJWKS(t, ts.URL+"/jwks.json")
			if len(set.Key("key-a")) != 0 || len(set.Keys) != 1 {
				t.Fatalf("key A still published: %d keys", len(set.Keys))
			}
			if _, err := verifyWithJWKS(set, tokA.AccessToken, tt.alg); err != errNoKey {
				t.Fatalf("token of the pruned key: %v, want %v", err, errNoKey)
			}
			if _, err := verifyWithJWKS(set, tokB.AccessToken, tt.alg); err != nil {
				t.Fatalf("token of key B after pruning A: %v", err)
			}
		})
	}
}

// TestJWKS_Responses checks the status, headers and body of the JWKS
// endpoint in each case.
func TestJWKS_Responses(t *testing.T) {
	edSigner := func() crypto.Signer {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	tests := []struct {
		name       string
		keys       []generates.SigningKey // nil: no key set
		method     string
		wantStatus int
		wantBody   string // exact, or "" to skip; "-" for no body
		wantKeys   int
		wantHeader map[string]string
	}{
		{"no key set is 404", nil, http.MethodGet, 404, "", 0, nil},
		{"POST is 405 with Allow", []generates.SigningKey{{KeyID: "k1", Method: jwt.SigningMethodEdDSA, Key: edSigner()}},
			http.MethodPost, 405, "", 0, map[string]string{"Allow": "GET, HEAD", "Cache-Control": "no-store"}},
		{"GET publishes the public key", []generates.SigningKey{{KeyID: "k1", Method: jwt.SigningMethodEdDSA, Key: edSigner()}},
			http.MethodGet, 200, "", 1, map[string]string{"Content-Type": "application/jwk-set+json", "Cache-Control": "public, max-age=300",
				"Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"}},
		{"HEAD has the headers and no body", []generates.SigningKey{{KeyID: "k1", Method: jwt.SigningMethodEdDSA, Key: edSigner()}},
			http.MethodHead, 200, "-", 0, map[string]string{"Content-Type": "application/jwk-set+json"}},
		{"HMAC secrets are never published", []generates.SigningKey{{KeyID: "h1", Method: jwt.SigningMethodHS256, Key: []byte(strings.Repeat("s", 32))}},
			http.MethodGet, 200, `{"keys":[]}`, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.keys != nil {
				ks := generates.NewKeySet()
				for i, k := range tt.keys {
					if err := ks.Add(k, i == 0); err != nil {
						t.Fatal(err)
					}
				}
				e.srv.SetKeySet(ks)
			}
			w := httptest.NewRecorder()
			e.srv.HandleJWKSRequest(w, httptest.NewRequest(tt.method, "/jwks.json", nil))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			for k, v := range tt.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			switch tt.wantBody {
			case "":
			case "-":
				if w.Body.Len() != 0 {
					t.Fatalf("HEAD body %q", w.Body)
				}
			default:
				if w.Body.String() != tt.wantBody {
					t.Fatalf("body %s, want %s", w.Body, tt.wantBody)
				}
			}
			if tt.wantStatus == 200 && tt.wantBody == "" {
				var set jose.JSONWebKeySet
				if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil || len(set.Keys) != tt.wantKeys {
					t.Fatalf("JWK Set %s: %v", w.Body, err)
				}
			}
			if tt.wantStatus == 405 && !strings.HasPrefix(w.Body.String(), `{"error":"invalid_request"`) {
				t.Fatalf("405 body %s", w.Body)
			}
		})
	}
}
