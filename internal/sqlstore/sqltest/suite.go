package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/opaque"
	"github.com/oauth2d/oauth2/internal/sqlstore"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store/storetest"
)

// Engine tells Run how to open stores of one engine.
type Engine struct {
	// Open returns a fresh store with tables of its own, closed when the
	// test ends.
	Open func(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store
	// Reopen opens another handle on the tables of s, closed when the test
	// ends, or returns Open's error.
	Reopen func(t testing.TB, s *sqlstore.Store, opts ...sqlstore.Option) (*sqlstore.Store, error)
}

// Run runs the checks of internal/sqlstore that are the same on every
// engine, as subtests of t.
func Run(t *testing.T, e Engine) {
	t.Run("HashesOnlyAtRest", func(t *testing.T) { testHashesOnlyAtRest(t, e) })
	t.Run("KeysFollowIssueOrder", func(t *testing.T) { testKeysFollowIssueOrder(t, e) })
	t.Run("ValuesOfOtherFormsResolve", func(t *testing.T) { testValuesOfOtherFormsResolve(t, e) })
	t.Run("SweeperRemovesExpiredRows", func(t *testing.T) { testSweeper(t, e) })
	t.Run("SweepKeepsLiveRows", func(t *testing.T) { testSweepKeepsLive(t, e) })
	t.Run("MigrationsAreVersioned", func(t *testing.T) { testMigrations(t, e) })
	t.Run("ConcurrentOpenMigratesOnce", func(t *testing.T) { testConcurrentOpen(t, e) })
	t.Run("ClientSecretsAreHashed", func(t *testing.T) { testClientSecrets(t, e) })
	t.Run("RefusedWriteFailsOnlyItsCaller", func(t *testing.T) { FailingWrites(t, e.Open(t)) })
}

// Key returns a random value of 43 base64url characters, the form of the
// codes and tokens of earlier releases (and of many other generators).
func Key() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Tokens returns a record of grant with an access and a refresh token of
// the library's form (internal/opaque), made at now.
func Tokens(now time.Time, grant string, ttl time.Duration) *models.Token {
	return &models.Token{
		ClientID: "client", UserID: "user", Scope: "read", GrantID: grant,
		Access: opaque.New(now), AccessCreateAt: now, AccessExpiresIn: ttl,
		Refresh: opaque.New(now), RefreshCreateAt: now, RefreshExpiresIn: 2 * ttl,
	}
}

// Code returns an authorization code record of grant, its code of the
// library's form made at now.
func Code(now time.Time, grant string, ttl time.Duration) *models.Token {
	return &models.Token{
		ClientID: "client", UserID: "user", Scope: "read", GrantID: grant,
		RedirectURI: "https://client.example/cb", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: oauth2.CodeChallengeS256,
		Code:                opaque.New(now), CodeCreateAt: now, CodeExpiresIn: ttl,
	}
}

func tables(s *sqlstore.Store) []string {
	t := sqlstore.TablesOf(s)
	return []string{t.Tokens, t.Used, t.Clients, t.KV, t.Migrations, t.Documents, t.DocumentVersions}
}

// testHashesOnlyAtRest issues codes and tokens through every write path,
// then reads the tables directly: none holds a code or token
// (docs/architecture.md section 3).
func testHashesOnlyAtRest(t *testing.T, e Engine) {
	ctx := t.Context()
	s := e.Open(t)
	now := time.Now()
	var secrets []string
	keep := func(r *models.Token) *models.Token {
		for _, v := range []string{r.Code, r.Access, r.Refresh} {
			if v != "" {
				secrets = append(secrets, v)
			}
		}
		return r
	}
	for range 3 {
		code := keep(Code(now, "grant-"+Key()[:8], time.Minute))
		if err := s.Create(ctx, code); err != nil {
			t.Fatal(err)
		}
		first := keep(Tokens(now, code.GrantID, time.Hour))
		if err := s.ExchangeCode(ctx, code.Code, first); err != nil {
			t.Fatal(err)
		}
		second := keep(Tokens(now, code.GrantID, time.Hour))
		if err := s.RotateRefresh(ctx, first.Refresh, second); err != nil {
			t.Fatal(err)
		}
		cc := keep(Tokens(now, "", time.Hour))
		if err := s.Create(ctx, cc); err != nil {
			t.Fatal(err)
		}
	}
	const clientSecret = "client-secret-in-the-clear"
	if err := s.SaveClient(ctx, &models.Client{ID: "c1", Secret: clientSecret}); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, clientSecret)
	if n := NoSecretsAtRest(t, sqlstore.DBOf(s), tables(s), secrets); n < 10 {
		t.Fatalf("read %d rows, want the records, the used keys and the client", n)
	}
}

