package oauth2d

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/store"
)

// kvGets reads how many KVStore reads the App's metrics counted.
func kvGets(t *testing.T, srv *testServer) int {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`oauth2d_store_duration_seconds_count\{op="kv_get"\} (\d+)`).FindStringSubmatch(readBody(t, resp))
	if m == nil {
		t.Fatal("no kv_get count in the metrics")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestToken_SuccessfulClientsCostNoKVStoreRoundTrip(t *testing.T) {
	srv := startApp(t, testConfig(testRedirect))
	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}
	before := kvGets(t, srv)
	for range 20 {
		if resp, data := tokenRequest(t, srv, testClientID, testClientSecret, cc); resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %d %v", resp.StatusCode, data["error"])
		}
	}
	// One lockout check when the client is first seen, and at most one a
	// second after that.
	if n := kvGets(t, srv) - before; n > 3 {
		t.Fatalf("20 successful token requests read the KVStore %d times", n)
	}
	// A failure makes every request of the client check the shared
	// lockout.
	tokenRequest(t, srv, testClientID, "wrong", cc)
	before = kvGets(t, srv)
	for range 3 {
		tokenRequest(t, srv, testClientID, testClientSecret, cc)
	}
	if n := kvGets(t, srv) - before; n != 3 {
		t.Fatalf("after a failure, 3 requests read the KVStore %d times, want 3", n)
	}
}

func TestToken_LockoutAtOneProcessReachesTheOthersWithinASecond(t *testing.T) {
	shared, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(testRedirect)
	cfg.TokenStore = shared
	cfg.ClientThrottle = ThrottleConfig{Limit: 3, Delay: time.Millisecond}
	a, b := serveApp(t, cfg), serveApp(t, cfg)
	cc := url.Values{"grant_type": {"client_credentials"}}
	// b has seen the client succeed, and trusts that for a second.
	if resp, _ := tokenRequest(t, b, testClientID, testClientSecret, cc); resp.StatusCode != http.StatusOK {
		t.Fatalf("b: %d", resp.StatusCode)
	}
	for range 3 {
		tokenRequest(t, a, testClientID, "wrong", cc)
	}
	if resp, _ := tokenRequest(t, a, testClientID, testClientSecret, cc); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a, locked out: %d", resp.StatusCode)
	}
	time.Sleep(gateRecheck + 100*time.Millisecond)
	if resp, _ := tokenRequest(t, b, testClientID, testClientSecret, cc); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("b, a second after the lockout at a: %d", resp.StatusCode)
	}
}
