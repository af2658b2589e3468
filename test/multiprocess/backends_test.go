package multiprocess

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2/store/redis"
)

// backend is a durable store isolated for one test: its own PostgreSQL
// schema, MySQL database or Redis database, removed when the test ends.
type backend struct {
	name string
	// dsn is the store setting of oauth2d (docs/config.md).
	dsn string
	// engine is the host:port of the database server.
	engine string
	// via returns dsn with the database server reached at addr instead,
	// for a proxy in front of it.
	via func(addr string) string
	// accessTokens counts the access tokens stored, read from the engine.
	accessTokens func(t *testing.T) int
}

// backendFactory makes a backend for a test, or skips the test.
type backendFactory struct {
	name string
	make func(t *testing.T) *backend
}

var durableBackends = []backendFactory{
	{"postgres", postgresBackend},
	{"mysql", mysqlBackend},
	{"redis", redisBackend},
}

const (
	postgresEnv = "OAUTH2_TEST_POSTGRES_URL"
	mysqlEnv    = "OAUTH2_TEST_MYSQL_DSN"
	redisEnv    = "OAUTH2_TEST_REDIS_URL"
)

// postgresBackend creates a schema of its own in the database of
// OAUTH2_TEST_POSTGRES_URL and points the store at it with the search_path
// connection parameter; the schema is dropped when the test ends.
func postgresBackend(t *testing.T) *backend {
	t.Helper()
	raw := os.Getenv(postgresEnv)
	if raw == "" {
		t.Skipf("PostgreSQL tests are off: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable, or source .ci/services.sh) to run them", postgresEnv)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		t.Fatalf("%s is set but is not a postgres:// URL", postgresEnv)
	}
	ctx := withTimeout(t, 15*time.Second)
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatalf("%s is set but PostgreSQL does not answer: %v", postgresEnv, err)
	}
	schema := "oauth2_mp_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		conn.Close(ctx)
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()
	engine := u.Host
	if u.Port() == "" {
		engine = net.JoinHostPort(u.Hostname(), "5432")
	}
	return &backend{
		name:   "postgres",
		dsn:    dsn,
		engine: engine,
		via: func(addr string) string {
			v := *u
			v.Host = addr
			return v.String()
		},
		accessTokens: func(t *testing.T) int {
			t.Helper()
			var n int
			err := conn.QueryRow(withTimeout(t, 10*time.Second),
				"SELECT count(*) FROM "+schema+".oauth2_tokens WHERE access_hash IS NOT NULL").Scan(&n)
			if err != nil {
				t.Fatalf("count access tokens: %v", err)
			}
			return n
		},
	}
}

// mysqlBackend creates a database of its own on the server of
// OAUTH2_TEST_MYSQL_DSN (the driver's format) and gives oauth2d its
// mysql:// URL; the database is dropped when the test ends.
func mysqlBackend(t *testing.T) *backend {
	t.Helper()
	raw := os.Getenv(mysqlEnv)
	if raw == "" {
		t.Skipf("MySQL/MariaDB tests are off: set %s (e.g. 'root@tcp(127.0.0.1:3306)/test', or source .ci/services.sh) to run them", mysqlEnv)
	}
	mc, err := mysqldriver.ParseDSN(raw)
	if err != nil {
		t.Fatalf("%s is set but is not a DSN of the MySQL driver", mysqlEnv)
	}
	if mc.Net != "tcp" {
		t.Fatalf("%s: these tests reach the server over tcp, not %q", mysqlEnv, mc.Net)
	}
	ctx := withTimeout(t, 15*time.Second)
	admin, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		t.Fatalf("%s: %v", mysqlEnv, err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("%s is set but MySQL/MariaDB does not answer: %v", mysqlEnv, err)
	}
	name := "oauth2_mp_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	// The store setting is a URL (docs/config.md); oauth2d turns it
	// back into the driver's format.
	u := &url.URL{Scheme: "mysql", User: url.User(mc.User), Host: mc.Addr, Path: "/" + name}
	if mc.Passwd != "" {
		u.User = url.UserPassword(mc.User, mc.Passwd)
	}
	return &backend{
		name:   "mysql",
		dsn:    u.String(),
		engine: mc.Addr,
		via: func(addr string) string {
			v := *u
			v.Host = addr
			return v.String()
		},
		accessTokens: func(t *testing.T) int {
			t.Helper()
			var n int
			err := admin.QueryRowContext(withTimeout(t, 10*time.Second),
				"SELECT count(*) FROM "+name+".oauth2_tokens WHERE access_hash IS NOT NULL").Scan(&n)
			if err != nil {
				t.Fatalf("count access tokens: %v", err)
			}
			return n
		},
	}
}

