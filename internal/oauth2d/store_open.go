package oauth2d

import (
	"context"
	stderrors "errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store"
	"github.com/oauth2d/oauth2/store/mysql"
	"github.com/oauth2d/oauth2/store/postgres"
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
		// The file cannot stop answering, and a schema migration that
		// copies the token table (about 6 s a million rows) must not be
		// cut short by the start-up deadline, which is there for the
		// engines across a network.
		return sqlite.Open(context.WithoutCancel(ctx), su.DSN)
	case StorePostgres:
		return postgres.Open(ctx, su.DSN)
	case StoreMySQL:
		dsn := su.DSN
		if strings.HasPrefix(dsn, "mysql://") || strings.HasPrefix(dsn, "mariadb://") {
			var err error
			if dsn, err = mysqlDSN(dsn); err != nil {
				return nil, err
			}
		}
		return mysql.Open(ctx, dsn)
	case StoreRedis:
		return redis.NewFromURL(su.DSN)
	}
	return nil, fmt.Errorf("unknown store kind %q", su.Kind)
}

// mysqlDSN converts mysql://user:password@host:port/dbname?param=value to
// the driver's user:password@tcp(host:port)/dbname?param=value; the port
// defaults to 3306. The query parameters are the driver's.
func mysqlDSN(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", stderrors.New("mysql: expected mysql://user:password@host:port/dbname")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "3306")
	}
	var b strings.Builder
	if u.User != nil {
		b.WriteString(u.User.Username())
		if pw, ok := u.User.Password(); ok {
			b.WriteByte(':')
			b.WriteString(pw)
		}
		b.WriteByte('@')
	}
	b.WriteString("tcp(" + host + ")/")
	b.WriteString(strings.TrimPrefix(u.Path, "/"))
	if u.RawQuery != "" {
		b.WriteString("?" + u.RawQuery)
	}
	return b.String(), nil
}
