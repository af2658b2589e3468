package oauth2d

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2"
)

// rs256Config is oidcConfig on a settable clock with signing.alg alg and
// the client registered with id_token_signed_response_alg RS256.
func rs256Config(t *testing.T, alg string) (Config, func(time.Duration)) {
	cfg := oidcConfig()
	cfg.Signing.Alg = alg
	cfg.Clients[0].IDTokenSignedResponseAlg = "RS256"
	clk := startClock(t, &cfg)
	return cfg, clk.Advance
}

// rs256IDTokenKid signs alice in at srv with b and returns the kid of the
// client's ID token, which must be RS256 and verify with go-jose against
// the JWK Set srv publishes, as a relying party verifies it.
func rs256IDTokenKid(t *testing.T, srv *testServer, b *browser) string {
	t.Helper()
	raw := idTokenOf(t, srv, b.walk(oidcAuthorize("openid", "k", nil), testUsername, testPassword, "allow").query.Get("code"))
	resp, err := http.Get(srv.URL + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(readBody(t, resp)), &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("the ID token is not an RS256 JWS: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("the ID token's kid %q is not published once: %d keys", kid, len(keys))
	}
	if _, err := jws.Verify(keys[0]); err != nil {
		t.Fatalf("the ID token of kid %q does not verify with the published key: %v", kid, err)
	}
	return kid
}

// TestKeys_RotationRotatesTheRS256KeyForClientsWithTheSameDelay covers
// App.RotateKeys for a client that asks for RS256 ID tokens (OpenID
// Connect Core 1.0 10.1.1, 15.1): with signing.alg other than RS256 the
// RS256 key kept for such clients is rotated with the signing key — the
// new one published at once, signing their ID tokens from the activation,
// the old one signing until then and published until every token it
// signed has expired, then pruned. With signing.alg RS256 there is no
// such key and the rotation is the signing key's alone.
func TestKeys_RotationRotatesTheRS256KeyForClientsWithTheSameDelay(t *testing.T) {
	tests := []struct {
		alg            string
		wantForClients bool
	}{
		{"ES256", true},
		{"EdDSA", true},
		{"RS256", false},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			cfg, advance := rs256Config(t, tt.alg)
			srv := startApp(t, cfg)
			b := newBrowser(t, srv)
			old := rs256IDTokenKid(t, srv, b)
			r, err := srv.App.RotateKeys(t.Context(), 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			retire := retireAfter(cfg)
			if r.Algorithm != tt.alg || (r.ForClients != nil) != tt.wantForClients {
				t.Fatalf("rotation %+v, want %s and a rotation for clients: %v", r, tt.alg, tt.wantForClients)
			}
			rs := r // the rotation of the key that signs RS256 ID tokens
			if tt.wantForClients {
				rs = *r.ForClients
				if rs.Algorithm != "RS256" || rs.KeyID == "" || rs.KeyID == old || rs.KeyID == r.KeyID {
					t.Fatalf("rotation for clients %+v", rs)
				}
				if kids := keyIDs(srv.App.Keys().Keys()); len(kids) != 4 {
					t.Fatalf("key set %v right after the rotation, want both signing keys and both RS256 keys", kids)
				}
				var list bytes.Buffer
				printKeys(Env{Stdout: &list}, srv.App.Keys().Keys(), srv.App.now())
				for _, role := range []string{"\tcurrent\t", "\tscheduled\t", "\tRS256\tfor clients that ask for RS256\t", "\tRS256\tscheduled for clients that ask for RS256\t"} {
					if !strings.Contains(list.String(), role) {
						t.Fatalf("keys list lacks %q:\n%s", role, list.String())
					}
				}
			} else if kids := keyIDs(srv.App.Keys().Keys()); len(kids) != 2 {
				t.Fatalf("key set %v after an RS256 rotation, want the current and the new key only", kids)
			}
			if rs.Replaces != old || !rs.ActivatesAt.Equal(srv.App.now().Add(10*time.Minute)) ||
				!rs.ReplacedUntil.Equal(rs.ActivatesAt.Add(retire)) {
				t.Fatalf("rotation of the RS256 ID token key %+v, replacing %s", rs, old)
			}

			steps := []struct {
				advance   time.Duration
				wantKid   string
				published []string
				absent    []string
			}{
				{0, old, []string{old, rs.KeyID}, nil},
				{10*time.Minute - time.Second, old, []string{old, rs.KeyID}, nil},
				{time.Second, rs.KeyID, []string{old, rs.KeyID}, nil},
				{retire - time.Second, rs.KeyID, []string{old, rs.KeyID}, nil},
				{time.Second, rs.KeyID, []string{rs.KeyID}, []string{old}},
			}
			for i, s := range steps {
				advance(s.advance)
				if kid := rs256IDTokenKid(t, srv, b); kid != s.wantKid {
					t.Fatalf("step %d: RS256 ID token of %s, want %s", i, kid, s.wantKid)
				}
				kids := publishedKids(t, srv)
				for _, k := range s.published {
					if !slices.Contains(kids, k) {
						t.Fatalf("step %d: JWK Set %v lacks %s", i, kids, k)
					}
				}
				for _, k := range s.absent {
					if slices.Contains(kids, k) {
						t.Fatalf("step %d: JWK Set %v still has %s", i, kids, k)
					}
				}
			}
			// The next rotation prunes the old key from the store.
			r2, err := srv.App.RotateKeys(t.Context(), DefaultRotationDelay)
			if err != nil {
				t.Fatal(err)
			}
			if kids := keyIDs(srv.App.Keys().Keys()); slices.Contains(kids, old) {
				t.Fatalf("key set %v after a second rotation still holds %s", kids, old)
			}
			if tt.wantForClients && (r2.ForClients == nil || r2.ForClients.Replaces != rs.KeyID) {
				t.Fatalf("second rotation %+v, want it to replace %s", r2.ForClients, rs.KeyID)
			}
		})
	}
}

