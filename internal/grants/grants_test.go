package grants

import (
	"context"
	stderrors "errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/store"
)

// clock is a settable clock shared by the store and the index.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	ts     oauth2.TokenStore
	ix     *Index
	clk    *clock
	events []Event
	n      int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	ts, err := store.NewMemoryTokenStore(store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ts: ts, clk: clk}
	e.ix = New(Config{Tokens: ts, Docs: ts.(oauth2.DocumentStore), Now: clk.Now,
		Audit: func(_ context.Context, ev Event) { e.events = append(e.events, ev) }})
	return e
}

// issue stores an access and refresh token of grant for user and client,
// and indexes them as the server does.
func (e *env) issue(t *testing.T, user, client, grant string, refreshTTL time.Duration) *models.Token {
	t.Helper()
	now := e.clk.Now()
	e.n++
	serial := strconv.Itoa(e.n)
	ti := &models.Token{ClientID: client, UserID: user, Scope: "read", GrantID: grant,
		Access: "at-" + grant + serial, AccessCreateAt: now, AccessExpiresIn: time.Hour,
		Refresh: "rt-" + grant + serial, RefreshCreateAt: now, RefreshExpiresIn: refreshTTL}
	if err := e.ts.Create(context.Background(), ti); err != nil {
		t.Fatal(err)
	}
	if err := e.ix.Issued(context.Background(), ti); err != nil {
		t.Fatal(err)
	}
	return ti
}

func TestIndex_IssuedRecordsUserGrantsAndRefreshExtendsThem(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.issue(t, "alice", "app", "g1", 24*time.Hour)
	// A token without a user (client credentials) or without a grant is
	// not indexed.
	for _, ti := range []*models.Token{
		{ClientID: "app", GrantID: "g2", Access: "x", AccessCreateAt: e.clk.Now(), AccessExpiresIn: time.Hour},
		{ClientID: "app", UserID: "alice", Access: "y", AccessCreateAt: e.clk.Now(), AccessExpiresIn: time.Hour},
	} {
		if err := e.ix.Issued(ctx, ti); err != nil {
			t.Fatal(err)
		}
	}
	gs, err := e.ix.Grants(ctx, "alice")
	if err != nil || len(gs) != 1 || gs[0].GrantID != "g1" || gs[0].ClientID != "app" || gs[0].Scope != "read" {
		t.Fatalf("grants %+v %v", gs, err)
	}
	first := gs[0].ExpiresAt
	if want := e.clk.Now().Add(24*time.Hour + expirySlack); first.Before(want) || first.After(want.Add(2*time.Second)) {
		t.Fatalf("expires_at %v, want the refresh token's expiry and the slack, %v", first, want)
	}
	if gs, _ := e.ix.Grants(ctx, ""); gs != nil {
		t.Fatal("the empty username has grants")
	}
	// A refresh within the slack writes nothing; one later moves the
	// expiry later; a shorter-lived token does not.
	e.clk.Add(expirySlack / 2)
	e.issue(t, "alice", "app", "g1", 24*time.Hour)
	if gs, _ := e.ix.Grants(ctx, "alice"); !gs[0].ExpiresAt.Equal(first) {
		t.Fatalf("a refresh within the slack rewrote the grant: %v then %v", first, gs[0].ExpiresAt)
	}
	e.clk.Add(expirySlack)
	e.issue(t, "alice", "app", "g1", 24*time.Hour)
	gs, _ = e.ix.Grants(ctx, "alice")
	if !gs[0].ExpiresAt.After(first) {
		t.Fatalf("refresh did not extend the grant: %v then %v", first, gs[0].ExpiresAt)
	}
	e.issue(t, "alice", "app", "g1", time.Minute)
	if again, _ := e.ix.Grants(ctx, "alice"); !again[0].ExpiresAt.Equal(gs[0].ExpiresAt) {
		t.Fatal("a shorter-lived token shortened the grant")
	}
	// Past the expiry the grant is pruned when listed, with its owner.
	e.clk.Add(28 * time.Hour)
	if gs, err := e.ix.Grants(ctx, "alice"); err != nil || len(gs) != 0 {
		t.Fatalf("expired grant listed: %+v %v", gs, err)
	}
	if _, _, err := e.ix.Owner(ctx, "g1"); !stderrors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("the expired grant's owner is kept: %v", err)
	}
}

