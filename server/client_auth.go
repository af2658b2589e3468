package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// Client authentication methods of the token endpoint, by their RFC 7591 2
// token_endpoint_auth_method names.
const (
	// AuthMethodBasic: client_id and client_secret in the Authorization
	// header with the Basic scheme (RFC 6749 2.3.1).
	AuthMethodBasic = policy.AuthMethodBasic
	// AuthMethodPost: client_id and client_secret in the request body
	// (RFC 6749 2.3.1).
	AuthMethodPost = policy.AuthMethodPost
	// AuthMethodNone: a public client sends only its client_id (RFC 7591
	// 2, RFC 6749 2.1).
	AuthMethodNone = policy.AuthMethodNone
)

// ClientAuthenticator is a further client authentication method of the
// token endpoint (RFC 6749 2.3.2), such as private_key_jwt (RFC 7523 2.2).
// The server asks each one whether a request uses its method, refuses a
// request that uses two methods (RFC 6749 2.3), and checks the client's
// registered token_endpoint_auth_method against Method.
type ClientAuthenticator interface {
	// Method returns the token_endpoint_auth_method (RFC 7591 2) a client
	// registers to use this authenticator, e.g. "private_key_jwt".
	Method() string
	// Match reports whether the request carries this method's
	// credentials, e.g. a client_assertion parameter (RFC 7521 4.2).
	Match(r *http.Request, p Params) bool
	// Authenticate verifies the credentials and returns the client. A
	// failure wraps errors.ErrInvalidClient and never names a secret.
	Authenticate(ctx context.Context, r *http.Request, p Params) (oauth2.ClientInfo, error)
}

// ClientIDClaimer is implemented by a ClientAuthenticator whose credentials
// name the client by other means than the client_id parameter, as a client
// assertion does with its subject (RFC 7523 3). When a request has no
// client_id, the server asks it for the client the request claims to be,
// to tell the ClientAuthHandler before anything is verified.
type ClientIDClaimer interface {
	// ClaimedClientID returns the client the credentials name, read
	// without verifying anything, or "" when they name none.
	ClaimedClientID(r *http.Request, p Params) string
}

var (
	// errClientAuth is the one answer to every failed client
	// authentication, so that it does not tell which part failed.
	errClientAuth        = policy.ErrClientAuth
	errMissingClientAuth = errClientAuth
	errTwoAuthMethods    = errors.WithDescription(errors.ErrInvalidRequest, "The client used more than one authentication method")
	errPublicClientGrant = policy.ErrPublicClientGrant
)

type clientInfoMode int

const (
	modeAll    clientInfoMode = iota // nil ClientInfoHandler: basic, post, none
	modeBasic                        // ClientBasicHandler: basic only
	modeForm                         // ClientFormHandler: post and none
	modeCustom                       // an application's handler
)

var (
	basicHandlerPtr = reflect.ValueOf(ClientBasicHandler).Pointer()
	formHandlerPtr  = reflect.ValueOf(ClientFormHandler).Pointer()
)

func modeOf(h ClientInfoHandler) clientInfoMode {
	if h == nil {
		return modeAll
	}
	switch reflect.ValueOf(h).Pointer() {
	case basicHandlerPtr:
		return modeBasic
	case formHandlerPtr:
		return modeForm
	}
	return modeCustom
}

// credentialParams are the parameters that carry client credentials (RFC
// 6749 2.3.1, RFC 7521 4.2): on a POST they must be in the body, never in
// the query string, which ends up in logs.
var credentialParams = [...]string{"client_id", "client_secret", "client_assertion", "client_assertion_type"}

// authenticateClient authenticates the client of a request to the token,
// revocation, introspection or device authorization endpoint by the one
// method it uses (RFC 6749 2.3), and returns it, read by the policy, with
// the secret it presented.
//
// Every request that names a client goes through the ClientAuthHandler
// exactly once, with the client it claims to be and its method, before any
// credential is verified; the handler then hears the outcome. Requests
// refused as malformed before they name a client (two methods, a
// malformed Authorization header, credentials in the query string) verify
// nothing and are not reported.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, f *form) (policy.Client, string, error) {
	authz := r.Header["Authorization"]
	if len(authz) > 1 {
		return policy.Client{}, "", &headerAuthError{errTwoAuthMethods}
	}
	hasHeader := len(authz) == 1 && authz[0] != ""
	if f.bodyOnly && f.inQuery > 0 {
		for _, k := range credentialParams {
			if v, inQuery := f.lookup(k); len(v) > 0 && inQuery {
				return policy.Client{}, "", errSecretInQuery
			}
		}
	}
	postSecret, _ := f.lookup("client_secret")
	hasPost := len(postSecret) > 0
	var ext ClientAuthenticator
	methods := 0
	if hasHeader {
		methods++
	}
	if hasPost {
		methods++
	}
	for _, a := range s.ClientAuthenticators {
		if a.Match(r, f) {
			ext = a
			methods++
		}
	}
	if methods > 1 {
		return policy.Client{}, "", errTwoAuthMethods
	}

	mode := modeOf(s.ClientInfoHandler)
	switch {
	case mode == modeCustom:
		id, sec, err := s.ClientInfoHandler(r)
		var pc policy.Client
		if err == nil {
			method := AuthMethodPost
			switch {
			case sec == "":
				method = AuthMethodNone
			case hasHeader:
				method = AuthMethodBasic
			}
			pc, err = s.verifyClient(ctx, r, id, sec, method)
		}
		if err != nil {
			if hasHeader {
				err = &headerAuthError{err}
			}
			return policy.Client{}, "", err
		}
		return pc, sec, nil

	case ext != nil:
		id := f.Get("client_id")
		if id == "" {
			if c, ok := ext.(ClientIDClaimer); ok {
				id = c.ClaimedClientID(r, f)
			}
		}
		done, err := s.clientAuthStart(r, id, ext.Method())
		if err != nil {
			return policy.Client{}, "", err
		}
		pc, err := s.verifyExtension(ctx, r, f, ext)
		clientAuthDone(done, pc, err)
		if err != nil {
			return policy.Client{}, "", err
		}
		return pc, "", nil

	case hasHeader:
		if mode == modeForm {
			return policy.Client{}, "", &headerAuthError{errClientAuth}
		}
		id, sec, _, err := parseBasicAuth(r.Header)
		if err != nil {
			return policy.Client{}, "", &headerAuthError{err}
		}
		if bid := f.Get("client_id"); bid != "" && bid != id {
			return policy.Client{}, "", &headerAuthError{errClientAuth}
		}
		method := AuthMethodBasic
		if sec == "" {
			// "id:" with no secret: a public client naming itself, as
			// golang.org/x/oauth2 does for clients without a secret.
			method = AuthMethodNone
		}
		pc, err := s.verifyClient(ctx, r, id, sec, method)
		if err != nil {
			return policy.Client{}, "", &headerAuthError{err}
		}
		return pc, sec, nil

	default:
		if mode == modeBasic {
			return policy.Client{}, "", errMissingClientAuth
		}
		id := f.Get("client_id")
		if id == "" {
			return policy.Client{}, "", errMissingClientAuth
		}
		method, sec := AuthMethodNone, ""
		if hasPost {
			method, sec = AuthMethodPost, string(postSecret)
		}
		pc, err := s.verifyClient(ctx, r, id, sec, method)
		if err != nil {
			return policy.Client{}, "", err
		}
		return pc, sec, nil
	}
}

