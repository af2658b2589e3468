package redis_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	redisstore "github.com/oauth2d/oauth2/store/redis"
)

// token returns a value shaped like the library's codes and tokens.
func token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func codeRecord(grant string, now time.Time) *models.Token {
	return &models.Token{
		ClientID: "client-1", UserID: "user-1", Scope: "read", GrantID: grant,
		RedirectURI: "https://client.example/cb",
		Code:        token(), CodeCreateAt: now, CodeExpiresIn: 10 * time.Minute,
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: oauth2.CodeChallengeS256,
	}
}

func tokenRecord(grant string, now time.Time) *models.Token {
	return &models.Token{
		ClientID: "client-1", UserID: "user-1", Scope: "read", GrantID: grant,
		Access: token(), AccessCreateAt: now, AccessExpiresIn: time.Hour,
		Refresh: token(), RefreshCreateAt: now, RefreshExpiresIn: 24 * time.Hour,
	}
}

// keyOf is the documented key of a code or token: the prefix, its kind and
// the base64url SHA-256 of the value.
func keyOf(prefix, kind, value string) string {
	sum := sha256.Sum256([]byte(value))
	return prefix + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:])
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestStore_KeysAndValuesHoldNoTokenValues checks that after a code is
// issued, exchanged and its refresh token rotated, no Redis key, value or
// set member contains a code or token: the store keeps only SHA-256 hashes
// (docs/architecture.md section 3).
func TestStore_KeysAndValuesHoldNoTokenValues(t *testing.T) {
	f := newFixture(t, time.Now)
	ctx := t.Context()
	now := time.Now()
	grant := "grant-" + token()[:12]
	code := codeRecord(grant, now)
	first, second := tokenRecord(grant, now), tokenRecord(grant, now)
	must(t, f.store.Create(ctx, code))
	must(t, f.store.ExchangeCode(ctx, code.Code, first))
	must(t, f.store.RotateRefresh(ctx, first.Refresh, second))
	cc := tokenRecord("", now)
	cc.Refresh = ""
	must(t, f.store.Create(ctx, cc))

	secrets := []string{code.Code, first.Access, first.Refresh, second.Access, second.Refresh, cc.Access}
	keys, err := scanKeys(ctx, f.client, f.prefix)
	must(t, err)
	want := map[string]bool{
		keyOf(f.prefix, "code", code.Code):         true, // replay marker
		keyOf(f.prefix, "refresh", first.Refresh):  true, // replay marker
		keyOf(f.prefix, "access", second.Access):   true,
		keyOf(f.prefix, "refresh", second.Refresh): true,
		keyOf(f.prefix, "access", cc.Access):       true,
		f.prefix + "grant:" + grant:                true,
	}
	if len(keys) != len(want) {
		t.Errorf("%d keys under the prefix, want %d: %q", len(keys), len(want), keys)
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("unexpected key %q", k)
		}
		var texts []string
		switch typ := f.client.Type(ctx, k).Val(); typ {
		case "string":
			texts = []string{f.client.Get(ctx, k).Val()}
		case "set":
			texts = f.client.SMembers(ctx, k).Val()
		default:
			t.Fatalf("key %q has type %q", k, typ)
		}
		for _, s := range secrets {
			for _, text := range append(texts, k) {
				if strings.Contains(text, s) {
					t.Fatalf("key %q holds a code or token value", k)
				}
			}
		}
	}
}