// TestKeys_RS256KeyForClientsRotatedAtOneProcessSignsAtAnotherAfterTheDelay
// runs two Apps on one SQLite file, as two processes: the RS256 key for
// clients rotated at one is published by the other within its reload
// interval and signs the RS256 ID tokens there from the activation on.
func TestKeys_RS256KeyForClientsRotatedAtOneProcessSignsAtAnotherAfterTheDelay(t *testing.T) {
	cfg, advance := rs256Config(t, "ES256")
	cfg.TokenStore = nil
	cfg.Store = "sqlite:" + filepath.Join(t.TempDir(), "oauth2d.db")
	cfg.KeyReloadInterval = 10 * time.Millisecond
	a, b := startApp(t, cfg), startApp(t, cfg)
	ba, bb := newBrowser(t, a), newBrowser(t, b)
	old := rs256IDTokenKid(t, bb.srv, bb)
	if kid := rs256IDTokenKid(t, a, ba); kid != old {
		t.Fatalf("the two processes sign RS256 ID tokens with %s and %s", kid, old)
	}
	r, err := a.App.RotateKeys(t.Context(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.ForClients == nil || r.ForClients.Replaces != old {
		t.Fatalf("rotation %+v, want the RS256 key %s replaced", r.ForClients, old)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(publishedKids(t, b), r.ForClients.KeyID) {
		if time.Now().After(deadline) {
			t.Fatal("the other process never published the new RS256 key")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if kid := rs256IDTokenKid(t, b, bb); kid != old {
		t.Fatalf("the other process signs RS256 ID tokens with %s before the delay", kid)
	}
	advance(10 * time.Minute)
	if ka, kb := rs256IDTokenKid(t, a, ba), rs256IDTokenKid(t, b, bb); ka != r.ForClients.KeyID || kb != r.ForClients.KeyID {
		t.Fatalf("after the delay the processes sign RS256 ID tokens with %s and %s, want %s", ka, kb, r.ForClients.KeyID)
	}
}

// TestKeys_KeySetStoredBeforeSecondaryKeysLoadsAsBefore stores the key set
// an earlier version wrote (the RS256 key for clients with neither time
// nor the Secondary mark): a start loads it without rewriting it and signs
// RS256 ID tokens with that key, and a rotation replaces it.
func TestKeys_KeySetStoredBeforeSecondaryKeysLoadsAsBefore(t *testing.T) {
	cfg, advance := rs256Config(t, "ES256")
	first, err := newAppOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys := first.Keys().Keys()
	var old string
	for i := range keys {
		if keys[i].Secondary {
			keys[i].Secondary, old = false, keys[i].KeyID
		}
	}
	if old == "" {
		t.Fatalf("no RS256 key for clients in %v", keyIDs(keys))
	}
	if err := first.keyStore.write(t.Context(), keys); err != nil {
		t.Fatal(err)
	}
	first.Close()
	kv := cfg.TokenStore.(oauth2.KVStore)
	stored := raw(t, kv, keySetName)
	plain, _, err := first.keyStore.ring.Open(keySetName, stored)
	if err != nil || bytes.Contains(plain, []byte(`"sec"`)) {
		t.Fatalf("the stored set is not of the earlier form (%v)", err)
	}

	srv := startApp(t, cfg)
	if after := raw(t, kv, keySetName); !bytes.Equal(after, stored) {
		t.Fatal("a start rewrote a key set of the earlier form")
	}
	if got := keyIDs(srv.App.Keys().Keys()); !slices.Equal(got, keyIDs(keys)) {
		t.Fatalf("loaded keys %v, want %v", got, keyIDs(keys))
	}
	b := newBrowser(t, srv)
	if kid := rs256IDTokenKid(t, srv, b); kid != old {
		t.Fatalf("RS256 ID token of %s, want the stored RS256 key %s", kid, old)
	}
	r, err := srv.App.RotateKeys(t.Context(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.ForClients == nil || r.ForClients.Replaces != old {
		t.Fatalf("rotation %+v, want the stored RS256 key %s replaced", r.ForClients, old)
	}
	if kid := rs256IDTokenKid(t, srv, b); kid != old {
		t.Fatalf("RS256 ID token of %s before the activation, want %s", kid, old)
	}
	advance(10 * time.Minute)
	if kid := rs256IDTokenKid(t, srv, b); kid != r.ForClients.KeyID {
		t.Fatalf("RS256 ID token of %s after the activation, want %s", kid, r.ForClients.KeyID)
	}
	for _, k := range srv.App.Keys().Keys() {
		if k.KeyID == old && (!k.Secondary || !k.NotAfter.Equal(r.ForClients.ReplacedUntil)) {
			t.Fatalf("the replaced stored key %+v", k)
		}
	}
}
