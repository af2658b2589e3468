package oauth2d

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store"
	"github.com/oauth2d/oauth2/store/mysql"
	"github.com/oauth2d/oauth2/store/postgres"
	"github.com/oauth2d/oauth2/store/redis"
)

func TestLogin_ThrottledAfterRepeatedFailuresThenWorksAfterWindow(t *testing.T) {
	cfg, clk := clockedConfig(t)
	cfg.LoginThrottle = ThrottleConfig{Limit: 3, Window: 2 * time.Second, Delay: time.Millisecond}
	srv := startApp(t, cfg)
	authz := authorizeURL(testRedirect, "read", "s")
	b := newBrowser(t, srv)
	attempt := func(password string) (*http.Response, string) {
		_, page := b.get("/login?return=" + url.QueryEscape(authz))
		return b.post("/login", url.Values{
			"username": {testUsername}, "password": {password},
			"csrf": {hiddenValue(t, page, "csrf")}, "return": {authz},
		})
	}
	for i := 1; i <= 2; i++ {
		if resp, body := attempt("wrong"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "incorrect") {
			t.Fatalf("failure %d: status %d", i, resp.StatusCode)
		}
	}
	resp, body := attempt("wrong")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many attempts, try again later.") {
		t.Fatalf("third failure: status %d", resp.StatusCode)
	}
	// Locked out: even the right password is refused, and no session is set.
	resp, body = attempt(testPassword)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many attempts") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("during lockout: status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clk.Advance(2*time.Second + 100*time.Millisecond)
	resp, _ = attempt(testPassword)
	b.expectRedirect(resp, http.StatusSeeOther, "/authorize?")
}

// TestToken_ClientAuthThrottledWith429 documents the token endpoint's
// answer to a client refused at an address: 429 Too Many Requests with an
// invalid_client body (RFC 6749 5.2) and Retry-After (RFC 6585 4).
func TestToken_ClientAuthThrottledWith429(t *testing.T) {
	cfg, clk := clockedConfig(t)
	cfg.ClientThrottle = ThrottleConfig{Limit: 3, Window: 2 * time.Second, Delay: time.Millisecond}
	srv := startApp(t, cfg)
	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}
	for i := 1; i <= 3; i++ {
		resp, data := tokenRequest(t, srv, testClientID, "wrong", cc)
		if resp.StatusCode != http.StatusUnauthorized || data["error"] != "invalid_client" {
			t.Fatalf("failure %d: %d %v", i, resp.StatusCode, data["error"])
		}
	}
	for _, secret := range []string{"wrong", testClientSecret} {
		resp, data := tokenRequest(t, srv, testClientID, secret, cc)
		if resp.StatusCode != http.StatusTooManyRequests || data["error"] != "invalid_client" ||
			resp.Header.Get("Retry-After") == "" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("locked out: %d %v Retry-After %q", resp.StatusCode, data["error"], resp.Header.Get("Retry-After"))
		}
	}
	// Other clients are not affected.
	if resp, _ := tokenRequest(t, srv, "another", "x", cc); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another client: %d", resp.StatusCode)
	}
	clk.Advance(2*time.Second + 100*time.Millisecond)
	if resp, data := tokenRequest(t, srv, testClientID, testClientSecret, cc); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the window: %d %v", resp.StatusCode, data["error"])
	}
}

// downStore is a memory store that can be switched off.
type downStore struct {
	oauth2.TokenStore
	oauth2.KVStore
	down atomic.Bool
}

func newDownStore(t *testing.T) *downStore {
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	return &downStore{TokenStore: ts, KVStore: ts.(oauth2.KVStore)}
}

func (s *downStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.down.Load() {
		return nil, fmt.Errorf("test store: %w", oauth2.ErrUnavailable)
	}
	return s.KVStore.Get(ctx, key)
}

func (s *downStore) Create(ctx context.Context, info oauth2.TokenInfo) error {
	if s.down.Load() {
		return fmt.Errorf("test store: %w", oauth2.ErrUnavailable)
	}
	return s.TokenStore.Create(ctx, info)
}