func TestIndex_WithdrawRevokesOnlyThatUsersGrantsOfTheClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a1 := e.issue(t, "alice", "app", "g1", time.Hour)
	a2 := e.issue(t, "alice", "app", "g2", time.Hour)
	other := e.issue(t, "alice", "other", "g3", time.Hour)
	bob := e.issue(t, "bob", "app", "g4", time.Hour)
	if err := e.ix.RememberConsent(ctx, "alice", "app", "read", []string{"email"}, e.clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	apps, err := e.ix.Applications(ctx, "alice")
	if err != nil || len(apps) != 2 || apps[0].ClientID != "app" || apps[0].Consent == nil || len(apps[0].Grants) != 2 || apps[1].ClientID != "other" {
		t.Fatalf("applications %+v %v", apps, err)
	}
	// Nothing to withdraw: bob's client for alice, an unknown client.
	for _, c := range []struct{ user, client string }{{"alice", "unknown"}, {"bob", "other"}, {"carol", "app"}, {"alice", ""}} {
		if n, err := e.ix.Withdraw(ctx, "user:"+c.user, c.user, c.client); !stderrors.Is(err, ErrNothingToWithdraw) || n != 0 {
			t.Fatalf("withdraw %v: %d %v", c, n, err)
		}
	}
	if len(e.events) != 0 {
		t.Fatalf("audit events without a revocation: %+v", e.events)
	}
	n, err := e.ix.Withdraw(ctx, "user:alice", "alice", "app")
	if err != nil || n != 2 {
		t.Fatalf("withdraw: %d %v", n, err)
	}
	for _, ti := range []*models.Token{a1, a2} {
		if _, err := e.ts.GetByAccess(ctx, ti.Access); !stderrors.Is(err, oauth2.ErrNotFound) {
			t.Fatalf("a withdrawn grant's access token lives: %v", err)
		}
		if _, err := e.ts.GetByRefresh(ctx, ti.Refresh); err == nil {
			t.Fatal("a withdrawn grant's refresh token lives")
		}
	}
	for _, ti := range []*models.Token{other, bob} {
		if _, err := e.ts.GetByAccess(ctx, ti.Access); err != nil {
			t.Fatalf("another grant was revoked: %v", err)
		}
	}
	if len(e.events) != 2 || e.events[0] != (Event{Actor: "user:alice", Action: ActionRevoke, GrantID: "g1", ClientID: "app", Username: "alice"}) {
		t.Fatalf("audit events %+v", e.events)
	}
	apps, _ = e.ix.Applications(ctx, "alice")
	if len(apps) != 1 || apps[0].ClientID != "other" {
		t.Fatalf("after withdrawing: %+v", apps)
	}
	if cs, _ := e.ix.Consents(ctx, "alice"); len(cs) != 0 {
		t.Fatalf("the consent is kept: %+v", cs)
	}
}

func TestIndex_RevokeByIDAndRevokedElsewhere(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ti := e.issue(t, "alice", "app", "g1", time.Hour)
	e.issue(t, "alice", "app", "g2", time.Hour)
	if _, _, err := e.ix.Revoke(ctx, "admin", "nope"); !stderrors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("unknown grant: %v", err)
	}
	user, g, err := e.ix.Revoke(ctx, "admin", "g1")
	if err != nil || user != "alice" || g.ClientID != "app" {
		t.Fatalf("revoke: %q %+v %v", user, g, err)
	}
	if _, err := e.ts.GetByAccess(ctx, ti.Access); !stderrors.Is(err, oauth2.ErrNotFound) {
		t.Fatal("the revoked grant's token lives")
	}
	if _, _, err := e.ix.Revoke(ctx, "admin", "g1"); !stderrors.Is(err, oauth2.ErrNotFound) {
		t.Fatalf("revoked twice: %v", err)
	}
	// Revoked by the server (a replay): reported and forgotten.
	if err := e.ix.Revoked(ctx, "replay", "g2", "ignored"); err != nil {
		t.Fatal(err)
	}
	if gs, _ := e.ix.Grants(ctx, "alice"); len(gs) != 0 {
		t.Fatalf("revoked grants listed: %+v", gs)
	}
	want := []Event{
		{Actor: "admin", Action: ActionRevoke, GrantID: "g1", ClientID: "app", Username: "alice"},
		{Actor: "replay", Action: ActionRevoke, GrantID: "g2", ClientID: "app", Username: "alice"},
	}
	if len(e.events) != 2 || e.events[0] != want[0] || e.events[1] != want[1] {
		t.Fatalf("audit events %+v", e.events)
	}
}

func TestIndex_OffWithoutADocumentStore(t *testing.T) {
	ts, _ := store.NewMemoryTokenStore()
	ix := New(Config{Tokens: ts})
	ctx := context.Background()
	ti := &models.Token{ClientID: "app", UserID: "alice", GrantID: "g", Access: "a", AccessCreateAt: time.Now(), AccessExpiresIn: time.Hour}
	if ix.Enabled() || ix.Issued(ctx, ti) != nil || ix.RememberConsent(ctx, "alice", "app", "read", nil, time.Time{}) != nil {
		t.Fatal("an index without a DocumentStore did something")
	}
	if apps, err := ix.Applications(ctx, "alice"); apps != nil || err != nil {
		t.Fatalf("listed %v %v", apps, err)
	}
	if _, err := ix.Withdraw(ctx, "user:alice", "alice", "app"); !stderrors.Is(err, ErrNothingToWithdraw) {
		t.Fatal(err)
	}
	var nilIndex *Index
	if nilIndex.Enabled() {
		t.Fatal("a nil index is enabled")
	}
}

