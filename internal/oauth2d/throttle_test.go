package oauth2d

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/store"
	"github.com/oauth2d/oauth2/store/storetest"
)

// Loopback source addresses of the throttle tests: the attacker's
// connections come from one, the legitimate user's from the other (Linux
// routes all of 127.0.0.0/8 to the loopback interface).
const (
	attackerIP = "127.0.0.2"
	ownerIP    = "127.0.0.1"
)

// clientFrom returns an HTTP client whose connections leave from the
// loopback address ip, so that the server sees it as the TCP peer. It does
// not follow redirects.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Jar:           newJar(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// browserFrom is a browser whose connections leave from ip.
func browserFrom(t *testing.T, srv *testServer, ip string) *browser {
	b := newBrowser(t, srv)
	b.client = clientFrom(t, ip)
	return b
}

// clockedConfig returns testConfig on a memory store read with a settable
// clock, which the App's throttles read too.
func clockedConfig(t *testing.T) (Config, *storetest.Clock) {
	t.Helper()
	clk := storetest.NewClock(time.Now())
	ts, err := store.NewMemoryTokenStore(store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(testRedirect)
	cfg.TokenStore = ts
	cfg.Now = clk.Now
	cfg.Secret = testAtRestSecret
	return cfg, clk
}

// post sends a form to srv's path from c, with the Authorization header
// auth when set, and returns the status, the JSON body and the response.
func post(t *testing.T, c *http.Client, srv *testServer, path, auth string, header http.Header, form url.Values) (int, map[string]any, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	var data map[string]any
	if strings.TrimSpace(body) != "" {
		if err := json.Unmarshal([]byte(body), &data); err != nil {
			t.Fatalf("%s: %d is not JSON: %q", path, resp.StatusCode, body)
		}
	}
	return resp.StatusCode, data, resp
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

var clientCredentials = url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}

func TestToken_StrangerCannotLockOutAClient(t *testing.T) {
	cfg, clk := clockedConfig(t)
	cfg.ClientThrottle = ThrottleConfig{Limit: 3, Delay: time.Millisecond}
	srv := startApp(t, cfg)
	attacker, owner := clientFrom(t, attackerIP), clientFrom(t, ownerIP)
	for i := 1; i <= 3; i++ {
		if st, data, _ := post(t, attacker, srv, "/token", basic(testClientID, "wrong"), nil, clientCredentials); st != http.StatusUnauthorized || data["error"] != "invalid_client" {
			t.Fatalf("attacker's failure %d: %d %v", i, st, data["error"])
		}
	}
	// The attacker's address is refused for this client at every client
	// endpoint, even with the right secret, and nothing is verified.
	for _, path := range []string{"/token", "/introspect", "/revoke"} {
		st, data, resp := post(t, attacker, srv, path, basic(testClientID, testClientSecret), nil,
			url.Values{"grant_type": {"client_credentials"}, "token": {"x"}})
		if st != http.StatusTooManyRequests || data["error"] != "invalid_client" || data["access_token"] != nil ||
			resp.Header.Get("Retry-After") == "" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("attacker at %s: %d %v Retry-After %q", path, st, data["error"], resp.Header.Get("Retry-After"))
		}
	}
	// The client itself, from its own address, keeps working, and its own
	// typo is a plain 401.
	if st, data, _ := post(t, owner, srv, "/token", basic(testClientID, testClientSecret), nil, clientCredentials); st != http.StatusOK || data["access_token"] == nil {
		t.Fatalf("the client from its address: %d %v", st, data["error"])
	}
	if st, _, _ := post(t, owner, srv, "/token", basic(testClientID, "typo"), nil, clientCredentials); st != http.StatusUnauthorized {
		t.Fatalf("the client's typo: %d", st)
	}
	clk.Advance(15*time.Minute + time.Second)
	if st, _, _ := post(t, attacker, srv, "/token", basic(testClientID, testClientSecret), nil, clientCredentials); st != http.StatusOK {
		t.Fatalf("the attacker's address after the window, with the right secret: %d", st)
	}
}