// counter is a go-redis hook that counts the commands sent, pipelined or
// not.
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (c *counter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestStore_OneRoundTripPerOperation checks that every issuance, lookup,
// consumption and removal is one command, so one round trip to Redis.
func TestStore_OneRoundTripPerOperation(t *testing.T) {
	f := newFixture(t, time.Now)
	var cnt counter
	f.client.AddHook(&cnt)
	s, ctx := f.store, t.Context()

	type op struct {
		name string
		run  func() error
	}
	ops := func() []op {
		now := time.Now()
		grant := "grant-" + token()[:12]
		code, first, second := codeRecord(grant, now), tokenRecord(grant, now), tokenRecord(grant, now)
		get := func(f func(context.Context, string) (oauth2.TokenInfo, error), v string) func() error {
			return func() error { _, err := f(ctx, v); return err }
		}
		return []op{
			{"Create", func() error { return s.Create(ctx, code) }},
			{"GetByCode", get(s.GetByCode, code.Code)},
			{"ExchangeCode", func() error { return s.ExchangeCode(ctx, code.Code, first) }},
			{"GetByAccess", get(s.GetByAccess, first.Access)},
			{"GetByRefresh", get(s.GetByRefresh, first.Refresh)},
			{"RotateRefresh", func() error { return s.RotateRefresh(ctx, first.Refresh, second) }},
			{"RemoveByAccess", func() error { return s.RemoveByAccess(ctx, second.Access) }},
			{"RemoveByRefresh", func() error { return s.RemoveByRefresh(ctx, second.Refresh) }},
			{"RemoveByCode", func() error { return s.RemoveByCode(ctx, code.Code) }},
			{"RevokeGrant", func() error { return s.RevokeGrant(ctx, grant) }},
			{"KV Put", func() error { return s.Put(ctx, grant, []byte("v"), time.Minute) }},
			{"KV Get", func() error { _, err := s.Get(ctx, grant); return err }},
			{"KV PutIfAbsent", func() error { _, err := s.PutIfAbsent(ctx, grant+"x", []byte("v"), time.Minute); return err }},
			{"KV Take", func() error { _, err := s.Take(ctx, grant); return err }},
			{"KV Incr", func() error { _, err := s.Incr(ctx, grant+"n", time.Minute); return err }},
			{"KV Delete", func() error { return s.Delete(ctx, grant+"n") }},
		}
	}
	// The first round loads the scripts into Redis (EVALSHA, then EVAL).
	for _, o := range ops() {
		must(t, o.run())
	}
	for _, o := range ops() {
		t.Run(o.name, func(t *testing.T) {
			before := cnt.n.Load()
			must(t, o.run())
			if n := cnt.n.Load() - before; n != 1 {
				t.Fatalf("%s sent %d commands, want 1", o.name, n)
			}
		})
	}
}

// TestStore_KeysExpireInRedisWithTheirTokens checks that Redis itself drops
// every key a little after the token it holds expires, so that expired data
// never needs a scan (docs/architecture.md section 4): records, replay markers and
// grant sets each get the TTL of what they hold, and a part that never
// expires gets none.
func TestStore_KeysExpireInRedisWithTheirTokens(t *testing.T) {
	f := newFixture(t, time.Now)
	ctx := t.Context()
	now := time.Now()
	pttl := func(k string) time.Duration {
		t.Helper()
		d, err := f.client.PTTL(ctx, k).Result()
		must(t, err)
		return d
	}
	// within reports whether d is the TTL of something living for want,
	// with the store's slack of a few seconds.
	within := func(d, want time.Duration) bool { return d >= want-time.Minute && d <= want+time.Minute }

	grant := "grant-" + token()[:12]
	code := codeRecord(grant, now)
	must(t, f.store.Create(ctx, code))
	issued := tokenRecord(grant, now)
	issued.RefreshExpiresIn = 48 * time.Hour
	must(t, f.store.ExchangeCode(ctx, code.Code, issued))
	// A code that never expires is remembered only as long as its tokens.
	lasting := codeRecord("grant-lasting", now)
	lasting.CodeExpiresIn = 0
	must(t, f.store.Create(ctx, lasting))
	short := tokenRecord("grant-lasting", now)
	short.RefreshExpiresIn = 2 * time.Hour
	must(t, f.store.ExchangeCode(ctx, lasting.Code, short))
	// A rotated-out refresh token is remembered until the later of its own
	// and the new refresh token's expiry.
	rotated := tokenRecord("grant-rotated", now)
	rotated.RefreshExpiresIn = 72 * time.Hour
	must(t, f.store.Create(ctx, rotated))
	must(t, f.store.RotateRefresh(ctx, rotated.Refresh, tokenRecord("grant-rotated", now)))

	forever := tokenRecord("grant-forever", now)
	forever.AccessExpiresIn, forever.RefreshExpiresIn = 0, 0
	must(t, f.store.Create(ctx, forever))

	tests := []struct {
		name string
		key  string
		want time.Duration // -1: no expiry
	}{
		{"access token", keyOf(f.prefix, "access", issued.Access), time.Hour},
		{"refresh token", keyOf(f.prefix, "refresh", issued.Refresh), 48 * time.Hour},
		{"consumed code remembered as long as the last issued part", keyOf(f.prefix, "code", code.Code), 48 * time.Hour},
		{"grant set lives as long as its longest token", f.prefix + "grant:" + grant, 48 * time.Hour},
		{"consumed code that never expired remembered as long as its tokens", keyOf(f.prefix, "code", lasting.Code), 2 * time.Hour},
		{"rotated-out refresh token remembered until its own later expiry", keyOf(f.prefix, "refresh", rotated.Refresh), 72 * time.Hour},
		{"access token that never expires", keyOf(f.prefix, "access", forever.Access), -1},
		{"grant set of a token that never expires", f.prefix + "grant:grant-forever", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := pttl(tt.key)
			if tt.want < 0 {
				if d != -1 {
					t.Fatalf("PTTL = %v, want no expiry", d)
				}
				return
			}
			if !within(d, tt.want) {
				t.Fatalf("PTTL = %v, want about %v", d, tt.want)
			}
		})
	}
}

