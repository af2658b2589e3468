// Package policy decides what a registered client may do: which grants it
// may use, which scopes it may ask for, and whether presented credentials
// authenticate it by a given method (RFC 6749 2.3, 3.3, 5.2; RFC 7591 2).
//
// It is the one place these rules are written. Package server calls it at
// every endpoint (token, authorization, revocation, introspection, device
// authorization), package manage calls it when it issues a token, so a rule
// changed here changes everywhere. It depends on the root package and the
// error catalog only: a server over an application's own oauth2.Manager and
// a manager used without the server apply the same rules.
//
// A Client reads the optional interfaces of an oauth2.ClientInfo
// (oauth2.ClientMetadata, oauth2.ClientPasswordVerifier) once, when it is
// made with Of; each check after that is a field read.
package policy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	stderrors "errors"
	"slices"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// Client authentication methods, by their RFC 7591 2
// token_endpoint_auth_method names.
const (
	// AuthMethodBasic: client_id and client_secret in the Authorization
	// header with the Basic scheme (RFC 6749 2.3.1).
	AuthMethodBasic = "client_secret_basic"
	// AuthMethodPost: client_id and client_secret in the request body
	// (RFC 6749 2.3.1).
	AuthMethodPost = "client_secret_post"
	// AuthMethodNone: a public client sends only its client_id (RFC 7591 2,
	// RFC 6749 2.1).
	AuthMethodNone = "none"
	// AuthMethodPrivateKeyJWT: a JWT signed with the client's private key
	// (RFC 7523 2.2, OpenID Connect Core 9).
	AuthMethodPrivateKeyJWT = "private_key_jwt"
	// AuthMethodClientSecretJWT: a JWT signed with HMAC keyed by the client
	// secret (OpenID Connect Core 9).
	AuthMethodClientSecretJWT = "client_secret_jwt"
	// AuthMethodSecret is not a registered method: it stands for "a client
	// secret, however it was sent", for callers that do not see the
	// transport, such as a direct call of the manager. It is accepted where
	// client_secret_basic or client_secret_post would be.
	AuthMethodSecret = ""
)

// Errors of the policy, each wrapping its RFC 6749 5.2 code. Their
// descriptions never repeat the request.
var (
	// ErrClientAuth is the one answer to every failed client
	// authentication, so that it does not tell which part failed.
	ErrClientAuth = errors.WithDescription(errors.ErrInvalidClient, "Client authentication failed")
	// ErrGrantNotAllowed: the client's registration does not list the
	// grant type (RFC 7591 2 grant_types).
	ErrGrantNotAllowed = errors.WithDescription(errors.ErrUnauthorizedClient, "The client is not allowed to use this grant type")
	// ErrPublicClientGrant: a public client asked for a grant that only
	// confidential clients may use (RFC 6749 4.4).
	ErrPublicClientGrant = errors.WithDescription(errors.ErrUnauthorizedClient, "Public clients cannot use this grant type")
	// ErrScopeNotAllowed: the requested scope is not among the client's
	// registered scopes (RFC 7591 2 scope).
	ErrScopeNotAllowed = errors.WithDescription(errors.ErrInvalidScope, "The client is not allowed to request this scope")
	// ErrMalformedScope: the scope has characters outside the syntax of
	// RFC 6749 3.3 and Appendix A.4.
	ErrMalformedScope = errors.WithDescription(errors.ErrInvalidScope, "The scope parameter is malformed")
	// ErrForeignToken: a client asked to revoke a token that was issued to
	// another client (RFC 7009 2.1: the request is refused, and the token
	// stays valid).
	ErrForeignToken = errors.WithDescription(errors.ErrUnauthorizedClient, "The token was issued to another client")
)

// Client is a registered client with its optional interfaces read once.
// The zero Client has no client; its checks allow nothing that needs one.
type Client struct {
	info     oauth2.ClientInfo
	md       oauth2.ClientMetadata         // nil when the client has no registration metadata
	verifier oauth2.ClientPasswordVerifier // nil when the client verifies no secret itself
}

// Of returns the policy view of c, reading its optional interfaces once.
// c may be nil: the result then allows every grant and scope (there is no
// registration to limit them) and authenticates nothing.
func Of(c oauth2.ClientInfo) Client {
	pc := Client{info: c}
	if c == nil {
		return pc
	}
	pc.md, _ = c.(oauth2.ClientMetadata)
	pc.verifier, _ = c.(oauth2.ClientPasswordVerifier)
	return pc
}

// Info returns the client Of was given.
func (c Client) Info() oauth2.ClientInfo { return c.info }

