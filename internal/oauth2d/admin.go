package oauth2d

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/throttle"
)

// The admin API (docs/architecture.md section 6.3, docs/admin-openapi.yaml):
// JSON over HTTP on a listener of its own (admin_listen), authenticated by
// a bearer token (OAUTH2D_ADMIN_TOKEN or admin_token_file, compared as
// SHA-256 digests in constant time) or by a client certificate verified
// against admin_client_ca_file. Errors are problem details (RFC 9457).

// Limits of the admin API.
const (
	// maxAdminBody bounds a request body (oauth2.MaxDocumentBytes).
	maxAdminBody = oauth2.MaxDocumentBytes
	// defaultPageLimit and maxPageLimit bound a list's ?limit=.
	defaultPageLimit = 50
	maxPageLimit     = 500
)

// actorToken is the audit log's actor of a request authenticated by the
// bearer token.
const actorToken = "admin-token"

// adminAPI is the state of the admin API of an App.
type adminAPI struct {
	// tokenDigest is the SHA-256 of the token; hasToken says there is one.
	tokenDigest [sha256.Size]byte
	hasToken    bool
	// cas verify the client certificates of the admin listener; nil
	// without admin_client_ca_file.
	cas      *x509.CertPool
	throttle *throttle.Limiter
	handler  http.Handler
	routes   []string // the patterns of the mux, for the OpenAPI test
}

// adminMux is the admin API's router: routes registered with handle are
// authenticated and listed (adminAPI.routes).
type adminMux struct {
	a   *App
	mux *http.ServeMux
}

// adminActorKey is the context key of the authenticated admin actor.
type adminActorKey struct{}

// handle routes pattern ("METHOD /admin/...") to h. Every request is
// authenticated before the mux sees it (setupAdmin), so h gets the actor.
func (m *adminMux) handle(pattern string, h func(w http.ResponseWriter, r *http.Request, actor string)) {
	m.a.admin.routes = append(m.a.admin.routes, pattern)
	m.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		actor, _ := r.Context().Value(adminActorKey{}).(string)
		h(w, r, actor)
	})
}

// setupAdmin reads the admin credentials and builds the admin API, when
// admin_listen is set.
func (a *App) setupAdmin() error {
	cfg := &a.cfg
	if cfg.AdminListen == "" {
		return nil
	}
	a.admin = &adminAPI{}
	token := cfg.AdminToken
	if token == "" && cfg.AdminTokenFile != "" {
		t, _, err := readSecretFile(cfg.AdminTokenFile)
		if err != nil {
			return &ConfigError{Field: "admin_token_file", Problem: err.Error()}
		}
		if len(t) < minAdminToken {
			return &ConfigError{Field: "admin_token_file", Problem: fmt.Sprintf("the token must be at least %d bytes of random text (make one with: head -c 32 /dev/urandom | base64)", minAdminToken)}
		}
		token = t
	}
	if token != "" {
		a.admin.tokenDigest, a.admin.hasToken = sha256.Sum256([]byte(token)), true
	}
	if cfg.AdminClientCAFile != "" {
		certs, err := loadCAFile(cfg.AdminClientCAFile)
		if err != nil {
			return &ConfigError{Field: "admin_client_ca_file", Problem: err.Error()}
		}
		a.admin.cas = x509.NewCertPool()
		for _, c := range certs {
			a.admin.cas.AddCert(c)
		}
	}
	a.admin.throttle = cfg.AdminThrottle.limiter(a.kv, "admin", a.now)
	m := &adminMux{a: a, mux: http.NewServeMux()}
	a.adminClientRoutes(m) // admin_clients.go
	a.adminUserRoutes(m)   // admin_users.go
	a.adminGrantRoutes(m)  // admin_grants.go
	m.handle("POST /admin/keys/rotate", a.adminRotateKeys)
	// Other files add their routes here, one line each:
	// a.adminXxxRoutes(m) calling m.handle("METHOD /admin/xxx", ...).
	m.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "Not Found", "no such admin resource", nil)
	})
	// Authenticated before routing: a stranger learns nothing of the
	// routes, not even from a 405 or a redirect of the mux.
	a.admin.handler = adminHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := a.adminAuthenticate(w, r)
		if !ok {
			return
		}
		m.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminActorKey{}, actor)))
	}))
	return nil
}

// adminHeaders sets the headers of every admin answer: nothing cached.
func adminHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// AdminHandler returns the admin API's handler, nil when admin_listen is
// not set.
func (a *App) AdminHandler() http.Handler {
	if a.admin == nil {
		return nil
	}
	return a.admin.handler
}

// AdminTLSConfig returns the tls.Config of the admin listener: with
// admin_client_ca_file, the server's certificate and a required client
// certificate verified against those CAs; nil (plain HTTP) otherwise.
func (a *App) AdminTLSConfig() *tls.Config {
	if a.admin == nil || a.admin.cas == nil || a.tls == nil {
		return nil
	}
	c := a.tls.config(tls.NoClientCert).Clone()
	c.ClientAuth = tls.RequireAndVerifyClientCert
	c.ClientCAs = a.admin.cas
	return c
}

