// Package grants keeps the index of what each user allowed: the consents
// the pages remember and the grants issued for the user (RFC 6749 1.3, a
// grant is every code and token issued from one authorization), in the
// store's oauth2.DocumentStore, so that a user (the /account page) or an
// administrator (the admin API and the CLI) can list them and withdraw them
// while the server runs (docs/architecture.md section 7).
//
// The documents (bodies are JSON):
//
//   - kind "consent/<username>", ID the client_id: Consent;
//   - kind "grant/<username>", ID the grant ID: Grant;
//   - kind "grant-owner/" followed by the first two characters of the
//     grant ID (OwnerKind), ID the grant ID: {"username": ...}, to find a
//     grant's user from its ID alone. Split by the ID's prefix so that the
//     creations of grants do not all take turns on one kind's version
//     (docs/architecture.md section 7).
//
// The token store stays the authority on what is live: revoking a grant is
// oauth2.TokenStore.RevokeGrant, which kills its codes and tokens at once;
// the index only finds them. Grants without a grant ID (the implicit
// grant's tokens, a password grant without a refresh token) and grants
// without a user (client credentials) are not indexed. With a store that
// has no DocumentStore the index is off: every method does nothing and
// lists nothing.
package grants

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
)

// Document kinds of the index.
const (
	consentKindPrefix = "consent/"
	grantKindPrefix   = "grant/"
	// ownerKindPrefix starts the kinds of the documents naming a grant's
	// user (OwnerKind).
	ownerKindPrefix = "grant-owner/"
	// ownerShardChars is how many leading characters of a grant ID pick
	// its owner kind.
	ownerShardChars = 2
)

// OwnerKind returns the kind of the document naming the user of grant id:
// "grant-owner/" and the first two characters of the ID. Grant IDs are
// random, so new grants spread over many kinds, and a store that orders
// the writes of a kind (the SQL stores' per-kind version) does not make
// every grant creation of the cluster wait for one lock.
func OwnerKind(id string) string {
	return ownerKindPrefix + id[:min(len(id), ownerShardChars)]
}

// ActionRevoke is the audit action of a grant revocation.
const ActionRevoke = "grant.revoke"