// ID returns the client's ID, "" for the zero Client.
func (c Client) ID() string {
	if c.info == nil {
		return ""
	}
	return c.info.GetID()
}

// IsPublic reports whether the client cannot keep a secret (RFC 6749 2.1).
func (c Client) IsPublic() bool { return c.info != nil && c.info.IsPublic() }

// CheckGrant returns nil when the client may use the grant type gt: its
// registered grant types list it, or it registered none (RFC 7591 2); the
// implicit grant may be registered as oauth2.Implicit or as "implicit". A
// public client may never use client_credentials (RFC 6749 4.4). The
// errors are ErrGrantNotAllowed and ErrPublicClientGrant
// (unauthorized_client, RFC 6749 5.2).
func (c Client) CheckGrant(gt oauth2.GrantType) error {
	if gt == oauth2.ClientCredentials && c.IsPublic() {
		return ErrPublicClientGrant
	}
	if !c.registeredGrant(gt) {
		return ErrGrantNotAllowed
	}
	return nil
}

// AllowsGrant reports whether CheckGrant(gt) is nil.
func (c Client) AllowsGrant(gt oauth2.GrantType) bool { return c.CheckGrant(gt) == nil }

func (c Client) registeredGrant(gt oauth2.GrantType) bool {
	if c.md == nil {
		return true
	}
	gts := c.md.GetGrantTypes()
	if len(gts) == 0 {
		return true
	}
	for _, g := range gts {
		if g == gt || (gt == oauth2.Implicit && g == "implicit") {
			return true
		}
	}
	return false
}

// CheckScope returns nil when every token of scope is among the client's
// registered scopes, or the client registered none (RFC 7591 2 scope), and
// ErrScopeNotAllowed (invalid_scope, RFC 6749 5.2) otherwise. It does not
// check the syntax: see ValidScope.
func (c Client) CheckScope(scope string) error {
	if c.AllowsScope(scope) {
		return nil
	}
	return ErrScopeNotAllowed
}

// AllowsScope reports whether CheckScope(scope) is nil. It walks scope in
// place, without allocating.
func (c Client) AllowsScope(scope string) bool {
	if scope == "" || c.md == nil {
		return true
	}
	allowed := c.md.GetScopes()
	if len(allowed) == 0 {
		return true
	}
	for scope != "" {
		var t string
		t, scope = nextScope(scope)
		if t != "" && !slices.Contains(allowed, t) {
			return false
		}
	}
	return true
}

// AllowsAuthMethod reports whether the client may authenticate by method:
// its registered token_endpoint_auth_method when it has one (RFC 7591 2),
// else client_secret_basic or client_secret_post, and none for public
// clients. AuthMethodSecret is allowed where client_secret_basic or
// client_secret_post is.
func (c Client) AllowsAuthMethod(method string) bool {
	if c.info == nil {
		return false
	}
	registered := ""
	if c.md != nil {
		registered = c.md.GetTokenEndpointAuthMethod()
	}
	if method == AuthMethodSecret {
		return registered == "" || registered == AuthMethodBasic || registered == AuthMethodPost
	}
	if registered != "" {
		return registered == method
	}
	switch method {
	case AuthMethodBasic, AuthMethodPost:
		return true
	case AuthMethodNone:
		return c.info.IsPublic()
	}
	return false
}

// RegisteredFor reports whether the client registered method as its
// token_endpoint_auth_method (RFC 7591 2). The JWT methods are never a
// default: a client uses them only when it registered them.
func (c Client) RegisteredFor(method string) bool {
	return c.md != nil && method != "" && c.md.GetTokenEndpointAuthMethod() == method
}

// VerifySecret reports, in constant time, whether presented is the client's
// secret: through the client's own oauth2.ClientPasswordVerifier (which may
// hold a hash), else by comparing the SHA-256 digests of both. A client
// without a secret verifies nothing.
func (c Client) VerifySecret(presented string) bool {
	if c.info == nil {
		return false
	}
	if c.verifier != nil {
		return c.verifier.VerifyPassword(presented)
	}
	want := c.info.GetSecret()
	eq := Equal(want, presented)
	return eq && want != ""
}

// Authenticates reports whether the client is authenticated by presenting
// secret with method: for none, a public client presenting no secret; for
// a secret method, a confidential client presenting its own secret
// (VerifySecret). A public client cannot keep a secret (RFC 6749 2.1), so it
// never authenticates with one. In every case the method must be allowed
// for the client (AllowsAuthMethod). AuthMethodSecret with an empty secret
// is taken as none.
func (c Client) Authenticates(secret, method string) bool {
	if method == AuthMethodSecret && secret == "" {
		method = AuthMethodNone
	}
	var ok bool
	if method == AuthMethodNone {
		ok = secret == "" && c.IsPublic()
	} else {
		ok = c.VerifySecret(secret) && !c.IsPublic()
	}
	return ok && c.AllowsAuthMethod(method)
}

