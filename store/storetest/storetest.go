// Package storetest is the conformance kit of the storage contract in the
// root package (oauth2.TokenStore, oauth2.ClientStore, oauth2.KVStore,
// oauth2.DocumentStore): every store's tests call TestTokenStore (which
// also checks oauth2.DocumentStore when the store implements it),
// TestKVStore and TestClientStore against the real engine, and a store is
// done when the kit passes (docs/architecture.md section 4).
//
// The checks follow the contract's doc comments: parts written all or none
// and each found until its own expiry; codes single use (RFC 6749 4.1.2);
// refresh tokens rotated with replay detection and grant revocation
// (RFC 6749 6, RFC 9700 4.14.2); revocation of a refresh token taking the
// access token issued with it (RFC 7009 2.1).
//
// Persistent stores keep only a SHA-256 of each code and token, so the kit
// asserts only the value used for a lookup, never the other secret values
// of the record returned.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// Harness tells the kit how to make token stores of one kind.
type Harness struct {
	// New returns a fresh, empty token store that reads the time from now.
	// It registers its own cleanup with t.Cleanup.
	New func(t *testing.T, now func() time.Time) oauth2.TokenStore
	// Reopen, when set, opens a second, independent handle (own
	// connections) on the same data as s, as another server process would;
	// the kit then spreads concurrent consumers over both handles.
	Reopen func(t *testing.T, s oauth2.TokenStore, now func() time.Time) oauth2.TokenStore
	// Down, when set, returns a store whose engine is unreachable (e.g.
	// pointed at a closed port); the kit checks that every operation fails
	// within a few seconds with an error matching oauth2.ErrUnavailable,
	// and that nothing panics.
	Down func(t *testing.T) oauth2.TokenStore
}

// TestTokenStore runs every conformance check of oauth2.TokenStore as
// subtests of t, each on a fresh store made by h.New with its own Clock.
func TestTokenStore(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("storetest: Harness.New is nil")
	}
	checks := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"CreateThenGetReturnsRecord", testCreateThenGet},
		{"RecordsAreCopies", testRecordsAreCopies},
		{"PartsExpireOnTheirOwn", testPartsExpire},
		{"CreateIsAllOrNothing", testCreateAllOrNothing},
		{"OddKeysAreNotFound", testOddKeys},
		{"Remove", testRemove},
		{"ExchangeCodeIsSingleUse", testExchangeCode},
		{"ExchangeCodeReplayRememberedUntilIssuedExpires", testExchangeReplayRemembered},
		{"RotateRefresh", testRotateRefresh},
		{"RotateRefreshReplayRemembered", testRotateReplayRemembered},
		{"RevokeGrantRemovesEveryPartOfTheGrant", testRevokeGrant},
		{"ConcurrentExchangeCodeHasOneWinner", testConcurrentExchange},
		{"ConcurrentRotateRefreshHasOneWinner", testConcurrentRotate},
		{"RevokeGrantRacingConsumersLeavesNoLiveToken", testRevokeRace},
		{"ExpiredDataStaysGone", testExpiredStaysGone},
		{"SecondHandleSeesSameData", testReopen},
		{"ExtensionDataIsKeptWithTheRecord", testExtension},
		{"MixedConcurrentWritersKeepExactlyOnce", testMixedStorm},
		{"CancelledWritesAreWholeOrAbsent", testCancelledWrites},
		{"ReplayReportsTheConsumedRecordTruly", testReplayReportsRecord},
		{"UnreachableEngineIsUnavailable", testDown},
		{"Documents", testDocuments},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

// part names one of the three keys of a record.
type part int

const (
	partCode part = iota
	partAccess
	partRefresh
)

var parts = []part{partCode, partAccess, partRefresh}

func (p part) String() string {
	return [...]string{"code", "access", "refresh"}[p]
}

// env is one fresh store with its clock.
type env struct {
	t     *testing.T
	clock *Clock
	s     oauth2.TokenStore
	ctx   context.Context
}