func TestLogin_StrangerCannotLockOutAUser(t *testing.T) {
	cfg, _ := clockedConfig(t)
	cfg.LoginThrottle = ThrottleConfig{Limit: 3, Delay: time.Millisecond}
	cfg.Grants.Password = true
	cfg.Clients[0].GrantTypes = append(cfg.Clients[0].GrantTypes, "password")
	srv := startApp(t, cfg)
	authz := authorizeURL(testRedirect, "read", "s")
	stranger := browserFrom(t, srv, attackerIP)
	loginAs := func(b *browser, password string) (*http.Response, string) {
		_, page := b.get("/login?return=" + url.QueryEscape(authz))
		return b.post("/login", url.Values{"username": {testUsername}, "password": {password},
			"csrf": {hiddenValue(t, page, "csrf")}, "return": {authz}})
	}
	for i := 1; i <= 2; i++ {
		if resp, body := loginAs(stranger, "wrong"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "incorrect") {
			t.Fatalf("stranger's failure %d: %d", i, resp.StatusCode)
		}
	}
	if resp, body := loginAs(stranger, "wrong"); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many attempts") {
		t.Fatalf("stranger's third failure: %d", resp.StatusCode)
	}
	if resp, _ := loginAs(stranger, testPassword); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("stranger with the right password: %d", resp.StatusCode)
	}
	// The password grant shares the count: refused from the stranger's
	// address, working from the user's.
	pw := url.Values{"grant_type": {"password"}, "username": {testUsername}, "password": {testPassword}}
	if st, data, _ := post(t, clientFrom(t, attackerIP), srv, "/token", basic(testClientID, testClientSecret), nil, pw); st != http.StatusBadRequest ||
		data["error"] != "invalid_grant" || data["access_token"] != nil {
		t.Fatalf("password grant from the stranger's address: %d %v", st, data["error"])
	}
	if st, data, _ := post(t, clientFrom(t, ownerIP), srv, "/token", basic(testClientID, testClientSecret), nil, pw); st != http.StatusOK {
		t.Fatalf("password grant from the user's address: %d %v", st, data["error"])
	}
	user := browserFrom(t, srv, ownerIP)
	resp, _ := loginAs(user, testPassword)
	user.expectRedirect(resp, http.StatusSeeOther, "/authorize?")
}

// TestToken_BasicHeaderVariantsAreThrottled sends the Basic header in the
// forms the server accepts (RFC 7617 2, RFC 9110 11.4: a tab or several
// spaces after the scheme, a lower-case scheme, trailing white space):
// each must count against the throttle exactly as the plain form does.
func TestToken_BasicHeaderVariantsAreThrottled(t *testing.T) {
	enc := func(secret string) string {
		return base64.StdEncoding.EncodeToString([]byte(testClientID + ":" + secret))
	}
	variants := map[string]func(secret string) string{
		"tab after the scheme":   func(s string) string { return "Basic\t" + enc(s) },
		"two spaces":             func(s string) string { return "Basic  " + enc(s) },
		"trailing white space":   func(s string) string { return "Basic " + enc(s) + " \t" },
		"lower-case scheme, tab": func(s string) string { return "basic\t" + enc(s) },
	}
	for name, header := range variants {
		t.Run(name, func(t *testing.T) {
			cfg, _ := clockedConfig(t)
			cfg.ClientThrottle = ThrottleConfig{Limit: 3, Delay: time.Millisecond}
			srv := startApp(t, cfg)
			attacker := clientFrom(t, attackerIP)
			if st, data, _ := post(t, attacker, srv, "/token", header(testClientSecret), nil, clientCredentials); st != http.StatusOK {
				t.Fatalf("the server does not accept this form: %d %v", st, data["error"])
			}
			for i := 1; i <= 3; i++ {
				if st, _, _ := post(t, attacker, srv, "/token", header("guess-"+strconv.Itoa(i)), nil, clientCredentials); st != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d", i, st)
				}
			}
			if st, _, _ := post(t, attacker, srv, "/token", header("guess-4"), nil, clientCredentials); st != http.StatusTooManyRequests {
				t.Fatalf("the fourth guess was verified: %d", st)
			}
			if st, _, _ := post(t, attacker, srv, "/token", basic(testClientID, testClientSecret), nil, clientCredentials); st != http.StatusTooManyRequests {
				t.Fatalf("the plain header after the guesses: %d", st)
			}
		})
	}
}

// burst sends n requests at once and returns their statuses and bodies.
func burst(n int, send func() (int, string)) (statuses []int, bodies []string) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, body := send()
			mu.Lock()
			statuses, bodies = append(statuses, st), append(bodies, body)
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses, bodies
}

