package mysql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/internal/sqlstore/sqltest"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store/mysql"
	"github.com/oauth2d/oauth2/store/storetest"
)

const envDSN = "OAUTH2_TEST_MYSQL_DSN"

// config returns the test server's DSN, parsed, or skips the test saying
// how to set it.
func config(t testing.TB) *mysqldriver.Config {
	t.Helper()
	v := os.Getenv(envDSN)
	if v == "" {
		t.Skipf("MySQL/MariaDB tests need %s, e.g. %s='root@tcp(127.0.0.1:3306)/test' "+
			"(or: source .ci/services.sh)", envDSN, envDSN)
	}
	c, err := mysqldriver.ParseDSN(v)
	if err != nil {
		t.Fatalf("%s: %v", envDSN, err)
	}
	return c
}

// newDatabase creates a database of its own for the test, dropped when the
// test ends, and returns the DSN that uses it.
func newDatabase(t testing.TB) string {
	t.Helper()
	c := config(t)
	admin, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "oauth2test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database (is %s reachable?): %v", envDSN, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	c.DBName = name
	return c.FormatDSN()
}

func openErr(t testing.TB, dsn string, opts ...mysql.Option) (*mysql.Store, error) {
	t.Helper()
	s, err := mysql.Open(context.Background(), dsn, opts...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { s.Close() })
	return s, nil
}