// twice is a go-redis hook that sends every script twice and keeps the
// second reply: what the client's retry does when a reply is lost after
// Redis ran the script.
type twice struct{}

func (twice) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (twice) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if name := cmd.Name(); name == "evalsha" || name == "eval" || name == "set" {
			_ = next(ctx, cmd)
		}
		return next(ctx, cmd)
	}
}

func (twice) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// TestStore_RetryAfterALostReplyIsNotAReplay checks that every script is
// safe to run twice: the client retries a command whose reply it lost, and
// that retry must not turn a successful exchange or rotation into a replay
// (which would revoke the grant), nor a Create into a collision.
func TestStore_RetryAfterALostReplyIsNotAReplay(t *testing.T) {
	f := newFixture(t, time.Now)
	f.client.AddHook(twice{})
	s, ctx := f.store, t.Context()
	now := time.Now()
	grant := "grant-" + token()[:12]
	code := codeRecord(grant, now)
	must(t, s.Create(ctx, code))
	first := tokenRecord(grant, now)
	must(t, s.ExchangeCode(ctx, code.Code, first))
	second := tokenRecord(grant, now)
	must(t, s.RotateRefresh(ctx, first.Refresh, second))
	kept := tokenRecord(grant, now)
	kept.Refresh = second.Refresh
	must(t, s.RotateRefresh(ctx, second.Refresh, kept))
	alone := clientToken(now) // Create's SET ... NX, not a script
	must(t, s.Create(ctx, alone))
	if _, err := s.GetByAccess(ctx, alone.Access); err != nil {
		t.Fatalf("GetByAccess of a client_credentials token stored twice: %v", err)
	}

	if _, err := s.GetByAccess(ctx, kept.Access); err != nil {
		t.Fatalf("GetByAccess of the last issued token: %v", err)
	}
	if _, err := s.GetByRefresh(ctx, kept.Refresh); err != nil {
		t.Fatalf("GetByRefresh of the kept refresh token: %v", err)
	}
	for _, gone := range []string{first.Access, second.Access} {
		if _, err := s.GetByAccess(ctx, gone); !errors.Is(err, oauth2.ErrNotFound) {
			t.Fatalf("GetByAccess of a replaced access token = %v, want ErrNotFound", err)
		}
	}
	var re *oauth2.ReusedError
	if _, err := s.GetByCode(ctx, code.Code); !errors.As(err, &re) || re.GrantID != grant {
		t.Fatalf("GetByCode after the exchange = %v, want a ReusedError of the grant", err)
	}
	if err := s.ExchangeCode(ctx, code.Code, tokenRecord(grant, now)); !errors.As(err, &re) {
		t.Fatalf("a real replay = %v, want a ReusedError", err)
	}
}

