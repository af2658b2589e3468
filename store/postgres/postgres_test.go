package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/internal/sqlstore/sqltest"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store/postgres"
	"github.com/oauth2d/oauth2/store/storetest"
)

const envURL = "OAUTH2_TEST_POSTGRES_URL"

// dsn returns the test server's URL, or skips the test saying how to set
// it.
func dsn(t testing.TB) string {
	t.Helper()
	v := os.Getenv(envURL)
	if v == "" {
		t.Skipf("PostgreSQL tests need %s, e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable "+
			"(or: source .ci/services.sh)", envURL, envURL)
	}
	return v
}

// newSchema creates nothing but a unique schema name, dropped with all
// it holds when the test ends.
func newSchema(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "oauth2test_" + hex.EncodeToString(b)
	u := dsn(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

func openErr(t testing.TB, url string, opts ...postgres.Option) (*postgres.Store, error) {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, opts...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { s.Close() })
	return s, nil
}

func open(t testing.TB, url string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := openErr(t, url, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// proxied returns a proxy to the test server and the URL that goes
// through it.
func proxied(t testing.TB) (*sqltest.Proxy, string) {
	t.Helper()
	u, err := url.Parse(dsn(t))
	if err != nil || u.Host == "" {
		t.Fatalf("%s must be a postgres:// URL with a host for the outage tests", envURL)
	}
	p := sqltest.NewProxy(t, u.Host)
	u.Host = p.Addr()
	return p, u.String()
}

func TestStore_Conformance(t *testing.T) {
	u := dsn(t)
	storetest.TestTokenStore(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) oauth2.TokenStore {
			return open(t, u, postgres.WithSchema(newSchema(t)), postgres.WithClock(now))
		},
		Reopen: func(t *testing.T, s oauth2.TokenStore, now func() time.Time) oauth2.TokenStore {
			return open(t, u, postgres.WithSchema(sqlstore.TablesOf(s.(*postgres.Store).Store).Schema), postgres.WithClock(now))
		},
		Down: func(t *testing.T) oauth2.TokenStore {
			p, pu := proxied(t)
			s := open(t, pu, postgres.WithSchema(newSchema(t)))
			p.Down()
			return s
		},
	})
}

func TestKVStore_Conformance(t *testing.T) {
	dsn(t)
	storetest.TestKVStore(t, storetest.KVHarness{
		New: func(t *testing.T, now func() time.Time) oauth2.KVStore {
			return open(t, dsn(t), postgres.WithSchema(newSchema(t)), postgres.WithClock(now))
		},
	})
}

func TestClientStore_Conformance(t *testing.T) {
	u := dsn(t)
	storetest.TestClientStore(t, storetest.ClientHarness{
		New: func(t *testing.T) (oauth2.ClientStore, func(context.Context, *models.Client) error) {
			s := open(t, u, postgres.WithSchema(newSchema(t)))
			return s, s.SaveClient
		},
	})
}

func TestStore_SQL(t *testing.T) {
	u := dsn(t)
	sqltest.Run(t, sqltest.Engine{
		Open: func(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
			return open(t, u, append([]postgres.Option{postgres.WithSchema(newSchema(t))}, opts...)...).Store
		},
		Reopen: func(t testing.TB, s *sqlstore.Store, opts ...sqlstore.Option) (*sqlstore.Store, error) {
			o, err := openErr(t, u, append([]postgres.Option{postgres.WithSchema(sqlstore.TablesOf(s).Schema)}, opts...)...)
			if err != nil {
				return nil, err
			}
			return o.Store, nil
		},
	})
}

// TestStore_Outage takes the server away behind a proxy, by closing
// every connection (a crash) and by dropping all traffic (a hung server or
// a partitioned network): operations fail within the store's timeout with
// ErrUnavailable, and the store recovers by itself when the server is
// back.
func TestStore_Outage(t *testing.T) {
	dsn(t)
	tests := []struct {
		name      string
		cut, heal func(p *sqltest.Proxy)
	}{
		{"connections closed", (*sqltest.Proxy).Down, (*sqltest.Proxy).Up},
		{"traffic dropped", (*sqltest.Proxy).Stall, (*sqltest.Proxy).Resume},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, u := proxied(t)
			s := open(t, u, postgres.WithSchema(newSchema(t)), postgres.WithTimeout(500*time.Millisecond))
			sqltest.Outage(t, s.Store, func() { tt.cut(p) }, func() { tt.heal(p) }, 1500*time.Millisecond)
		})
	}
}

