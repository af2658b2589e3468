package oauth2d

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkApp_ClientCredentials measures a client_credentials token
// request through the whole handler (log line, metrics, throttle check,
// server, memory store), without the network.
func BenchmarkApp_ClientCredentials(b *testing.B) {
	for _, mode := range []string{"discard-log", "buffered-text-log"} {
		b.Run(mode, func(b *testing.B) {
			cfg := Default()
			cfg.Store = "memory"
			cfg.Logger = slog.New(slog.DiscardHandler)
			if mode == "buffered-text-log" {
				w := newFlushWriter(io.Discard, 100*time.Millisecond)
				defer w.Close()
				cfg.Logger = slog.New(slog.NewTextHandler(w, nil))
			}
			app, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer app.Close()
			h := app.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=client_credentials&scope=read"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(DemoClientID, DemoClientSecret)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		})
	}
}
