package generates_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	oauth2errors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
)

var allAlgs = []string{"HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"}

// payload decodes the claims segment of a JWT as raw JSON members.
func payload(t *testing.T, token string) map[string]json.RawMessage {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("claims are not a JSON object: %v", err)
	}
	return m
}

// The generator, built either way, makes tokens that jwt/v5 verifies with
// the public key alone, carrying the RFC 9068 header and every RFC 9068 2.2
// claim with the right value.
func TestJWTAccessGenerate_RoundTripEveryAlgorithm(t *testing.T) {
	opts := []generates.JWTOption{
		generates.WithIssuer("https://as.example.com"),
		generates.WithAudience("https://rs.example.com"),
		generates.WithKeyID("key-1"),
	}
	for _, alg := range allAlgs {
		k := newTestKey(t, alg, 0)
		fromKey, err := generates.NewJWTAccessGenerateFromKey(k.key, k.method, opts...)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		builders := map[string]*generates.JWTAccessGenerate{
			"NewJWTAccessGenerate":        generates.NewJWTAccessGenerate(k.pem, k.method, opts...),
			"NewJWTAccessGenerateFromKey": fromKey,
		}
		for name, g := range builders {
			t.Run(alg+"/"+name, func(t *testing.T) {
				if err := g.Err(); err != nil {
					t.Fatal(err)
				}
				data := grant("client-1", "user-1", "read write", time.Hour)
				access, refresh, err := g.Token(context.Background(), data, true)
				if err != nil {
					t.Fatal(err)
				}
				decodeOpaque(t, refresh)
				if strings.Count(refresh, ".") != 0 {
					t.Fatal("refresh token is a JWT")
				}

				claims := &generates.JWTAccessClaims{}
				tok, err := jwt.ParseWithClaims(access, claims, publicKeyfunc(k.verify),
					jwt.WithValidMethods([]string{alg}),
					jwt.WithIssuer("https://as.example.com"),
					jwt.WithAudience("https://rs.example.com"),
					jwt.WithExpirationRequired(),
					jwt.WithIssuedAt())
				if err != nil {
					t.Fatal(err)
				}
				if !tok.Valid {
					t.Fatal("token not valid")
				}
				wantHeader := map[string]any{"alg": alg, "typ": "at+jwt", "kid": "key-1"}
				if !maps.Equal(tok.Header, wantHeader) {
					t.Errorf("header %v, want %v", tok.Header, wantHeader)
				}
				created := data.TokenInfo.GetAccessCreateAt()
				switch {
				case claims.Subject != "user-1":
					t.Errorf("sub %q", claims.Subject)
				case claims.ClientID != "client-1":
					t.Errorf("client_id %q", claims.ClientID)
				case claims.Scope != "read write":
					t.Errorf("scope %q", claims.Scope)
				case !claims.IssuedAt.Equal(data.CreateAt):
					t.Errorf("iat %v, want %v", claims.IssuedAt, data.CreateAt)
				case !claims.ExpiresAt.Equal(created.Add(time.Hour)):
					t.Errorf("exp %v, want %v", claims.ExpiresAt, created.Add(time.Hour))
				case len(claims.ID) < 22:
					t.Errorf("jti %q carries fewer than 128 bits", claims.ID)
				case claims.AuthTime != nil || claims.NotBefore != nil:
					t.Errorf("unexpected auth_time or nbf")
				}
				members := slices.Sorted(maps.Keys(payload(t, access)))
				want := []string{"aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"}
				if !slices.Equal(members, want) {
					t.Errorf("claims %v, want %v", members, want)
				}
			})
		}
	}
}