// adminAuthenticate authenticates an admin request and returns its actor
// for the audit log: the subject of a verified client certificate, or
// "admin-token". Otherwise it answers 401 with WWW-Authenticate: Bearer
// (RFC 6750 3), after the throttle's delay; the failures are counted per
// source address (internal/throttle), which is refused for a while after
// repeated failures (429) while other addresses are not.
func (a *App) adminAuthenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && a.admin.cas != nil {
		return "cert:" + r.TLS.VerifiedChains[0][0].Subject.String(), true
	}
	ctx := r.Context()
	addr := a.ips.Addr(r)
	res, err := a.admin.throttle.Reserve(ctx, "admin", addr)
	if err != nil {
		var le *throttle.LockedError
		if stderrors.As(err, &le) {
			a.log.Warn("admin authentication throttled", "client_addr", addr.String())
			w.Header().Set("Retry-After", le.RetryAfterHeader())
			writeProblem(w, http.StatusTooManyRequests, "Too Many Requests", "too many failed admin authentications from this address; try again later", nil)
			return "", false
		}
		a.log.Error("admin throttle", "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "the store does not answer", nil)
		return "", false
	}
	token, ok := bearerToken(r)
	if ok && a.admin.hasToken {
		given := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(given[:], a.admin.tokenDigest[:]) == 1 {
			if err := res.Succeed(ctx); err != nil {
				a.log.Error("admin throttle", "err", err)
			}
			return actorToken, true
		}
	}
	delay, _, err := res.Fail(ctx)
	if err != nil {
		a.log.Error("admin throttle", "err", err)
	}
	a.log.Warn("admin authentication failed", "client_addr", addr.String(), "token_given", ok)
	throttle.Wait(ctx, delay)
	w.Header().Set("WWW-Authenticate", `Bearer realm="oauth2d-admin"`)
	detail := "a bearer token is required (Authorization: Bearer ...)"
	if ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oauth2d-admin", error="invalid_token"`)
		detail = "the bearer token is not the admin token"
	}
	writeProblem(w, http.StatusUnauthorized, "Unauthorized", detail, nil)
	return "", false
}

// bearerToken returns the token of an Authorization: Bearer header (RFC
// 6750 2.1).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// problem is an RFC 9457 problem details object.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field and Errors name the fields of a request that are not valid
	// (an extension member, RFC 9457 3.2).
	Field  string         `json:"field,omitempty"`
	Errors []problemField `json:"errors,omitempty"`
}

type problemField struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Problem types of the admin API (RFC 9457 3.1.1): about:blank but for
// the invalid fields of a request.
const problemInvalid = "urn:oauth2d:problem:invalid-request"

// writeProblem answers an RFC 9457 problem. detail never holds a secret.
func writeProblem(w http.ResponseWriter, status int, title, detail string, fields []problemField) {
	p := problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Errors: fields}
	if len(fields) > 0 {
		p.Type = problemInvalid
		p.Field = fields[0].Field
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeInvalid answers 400 naming the fields of err's *ConfigErrors.
func writeInvalid(w http.ResponseWriter, err error) {
	var fields []problemField
	for _, e := range unjoin(err) {
		var ce *ConfigError
		if stderrors.As(e, &ce) {
			fields = append(fields, problemField{Field: ce.Field, Detail: ce.Problem})
		}
	}
	detail := "the request is not valid"
	if len(fields) > 0 {
		detail = fields[0].Field + ": " + fields[0].Detail
	}
	writeProblem(w, http.StatusBadRequest, "Bad Request", detail, fields)
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errBadJSON is decodeJSON's error: the body is not the JSON expected. Its
// text names the problem, never a value of the body.
type errBadJSON struct{ detail string }

func (e *errBadJSON) Error() string { return e.detail }

// decodeJSON reads a request body of one JSON value into v: at most
// maxAdminBody bytes, unknown fields refused. Its errors never quote the
// body.
func decodeJSON(body io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(body, maxAdminBody+1))
	if err != nil {
		return &errBadJSON{"cannot read the body"}
	}
	if len(data) > maxAdminBody {
		return &errBadJSON{fmt.Sprintf("the body is larger than %d bytes", maxAdminBody)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case stderrors.Is(err, io.EOF):
			return &errBadJSON{"the body is empty: a JSON object is expected"}
		case stderrors.As(err, &se):
			return &errBadJSON{fmt.Sprintf("not valid JSON (at byte %d)", se.Offset)}
		case stderrors.As(err, &te):
			if te.Field == "" {
				return &errBadJSON{"a JSON object is expected"}
			}
			return &errBadJSON{fmt.Sprintf("%s: must be of JSON type %s", te.Field, jsonTypeName(te.Type.Kind().String()))}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			if len(name) > 64 {
				name = name[:64]
			}
			return &errBadJSON{fmt.Sprintf("unknown field %q", name)}
		}
		return &errBadJSON{"not valid JSON"}
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !stderrors.Is(err, io.EOF) {
		return &errBadJSON{"the body holds more than one JSON value"}
	}
	return nil
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "map", "struct":
		return "object"
	}
	return "number"
}

// readAdminBody decodes an admin request's JSON body into v, answering 415 or
// 400 when it cannot; it reports whether v was read.
func readAdminBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "the body must be application/json", nil)
			return false
		}
	}
	if err := decodeJSON(r.Body, v); err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", err.Error(), nil)
		return false
	}
	return true
}

