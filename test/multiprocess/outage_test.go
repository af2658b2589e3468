package multiprocess

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/internal/oauth2d"
)

// Bounds of the outage test.
const (
	// outageAnswer is how long a request may take while the store is away:
	// the server must answer, not hang.
	outageAnswer = 5 * time.Second
	// recoveryWithin is how long the server may take to serve again once
	// the store is back.
	recoveryWithin = 15 * time.Second
)

// outage is a way for the store to go away and come back.
type outage struct {
	name          string
	begin, finish func(*proxy)
	// requests is how many token requests are made during the outage;
	// each waits for the store's timeout when the store is stalled.
	requests int
	// inFlight: a write of a refused request may still be in the network
	// when the outage ends (a stall), so it can land afterwards.
	inFlight bool
}

// abandoned is how many records refused requests may leave behind: none
// when the store refused connections, one per request after a stall.
func (o outage) abandoned() int {
	if o.inFlight {
		return o.requests
	}
	return 0
}

var outages = []outage{
	{"Refused", (*proxy).Down, (*proxy).Up, 3, false},
	{"Stalled", (*proxy).Stall, (*proxy).Resume, 1, true},
}

// TestOutage_TokenEndpointFailsFastAndRecoversByItself runs oauth2d in the
// test process on a store reached through a proxy, takes the store away
// and brings it back: while it is away the token endpoint answers 503
// temporarily_unavailable (RFC 6749 5.2) or 500 server_error in bounded
// time and issues nothing, and /healthz answers 503; once it is back, the
// same App serves tokens and /healthz answers 200, without a restart.
func TestOutage_TokenEndpointFailsFastAndRecoversByItself(t *testing.T) {
	t.Parallel()
	for _, bf := range durableBackends {
		t.Run(bf.name, func(t *testing.T) {
			t.Parallel()
			be := bf.make(t)
			px := newProxy(t, be.engine)
			fx := newFixture()
			srv := startInProcess(t, fx, be.via(px.Addr()))
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
			t.Cleanup(client.CloseIdleConnections)

			for _, o := range outages {
				t.Run(o.name, func(t *testing.T) {
					if st := health(t, client, srv.URL); st != http.StatusOK {
						t.Fatalf("/healthz before the outage: %d, want 200", st)
					}
					if ans := clientCredentials(t, client, srv.URL, fx); ans.status != http.StatusOK || ans.AccessToken == "" {
						t.Fatalf("token before the outage: status %d error %q, want 200 with a token", ans.status, ans.Error)
					}
					before := be.accessTokens(t)

					o.begin(px)
					for i := range o.requests {
						begun := time.Now()
						ans := clientCredentials(t, client, srv.URL, fx)
						took := time.Since(begun)
						t.Logf("token request %d during the outage: status %d error %q in %v", i, ans.status, ans.Error, took.Round(time.Millisecond))
						if took >= outageAnswer {
							t.Errorf("token request %d during the outage took %v, want < %v", i, took.Round(time.Millisecond), outageAnswer)
						}
						switch {
						case ans.AccessToken != "":
							t.Errorf("token request %d during the outage: status %d with an access token", i, ans.status)
						case ans.status == http.StatusServiceUnavailable && ans.Error == "temporarily_unavailable",
							ans.status == http.StatusInternalServerError && ans.Error == "server_error":
						default:
							t.Errorf("token request %d during the outage: status %d error %q, want 503 temporarily_unavailable or 500 server_error",
								i, ans.status, ans.Error)
						}
					}
					begun := time.Now()
					st := health(t, client, srv.URL)
					took := time.Since(begun)
					t.Logf("/healthz during the outage: %d in %v", st, took.Round(time.Millisecond))
					if st != http.StatusServiceUnavailable {
						t.Errorf("/healthz during the outage: %d, want 503", st)
					}
					if took >= outageAnswer {
						t.Errorf("/healthz during the outage took %v, want < %v", took.Round(time.Millisecond), outageAnswer)
					}
					o.finish(px)
					back := time.Now()

					// No response carried a token (checked above). A write
					// abandoned in a stalled connection may still reach the
					// engine as the network heals (see the count after
					// recovery below), but never more than one per request.
					if n := be.accessTokens(t); n < before || n > before+o.abandoned() {
						t.Errorf("the store holds %d access tokens after the outage, %d before, after %d refused requests", n, before, o.requests)
					}
					// The same App, without a restart: the store's pool
					// reconnects by itself.
					deadline := time.Now().Add(recoveryWithin)
					for health(t, client, srv.URL) != http.StatusOK {
						if time.Now().After(deadline) {
							t.Fatalf("/healthz not 200 within %v of the store's return", recoveryWithin)
						}
						time.Sleep(100 * time.Millisecond)
					}
					failed := 0
					for {
						ans := clientCredentials(t, client, srv.URL, fx)
						if ans.status == http.StatusOK && ans.AccessToken != "" {
							break
						}
						failed++
						if time.Now().After(deadline) {
							t.Fatalf("no token within %v of the store's return (last: status %d error %q)", recoveryWithin, ans.status, ans.Error)
						}
						time.Sleep(100 * time.Millisecond)
					}
					t.Logf("serving again %v after the store's return (%d token requests failed after /healthz was 200)",
						time.Since(back).Round(time.Millisecond), failed)
					// One record per 200, plus at most one per request that
					// was answered 503 while its write sat in a stalled
					// connection: TCP still delivers bytes written before the
					// server gave up, so the engine may run that write once
					// the network heals. Such a record is whole (never half
					// written) and its token was never sent to anyone, so it
					// is not issued; what must never happen is more records
					// than requests, or fewer than the 200s.
					if n := be.accessTokens(t); n < before+1 || n > before+1+o.abandoned() {
						t.Errorf("the store holds %d access tokens after recovery, want %d (one per 200) to %d (plus one per abandoned write)",
							n, before+1, before+1+o.abandoned())
					} else if n > before+1 {
						t.Logf("%d write(s) abandoned during the stall reached the store after it returned; their tokens were never sent", n-before-1)
					}
				})
			}
		})
	}
}

// startInProcess serves oauth2d.New of a configuration with the fixture's
// client on store, and closes it when the test ends.
func startInProcess(t *testing.T, fx fixture, store string) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2d.Default()
	cfg.Issuer = "http://" + ln.Addr().String()
	cfg.Store = store
	cfg.Secret = sharedSecret
	cfg.Clients = []oauth2d.ClientConfig{{
		ID:                      fx.clientID,
		Secret:                  fx.clientSecret,
		GrantTypes:              []string{"client_credentials"},
		Scopes:                  []string{"read"},
		TokenEndpointAuthMethod: "client_secret_basic",
	}}
	cfg.Users = []oauth2d.UserConfig{{Username: fx.username, Password: fx.password}}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := oauth2d.New(cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("oauth2d.New: %v", err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: app.Handler()}}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := app.Close(); err != nil {
			t.Errorf("App.Close: %v", err)
		}
	})
	return srv
}

// clientCredentials asks base for a token (RFC 6749 4.4).
func clientCredentials(t *testing.T, c *http.Client, base string, fx fixture) tokenAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ans, err := tokenRequest(ctx, c, base, fx, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	return ans
}

// health returns the status of /healthz, checking its body.
func health(t *testing.T, c *http.Client, base string) int {
	t.Helper()
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Errorf("/healthz answered %d without JSON", resp.StatusCode)
	}
	return resp.StatusCode
}
