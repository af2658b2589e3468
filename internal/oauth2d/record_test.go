package oauth2d

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestRecord_ReachesTheServerHooksOnEveryWayOfServing checks that the
// server's hooks find the request's record however the App is served:
// through the connections' record slots (HTTP/1 with ConnContext, as the
// oauth2d command serves it), through the request's own context (a server
// without ConnContext, and HTTP/2, whose streams share a connection), one
// request after another on one kept-alive connection. The record is what
// names the client in the access log line (clientAuthHook) and carries the
// throttle's admission to clientAuthDone: a hook that missed it would log
// the line without client_id, and a record left in a slot would name the
// previous request's client.
func TestRecord_ReachesTheServerHooksOnEveryWayOfServing(t *testing.T) {
	for _, tc := range []struct {
		name        string
		connContext bool
		proto       int // HTTP/1 or HTTP/2
	}{
		{name: "HTTP/1 with record slots", connContext: true, proto: 1},
		{name: "HTTP/1 without record slots", proto: 1},
		{name: "HTTP/2 with record slots", connContext: true, proto: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, logs := newLoggedApp(t, nil)
			srv := httptest.NewUnstartedServer(app.Handler())
			if tc.connContext {
				srv.Config.ConnContext = app.ConnContext
			}
			if tc.proto == 2 {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()

			steps := []struct {
				id, secret string
				status     int
			}{
				{testClientID, "wrong-secret", http.StatusUnauthorized},
				{"no-such-client", "x", http.StatusUnauthorized},
				{testClientID, testClientSecret, http.StatusOK},
				{testClientID, testClientSecret, http.StatusOK},
			}
			for i, s := range steps {
				resp, _ := postEndpoint(t, &testServer{Server: srv, App: app, Logs: logs}, "/token", s.id, s.secret, clientCredentials)
				if resp.StatusCode != s.status || resp.ProtoMajor != tc.proto {
					t.Fatalf("request %d: HTTP/%d status %d, want HTTP/%d status %d", i, resp.ProtoMajor, resp.StatusCode, tc.proto, s.status)
				}
			}
			lines := tokenLogLines(logs)
			if len(lines) != len(steps) {
				t.Fatalf("%d access log lines of /token, want %d:\n%s", len(lines), len(steps), logs)
			}
			for i, s := range steps {
				if !strings.HasSuffix(lines[i], " client_id="+s.id) {
					t.Errorf("log line %d does not end with client_id=%s: %s", i, s.id, lines[i])
				}
			}
		})
	}
}

// TestConnSlot_HoldsARecordOnlyWhileItsRequestIsServed checks that the
// middleware empties a connection's record slot once its request is
// served, so that nothing a later request on the connection does finds the
// record of an earlier one, and that recordOf finds nothing in a
// connection's context between requests.
func TestConnSlot_HoldsARecordOnlyWhileItsRequestIsServed(t *testing.T) {
	app, _ := newLoggedApp(t, nil)
	ctx := app.ConnContext(context.Background(), nil)
	slot, ok := ctx.Value(connSlotKey{}).(*connSlot)
	if !ok {
		t.Fatal("ConnContext gave the connection no record slot")
	}
	for _, path := range []string{"/token", "/revoke", "/.well-known/openid-configuration", "/token"} {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, path,
			strings.NewReader("grant_type=client_credentials&token=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testClientID, testClientSecret)
		rec := httptest.NewRecorder()
		app.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body)
		}
		if slot.rw != nil {
			t.Fatalf("after %s the connection's slot still holds a record", path)
		}
		if rw := recordOf(ctx); rw != nil {
			t.Fatalf("after %s recordOf finds a record in the connection's context", path)
		}
	}
}

// TestRecord_HTTP2StreamsAtOnceKeepTheirOwnRecords checks that HTTP/2
// streams served at once on one connection, which shares one context and
// one record slot, each keep their own record: every access log line names
// the client of its own request.
func TestRecord_HTTP2StreamsAtOnceKeepTheirOwnRecords(t *testing.T) {
	app, logs := newLoggedApp(t, nil)
	srv := httptest.NewUnstartedServer(app.Handler())
	srv.Config.ConnContext = app.ConnContext
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()

	const streams = 64
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader("grant_type=client_credentials"))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(fmt.Sprintf("stream-client-%d", i), "x")
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusUnauthorized {
				errs <- fmt.Errorf("stream %d: HTTP/%d status %d, want HTTP/2 status 401", i, resp.ProtoMajor, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range tokenLogLines(logs) {
		_, id, ok := strings.Cut(l, " client_id=")
		if !ok {
			t.Errorf("access log line without client_id: %s", l)
			continue
		}
		seen[id]++
	}
	for i := range streams {
		if id := fmt.Sprintf("stream-client-%d", i); seen[id] != 1 {
			t.Errorf("client %s named by %d access log lines, want 1", id, seen[id])
		}
	}
}

// newLoggedApp returns an App of testConfig, changed by edit when it is
// not nil, closed when the test ends, and the sink of its text log.
func newLoggedApp(t *testing.T, edit func(*Config)) (*App, *syncBuffer) {
	t.Helper()
	cfg := testConfig("http://localhost/cb")
	cfg.Issuer = "http://localhost"
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	if edit != nil {
		edit(&cfg)
	}
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app, logs
}

// tokenLogLines returns the access log lines of /token in logs, in order.
func tokenLogLines(logs *syncBuffer) []string {
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "msg=request") && strings.Contains(l, "path=/token") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestConnSlot_ARemoteAddrRewrittenInFrontOfTheAppIsResolvedAsItComes
// checks that the connection's cached TCP peer is used only for a request
// whose RemoteAddr is the connection's: a handler in front of the App that
// rewrites RemoteAddr (a PROXY protocol reader, say) is believed, and a
// trusted proxy's X-Forwarded-For is then resolved from the rewritten
// address.
func TestConnSlot_ARemoteAddrRewrittenInFrontOfTheAppIsResolvedAsItComes(t *testing.T) {
	app, logs := newLoggedApp(t, func(cfg *Config) { cfg.TrustedProxies = []string{"203.0.113.0/24"} })
	rewrite := false
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rewrite {
			r.RemoteAddr = "203.0.113.7:4444"
		}
		app.Handler().ServeHTTP(w, r)
	}))
	srv.Config.ConnContext = app.ConnContext
	srv.Start()
	defer srv.Close()
	client := srv.Client()
	for _, tc := range []struct {
		rewrite    bool
		clientAddr string
	}{
		{false, ""},                         // 127.0.0.1 is no trusted proxy
		{true, " client_addr=198.51.100.9"}, // 203.0.113.7 is
		{false, ""},                         // and the same connection's next request is from 127.0.0.1 again
	} {
		rewrite = tc.rewrite
		before := len(logs.String())
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/.well-known/openid-configuration", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", "198.51.100.9")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		line := logs.String()[before:]
		if got := strings.Contains(line, " client_addr="); got != (tc.clientAddr != "") || !strings.Contains(line, tc.clientAddr) {
			t.Errorf("RemoteAddr rewritten %v: log line %q, want client_addr %q", tc.rewrite, line, tc.clientAddr)
		}
	}
}