// TestStore_ConcurrentConsumersAcrossClientsHaveOneWinner checks the
// exactly-one-winner rule with many clients, as many server processes
// would have, each with its own connections.
func TestStore_ConcurrentConsumersAcrossClientsHaveOneWinner(t *testing.T) {
	f := newFixture(t, time.Now)
	ctx := t.Context()
	const clients = 4
	stores := []*redisstore.TokenStore{f.store}
	for range clients - 1 {
		stores = append(stores, redisstore.New(newClient(t), redisstore.WithKeyPrefix(f.prefix)))
	}
	for round := range 5 {
		now := time.Now()
		grant := "grant-" + token()[:12]
		code := codeRecord(grant, now)
		must(t, f.store.Create(ctx, code))
		var wins, replays atomic.Int32
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				s := stores[i%clients]
				err := s.ExchangeCode(ctx, code.Code, tokenRecord(grant, now))
				var re *oauth2.ReusedError
				switch {
				case err == nil:
					wins.Add(1)
				case errors.As(err, &re) && re.GrantID == grant:
					replays.Add(1)
				default:
					t.Errorf("round %d: ExchangeCode = %v", round, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || replays.Load() != 31 {
			t.Fatalf("round %d: %d winners and %d replays, want 1 and 31", round, wins.Load(), replays.Load())
		}
	}
}

// trips is a go-redis hook that counts the round trips carrying the
// store's commands (EVALSHA, EVAL, GET; not the handshake of a new
// connection): one per command sent alone, one per pipeline.
type trips struct{ rounds, cmds atomic.Int64 }

func (c *trips) count(cmds ...goredis.Cmder) {
	n := int64(0)
	for _, cmd := range cmds {
		switch cmd.Name() {
		case "evalsha", "eval", "get":
			n++
		}
	}
	if n > 0 {
		c.rounds.Add(1)
		c.cmds.Add(n)
	}
}

func (c *trips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (c *trips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		c.count(cmd)
		return next(ctx, cmd)
	}
}

func (c *trips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.count(cmds...)
		return next(ctx, cmds)
	}
}

// TestStore_ConcurrentCommandsShareRoundTrips releases 256 issuances and
// lookups at once: they reach Redis in fewer round trips than commands
// (pipelined together), each gets its own answer, and every token issued is
// found.
func TestStore_ConcurrentCommandsShareRoundTrips(t *testing.T) {
	f := newFixture(t, time.Now)
	var tr trips
	f.client.AddHook(&tr)
	s, ctx := f.store, t.Context()
	stored := tokenRecord("grant-"+token()[:12], time.Now())
	must(t, s.Create(ctx, stored))
	// Load the scripts, so that every command below is one EVALSHA or GET.
	must(t, s.Create(ctx, tokenRecord("grant-"+token()[:12], time.Now())))
	const n = 256
	recs := make([]*models.Token, n)
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	before := s.Pipelines()
	r0, c0 := tr.rounds.Load(), tr.cmds.Load()
	for i := range recs {
		recs[i] = tokenRecord("grant-"+token()[:12], time.Now())
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-gate
			if i%2 == 0 {
				errs[i] = s.Create(ctx, recs[i])
				return
			}
			got, err := s.GetByAccess(ctx, stored.Access)
			if err == nil && got.GetClientID() != stored.ClientID {
				err = fmt.Errorf("GetByAccess answered another record: client %q", got.GetClientID())
			}
			errs[i] = err
		})
	}
	ready.Wait()
	close(gate)
	done.Wait()
	after := s.Pipelines()
	rounds, cmds := tr.rounds.Load()-r0, tr.cmds.Load()-c0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		if i%2 == 0 {
			if _, err := s.GetByAccess(ctx, recs[i].Access); err != nil {
				t.Fatalf("token %d issued in a pipeline: %v", i, err)
			}
		}
	}
	t.Logf("%d commands in %d round trips (the store counted %d in %d)",
		cmds, rounds, after.Commands-before.Commands, after.Pipelines-before.Pipelines)
	if cmds != n || rounds >= cmds {
		t.Fatalf("%d commands in %d round trips, want %d commands sharing fewer round trips", cmds, rounds, n)
	}
}

