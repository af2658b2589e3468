package generates_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/oidc"
)

// testClock is a clock a test moves by hand.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func kidsOf(pub []generates.SigningKeyPublic) []string {
	var out []string
	for _, p := range pub {
		out = append(out, p.KeyID)
	}
	return out
}

// signedKid signs an access token with g and returns its kid.
func signedKid(t *testing.T, g *generates.JWTAccessGenerate) string {
	t.Helper()
	access, _, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := jwt.NewParser().ParseUnverified(access, &generates.JWTAccessClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Header["kid"].(string)
}

// A scheduled key is published at once and signs from its activation
// time; the key it replaces signs until then and stays published for
// retireAfter more, then Prune removes it.
func TestKeySet_ScheduledKeyIsPublishedAtOnceAndSignsFromItsActivation(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := newTestClock(start)
	ks := generates.NewKeySet()
	ks.SetClock(clock.Now)
	addKey(t, ks, "ES256", "old", true)
	g := generates.NewJWTAccessGenerateFromKeySet(ks)

	next := newTestKey(t, "ES256", 0)
	activate := start.Add(10 * time.Minute)
	if err := ks.Schedule(generates.SigningKey{KeyID: "new", Method: next.method, Key: next.key}, activate, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := kidsOf(ks.Public()); !slices.Equal(got, []string{"old", "new"}) {
		t.Fatalf("published %v right after Schedule, want both", got)
	}
	if kid := signedKid(t, g); kid != "old" {
		t.Fatalf("signed with %q before the activation", kid)
	}
	clock.Advance(10*time.Minute - time.Nanosecond)
	if kid := signedKid(t, g); kid != "old" {
		t.Fatalf("signed with %q a nanosecond before the activation", kid)
	}
	clock.Advance(time.Nanosecond)
	if kid := signedKid(t, g); kid != "new" {
		t.Fatalf("signed with %q at the activation", kid)
	}
	if cur, _ := ks.Current(); cur.KeyID != "new" || !cur.NotBefore.Equal(activate) {
		t.Fatalf("Current = %q from %v", cur.KeyID, cur.NotBefore)
	}

	keys := ks.Keys()
	if len(keys) != 2 || !keys[0].NotAfter.Equal(activate.Add(2*time.Hour)) || !keys[1].NotAfter.IsZero() {
		t.Fatalf("keys after the activation: %+v", keys)
	}
	clock.Advance(2*time.Hour - time.Nanosecond)
	if got := kidsOf(ks.Public()); !slices.Equal(got, []string{"old", "new"}) {
		t.Fatalf("published %v before the old key's NotAfter", got)
	}
	if removed := ks.Prune(clock.Now()); len(removed) != 0 {
		t.Fatalf("pruned %v before NotAfter", removed)
	}
	clock.Advance(time.Nanosecond)
	if got := kidsOf(ks.Public()); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("published %v after the old key's NotAfter", got)
	}
	if removed := ks.Prune(clock.Now()); !slices.Equal(removed, []string{"old"}) {
		t.Fatalf("pruned %v", removed)
	}
}

// Two processes that load the same keys switch at the same instant,
// whenever each of them loaded them.
func TestKeySet_ProcessesSharingKeysSwitchAtTheSameMoment(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := newTestClock(start)
	admin := generates.NewKeySet()
	admin.SetClock(clock.Now)
	addKey(t, admin, "RS256", "k1", true)
	next := newTestKey(t, "EdDSA", 0)
	activate := start.Add(time.Hour)
	if err := admin.Schedule(generates.SigningKey{KeyID: "k2", Method: next.method, Key: next.key}, activate, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	saved := admin.Keys() // what a store keeps

	var procs [2]*generates.KeySet
	for i := range procs {
		procs[i] = generates.NewKeySet()
		procs[i].SetClock(clock.Now)
	}
	if err := procs[0].Load(saved); err != nil {
		t.Fatal(err)
	}
	clock.Advance(50 * time.Minute) // the second process loads later
	if err := procs[1].Load(saved); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{9 * time.Minute, 10 * time.Minute, 10*time.Minute + time.Second} {
		clock.ns.Store(start.Add(50*time.Minute + at).UnixNano())
		want := "k1"
		if !clock.Now().Before(activate) {
			want = "k2"
		}
		for i, ks := range procs {
			if cur, _ := ks.Current(); cur.KeyID != want {
				t.Fatalf("at %v process %d signs with %q, want %q", clock.Now().Sub(start), i, cur.KeyID, want)
			}
		}
	}
}

func TestKeySet_ScheduleRefuses(t *testing.T) {
	now := time.Now()
	ks := generates.NewKeySet()
	addKey(t, ks, "ES256", "a", true)
	k := newTestKey(t, "ES256", 0)
	if err := ks.Schedule(generates.SigningKey{KeyID: "b", Method: k.method, Key: k.key}, now.Add(time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	k2 := newTestKey(t, "ES256", 1)
	tests := []struct {
		name   string
		key    generates.SigningKey
		at     time.Time
		retire time.Duration
	}{
		{"no grace period for the old key's tokens", generates.SigningKey{KeyID: "c", Method: k2.method, Key: k2.key}, now.Add(2 * time.Hour), 0},
		{"no activation time", generates.SigningKey{KeyID: "c", Method: k2.method, Key: k2.key}, time.Time{}, time.Hour},
		{"a second key while one is scheduled later", generates.SigningKey{KeyID: "c", Method: k2.method, Key: k2.key}, now.Add(30 * time.Minute), time.Hour},
		{"a key with its own NotAfter", generates.SigningKey{KeyID: "c", Method: k2.method, Key: k2.key, NotAfter: now.Add(5 * time.Hour)}, now.Add(2 * time.Hour), time.Hour},
		{"a duplicate kid", generates.SigningKey{KeyID: "b", Method: k2.method, Key: k2.key}, now.Add(2 * time.Hour), time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ks.Keys()
			if err := ks.Schedule(tt.key, tt.at, tt.retire); err == nil {
				t.Fatal("scheduled")
			}
			if after := ks.Keys(); len(after) != len(before) || !after[0].NotAfter.Equal(before[0].NotAfter) {
				t.Fatalf("the set changed: %+v", after)
			}
		})
	}
}

// Load replaces the whole set or nothing, and does not parse again the
// keys it already holds.
func TestKeySet_LoadIsAllOrNothing(t *testing.T) {
	ks := generates.NewKeySet()
	addKey(t, ks, "ES256", "a", true)
	saved := ks.Keys()
	bad := append(slices.Clone(saved), generates.SigningKey{KeyID: "b", Method: jwt.SigningMethodRS256, Key: newTestKey(t, "ES256", 0).key})
	if err := ks.Load(bad); err == nil {
		t.Fatal("loaded a key that does not fit its method")
	}
	dup := append(slices.Clone(saved), saved[0])
	if err := ks.Load(dup); err == nil {
		t.Fatal("loaded a kid twice")
	}
	if got := kidsOf(ks.Public()); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("a failed Load changed the set: %v", got)
	}
	g := newIDGen(t, ks)
	if _, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: newOIDCClient(idClientID), TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})}); err != nil {
		t.Fatal(err)
	}
	if err := ks.Load(saved); err != nil {
		t.Fatal(err)
	}
	if cur, ok := ks.Current(); !ok || cur.KeyID != "a" {
		t.Fatalf("current after reloading the same keys: %q", cur.KeyID)
	}
}