func TestHealth_503WhenTheStoreIsDown(t *testing.T) {
	cfg := testConfig(testRedirect)
	ds := newDownStore(t)
	cfg.TokenStore = ds
	cfg.Secret = testAtRestSecret
	srv := startApp(t, cfg)
	get := func() int {
		resp, err := srv.Client().Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("store up: %d", code)
	}
	ds.down.Store(true)
	if code := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("store down: %d", code)
	}
	resp, data := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}})
	if resp.StatusCode != http.StatusServiceUnavailable || data["error"] != "temporarily_unavailable" || data["access_token"] != nil {
		t.Fatalf("token while down: %d %v", resp.StatusCode, data["error"])
	}
	ds.down.Store(false)
	if code := get(); code != http.StatusOK {
		t.Fatalf("store back: %d", code)
	}
}

// TestLogs_NeverHoldSecretsTokensOrCodes runs every kind of request and
// greps the log for what must never be in it.
func TestLogs_NeverHoldSecretsTokensOrCodes(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	const state = "state-9f8e7d6c"
	const wrongPassword = "wrong-pass-1b2c3d"
	b := newBrowser(t, srv)
	// A failed login, then the flow.
	_, page := b.get("/login?return=" + url.QueryEscape(authorizeURL(testRedirect, "read", state)))
	b.post("/login", url.Values{"username": {testUsername}, "password": {wrongPassword}, "csrf": {hiddenValue(t, page, "csrf")}})
	code := b.code(testRedirect, "read", state)
	_, tok := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier},
	})
	_, ref := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
	_, cc := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}})
	tokenRequest(t, srv, testClientID, "wrong-secret-5e6f", url.Values{"grant_type": {"client_credentials"}})
	// A replayed code, whose error path logs too.
	tokenRequest(t, srv, testClientID, testClientSecret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier},
	})

	logs := srv.Logs.String()
	secrets := map[string]string{
		"client secret":      testClientSecret,
		"wrong secret":       "wrong-secret-5e6f",
		"password":           testPassword,
		"wrong password":     wrongPassword,
		"code":               code,
		"code_verifier":      testVerifier,
		"state (query)":      state,
		"access token":       tok["access_token"].(string),
		"refresh token":      tok["refresh_token"].(string),
		"refreshed access":   ref["access_token"].(string),
		"refreshed refresh":  ref["refresh_token"].(string),
		"client credentials": cc["access_token"].(string),
	}
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds the %s", name)
		}
	}
	for _, want := range []string{"method=POST path=/token status=200", "client_id=" + testClientID, "path=/authorize", "path=/login status=400"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}

func TestMetrics_ExposeTokensErrorsAndDurations(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}})
	tokenRequest(t, srv, testClientID, "wrong", url.Values{"grant_type": {"client_credentials"}})
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	for _, want := range []string{
		`oauth2d_tokens_issued_total{grant="client_credentials"} 1`,
		`oauth2d_errors_total{code="invalid_client"} 1`,
		`oauth2d_http_request_duration_seconds_bucket{endpoint="/token",le=`,
		`oauth2d_store_duration_seconds_bucket{op="create",le=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestApp_SecondStartReusesSigningKeyAndTokens(t *testing.T) {
	shared, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(cfg *Config)
	}{
		{"shared store", func(cfg *Config) { cfg.TokenStore, cfg.Secret = shared, testAtRestSecret }},
		{"sqlite file", func(cfg *Config) { cfg.Store = "sqlite:" + filepath.Join(t.TempDir(), "oauth2d.db") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(testRedirect)
			tt.setup(&cfg)
			srv := startApp(t, cfg)
			_, tok := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}})
			first, _ := srv.App.Keys().Current()
			_, kvBacked := srv.App.rawStore.(oauth2.KVStore)
			srv.Close()
			if err := srv.App.Close(); err != nil {
				t.Fatal(err)
			}

			again := startApp(t, cfg)
			second, _ := again.App.Keys().Current()
			if !kvBacked {
				t.Fatal("the store keeps no shared state: the signing key cannot survive a restart")
			}
			if first.KeyID != second.KeyID {
				t.Fatalf("the signing key changed across restarts: %s, then %s", first.KeyID, second.KeyID)
			}
			if _, err := again.App.manager.LoadAccessToken(context.Background(), tok["access_token"].(string)); err != nil {
				t.Fatalf("the token of the first start is gone: %v", err)
			}
		})
	}
}

// TestMain_ServesPrintsStartupAndStopsOnSignal runs the command in-process
// with JSON logs: it prints what it started with, serves, and exits 0 on a
// signal.
func TestMain_ServesPrintsStartupAndStopsOnSignal(t *testing.T) {
	env := map[string]string{EnvListen: "127.0.0.1:0", EnvStore: "memory"}
	stderr := &syncBuffer{}
	signals := make(chan os.Signal, 1)
	ready := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- Main(Env{
			Args: []string{"-log-format", "json"}, Stdout: io.Discard, Stderr: stderr,
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Signals:   signals, Ready: ready,
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("exited %d before serving: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/token", strings.NewReader("grant_type=client_credentials&scope=read"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DemoClientID, DemoClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"scope":"read"`) {
		t.Fatalf("demo token: %d %s", resp.StatusCode, body)
	}
	signals <- syscall.SIGTERM
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON log line: %q", sc.Text())
		}
		lines = append(lines, m)
	}
	find := func(msg string) map[string]any {
		for _, m := range lines {
			if s, _ := m["msg"].(string); strings.Contains(s, msg) {
				return m
			}
		}
		t.Fatalf("no log line %q in:\n%s", msg, stderr.String())
		return nil
	}
	started := find("oauth2d started")
	if started["issuer"] != DefaultIssuer || started["listen"] != addr || started["store"] != "memory" {
		t.Fatalf("startup line: %v", started)
	}
	if demo := find("for development only"); demo["client_id"] != DemoClientID || demo["username"] != DemoUsername {
		t.Fatalf("demo line: %v", demo)
	}
	find("curl -s -u 000000:999999 -d grant_type=client_credentials -d scope=read http://localhost:9096/token")
	find("stopped")
}