// The seed's JWT example, with jwt-go replaced by jwt/v5.
func TestJWTAccessGenerate_SeedExample(t *testing.T) {
	g := generates.NewJWTAccessGenerate([]byte("00000000"), jwt.SigningMethodHS512)
	access, _, err := g.Token(context.Background(), grant("000000", "", "read", 2*time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.ParseWithClaims(access, &generates.JWTAccessClaims{}, func(t *jwt.Token) (interface{}, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, fmt.Errorf("parse error")
		}
		return []byte("00000000"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	claims, ok := token.Claims.(*generates.JWTAccessClaims)
	if !ok || !token.Valid {
		t.Fatal("invalid token")
	}
	if err := claims.Valid(); err != nil {
		t.Fatal(err)
	}
	// No user: the subject is the client (RFC 9068 2.2), and so is the
	// audience when none is configured (go-oauth2 v4).
	if claims.Subject != "000000" || !slices.Equal(claims.Audience, jwt.ClaimStrings{"000000"}) {
		t.Errorf("sub %q aud %v", claims.Subject, claims.Audience)
	}
	if _, ok := payload(t, access)["iss"]; ok {
		t.Error("iss set without WithIssuer")
	}
	if kid, _ := token.Header["kid"].(string); kid == "" || strings.Contains(kid, "00000000") ||
		kid == base64.RawURLEncoding.EncodeToString([]byte("00000000")) {
		t.Errorf("default kid %q is empty or reveals the key", kid)
	}
}

func TestJWTAccessGenerate_DefaultKeyIDIsStable(t *testing.T) {
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k := newTestKey(t, alg, 0)
			kid := func() any {
				g := generates.NewJWTAccessGenerate(k.pem, k.method)
				access, _, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), false)
				if err != nil {
					t.Fatal(err)
				}
				tok, _, err := jwt.NewParser().ParseUnverified(access, &generates.JWTAccessClaims{})
				if err != nil {
					t.Fatal(err)
				}
				return tok.Header["kid"]
			}
			first, second := kid(), kid()
			if first != second || first == "" {
				t.Fatalf("kid %v then %v", first, second)
			}
			other := newTestKey(t, alg, 1)
			g := generates.NewJWTAccessGenerate(other.pem, other.method)
			access, _, _ := g.Token(context.Background(), grant("c", "u", "", time.Hour), false)
			tok, _, _ := jwt.NewParser().ParseUnverified(access, &generates.JWTAccessClaims{})
			if tok.Header["kid"] == first {
				t.Fatal("two keys share a default kid")
			}
		})
	}
}

func TestJWTAccessGenerate_OtherKeyDoesNotVerify(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			a, b := newTestKey(t, alg, 0), newTestKey(t, alg, 1)
			g := generates.NewJWTAccessGenerate(a.pem, a.method)
			access, _, err := g.Token(context.Background(), grant("c", "u", "read", time.Hour), false)
			if err != nil {
				t.Fatal(err)
			}
			_, err = jwt.ParseWithClaims(access, &generates.JWTAccessClaims{}, publicKeyfunc(b.verify))
			if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
				t.Fatalf("verified with another key: %v", err)
			}
		})
	}
}

func TestJWTAccessGenerate_AudienceAndSubject(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name     string
		opts     []generates.JWTOption
		userID   string
		wantAud  string // raw JSON
		wantSub  string
		wantList jwt.ClaimStrings
	}{
		{"no audience: the client", nil, "alice", `"client-1"`, "alice", jwt.ClaimStrings{"client-1"}},
		{"one audience: a string", []generates.JWTOption{generates.WithAudience("https://rs")}, "alice", `"https://rs"`, "alice", jwt.ClaimStrings{"https://rs"}},
		{"two audiences: an array", []generates.JWTOption{generates.WithAudience("https://a", "https://b")}, "alice", `["https://a","https://b"]`, "alice", jwt.ClaimStrings{"https://a", "https://b"}},
		{"no user: the client is the subject", nil, "", `"client-1"`, "client-1", jwt.ClaimStrings{"client-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := generates.NewJWTAccessGenerate(key, jwt.SigningMethodHS256, tt.opts...)
			access, _, err := g.Token(context.Background(), grant("client-1", tt.userID, "", time.Minute), false)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(payload(t, access)["aud"]); got != tt.wantAud {
				t.Errorf("aud %s, want %s", got, tt.wantAud)
			}
			claims := &generates.JWTAccessClaims{}
			if _, err := jwt.ParseWithClaims(access, claims, publicKeyfunc(key)); err != nil {
				t.Fatal(err)
			}
			if claims.Subject != tt.wantSub || !slices.Equal(claims.Audience, tt.wantList) {
				t.Errorf("sub %q aud %v", claims.Subject, claims.Audience)
			}
			if _, ok := payload(t, access)["scope"]; ok {
				t.Error("empty scope is sent")
			}
		})
	}
}

