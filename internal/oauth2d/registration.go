package oauth2d

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/jwksfetch"
	"github.com/oauth2d/oauth2/internal/secret"
	"github.com/oauth2d/oauth2/internal/throttle"
	"github.com/oauth2d/oauth2/server"
)

// Dynamic client registration (RFC 7591, OpenID Connect Dynamic Client
// Registration 1.0) and its management (RFC 7592), docs/architecture.md
// section 6: POST /register makes a client document (source
// "registration", managed_client.go) and answers its client_id, a
// client_secret for the methods that use one, and a registration access
// token, each returned once and stored hashed; /register/{client_id} reads,
// replaces and deletes it for whoever holds that token.

// Paths of the registration endpoints, under the issuer.
const (
	pathRegister = "/register"
	// maxRegistrationBody bounds a registration request's body.
	maxRegistrationBody = 64 << 10
	// registrationSubject is the throttle subject of registrations: the
	// limiter counts them per client address.
	registrationSubject = "register"
)

// registrar serves the registration endpoints.
type registrar struct {
	docs oauth2.DocumentStore
	// initialToken is the SHA-256 of the initial access token, nil when
	// registration is open.
	initialToken []byte
	limiter      *throttle.Limiter
}

// newJWKSFetcher makes the fetcher of clients' jwks_uri (internal/jwksfetch),
// the server's JWKSResolver and the registration's check.
func (a *App) newJWKSFetcher() *jwksfetch.Fetcher {
	a.jwks = jwksfetch.New(jwksfetch.Config{
		AllowPrivate: a.cfg.JWKSFetch.AllowPrivate,
		TLS:          a.cfg.JWKSFetch.TLS,
		FetchFailed: func(uri string, err error) {
			a.log.Warn("a client's jwks_uri cannot be fetched; its private_key_jwt assertions fail until it can", "jwks_uri", uri, "err", err)
		},
	})
	return a.jwks
}

// setupRegistration makes the registrar when registration is enabled, and
// sets the registration_endpoint the metadata advertises (RFC 8414 2,
// Discovery 1.0 3).
func (a *App) setupRegistration(sc *server.Config) error {
	rc := &a.cfg.Registration
	if !rc.Enabled {
		return nil
	}
	docs := a.clients.docs
	if docs == nil {
		return &ConfigError{Field: "registration.enabled", Problem: "the store does not keep clients (no oauth2.DocumentStore)"}
	}
	tok, err := rc.initialAccessToken()
	if err != nil {
		return err
	}
	r := &registrar{docs: docs, limiter: &throttle.Limiter{KV: a.kv, Name: "register",
		Limit: rc.RateLimit, Window: rc.RateWindow, Now: a.now}}
	if r.limiter.Limit == 0 {
		r.limiter.Limit = DefaultRegistrationRateLimit
	}
	if r.limiter.Window == 0 {
		r.limiter.Window = DefaultRegistrationRateWindow
	}
	if tok != "" {
		h := sha256.Sum256([]byte(tok))
		r.initialToken = h[:]
	}
	a.register = r
	sc.Endpoints.Registration = a.issuer + pathRegister
	return nil
}

// registrationRoutes adds the registration endpoints to routes() when
// registration is enabled.
func (a *App) registrationRoutes(handle func(pattern string, h http.HandlerFunc)) {
	if a.register == nil {
		return
	}
	// RFC 7591 3: POST; RFC 7592 2: GET, PUT, DELETE.
	handle(pathRegister, a.handleRegister)
	handle(pathRegister+"/{client_id}", a.handleClientConfiguration)
}

