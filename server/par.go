package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/dpop"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// Pushed authorization requests (RFC 9126): a client posts the parameters
// of an authorization request to the pushed authorization request endpoint,
// authenticating as at the token endpoint, and gets a one-time request_uri
// that stands for them at the authorization endpoint. The parameters are
// kept in the server's KVStore, so that any process sharing it serves the
// authorization request.
// https://www.rfc-editor.org/rfc/rfc9126

// PathPushedAuthorization is the default path of the pushed authorization
// request endpoint (RFC 9126 2), under the issuer.
const PathPushedAuthorization = "/par"

// RequestURIPrefix starts every request_uri the pushed authorization
// request endpoint issues (RFC 9126 2.2): the URN namespace RFC 9126 7.1
// registers, followed by 256 random bits, base64url.
const RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// Defaults of PARConfig.
const (
	// DefaultPARLifetime is how long a request_uri may wait for its first
	// use at the authorization endpoint (RFC 9126 2.2 expires_in).
	DefaultPARLifetime = 60 * time.Second
	// DefaultPARResumeLifetime is how long a request_uri stays usable once
	// the authorization endpoint has first seen it, so that the request
	// can be resumed after the login and consent pages; it is consumed
	// when the authorization ends with a code or a token.
	DefaultPARResumeLifetime = 10 * time.Minute
)

// PARConfig configures pushed authorization requests (RFC 9126).
type PARConfig struct {
	// Required makes the authorization endpoint accept requests only
	// through a request_uri of the pushed authorization request endpoint
	// (RFC 9126 5 require_pushed_authorization_requests); a client may
	// also require it of itself (oauth2.PushedAuthorizationClient).
	Required bool
	// Lifetime is the expires_in of a request_uri: how long it may wait
	// for its first use. DefaultPARLifetime when not positive.
	Lifetime time.Duration
	// ResumeLifetime is how long a request_uri stays usable after its
	// first use at the authorization endpoint, while the user logs in and
	// consents. DefaultPARResumeLifetime when not positive.
	ResumeLifetime time.Duration
}

func (c *PARConfig) lifetime() time.Duration {
	if c.Lifetime <= 0 {
		return DefaultPARLifetime
	}
	return c.Lifetime
}

func (c *PARConfig) resumeLifetime() time.Duration {
	if c.ResumeLifetime <= 0 {
		return DefaultPARResumeLifetime
	}
	return c.ResumeLifetime
}

// KVStore keys of pushed requests: the request, by a hash of its
// request_uri, and the mark of a request_uri that has been used.
const (
	kvPAR     = "oauth2/par/"
	kvPARUsed = "oauth2/par-used/"
	// parRandomBytes is the entropy of a request_uri.
	parRandomBytes = 32
)

// Errors of pushed authorization requests.
var (
	errPARMethod         = errors.WithDescription(errors.ErrInvalidRequest, "The pushed authorization request endpoint accepts only POST requests")
	errPARRequestURI     = errors.WithDescription(errors.ErrInvalidRequest, "A pushed authorization request must not have a request_uri")
	errPARQuery          = errors.WithDescription(errors.ErrInvalidRequest, "The parameters of a pushed authorization request must be in the request body")
	errPARRequired       = errors.WithDescription(errors.ErrInvalidRequest, "Authorization requests of this client must be pushed to the pushed authorization request endpoint first")
	errInvalidRequestURI = errors.WithDescription(errors.ErrInvalidRequestURI,
		"The request_uri is unknown, expired, already used, or was pushed by another client")
)

// pushedRecord is a pushed request as the KVStore keeps it.
type pushedRecord struct {
	// Client is the client that pushed it.
	Client string `json:"c"`
	// Params are the parameters of the authorization request, form
	// encoded.
	Params string `json:"p"`
	// Started is set once the authorization endpoint has seen it.
	Started bool `json:"s,omitempty"`
}

