package manage_test

import (
	"context"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store"
)

// The seed's Quick Start set-up: a default manager over the memory stores,
// answering a client credentials request.
func ExampleNewDefaultManager() {
	m := manage.NewDefaultManager()
	m.MustTokenStorage(store.NewMemoryTokenStore())
	clients := store.NewClientStore()
	_ = clients.Set("000000", &models.Client{ID: "000000", Secret: "999999", Domain: "http://localhost"})
	m.MapClientStorage(clients)

	ti, err := m.GenerateAccessToken(context.Background(), oauth2.ClientCredentials, &oauth2.TokenGenerateRequest{
		ClientID: "000000", ClientSecret: "999999", Scope: "read",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(ti.GetAccess()), ti.GetAccessExpiresIn(), ti.GetScope(), ti.GetRefresh() == "")
	// Output: 43 2h0m0s read true
}