// Claim strings come from clients and users; whatever they hold, the token
// stays valid JSON and the values come back unchanged (invalid UTF-8 as
// U+FFFD, as encoding/json does).
func TestJWTAccessGenerate_EscapesClaimStrings(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct{ name, value, want string }{
		{"quotes and backslashes", `a"b\c`, `a"b\c`},
		{"control characters", "a\x00b\nc\td\x1f\r", "a\x00b\nc\td\x1f\r"},
		{"unicode", "ünïcødé ✓ 𝄞", "ünïcødé ✓ 𝄞"},
		{"HTML", "<script>&</script>", "<script>&</script>"},
		{"line separators", "a\u2028b\u2029", "a\u2028b\u2029"},
		{"invalid UTF-8", "a\xffb\xc3", "a\ufffdb\ufffd"},
		{"claim injection", `x","client_id":"evil`, `x","client_id":"evil`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := generates.NewJWTAccessGenerate(key, jwt.SigningMethodHS256, generates.WithIssuer(tt.value), generates.WithAudience(tt.value))
			access, _, err := g.Token(context.Background(), grant(tt.value, tt.value+"u", tt.value+"s", time.Minute), false)
			if err != nil {
				t.Fatal(err)
			}
			claims := &generates.JWTAccessClaims{}
			if _, err := jwt.ParseWithClaims(access, claims, publicKeyfunc(key)); err != nil {
				t.Fatal(err)
			}
			if claims.Issuer != tt.want || claims.ClientID != tt.want || claims.Subject != tt.want+"u" ||
				claims.Scope != tt.want+"s" || !slices.Equal(claims.Audience, jwt.ClaimStrings{tt.want}) {
				t.Errorf("claims came back as %+v", claims)
			}
		})
	}
}

// tokenWithAuthTime is a TokenInfo that knows when the user logged in.
type tokenWithAuthTime struct {
	models.Token
	authTime time.Time
}

func (t *tokenWithAuthTime) GetAuthTime() time.Time { return t.authTime }

func TestJWTAccessGenerate_AuthTimeFromTokenInfo(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	data := grant("c", "u", "read", time.Hour)
	login := data.CreateAt.Add(-5 * time.Minute)
	data.TokenInfo = &tokenWithAuthTime{Token: *data.TokenInfo.(*models.Token), authTime: login}
	g := generates.NewJWTAccessGenerate(key, jwt.SigningMethodHS256)
	access, _, err := g.Token(context.Background(), data, false)
	if err != nil {
		t.Fatal(err)
	}
	claims := &generates.JWTAccessClaims{}
	if _, err := jwt.ParseWithClaims(access, claims, publicKeyfunc(key)); err != nil {
		t.Fatal(err)
	}
	if claims.AuthTime == nil || !claims.AuthTime.Equal(login) {
		t.Fatalf("auth_time %v, want %v", claims.AuthTime, login)
	}
}

func TestJWTAccessGenerate_TimesFollowTheTokenRecord(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	created := time.Now().Add(-time.Minute).Truncate(time.Second)
	data := grant("c", "u", "", 10*time.Minute)
	data.CreateAt = time.Time{} // iat falls back to the access token's creation
	data.TokenInfo.SetAccessCreateAt(created)
	g := generates.NewJWTAccessGenerate(key, jwt.SigningMethodHS256)
	access, _, err := g.Token(context.Background(), data, false)
	if err != nil {
		t.Fatal(err)
	}
	claims := &generates.JWTAccessClaims{}
	if _, err := jwt.ParseWithClaims(access, claims, publicKeyfunc(key)); err != nil {
		t.Fatal(err)
	}
	if !claims.IssuedAt.Equal(created) || !claims.ExpiresAt.Equal(created.Add(10*time.Minute)) {
		t.Fatalf("iat %v exp %v, want %v and +10m", claims.IssuedAt, claims.ExpiresAt, created)
	}
}