// pushedRequest is a pushed request that the authorization endpoint is
// serving: the key of its record, to consume it when the authorization
// ends.
type pushedRequest struct {
	key string
}

// pushingKey marks the context of the authorization request the pushed
// authorization request endpoint validates.
type pushingKey struct{}

// HandlePushedAuthorizationRequest serves the pushed authorization request
// endpoint (RFC 9126 2), to route at the metadata's
// pushed_authorization_request_endpoint (PathPushedAuthorization by
// default).
//
// The request is a form-encoded POST, read with the token endpoint's strict
// parsing (every parameter in the body), whose client authenticates by any
// method the token endpoint accepts, through the same code and the same
// ClientAuthHandler (RFC 9126 2.1). Its parameters are an authorization
// request of that client, without request_uri, and are validated as the
// authorization endpoint validates them (the client_id and redirect_uri,
// response_type, scope, state, PKCE, resource indicators and dpop_jkt),
// plus the client's right to the response type and the scope. A DPoP
// proof sent with the request binds the code to its key, as dpop_jkt does
// (RFC 9449 10.1); both together must name the same key.
//
// On success the parameters are kept in the KVStore and the answer is 201
// Created with the request_uri (RequestURIPrefix and 256 random bits) and
// its expires_in (PARConfig.Lifetime) (RFC 9126 2.2). Errors are answered
// as at the token endpoint (RFC 9126 2.3): 400 with an RFC 6749 5.2 code,
// 401 invalid_client, 405 for another method. The returned error is that of
// writing the response.
func (s *Server) HandlePushedAuthorizationRequest(w http.ResponseWriter, r *http.Request) error {
	uri, err := s.pushAuthorizationRequest(w, r)
	if err != nil {
		return s.tokenError(w, err)
	}
	lifetime := s.Config.PAR.lifetime()
	b := append([]byte(`{"expires_in":`), strconv.FormatInt(int64(lifetime/time.Second), 10)...)
	b = append(b, `,"request_uri":`...)
	b = appendJSONString(b, uri)
	b = append(b, '}', '\n')
	setTokenHeaders(w.Header())
	w.WriteHeader(http.StatusCreated)
	_, err = w.Write(b)
	return err
}

// pushAuthorizationRequest validates and keeps a pushed request, and
// returns its request_uri.
func (s *Server) pushAuthorizationRequest(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.Method != http.MethodPost {
		return "", errors.WithStatus(errPARMethod, http.StatusMethodNotAllowed, http.Header{"Allow": {http.MethodPost}})
	}
	f := getForm()
	defer putForm(f)
	if err := f.readTokenForm(w, r, s.Config.maxBodyBytes()); err != nil {
		return "", err
	}
	if f.inQuery > 0 {
		return "", errPARQuery
	}
	if modeOf(s.ClientInfoHandler) == modeCustom {
		s.fillRequestForm(r, f)
	}
	ctx := r.Context()
	client, _, err := s.authenticateClient(ctx, r, f)
	if err != nil {
		return "", err
	}
	if f.has("request_uri") {
		return "", errPARRequestURI
	}
	params := f.values(false, true)
	for _, k := range credentialParams {
		delete(params, k)
	}
	params.Set("client_id", client.ID())

	// Validate it as the authorization endpoint will.
	ar := r.Clone(context.WithValue(ctx, pushingKey{}, true))
	ar.Method = http.MethodGet
	ar.URL = &url.URL{Path: r.URL.Path}
	ar.Body = http.NoBody
	ar.Form, ar.PostForm = params, url.Values{}
	req, err := s.validateAuthorizeRequest(nil, ar)
	if err != nil {
		return "", err
	}
	if err := s.checkPushedRights(ctx, client, req); err != nil {
		return "", err
	}

	if dpop.HasProof(r.Header) && !s.Config.DPoP.Disabled {
		p, err := s.verifyDPoP(w, r, s.endpointURL(r, s.Config.Endpoints.PushedAuthorization, PathPushedAuthorization), "")
		if err != nil {
			return "", err
		}
		if jkt := params.Get("dpop_jkt"); jkt != "" && jkt != p.Thumbprint {
			return "", errDPoPJKTMismatch
		}
		params.Set("dpop_jkt", p.Thumbprint)
	}
	return s.storePushed(ctx, client.ID(), params)
}