func TestThrottle_ThirtyConcurrentWrongAttemptsVerifyAtMostTheLimit(t *testing.T) {
	const limit = 3
	tests := []struct {
		name string
		// send makes one wrong attempt; verified tells its answer apart
		// from a refusal.
		send     func(t *testing.T, srv *testServer) func() (int, string)
		verified func(status int, body string) bool
		// hashedSecret registers the client with an argon2id hash of
		// its secret (the users' passwords always are).
		hashedSecret bool
	}{
		{"client secret at the token endpoint", func(t *testing.T, srv *testServer) func() (int, string) {
			c := clientFrom(t, attackerIP)
			return func() (int, string) {
				st, data, _ := post(t, c, srv, "/token", basic(testClientID, "wrong"), nil, clientCredentials)
				if st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
					t.Errorf("answer %d %v", st, data["error"])
				}
				return st, ""
			}
		}, func(st int, _ string) bool { return st == http.StatusUnauthorized }, true},
		{"password grant", func(t *testing.T, srv *testServer) func() (int, string) {
			c := clientFrom(t, attackerIP)
			form := url.Values{"grant_type": {"password"}, "username": {testUsername}, "password": {"wrong"}}
			return func() (int, string) {
				st, data, _ := post(t, c, srv, "/token", basic(testClientID, testClientSecret), nil, form)
				desc, _ := data["error_description"].(string)
				return st, desc
			}
		}, func(_ int, desc string) bool { return strings.Contains(desc, "credentials are invalid") }, false},
		{"sign-in page", func(t *testing.T, srv *testServer) func() (int, string) {
			b := browserFrom(t, srv, attackerIP)
			var tokens []string
			for range 30 {
				_, page := b.get("/login")
				tokens = append(tokens, hiddenValue(t, page, "csrf"))
			}
			var mu sync.Mutex
			return func() (int, string) {
				mu.Lock()
				tok := tokens[0]
				tokens = tokens[1:]
				mu.Unlock()
				resp, body := b.post("/login", url.Values{"username": {testUsername}, "password": {"wrong"}, "csrf": {tok}})
				return resp.StatusCode, body
			}
		}, func(st int, body string) bool {
			return st == http.StatusBadRequest && strings.Contains(body, "incorrect")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := clockedConfig(t)
			cfg.ClientThrottle = ThrottleConfig{Limit: limit, Delay: time.Millisecond}
			cfg.LoginThrottle = ThrottleConfig{Limit: limit, Delay: time.Millisecond}
			cfg.Grants.Password = true
			cfg.Clients[0].GrantTypes = append(cfg.Clients[0].GrantTypes, "password")
			if tt.hashedSecret {
				// An argon2id hash, as a deployment keeps: each wrong
				// secret takes a verification's time, long enough for
				// a burst to overlap.
				hash, err := secret.Hash(testClientSecret)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Clients[0].Secret, cfg.Clients[0].SecretHash = "", hash
			}
			srv := startApp(t, cfg)
			statuses, bodies := burst(30, tt.send(t, srv))
			verified := 0
			for i := range statuses {
				if tt.verified(statuses[i], bodies[i]) {
					verified++
				}
			}
			if verified == 0 || verified > limit {
				t.Fatalf("%d of 30 concurrent wrong attempts were verified; the limit is %d (statuses %v)", verified, limit, statuses)
			}
		})
	}
}

func TestToken_PublicClientsAreNeverThrottled(t *testing.T) {
	cfg := endpointConfig(t, newKey(t))
	cfg.ClientThrottle = ThrottleConfig{Limit: 2, Delay: time.Millisecond}
	srv := startApp(t, cfg)
	attacker := clientFrom(t, attackerIP)
	// Secrets guessed for a public client, which has none.
	for range 5 {
		if st, _, _ := post(t, attacker, srv, "/device_authorization", basic(tvClientID, "guess"), nil, url.Values{}); st != http.StatusUnauthorized {
			t.Fatalf("a secret for the public client: %d", st)
		}
	}
	for range 3 {
		if st, data, _ := post(t, attacker, srv, "/device_authorization", "", nil, url.Values{"client_id": {tvClientID}}); st != http.StatusOK {
			t.Fatalf("the public client from the same address: %d %v", st, data["error"])
		}
	}
}

