package oauth2d

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	stderrors "errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/secret"
)

// The admin API's clients: /admin/clients and /admin/clients/{client_id}
// (docs/admin-openapi.yaml). The representation is the client's RFC 7591
// metadata; the secret is returned once, when it is made, and stored as an
// argon2id hash.

// clientRequest is the body of POST /admin/clients and PUT
// /admin/clients/{client_id}: the metadata and, optionally, the secret.
type clientRequest struct {
	clientMetadata
	ClientSecret string `json:"client_secret,omitempty"`
}

// clientView is the admin API's answer about a client: the metadata, who
// wrote it ("admin", "registration", or "config" for a read-only client of
// the YAML file), and the secret only in the answer that made it (RFC 7591
// 3.2.1: client_secret_expires_at 0, it does not expire).
type clientView struct {
	clientMetadata
	ClientSecret          string `json:"client_secret,omitempty"`
	ClientSecretExpiresAt *int64 `json:"client_secret_expires_at,omitempty"`
	ClientIDIssuedAt      int64  `json:"client_id_issued_at,omitempty"`
	Source                string `json:"source"`
}

// minClientSecret is the shortest client secret the admin API accepts.
const minClientSecret = 16

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// adminClientRoutes adds the client routes to the admin API.
func (a *App) adminClientRoutes(m *adminMux) {
	m.handle("POST /admin/clients", a.adminCreateClient)
	m.handle("GET /admin/clients", a.adminListClients)
	m.handle("GET /admin/clients/{client_id}", a.adminGetClient)
	m.handle("PUT /admin/clients/{client_id}", a.adminPutClient)
	m.handle("DELETE /admin/clients/{client_id}", a.adminDeleteClient)
}

func viewOfDoc(d *clientDoc) clientView {
	return clientView{clientMetadata: d.clientMetadata, ClientIDIssuedAt: d.ClientIDIssuedAt, Source: d.Source}
}

// prepareClient fills the defaults of RFC 7591 2 in a request, hashes its
// secret (or a new one, for a confidential client using a secret that has
// none: keep is the hash to keep instead) and validates the document. It
// returns the document and the secret made, "" when none was.
func (a *App) prepareClient(req *clientRequest, keep string) (*clientDoc, string, error) {
	if req.TokenEndpointAuthMethod == "" {
		req.TokenEndpointAuthMethod = "client_secret_basic" // RFC 7591 2
	}
	if len(req.GrantTypes) == 0 {
		req.GrantTypes = []string{"authorization_code"} // RFC 7591 2
	}
	d := &clientDoc{clientMetadata: req.clientMetadata, ClientSecretHash: keep}
	if req.TokenEndpointAuthMethod == "none" {
		d.ClientSecretHash = ""
	}
	made := ""
	switch {
	case req.ClientSecret != "":
		if len(req.ClientSecret) < minClientSecret {
			return nil, "", &ConfigError{Field: "client_secret", Problem: "must be at least 16 characters (leave it out to have one made)"}
		}
		if req.TokenEndpointAuthMethod == "none" {
			return nil, "", &ConfigError{Field: "client_secret", Problem: "a public client has no secret (RFC 6749 2.1)"}
		}
	case d.ClientSecretHash == "" && slices.Contains(confidentialMethods, req.TokenEndpointAuthMethod):
		made = randomToken(32)
		req.ClientSecret = made
	}
	if req.ClientSecret != "" {
		h, err := secret.Hash(req.ClientSecret)
		if err != nil {
			return nil, "", err
		}
		d.ClientSecretHash = h
	}
	if err := a.cfg.validateManagedClient(d); err != nil {
		return nil, "", err
	}
	return d, made, nil
}

// writePrepareError answers an error of prepareClient or prepareUser.
func (a *App) writePrepareError(w http.ResponseWriter, err error) {
	var ce *ConfigError
	if stderrors.As(err, &ce) {
		writeInvalid(w, err)
		return
	}
	if stderrors.Is(err, secret.ErrBusy) {
		writeProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "too many hashes at once; try again", nil)
		return
	}
	a.storeError(w, "hash a secret", err)
}

