package multiprocess

import (
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store/sqlite"
)

// crashTokens is how many tokens are issued before the kill.
const crashTokens = 20

// TestSQLite_TokenAnsweredBeforeKill9SurvivesRestart issues tokens from an
// oauth2d process on a SQLite file, kills it with SIGKILL right after the
// last 200, and restarts it on the same file: every token that was
// answered with 200 is still there, because a 200 is only written once the
// token is committed.
func TestSQLite_TokenAnsweredBeforeKill9SurvivesRestart(t *testing.T) {
	t.Parallel()
	bin := oauth2dBinary(t)
	fx := newFixture()
	db := filepath.Join(t.TempDir(), "x.db")
	config := writeConfig(t, fx, "sqlite:"+db)
	a := newAgent(t, fx)

	first := start(t, bin, config, "sqlite-1")[0]
	issued := make([]string, crashTokens)
	for i := range issued {
		issued[i] = a.clientCredentials(t, first)
	}
	first.kill()

	second := start(t, bin, config, "sqlite-2")[0]
	a.requireRoute(t, second, "/introspect")
	for i, tok := range issued {
		status, body := a.call(t, second, "/introspect", url.Values{"token": {tok}, "token_type_hint": {"access_token"}})
		if status != http.StatusOK || !activeJSON(body) {
			t.Errorf("token %d of %d, answered 200 before SIGKILL: not active on the restarted process (status %d)", i+1, crashTokens, status)
		}
	}
	// The restarted process serves from the file it recovered.
	a.clientCredentials(t, second)
	second.stop()

	store, err := sqlite.Open(withTimeout(t, 15*time.Second), db, sqlite.WithSweepInterval(0))
	if err != nil {
		t.Fatalf("open the SQLite file after the restart: %v", err)
	}
	defer store.Close()
	for i, tok := range issued {
		ti, err := store.GetByAccess(withTimeout(t, 10*time.Second), tok)
		switch {
		case errors.Is(err, oauth2.ErrNotFound):
			t.Errorf("token %d of %d, answered 200 before SIGKILL, is not in the file", i+1, crashTokens)
		case err != nil:
			t.Errorf("look up token %d: %v", i+1, err)
		case ti.GetClientID() != fx.clientID:
			t.Errorf("token %d: client %q, want %q", i+1, ti.GetClientID(), fx.clientID)
		}
	}
}