// checkPushedRights checks what the authorization endpoint checks only
// when it issues: the client's right to the response type's grant and to
// the scope (RFC 6749 4.1.2.1 unauthorized_client, invalid_scope), and
// the PKCE challenge a public client, or every client under
// Config.ForcePKCE, must send (RFC 7636 4.4.1, RFC 9700 2.1.1).
func (s *Server) checkPushedRights(ctx context.Context, client policy.Client, req *AuthorizeRequest) error {
	gt := oauth2.AuthorizationCode
	if req.ResponseType == oauth2.Token {
		gt = oauth2.Implicit
	}
	if err := s.checkClientGrant(client, client.ID(), gt); err != nil {
		if stderrors.Is(err, errGrantNotAllowed) {
			return errResponseNotAllowed
		}
		return err
	}
	if err := client.CheckScope(req.Scope); err != nil {
		return err
	}
	if err := s.checkClientScope(&oauth2.TokenGenerateRequest{
		ClientID: client.ID(), Client: client.Info(), Scope: req.Scope,
		RedirectURI: req.requestedURI, Request: req.Request,
	}); err != nil {
		return err
	}
	if req.ResponseType == oauth2.Code && req.CodeChallenge == "" && client.IsPublic() {
		return errors.ErrMissingCodeChallenge
	}
	return nil
}

// storePushed keeps params, pushed by clientID, and returns their new
// request_uri.
func (s *Server) storePushed(ctx context.Context, clientID string, params url.Values) (string, error) {
	kv, err := s.kvStore()
	if err != nil {
		return "", err
	}
	var rnd [parRandomBytes]byte
	_, _ = rand.Read(rnd[:])
	id := base64.RawURLEncoding.EncodeToString(rnd[:])
	rec, err := json.Marshal(pushedRecord{Client: clientID, Params: params.Encode()})
	if err != nil {
		return "", fmt.Errorf("server: pushed request: %w", err)
	}
	if err := kv.Put(ctx, kvPAR+parHash(id), rec, s.Config.PAR.lifetime()); err != nil {
		return "", fmt.Errorf("server: keep pushed request: %w", err)
	}
	return RequestURIPrefix + id, nil
}

// parHash is the KVStore name of a request_uri's random part: its SHA-256,
// so that the store never holds a usable request_uri.
func parHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PushedAuthorizationRequest returns the parameters of the pushed request
// requestURI of the client clientID, without using it: for a login or
// consent page that shows what an authorization request asks. Errors are
// those of the authorization endpoint: invalid_request_uri for a
// request_uri that is unknown, expired, used, or another client's.
func (s *Server) PushedAuthorizationRequest(ctx context.Context, clientID, requestURI string) (url.Values, error) {
	params, _, err := s.loadPushed(ctx, clientID, requestURI, false)
	return params, err
}