func TestUserKind_EveryUsernameIsAValidDistinctKind(t *testing.T) {
	names := []string{"alice", "Alice", "a b", "a%20b", "ünïcode", "~x", strings.Repeat("x", 300), strings.Repeat("x", 301), "tab\there"}
	seen := map[string]string{}
	for _, n := range names {
		k := userKind(grantKindPrefix, n)
		if err := oauth2.CheckDocument(k, "id", nil); err != nil {
			t.Fatalf("%q: kind %q refused: %v", n, k, err)
		}
		if prev, dup := seen[k]; dup {
			t.Fatalf("%q and %q share kind %q", n, prev, k)
		}
		seen[k] = n
	}
	if userKind(grantKindPrefix, "alice") != "grant/alice" {
		t.Fatal("a plain username is not kept as it is")
	}
}

func FuzzUserKind(f *testing.F) {
	for _, s := range []string{"alice", "a b", "%", "~", strings.Repeat("é", 200)} {
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if a == "" {
			return
		}
		ka := userKind(consentKindPrefix, a)
		if err := oauth2.CheckDocument(ka, "id", nil); err != nil {
			t.Fatalf("%q: kind %q refused", a, ka)
		}
		if a != b && ka == userKind(consentKindPrefix, b) {
			t.Fatalf("%q and %q share kind %q", a, b, ka)
		}
	})
}

func TestIndex_WithdrawUserRevokesEveryGrantAndConsentOfThatUserOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mine := []*models.Token{e.issue(t, "alice", "app", "g1", time.Hour), e.issue(t, "alice", "other", "g2", time.Hour)}
	theirs := e.issue(t, "bob", "app", "g3", time.Hour)
	for _, c := range []struct{ user, client string }{{"alice", "app"}, {"alice", "gone"}, {"bob", "app"}} {
		if err := e.ix.RememberConsent(ctx, c.user, c.client, "read", nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	var forgotten []string
	forget := func(_ context.Context, clientID string) error {
		forgotten = append(forgotten, clientID)
		return nil
	}
	n, c, err := e.ix.WithdrawUser(ctx, "admin-token", "alice", forget)
	if err != nil || n != 2 || c != 2 {
		t.Fatalf("WithdrawUser: %d grants, %d consents, %v; want 2, 2, nil", n, c, err)
	}
	if strings.Join(forgotten, ",") != "app,gone" {
		t.Errorf("forget called for %v, want app and gone", forgotten)
	}
	for _, ti := range mine {
		if _, err := e.ts.GetByRefresh(ctx, ti.Refresh); err == nil {
			t.Errorf("grant %s still refreshes", ti.GrantID)
		}
		if _, _, err := e.ix.Owner(ctx, ti.GrantID); !stderrors.Is(err, oauth2.ErrNotFound) {
			t.Errorf("grant %s still indexed: %v", ti.GrantID, err)
		}
	}
	if len(e.events) != 2 || e.events[0].Actor != "admin-token" || e.events[0].Username != "alice" || e.events[0].Action != ActionRevoke {
		t.Errorf("audit events %+v, want one per grant of alice", e.events)
	}
	if gs, _ := e.ix.Grants(ctx, "alice"); len(gs) != 0 {
		t.Errorf("alice's grants after: %+v", gs)
	}
	if cs, _ := e.ix.Consents(ctx, "alice"); len(cs) != 0 {
		t.Errorf("alice's consents after: %+v", cs)
	}
	if _, err := e.ts.GetByRefresh(ctx, theirs.Refresh); err != nil {
		t.Errorf("bob's grant was revoked: %v", err)
	}
	if cs, _ := e.ix.Consents(ctx, "bob"); len(cs) != 1 {
		t.Errorf("bob's consents after: %+v", cs)
	}
	// Again: nothing left, nothing done, no error.
	if n, c, err := e.ix.WithdrawUser(ctx, "admin-token", "alice", forget); err != nil || n != 0 || c != 0 {
		t.Errorf("WithdrawUser again: %d, %d, %v; want 0, 0, nil", n, c, err)
	}
}

func TestOwnerKind_SplitsGrantOwnersByTheIDPrefix(t *testing.T) {
	tests := []struct{ id, want string }{
		{"CuB3a7jE", "grant-owner/Cu"},
		{"gU", "grant-owner/gU"},
		{"x", "grant-owner/x"},
	}
	for _, tc := range tests {
		if got := OwnerKind(tc.id); got != tc.want || oauth2.CheckDocument(got, tc.id, nil) != nil {
			t.Errorf("OwnerKind(%q) = %q, want %q, a valid kind", tc.id, got, tc.want)
		}
	}
	e := newEnv(t)
	ctx := context.Background()
	e.issue(t, "alice", "app", "ab1", time.Hour)
	e.issue(t, "alice", "app", "cd2", time.Hour)
	for _, kind := range []string{"grant-owner/ab", "grant-owner/cd"} {
		if docs, err := e.ts.(oauth2.DocumentStore).ListDocuments(ctx, kind, "", 10); err != nil || len(docs) != 1 {
			t.Errorf("%s holds %d documents (%v), want 1", kind, len(docs), err)
		}
	}
	if user, _, err := e.ix.Owner(ctx, "cd2"); err != nil || user != "alice" {
		t.Errorf("Owner(cd2) = %q, %v", user, err)
	}
}