// idTaken answers 409 when id is a client of the YAML file or the name of
// a user (a token's subject is either, RFC 9068 2.2), and reports whether
// it did.
func (a *App) idTaken(ctx context.Context, w http.ResponseWriter, id string, asClient bool) bool {
	conflict := func(detail string) bool {
		writeProblem(w, http.StatusConflict, "Conflict", detail, nil)
		return true
	}
	if _, ok := a.clients.yamlIDs[id]; ok {
		if asClient {
			return conflict("client " + id + " is a client of the configuration file")
		}
		return conflict("a client has this ID: a username must differ from every client ID (RFC 9068 2.2)")
	}
	if slices.ContainsFunc(a.cfg.Users, func(u UserConfig) bool { return u.Username == id }) {
		if asClient {
			return conflict("a user has this name: a client ID must differ from every username (RFC 9068 2.2)")
		}
		return conflict("user " + id + " is a user of the configuration file")
	}
	other := docUser
	if !asClient {
		other = docClient
	}
	if asClient {
		if _, err := a.clients.docs.GetDocument(ctx, docClientDeleted, id); err == nil {
			return conflict("client " + id + " was deleted: its client_id is not given again, since its users' tokens and consents would pass to the new client; choose another")
		} else if !stderrors.Is(err, oauth2.ErrNotFound) {
			a.storeError(w, "read a document", err)
			return true
		}
	}
	if _, err := a.clients.docs.GetDocument(ctx, other, id); err == nil {
		return conflict("a " + other + " kept in the store has this ID: client IDs and usernames must differ (RFC 9068 2.2)")
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		a.storeError(w, "read a document", err)
		return true
	}
	return false
}

