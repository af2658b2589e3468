// Command jwt is the JWT example of go-oauth2 (gopkg.in/oauth2.v3) with
// github.com/dgrijalva/jwt-go replaced by github.com/golang-jwt/jwt/v5: the
// Quick Start's server issuing JWT access tokens signed with HS512, and a
// client that gets one with the client credentials grant and parses it
// back.
//
//	go run ./example/jwt
//
// It serves on :9096, fetches a token from itself, prints the token's
// claims, and keeps serving.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

func main() {
	ln, err := net.Listen("tcp", ":9096")
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(http.Serve(ln, newServer())) }()

	access, err := fetchToken(context.Background(), "http://localhost:9096")
	if err != nil {
		log.Fatal(err)
	}
	claims, err := parseAccess(access)
	if err != nil {
		log.Fatal(err)
	}
	out, _ := json.MarshalIndent(claims, "", "  ")
	fmt.Printf("claims of the JWT access token:\n%s\n", out)
	select {}
}

// newServer is the Quick Start with the seed's JWT access token generator.
func newServer() http.Handler {
	manager := manage.NewDefaultManager()
	manager.MustTokenStorage(store.NewMemoryTokenStore())

	// generate jwt access token
	manager.MapAccessGenerate(generates.NewJWTAccessGenerate([]byte("00000000"), jwt.SigningMethodHS512))

	clientStore := store.NewClientStore()
	clientStore.Set("000000", &models.Client{
		ID:     "000000",
		Secret: "999999",
		Domain: "http://localhost",
	})
	manager.MapClientStorage(clientStore)

	srv := server.NewDefaultServer(manager)
	srv.SetInternalErrorHandler(func(err error) (re *errors.Response) {
		log.Println("Internal Error:", err.Error())
		return
	})
	srv.SetResponseErrorHandler(func(re *errors.Response) {
		log.Println("Response Error:", re.Error.Error())
	})

	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		srv.HandleTokenRequest(w, r)
	})
	return mux
}

// fetchToken gets an access token from baseURL with the client credentials
// grant (RFC 6749 4.4.2), authenticating with client_secret_basic.
func fetchToken(ctx context.Context, baseURL string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("000000", "999999")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token request: %s (%d)", body.Error, resp.StatusCode)
	}
	return body.AccessToken, nil
}

// parseAccess parses and verifies a JWT access token as the seed's example
// does.
func parseAccess(access string) (*generates.JWTAccessClaims, error) {
	// Parse and verify jwt access token
	token, err := jwt.ParseWithClaims(access, &generates.JWTAccessClaims{}, func(t *jwt.Token) (interface{}, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, fmt.Errorf("parse error")
		}
		return []byte("00000000"), nil
	})
	if err != nil {
		return nil, err
	}

	claims, ok := token.Claims.(*generates.JWTAccessClaims)
	if !ok || !token.Valid {
		return nil, fmt.Errorf("invalid token")
	}
	return claims, nil
}
