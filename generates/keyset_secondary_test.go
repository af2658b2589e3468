package generates_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/oidc"
)

// jwksVerifiedKid verifies the compact JWS raw with go-jose against the
// JWK Set ks publishes, as a relying party does, and returns its kid.
func jwksVerifiedKid(t *testing.T, ks *generates.KeySet, raw string) string {
	t.Helper()
	data, err := ks.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA, jose.PS256})
	if err != nil {
		t.Fatalf("go-jose parse: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %q: %d keys of that kid in the JWK Set", kid, len(keys))
	}
	if _, err := jws.Verify(keys[0]); err != nil {
		t.Fatalf("go-jose: the JWS of kid %q does not verify with the published key: %v", kid, err)
	}
	return kid
}

// rs256IDTokenKid signs the ID token of a client registered with
// id_token_signed_response_alg RS256 and returns its verified kid.
func rs256IDTokenKid(t *testing.T, ks *generates.KeySet) string {
	t.Helper()
	client := newOIDCClient(idClientID)
	client.alg = "RS256"
	raw, err := newIDGen(t, ks).IDToken(context.Background(),
		&generates.IDTokenRequest{Client: client, TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})})
	if err != nil {
		t.Fatalf("RS256 ID token: %v", err)
	}
	return jwksVerifiedKid(t, ks, raw)
}

