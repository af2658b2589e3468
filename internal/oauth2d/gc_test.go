package oauth2d

import (
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestTuneGC_PacesTheCollectorByWhereTheTokensLive checks the collector's
// target the oauth2d command sets: the runtime's default for the memory
// store, whose heap holds every token, durableStoreGCPercent for a store
// outside the process, and nothing at all when the operator set GOGC.
func TestTuneGC_PacesTheCollectorByWhereTheTokensLive(t *testing.T) {
	prev := debug.SetGCPercent(defaultGCPercent)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	unset := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		name      string
		store     string
		lookupEnv func(string) (string, bool)
		want      int // the GOGC in force after TuneGC
		wantSet   bool
	}{
		{"memory store", "memory:", unset, defaultGCPercent, true},
		{"SQLite store", "sqlite:" + filepath.Join(t.TempDir(), "oauth2d.db"), unset, durableStoreGCPercent, true},
		{"no environment to look in", "sqlite:" + filepath.Join(t.TempDir(), "oauth2d.db"), nil, durableStoreGCPercent, true},
		{"GOGC set by the operator", "sqlite:" + filepath.Join(t.TempDir(), "oauth2d.db"),
			func(k string) (string, bool) { return "50", k == "GOGC" }, 123, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Store = tc.store
			cfg.Secret = testAtRestSecret
			cfg.Logger = slog.New(slog.DiscardHandler)
			app, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			debug.SetGCPercent(123) // a value TuneGC never sets
			got, set := TuneGC(app, tc.lookupEnv)
			inForce := debug.SetGCPercent(123)
			if set != tc.wantSet || inForce != tc.want || (set && got != tc.want) {
				t.Fatalf("TuneGC = %d, %v; GOGC in force %d; want %d in force, set %v", got, set, inForce, tc.want, tc.wantSet)
			}
		})
	}
}
