package oauth2d

import (
	stderrors "errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/grants"
)

// The admin API's grants (docs/admin-openapi.yaml): GET
// /admin/grants?username=U lists what a user allowed, from the grant
// index (internal/grants, grants.go, docs/architecture.md section 7): the remembered consents, whole, and
// the active grants, a page at a time; DELETE /admin/grants/{grant_id}
// revokes a grant, whose codes and tokens stop working at once.

// consentView is a remembered consent in the admin API.
type consentView struct {
	ClientID  string     `json:"client_id"`
	Scope     string     `json:"scope"`
	Claims    []string   `json:"claims,omitempty"`
	GrantedAt time.Time  `json:"granted_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// grantView is a grant in the admin API.
type grantView struct {
	GrantID   string     `json:"grant_id"`
	Username  string     `json:"username"`
	ClientID  string     `json:"client_id"`
	Scope     string     `json:"scope"`
	IssuedAt  time.Time  `json:"issued_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func viewOfGrant(username string, g grants.Grant) grantView {
	v := grantView{GrantID: g.GrantID, Username: username, ClientID: g.ClientID, Scope: g.Scope, IssuedAt: g.IssuedAt}
	if !g.ExpiresAt.IsZero() {
		v.ExpiresAt = &g.ExpiresAt
	}
	return v
}

// grantsPage is the answer of GET /admin/grants: the user's consents, and
// a page of their grants (items, next) as every list of the admin API.
type grantsPage struct {
	Username string        `json:"username"`
	Consents []consentView `json:"consents"`
	Items    []grantView   `json:"items"`
	Next     string        `json:"next,omitempty"`
}

// adminGrantRoutes adds the grant routes to the admin API.
func (a *App) adminGrantRoutes(m *adminMux) {
	m.handle("GET /admin/grants", a.adminListGrants)
	m.handle("DELETE /admin/grants/{grant_id}", a.adminRevokeGrant)
}

func (a *App) adminListGrants(w http.ResponseWriter, r *http.Request, _ string) {
	if _, ok := a.documents(w); !ok {
		return
	}
	limit, after, ok := pageParams(w, r)
	if !ok {
		return
	}
	username := r.URL.Query().Get("username")
	if username == "" {
		writeInvalid(w, &ConfigError{Field: "username", Problem: "required: the user whose grants to list"})
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	consents, err := a.grants.Consents(ctx, username)
	if err != nil {
		a.storeError(w, "list consents", err)
		return
	}
	gs, err := a.grants.Grants(ctx, username)
	if err != nil {
		a.storeError(w, "list grants", err)
		return
	}
	if len(consents) == 0 && len(gs) == 0 && a.yamlUser(username) == nil {
		if _, err := a.storeUser(ctx, username); stderrors.Is(err, oauth2.ErrNotFound) {
			writeProblem(w, http.StatusNotFound, "Not Found", "user "+strconv.QuoteToASCII(username)+" does not exist", nil)
			return
		} else if err != nil {
			a.storeError(w, "read a user", err)
			return
		}
	}
	out := grantsPage{Username: username, Consents: []consentView{}, Items: []grantView{}}
	for _, c := range consents {
		v := consentView{ClientID: c.ClientID, Scope: c.Scope, Claims: c.Claims, GrantedAt: c.GrantedAt}
		if !c.ExpiresAt.IsZero() {
			v.ExpiresAt = &c.ExpiresAt
		}
		out.Consents = append(out.Consents, v)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].GrantID < gs[j].GrantID })
	for _, g := range gs {
		if g.GrantID <= after {
			continue
		}
		if len(out.Items) == limit {
			out.Next = out.Items[limit-1].GrantID
			break
		}
		out.Items = append(out.Items, viewOfGrant(username, g))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *App) adminRevokeGrant(w http.ResponseWriter, r *http.Request, actor string) {
	if _, ok := a.documents(w); !ok {
		return
	}
	id := r.PathValue("grant_id")
	ctx, cancel := withTimeout(r)
	defer cancel()
	_, _, err := a.grants.Revoke(ctx, actor, id)
	switch {
	case stderrors.Is(err, oauth2.ErrNotFound):
		writeProblem(w, http.StatusNotFound, "Not Found", "no active grant has this ID", nil)
		return
	case err != nil:
		a.storeError(w, "revoke a grant", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
