// Package multiprocess tests the standalone server (cmd/oauth2d) as it is
// deployed: several processes behind a load balancer serving one issuer
// from one durable store, a store that goes away and comes back, and a
// process killed with SIGKILL and restarted (GitHub issue "Durable token
// stores", items 8 and 9).
//
// The package has no API; its tests build the oauth2d binary once, run it
// on the databases named by the store test variables, and stop every
// process they start:
//
//	OAUTH2_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	OAUTH2_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test' \
//	OAUTH2_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \
//	go test -race ./test/multiprocess/
//
// Without a variable, the tests of that engine are skipped and say so; with
// it set but the engine unreachable, they fail. Each test works in a space
// of its own that it removes at the end: a PostgreSQL schema or a MySQL
// database created for it, a Redis database number it claims and flushes,
// a temporary directory for SQLite.
package multiprocess