// ClientLookup returns the registered client of an ID, as
// oauth2.Manager.GetClient does: an error wrapping oauth2.ErrNotFound or
// errors.ErrInvalidClient for an unknown client, any other error for a
// store failure.
type ClientLookup func(ctx context.Context, id string) (oauth2.ClientInfo, error)

// Authenticate looks the client id up and checks that presenting secret by
// method authenticates it (Client.Authenticates). An unknown client takes
// the time of a wrong secret (a dummy constant-time comparison) and gets the
// same answer: ErrClientAuth (invalid_client, RFC 6749 5.2). A store
// failure is returned as it is: it is no failure of the client.
func Authenticate(ctx context.Context, lookup ClientLookup, id, secret, method string) (Client, error) {
	c, err := lookup(ctx, id)
	if err != nil || c == nil {
		if err != nil && !stderrors.Is(err, oauth2.ErrNotFound) && !stderrors.Is(err, errors.ErrInvalidClient) {
			return Client{}, err
		}
		UnknownClient(secret)
		return Client{}, ErrClientAuth
	}
	pc := Of(c)
	if !pc.Authenticates(secret, method) {
		return Client{}, ErrClientAuth
	}
	return pc, nil
}

// dummySecret is compared against when the client is unknown.
const dummySecret = "oauth2d unknown client timing equaliser"

// UnknownClient spends the time of a secret comparison and returns false:
// call it when the claimed client does not exist, so that the answer takes
// as long as for a wrong secret.
func UnknownClient(presented string) bool {
	Equal(dummySecret, presented)
	return false
}

// Equal compares two secrets in constant time with respect to their
// contents: it compares their SHA-256 digests, whose lengths are equal.
func Equal(a, b string) bool {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}

// ScopeWithin reports whether every token of requested is in granted: a
// refresh (RFC 6749 6) or an approval (RFC 8628 3.3) cannot widen the
// scope of its grant. It walks both in place, without allocating.
func ScopeWithin(requested, granted string) bool {
	for requested != "" {
		var t string
		t, requested = nextScope(requested)
		if t != "" && !scopeHas(granted, t) {
			return false
		}
	}
	return true
}

// ValidScope reports whether scope has only the characters RFC 6749
// Appendix A.4 allows: scope tokens of NQCHAR (%x21 / %x23-5B / %x5D-7E)
// separated by spaces. The empty scope is valid.
func ValidScope(scope string) bool {
	for i := 0; i < len(scope); i++ {
		c := scope[i]
		if c == ' ' {
			continue
		}
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ValidState reports whether state has only the VSCHAR characters (%x20-7E)
// of RFC 6749 Appendix A.5, the syntax of every value the authorization
// endpoint echoes back to the client.
func ValidState(state string) bool {
	for i := 0; i < len(state); i++ {
		if c := state[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// nextScope returns the first scope token of s and the rest of s after it,
// skipping extra spaces.
func nextScope(s string) (tok, rest string) {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// scopeHas reports whether the space-delimited scope list has tok.
func scopeHas(list, tok string) bool {
	for list != "" {
		var t string
		t, list = nextScope(list)
		if t == tok {
			return true
		}
	}
	return false
}

// ExtensionGrantedScope is the extension key (oauth2.ExtendableTokenInfo)
// under which a record keeps the scope its grant was originally given, when
// a refresh narrowed the scope of its access token (RFC 6749 6): the record's
// Scope is then the narrower scope of the current access token, and the
// next refresh without a scope parameter gets the original scope back. The
// key is absent while the two are the same. Every store keeps the extension
// with the record, so no store has a column for it.
const ExtensionGrantedScope = oauth2.ReservedExtensionPrefix + "granted_scope"

// GrantedScope returns the scope the grant of ti was originally given: the
// value under ExtensionGrantedScope when a refresh narrowed the scope,
// else ti's scope. A refresh may ask for any part of it (RFC 6749 6).
func GrantedScope(ti oauth2.TokenInfo) string {
	if e, ok := ti.(oauth2.ExtendableTokenInfo); ok {
		if v := e.GetExtension()[ExtensionGrantedScope]; len(v) == 1 {
			return v[0]
		}
	}
	return ti.GetScope()
}
