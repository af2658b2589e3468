package postgres_test

import (
	"testing"

	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/internal/sqlstore/sqltest"
	"github.com/oauth2d/oauth2/store/postgres"
)

// BenchmarkPostgres compares the store's Create and GetByAccess with
// PostgreSQL's raw INSERT and SELECT by primary key on the same table,
// through the same pool.
func BenchmarkPostgres(b *testing.B) {
	u := dsn(b)
	sqltest.Bench(b, func(tb testing.TB) *sqlstore.Store {
		return open(tb, u, postgres.WithSchema(newSchema(tb)), postgres.WithSweepInterval(0)).Store
	}, false)
}
