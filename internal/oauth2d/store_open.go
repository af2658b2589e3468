package oauth2d

import (
	"context"
	"fmt"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store"
	"github.com/oauth2d/oauth2/store/redis"
	"github.com/oauth2d/oauth2/store/sqlite"
)

// openStore opens the token store of the store setting. Its errors never
// repeat the setting, which may hold a password.
func openStore(ctx context.Context, su StoreURL) (oauth2.TokenStore, error) {
	switch su.Kind {
	case StoreMemory:
		return store.NewMemoryTokenStore()
	case StoreSQLite:
		return sqlite.Open(ctx, su.DSN)
	case StoreRedis:
		return redis.NewFromURL(su.DSN)
	}
	return nil, fmt.Errorf("the %s store is not available in this build", su.Kind)
}
