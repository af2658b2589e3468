package loadserver

import (
	"fmt"
	"io"
	"net/http"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/bench/internal/baretoken"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

// closersOf drops a nil closer.
func closersOf(c io.Closer) []io.Closer {
	if c == nil {
		return nil
	}
	return []io.Closer{c}
}

// jwtMethods are the jwt/v5 signing methods of the library signing modes.
var jwtMethods = map[string]jwt.SigningMethod{
	baretoken.ES256: jwt.SigningMethodES256,
	baretoken.EdDSA: jwt.SigningMethodEdDSA,
	baretoken.RS256: jwt.SigningMethodRS256,
}

// newLibraryServer sets the library up as its users do: the default
// manager, the memory token store, one confidential client registered for
// client_secret_basic and the client credentials grant, and the default
// server. When alg is set, access tokens are JWTs (RFC 9068) signed with a
// new key of that algorithm; otherwise they are opaque.
func newLibraryServer(alg string) (*server.Server, io.Closer, error) {
	manager := manage.NewDefaultManager()
	tokens, err := store.NewMemoryTokenStore()
	if err != nil {
		return nil, nil, fmt.Errorf("loadserver: memory store: %w", err)
	}
	manager.MapTokenStorage(tokens)
	closer, _ := tokens.(io.Closer)
	if alg != "" {
		key, err := baretoken.GenerateKey(alg)
		if err != nil {
			return nil, nil, err
		}
		gen, err := generates.NewJWTAccessGenerateFromKey(key, jwtMethods[alg],
			generates.WithIssuer("http://127.0.0.1:9190"))
		if err != nil {
			return nil, nil, fmt.Errorf("loadserver: %s generator: %w", alg, err)
		}
		manager.MapAccessGenerate(gen)
	}
	clients := store.NewClientStore()
	if err := clients.Set(ClientID, &models.Client{
		ID:                      ClientID,
		Secret:                  ClientSecret,
		GrantTypes:              []oauth2.GrantType{oauth2.ClientCredentials},
		Scopes:                  []string{"read", "write"},
		TokenEndpointAuthMethod: "client_secret_basic",
	}); err != nil {
		return nil, nil, fmt.Errorf("loadserver: register client: %w", err)
	}
	manager.MapClientStorage(clients)
	return server.NewDefaultServer(manager), closer, nil
}

func library(alg string) (*Server, error) {
	srv, closer, err := newLibraryServer(alg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		srv.HandleTokenRequest(w, r)
	})
	return &Server{Handler: mux, closers: closersOf(closer)}, nil
}