// start is the kit's initial clock reading: the real time, so that engines
// which also expire data by their own clock (Redis) keep it long enough,
// truncated to the microsecond that every engine can store.
func start() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	clock := NewClock(start())
	s := h.New(t, clock.Now)
	if s == nil {
		t.Fatal("Harness.New returned nil")
	}
	return &env{t: t, clock: clock, s: s, ctx: t.Context()}
}

// newKey returns a value shaped like the library's codes and tokens: 256
// random bits, base64url (docs/architecture.md section 3).
func newKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newGrant() string { return "grant-" + newKey()[:16] }

const (
	codeTTL    = 10 * time.Minute
	accessTTL  = time.Hour
	refreshTTL = 24 * time.Hour
	// challenge is BASE64URL(SHA256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")), RFC 7636 appendix B.
	challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// codeRecord returns an authorization code record of grant.
func (e *env) codeRecord(grant string) *models.Token {
	return &models.Token{
		ClientID:            "client-1",
		UserID:              "user-1",
		RedirectURI:         "https://client.example/cb",
		Scope:               "read write",
		GrantID:             grant,
		Code:                newKey(),
		CodeChallenge:       challenge,
		CodeChallengeMethod: oauth2.CodeChallengeS256,
		CodeCreateAt:        e.clock.Now(),
		CodeExpiresIn:       codeTTL,
	}
}

// tokenRecord returns an access and refresh token record of grant.
func (e *env) tokenRecord(grant string) *models.Token {
	now := e.clock.Now()
	return &models.Token{
		ClientID:         "client-1",
		UserID:           "user-1",
		RedirectURI:      "https://client.example/cb",
		Scope:            "read",
		GrantID:          grant,
		Access:           newKey(),
		AccessCreateAt:   now,
		AccessExpiresIn:  accessTTL,
		Refresh:          newKey(),
		RefreshCreateAt:  now,
		RefreshExpiresIn: refreshTTL,
	}
}

// accessRecord returns a client_credentials record: an access token only,
// of no grant (RFC 6749 4.4.3).
func (e *env) accessRecord() *models.Token {
	return &models.Token{
		ClientID:        "client-2",
		Scope:           "read",
		Access:          newKey(),
		AccessCreateAt:  e.clock.Now(),
		AccessExpiresIn: accessTTL,
	}
}

func (e *env) create(info *models.Token) {
	e.t.Helper()
	if err := e.s.Create(e.ctx, info); err != nil {
		e.t.Fatalf("Create: %v", err)
	}
}

func get(ctx context.Context, s oauth2.TokenStore, p part, key string) (oauth2.TokenInfo, error) {
	switch p {
	case partCode:
		return s.GetByCode(ctx, key)
	case partAccess:
		return s.GetByAccess(ctx, key)
	default:
		return s.GetByRefresh(ctx, key)
	}
}

func key(info *models.Token, p part) string {
	switch p {
	case partCode:
		return info.Code
	case partAccess:
		return info.Access
	default:
		return info.Refresh
	}
}

// found asserts that p of want is live and returns the record it finds.
func (e *env) found(want *models.Token, p part) oauth2.TokenInfo {
	e.t.Helper()
	got, err := get(e.ctx, e.s, p, key(want, p))
	if err != nil {
		e.t.Fatalf("GetBy%s: %v, want the record", p, err)
	}
	checkRecord(e.t, got, want, p)
	return got
}

// notFound asserts that the p key k gives an error wrapping ErrNotFound.
func (e *env) notFound(p part, k, why string) {
	e.t.Helper()
	got, err := get(e.ctx, e.s, p, k)
	if !errors.Is(err, oauth2.ErrNotFound) {
		e.t.Fatalf("%s: GetBy%s = (%v, %v), want ErrNotFound", why, p, got != nil, err)
	}
}

// gone asserts that the p key k is not live: not found, or remembered as
// consumed.
func (e *env) gone(p part, k, why string) {
	e.t.Helper()
	_, err := get(e.ctx, e.s, p, k)
	if !errors.Is(err, oauth2.ErrNotFound) && !errors.Is(err, oauth2.ErrReused) {
		e.t.Fatalf("%s: GetBy%s = %v, want ErrNotFound or ErrReused", why, p, err)
	}
}

// reused asserts that the p key k gives a *ReusedError naming grant.
func (e *env) reused(p part, k, grant, why string) {
	e.t.Helper()
	_, err := get(e.ctx, e.s, p, k)
	checkReused(e.t, err, grant, why+": GetBy"+p.String())
}

func checkReused(t *testing.T, err error, grant, what string) {
	t.Helper()
	var re *oauth2.ReusedError
	if !errors.As(err, &re) {
		t.Fatalf("%s = %v, want a *oauth2.ReusedError", what, err)
	}
	if !errors.Is(err, oauth2.ErrReused) {
		t.Fatalf("%s = %v, does not match oauth2.ErrReused", what, err)
	}
	if re.GrantID != grant {
		t.Fatalf("%s: ReusedError.GrantID = %q, want %q", what, re.GrantID, grant)
	}
}

// sameTime reports whether got is want, allowing a store that keeps
// microseconds only.
func sameTime(got, want time.Time) bool {
	return got.Equal(want) || got.Equal(want.Truncate(time.Microsecond))
}

// checkRecord compares got with want: the value looked up by, and every
// non-secret field of the parts want has.
func checkRecord(t *testing.T, got oauth2.TokenInfo, want *models.Token, by part) {
	t.Helper()
	if got == nil {
		t.Fatalf("GetBy%s returned a nil record", by)
	}
	var diffs []string
	str := func(name, g, w string) {
		if g != w {
			diffs = append(diffs, name+": got "+quote(g)+", want "+quote(w))
		}
	}
	tm := func(name string, g, w time.Time) {
		if !sameTime(g, w) {
			diffs = append(diffs, name+": got "+g.String()+", want "+w.String())
		}
	}
	dur := func(name string, g, w time.Duration) {
		if g != w {
			diffs = append(diffs, name+": got "+g.String()+", want "+w.String())
		}
	}
	str("ClientID", got.GetClientID(), want.ClientID)
	str("UserID", got.GetUserID(), want.UserID)
	str("RedirectURI", got.GetRedirectURI(), want.RedirectURI)
	str("Scope", got.GetScope(), want.Scope)
	str("GrantID", got.GetGrantID(), want.GrantID)
	switch by {
	case partCode:
		if got.GetCode() != want.Code {
			diffs = append(diffs, "Code: not the code looked up")
		}
	case partAccess:
		if got.GetAccess() != want.Access {
			diffs = append(diffs, "Access: not the access token looked up")
		}
	case partRefresh:
		if got.GetRefresh() != want.Refresh {
			diffs = append(diffs, "Refresh: not the refresh token looked up")
		}
	}
	if want.Code != "" {
		str("CodeChallenge", got.GetCodeChallenge(), want.CodeChallenge)
		str("CodeChallengeMethod", string(got.GetCodeChallengeMethod()), string(want.CodeChallengeMethod))
		tm("CodeCreateAt", got.GetCodeCreateAt(), want.CodeCreateAt)
		dur("CodeExpiresIn", got.GetCodeExpiresIn(), want.CodeExpiresIn)
	}
	if want.Access != "" {
		tm("AccessCreateAt", got.GetAccessCreateAt(), want.AccessCreateAt)
		dur("AccessExpiresIn", got.GetAccessExpiresIn(), want.AccessExpiresIn)
	}
	if want.Refresh != "" {
		tm("RefreshCreateAt", got.GetRefreshCreateAt(), want.RefreshCreateAt)
		dur("RefreshExpiresIn", got.GetRefreshExpiresIn(), want.RefreshExpiresIn)
	}
	if len(diffs) > 0 {
		t.Fatalf("GetBy%s returned a different record:\n\t%s", by, strings.Join(diffs, "\n\t"))
	}
}

// quote shows a non-secret field value in a failure message.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return `"` + s + `"`
}