func TestJWTAccessGenerate_RefusesWhatCannotBeAnAccessToken(t *testing.T) {
	g := generates.NewJWTAccessGenerate([]byte("0123456789abcdef0123456789abcdef"), jwt.SigningMethodHS256)
	noLifetime := grant("c", "u", "", 0)
	tests := []struct {
		name string
		data *oauth2.GenerateBasic
	}{
		{"no data", nil},
		{"no client", &oauth2.GenerateBasic{TokenInfo: &models.Token{AccessExpiresIn: time.Hour}}},
		{"no token record", &oauth2.GenerateBasic{Client: &models.Client{ID: "c"}}},
		{"no lifetime: RFC 9068 requires exp", noLifetime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			access, refresh, err := g.Token(context.Background(), tt.data, true)
			if err == nil || access != "" || refresh != "" {
				t.Fatalf("got a token (%d, %d bytes), err %v", len(access), len(refresh), err)
			}
		})
	}
}

// A key the seed's constructor cannot use gives a generator that fails
// every call with the reason, never a panic and never a token.
func TestNewJWTAccessGenerate_BadKeyFailsEveryToken(t *testing.T) {
	rsaKey := newTestKey(t, "RS256", 0)
	ecKey := newTestKey(t, "ES256", 0)
	garbledPEM := bytes.Replace(rsaKey.pem, []byte("MII"), []byte("XXX"), 1)
	tests := []struct {
		name   string
		key    []byte
		method jwt.SigningMethod
		want   error
	}{
		{"not PEM", []byte("not a pem key"), jwt.SigningMethodRS256, generates.ErrInvalidKey},
		{"garbled PEM", garbledPEM, jwt.SigningMethodRS256, generates.ErrInvalidKey},
		{"truncated PEM", rsaKey.pem[:len(rsaKey.pem)/2], jwt.SigningMethodRS256, generates.ErrInvalidKey},
		{"public key PEM", []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"), jwt.SigningMethodEdDSA, generates.ErrInvalidKey},
		{"EC key for RS256", ecKey.pem, jwt.SigningMethodRS256, generates.ErrInvalidKey},
		{"RSA key for ES256", rsaKey.pem, jwt.SigningMethodES256, generates.ErrInvalidKey},
		{"P-256 key for ES384", ecKey.pem, jwt.SigningMethodES384, generates.ErrInvalidKey},
		{"RSA key for EdDSA", rsaKey.pem, jwt.SigningMethodEdDSA, generates.ErrInvalidKey},
		{"empty HMAC secret", nil, jwt.SigningMethodHS256, generates.ErrInvalidKey},
		{"no method", []byte("secret"), nil, generates.ErrUnsupportedAlgorithm},
		{"none", []byte("secret"), jwt.SigningMethodNone, generates.ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := generates.NewJWTAccessGenerate(tt.key, tt.method)
			if !errors.Is(g.Err(), tt.want) {
				t.Fatalf("Err() = %v, want %v", g.Err(), tt.want)
			}
			access, refresh, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), true)
			if !errors.Is(err, tt.want) || access != "" || refresh != "" {
				t.Fatalf("Token: err %v, %d/%d bytes of token", err, len(access), len(refresh))
			}
			if len(tt.key) > 20 && strings.Contains(err.Error(), string(tt.key[len(tt.key)-20:])) {
				t.Fatal("error text holds key material")
			}
		})
	}
}

// kmsSigner hides the key type, as a KMS- or HSM-backed crypto.Signer does.
type kmsSigner struct{ inner crypto.Signer }

func (s kmsSigner) Public() crypto.PublicKey { return s.inner.Public() }
func (s kmsSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.inner.Sign(r, digest, opts)
}