// handleRegister is the client registration endpoint (RFC 7591 3).
func (a *App) handleRegister(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeRegistrationError(w, &registrationError{code: "invalid_request", description: "use POST (RFC 7591 3.1)", status: http.StatusMethodNotAllowed})
		return
	}
	if !a.admitRegistration(w, r) {
		return
	}
	if a.register.initialToken != nil {
		// RFC 7591 3: the initial access token is a bearer token (RFC
		// 6750 2.1).
		tok, _ := bearerToken(r)
		h := sha256.Sum256([]byte(tok))
		if tok == "" || subtle.ConstantTimeCompare(h[:], a.register.initialToken) != 1 {
			writeInvalidToken(w)
			return
		}
	}
	req, rerr := readRegistration(w, r)
	if rerr != nil {
		writeRegistrationError(w, rerr)
		return
	}
	ctx := r.Context()
	doc, rerr := a.checkRegistration(ctx, req, nil)
	if rerr != nil {
		writeRegistrationError(w, rerr)
		return
	}
	resp := &registrationResponse{}
	if slices.Contains(confidentialMethods, doc.TokenEndpointAuthMethod) {
		if resp.ClientSecret, doc.ClientSecretHash, rerr = newClientSecret(); rerr != nil {
			a.registrationFailed(w, rerr)
			return
		}
	}
	resp.RegistrationAccessToken = randomToken(32)
	doc.RegistrationAccessTokenHash = tokenHash(resp.RegistrationAccessToken)
	doc.Source = sourceRegistration
	doc.ClientIDIssuedAt = a.now().Unix()
	var err error
	for range 3 {
		doc.ClientID = randomToken(16)
		if err = a.putClientDoc(ctx, doc, true); !stderrors.Is(err, oauth2.ErrExists) {
			break
		}
	}
	if err != nil {
		a.registrationFailed(w, err)
		return
	}
	a.audit(ctx, registrantActor(r, a), "client.register", doc.ClientID)
	resp.fill(doc, a.issuer)
	writeRegistrationJSON(w, http.StatusCreated, resp)
}

// handleClientConfiguration is the client configuration endpoint of RFC
// 7592 2: GET reads, PUT replaces, DELETE removes the registered client
// whose registration access token the request carries. A wrong or missing
// token is 401 invalid_token whether or not the client exists.
func (a *App) handleClientConfiguration(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPut, http.MethodDelete:
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		writeRegistrationError(w, &registrationError{code: "invalid_request", description: "use GET, PUT or DELETE (RFC 7592 2)", status: http.StatusMethodNotAllowed})
		return
	}
	ctx := r.Context()
	id := r.PathValue("client_id")
	tok, _ := bearerToken(r)
	doc, err := a.registeredClient(ctx, id, tok)
	if err != nil {
		if stderrors.Is(err, errRegistrationToken) {
			writeInvalidToken(w)
			return
		}
		a.registrationFailed(w, err)
		return
	}
	switch r.Method {
	case http.MethodGet:
		resp := &registrationResponse{RegistrationAccessToken: tok}
		resp.fill(doc, a.issuer)
		writeRegistrationJSON(w, http.StatusOK, resp)
	case http.MethodPut:
		a.updateRegistration(w, r, doc, tok)
	case http.MethodDelete:
		if err := a.deleteClient(ctx, a.register.docs, id); err != nil && !stderrors.Is(err, oauth2.ErrNotFound) {
			a.registrationFailed(w, err)
			return
		}
		a.audit(ctx, "registration-access-token:"+id, "client.unregister", id)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}
}