// TestBinary_SIGTERMDrainsInFlightRequestsAndExitsZero builds the command,
// starts it, sends SIGTERM while a request is in flight (a throttled client
// authentication that answers after a delay), and checks that the request
// is answered and the process exits 0.
func TestBinary_SIGTERMDrainsInFlightRequestsAndExitsZero(t *testing.T) {
	cmd, addr, logs := startBinary(t, buildBinary(t), []string{EnvStore + "=memory"})
	badToken := func() int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(DemoClientID, "wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Two fast failures; the third is answered after 500ms, the fourth
	// after a second.
	for range 3 {
		if code := badToken(); code != http.StatusUnauthorized {
			t.Fatalf("failure: %d", code)
		}
	}
	inflight := make(chan int, 1)
	go func() { inflight <- badToken() }()
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-inflight; code != http.StatusUnauthorized {
		t.Fatalf("the in-flight request got %d, want its 401", code)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Fatalf("no clean stop in the log:\n%s", logs.String())
	}
}

// buildBinary builds the oauth2d command, without the race detector
// whatever the test's build, into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "oauth2d")
	build := exec.Command("go", "build", "-o", bin, "github.com/oauth2d/oauth2/cmd/oauth2d")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBinary starts bin with env (and OAUTH2D_LISTEN=127.0.0.1:0) and
// args, and returns it once it serves, with its address and its log. It is
// killed when the test ends.
func startBinary(t *testing.T, bin string, env []string, args ...string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(append(os.Environ(), EnvListen+"=127.0.0.1:0"), env...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	listenRe := regexp.MustCompile(`listen=(127\.0\.0\.1:\d+)`)
	// The log is written out every 100ms; wait for the start-up line.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := listenRe.FindStringSubmatch(logs.String()); m != nil {
			return cmd, m[1], logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not start:\n%s", logs.String())
		}
	}
}

// serveApp serves the App of cfg as is, issuer included.
func serveApp(t *testing.T, cfg Config) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	app, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(func() {
		srv.Close()
		app.Close()
	})
	return &testServer{Server: srv, App: app, Logs: logs}
}

