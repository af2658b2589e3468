// Command oidc runs OpenID Connect for real with the library: an OpenID
// Provider on :9096 (the library's Server with an ID token generator, a
// login page that checks an argon2id password hash and a consent page that
// lists the claims an application will receive) and a relying party on
// :9094 that signs its users in with github.com/coreos/go-oidc/v3.
//
//	go run ./example/oidc
//
// Open http://localhost:9094/ and sign in as the demo user "test" with
// password "test" (demo credentials, for development only). The relying
// party discovers the provider, runs the authorization code flow with
// state, nonce and PKCE, verifies the ID token and reads UserInfo. It also
// offers:
//
//	/login?prompt=none   sign in without any page while signed in at the provider
//	/login?prompt=login  sign in again although signed in
//	/refresh             refresh, with a new ID token
package main

import (
	"log"
	"net/http"
	"time"

	"github.com/oauth2d/oauth2/oidc"
)

const (
	providerURL = "http://localhost:9096"
	rpURL       = "http://localhost:9094"
)

// demoUsers are the provider's users and their claims (OpenID Connect
// Core 1.0 5.1).
var demoUsers = map[string]user{
	"test": {Password: "test", Claims: oidc.Claims{
		Name: "Test User", GivenName: "Test", FamilyName: "User",
		Email: "test@example.com", EmailVerified: true,
	}},
}

func main() {
	op, err := newProvider(providerConfig{
		Issuer:       providerURL,
		ClientID:     "rp",
		ClientSecret: "rp-secret",
		RedirectURI:  rpURL + "/callback",
		Users:        demoUsers,
	})
	if err != nil {
		log.Fatal(err)
	}
	app := newRP(rpConfig{Issuer: providerURL, RPURL: rpURL, ClientID: "rp", ClientSecret: "rp-secret"})
	go func() {
		log.Println("OpenID Provider is running at", providerURL)
		log.Fatal(listen(":9096", op))
	}()
	log.Println("Relying party is running: open", rpURL+"/", "and sign in as the demo user test.")
	log.Fatal(listen(":9094", app))
}

func listen(addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}