// updateRegistration replaces a registered client's metadata (RFC 7592
// 2.2). The client keeps its client_id, its registration access token and
// its secret; a secret is issued when it moves to a method that needs one,
// and dropped when it moves to one that does not.
func (a *App) updateRegistration(w http.ResponseWriter, r *http.Request, old *clientDoc, tok string) {
	if !a.admitRegistration(w, r) {
		return
	}
	req, rerr := readRegistration(w, r)
	if rerr != nil {
		writeRegistrationError(w, rerr)
		return
	}
	if req.ClientID != old.ClientID {
		writeRegistrationError(w, metadataError("client_id: must be the client's own (RFC 7592 2.2)"))
		return
	}
	ctx := r.Context()
	doc, rerr := a.checkRegistration(ctx, req, old)
	if rerr != nil {
		writeRegistrationError(w, rerr)
		return
	}
	wasConfidential := slices.Contains(confidentialMethods, old.TokenEndpointAuthMethod)
	if req.ClientSecret != "" {
		// RFC 7592 2.2: a client_secret sent must be the current one; the
		// client never chooses its own.
		if !wasConfidential || old.ClientSecretHash == "" || !secret.Verify(old.ClientSecretHash, req.ClientSecret) {
			writeRegistrationError(w, metadataError("client_secret: not the client's current secret (RFC 7592 2.2)"))
			return
		}
	}
	resp := &registrationResponse{RegistrationAccessToken: tok}
	switch isConfidential := slices.Contains(confidentialMethods, doc.TokenEndpointAuthMethod); {
	case isConfidential && wasConfidential && old.ClientSecretHash != "":
		doc.ClientSecretHash = old.ClientSecretHash
	case isConfidential:
		var err *registrationError
		if resp.ClientSecret, doc.ClientSecretHash, err = newClientSecret(); err != nil {
			a.registrationFailed(w, err)
			return
		}
	}
	doc.ClientID = old.ClientID
	doc.ClientIDIssuedAt = old.ClientIDIssuedAt
	doc.Source = sourceRegistration
	doc.RegistrationAccessTokenHash = old.RegistrationAccessTokenHash
	if err := a.putClientDoc(ctx, doc, false); err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			// Deleted meanwhile: as for a token of no client.
			writeInvalidToken(w)
			return
		}
		a.registrationFailed(w, err)
		return
	}
	a.audit(ctx, "registration-access-token:"+doc.ClientID, "client.reregister", doc.ClientID)
	resp.fill(doc, a.issuer)
	writeRegistrationJSON(w, http.StatusOK, resp)
}

// errRegistrationToken: the registration access token does not open this
// client (missing, wrong, or no such registered client).
var errRegistrationToken = stderrors.New("oauth2d: registration access token does not match")

// registeredClient returns the registered client id whose registration
// access token is tok, or errRegistrationToken. A client written by the
// admin API has no registration access token and cannot be managed here.
func (a *App) registeredClient(ctx context.Context, id, tok string) (*clientDoc, error) {
	if tok == "" || id == "" || oauth2.CheckDocument(docClient, id, nil) != nil {
		return nil, errRegistrationToken
	}
	body, err := a.register.docs.GetDocument(ctx, docClient, id)
	if err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			return nil, errRegistrationToken
		}
		return nil, fmt.Errorf("oauth2d: read registered client: %w", err)
	}
	doc, err := decodeClientDoc(body)
	if err != nil {
		return nil, err
	}
	want := doc.RegistrationAccessTokenHash
	got := tokenHash(tok)
	if doc.Source != sourceRegistration || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, errRegistrationToken
	}
	return doc, nil
}