// Consent is a remembered consent of a user to one client: the scope
// values (RFC 6749 3.3) and the claims about the user (OpenID Connect Core
// 1.0 5.4, 5.5) they allowed, when they last allowed more, and when the
// consent is forgotten (zero: never).
type Consent struct {
	ClientID  string    `json:"client_id"`
	Scope     string    `json:"scope"`
	Claims    []string  `json:"claims,omitempty"`
	GrantedAt time.Time `json:"granted_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Grant is one grant issued for a user (RFC 6749 1.3): its ID, shared by
// its code and every token issued from it, the client and the scope, when
// it began, and when the longest-lived of its codes and tokens that the
// index has seen expires (zero: never). A refresh moves ExpiresAt later.
type Grant struct {
	GrantID   string    `json:"grant_id"`
	ClientID  string    `json:"client_id"`
	Scope     string    `json:"scope"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// owner is the body of a grant-owner document.
type owner struct {
	Username string `json:"username"`
}

// Event is one audit record of a grant revocation (never a token).
type Event struct {
	// Actor is who revoked: "user:<name>", "admin…", "client:<id>",
	// "replay".
	Actor    string
	Action   string
	GrantID  string
	ClientID string
	Username string
}

// AuditFunc writes one audit line.
type AuditFunc func(ctx context.Context, e Event)

// Index is the grant index over a token store and its DocumentStore. It is
// safe for concurrent use.
type Index struct {
	tokens oauth2.TokenStore
	docs   oauth2.DocumentStore // nil: the index is off
	audit  AuditFunc
	now    func() time.Time
}

// Config configures an Index.
type Config struct {
	// Tokens revokes grants (oauth2.TokenStore.RevokeGrant). Required.
	Tokens oauth2.TokenStore
	// Docs keeps the index; nil turns the index off.
	Docs oauth2.DocumentStore
	// Audit hears every revocation; a line on slog.Default() when nil.
	Audit AuditFunc
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New returns the index of cfg.
func New(cfg Config) *Index {
	ix := &Index{tokens: cfg.Tokens, docs: cfg.Docs, audit: cfg.Audit, now: cfg.Now}
	if ix.now == nil {
		ix.now = time.Now
	}
	if ix.audit == nil {
		ix.audit = func(ctx context.Context, e Event) { LogEvent(ctx, slog.Default(), e) }
	}
	return ix
}

// LogEvent writes e as one structured line "audit" on log.
func LogEvent(ctx context.Context, log *slog.Logger, e Event) {
	attrs := []any{"actor", e.Actor, "action", e.Action, "grant_id", e.GrantID}
	if e.ClientID != "" {
		attrs = append(attrs, "client_id", e.ClientID)
	}
	if e.Username != "" {
		attrs = append(attrs, "username", e.Username)
	}
	log.InfoContext(ctx, "audit", attrs...)
}

// Enabled reports whether the store keeps the index.
func (ix *Index) Enabled() bool { return ix != nil && ix.docs != nil }

// maxKey is the longest kind or ID a DocumentStore takes.
const maxKey = 255

// userKind returns the kind of a user's documents: prefix followed by the
// username, with every byte outside printable ASCII, the space and '%'
// percent-encoded; a kind that would be longer than a DocumentStore takes
// ends in "~" and the SHA-256 of the username instead.
func userKind(prefix, username string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; i < len(username); i++ {
		c := username[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '~' && i == 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	if b.Len() > maxKey {
		sum := sha256.Sum256([]byte(username))
		return prefix + "~" + hex.EncodeToString(sum[:])
	}
	return b.String()
}

// validID reports whether id can be a document ID: a client_id or grant
// ID that cannot be is never in the index.
func validID(id string) bool {
	return oauth2.CheckDocument("x", id, nil) == nil
}

// RememberConsent records that username allowed clientID scope and
// claims, until expires (zero: never), replacing what the index had:
// the pages pass the whole consent they remember.
func (ix *Index) RememberConsent(ctx context.Context, username, clientID, scope string, claims []string, expires time.Time) error {
	if !ix.Enabled() || username == "" || !validID(clientID) {
		return nil
	}
	body, err := json.Marshal(Consent{ClientID: clientID, Scope: scope, Claims: claims, GrantedAt: ix.now().UTC().Truncate(time.Second), ExpiresAt: expires.UTC().Truncate(time.Second)})
	if err != nil {
		return fmt.Errorf("grants: encode consent: %w", err)
	}
	kind := userKind(consentKindPrefix, username)
	err = ix.docs.UpdateDocument(ctx, kind, clientID, body)
	if stderrors.Is(err, oauth2.ErrNotFound) {
		err = ix.docs.CreateDocument(ctx, kind, clientID, body)
		if stderrors.Is(err, oauth2.ErrExists) {
			err = ix.docs.UpdateDocument(ctx, kind, clientID, body)
		}
	}
	if err != nil {
		return fmt.Errorf("grants: store consent: %w", err)
	}
	return nil
}

// expiryOf returns when the last live part of ti expires; zero when a part
// never expires.
func expiryOf(ti oauth2.TokenInfo) time.Time {
	var last time.Time
	for _, p := range [...]struct {
		value string
		at    time.Time
		in    time.Duration
	}{
		{ti.GetCode(), ti.GetCodeCreateAt(), ti.GetCodeExpiresIn()},
		{ti.GetAccess(), ti.GetAccessCreateAt(), ti.GetAccessExpiresIn()},
		{ti.GetRefresh(), ti.GetRefreshCreateAt(), ti.GetRefreshExpiresIn()},
	} {
		if p.value == "" {
			continue
		}
		if p.in <= 0 {
			return time.Time{}
		}
		if e := p.at.Add(p.in); e.After(last) {
			last = e
		}
	}
	return last.UTC().Truncate(time.Second).Add(time.Second)
}

// expirySlack is how much later than its tokens a grant's recorded expiry
// is: a refresh whose tokens expire within it of the recorded expiry
// writes nothing, so that a client refreshing often costs the index one
// read per refresh and one write per expirySlack, not a write each time.
// A grant is then listed up to expirySlack after its last token expired.
const expirySlack = time.Hour

// recordedExpiry is the expiry the index records for tokens that expire
// at exp (zero: never).
func recordedExpiry(exp time.Time) time.Time {
	if exp.IsZero() {
		return exp
	}
	return exp.Add(expirySlack)
}

// later reports whether expiry a is later than b, zero being never.
func later(a, b time.Time) bool {
	switch {
	case b.IsZero():
		return false
	case a.IsZero():
		return true
	}
	return a.After(b)
}

// Issued records the code or tokens ti issued for a user: the first of a
// grant adds it to the user's grants, a later one (the tokens of a code, a
// refresh) moves its expiry later when it outlives what was known. Records
// without a user or a grant ID are not indexed, and cost nothing.
func (ix *Index) Issued(ctx context.Context, ti oauth2.TokenInfo) error {
	user, id := ti.GetUserID(), ti.GetGrantID()
	if !ix.Enabled() || user == "" || !validID(id) {
		return nil
	}
	kind := userKind(grantKindPrefix, user)
	exp := expiryOf(ti)
	for range 3 {
		v, err := ix.docs.GetDocument(ctx, kind, id)
		if stderrors.Is(err, oauth2.ErrNotFound) {
			g := Grant{GrantID: id, ClientID: ti.GetClientID(), Scope: ti.GetScope(), IssuedAt: ix.now().UTC().Truncate(time.Second), ExpiresAt: recordedExpiry(exp)}
			body, _ := json.Marshal(g) // strings and times always encode
			ob, _ := json.Marshal(owner{Username: user})
			// The owner first, so that a grant document always has one
			// (Owner, Revoke by ID).
			err := ix.docs.CreateDocument(ctx, OwnerKind(id), id, ob)
			if err != nil && !stderrors.Is(err, oauth2.ErrExists) {
				return fmt.Errorf("grants: store grant owner: %w", err)
			}
			ownerMade := err == nil
			err = ix.docs.CreateDocument(ctx, kind, id, body)
			if stderrors.Is(err, oauth2.ErrExists) {
				continue // a concurrent first token: compare with it
			}
			if err != nil {
				if ownerMade {
					// Nothing lists owner documents: do not leave one
					// behind for a grant that was not stored.
					_ = ix.docs.DeleteDocument(ctx, OwnerKind(id), id)
				}
				return fmt.Errorf("grants: store grant: %w", err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("grants: read grant: %w", err)
		}
		var g Grant
		if json.Unmarshal(v, &g) != nil {
			g = Grant{GrantID: id, ClientID: ti.GetClientID(), Scope: ti.GetScope(), IssuedAt: ix.now().UTC().Truncate(time.Second)}
		} else if !later(exp, g.ExpiresAt) {
			return nil
		}
		g.ExpiresAt = recordedExpiry(exp)
		body, _ := json.Marshal(g)
		err = ix.docs.UpdateDocument(ctx, kind, id, body)
		if stderrors.Is(err, oauth2.ErrNotFound) {
			continue // revoked meanwhile, or pruned: start again
		}
		if err != nil {
			return fmt.Errorf("grants: update grant: %w", err)
		}
		return nil
	}
	return nil
}

// listPage is how many documents one ListDocuments call reads.
const listPage = 200

// listAll reads every document of kind, calling f with each.
func (ix *Index) listAll(ctx context.Context, kind string, f func(oauth2.Document)) error {
	after := ""
	for {
		docs, err := ix.docs.ListDocuments(ctx, kind, after, listPage)
		if err != nil {
			return fmt.Errorf("grants: list: %w", err)
		}
		for _, d := range docs {
			f(d)
		}
		if len(docs) < listPage {
			return nil
		}
		after = docs[len(docs)-1].ID
	}
}

// expired reports whether an expiry (zero: never) has passed at now.
func expired(exp, now time.Time) bool { return !exp.IsZero() && !now.Before(exp) }

// listLive returns the documents of kind decoded as T, in ID order, with
// setID given each one's ID; those that do not decode or whose expiry
// has passed are removed with prune instead.
func listLive[T any](ctx context.Context, ix *Index, kind string, expiry func(*T) time.Time, setID func(*T, string), prune func(id string) error) ([]T, error) {
	now := ix.now()
	var out []T
	var stale []string
	err := ix.listAll(ctx, kind, func(d oauth2.Document) {
		var v T
		if json.Unmarshal(d.Body, &v) != nil || expired(expiry(&v), now) {
			stale = append(stale, d.ID)
			return
		}
		setID(&v, d.ID)
		out = append(out, v)
	})
	if err != nil {
		return nil, err
	}
	for _, id := range stale {
		if err := prune(id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Consents returns username's remembered consents, by client_id, removing
// those past their expiry.
func (ix *Index) Consents(ctx context.Context, username string) ([]Consent, error) {
	if !ix.Enabled() || username == "" {
		return nil, nil
	}
	kind := userKind(consentKindPrefix, username)
	return listLive(ctx, ix, kind,
		func(c *Consent) time.Time { return c.ExpiresAt },
		func(c *Consent, id string) { c.ClientID = id },
		func(id string) error {
			if err := ix.del(ctx, kind, id); err != nil {
				return fmt.Errorf("grants: prune consent: %w", err)
			}
			return nil
		})
}

// Grants returns username's active grants, by grant ID, removing those
// whose every code and token has expired.
func (ix *Index) Grants(ctx context.Context, username string) ([]Grant, error) {
	if !ix.Enabled() || username == "" {
		return nil, nil
	}
	kind := userKind(grantKindPrefix, username)
	return listLive(ctx, ix, kind,
		func(g *Grant) time.Time { return g.ExpiresAt },
		func(g *Grant, id string) { g.GrantID = id },
		func(id string) error {
			if err := ix.forget(ctx, kind, id); err != nil {
				return fmt.Errorf("grants: prune: %w", err)
			}
			return nil
		})
}

// del deletes a document; one already gone is not an error.
func (ix *Index) del(ctx context.Context, kind, id string) error {
	if err := ix.docs.DeleteDocument(ctx, kind, id); err != nil && !stderrors.Is(err, oauth2.ErrNotFound) {
		return err
	}
	return nil
}

// forget removes the documents of grant id from kind.
func (ix *Index) forget(ctx context.Context, kind, id string) error {
	if err := ix.del(ctx, kind, id); err != nil {
		return err
	}
	return ix.del(ctx, OwnerKind(id), id)
}

// Application is what a user allowed one client: the remembered consent
// (nil when there is none) and the active grants.
type Application struct {
	ClientID string
	Consent  *Consent
	Grants   []Grant
}

// Scope returns the scope values the application holds: the consent's,
// and those of its grants.
func (a Application) Scope() []string {
	var out []string
	add := func(scope string) {
		for _, s := range strings.Fields(scope) {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if a.Consent != nil {
		add(a.Consent.Scope)
	}
	for _, g := range a.Grants {
		add(g.Scope)
	}
	return out
}

// Since returns when the user first allowed the application, as far as
// the index knows.
func (a Application) Since() time.Time {
	var t time.Time
	if a.Consent != nil {
		t = a.Consent.GrantedAt
	}
	for _, g := range a.Grants {
		if t.IsZero() || g.IssuedAt.Before(t) {
			t = g.IssuedAt
		}
	}
	return t
}

// Applications returns what username allowed, by client: every client
// with a remembered consent or an active grant, in client_id order.
func (ix *Index) Applications(ctx context.Context, username string) ([]Application, error) {
	if !ix.Enabled() {
		return nil, nil
	}
	consents, err := ix.Consents(ctx, username)
	if err != nil {
		return nil, err
	}
	grants, err := ix.Grants(ctx, username)
	if err != nil {
		return nil, err
	}
	byClient := map[string]*Application{}
	var ids []string
	app := func(id string) *Application {
		a, ok := byClient[id]
		if !ok {
			a = &Application{ClientID: id}
			byClient[id] = a
			ids = append(ids, id)
		}
		return a
	}
	for i := range consents {
		app(consents[i].ClientID).Consent = &consents[i]
	}
	for _, g := range grants {
		a := app(g.ClientID)
		a.Grants = append(a.Grants, g)
	}
	slices.Sort(ids)
	out := make([]Application, 0, len(ids))
	for _, id := range ids {
		out = append(out, *byClient[id])
	}
	return out, nil
}

// ErrNothingToWithdraw: the user has neither a consent nor a grant for
// the client.
var ErrNothingToWithdraw = stderrors.New("grants: nothing allowed to this client")

// Withdraw revokes every grant username gave clientID (their codes and
// tokens stop working at once) and forgets the consent, reporting each
// revocation to the audit as done by actor. It returns the number of
// grants revoked, or ErrNothingToWithdraw when the user allowed the client
// nothing, in which case nothing changed. The caller forgets the consent
// wherever else it is remembered.
func (ix *Index) Withdraw(ctx context.Context, actor, username, clientID string) (int, error) {
	if !ix.Enabled() || username == "" || !validID(clientID) {
		return 0, ErrNothingToWithdraw
	}
	grants, err := ix.Grants(ctx, username)
	if err != nil {
		return 0, err
	}
	consentKind := userKind(consentKindPrefix, username)
	_, err = ix.docs.GetDocument(ctx, consentKind, clientID)
	hasConsent := err == nil
	if err != nil && !stderrors.Is(err, oauth2.ErrNotFound) {
		return 0, fmt.Errorf("grants: read consent: %w", err)
	}
	grants = slices.DeleteFunc(grants, func(g Grant) bool { return g.ClientID != clientID })
	if len(grants) == 0 && !hasConsent {
		return 0, ErrNothingToWithdraw
	}
	kind := userKind(grantKindPrefix, username)
	for _, g := range grants {
		if err := ix.revoke(ctx, actor, username, kind, g); err != nil {
			return 0, err
		}
	}
	if hasConsent {
		if err := ix.del(ctx, consentKind, clientID); err != nil {
			return len(grants), fmt.Errorf("grants: remove consent: %w", err)
		}
	}
	return len(grants), nil
}

// WithdrawUser withdraws everything username allowed, to every client:
// it revokes each of their active grants (their codes and tokens stop
// working at once), reporting each revocation to the audit as done by
// actor, and forgets each remembered consent; forget, when not nil, is
// called first with the client_id of each consent, to forget it wherever
// else it is remembered. It returns the number of grants revoked and of
// consents forgotten. It is idempotent: after a failure, calling it again
// finishes the work (what was done is no longer listed).
func (ix *Index) WithdrawUser(ctx context.Context, actor, username string, forget func(ctx context.Context, clientID string) error) (grantsRevoked, consentsForgotten int, err error) {
	if !ix.Enabled() || username == "" {
		return 0, 0, nil
	}
	consentKind := userKind(consentKindPrefix, username)
	var consents []string
	// Expired consents are listed too: their other copies may outlive the
	// document by a clock's skew.
	if err := ix.listAll(ctx, consentKind, func(d oauth2.Document) {
		consents = append(consents, d.ID)
	}); err != nil {
		return 0, 0, err
	}
	for _, clientID := range consents {
		if forget != nil {
			if err := forget(ctx, clientID); err != nil {
				return grantsRevoked, consentsForgotten, err
			}
		}
		if err := ix.del(ctx, consentKind, clientID); err != nil {
			return grantsRevoked, consentsForgotten, fmt.Errorf("grants: remove consent: %w", err)
		}
		consentsForgotten++
	}
	grants, err := ix.Grants(ctx, username)
	if err != nil {
		return grantsRevoked, consentsForgotten, err
	}
	kind := userKind(grantKindPrefix, username)
	for _, g := range grants {
		if err := ix.revoke(ctx, actor, username, kind, g); err != nil {
			return grantsRevoked, consentsForgotten, err
		}
		grantsRevoked++
	}
	return grantsRevoked, consentsForgotten, nil
}

// revoke revokes g in the token store, then forgets it and reports it.
func (ix *Index) revoke(ctx context.Context, actor, username, kind string, g Grant) error {
	if err := ix.tokens.RevokeGrant(ctx, g.GrantID); err != nil {
		return fmt.Errorf("grants: revoke: %w", err)
	}
	ix.audit(ctx, Event{Actor: actor, Action: ActionRevoke, GrantID: g.GrantID, ClientID: g.ClientID, Username: username})
	if err := ix.forget(ctx, kind, g.GrantID); err != nil {
		// The tokens are dead; the documents are pruned when they expire.
		return fmt.Errorf("grants: remove revoked grant: %w", err)
	}
	return nil
}

// Owner returns the user and the document of grant id, or an error
// wrapping oauth2.ErrNotFound when the index does not have it.
func (ix *Index) Owner(ctx context.Context, id string) (string, Grant, error) {
	if !ix.Enabled() || !validID(id) {
		return "", Grant{}, fmt.Errorf("grants: grant: %w", oauth2.ErrNotFound)
	}
	v, err := ix.docs.GetDocument(ctx, OwnerKind(id), id)
	if err != nil {
		return "", Grant{}, fmt.Errorf("grants: grant owner: %w", err)
	}
	var o owner
	if json.Unmarshal(v, &o) != nil || o.Username == "" {
		return "", Grant{}, fmt.Errorf("grants: grant owner: %w", oauth2.ErrNotFound)
	}
	v, err = ix.docs.GetDocument(ctx, userKind(grantKindPrefix, o.Username), id)
	if err != nil {
		return o.Username, Grant{GrantID: id}, fmt.Errorf("grants: grant: %w", err)
	}
	var g Grant
	if json.Unmarshal(v, &g) != nil {
		return o.Username, Grant{GrantID: id}, fmt.Errorf("grants: grant: %w", oauth2.ErrNotFound)
	}
	g.GrantID = id
	return o.Username, g, nil
}

// Revoke revokes the indexed grant id (its codes and tokens stop working
// at once), forgets it and reports it as done by actor. It returns the
// grant and its user, or an error wrapping oauth2.ErrNotFound when the
// index does not know the grant, in which case nothing changed.
func (ix *Index) Revoke(ctx context.Context, actor, id string) (string, Grant, error) {
	user, g, err := ix.Owner(ctx, id)
	if err != nil {
		return "", Grant{}, err
	}
	kind := userKind(grantKindPrefix, user)
	if expired(g.ExpiresAt, ix.now()) {
		// Nothing of it is live: pruned, as a listing would.
		if err := ix.forget(ctx, kind, id); err != nil {
			return "", Grant{}, fmt.Errorf("grants: prune: %w", err)
		}
		return "", Grant{}, fmt.Errorf("grants: grant: %w", oauth2.ErrNotFound)
	}
	return user, g, ix.revoke(ctx, actor, user, kind, g)
}

// Revoked is told that grant id was revoked elsewhere (a replayed code or
// refresh token, RFC 9700 4.14.2; a client's RFC 7009 revocation): it
// reports the revocation as done by actor, with the user and client the
// index knows (clientID when it knows none), and forgets the grant.
func (ix *Index) Revoked(ctx context.Context, actor, id, clientID string) error {
	user, g, err := ix.Owner(ctx, id)
	if err != nil && !stderrors.Is(err, oauth2.ErrNotFound) {
		ix.audit(ctx, Event{Actor: actor, Action: ActionRevoke, GrantID: id, ClientID: clientID})
		return err
	}
	if g.ClientID != "" {
		clientID = g.ClientID
	}
	ix.audit(ctx, Event{Actor: actor, Action: ActionRevoke, GrantID: id, ClientID: clientID, Username: user})
	if user == "" {
		return nil
	}
	return ix.forget(ctx, userKind(grantKindPrefix, user), id)
}
