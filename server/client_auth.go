package server

import (
	"bytes"
	"context"
	"encoding/base64"
	stderrors "errors"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/internal/secret"
)

// Client authentication methods of the token endpoint, by their RFC 7591 2
// token_endpoint_auth_method names.
const (
	// AuthMethodBasic: client_id and client_secret in the Authorization
	// header with the Basic scheme (RFC 6749 2.3.1).
	AuthMethodBasic = "client_secret_basic"
	// AuthMethodPost: client_id and client_secret in the request body
	// (RFC 6749 2.3.1).
	AuthMethodPost = "client_secret_post"
	// AuthMethodNone: a public client sends only its client_id (RFC 7591
	// 2, RFC 6749 2.1).
	AuthMethodNone = "none"
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

var (
	// errClientAuth is the one answer to every failed client
	// authentication, so that it does not tell which part failed.
	errClientAuth        = errors.WithDescription(errors.ErrInvalidClient, "Client authentication failed")
	errMissingClientAuth = errClientAuth
	errTwoAuthMethods    = errors.WithDescription(errors.ErrInvalidRequest, "The client used more than one authentication method")
	errPublicClientGrant = errors.WithDescription(errors.ErrUnauthorizedClient, "Public clients cannot use this grant type")
)

// dummySecret is compared against when the client is unknown, so that the
// answer takes the time of a wrong secret.
const dummySecret = "oauth2d unknown client timing equaliser"

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

// authenticateClient authenticates the client of a token request by the one
// method it uses (RFC 6749 2.3) and returns it with the secret it
// presented.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, f *form) (oauth2.ClientInfo, string, error) {
	authz := r.Header["Authorization"]
	if len(authz) > 1 {
		return nil, "", &headerAuthError{errTwoAuthMethods}
	}
	hasHeader := len(authz) == 1 && authz[0] != ""
	postSecret, secretInQuery := f.lookup("client_secret")
	hasPost := len(postSecret) > 0
	if hasPost && secretInQuery && r.Method != http.MethodGet {
		return nil, "", errSecretInQuery
	}
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
		return nil, "", errTwoAuthMethods
	}

	mode := modeOf(s.ClientInfoHandler)
	switch {
	case mode == modeCustom:
		id, sec, err := s.ClientInfoHandler(r)
		if err == nil {
			method := AuthMethodPost
			switch {
			case sec == "":
				method = AuthMethodNone
			case hasHeader:
				method = AuthMethodBasic
			}
			var c oauth2.ClientInfo
			c, err = s.observeClientAuth(r, id, method, func() (oauth2.ClientInfo, error) {
				return s.verifyClient(ctx, id, sec, method)
			})
			if err == nil {
				return c, sec, nil
			}
		}
		if hasHeader {
			err = &headerAuthError{err}
		}
		return nil, "", err

	case ext != nil:
		c, err := s.observeClientAuth(r, f.Get("client_id"), ext.Method(), func() (oauth2.ClientInfo, error) {
			c, err := ext.Authenticate(ctx, r, f)
			if err != nil {
				return nil, err
			}
			if c == nil {
				return nil, errClientAuth
			}
			if id, _ := f.lookup("client_id"); len(id) > 0 && string(id) != c.GetID() {
				return nil, errClientAuth
			}
			if !methodAllowed(c, ext.Method()) {
				return nil, errClientAuth
			}
			return c, nil
		})
		if err != nil {
			return nil, "", err
		}
		return c, "", nil

	case hasHeader:
		if mode == modeForm {
			return nil, "", &headerAuthError{errClientAuth}
		}
		id, sec, _, err := parseBasicAuth(r.Header)
		if err != nil {
			return nil, "", &headerAuthError{err}
		}
		if bid, _ := f.lookup("client_id"); len(bid) > 0 && string(bid) != id {
			return nil, "", &headerAuthError{errClientAuth}
		}
		method := AuthMethodBasic
		if sec == "" {
			// "id:" with no secret: a public client naming itself, as
			// golang.org/x/oauth2 does for clients without a secret.
			method = AuthMethodNone
		}
		c, err := s.observeClientAuth(r, id, method, func() (oauth2.ClientInfo, error) {
			return s.verifyClient(ctx, id, sec, method)
		})
		if err != nil {
			return nil, "", &headerAuthError{err}
		}
		return c, sec, nil

	default:
		if mode == modeBasic {
			return nil, "", errMissingClientAuth
		}
		id := f.Get("client_id")
		if id == "" {
			return nil, "", errMissingClientAuth
		}
		method, sec := AuthMethodNone, ""
		if hasPost {
			method, sec = AuthMethodPost, string(postSecret)
		}
		c, err := s.observeClientAuth(r, id, method, func() (oauth2.ClientInfo, error) {
			return s.verifyClient(ctx, id, sec, method)
		})
		if err != nil {
			return nil, "", err
		}
		return c, sec, nil
	}
}

// observeClientAuth runs verify between the ClientAuthHandler's two calls:
// the handler may refuse the request before anything is verified, and then
// hears the outcome.
func (s *Server) observeClientAuth(r *http.Request, id, method string, verify func() (oauth2.ClientInfo, error)) (oauth2.ClientInfo, error) {
	fn := s.ClientAuthHandler
	if fn == nil {
		return verify()
	}
	done, err := fn(r, id, method)
	if err != nil {
		return nil, err
	}
	c, err := verify()
	if done != nil {
		done(c, err)
	}
	return c, err
}

// verifyClient looks the client up and checks the presented secret (or,
// for "none", that the client is public) and its registered method. An
// unknown client takes the same path as a wrong secret.
func (s *Server) verifyClient(ctx context.Context, id, presented, method string) (oauth2.ClientInfo, error) {
	c, err := s.Manager.GetClient(ctx, id)
	if err != nil || c == nil {
		if err != nil && !stderrors.Is(err, oauth2.ErrNotFound) && !stderrors.Is(err, errors.ErrInvalidClient) {
			// The store failed: temporarily_unavailable or server_error.
			return nil, err
		}
		secret.Equal(dummySecret, presented)
		return nil, errClientAuth
	}
	ok := true
	if method == AuthMethodNone {
		ok = c.IsPublic()
	} else {
		ok = verifySecret(c, presented)
	}
	if !ok || !methodAllowed(c, method) {
		return nil, errClientAuth
	}
	return c, nil
}

// verifySecret compares the presented secret in constant time: through the
// client's own ClientPasswordVerifier (which may hold a hash), else as the
// SHA-256 digests of both. A client without a secret verifies nothing.
func verifySecret(c oauth2.ClientInfo, presented string) bool {
	if v, ok := c.(oauth2.ClientPasswordVerifier); ok {
		return v.VerifyPassword(presented)
	}
	want := c.GetSecret()
	eq := secret.Equal(want, presented)
	return eq && want != ""
}

// methodAllowed reports whether the client may authenticate by method: its
// registered token_endpoint_auth_method when it has one (RFC 7591 2), else
// client_secret_basic or client_secret_post, and none for public clients.
func methodAllowed(c oauth2.ClientInfo, method string) bool {
	if md, ok := c.(oauth2.ClientMetadata); ok {
		if m := md.GetTokenEndpointAuthMethod(); m != "" {
			return m == method
		}
	}
	switch method {
	case AuthMethodBasic, AuthMethodPost:
		return true
	case AuthMethodNone:
		return c.IsPublic()
	}
	return false
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