// checkRegistration turns a registration request into the client document
// it would store, without ID or secrets, checking it against the server's
// policy (registrationPolicy), the rules of every store-kept client
// (Config.validateManagedClient) and, when it has a jwks_uri, fetching it
// once through the SSRF-guarded fetcher. old is the client an update
// replaces, nil for a registration.
func (a *App) checkRegistration(ctx context.Context, req *registrationRequest, old *clientDoc) (*clientDoc, *registrationError) {
	p, err := a.registrationPolicy()
	if err != nil {
		return nil, &registrationError{code: "server_error", description: "the server's metadata cannot be made", status: http.StatusInternalServerError}
	}
	if rerr := asRegistrationError(p.normalize(req)); rerr != nil {
		return nil, rerr
	}
	doc := &clientDoc{clientMetadata: clientMetadata{
		ClientID:                           "registration",
		RedirectURIs:                       req.RedirectURIs,
		PostLogoutRedirectURIs:             req.PostLogoutRedirectURIs,
		GrantTypes:                         req.GrantTypes,
		ResponseTypes:                      req.ResponseTypes,
		Scope:                              req.Scope,
		TokenEndpointAuthMethod:            req.TokenEndpointAuthMethod,
		JWKS:                               req.JWKS,
		JWKSURI:                            req.JWKSURI,
		ClientName:                         req.ClientName,
		LogoURI:                            req.LogoURI,
		Contacts:                           req.Contacts,
		SubjectType:                        req.SubjectType,
		IDTokenSignedResponseAlg:           req.IDTokenSignedResponseAlg,
		DPoPBoundAccessTokens:              req.DPoPBoundAccessTokens,
		RequirePushedAuthorizationRequests: req.RequirePushedAuthorizationRequests,
		TLSClientAuthSubjectDN:             req.TLSClientAuthSubjectDN,
		TLSClientAuthSANDNS:                req.TLSClientAuthSANDNS,
		TLSClientAuthSANURI:                req.TLSClientAuthSANURI,
		TLSClientAuthSANIP:                 req.TLSClientAuthSANIP,
		TLSClientAuthSANEmail:              req.TLSClientAuthSANEmail,
		TLSClientCertBoundAccessTokens:     req.TLSClientCertBoundAccessTokens,
	}, Source: sourceRegistration}
	if old != nil {
		doc.ClientID = old.ClientID
	}
	if slices.Contains(confidentialMethods, doc.TokenEndpointAuthMethod) {
		// A stand-in for the secret, hashed only once the rest passed.
		if doc.ClientSecretHash, err = dummySecretHash(); err != nil {
			return nil, &registrationError{code: "server_error", description: "cannot hash", status: http.StatusInternalServerError}
		}
	}
	if rerr := asRegistrationError(a.cfg.validateManagedClient(doc)); rerr != nil {
		return nil, rerr
	}
	doc.ClientSecretHash = ""
	if doc.JWKSURI != "" && (old == nil || old.JWKSURI != doc.JWKSURI) {
		// RFC 7591 2: the set must be reachable and hold public keys; it
		// is fetched once here and then when assertions need it.
		if _, err := a.jwks.Fetch(ctx, doc.JWKSURI); err != nil {
			a.log.Info("registration: the jwks_uri could not be used", "err", err)
			return nil, metadataError("jwks_uri: %s", jwksFetchProblem(err))
		}
	}
	return doc, nil
}

// registrationPolicy reads what the server serves from its metadata.
func (a *App) registrationPolicy() (*registrationPolicy, error) {
	md, err := a.server.Metadata()
	if err != nil {
		return nil, err
	}
	return &registrationPolicy{
		authMethods:   md.TokenEndpointAuthMethodsSupported,
		grantTypes:    md.GrantTypesSupported,
		responseTypes: md.ResponseTypesSupported,
		scopes:        md.ScopesSupported,
	}, nil
}

// asRegistrationError maps a validation error to RFC 7591 3.2.2: a
// problem of redirect_uris is invalid_redirect_uri, any other
// invalid_client_metadata; the description lists the problems by field.
func asRegistrationError(err error) *registrationError {
	if err == nil {
		return nil
	}
	var re *registrationError
	if stderrors.As(err, &re) {
		return re
	}
	code := errInvalidClientMetadata
	var texts []string
	for _, e := range unjoin(err) {
		var ce *ConfigError
		if stderrors.As(e, &ce) && strings.HasPrefix(ce.Field, "redirect_uris") {
			code = errInvalidRedirectURI
		}
		texts = append(texts, e.Error())
	}
	return &registrationError{code: code, description: strings.Join(texts, "; ")}
}

// putClientDoc stores doc, creating it or replacing an existing one; the
// cache of this process is dropped at once, the others see the store's
// DocumentsVersion change.
func (a *App) putClientDoc(ctx context.Context, doc *clientDoc, create bool) error {
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("oauth2d: encode client: %w", err)
	}
	if len(body) > oauth2.MaxDocumentBytes {
		return metadataError("the client's metadata is larger than %d bytes", oauth2.MaxDocumentBytes)
	}
	return a.putClient(ctx, a.register.docs, doc, create) // admin_clients.go
}

// registrantActor names who registered a client in the audit line: an
// anonymous registrant, by client address (and, when registration is
// protected, holding the initial access token).
func registrantActor(r *http.Request, a *App) string {
	return "registrant@" + a.ips.Addr(r).String()
}