// The RS256 key kept beside an ES256 current key for the clients that ask
// for RS256 ID tokens is rotated as the current key is (OpenID Connect
// Core 1.0 10.1.1): the new key is published at once and signs from its
// activation, the old one signs until then and stays published for
// retireAfter more, then Prune removes it. Neither ever becomes the
// current key, and the old key may be one stored before Secondary
// existed (no times) or a Secondary key of an earlier rotation.
func TestKeySet_ScheduledSecondaryKeyIsPublishedAtOnceAndSignsFromItsActivation(t *testing.T) {
	tests := []struct {
		name string
		old  func(k testKey) generates.SigningKey
	}{
		{"kept key without times", func(k testKey) generates.SigningKey {
			return generates.SigningKey{KeyID: "rs-old", Method: k.method, Key: k.key}
		}},
		{"Secondary key", func(k testKey) generates.SigningKey {
			return generates.SigningKey{KeyID: "rs-old", Method: k.method, Key: k.key, Secondary: true}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clock := newTestClock(start)
			ks := generates.NewKeySet()
			ks.SetClock(clock.Now)
			addKey(t, ks, "ES256", "es", true)
			if err := ks.Add(tt.old(newTestKey(t, "RS256", 0)), false); err != nil {
				t.Fatal(err)
			}
			g := generates.NewJWTAccessGenerateFromKeySet(ks)
			if kid := rs256IDTokenKid(t, ks); kid != "rs-old" {
				t.Fatalf("RS256 ID token of %q before the rotation", kid)
			}

			activate := start.Add(10 * time.Minute)
			next := newTestKey(t, "RS256", 1)
			if err := ks.ScheduleSecondary(generates.SigningKey{KeyID: "rs-new", Method: next.method, Key: next.key}, activate, 2*time.Hour); err != nil {
				t.Fatal(err)
			}
			// The current key may be rotated at the same activation.
			es2 := newTestKey(t, "ES256", 0)
			if err := ks.Schedule(generates.SigningKey{KeyID: "es2", Method: es2.method, Key: es2.key}, activate, 2*time.Hour); err != nil {
				t.Fatalf("Schedule of the current key beside a scheduled Secondary key: %v", err)
			}
			if got := kidsOf(ks.Public()); !slices.Equal(got, []string{"es", "rs-old", "rs-new", "es2"}) {
				t.Fatalf("published %v right after the rotation, want every key", got)
			}
			keys := ks.Keys()
			if o, n := keys[1], keys[2]; !o.Secondary || !o.NotAfter.Equal(activate.Add(2*time.Hour)) ||
				!n.Secondary || !n.NotBefore.Equal(activate) || !n.NotAfter.IsZero() {
				t.Fatalf("old key %+v, new key %+v", o, n)
			}

			steps := []struct {
				advance        time.Duration
				wantCurrent    string
				wantRS256      string
				wantPublishRS  []string
				wantPruned     []string
				wantAlgorithms []string
			}{
				{0, "es", "rs-old", []string{"rs-old", "rs-new"}, nil, []string{"ES256", "RS256"}},
				{10*time.Minute - time.Nanosecond, "es", "rs-old", []string{"rs-old", "rs-new"}, nil, []string{"ES256", "RS256"}},
				{time.Nanosecond, "es2", "rs-new", []string{"rs-old", "rs-new"}, nil, []string{"ES256", "RS256"}},
				{2*time.Hour - time.Nanosecond, "es2", "rs-new", []string{"rs-old", "rs-new"}, nil, []string{"ES256", "RS256"}},
				{time.Nanosecond, "es2", "rs-new", []string{"rs-new"}, []string{"es", "rs-old"}, []string{"ES256", "RS256"}},
			}
			for i, s := range steps {
				clock.Advance(s.advance)
				if cur, _ := ks.Current(); cur.KeyID != s.wantCurrent {
					t.Fatalf("step %d: current %q, want %q", i, cur.KeyID, s.wantCurrent)
				}
				if kid := signedKid(t, g); kid != s.wantCurrent {
					t.Fatalf("step %d: access token signed by %q, want the current key %q", i, kid, s.wantCurrent)
				}
				if kid := rs256IDTokenKid(t, ks); kid != s.wantRS256 {
					t.Fatalf("step %d: RS256 ID token signed by %q, want %q", i, kid, s.wantRS256)
				}
				var rs []string
				for _, p := range ks.Public() {
					if p.Algorithm == "RS256" {
						rs = append(rs, p.KeyID)
					}
				}
				if !slices.Equal(rs, s.wantPublishRS) {
					t.Fatalf("step %d: RS256 keys published %v, want %v", i, rs, s.wantPublishRS)
				}
				if got := ks.Algorithms(); !slices.Equal(got, s.wantAlgorithms) {
					t.Fatalf("step %d: Algorithms %v", i, got)
				}
				if removed := ks.Prune(clock.Now()); !slices.Equal(removed, s.wantPruned) {
					t.Fatalf("step %d: pruned %v, want %v", i, removed, s.wantPruned)
				}
			}
			if got := keyIDsOf(ks.Keys()); !slices.Equal(got, []string{"rs-new", "es2"}) {
				t.Fatalf("keys after the prune %v", got)
			}

			// A second rotation replaces the key of the first.
			third := newTestKey(t, "RS256", 0)
			again := clock.Now().Add(time.Minute)
			if err := ks.ScheduleSecondary(generates.SigningKey{KeyID: "rs-third", Method: third.method, Key: third.key}, again, time.Hour); err != nil {
				t.Fatal(err)
			}
			if kid := rs256IDTokenKid(t, ks); kid != "rs-new" {
				t.Fatalf("RS256 ID token of %q before the second activation", kid)
			}
			clock.Advance(time.Minute)
			if kid := rs256IDTokenKid(t, ks); kid != "rs-third" {
				t.Fatalf("RS256 ID token of %q after the second activation", kid)
			}
			if k := ks.Keys()[0]; k.KeyID != "rs-new" || !k.NotAfter.Equal(again.Add(time.Hour)) {
				t.Fatalf("the key the second rotation replaced: %+v", k)
			}
		})
	}
}

func keyIDsOf(keys []generates.SigningKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.KeyID)
	}
	return out
}

