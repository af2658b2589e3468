package oauth2d

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

const benchBody = "grant_type=client_credentials&scope=read"

// resettableBody is a request body that can be read again.
type resettableBody struct{ strings.Reader }

func (*resettableBody) Close() error { return nil }

// libraryHandler is the library as its users set it up (what load.sh's
// "library" mode serves): the default manager and server over the memory
// store, the demo client registered for client_secret_basic.
func libraryHandler(b testing.TB) http.Handler {
	b.Helper()
	m := manage.NewDefaultManager()
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		b.Fatal(err)
	}
	m.MapTokenStorage(ts)
	clients := store.NewClientStore()
	if err := clients.Set(DemoClientID, &models.Client{
		ID: DemoClientID, Secret: DemoClientSecret, TokenEndpointAuthMethod: "client_secret_basic",
		GrantTypes: []oauth2.GrantType{oauth2.ClientCredentials}, Scopes: []string{"read", "write"},
	}); err != nil {
		b.Fatal(err)
	}
	m.MapClientStorage(clients)
	s := server.NewDefaultServer(m)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = s.HandleTokenRequest(w, r) })
}

// BenchmarkApp_ClientCredentials measures a client_credentials token
// request through the whole handler of the App (log line, metrics,
// throttle check, server, memory store), without the network, next to the
// library's own handler for the same request. Requests are copied from a
// template, so that their construction is not measured.
func BenchmarkApp_ClientCredentials(b *testing.B) {
	for _, mode := range []string{"library", "discard-log", "buffered-text-log"} {
		b.Run(mode, func(b *testing.B) {
			var h http.Handler
			// Each goroutine of the benchmark is a connection: the
			// App's are served as the oauth2d command serves them, with
			// a record slot each (ConnContext).
			connContext := func() context.Context { return context.Background() }
			if mode == "library" {
				h = libraryHandler(b)
			} else {
				cfg := Default()
				cfg.Store = "memory"
				cfg.Logger = slog.New(slog.DiscardHandler)
				if mode == "buffered-text-log" {
					w := newFlushWriter(io.Discard, 100*time.Millisecond)
					defer w.Close()
					// As the oauth2d command makes it (run.go).
					cfg.Logger = slog.New(newLogHandler(w, false))
				}
				app, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer app.Close()
				h = app.Handler()
				connContext = func() context.Context { return app.ConnContext(context.Background(), nil) }
			}
			tmpl := benchRequest(DemoClientID, DemoClientSecret)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				body := &resettableBody{}
				conn := tmpl.WithContext(connContext())
				for pb.Next() {
					req := *conn
					body.Reset(benchBody)
					req.Body = body
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, &req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		})
	}
}

// benchRequest is the template of the benchmark's token request.
func benchRequest(id, secret string) *http.Request {
	tmpl := httptest.NewRequest(http.MethodPost, "/token", nil)
	tmpl.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tmpl.SetBasicAuth(id, secret)
	tmpl.ContentLength = int64(len(benchBody))
	return tmpl
}

// allocsPerTokenRequest counts the allocations of one client_credentials
// request through h, on a connection whose context is ctx.
func allocsPerTokenRequest(t *testing.T, ctx context.Context, h http.Handler, id, secret string) float64 {
	t.Helper()
	tmpl := benchRequest(id, secret).WithContext(ctx)
	body := &resettableBody{}
	serve := func() {
		req := *tmpl
		body.Reset(benchBody)
		req.Body = body
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, &req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	}
	serve()
	return testing.AllocsPerRun(200, serve)
}

func TestToken_AllocatesLittleMoreThanTheLibrary(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful with the race detector, which drops pooled objects")
	}
	cfg := Default()
	cfg.Store = "memory:"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx := context.Background()
	lib := allocsPerTokenRequest(t, ctx, libraryHandler(t), DemoClientID, DemoClientSecret)
	got := allocsPerTokenRequest(t, ctx, app.Handler(), DemoClientID, DemoClientSecret)
	slotted := allocsPerTokenRequest(t, app.ConnContext(ctx, nil), app.Handler(), DemoClientID, DemoClientSecret)
	t.Logf("library %.0f, app %.0f (%.0f with a connection's record slot) allocations per token request", lib, got, slotted)
	// Served with a record slot, as the oauth2d command serves it: a
	// generated request ID (its string and header value share one
	// allocation); the routing, record, log line, metrics and throttle
	// allocate nothing (one more allowed for a pooled object lost to a
	// GC).
	if slotted > lib+2 {
		t.Fatalf("%.0f allocations per token request with a record slot; the library's handler makes %.0f", slotted, lib)
	}
	// Without one, the request's record takes a copy of the request and a
	// context value.
	if got > lib+5 {
		t.Fatalf("%.0f allocations per token request; the library's handler makes %.0f", got, lib)
	}
}