// clientToken returns the record of a client_credentials token: one
// access token, no grant.
func clientToken(now time.Time) *models.Token {
	return &models.Token{ClientID: "client-1", Scope: "read", Access: token(), AccessCreateAt: now, AccessExpiresIn: time.Hour}
}

// sent is a go-redis hook that records the name of every command sent
// alone, and can answer SET with NX and GET as Redis 6.2 does.
type sent struct {
	mu    sync.Mutex
	names []string
}

func (h *sent) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *sent) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.mu.Lock()
		h.names = append(h.names, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *sent) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// take returns the names recorded since the last call.
func (h *sent) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := h.names
	h.names = nil
	return names
}

// TestStore_CreateOfOneTokenWithoutGrantIsOneSet checks Create's fast path
// for a client_credentials token: one native SET ... NX instead of the
// script, with the script's meaning kept: a resend of the same record
// succeeds (a GET finds its very value), a live token of the same value
// is not overwritten, a dead one (expired by the store's clock, not yet by
// Redis) is.
func TestStore_CreateOfOneTokenWithoutGrantIsOneSet(t *testing.T) {
	var offset atomic.Int64
	start := time.Now()
	clock := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	f := newFixture(t, clock)
	h := &sent{}
	f.client.AddHook(h)
	s, ctx := f.store, t.Context()

	first := clientToken(clock())
	must(t, s.Create(ctx, first))
	if got := h.take(); !slices.Equal(got, []string{"set"}) {
		t.Fatalf("Create of a client_credentials token sent %v, want one set", got)
	}
	if got, err := s.GetByAccess(ctx, first.Access); err != nil || got.GetClientID() != "client-1" {
		t.Fatalf("GetByAccess = %v, %v; want the stored token", got, err)
	}

	h.take()
	must(t, s.Create(ctx, first)) // the client's resend after a lost reply
	if got := h.take(); !slices.Equal(got, []string{"set", "get"}) {
		t.Fatalf("a resent Create sent %v, want set, then get", got)
	}

	other := clientToken(clock())
	other.Access, other.ClientID = first.Access, "client-2"
	if err := s.Create(ctx, other); err == nil {
		t.Fatal("Create of a live token's value by another record succeeded")
	}
	if got := h.take(); !slices.Equal(got, []string{"set", "get", "evalsha"}) {
		t.Fatalf("Create over a live token sent %v, want set, get, then the script", got)
	}
	if got, err := s.GetByAccess(ctx, first.Access); err != nil || got.GetClientID() != "client-1" {
		t.Fatalf("after a refused Create, GetByAccess = %v, %v; want the first record", got, err)
	}

	offset.Store(int64(2 * time.Hour)) // first is dead for the store; Redis still keeps its key
	other.AccessCreateAt = clock()
	must(t, s.Create(ctx, other))
	if got, err := s.GetByAccess(ctx, first.Access); err != nil || got.GetClientID() != "client-2" {
		t.Fatalf("Create over a dead token: GetByAccess = %v, %v; want the new record", got, err)
	}
}