// Keys of the Redis databases the tests claim. The store's keys start with
// redis.DefaultKeyPrefix and never meet these.
const (
	// redisClaim marks a database in use by a running test; it expires in
	// case the test dies.
	redisClaim    = "oauth2d-multiprocess-test:claim"
	redisClaimTTL = 10 * time.Minute
	// redisOwned marks a database these tests used before, which a new
	// test may flush and take over once its claim has expired.
	redisOwned = "oauth2d-multiprocess-test:owned"
)

// redisBackend claims a database number of its own on the Redis of
// OAUTH2_TEST_REDIS_URL (one that is empty, or that these tests left
// behind), so that the store's keys cannot meet another test's; the
// database is flushed when the test ends.
func redisBackend(t *testing.T) *backend {
	t.Helper()
	raw := os.Getenv(redisEnv)
	if raw == "" {
		t.Skipf("Redis tests are off: set %s (e.g. redis://127.0.0.1:6379/0, or source .ci/services.sh) to run them", redisEnv)
	}
	opts, err := goredis.ParseURL(raw)
	if err != nil {
		t.Fatalf("%s is set but is not a Redis URL", redisEnv)
	}
	ctx := withTimeout(t, 15*time.Second)
	probe := goredis.NewClient(opts)
	err = probe.Ping(ctx).Err()
	probe.Close()
	if err != nil {
		t.Fatalf("%s is set but Redis does not answer: %v", redisEnv, err)
	}
	client, db := claimRedisDB(t, ctx, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := client.FlushDB(ctx).Err(); err != nil {
			t.Errorf("flush Redis database %d: %v", db, err)
		}
		client.Close()
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s is set but is not a Redis URL", redisEnv)
	}
	u.Path = "/" + strconv.Itoa(db)
	q := u.Query()
	q.Del("db")
	u.RawQuery = q.Encode()
	dsn := u.String()
	engine := opts.Addr
	return &backend{
		name:   "redis",
		dsn:    dsn,
		engine: engine,
		via: func(addr string) string {
			v := *u
			v.Host = addr
			return v.String()
		},
		accessTokens: func(t *testing.T) int {
			t.Helper()
			ctx := withTimeout(t, 10*time.Second)
			n := 0
			iter := client.Scan(ctx, 0, redis.DefaultKeyPrefix+"access:*", 1000).Iterator()
			for iter.Next(ctx) {
				n++
			}
			if err := iter.Err(); err != nil {
				t.Fatalf("count access tokens: %v", err)
			}
			return n
		},
	}
}

// claimRedisDB finds a database number, from the highest down, that holds
// nothing but what these tests put there, claims it and empties it.
func claimRedisDB(t *testing.T, ctx context.Context, base *goredis.Options) (*goredis.Client, int) {
	t.Helper()
	for db := 15; db >= 1; db-- {
		o := *base
		o.DB = db
		c := goredis.NewClient(&o)
		ok, err := c.SetNX(ctx, redisClaim, "1", redisClaimTTL).Result()
		if err != nil {
			c.Close()
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("claim a Redis database: %v", err)
			}
			// A server with fewer databases refuses the higher numbers.
			continue
		}
		if !ok {
			c.Close() // in use by another test
			continue
		}
		size, err := c.DBSize(ctx).Result()
		if err != nil {
			c.Close()
			t.Fatalf("claim a Redis database: %v", err)
		}
		owned, err := c.Exists(ctx, redisOwned).Result()
		if err != nil {
			c.Close()
			t.Fatalf("claim a Redis database: %v", err)
		}
		if size > 1 && owned == 0 {
			// Somebody else's data: leave it alone.
			c.Del(ctx, redisClaim)
			c.Close()
			continue
		}
		_, err = c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.FlushDB(ctx)
			p.Set(ctx, redisClaim, "1", redisClaimTTL)
			p.Set(ctx, redisOwned, "1", 0)
			return nil
		})
		if err != nil {
			c.Close()
			t.Fatalf("claim a Redis database: %v", err)
		}
		return c, db
	}
	t.Fatalf("no free Redis database among 1-15 on %s: each holds data of its own or is claimed by a running test", base.Addr)
	return nil, 0
}
