package oauth2d

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/grants"
)

// The grant index (internal/grants, docs/architecture.md section 7): the
// consents the pages remember and the grants issued for users, kept in the
// store's DocumentStore, which /account, the admin API and the CLI list
// and withdraw. The App records a grant where it already hears of it: the
// code (or token) of an authorization request (authManager), and every
// token the token endpoint issues for a user (tokenIssued); a token
// without a user (client credentials) costs nothing more. A store without
// a DocumentStore keeps no index: /account then lists nothing.

// newGrantIndex makes the index over the App's store.
func (a *App) newGrantIndex() *grants.Index {
	docs, _ := a.rawStore.(oauth2.DocumentStore)
	return grants.New(grants.Config{Tokens: a.store, Docs: docs, Now: a.now, Audit: a.auditGrant})
}

// auditGrant writes the audit line of a grant revocation (audit.go): the
// grant ID is the target, with its client and user.
func (a *App) auditGrant(ctx context.Context, e grants.Event) {
	var extra []slog.Attr
	if e.ClientID != "" {
		extra = append(extra, slog.String("client_id", e.ClientID))
	}
	if e.Username != "" {
		extra = append(extra, slog.String("username", e.Username))
	}
	a.audit(ctx, e.Actor, e.Action, e.GrantID, extra...)
}

// clientName returns the client_name (RFC 7591 2) of a client kept in the
// store, for the account page; "" when it has none.
func (a *App) clientName(ctx context.Context, clientID string) string {
	docs := a.clients.docs
	if docs == nil || oauth2.CheckDocument(docClient, clientID, nil) != nil {
		return ""
	}
	body, err := docs.GetDocument(ctx, docClient, clientID)
	if err != nil {
		return ""
	}
	d, err := decodeClientDoc(body)
	if err != nil {
		return ""
	}
	return d.ClientName
}

// indexGrant records the code or tokens ti issued for a user in the index.
// The code or token is issued whatever happens here: a failure is logged,
// and the grant is then not listed (its tokens expire as usual).
func (a *App) indexGrant(ctx context.Context, ti oauth2.TokenInfo) {
	if ti == nil || ti.GetUserID() == "" || ti.GetGrantID() == "" {
		return
	}
	if err := a.grants.Issued(ctx, ti); err != nil {
		a.log.Error("grant index: record the grant", "client_id", ti.GetClientID(), "err", err)
	}
}

// accountRoutes adds the account page to routes().
func (a *App) accountRoutes(handle func(pattern string, h http.HandlerFunc)) {
	handle("GET /account", a.web.AccountPage)
	handle("POST /account", a.web.Withdraw)
}

// managerStore is the token store of the manager: the App's store, with
// every grant revocation the manager makes (a replayed code or refresh
// token at the token endpoint, RFC 9700 4.14.2; a refresh token a client
// revokes, RFC 7009 2.1) reported to the audit log and removed from the
// index, and the tokens of a client that is no longer registered not found
// (registry.go, liveToken).
type managerStore struct {
	*instrumentedStore
	app *App
}

// RevokeGrant revokes the grant, then reports it.
func (s managerStore) RevokeGrant(ctx context.Context, grantID string) error {
	if err := s.instrumentedStore.RevokeGrant(ctx, grantID); err != nil || grantID == "" {
		return err
	}
	actor, clientID := "server", ""
	if rw := recordOf(ctx); rw != nil {
		clientID = rw.clientID
		switch {
		case rw.route != nil && rw.route.label == "/revoke":
			actor = "client:" + rw.clientID
		case rw.route != nil && rw.route.label == "/token":
			actor = "replay"
		}
	}
	if err := s.app.grants.Revoked(ctx, actor, grantID, clientID); err != nil {
		// The grant is revoked; its documents are pruned once expired.
		s.app.log.Error("grant index: forget a revoked grant", "err", err)
	}
	return nil
}
