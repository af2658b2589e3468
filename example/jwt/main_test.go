package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/generates"
)

func TestJWT_IssuedTokenParsesBackWithTheSeedsKeyfunc(t *testing.T) {
	ts := httptest.NewServer(newServer())
	defer ts.Close()

	access, err := fetchToken(context.Background(), ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := parseAccess(access)
	if err != nil {
		t.Fatalf("parseAccess: %v", err)
	}
	if claims.ClientID != "000000" || claims.Subject != "000000" || claims.Scope != "read" {
		t.Fatalf("claims %+v: want client_id and sub 000000 (RFC 9068 2.2), scope read", claims)
	}
	if !slices.Contains(claims.Audience, "000000") || claims.ID == "" {
		t.Fatalf("claims %+v: want aud and jti", claims)
	}
	if claims.ExpiresAt == nil || claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != 2*time.Hour {
		t.Fatalf("claims %+v: want exp = iat + 2h", claims)
	}
	tok, _, err := jwt.NewParser().ParseUnverified(access, &generates.JWTAccessClaims{})
	if err != nil || tok.Method != jwt.SigningMethodHS512 {
		t.Fatalf("alg %v, %v: want HS512", tok.Header["alg"], err)
	}
}

func TestJWT_ParseRefusesForgedTokens(t *testing.T) {
	ts := httptest.NewServer(newServer())
	defer ts.Close()
	access, err := fetchToken(context.Background(), ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := parseAccess(access)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := jwt.NewWithClaims(jwt.SigningMethodHS512, claims).SignedString([]byte("11111111"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(access, ".")
	expired := *claims
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
	expiredTok, err := jwt.NewWithClaims(jwt.SigningMethodHS512, &expired).SignedString([]byte("00000000"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"signed with another key", otherKey, jwt.ErrTokenSignatureInvalid},
		{"alg none", none, jwt.ErrTokenUnverifiable},
		{"payload swapped", parts[0] + "." + strings.Split(expiredTok, ".")[1] + "." + parts[2], jwt.ErrTokenSignatureInvalid},
		{"payload corrupted", parts[0] + "." + parts[1] + "!." + parts[2], jwt.ErrTokenMalformed},
		{"expired (RFC 7519 4.1.4)", expiredTok, jwt.ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseAccess(tt.token); !errors.Is(err, tt.wantErr) {
				t.Fatalf("parseAccess = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestJWT_WrongSecretGetsNoToken(t *testing.T) {
	ts := httptest.NewServer(newServer())
	defer ts.Close()
	// fetchToken always sends the right secret: ask by hand with a wrong one.
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/token", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("000000", "nope")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d, want 401 invalid_client", resp.StatusCode)
	}
}