func (a *App) adminCreateClient(w http.ResponseWriter, r *http.Request, actor string) {
	docs, ok := a.documents(w)
	if !ok {
		return
	}
	var req clientRequest
	if !readAdminBody(w, r, &req) {
		return
	}
	if req.ClientID == "" {
		req.ClientID = randomToken(16) // RFC 7591 3.2.1: the server issues it
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	d, made, err := a.prepareClient(&req, "")
	if err != nil {
		a.writePrepareError(w, err)
		return
	}
	if a.idTaken(ctx, w, d.ClientID, true) {
		return
	}
	d.Source = sourceAdmin
	d.ClientIDIssuedAt = a.now().Unix()
	if err := a.putClient(ctx, docs, d, true); err != nil {
		if stderrors.Is(err, oauth2.ErrExists) {
			writeProblem(w, http.StatusConflict, "Conflict", "client "+d.ClientID+" exists", nil)
			return
		}
		a.storeError(w, "create a client", err)
		return
	}
	a.audit(ctx, actor, "client.create", d.ClientID)
	v := viewOfDoc(d)
	if made != "" {
		v.ClientSecret = made
		v.ClientSecretExpiresAt = new(int64)
	}
	w.Header().Set("Location", "/admin/clients/"+url.PathEscape(d.ClientID))
	writeJSON(w, http.StatusCreated, v)
}

// deleteClient deletes the store client id and drops this process's
// cache at once. It first marks the client_id as once used
// (docClientDeleted), so that no later client is given it: tokens and
// remembered consents name a client by its ID, and a new client of the
// same ID would inherit those of the deleted one. An ID with no client is
// not marked: the error wraps oauth2.ErrNotFound and nothing changes.
// Deleting again after a failure is safe: the mark is kept.
func (a *App) deleteClient(ctx context.Context, docs oauth2.DocumentStore, id string) error {
	if _, err := docs.GetDocument(ctx, docClient, id); err != nil {
		return err
	}
	body, err := json.Marshal(struct {
		DeletedAt int64 `json:"deleted_at"`
	}{a.now().Unix()})
	if err != nil {
		return err
	}
	if err := docs.CreateDocument(ctx, docClientDeleted, id, body); err != nil && !stderrors.Is(err, oauth2.ErrExists) {
		return err
	}
	err = docs.DeleteDocument(ctx, docClient, id)
	a.clients.invalidate()
	return err
}

// putClient creates or replaces a client document and drops this
// process's cache at once (the others see the DocumentsVersion of the
// clients change).
func (a *App) putClient(ctx context.Context, docs oauth2.DocumentStore, d *clientDoc, create bool) error {
	body, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if create {
		err = docs.CreateDocument(ctx, docClient, d.ClientID, body)
	} else {
		err = docs.UpdateDocument(ctx, docClient, d.ClientID, body)
	}
	a.clients.invalidate()
	return err
}

func (a *App) adminListClients(w http.ResponseWriter, r *http.Request, _ string) {
	limit, after, ok := pageParams(w, r)
	if !ok {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	// The clients of the file and of the store, merged in ID order: up
	// to limit+1 of each after the cursor tells whether a page follows.
	var items []clientView
	var yamlIDs []string
	for id := range a.clients.yamlIDs {
		if id > after {
			yamlIDs = append(yamlIDs, id)
		}
	}
	sort.Strings(yamlIDs)
	for _, id := range yamlIDs[:min(len(yamlIDs), limit+1)] {
		items = append(items, clientView{clientMetadata: metadataOf(a.clients.yamlIDs[id]), Source: sourceConfig})
	}
	if docs := a.clients.docs; docs != nil {
		list, err := docs.ListDocuments(ctx, docClient, after, limit+1)
		if err != nil {
			a.storeError(w, "list clients", err)
			return
		}
		for _, doc := range list {
			d, err := decodeClientDoc(doc.Body)
			if err != nil {
				a.log.Warn("admin: a client document is not valid JSON", "client_id", doc.ID)
				continue
			}
			items = append(items, viewOfDoc(d))
		}
	}
	writeJSON(w, http.StatusOK, pageOf(items, func(c clientView) string { return c.ClientID }, limit))
}

// clientOf reads the client of the request's path: a YAML client (yaml
// set), a store client (doc set), or 404 answered.
func (a *App) clientOf(ctx context.Context, w http.ResponseWriter, id string) (yaml *ClientConfig, doc *clientDoc, ok bool) {
	if c, found := a.clients.yamlIDs[id]; found {
		return c, nil, true
	}
	if a.clients.docs == nil || oauth2.CheckDocument(docClient, id, nil) != nil {
		writeProblem(w, http.StatusNotFound, "Not Found", "no client "+strconv.QuoteToASCII(id), nil)
		return nil, nil, false
	}
	body, err := a.clients.docs.GetDocument(ctx, docClient, id)
	if a.failed(w, err, "client", id, "read a client") {
		return nil, nil, false
	}
	d, err := decodeClientDoc(body)
	if err != nil {
		a.storeError(w, "read a client", err)
		return nil, nil, false
	}
	return nil, d, true
}

func (a *App) adminGetClient(w http.ResponseWriter, r *http.Request, _ string) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	yaml, d, ok := a.clientOf(ctx, w, r.PathValue("client_id"))
	switch {
	case !ok:
	case yaml != nil:
		writeJSON(w, http.StatusOK, clientView{clientMetadata: metadataOf(yaml), Source: sourceConfig})
	default:
		writeJSON(w, http.StatusOK, viewOfDoc(d))
	}
}

// readOnly answers 403 for a change to a client or user of the YAML file.
func readOnly(w http.ResponseWriter, what string) {
	writeProblem(w, http.StatusForbidden, "Forbidden", what+" is defined in the configuration file, which the admin API does not change", nil)
}

// changeTarget reads what a PUT or DELETE of a store-kept client or user
// changes: the store's documents and the ID of the path parameter param.
// It answers the request itself and returns false when the store keeps
// no documents (501) or the ID is one of the YAML file (inFile, 403).
func (a *App) changeTarget(w http.ResponseWriter, r *http.Request, param, what string, inFile func(string) bool) (oauth2.DocumentStore, string, bool) {
	docs, ok := a.documents(w)
	if !ok {
		return nil, "", false
	}
	id := r.PathValue(param)
	if inFile(id) {
		readOnly(w, what+" "+id)
		return nil, "", false
	}
	return docs, id, true
}

func (a *App) adminPutClient(w http.ResponseWriter, r *http.Request, actor string) {
	docs, id, ok := a.changeTarget(w, r, "client_id", "client", a.clients.inFile)
	if !ok {
		return
	}
	var req clientRequest
	if !readAdminBody(w, r, &req) {
		return
	}
	if req.ClientID != "" && req.ClientID != id {
		writeInvalid(w, &ConfigError{Field: "client_id", Problem: "differs from the client ID of the path"})
		return
	}
	req.ClientID = id
	ctx, cancel := withTimeout(r)
	defer cancel()
	_, old, ok := a.clientOf(ctx, w, id)
	if !ok {
		return
	}
	d, made, err := a.prepareClient(&req, old.ClientSecretHash)
	if err != nil {
		a.writePrepareError(w, err)
		return
	}
	d.Source, d.ClientIDIssuedAt, d.RegistrationAccessTokenHash = old.Source, old.ClientIDIssuedAt, old.RegistrationAccessTokenHash
	if err := a.putClient(ctx, docs, d, false); err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			writeProblem(w, http.StatusNotFound, "Not Found", "no client "+strconv.QuoteToASCII(id), nil)
			return
		}
		a.storeError(w, "update a client", err)
		return
	}
	action := "client.update"
	if req.ClientSecret != "" {
		action = "client.update+secret"
	}
	a.audit(ctx, actor, action, id)
	v := viewOfDoc(d)
	if made != "" {
		v.ClientSecret = made
		v.ClientSecretExpiresAt = new(int64)
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *App) adminDeleteClient(w http.ResponseWriter, r *http.Request, actor string) {
	docs, id, ok := a.changeTarget(w, r, "client_id", "client", a.clients.inFile)
	if !ok {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	if oauth2.CheckDocument(docClient, id, nil) != nil {
		writeProblem(w, http.StatusNotFound, "Not Found", "no client "+strconv.QuoteToASCII(id), nil)
		return
	}
	if a.failed(w, a.deleteClient(ctx, docs, id), "client", id, "delete a client") {
		return
	}
	a.audit(ctx, actor, "client.delete", id)
	w.WriteHeader(http.StatusNoContent)
}