// kvCalls returns how many KVStore operations the App's metrics counted.
func kvCalls(t *testing.T, srv *testServer) int {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, m := range regexp.MustCompile(`oauth2d_store_duration_seconds_count\{op="kv_[a-z_]+"\} (\d+)`).FindAllStringSubmatch(readBody(t, resp), -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	return total
}

func TestToken_SuccessfulClientCostsNoKVStoreCall(t *testing.T) {
	cfg, clk := clockedConfig(t)
	srv := startApp(t, cfg)
	c := clientFrom(t, ownerIP)
	if st, _, _ := post(t, c, srv, "/token", basic(testClientID, testClientSecret), nil, clientCredentials); st != http.StatusOK {
		t.Fatalf("first request: %d", st)
	}
	before := kvCalls(t, srv)
	for range 50 {
		if st, _, _ := post(t, c, srv, "/token", basic(testClientID, testClientSecret), nil, clientCredentials); st != http.StatusOK {
			t.Fatalf("token: %d", st)
		}
	}
	if n := kvCalls(t, srv) - before; n != 0 {
		t.Fatalf("50 successful token requests made %d KVStore calls", n)
	}
	// A second later one read asks whether other processes counted
	// failures of the client at this address.
	clk.Advance(time.Second)
	before = kvCalls(t, srv)
	post(t, c, srv, "/token", basic(testClientID, testClientSecret), nil, clientCredentials)
	if n := kvCalls(t, srv) - before; n != 1 {
		t.Fatalf("the request after the recheck interval made %d KVStore calls, want 1", n)
	}
}

func TestToken_FailuresAtOneProcessReachTheOtherAtItsRecheck(t *testing.T) {
	cfg, clk := clockedConfig(t)
	cfg.ClientThrottle = ThrottleConfig{Limit: 3, Delay: time.Millisecond}
	a, b := startApp(t, cfg), startApp(t, cfg)
	c := clientFrom(t, attackerIP)
	// b has seen the client succeed from this address, and trusts that
	// for a second.
	if st, _, _ := post(t, c, b, "/token", basic(testClientID, testClientSecret), nil, clientCredentials); st != http.StatusOK {
		t.Fatalf("b: %d", st)
	}
	for range 3 {
		post(t, c, a, "/token", basic(testClientID, "wrong"), nil, clientCredentials)
	}
	if st, _, _ := post(t, c, a, "/token", basic(testClientID, testClientSecret), nil, clientCredentials); st != http.StatusTooManyRequests {
		t.Fatalf("a, after three failures: %d", st)
	}
	clk.Advance(time.Second)
	if st, _, _ := post(t, c, b, "/token", basic(testClientID, testClientSecret), nil, clientCredentials); st != http.StatusTooManyRequests {
		t.Fatalf("b, a second after the failures at a: %d", st)
	}
	if st, _, _ := post(t, clientFrom(t, ownerIP), b, "/token", basic(testClientID, testClientSecret), nil, clientCredentials); st != http.StatusOK {
		t.Fatalf("b, the client from another address: %d", st)
	}
}

func TestToken_BehindATrustedProxyTheForwardedClientIsThrottled(t *testing.T) {
	cfg, _ := clockedConfig(t)
	cfg.ClientThrottle = ThrottleConfig{Limit: 3, Delay: time.Millisecond}
	cfg.TrustedProxies = []string{ownerIP + "/32"}
	srv := startApp(t, cfg)
	proxy, direct := clientFrom(t, ownerIP), clientFrom(t, attackerIP)
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {"10.9.9.9, " + addr}} }
	for range 3 {
		post(t, proxy, srv, "/token", basic(testClientID, "wrong"), from("203.0.113.5"), clientCredentials)
	}
	if st, _, _ := post(t, proxy, srv, "/token", basic(testClientID, testClientSecret), from("203.0.113.5"), clientCredentials); st != http.StatusTooManyRequests {
		t.Fatalf("the failing client behind the proxy: %d", st)
	}
	if st, _, _ := post(t, proxy, srv, "/token", basic(testClientID, testClientSecret), from("198.51.100.7"), clientCredentials); st != http.StatusOK {
		t.Fatalf("another client behind the same proxy: %d", st)
	}
	// A peer that is not a trusted proxy cannot choose its address.
	for range 3 {
		post(t, direct, srv, "/token", basic(testClientID, "wrong"), from("198.51.100.7"), clientCredentials)
	}
	if st, _, _ := post(t, proxy, srv, "/token", basic(testClientID, testClientSecret), from("198.51.100.7"), clientCredentials); st != http.StatusOK {
		t.Fatalf("a forged X-Forwarded-For from an untrusted peer locked out 198.51.100.7: %d", st)
	}
	if st, _, _ := post(t, direct, srv, "/token", basic(testClientID, testClientSecret), from("198.51.100.8"), clientCredentials); st != http.StatusTooManyRequests {
		t.Fatalf("the untrusted peer escaped its own count with a forged header: %d", st)
	}
	logs := srv.Logs.String()
	if !strings.Contains(logs, "client_addr=203.0.113.5") || !strings.Contains(logs, "peer="+ownerIP+":") {
		t.Fatalf("the log does not show the proxy's peer and the client's address:\n%s", logs)
	}
}