// resolvePushedRequest replaces the parameters of an authorization request
// that names a request_uri of the pushed authorization request endpoint by
// the pushed ones (RFC 9126 4), before anything else reads them: r.Form
// then holds exactly what the client pushed, client_id included and
// request_uri not. The request must name the client that pushed it. A
// request_uri of another form is left alone, for the authorization
// endpoint to refuse or serve.
//
// The first use starts the request: it then stays usable for
// PARConfig.ResumeLifetime, so that a request resumed after the login and
// consent pages with the same request_uri is served, until the
// authorization ends (consumePushed).
func (s *Server) resolvePushedRequest(r *http.Request) (*pushedRequest, error) {
	vs := r.Form["request_uri"]
	if len(vs) == 0 {
		return nil, nil
	}
	if len(vs) > 1 {
		return nil, errRepeatedParam
	}
	if !strings.HasPrefix(vs[0], RequestURIPrefix) {
		return nil, nil
	}
	ids := r.Form["client_id"]
	if len(ids) > 1 {
		return nil, errRepeatedParam
	}
	if len(ids) == 0 || ids[0] == "" {
		return nil, errMissingClientID
	}
	params, key, err := s.loadPushed(r.Context(), ids[0], vs[0], true)
	if err != nil {
		return nil, err
	}
	r.Form, r.PostForm = params, url.Values{}
	return &pushedRequest{key: key}, nil
}

// loadPushed returns the parameters of the live, unused request_uri of
// clientID and the key of its record; with start, it marks the request
// started, which keeps it for PARConfig.ResumeLifetime.
func (s *Server) loadPushed(ctx context.Context, clientID, requestURI string, start bool) (url.Values, string, error) {
	id, ok := strings.CutPrefix(requestURI, RequestURIPrefix)
	if !ok || len(id) != base64.RawURLEncoding.EncodedLen(parRandomBytes) {
		return nil, "", errInvalidRequestURI
	}
	kv, err := s.kvStore()
	if err != nil {
		return nil, "", err
	}
	h := parHash(id)
	raw, err := kv.Get(ctx, kvPAR+h)
	if err != nil {
		if stderrors.Is(err, oauth2.ErrNotFound) {
			return nil, "", errInvalidRequestURI
		}
		return nil, "", fmt.Errorf("server: read pushed request: %w", err)
	}
	var rec pushedRecord
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Client != clientID {
		return nil, "", errInvalidRequestURI
	}
	if _, err := kv.Get(ctx, kvPARUsed+h); err == nil {
		return nil, "", errInvalidRequestURI
	} else if !stderrors.Is(err, oauth2.ErrNotFound) {
		return nil, "", fmt.Errorf("server: read pushed request: %w", err)
	}
	params, err := url.ParseQuery(rec.Params)
	if err != nil {
		return nil, "", errInvalidRequestURI
	}
	if start && !rec.Started {
		rec.Started = true
		b, _ := json.Marshal(rec)
		if err := kv.Put(ctx, kvPAR+h, b, s.Config.PAR.resumeLifetime()); err != nil {
			return nil, "", fmt.Errorf("server: start pushed request: %w", err)
		}
	}
	return params, h, nil
}

// consumePushed marks the pushed request p used, when the authorization
// issues from it: of concurrent authorizations exactly one issues, and a
// later use of the request_uri is invalid_request_uri (RFC 9126 4). The mark
// outlives every record of the request.
func (s *Server) consumePushed(ctx context.Context, p *pushedRequest) error {
	kv, err := s.kvStore()
	if err != nil {
		return err
	}
	fresh, err := kv.PutIfAbsent(ctx, kvPARUsed+p.key, []byte{1}, 2*(s.Config.PAR.resumeLifetime()+s.Config.PAR.lifetime()))
	if err != nil {
		return fmt.Errorf("server: use pushed request: %w", err)
	}
	if !fresh {
		return errInvalidRequestURI
	}
	// The mark refuses it already; removing the record only frees room.
	_ = kv.Delete(ctx, kvPAR+p.key)
	return nil
}

// parRequired reports whether the authorization requests of client must be
// pushed (RFC 9126 5, 6).
func (s *Server) parRequired(client oauth2.ClientInfo) bool {
	return s.Config.PAR.Required || policy.Of(client).RequiresPushedAuthorization()
}

// isPushing reports whether r is the authorization request the pushed
// authorization request endpoint is validating.
func isPushing(r *http.Request) bool {
	v, _ := r.Context().Value(pushingKey{}).(bool)
	return v
}
