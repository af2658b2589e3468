// Command authcode runs the authorization code flow of go-oauth2's example
// for real: an authorization server on :9096 with a login page that checks
// an argon2id password hash and a consent page, and a client application on
// :9094 that uses golang.org/x/oauth2 with PKCE (RFC 7636).
//
//	go run ./example/authcode
//
// Open http://localhost:9094/ and sign in as the demo user "test" with
// password "test" (demo credentials, for development only). The client then
// shows its token, and offers:
//
//	/refresh  refresh the token (the server rotates the refresh token)
//	/try      call the server's protected /test resource with the token
//	/client   get a token for the client itself (client credentials)
package main

import (
	"log"
	"net/http"
	"time"
)

const (
	serverURL = "http://localhost:9096"
	clientURL = "http://localhost:9094"
)

func main() {
	authServer, err := newAuthServer(serverConfig{
		Issuer:       serverURL,
		ClientID:     "222222",
		ClientSecret: "22222222",
		RedirectURI:  clientURL + "/oauth2",
		Users:        map[string]string{"test": "test"},
	})
	if err != nil {
		log.Fatal(err)
	}
	client := newClientApp(clientConfig{
		ServerURL:    serverURL,
		ClientURL:    clientURL,
		ClientID:     "222222",
		ClientSecret: "22222222",
	})
	go func() {
		log.Println("Server is running at 9096 port.")
		log.Fatal(listen(":9096", authServer))
	}()
	log.Println("Client is running at 9094 port: open", clientURL+"/", "and sign in as the demo user test.")
	log.Fatal(listen(":9094", client))
}

func listen(addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}