// TestApps_ShareOneStoreAsOneIssuer runs two server processes' Apps on one
// store, as several oauth2d processes behind a load balancer: a login at
// one is a session at the other, a code issued by one is exchanged once at
// the other, and the client throttle counts failures at both. With
// OAUTH2_TEST_POSTGRES_URL set, each App also opens its own pool to
// PostgreSQL.
func TestApps_ShareOneStoreAsOneIssuer(t *testing.T) {
	shared, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	// Each App opens its own connection pool to the database, under a
	// schema, table or key prefix of this run only, removed at the end:
	// other runs share the engines.
	run := "oauth2d_apps_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	closing := func(t *testing.T, ts oauth2.TokenStore, err error) oauth2.TokenStore {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if c, ok := ts.(io.Closer); ok {
				c.Close()
			}
		})
		return ts
	}
	tests := []struct {
		name  string
		env   string
		open  func(t *testing.T, dsn string) oauth2.TokenStore
		clean func(dsn string) error
	}{
		{"one memory store", "", func(*testing.T, string) oauth2.TokenStore { return shared }, nil},
		{"postgres", "OAUTH2_TEST_POSTGRES_URL", func(t *testing.T, dsn string) oauth2.TokenStore {
			ts, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(run))
			return closing(t, ts, err)
		}, func(dsn string) error { return execSQL("pgx", dsn, "DROP SCHEMA IF EXISTS "+run+" CASCADE") }},
		{"mysql", "OAUTH2_TEST_MYSQL_DSN", func(t *testing.T, dsn string) oauth2.TokenStore {
			ts, err := mysql.Open(context.Background(), dsn, mysql.WithTablePrefix(run+"_"))
			return closing(t, ts, err)
		}, func(dsn string) error { return dropMySQLTables(dsn, run+"_") }},
		{"redis", "OAUTH2_TEST_REDIS_URL", func(t *testing.T, u string) oauth2.TokenStore {
			ts, err := redis.NewFromURL(u, redis.WithKeyPrefix(run+":"))
			return closing(t, ts, err)
		}, func(u string) error { return deleteRedisKeys(u, run+":") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := ""
			if tt.env != "" {
				if dsn = os.Getenv(tt.env); dsn == "" {
					t.Skipf("set %s (see .ci/services.sh) to run two Apps on %s", tt.env, tt.name)
				}
				t.Cleanup(func() {
					if err := tt.clean(dsn); err != nil {
						t.Errorf("remove the data of this run: %v", err)
					}
				})
			}
			// Names of this run only: a database keeps consent and counters.
			suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
			clientID, username := "app-"+suffix, "user-"+suffix
			cfg := testConfig(testRedirect)
			cfg.Clients[0].ID = clientID
			cfg.Users[0].Username = username
			cfg.Issuer = "http://oauth2d.test"
			cfg.ClientThrottle = ThrottleConfig{Limit: 3, Delay: time.Millisecond}
			cfg.Secret = testAtRestSecret // every process of a shared store has it
			cfgA, cfgB := cfg, cfg
			cfgA.TokenStore, cfgB.TokenStore = tt.open(t, dsn), tt.open(t, dsn)
			a, b := serveApp(t, cfgA), serveApp(t, cfgB)
			ka, _ := a.App.Keys().Current()
			kb, _ := b.App.Keys().Current()
			if ka.KeyID != kb.KeyID {
				t.Fatal("the two processes sign with different keys")
			}

			br := newBrowser(t, a)
			br.origin = cfg.Issuer
			back := br.login(authorizeURLFor(clientID, testRedirect, "read", "st"), username, testPassword)
			br.srv = b // the load balancer sends the next requests to b
			back = br.consent(back, "allow")
			br.srv = a
			q := br.finish(back, testRedirect)
			if q.Get("iss") != cfg.Issuer || q.Get("code") == "" {
				t.Fatalf("redirect %v", redactQuery(q))
			}
			exchange := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}
			if resp, data := tokenRequest(t, b, clientID, testClientSecret, exchange); resp.StatusCode != http.StatusOK {
				t.Fatalf("exchange at the other process: %d %v", resp.StatusCode, data["error"])
			}
			if resp, data := tokenRequest(t, a, clientID, testClientSecret, exchange); resp.StatusCode != http.StatusBadRequest || data["error"] != "invalid_grant" {
				t.Fatalf("replay at the first process: %d %v", resp.StatusCode, data["error"])
			}

			cc := url.Values{"grant_type": {"client_credentials"}}
			for _, srv := range []*testServer{a, b, a} {
				tokenRequest(t, srv, clientID, "wrong", cc)
			}
			if resp, _ := tokenRequest(t, b, clientID, testClientSecret, cc); resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("the throttle is not shared: %d", resp.StatusCode)
			}
		})
	}
}

// execSQL runs one statement on the database of dsn.
func execSQL(driver, dsn, stmt string) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(stmt)
	return err
}

// dropMySQLTables drops the tables whose names start with prefix.
func dropMySQLTables(dsn, prefix string) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?", prefix+"%")
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, name := range tables {
		if _, err := db.Exec("DROP TABLE IF EXISTS `" + name + "`"); err != nil {
			return err
		}
	}
	return nil
}

// deleteRedisKeys deletes the keys that start with prefix.
func deleteRedisKeys(rawURL, prefix string) error {
	opt, err := goredis.ParseURL(rawURL)
	if err != nil {
		return err
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		if err := c.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}