func open(t testing.TB, dsn string, opts ...mysql.Option) *mysql.Store {
	t.Helper()
	s, err := openErr(t, dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// proxied returns a proxy to the test server and a DSN of a new database
// that goes through it.
func proxied(t testing.TB) (*sqltest.Proxy, string) {
	t.Helper()
	c, err := mysqldriver.ParseDSN(newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Net != "tcp" {
		t.Fatalf("%s must use tcp for the outage tests", envDSN)
	}
	p := sqltest.NewProxy(t, c.Addr)
	c.Addr = p.Addr()
	return p, c.FormatDSN()
}

// dsns remembers the DSN of each store the tests opened, for Reopen.
var dsns = map[*sqlstore.Store]string{}

func TestStore_Conformance(t *testing.T) {
	config(t)
	storetest.TestTokenStore(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) oauth2.TokenStore {
			dsn := newDatabase(t)
			s := open(t, dsn, mysql.WithClock(now))
			dsns[s.Store] = dsn
			return s
		},
		Reopen: func(t *testing.T, s oauth2.TokenStore, now func() time.Time) oauth2.TokenStore {
			return open(t, dsns[s.(*mysql.Store).Store], mysql.WithClock(now))
		},
		Down: func(t *testing.T) oauth2.TokenStore {
			p, dsn := proxied(t)
			s := open(t, dsn)
			p.Down()
			return s
		},
	})
}

func TestKVStore_Conformance(t *testing.T) {
	config(t)
	storetest.TestKVStore(t, storetest.KVHarness{
		New: func(t *testing.T, now func() time.Time) oauth2.KVStore {
			return open(t, newDatabase(t), mysql.WithClock(now))
		},
	})
}

func TestClientStore_Conformance(t *testing.T) {
	config(t)
	storetest.TestClientStore(t, storetest.ClientHarness{
		New: func(t *testing.T) (oauth2.ClientStore, func(context.Context, *models.Client) error) {
			s := open(t, newDatabase(t))
			return s, s.SaveClient
		},
	})
}

func TestStore_SQL(t *testing.T) {
	config(t)
	sqltest.Run(t, sqltest.Engine{
		Open: func(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
			dsn := newDatabase(t)
			s := open(t, dsn, opts...).Store
			dsns[s] = dsn
			return s
		},
		Reopen: func(t testing.TB, s *sqlstore.Store, opts ...sqlstore.Option) (*sqlstore.Store, error) {
			o, err := openErr(t, dsns[s], opts...)
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
	config(t)
	tests := []struct {
		name      string
		cut, heal func(p *sqltest.Proxy)
	}{
		{"connections closed", (*sqltest.Proxy).Down, (*sqltest.Proxy).Up},
		{"traffic dropped", (*sqltest.Proxy).Stall, (*sqltest.Proxy).Resume},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, dsn := proxied(t)
			s := open(t, dsn, mysql.WithTimeout(500*time.Millisecond))
			sqltest.Outage(t, s.Store, func() { tt.cut(p) }, func() { tt.heal(p) }, 1500*time.Millisecond)
		})
	}
}

// TestStore_BatchWithServerGoneFailsEveryCaller takes the server away
// while a batch of writes is in flight and more are queued: every caller
// gets ErrUnavailable and nothing is left half written.
func TestStore_BatchWithServerGoneFailsEveryCaller(t *testing.T) {
	config(t)
	p, dsn := proxied(t)
	s := open(t, dsn, mysql.WithTimeout(2*time.Second))
	sqltest.BatchOutage(t, s.Store, p)
}

// TestStore_ValueTooLongFailsOnlyItsCaller: a grant ID longer than the
// column keeps (VARBINARY(512)) is refused by the server in strict mode;
// the writes sharing its batch are not.
func TestStore_ValueTooLongFailsOnlyItsCaller(t *testing.T) {
	s := open(t, newDatabase(t))
	sqltest.FailingWrites(t, s.Store, func(r *models.Token) { r.GrantID = strings.Repeat("g", 600) })
}

// TestStore_DurableAcrossKill9WithBatchesInFlight kills a process of 32
// writers with SIGKILL while their batches are in flight: every write it
// was answered for is in the database.
func TestStore_DurableAcrossKill9WithBatchesInFlight(t *testing.T) {
	config(t)
	sqltest.Kill9(t, "TestStore_DurableAcrossKill9WithBatchesInFlight", func(t *testing.T) string { return newDatabase(t) },
		func(ctx context.Context, dsn string) (*sqlstore.Store, error) {
			s, err := mysql.Open(ctx, dsn, mysql.WithSweepInterval(0))
			if err != nil {
				return nil, err
			}
			return s.Store, nil
		})
}

// TestOpen_UnreachableServerFailsFast checks Open against a closed port
// and against a server that accepts connections and never answers.
func TestOpen_UnreachableServerFailsFast(t *testing.T) {
	config(t)
	for name, cut := range map[string]func(*sqltest.Proxy){"closed": (*sqltest.Proxy).Down, "hung": (*sqltest.Proxy).Stall} {
		t.Run(name, func(t *testing.T) {
			p, dsn := proxied(t)
			cut(p)
			began := time.Now()
			_, err := openErr(t, dsn, mysql.WithTimeout(500*time.Millisecond))
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
		{"no slash before the database", "app:" + password + "@tcp(127.0.0.1:3306)", "slash"},
		{"unterminated address", "app:" + password + "@tcp(127.0.0.1:3306/test", "address"},
		{"bad boolean parameter", "app:" + password + "@tcp(127.0.0.1:3306)/test?parseTime=maybe", "bool"},
		{"no database name", "app:" + password + "@tcp(127.0.0.1:3306)/", "database name"},
		{"password with an at sign", "app:" + password + "@x@tcp(127.0.0.1:3306", "slash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mysql.Open(t.Context(), tt.dsn)
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
		c := config(t)
		c.User, c.Passwd = "no_such_user_oauth2", password
		_, err := mysql.Open(t.Context(), c.FormatDSN(), mysql.WithTimeout(2*time.Second))
		if err == nil {
			t.Fatal("Open as an unknown user succeeded")
		}
		t.Log(err)
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("error shows the password: %q", err)
		}
		if !strings.Contains(err.Error(), "no_such_user_oauth2") {
			t.Fatalf("error %q does not name the user", err)
		}
	})
}

// TestOpen_AutocommitOffInTheDSNStillCommitsEachIssuance opens the store
// with autocommit=0 in its DSN: a batch of issuances runs as one INSERT
// outside a transaction, so the store must turn autocommit back on, or a
// token answered as stored would sit in an open transaction, unseen by
// other connections and lost with its own.
func TestOpen_AutocommitOffInTheDSNStillCommitsEachIssuance(t *testing.T) {
	dsn := newDatabase(t)
	c, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	c.Params = map[string]string{"autocommit": "0"}
	s := open(t, c.FormatDSN())
	r := sqltest.Tokens(time.Now(), "g", time.Hour)
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	other := open(t, dsn)
	if _, err := other.GetByAccess(t.Context(), r.Access); err != nil {
		t.Fatalf("another process does not see an issued token: %v", err)
	}
}
