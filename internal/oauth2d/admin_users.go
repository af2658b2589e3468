package oauth2d

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/secret"
)

// The admin API's users: /admin/users and /admin/users/{username}
// (docs/admin-openapi.yaml). The password is written, never read.

// userRequest is the body of POST /admin/users and PUT
// /admin/users/{username}. PUT replaces the claims and the disabled flag,
// and changes the password only when one is given.
type userRequest struct {
	Username string         `json:"username,omitempty"`
	Password string         `json:"password,omitempty"`
	Claims   map[string]any `json:"claims,omitempty"`
	Disabled bool           `json:"disabled,omitempty"`
}

// userView is the admin API's answer about a user: never the password or
// its hash. Source is "admin", or "config" for a read-only user of the
// YAML file.
type userView struct {
	Username  string         `json:"username"`
	Claims    map[string]any `json:"claims,omitempty"`
	Disabled  bool           `json:"disabled"`
	CreatedAt *time.Time     `json:"created_at,omitempty"`
	UpdatedAt *time.Time     `json:"updated_at,omitempty"`
	Source    string         `json:"source"`
}

func viewOfUser(d *userDoc) userView {
	return userView{Username: d.Username, Claims: d.Claims, Disabled: d.Disabled, CreatedAt: &d.CreatedAt, UpdatedAt: &d.UpdatedAt, Source: sourceAdmin}
}

// adminUserRoutes adds the user routes to the admin API.
func (a *App) adminUserRoutes(m *adminMux) {
	m.handle("POST /admin/users", a.adminCreateUser)
	m.handle("GET /admin/users", a.adminListUsers)
	m.handle("GET /admin/users/{username}", a.adminGetUser)
	m.handle("PUT /admin/users/{username}", a.adminPutUser)
	m.handle("DELETE /admin/users/{username}", a.adminDeleteUser)
}

// prepareUser validates a request and hashes its password into d (keep is
// the hash to keep when the request has no password).
func prepareUser(req *userRequest, d *userDoc, keep string) error {
	var ps problems
	validateUsername(&ps, "username", req.Username)
	if req.Password != "" || keep == "" {
		checkPassword(&ps, "password", req.Password)
	}
	validateClaims(&ps, "claims", req.Claims)
	if err := ps.err(); err != nil {
		return err
	}
	d.Username, d.Claims, d.Disabled, d.PasswordHash = req.Username, req.Claims, req.Disabled, keep
	if req.Password != "" {
		h, err := secret.Hash(req.Password)
		if err != nil {
			return err
		}
		d.PasswordHash = h
	}
	return validateUserDoc(d)
}