func TestNewJWTAccessGenerateFromKey(t *testing.T) {
	t.Run("any crypto.Signer signs", func(t *testing.T) {
		for _, alg := range []string{"RS256", "PS256", "ES256", "ES512", "EdDSA"} {
			k := newTestKey(t, alg, 0)
			g, err := generates.NewJWTAccessGenerateFromKey(kmsSigner{k.key.(crypto.Signer)}, k.method)
			if err != nil {
				t.Fatalf("%s: %v", alg, err)
			}
			access, _, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), false)
			if err != nil {
				t.Fatalf("%s: %v", alg, err)
			}
			if _, err := jwt.ParseWithClaims(access, &generates.JWTAccessClaims{}, publicKeyfunc(k.verify)); err != nil {
				t.Fatalf("%s: %v", alg, err)
			}
		}
	})
	rsaKey := newTestKey(t, "RS256", 0)
	tests := []struct {
		name   string
		key    any
		method jwt.SigningMethod
		want   error
	}{
		// RFC 7518 3.2: a key at least as long as the hash output.
		{"HS256 secret of 31 bytes", make([]byte, 31), jwt.SigningMethodHS256, generates.ErrInvalidKey},
		{"HS512 secret of 32 bytes", make([]byte, 32), jwt.SigningMethodHS512, generates.ErrInvalidKey},
		{"PEM bytes for RS256", rsaKey.pem, jwt.SigningMethodRS256, generates.ErrInvalidKey},
		{"RSA key for HS256", rsaKey.key, jwt.SigningMethodHS256, generates.ErrInvalidKey},
		{"nil key", nil, jwt.SigningMethodES256, generates.ErrInvalidKey},
		{"none", []byte("0123456789abcdef0123456789abcdef"), jwt.SigningMethodNone, generates.ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := generates.NewJWTAccessGenerateFromKey(tt.key, tt.method)
			if !errors.Is(err, tt.want) || g != nil {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestJWTAccessClaims_ValidateRequiresRFC9068Claims(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	full := func() *generates.JWTAccessClaims {
		return &generates.JWTAccessClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Subject: "u", Audience: jwt.ClaimStrings{"rs"}, ID: "j",
				ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now),
			},
			ClientID: "c",
		}
	}
	tests := []struct {
		name   string
		mutate func(*generates.JWTAccessClaims)
		want   error
	}{
		{"complete", func(*generates.JWTAccessClaims) {}, nil},
		{"no exp", func(c *generates.JWTAccessClaims) { c.ExpiresAt = nil }, jwt.ErrTokenRequiredClaimMissing},
		{"no iat", func(c *generates.JWTAccessClaims) { c.IssuedAt = nil }, jwt.ErrTokenRequiredClaimMissing},
		{"no sub", func(c *generates.JWTAccessClaims) { c.Subject = "" }, jwt.ErrTokenRequiredClaimMissing},
		{"no aud", func(c *generates.JWTAccessClaims) { c.Audience = nil }, jwt.ErrTokenRequiredClaimMissing},
		{"no jti", func(c *generates.JWTAccessClaims) { c.ID = "" }, jwt.ErrTokenRequiredClaimMissing},
		{"no client_id", func(c *generates.JWTAccessClaims) { c.ClientID = "" }, jwt.ErrTokenRequiredClaimMissing},
		{"expired", func(c *generates.JWTAccessClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }, jwt.ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := full()
			tt.mutate(claims)
			signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			_, err = jwt.ParseWithClaims(signed, &generates.JWTAccessClaims{}, publicKeyfunc(key))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("parse: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestJWTAccessClaims_ValidMapsToInvalidToken(t *testing.T) {
	now := time.Now()
	claims := &generates.JWTAccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: "u", Audience: jwt.ClaimStrings{"rs"}, ID: "j",
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now),
		},
		ClientID: "c",
	}
	if err := claims.Valid(); err != nil {
		t.Fatal(err)
	}
	claims.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second))
	err := claims.Valid()
	if !errors.Is(err, oauth2errors.ErrExpiredAccessToken) || !errors.Is(err, jwt.ErrTokenExpired) ||
		oauth2errors.Code(err) != "invalid_token" {
		t.Fatalf("expired: %v (code %q)", err, oauth2errors.Code(err))
	}
	claims.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
	claims.ClientID = ""
	err = claims.Valid()
	if !errors.Is(err, oauth2errors.ErrInvalidAccessToken) || oauth2errors.Code(err) != "invalid_token" {
		t.Fatalf("no client_id: %v (code %q)", err, oauth2errors.Code(err))
	}
}