// The RS256 key kept beside an ES256 current key signs the ID tokens of
// the clients that ask for RS256 (Core 15.1), never access tokens; retired,
// it signs nothing, and a rotation of the current key leaves it in place.
func TestKeySet_RS256KeyBesideAnotherAlgorithmSignsOnlyIDTokensOfClientsThatAskForIt(t *testing.T) {
	ks := generates.NewKeySet()
	addKey(t, ks, "ES256", "es", true)
	addKey(t, ks, "RS256", "rs", false)
	if got := ks.Algorithms(); !slices.Equal(got, []string{"ES256", "RS256"}) {
		t.Fatalf("Algorithms = %v", got)
	}
	g := generates.NewJWTAccessGenerateFromKeySet(ks)
	if kid := signedKid(t, g); kid != "es" {
		t.Fatalf("access token signed with %q", kid)
	}
	idg := newIDGen(t, ks)
	rsClient := newOIDCClient(idClientID)
	rsClient.alg = "RS256"
	headerKid := func() (string, error) {
		raw, err := idg.IDToken(context.Background(), &generates.IDTokenRequest{Client: rsClient, TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})})
		if err != nil {
			return "", err
		}
		tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Header["kid"].(string), nil
	}
	if kid, err := headerKid(); err != nil || kid != "rs" {
		t.Fatalf("RS256 client's ID token: kid %q, %v", kid, err)
	}
	next := newTestKey(t, "ES256", 0)
	if err := ks.Rotate(generates.SigningKey{KeyID: "es2", Method: next.method, Key: next.key}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if kid, err := headerKid(); err != nil || kid != "rs" {
		t.Fatalf("after a rotation of the current key: kid %q, %v", kid, err)
	}
	if err := ks.Retire("rs", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := headerKid(); err == nil {
		t.Fatal("a retired RS256 key still signs")
	}
	if got := kidsOf(ks.Public()); !slices.Contains(got, "rs") {
		t.Fatalf("the retired key is unpublished before its NotAfter: %v", got)
	}
}

// Retiring the current key at once (a compromised key) leaves no key to
// sign with, and unpublishes it.
func TestKeySet_RetiringTheCurrentKeyNowStopsSigning(t *testing.T) {
	ks := generates.NewKeySet()
	addKey(t, ks, "ES256", "a", true)
	if err := ks.Retire("a", time.Now()); err != nil {
		t.Fatal(err)
	}
	g := generates.NewJWTAccessGenerateFromKeySet(ks)
	if _, _, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), false); err == nil {
		t.Fatal("signed with a retired key")
	}
	if len(ks.Public()) != 0 {
		t.Fatal("a retired key is published")
	}
	if err := ks.Retire("missing", time.Now()); err == nil {
		t.Fatal("retired a key that is not in the set")
	}
}