func count(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// testSweeper checks that the background sweeper deletes expired records,
// used keys and key-value entries, in batches, by the store's clock.
func testSweeper(t *testing.T, e Engine) {
	ctx := t.Context()
	clock := storetest.NewClock(time.Now())
	s := e.Open(t, sqlstore.WithClock(clock.Now), sqlstore.WithSweepInterval(10*time.Millisecond), sqlstore.WithSweepBatch(3))
	tb := sqlstore.TablesOf(s)
	for range 10 {
		r := Tokens(clock.Now(), "g", time.Minute)
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	code := Code(clock.Now(), "g2", time.Minute)
	if err := s.Create(ctx, code); err != nil {
		t.Fatal(err)
	}
	if err := s.ExchangeCode(ctx, code.Code, Tokens(clock.Now(), "g2", time.Minute)); err != nil {
		t.Fatal(err)
	}
	forever := Tokens(clock.Now(), "g3", 0)
	if err := s.Create(ctx, forever); err != nil {
		t.Fatal(err)
	}
	for i, ttl := range []time.Duration{time.Minute, time.Minute, 0} {
		if err := s.Put(ctx, fmt.Sprint("key", i), []byte("v"), ttl); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := count(t, sqlstore.DBOf(s), tb.Tokens); n != 12 {
		t.Fatalf("%d records before expiry, want 12", n)
	}
	clock.Advance(3 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	db := sqlstore.DBOf(s)
	for count(t, db, tb.Tokens) != 1 || count(t, db, tb.Used) != 0 || count(t, db, tb.KV) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("sweeper left %d records, %d used keys and %d values, want 1, 0 and 1",
				count(t, db, tb.Tokens), count(t, db, tb.Used), count(t, db, tb.KV))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.GetByAccess(ctx, forever.Access); err != nil {
		t.Fatalf("record that never expires: %v", err)
	}
	if _, err := s.Get(ctx, "key2"); err != nil {
		t.Fatalf("value that never expires: %v", err)
	}
}

// testSweepKeepsLiveRows checks that Sweep deletes exactly the expired
// rows, by the store's clock, and reports how many.
func testSweepKeepsLive(t *testing.T, e Engine) {
	ctx := t.Context()
	clock := storetest.NewClock(time.Now())
	s := e.Open(t, sqlstore.WithClock(clock.Now), sqlstore.WithSweepInterval(0), sqlstore.WithSweepBatch(2))
	var live []*models.Token
	for i := range 7 {
		r := Tokens(clock.Now(), "g", time.Duration(i+1)*time.Minute)
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		live = append(live, r)
	}
	// Records expire with their refresh token, at 2, 4, ... 14 minutes.
	clock.Advance(5 * time.Minute)
	n, err := s.Sweep(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v, want 2 records", n, err)
	}
	for _, r := range live[2:] {
		if _, err := s.GetByRefresh(ctx, r.Refresh); err != nil {
			t.Fatalf("live record swept: %v", err)
		}
	}
}

// testMigrations checks that opening records each schema version once,
// that reopening applies nothing again, that a database of an earlier
// version is brought up to date, and that a schema from a later release
// stops Open.
func testMigrations(t *testing.T, e Engine) {
	ctx := t.Context()
	s := e.Open(t)
	tb := sqlstore.TablesOf(s)
	versions := func() []int { return Recorded(t, sqlstore.DBOf(s), tb) }
	// Versions 1 to 4 on every engine; SQLite adds 5 (store/sqlite).
	all := sqlstore.Versions(s)
	if len(all) < 4 || !slices.Equal(all[:4], []int{1, 2, 3, 4}) {
		t.Fatalf("engine's versions = %v, want 1 to 4 first", all)
	}
	if vs := versions(); !slices.Equal(vs, all) {
		t.Fatalf("versions after Open = %v, want %v", vs, all)
	}
	r := Tokens(time.Now(), "g", time.Hour)
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	again, err := e.Reopen(t, s)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if vs := versions(); !slices.Equal(vs, all) {
		t.Fatalf("versions after reopening = %v, want %v", vs, all)
	}
	if _, err := again.GetByAccess(ctx, r.Access); err != nil {
		t.Fatalf("record after reopening: %v", err)
	}

	db := sqlstore.DBOf(s)
	run := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	// A database of the third release (version 3): no documents. The
	// upgraded schema keeps them, counting the changes of each kind from
	// zero. The versions after 4 (SQLite's 5) run again too: they apply to
	// a table of any earlier version.
	dropV4 := []string{
		"DROP TABLE " + tb.Documents,
		"DROP TABLE " + tb.DocumentVersions,
		"DELETE FROM " + tb.Migrations + " WHERE version >= 4",
	}
	run(dropV4...)
	upgraded, err := e.Reopen(t, s)
	if err != nil {
		t.Fatalf("reopen of a version 3 database: %v", err)
	}
	if vs := versions(); !slices.Equal(vs, all) {
		t.Fatalf("versions after upgrading from 3 = %v, want %v", vs, all)
	}
	if v, err := upgraded.DocumentsVersion(ctx, "client"); err != nil || v != 0 {
		t.Fatalf("DocumentsVersion after upgrading from 3 = %d, %v; want 0", v, err)
	}
	if err := upgraded.CreateDocument(ctx, "client", "app", []byte("{}")); err != nil {
		t.Fatalf("CreateDocument after upgrading from 3: %v", err)
	}
	if v, err := s.DocumentsVersion(ctx, "client"); err != nil || v != 1 {
		t.Fatalf("DocumentsVersion of the kind created after a create = %d, %v; want 1", v, err)
	}
	if v, err := s.DocumentsVersion(ctx, "user"); err != nil || v != 0 {
		t.Fatalf("DocumentsVersion of another kind after a create = %d, %v; want 0", v, err)
	}
	// A database of the second release (version 2): no extension data,
	// replay markers with the grant only. Its rows read back without
	// extension data and their replays without a record; the upgraded
	// schema keeps both for new rows.
	code := Code(time.Now(), "g2", time.Hour)
	if err := s.Create(ctx, code); err != nil {
		t.Fatal(err)
	}
	if err := s.ExchangeCode(ctx, code.Code, Tokens(time.Now(), "g2", time.Hour)); err != nil {
		t.Fatal(err)
	}
	dropV3 := []string{
		"ALTER TABLE " + tb.Tokens + " DROP COLUMN extension",
		"ALTER TABLE " + tb.Used + " DROP COLUMN client_id",
		"ALTER TABLE " + tb.Used + " DROP COLUMN redirect_uri",
		"ALTER TABLE " + tb.Used + " DROP COLUMN code_challenge",
		"ALTER TABLE " + tb.Used + " DROP COLUMN code_challenge_method",
		"DELETE FROM " + tb.Migrations + " WHERE version = 3",
	}
	run(append(dropV4, dropV3...)...)
	upgraded, err = e.Reopen(t, s)
	if err != nil {
		t.Fatalf("reopen of a version 2 database: %v", err)
	}
	if vs := versions(); !slices.Equal(vs, all) {
		t.Fatalf("versions after upgrading from 2 = %v, want %v", vs, all)
	}
	if got, err := upgraded.GetByAccess(ctx, r.Access); err != nil {
		t.Fatalf("record after upgrading from 2: %v", err)
	} else if x := got.(oauth2.ExtendableTokenInfo).GetExtension(); len(x) != 0 {
		t.Fatalf("record of version 2 read back with extension %v", x)
	}
	var re *oauth2.ReusedError
	if _, err := upgraded.GetByCode(ctx, code.Code); !errors.As(err, &re) || re.GrantID != "g2" || re.ClientID != "" || re.Record != nil {
		t.Fatalf("replay remembered by version 2 = %#v, want a *ReusedError of grant g2 only", err)
	}
	withExt := Tokens(time.Now(), "g3", time.Hour)
	withExt.Extension = url.Values{"nonce": {"n"}}
	if err := upgraded.Create(ctx, withExt); err != nil {
		t.Fatalf("Create with extension after upgrading from 2: %v", err)
	}
	if got, err := upgraded.GetByRefresh(ctx, withExt.Refresh); err != nil || got.(oauth2.ExtendableTokenInfo).GetExtension().Get("nonce") != "n" {
		t.Fatalf("record with extension after upgrading from 2 = %v, %v", got, err)
	}

	// A database of the first release: version 1 only.
	run(append(append(dropV4, dropV3...), "DROP TABLE "+tb.KV, "DELETE FROM "+tb.Migrations+" WHERE version = 2")...)
	upgraded, err = e.Reopen(t, s)
	if err != nil {
		t.Fatalf("reopen of a version 1 database: %v", err)
	}
	if vs := versions(); !slices.Equal(vs, all) {
		t.Fatalf("versions after upgrading from 1 = %v, want %v", vs, all)
	}
	if _, err := upgraded.GetByAccess(ctx, r.Access); err != nil {
		t.Fatalf("record after upgrading: %v", err)
	}
	if err := upgraded.Put(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatalf("table of migration 2: %v", err)
	}

	later := all[len(all)-1] + 1
	if _, err := db.ExecContext(ctx, "INSERT INTO "+tb.Migrations+" (version, applied_at) VALUES ("+strconv.Itoa(later)+", 0)"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reopen(t, s); !errors.Is(err, sqlstore.ErrSchemaTooNew) {
		t.Fatalf("Open of a schema from a later release = %v, want ErrSchemaTooNew", err)
	}
}

// Recorded returns the schema versions recorded in the migrations table
// of tb, in order.
func Recorded(t testing.TB, db *sql.DB, tb sqlstore.Tables) []int {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT version FROM "+tb.Migrations+" ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

// testConcurrentOpen checks that handles opened at the same time on new
// tables, as processes starting together would, all succeed and migrate
// once.
func testConcurrentOpen(t *testing.T, e Engine) {
	s := e.Open(t)
	prefix := "c" + strings.ToLower(hex.EncodeToString([]byte(Key()[:4]))) + "_"
	var wg sync.WaitGroup
	opened := make([]*sqlstore.Store, 4)
	errs := make([]error, len(opened))
	for i := range errs {
		wg.Go(func() { opened[i], errs[i] = e.Reopen(t, s, sqlstore.WithTablePrefix(prefix)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	if n, want := count(t, sqlstore.DBOf(s), sqlstore.TablesOf(opened[0]).Migrations), len(sqlstore.Versions(s)); n != want {
		t.Fatalf("%d versions recorded, want %d, each once", n, want)
	}
	r := Tokens(time.Now(), "g", time.Hour)
	if err := opened[1].Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if _, err := opened[2].GetByAccess(t.Context(), r.Access); err != nil {
		t.Fatal(err)
	}
}

// testClientSecrets checks that SaveClient keeps a hash of a clear secret,
// keeps a given hash, refuses a malformed one, and that GetByID returns
// the hash and no clear secret.
func testClientSecrets(t *testing.T, e Engine) {
	ctx := t.Context()
	s := e.Open(t)
	in := &models.Client{ID: "c", Secret: "s3cret", RedirectURIs: []string{"https://a.example/cb"}}
	if err := s.SaveClient(ctx, in); err != nil {
		t.Fatal(err)
	}
	if in.SecretHash != "" || in.Secret != "s3cret" {
		t.Fatal("SaveClient changed its argument")
	}
	got, err := s.GetByID(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	c := got.(*models.Client)
	if c.Secret != "" || c.SecretHash == "" || !c.VerifyPassword("s3cret") || c.VerifyPassword("s3cre") {
		t.Fatalf("stored client: Secret %q, hash set %v, want only a hash that verifies", c.Secret, c.SecretHash != "")
	}
	if err := s.SaveClient(ctx, &models.Client{ID: "c", SecretHash: c.SecretHash, Public: true}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetByID(ctx, "c")
	if c2 := got.(*models.Client); c2.SecretHash != c.SecretHash || !c2.Public || len(c2.RedirectURIs) != 0 {
		t.Fatalf("replaced client = %+v, want the new registration with the given hash", c2)
	}
	for _, bad := range []*models.Client{{ID: "d", SecretHash: "plain"}, {ID: ""}, nil} {
		if err := s.SaveClient(ctx, bad); err == nil {
			t.Fatalf("SaveClient(%+v) succeeded, want an error", bad)
		}
	}
	if err := s.DeleteClient(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetByID(ctx, "c"); !errors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("deleted client: %v, want ErrNotFound", err)
	}
	if err := s.DeleteClient(ctx, "c"); err != nil {
		t.Fatalf("deleting a missing client: %v", err)
	}
}
