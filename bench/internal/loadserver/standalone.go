package loadserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2/internal/oauth2d"
	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/store/mysql"
	"github.com/oauth2d/oauth2/store/postgres"
	"github.com/oauth2d/oauth2/store/redis"
	"github.com/oauth2d/oauth2/store/sqlite"
)

// The engines of the standalone modes other than memory, and the variables
// that point the PostgreSQL, MySQL and Redis modes at a server (the store
// tests' variables).
const (
	engineMemory   = "memory"
	engineSQLite   = "sqlite"
	enginePostgres = "postgres"
	engineMySQL    = "mysql"
	engineRedis    = "redis"

	EnvPostgres = "OAUTH2_TEST_POSTGRES_URL"
	EnvMySQL    = "OAUTH2_TEST_MYSQL_DSN"
	EnvRedis    = "OAUTH2_TEST_REDIS_URL"
)

// ErrNoEngine: a store mode's variable is not set.
var ErrNoEngine = errors.New("loadserver: no engine for this mode")

// standalone is the standalone server's app with its built-in demo
// configuration (client 000000 / 999999 for client_secret_basic, opaque
// tokens), on the store of engine: memory, SQLite in a new temporary file,
// or PostgreSQL, MySQL or Redis at the address of their variable, in a
// schema, table prefix or key prefix of their own, dropped on Close. The
// stores with group commit or pipelining report how many writes shared
// each commit or round trip.
func standalone(ctx context.Context, engine string) (*Server, error) {
	cfg := oauth2d.Default()
	cfg.Issuer = "http://127.0.0.1:9190"
	cfg.Store = "memory:"
	// The store is handed over as Config.TokenStore, so the App cannot
	// tell whether other processes share it: it needs the at-rest secret
	// that encrypts its signing key. One per run, like the store's tag.
	cfg.Secret = rand.Text() + rand.Text()
	s := &Server{}
	fail := func(err error) (*Server, error) {
		s.Close()
		return nil, fmt.Errorf("loadserver: %s: %w", engine, err)
	}
	tag := "load_" + strings.ToLower(rand.Text()[:10])
	switch engine {
	case engineMemory:
	case engineSQLite:
		dir, err := os.MkdirTemp("", "loadserver-sqlite-")
		if err != nil {
			return fail(err)
		}
		s.closers = append(s.closers, removeAll(dir))
		st, err := sqlite.Open(ctx, filepath.Join(dir, "oauth2d.db"))
		if err != nil {
			return fail(err)
		}
		s.closers = append(s.closers, st)
		cfg.TokenStore, s.Report = st, batchReport(st.Store)
	case enginePostgres:
		dsn := os.Getenv(EnvPostgres)
		if dsn == "" {
			return fail(fmt.Errorf("%w: set %s", ErrNoEngine, EnvPostgres))
		}
		st, err := postgres.Open(ctx, dsn, postgres.WithSchema(tag))
		if err != nil {
			return fail(err)
		}
		s.closers = append(s.closers, closeFunc(func() error {
			_, err := sqlstore.DBOf(st.Store).ExecContext(context.Background(), "DROP SCHEMA "+tag+" CASCADE")
			return errors.Join(err, st.Close())
		}))
		cfg.TokenStore, s.Report = st, batchReport(st.Store)
	case engineMySQL:
		dsn := os.Getenv(EnvMySQL)
		if dsn == "" {
			return fail(fmt.Errorf("%w: set %s", ErrNoEngine, EnvMySQL))
		}
		st, err := mysql.Open(ctx, dsn, mysql.WithTablePrefix(tag+"_"))
		if err != nil {
			return fail(err)
		}
		s.closers = append(s.closers, closeFunc(func() error {
			t := sqlstore.TablesOf(st.Store)
			_, err := sqlstore.DBOf(st.Store).ExecContext(context.Background(),
				"DROP TABLE IF EXISTS "+strings.Join([]string{t.Tokens, t.Used, t.Clients, t.KV, t.Migrations}, ", "))
			return errors.Join(err, st.Close())
		}))
		cfg.TokenStore, s.Report = st, batchReport(st.Store)
	case engineRedis:
		u := os.Getenv(EnvRedis)
		if u == "" {
			return fail(fmt.Errorf("%w: set %s", ErrNoEngine, EnvRedis))
		}
		opt, err := goredis.ParseURL(u)
		if err != nil {
			return fail(err)
		}
		client := goredis.NewClient(opt)
		prefix := tag + ":"
		st := redis.New(client, redis.WithKeyPrefix(prefix))
		s.closers = append(s.closers, closeFunc(func() error {
			return errors.Join(dropKeys(client, prefix), client.Close())
		}))
		cfg.TokenStore = st
		s.Report = func() string {
			p := st.Pipelines()
			return fmt.Sprintf("%d commands in %d round trips (%.1f per round trip)",
				p.Commands, p.Pipelines, float64(p.Commands)/float64(max(p.Pipelines, 1)))
		}
	default:
		return fail(fmt.Errorf("%w: engine %q", ErrUnknownMode, engine))
	}
	app, err := oauth2d.New(cfg)
	if err != nil {
		return fail(err)
	}
	s.closers = append(s.closers, app)
	s.Handler, s.ConnContext = app.Handler(), app.ConnContext
	// The collector's pace the oauth2d command sets for this store.
	oauth2d.TuneGC(app, os.LookupEnv)
	return s, nil
}

// batchReport tells how many writes of s shared each commit, and each
// flush where the store flushes its commits itself (SQLite).
func batchReport(s *sqlstore.Store) func() string {
	return func() string {
		b := s.Batches()
		r := fmt.Sprintf("%d writes in %d commits (%.1f per commit)",
			b.Ops, b.Batches, float64(b.Ops)/float64(max(b.Batches, 1)))
		if b.Syncs > 0 {
			r += fmt.Sprintf(", %d flushes (%.1f writes per flush)", b.Syncs, float64(b.Ops)/float64(b.Syncs))
		}
		return r
	}
}

// dropKeys deletes the keys of prefix.
func dropKeys(c *goredis.Client, prefix string) error {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				return err
			}
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		if err := c.Del(ctx, keys...).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

// removeAll removes a temporary directory on Close.
type removeAll string

func (d removeAll) Close() error { return os.RemoveAll(string(d)) }

// closeFunc is a Close of its own.
type closeFunc func() error

func (f closeFunc) Close() error { return f() }

var _ io.Closer = closeFunc(nil)