// ScheduleSecondary and the other ways in refuse what would make a
// Secondary key current or two Secondary keys of one algorithm scheduled
// at once, and change nothing then.
func TestKeySet_ScheduleSecondaryRefuses(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rs := newTestKey(t, "RS256", 1)
	key := generates.SigningKey{KeyID: "rs-new", Method: rs.method, Key: rs.key}
	tests := []struct {
		name string
		do   func(ks *generates.KeySet) error
	}{
		{"no retireAfter", func(ks *generates.KeySet) error { return ks.ScheduleSecondary(key, start.Add(time.Hour), 0) }},
		{"no activation time", func(ks *generates.KeySet) error { return ks.ScheduleSecondary(key, time.Time{}, time.Hour) }},
		{"a key with a NotBefore", func(ks *generates.KeySet) error {
			k := key
			k.NotBefore = start
			return ks.ScheduleSecondary(k, start.Add(time.Hour), time.Hour)
		}},
		{"a key with a NotAfter", func(ks *generates.KeySet) error {
			k := key
			k.NotAfter = start.Add(3 * time.Hour)
			return ks.ScheduleSecondary(k, start.Add(time.Hour), time.Hour)
		}},
		{"a key without a method", func(ks *generates.KeySet) error {
			k := key
			k.Method = nil
			return ks.ScheduleSecondary(k, start.Add(time.Hour), time.Hour)
		}},
		{"a kid the set holds", func(ks *generates.KeySet) error {
			k := key
			k.KeyID = "rs-old"
			return ks.ScheduleSecondary(k, start.Add(3*time.Hour), time.Hour)
		}},
		{"before a Secondary key of its algorithm already scheduled", func(ks *generates.KeySet) error {
			return ks.ScheduleSecondary(key, start.Add(time.Hour), time.Hour)
		}},
		{"at the time of a Secondary key of its algorithm already scheduled", func(ks *generates.KeySet) error {
			return ks.ScheduleSecondary(key, start.Add(2*time.Hour), time.Hour)
		}},
		{"a Secondary key made current", func(ks *generates.KeySet) error {
			k := key
			k.Secondary = true
			return ks.Add(k, true)
		}},
		{"a Secondary key to Rotate", func(ks *generates.KeySet) error {
			k := key
			k.Secondary = true
			return ks.Rotate(k, time.Hour)
		}},
		{"a Secondary key to Schedule", func(ks *generates.KeySet) error {
			k := key
			k.Secondary = true
			return ks.Schedule(k, start.Add(3*time.Hour), time.Hour)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, _ := setWithOldRS256(t, start)
			other := newTestKey(t, "RS256", 0)
			otherKey := generates.SigningKey{KeyID: "rs-scheduled", Method: other.method, Key: other.key}
			if err := ks.ScheduleSecondary(otherKey, start.Add(2*time.Hour), time.Hour); err != nil {
				t.Fatal(err)
			}
			before, err := generates.EncodeKeys(ks.Keys())
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.do(ks); err == nil {
				t.Fatal("accepted")
			}
			after, err := generates.EncodeKeys(ks.Keys())
			if err != nil {
				t.Fatal(err)
			}
			if string(before) != string(after) {
				t.Fatal("a refused change changed the key set")
			}
		})
	}
}

// Retire on Secondary keys: a scheduled one cancelled before its
// activation never signs and the key it was to replace keeps signing; one
// that signs, retired now, stops at once and is unpublished, and the key
// it replaced, still published, signs again, as for the current key.
func TestKeySet_RetireOfSecondaryKeys(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		retire   string
		at       time.Duration // after start
		advance  time.Duration // after the Retire
		wantKid  string        // "" for no RS256 signer
		wantPubs []string      // RS256 kids published
	}{
		{"scheduled key cancelled", "rs-new", time.Minute, 20 * time.Minute, "rs-old", []string{"rs-old"}},
		{"old key retired now before the activation", "rs-old", 0, 0, "", []string{"rs-new"}},
		{"new key retired now after the activation", "rs-new", 15 * time.Minute, 0, "rs-old", []string{"rs-old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, clock := setWithOldRS256(t, start)
			next := newTestKey(t, "RS256", 1)
			if err := ks.ScheduleSecondary(generates.SigningKey{KeyID: "rs-new", Method: next.method, Key: next.key}, start.Add(10*time.Minute), 2*time.Hour); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.at)
			if err := ks.Retire(tt.retire, clock.Now()); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.advance)
			var pubs []string
			for _, p := range ks.Public() {
				if p.Algorithm == "RS256" {
					pubs = append(pubs, p.KeyID)
				}
			}
			if !slices.Equal(pubs, tt.wantPubs) {
				t.Fatalf("RS256 keys published %v, want %v", pubs, tt.wantPubs)
			}
			if tt.wantKid == "" {
				client := newOIDCClient(idClientID)
				client.alg = "RS256"
				if _, err := newIDGen(t, ks).IDToken(context.Background(),
					&generates.IDTokenRequest{Client: client, TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})}); err == nil {
					t.Fatal("an RS256 ID token was signed with no RS256 key in service")
				}
				return
			}
			if kid := rs256IDTokenKid(t, ks); kid != tt.wantKid {
				t.Fatalf("RS256 ID token of %q, want %q", kid, tt.wantKid)
			}
		})
	}
}

