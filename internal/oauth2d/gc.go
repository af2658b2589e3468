package oauth2d

import (
	"runtime/debug"

	"github.com/oauth2d/oauth2/store"
)

// The garbage collector's pace in a server whose tokens live outside the
// process (docs/architecture.md, "Garbage collection").
//
// With SQLite, PostgreSQL, MySQL or Redis the server's live heap is one to
// three MiB, so the collector's smallest heap target, 4 MiB at the
// runtime's default GOGC=100, sets its pace: under load it collected about
// 70 times a second, each cycle a fixed cost (the goroutines' stacks, the
// allocation caches refilled after it) for a heap that barely changed.
// The smallest target grows with GOGC, so durableStoreGCPercent (16 MiB)
// collects a quarter as often, for about 12 MiB more memory. The memory
// store keeps every token on the heap, where GOGC=400 would multiply a
// large heap by five: it keeps the runtime's default.
const durableStoreGCPercent = 400

// defaultGCPercent is the Go runtime's GOGC when the variable is not set.
const defaultGCPercent = 100

// GCPercent returns the garbage collector's target percentage (GOGC) the
// oauth2d command runs the App with: the runtime's default, 100, when the
// App keeps its tokens in the memory store, durableStoreGCPercent for
// every other store.
func (a *App) GCPercent() int {
	if _, ok := a.rawStore.(*store.MemoryTokenStore); ok {
		return defaultGCPercent
	}
	return durableStoreGCPercent
}

// TuneGC sets the garbage collector's target percentage to
// app.GCPercent(), as the oauth2d command does once the App is made,
// unless lookupEnv finds GOGC set: an operator's GOGC is kept. A nil
// lookupEnv finds nothing. It returns the percentage set, and false when
// GOGC was set.
func TuneGC(app *App, lookupEnv func(string) (string, bool)) (int, bool) {
	if lookupEnv != nil {
		if _, set := lookupEnv("GOGC"); set {
			return 0, false
		}
	}
	p := app.GCPercent()
	debug.SetGCPercent(p)
	return p, true
}
