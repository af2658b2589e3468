// Command quickstart is the Quick Start of go-oauth2 (gopkg.in/oauth2.v3)
// with only its import prefix changed: an authorization server with the
// memory token store and one client, listening on :9096.
//
// Try it:
//
//	go run ./example/quickstart
//	curl 'http://localhost:9096/token?grant_type=client_credentials&client_id=000000&client_secret=999999&scope=read'
//
// The GET token request works because the Quick Start opts in with
// SetAllowGetAccessRequest(true); RFC 6749 3.2 requires POST, which is the
// default.
package main

import (
	"log"
	"net/http"

	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

func main() {
	mux, _ := newServer()
	log.Fatal(http.ListenAndServe(":9096", mux))
}

// newServer is the seed's setup, on a mux of its own instead of
// http.DefaultServeMux so that a test can run it on any port.
func newServer() (*http.ServeMux, *server.Server) {
	manager := manage.NewDefaultManager()
	// token memory store
	manager.MustTokenStorage(store.NewMemoryTokenStore())

	// client memory store
	clientStore := store.NewClientStore()
	clientStore.Set("000000", &models.Client{
		ID:     "000000",
		Secret: "999999",
		Domain: "http://localhost",
	})
	manager.MapClientStorage(clientStore)

	srv := server.NewDefaultServer(manager)
	srv.SetAllowGetAccessRequest(true)
	srv.SetClientInfoHandler(server.ClientFormHandler)

	srv.SetInternalErrorHandler(func(err error) (re *errors.Response) {
		log.Println("Internal Error:", err.Error())
		return
	})

	srv.SetResponseErrorHandler(func(re *errors.Response) {
		log.Println("Response Error:", re.Error.Error())
	})

	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		err := srv.HandleAuthorizeRequest(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})

	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		srv.HandleTokenRequest(w, r)
	})
	return mux, srv
}