// What EncodeKeys writes keeps Secondary, so that another process loading
// it signs RS256 ID tokens with the same key at every instant; a set
// without Secondary keys encodes as before Secondary existed, and a stored
// set of that form loads with the keys it had.
func TestKeySet_EncodedSecondaryKeysLoadIntoAnotherProcess(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ks, clock := setWithOldRS256(t, start)
	before, err := generates.EncodeKeys(ks.Keys())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(before), `"sec"`) {
		t.Fatalf("a set without Secondary keys encodes a sec member: %s", before)
	}
	stored, err := generates.DecodeKeys(before)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := generates.EncodeKeys(stored); err != nil || string(again) != string(before) {
		t.Fatalf("a stored set does not encode back to the same bytes (%v)", err)
	}

	next := newTestKey(t, "RS256", 1)
	if err := ks.ScheduleSecondary(generates.SigningKey{KeyID: "rs-new", Method: next.method, Key: next.key}, start.Add(time.Hour), 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	other := reloaded(t, ks, clock)
	for i, k := range other.Keys() {
		w := ks.Keys()[i]
		if k.KeyID != w.KeyID || k.Secondary != w.Secondary || !k.NotBefore.Equal(w.NotBefore) || !k.NotAfter.Equal(w.NotAfter) {
			t.Fatalf("key %d loaded as %+v, want %+v", i, k, w)
		}
	}
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{{0, "rs-old"}, {time.Hour, "rs-new"}} {
		clock.Advance(step.advance)
		if a, b := rs256IDTokenKid(t, ks), rs256IDTokenKid(t, other); a != step.want || b != step.want {
			t.Fatalf("after %v: the processes sign RS256 ID tokens with %q and %q, want %q", step.advance, a, b, step.want)
		}
	}
}

// setWithOldRS256 returns a key set on a test clock at start with a
// current ES256 key "es" and a kept RS256 key "rs-old".
func setWithOldRS256(t *testing.T, start time.Time) (*generates.KeySet, *testClock) {
	t.Helper()
	clock := newTestClock(start)
	ks := generates.NewKeySet()
	ks.SetClock(clock.Now)
	addKey(t, ks, "ES256", "es", true)
	old := newTestKey(t, "RS256", 0)
	if err := ks.Add(generates.SigningKey{KeyID: "rs-old", Method: old.method, Key: old.key}, false); err != nil {
		t.Fatal(err)
	}
	return ks, clock
}

// reloaded returns a new key set, on clock, loaded from the stored form
// (EncodeKeys, DecodeKeys) of ks's keys, as another process loads them.
func reloaded(t *testing.T, ks *generates.KeySet, clock *testClock) *generates.KeySet {
	t.Helper()
	data, err := generates.EncodeKeys(ks.Keys())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := generates.DecodeKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	other := generates.NewKeySet()
	other.SetClock(clock.Now)
	if err := other.Load(keys); err != nil {
		t.Fatal(err)
	}
	return other
}