// admitRegistration counts a registration or update from the request's
// client address (internal/throttle, keyed by the address alone: a
// stranger elsewhere cannot use up anybody's allowance) and answers 429
// when the address made too many in the window.
func (a *App) admitRegistration(w http.ResponseWriter, r *http.Request) bool {
	_, err := a.register.limiter.Reserve(r.Context(), registrationSubject, a.ips.Addr(r))
	if err == nil {
		return true
	}
	var le *throttle.LockedError
	if stderrors.As(err, &le) {
		w.Header().Set("Retry-After", le.RetryAfterHeader())
		writeRegistrationError(w, &registrationError{code: "temporarily_unavailable", description: "too many registrations from this address; try again later", status: http.StatusTooManyRequests})
		return false
	}
	a.registrationFailed(w, err)
	return false
}

// readRegistration reads and parses a registration or update body: JSON
// (RFC 7591 3.1), at most maxRegistrationBody bytes.
func readRegistration(w http.ResponseWriter, r *http.Request) (*registrationRequest, *registrationError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, metadataError("the request must be application/json (RFC 7591 3.1)")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistrationBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if stderrors.As(err, &mbe) {
			return nil, &registrationError{code: errInvalidClientMetadata, description: fmt.Sprintf("the request body is larger than %d bytes", maxRegistrationBody), status: http.StatusRequestEntityTooLarge}
		}
		return nil, metadataError("the request body cannot be read")
	}
	req, err := parseRegistration(body)
	if err != nil {
		return nil, asRegistrationError(err)
	}
	return req, nil
}

// registrationResponse is the client information response (RFC 7591
// 3.2.1, RFC 7592 3).
type registrationResponse struct {
	clientMetadata
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at,omitempty"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri"`
}

// fill copies the registered metadata of doc into the response.
func (resp *registrationResponse) fill(doc *clientDoc, issuer string) {
	resp.clientMetadata = doc.clientMetadata
	resp.ClientIDIssuedAt = doc.ClientIDIssuedAt
	if doc.ClientSecretHash != "" {
		// RFC 7591 3.2.1: 0, the secret does not expire.
		zero := int64(0)
		resp.ClientSecretExpiresAt = &zero
	}
	resp.RegistrationClientURI = issuer + pathRegister + "/" + doc.ClientID
}

// newClientSecret makes a client secret of 256 random bits and its
// argon2id hash.
func newClientSecret() (string, string, *registrationError) {
	s := randomToken(32)
	h, err := secret.Hash(s)
	if err != nil {
		return "", "", &registrationError{code: "server_error", description: "cannot hash the client secret", status: http.StatusInternalServerError}
	}
	return s, h, nil
}

// tokenHash is the stored form of a registration access token: its
// SHA-256, base64url. The token has 256 random bits, so a fast hash is
// enough.
func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// registrationFailed answers a failure of the server or its store: 503
// temporarily_unavailable when the store is down, 500 otherwise, with the
// cause in the log only.
func (a *App) registrationFailed(w http.ResponseWriter, err error) {
	var re *registrationError
	if stderrors.As(err, &re) {
		writeRegistrationError(w, re)
		return
	}
	a.log.Error("registration failed", "err", err)
	if stderrors.Is(err, oauth2.ErrUnavailable) {
		writeRegistrationError(w, &registrationError{code: "temporarily_unavailable", description: "the store is unavailable", status: http.StatusServiceUnavailable})
		return
	}
	writeRegistrationError(w, &registrationError{code: "server_error", description: "the registration failed", status: http.StatusInternalServerError})
}

// writeInvalidToken answers a missing or wrong initial or registration
// access token (RFC 6750 3.1, RFC 7591 3, RFC 7592 2).
func writeInvalidToken(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeRegistrationError(w, &registrationError{code: errInvalidToken, description: "missing or invalid access token", status: http.StatusUnauthorized})
}

// writeRegistrationError writes an error response (RFC 7591 3.2.2).
func writeRegistrationError(w http.ResponseWriter, e *registrationError) {
	status := e.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	writeRegistrationJSON(w, status, map[string]string{"error": e.code, "error_description": e.description})
}

// writeRegistrationJSON writes v as the JSON response, never cached (it
// may hold credentials).
func writeRegistrationJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
