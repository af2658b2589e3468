package oauth2d

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/store"
)

// signingKid returns the kid of the key that signs srv's JWT access
// tokens now.
func signingKid(t *testing.T, srv *testServer) string {
	t.Helper()
	resp, body := tokenRequest(t, srv, testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	raw, _ := body["access_token"].(string)
	if resp.StatusCode != http.StatusOK || raw == "" {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, body["error"])
	}
	kid, _ := jwtHeader(t, raw)["kid"].(string)
	return kid
}

// publishedKids returns the kids of srv's JWK Set.
func publishedKids(t *testing.T, srv *testServer) []string {
	t.Helper()
	resp, err := http.Get(srv.URL + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(readBody(t, resp)), &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// jwtConfig is testConfig with JWT access tokens, whose kid shows which
// key signs, on a settable clock.
func jwtConfig(t *testing.T) (Config, func(time.Duration)) {
	cfg := testConfig(testRedirect)
	cfg.AccessToken.Format = FormatJWT
	clk := startClock(t, &cfg)
	return cfg, clk.Advance
}

// TestKeys_RotationPublishesAtOnceAndSignsAfterTheDelay covers App.RotateKeys:
// the new key is in the JWK Set at once and signs from the delay on; the
// replaced key signs until then and stays published until every token it
// signed has expired (the access token lifetime here, 2h, and a margin).
func TestKeys_RotationPublishesAtOnceAndSignsAfterTheDelay(t *testing.T) {
	cfg, advance := jwtConfig(t)
	srv := startApp(t, cfg)
	old := signingKid(t, srv)
	r, err := srv.App.RotateKeys(t.Context(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyID == "" || r.KeyID == old || r.Replaces != old || r.Algorithm != "RS256" ||
		!r.ActivatesAt.Equal(srv.App.now().Add(10*time.Minute)) || !r.ReplacedUntil.Equal(r.ActivatesAt.Add(2*time.Hour+retireMargin)) {
		t.Fatalf("rotation %+v, replacing %s", r, old)
	}
	if kids := publishedKids(t, srv); !slices.Equal(kids, []string{old, r.KeyID}) {
		t.Fatalf("JWK Set %v right after the rotation, want both keys", kids)
	}
	if kid := signingKid(t, srv); kid != old {
		t.Fatalf("%s signs before the delay has passed", kid)
	}
	advance(10 * time.Minute)
	if kid := signingKid(t, srv); kid != r.KeyID {
		t.Fatalf("%s signs after the delay, want the new key %s", kid, r.KeyID)
	}
	advance(2*time.Hour + retireMargin - time.Second)
	if kids := publishedKids(t, srv); !slices.Equal(kids, []string{old, r.KeyID}) {
		t.Fatalf("JWK Set %v while tokens of the old key are live, want both keys", kids)
	}
	advance(time.Second)
	if kids := publishedKids(t, srv); !slices.Equal(kids, []string{r.KeyID}) {
		t.Fatalf("JWK Set %v once every token of the old key expired, want the new key only", kids)
	}
	// A rotation prunes the key from the store too.
	r2, err := srv.App.RotateKeys(t.Context(), DefaultRotationDelay)
	if err != nil {
		t.Fatal(err)
	}
	if kids := keyIDs(srv.App.Keys().Keys()); !slices.Equal(kids, []string{r.KeyID, r2.KeyID}) {
		t.Fatalf("key set %v after a second rotation, want the current and the new key", kids)
	}
	if _, err := srv.App.RotateKeys(t.Context(), -time.Second); err == nil {
		t.Fatal("a negative delay was accepted")
	}
	if _, err := srv.App.RotateKeys(t.Context(), time.Minute); err == nil || !strings.Contains(err.Error(), "scheduled") {
		t.Fatalf("a rotation that would activate before the key already scheduled: %v", err)
	}
}

// TestKeys_RotatedAtOneProcessSignsAtAnotherAfterTheDelay runs two Apps on
// one store, as two processes: a key rotated at one is published by the
// other within its reload interval and signs there from the delay on.
func TestKeys_RotatedAtOneProcessSignsAtAnotherAfterTheDelay(t *testing.T) {
	cfg, advance := jwtConfig(t)
	cfg.KeyReloadInterval = 10 * time.Millisecond
	a, b := startApp(t, cfg), startApp(t, cfg)
	old := signingKid(t, b)
	if kid := signingKid(t, a); kid != old {
		t.Fatalf("the two processes sign with %s and %s", kid, old)
	}
	r, err := a.App.RotateKeys(t.Context(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(publishedKids(t, b), r.KeyID) {
		if time.Now().After(deadline) {
			t.Fatal("the other process never published the rotated key")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if kid := signingKid(t, b); kid != old {
		t.Fatalf("the other process signs with %s before the delay", kid)
	}
	advance(10 * time.Minute)
	if ka, kb := signingKid(t, a), signingKid(t, b); ka != r.KeyID || kb != r.KeyID {
		t.Fatalf("after the delay the processes sign with %s and %s, want %s", ka, kb, r.KeyID)
	}
}

// TestKeys_ConcurrentFirstStartsAgreeOnOneKeySet starts four Apps at once
// on an empty store: one key set is made and every App signs with it.
func TestKeys_ConcurrentFirstStartsAgreeOnOneKeySet(t *testing.T) {
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(testRedirect)
	cfg.TokenStore, cfg.Secret = ts, testAtRestSecret
	cfg.Signing.Alg = "ES256"
	apps := make([]*App, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range apps {
		wg.Go(func() { apps[i], errs[i] = newAppOf(cfg) })
	}
	wg.Wait()
	var kids []string
	for i, app := range apps {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer app.Close()
		k := keyIDs(app.Keys().Keys())
		if kids == nil {
			kids = k
		} else if !slices.Equal(k, kids) {
			t.Fatalf("App %d holds keys %v, another %v", i, k, kids)
		}
	}
	if len(kids) != 2 {
		t.Fatalf("keys %v, want the ES256 key and the RS256 key kept beside it", kids)
	}
}

// newAppOf is New with a discarded log.
func newAppOf(cfg Config) (*App, error) {
	cfg.Logger = slog.New(slog.DiscardHandler)
	return New(cfg)
}

// TestKeys_ChangingSigningAlgSchedulesAKeyOfTheNewAlgorithm restarts an
// RS256 server with signing.alg ES256: the RS256 key keeps signing while
// an ES256 key, published at once, waits DefaultRotationDelay; then ES256
// signs, and the RS256 key stays for the clients that ask for RS256 ID
// tokens (OpenID Connect Core 1.0 15.1).
func TestKeys_ChangingSigningAlgSchedulesAKeyOfTheNewAlgorithm(t *testing.T) {
	cfg, advance := jwtConfig(t)
	first := startApp(t, cfg)
	rs := signingKid(t, first)
	first.Close()
	first.App.Close()
	cfg.Signing.Alg = "ES256"
	srv := startApp(t, cfg)
	if kid := signingKid(t, srv); kid != rs {
		t.Fatalf("%s signs right after the change, want the RS256 key until the ES256 one activates", kid)
	}
	kids := publishedKids(t, srv)
	if len(kids) != 3 || kids[0] != rs {
		t.Fatalf("JWK Set %v, want the RS256 key, the scheduled ES256 key and an RS256 key for clients", kids)
	}
	advance(DefaultRotationDelay)
	es := signingKid(t, srv)
	if es == rs || !slices.Contains(kids, es) {
		t.Fatalf("%s signs after the delay, want the scheduled ES256 key", es)
	}
	if algs := srv.App.idTokens.Algorithms(); !slices.Equal(algs, []string{"ES256", "RS256"}) {
		t.Fatalf("ID token algorithms %v, want ES256 and RS256", algs)
	}
	// The next start finds everything in place and changes nothing.
	kv := cfg.TokenStore.(oauth2.KVStore)
	before := raw(t, kv, keySetName)
	again, err := newAppOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
	if after := raw(t, kv, keySetName); !bytes.Equal(before, after) {
		t.Fatal("a start with nothing to change rewrote the key set")
	}
}

// TestKeysCommand_RotatesTheKeysOfTheConfigurationsStore runs `oauth2d keys
// rotate` and `oauth2d keys list` on the SQLite store of a configuration
// file, as an operator does while the servers run.
func TestKeysCommand_RotatesTheKeysOfTheConfigurationsStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "oauth2d.db")
	conf := filepath.Join(dir, "oauth2d.yaml")
	yaml := "store: sqlite:" + db + "\nsecret_file: " + filepath.Join(dir, "secret") + "\naccess_token: {format: jwt}\n" +
		"clients:\n  - {id: " + testClientID + ", secret: " + testClientSecret + ", grant_types: [client_credentials], scopes: [read]}\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(testAtRestSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Main(Env{Args: args, Stdout: &out, Stderr: &errOut, LookupEnv: func(string) (string, bool) { return "", false }})
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("keys", "list", "-config", conf)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "RS256\tcurrent") {
		t.Fatalf("keys list on a new store: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run("keys", "rotate", "-config", conf, "-delay", "1m")
	if code != 0 || !strings.Contains(out, "published now, signs from") || !strings.Contains(errOut, "warning: a delay under") {
		t.Fatalf("keys rotate: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run("keys", "list", "-config", conf)
	if code != 0 || !strings.Contains(out, "\tcurrent\t") || !strings.Contains(out, "\tscheduled\t") {
		t.Fatalf("keys list after the rotation: exit %d\n%s", code, out)
	}
	// A server on the store publishes both keys.
	cfg, err := LoadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	if kids := publishedKids(t, startApp(t, cfg)); len(kids) != 2 {
		t.Fatalf("JWK Set %v, want the current and the scheduled key", kids)
	}
	for _, bad := range [][]string{{"keys"}, {"keys", "drop"}, {"keys", "rotate", "-delay", "soon"}, {"keys", "rotate", "extra"}} {
		if code, _, _ := run(bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	if code, _, errOut := run("keys", "rotate", "-config", conf, "-delay", "-1m"); code != 1 || !strings.Contains(errOut, "negative") {
		t.Errorf("a negative delay: exit %d %s", code, errOut)
	}
}
