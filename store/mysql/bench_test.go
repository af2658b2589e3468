package mysql_test

import (
	"testing"

	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/internal/sqlstore/sqltest"
	"github.com/oauth2d/oauth2/store/mysql"
)

// BenchmarkMySQL compares the store's Create and GetByAccess with the
// server's raw INSERT and SELECT by primary key on the same table,
// through the same pool.
func BenchmarkMySQL(b *testing.B) {
	config(b)
	sqltest.Bench(b, func(tb testing.TB) *sqlstore.Store {
		return open(tb, newDatabase(tb), mysql.WithSweepInterval(0)).Store
	}, true)
}