// TestStore_BatchWithServerGoneFailsEveryCaller takes the server away
// while a pipelined batch of writes is in flight and more are queued:
// every caller gets ErrUnavailable and nothing is left half written.
func TestStore_BatchWithServerGoneFailsEveryCaller(t *testing.T) {
	p, u := proxied(t)
	s := open(t, u, postgres.WithSchema(newSchema(t)), postgres.WithTimeout(2*time.Second))
	sqltest.BatchOutage(t, s.Store, p)
}

// TestStore_DurableAcrossKill9WithBatchesInFlight kills a process of 32
// writers with SIGKILL while their batches are in flight: every write it
// was answered for is in the database.
func TestStore_DurableAcrossKill9WithBatchesInFlight(t *testing.T) {
	u := dsn(t)
	sqltest.Kill9(t, "TestStore_DurableAcrossKill9WithBatchesInFlight", func(t *testing.T) string { return newSchema(t) },
		func(ctx context.Context, schema string) (*sqlstore.Store, error) {
			s, err := postgres.Open(ctx, u, postgres.WithSchema(schema), postgres.WithSweepInterval(0))
			if err != nil {
				return nil, err
			}
			return s.Store, nil
		})
}

// TestOpen_UnreachableServerFailsFast checks Open against a closed port
// and against a server that accepts connections and never answers.
func TestOpen_UnreachableServerFailsFast(t *testing.T) {
	dsn(t)
	for name, cut := range map[string]func(*sqltest.Proxy){"closed": (*sqltest.Proxy).Down, "hung": (*sqltest.Proxy).Stall} {
		t.Run(name, func(t *testing.T) {
			p, u := proxied(t)
			cut(p)
			began := time.Now()
			_, err := openErr(t, u, postgres.WithTimeout(500*time.Millisecond))
			if !errors.Is(err, oauth2.ErrUnavailable) {
				t.Fatalf("Open with the server away = %v, want ErrUnavailable", err)
			}
			if d := time.Since(began); d > 1500*time.Millisecond {
				t.Fatalf("Open took %v", d)
			}
		})
	}
}

// TestOpen_BadDSNNamesTheProblemNotThePassword checks the errors of DSNs
// that do not parse or do not connect.
func TestOpen_BadDSNNamesTheProblemNotThePassword(t *testing.T) {
	const password = "s3cr3t-Pa55"
	tests := []struct {
		name, dsn, want string
	}{
		{"bad port", "postgres://app:" + password + "@127.0.0.1:notaport/test", "port"},
		{"unknown parameter value", "postgres://app:" + password + "@127.0.0.1/test?sslmode=sometimes", "sslmode"},
		{"key=value with a bad port", "host=127.0.0.1 port=x user=app password=" + password, "port"},
		{"escaped password", "postgres://app:" + url.QueryEscape(password+"/%") + "@127.0.0.1:bad/test", "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postgres.Open(t.Context(), tt.dsn)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			if !errors.Is(err, sqlstore.ErrInvalidDSN) {
				t.Errorf("error %q does not wrap ErrInvalidDSN", err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error shows the password: %q", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not name %q", err, tt.want)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		u, err := url.Parse(dsn(t))
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("no_such_user_oauth2", password)
		_, err = postgres.Open(t.Context(), u.String(), postgres.WithTimeout(2*time.Second))
		if err == nil {
			t.Fatal("Open as an unknown user succeeded")
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("error shows the password: %q", err)
		}
		t.Log(err)
		if !strings.Contains(err.Error(), "no_such_user_oauth2") {
			t.Fatalf("error %q does not name the user", err)
		}
	})
}