// pageParams reads a list's ?limit= (default 50, at most 500) and
// ?after=.
func pageParams(w http.ResponseWriter, r *http.Request) (limit int, after string, ok bool) {
	q := r.URL.Query()
	limit = defaultPageLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			writeProblem(w, http.StatusBadRequest, "Bad Request", fmt.Sprintf("limit: must be a number from 1 to %d", maxPageLimit),
				[]problemField{{Field: "limit", Detail: fmt.Sprintf("must be a number from 1 to %d", maxPageLimit)}})
			return 0, "", false
		}
		limit = n
	}
	return limit, q.Get("after"), true
}

// page is a list's answer: the items, and the cursor of the next page
// ("" on the last).
type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// failed answers err of a store call on the document of what ("client",
// "user") id, if any, and reports whether it did: 404 for
// oauth2.ErrNotFound, else the store's error doing action.
func (a *App) failed(w http.ResponseWriter, err error, what, id, action string) bool {
	switch {
	case err == nil:
		return false
	case stderrors.Is(err, oauth2.ErrNotFound):
		writeProblem(w, http.StatusNotFound, "Not Found", "no "+what+" "+strconv.QuoteToASCII(id), nil)
	default:
		a.storeError(w, action, err)
	}
	return true
}

// pageOf returns the page of at most limit items, in the order of their
// key, and the cursor of the next page when items (up to limit+1 of each
// source after the cursor, merged) holds more.
func pageOf[T any](items []T, key func(T) string, limit int) page[T] {
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	out := page[T]{Items: items}
	if len(items) > limit {
		out.Items = items[:limit]
		out.Next = key(items[limit-1])
	}
	if out.Items == nil {
		out.Items = []T{}
	}
	return out
}

// documents returns the store's documents, or answers 501 when the store
// has none.
func (a *App) documents(w http.ResponseWriter) (oauth2.DocumentStore, bool) {
	if a.clients.docs == nil {
		writeProblem(w, http.StatusNotImplemented, "Not Implemented", errNoDocuments.Error(), nil)
		return nil, false
	}
	return a.clients.docs, true
}

// storeError answers a store failure: 503, logged without the request.
func (a *App) storeError(w http.ResponseWriter, what string, err error) {
	a.log.Error("admin: "+what, "err", err)
	writeProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "the store failed; nothing was changed or the change is unknown: read the resource again", nil)
}

// adminRotateKeys rotates the signing key (App.RotateKeys, the path of
// `oauth2d keys rotate`): body {"delay": "10m"}, optional.
func (a *App) adminRotateKeys(w http.ResponseWriter, r *http.Request, actor string) {
	var req struct {
		Delay string `json:"delay"`
	}
	if r.ContentLength != 0 {
		if !readAdminBody(w, r, &req) {
			return
		}
	}
	delay := DefaultRotationDelay
	if req.Delay != "" {
		d, err := time.ParseDuration(req.Delay)
		if err != nil || d < 0 {
			writeInvalid(w, &ConfigError{Field: "delay", Problem: "not a duration of zero or more (for example 0s, 10m)"})
			return
		}
		delay = d
	}
	rot, err := a.RotateKeys(r.Context(), delay)
	if err != nil {
		a.storeError(w, "rotate keys", err)
		return
	}
	a.audit(r.Context(), actor, "keys.rotate", rot.KeyID)
	out := map[string]any{"kid": rot.KeyID, "alg": rot.Algorithm, "activates_at": rot.ActivatesAt.UTC()}
	if rot.Replaces != "" {
		out["replaces"] = rot.Replaces
		out["replaced_until"] = rot.ReplacedUntil.UTC()
	}
	if c := rot.ForClients; c != nil {
		fc := map[string]any{"kid": c.KeyID, "alg": c.Algorithm, "activates_at": c.ActivatesAt.UTC()}
		if c.Replaces != "" {
			fc["replaces"] = c.Replaces
			fc["replaced_until"] = c.ReplacedUntil.UTC()
		}
		out["for_clients"] = fc
	}
	writeJSON(w, http.StatusOK, out)
}

// withTimeout bounds the store work of an admin request.
func withTimeout(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}