// clientAuthStart tells the ClientAuthHandler of a client authentication
// before anything is verified; a non-nil error refuses the request.
func (s *Server) clientAuthStart(r *http.Request, id, method string) (func(oauth2.ClientInfo, error), error) {
	if fn := s.ClientAuthHandler; fn != nil {
		return fn(r, id, method)
	}
	return nil, nil
}

// clientAuthDone tells the ClientAuthHandler the outcome.
func clientAuthDone(done func(oauth2.ClientInfo, error), pc policy.Client, err error) {
	if done != nil {
		done(pc.Info(), err)
	}
}

// verifyClient verifies a client secret or a public client's "none"
// through the policy (policy.Authenticate), between the ClientAuthHandler's
// two calls.
func (s *Server) verifyClient(ctx context.Context, r *http.Request, id, presented, method string) (policy.Client, error) {
	done, err := s.clientAuthStart(r, id, method)
	if err != nil {
		return policy.Client{}, err
	}
	pc, err := policy.Authenticate(ctx, s.Manager.GetClient, id, presented, method)
	clientAuthDone(done, pc, err)
	return pc, err
}

// verifyExtension runs a ClientAuthenticator and checks its client against
// the client_id parameter and the client's registered method.
func (s *Server) verifyExtension(ctx context.Context, r *http.Request, f *form, ext ClientAuthenticator) (policy.Client, error) {
	c, err := ext.Authenticate(ctx, r, f)
	if err != nil {
		return policy.Client{}, err
	}
	if c == nil {
		return policy.Client{}, errClientAuth
	}
	if id := f.Get("client_id"); id != "" && id != c.GetID() {
		return policy.Client{}, errClientAuth
	}
	pc := policy.Of(c)
	if !pc.AllowsAuthMethod(ext.Method()) {
		return policy.Client{}, errClientAuth
	}
	return pc, nil
}

// parseBasicAuth parses an Authorization header of the Basic scheme (RFC
// 7617 2) carrying client credentials: the scheme is matched
// case-insensitively, the credentials are standard base64, split at the
// first ':', and the ID and secret are then form-decoded (RFC 6749 2.3.1).
// present is false when there is no Authorization header; any malformed
// header is an invalid_client error.
func parseBasicAuth(h http.Header) (id, sec string, present bool, err error) {
	vals := h["Authorization"]
	if len(vals) == 0 || vals[0] == "" {
		return "", "", false, nil
	}
	if len(vals) > 1 {
		return "", "", true, errClientAuth
	}
	v := vals[0]
	const scheme = "Basic"
	if len(v) <= len(scheme)+1 || !strings.EqualFold(v[:len(scheme)], scheme) ||
		(v[len(scheme)] != ' ' && v[len(scheme)] != '\t') {
		return "", "", true, errClientAuth
	}
	tok := strings.Trim(v[len(scheme)+1:], " \t")
	if tok == "" {
		return "", "", true, errClientAuth
	}
	var srcArr, dstArr [256]byte
	src := append(srcArr[:0], tok...)
	dst := dstArr[:]
	if n := base64.StdEncoding.DecodedLen(len(src)); n > len(dst) {
		dst = make([]byte, n)
	}
	n, derr := base64.StdEncoding.Decode(dst, src)
	if derr != nil {
		return "", "", true, errClientAuth
	}
	raw := dst[:n]
	i := bytes.IndexByte(raw, ':')
	if i < 0 {
		return "", "", true, errClientAuth
	}
	idb, ok1 := unescapeInPlace(raw[:i])
	secb, ok2 := unescapeInPlace(raw[i+1:])
	if !ok1 || !ok2 || len(idb) == 0 || !utf8.Valid(idb) || !utf8.Valid(secb) {
		return "", "", true, errClientAuth
	}
	return string(idb), string(secb), true, nil
}