// Signers see either key around an activation, never none, while the
// activation happens under concurrent use.
func TestKeySet_ActivationUnderConcurrentSigning(t *testing.T) {
	start := time.Now()
	clock := newTestClock(start)
	ks := generates.NewKeySet()
	ks.SetClock(clock.Now)
	addKey(t, ks, "EdDSA", "k0", true)
	k := newTestKey(t, "EdDSA", 0)
	if err := ks.Schedule(generates.SigningKey{KeyID: "k1", Method: k.method, Key: k.key}, start.Add(time.Second), time.Hour); err != nil {
		t.Fatal(err)
	}
	g := generates.NewJWTAccessGenerateFromKeySet(ks)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, _, err := g.Token(context.Background(), grant("c", "u", "", time.Hour), false); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 20 {
		clock.Advance(100 * time.Millisecond)
	}
	wg.Wait()
	if cur, _ := ks.Current(); cur.KeyID != "k1" {
		t.Fatalf("current %q", cur.KeyID)
	}
}

// A key that Add with makeCurrent replaced keeps signing the ID tokens of
// the clients that ask for its algorithm, as a key added beside the
// current one does; Rotate and Schedule retire the key they replace.
func TestKeySet_KeyReplacedByAddStillSignsIDTokensOfItsAlgorithm(t *testing.T) {
	ks := generates.NewKeySet()
	addKey(t, ks, "RS256", "rs", true)
	addKey(t, ks, "ES256", "es", true)
	if got := ks.Algorithms(); !slices.Equal(got, []string{"ES256", "RS256"}) {
		t.Fatalf("Algorithms after Add = %v", got)
	}
	k := newTestKey(t, "EdDSA", 0)
	if err := ks.Rotate(generates.SigningKey{KeyID: "ed", Method: k.method, Key: k.key}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := ks.Algorithms(); !slices.Equal(got, []string{"EdDSA", "RS256"}) {
		t.Fatalf("Algorithms after Rotate = %v: the rotated-out ES256 key must not sign", got)
	}
}

// What a store keeps of a key set, EncodeKeys, loads back into another
// process's key set with the same keys and times: the same current key
// now and after the scheduled activation.
func TestKeySet_EncodedKeysLoadIntoAnotherProcess(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := newTestClock(start)
	ks := generates.NewKeySet()
	ks.SetClock(clock.Now)
	addKey(t, ks, "RS256", "rs", true)
	addKey(t, ks, "HS256", "hs", false)
	es := newTestKey(t, "ES256", 0)
	if err := ks.Schedule(generates.SigningKey{KeyID: "es", Method: es.method, Key: es.key}, start.Add(time.Hour), 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	ed := newTestKey(t, "EdDSA", 0)
	if err := ks.Add(generates.SigningKey{KeyID: "ed", Method: ed.method, Key: ed.key, NotAfter: start.Add(time.Minute)}, false); err != nil {
		t.Fatal(err)
	}
	other := reloaded(t, ks, clock)
	same := func(when string) {
		a, b := ks.Keys(), other.Keys()
		if len(a) != len(b) {
			t.Fatalf("%s: %d keys, want %d", when, len(b), len(a))
		}
		for i := range a {
			if a[i].KeyID != b[i].KeyID || a[i].Method.Alg() != b[i].Method.Alg() ||
				!a[i].NotBefore.Equal(b[i].NotBefore) || !a[i].NotAfter.Equal(b[i].NotAfter) {
				t.Fatalf("%s: key %d is %+v, want %+v", when, i, b[i], a[i])
			}
		}
		ca, _ := ks.Current()
		cb, _ := other.Current()
		if ca.KeyID != cb.KeyID {
			t.Fatalf("%s: current %q, want %q", when, cb.KeyID, ca.KeyID)
		}
	}
	same("now")
	clock.Advance(time.Hour)
	same("after the activation")
	if cur, _ := other.Current(); cur.KeyID != "es" {
		t.Fatalf("current after the activation: %q", cur.KeyID)
	}
}

func TestDecodeKeysRefusesWhatEncodeKeysDidNotMake(t *testing.T) {
	es := newTestKey(t, "ES256", 0)
	good, err := generates.EncodeKeys([]generates.SigningKey{{KeyID: "es", Method: es.method, Key: es.key}})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"not JSON":               "{",
		"alg none":               `[{"kid":"a","alg":"none","key":""}]`,
		"unknown alg":            `[{"kid":"a","alg":"XS256","key":""}]`,
		"key of another kind":    strings.Replace(string(good), `"ES256"`, `"RS256"`, 1),
		"short HMAC secret":      `[{"kid":"a","alg":"HS256","key":"c2hvcnQ"}]`,
		"HMAC secret not base64": `[{"kid":"a","alg":"HS256","key":"!!"}]`,
		"not a PEM key":          `[{"kid":"a","alg":"ES256","key":"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"}]`,
	} {
		if _, err := generates.DecodeKeys([]byte(data)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeKeys checks that DecodeKeys never panics, and that what it
// accepts loads into a key set.
func FuzzDecodeKeys(f *testing.F) {
	es := newTestKey(f, "ES256", 0)
	good, err := generates.EncodeKeys([]generates.SigningKey{{KeyID: "es", Method: es.method, Key: es.key, NotBefore: time.Unix(1, 0)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`[{"kid":"h","alg":"HS256","key":"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE","nbf":5,"naf":3}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := generates.DecodeKeys(data)
		if err != nil {
			return
		}
		if err := generates.NewKeySet().Load(keys); err != nil && !strings.Contains(err.Error(), "generates:") {
			t.Fatalf("Load of decoded keys: %v", err)
		}
	})
}