func (a *App) adminCreateUser(w http.ResponseWriter, r *http.Request, actor string) {
	docs, ok := a.documents(w)
	if !ok {
		return
	}
	var req userRequest
	if !readAdminBody(w, r, &req) {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	now := a.now().UTC()
	d := &userDoc{CreatedAt: now, UpdatedAt: now, SessionsNotBefore: now}
	if err := prepareUser(&req, d, ""); err != nil {
		a.writePrepareError(w, err)
		return
	}
	if a.idTaken(ctx, w, d.Username, false) {
		return
	}
	body, err := json.Marshal(d)
	if err == nil {
		err = docs.CreateDocument(ctx, docUser, d.Username, body)
	}
	switch {
	case stderrors.Is(err, oauth2.ErrExists):
		writeProblem(w, http.StatusConflict, "Conflict", "user "+strconv.QuoteToASCII(d.Username)+" exists", nil)
		return
	case err != nil:
		a.storeError(w, "create a user", err)
		return
	}
	a.audit(ctx, actor, "user.create", d.Username)
	w.Header().Set("Location", "/admin/users/"+url.PathEscape(d.Username))
	writeJSON(w, http.StatusCreated, viewOfUser(d))
}

// yamlUser returns the user of the YAML file named username.
func (a *App) yamlUser(username string) *UserConfig {
	for i := range a.cfg.Users {
		if a.cfg.Users[i].Username == username {
			return &a.cfg.Users[i]
		}
	}
	return nil
}

func (a *App) adminListUsers(w http.ResponseWriter, r *http.Request, _ string) {
	limit, after, ok := pageParams(w, r)
	if !ok {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	var items []userView
	var names []string
	for _, u := range a.cfg.Users {
		if u.Username > after {
			names = append(names, u.Username)
		}
	}
	sort.Strings(names)
	for _, n := range names[:min(len(names), limit+1)] {
		items = append(items, userView{Username: n, Claims: a.yamlUser(n).Claims, Source: sourceConfig})
	}
	if docs := a.clients.docs; docs != nil {
		list, err := docs.ListDocuments(ctx, docUser, after, limit+1)
		if err != nil {
			a.storeError(w, "list users", err)
			return
		}
		for _, doc := range list {
			d, err := decodeUserDoc(doc.Body)
			if err != nil {
				a.log.Warn("admin: a user document is not valid JSON", "username", doc.ID)
				continue
			}
			items = append(items, viewOfUser(d))
		}
	}
	writeJSON(w, http.StatusOK, pageOf(items, func(u userView) string { return u.Username }, limit))
}

// userOf reads the store user of the request's path, or answers 404.
func (a *App) userOf(ctx context.Context, w http.ResponseWriter, username string) (*userDoc, bool) {
	d, err := a.storeUser(ctx, username)
	if a.failed(w, err, "user", username, "read a user") {
		return nil, false
	}
	return d, true
}

func (a *App) adminGetUser(w http.ResponseWriter, r *http.Request, _ string) {
	username := r.PathValue("username")
	if u := a.yamlUser(username); u != nil {
		writeJSON(w, http.StatusOK, userView{Username: username, Claims: u.Claims, Source: sourceConfig})
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	if d, ok := a.userOf(ctx, w, username); ok {
		writeJSON(w, http.StatusOK, viewOfUser(d))
	}
}

func (a *App) adminPutUser(w http.ResponseWriter, r *http.Request, actor string) {
	docs, username, ok := a.changeTarget(w, r, "username", "user", func(id string) bool { return a.yamlUser(id) != nil })
	if !ok {
		return
	}
	var req userRequest
	if !readAdminBody(w, r, &req) {
		return
	}
	if req.Username != "" && req.Username != username {
		writeInvalid(w, &ConfigError{Field: "username", Problem: "differs from the username of the path"})
		return
	}
	req.Username = username
	ctx, cancel := withTimeout(r)
	defer cancel()
	old, ok := a.userOf(ctx, w, username)
	if !ok {
		return
	}
	now := a.now().UTC()
	d := &userDoc{CreatedAt: old.CreatedAt, UpdatedAt: now, SessionsNotBefore: old.SessionsNotBefore}
	if err := prepareUser(&req, d, old.PasswordHash); err != nil {
		a.writePrepareError(w, err)
		return
	}
	if req.Password != "" || d.Disabled && !old.Disabled {
		// A new password or a disable signs the user out everywhere.
		d.SessionsNotBefore = now
	}
	body, err := json.Marshal(d)
	if err == nil {
		err = docs.UpdateDocument(ctx, docUser, username, body)
	}
	if a.failed(w, err, "user", username, "update a user") {
		return
	}
	// One line per change: what the change did besides the claims.
	action := "user.update"
	if req.Password != "" {
		action += "+passwd"
	}
	switch {
	case d.Disabled && !old.Disabled:
		action += "+disable"
	case !d.Disabled && old.Disabled:
		action += "+enable"
	}
	a.audit(ctx, actor, action, username)
	// A disabled user's grants and consents are withdrawn; the same PUT
	// again finishes what a failure left.
	if d.Disabled && !a.withdrawUser(ctx, w, actor, username, "send the same PUT again") {
		return
	}
	writeJSON(w, http.StatusOK, viewOfUser(d))
}

func (a *App) adminDeleteUser(w http.ResponseWriter, r *http.Request, actor string) {
	docs, username, ok := a.changeTarget(w, r, "username", "user", func(id string) bool { return a.yamlUser(id) != nil })
	if !ok {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	// First disabled (its sessions end), then its grants and consents
	// withdrawn, then deleted: a failure leaves a disabled user, and the
	// same DELETE again finishes the work.
	d, ok := a.userOf(ctx, w, username)
	if !ok {
		return
	}
	var err error
	if !d.Disabled {
		now := a.now().UTC()
		d.Disabled, d.UpdatedAt, d.SessionsNotBefore = true, now, now
		body, _ := json.Marshal(d) // validated when stored
		if err = docs.UpdateDocument(ctx, docUser, username, body); err == nil {
			a.audit(ctx, actor, "user.disable", username)
		}
	}
	if err == nil {
		if !a.withdrawUser(ctx, w, actor, username, "send the same DELETE again") {
			return
		}
		err = docs.DeleteDocument(ctx, docUser, username)
	}
	if a.failed(w, err, "user", username, "delete a user") {
		return
	}
	a.audit(ctx, actor, "user.delete", username)
	w.WriteHeader(http.StatusNoContent)
}
