package server

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/oauth2d/oauth2"
)

// Grant is one grant type of the token endpoint (RFC 6749 4.1.3, 4.3.2,
// 4.4.2, 6; RFC 8628 3.4). The grants of this package are registered from
// their own files (token_code.go, token_refresh.go, token_client.go,
// token_password.go, token_device.go); an application or another package
// adds one with RegisterGrant. Everything the server says about grants
// derives from the registered list: dispatch in HandleTokenRequest,
// ValidationTokenRequest and GetAccessToken, CheckGrantType,
// grant_types_supported in the metadata, and Grants.
//
// The server does the steps every grant shares, in this order: it reads
// the request (POST, form-encoded, no repeated parameter, RFC 6749 3.2),
// finds the grant by grant_type and checks that it is enabled
// (CheckGrantType, else unsupported_grant_type), authenticates the client
// (RFC 6749 2.3, with the ClientAuthHandler), checks that the client may
// use the grant (its registration and the ClientAuthorizedHandler, else
// unauthorized_client), then calls ReadRequest, the AccessTokenExpHandler
// and Issue, and writes the response, calling the TokenIssuedHandler. A
// grant only reads its own parameters and has the manager issue.
//
// A Grant holds no request state: one value serves every request,
// concurrently.
type Grant interface {
	// Info names the grant. It is read once, when the grant is registered.
	Info() GrantInfo
	// ReadRequest reads the grant's own parameters from p into tgr, whose
	// ClientID, ClientSecret, Client (the authenticated client) and
	// Request the server has set. A missing or malformed parameter is an
	// invalid_request error with a description (errors.WithDescription)
	// that never repeats the value. On a POST, a parameter read from p that
	// was sent in the query string instead of the body makes the server
	// refuse the request with invalid_request (RFC 6749 3.2) once
	// ReadRequest returns; a grant that acts on a parameter (verifies a
	// password, calls another service) calls CheckBodyParams first.
	ReadRequest(ctx context.Context, s *Server, p Params, tgr *oauth2.TokenGenerateRequest) error
	// Issue has the server's Manager issue the token of the request read
	// by ReadRequest (or given to GetAccessToken) and returns the stored
	// record. It runs the grant's own hooks first (the scope and refresh
	// handlers) and must issue nothing when one refuses.
	Issue(ctx context.Context, s *Server, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error)
}

// GrantAvailability is implemented by a Grant that needs more than being
// listed in Config.AllowedGrantTypes to be served: the password grant needs
// a PasswordAuthorizationHandler. CheckGrantType, and so the metadata,
// leave the grant out while Available is false.
type GrantAvailability interface {
	Available(s *Server) bool
}

// GrantInfo names a grant.
type GrantInfo struct {
	// Type is the grant type: the grant_type value of the token endpoint
	// (RFC 6749 4), or oauth2.Implicit for the implicit grant, which has
	// none.
	Type oauth2.GrantType
	// Name is the grant's short name, which configuration files and metric
	// labels use: "authorization_code", "device_code" for the device
	// grant. It is Type when Type is short already.
	Name string
	// Aliases are further names a configuration may give the grant.
	Aliases []string
	// ResponseType is the authorization endpoint response type (RFC 6749
	// 3.1.1) that starts the grant: "code" for the authorization code
	// grant, "token" for the implicit grant, "" for a grant that starts
	// at the token endpoint or elsewhere.
	ResponseType oauth2.ResponseType
	// TokenEndpoint reports whether the token endpoint serves the grant
	// (a registered Grant); false for the implicit grant.
	TokenEndpoint bool
}

// Names returns every name of the grant: Name, Type (when it differs) and
// the Aliases.
func (gi GrantInfo) Names() []string {
	names := []string{gi.Name}
	if string(gi.Type) != gi.Name {
		names = append(names, string(gi.Type))
	}
	for _, a := range gi.Aliases {
		if !slices.Contains(names, a) {
			names = append(names, a)
		}
	}
	return names
}

// implicitGrant is the grant the authorization endpoint issues tokens by
// directly (RFC 6749 4.2): it has no token endpoint grant_type, so it is
// no Grant, but it is a grant a configuration and a metric may name.
var implicitGrant = GrantInfo{
	Type:         oauth2.Implicit,
	Name:         oauth2.Implicit.String(),
	ResponseType: oauth2.Token,
}

// grantEntry is a registered grant with its optional interface read once.
type grantEntry struct {
	info  GrantInfo
	grant Grant
	avail GrantAvailability // nil when the grant is always available
}

// The registry: an immutable slice replaced as a whole on registration,
// so that the token endpoint reads it without a lock.
var (
	grantsMu sync.Mutex
	grants   atomic.Pointer[[]grantEntry]
)

// RegisterGrant adds g to the grants every Server knows. A server then
// serves it when Config.AllowedGrantTypes lists its type (and, for a
// GrantAvailability, when Available says so); listing it is how each server
// turns it on. Call RegisterGrant from an init function, before any server
// serves: it is safe for concurrent use, but a server that already serves
// sees a new grant only from its next request.
//
// It panics, as database/sql.Register does, when g is nil, its Info has no
// Type or no Name, its Type is oauth2.Implicit, or one of its names (Name,
// Type, Aliases) is already a name of a registered grant or of the implicit
// grant: a registry with two meanings for a name would be a configuration
// bug found only at run time.
func RegisterGrant(g Grant) {
	if g == nil {
		panic("server: RegisterGrant of a nil Grant")
	}
	info := g.Info()
	if info.Type == "" || info.Name == "" || info.Type == oauth2.Implicit {
		panic(fmt.Sprintf("server: RegisterGrant of a grant without a type and name (%q, %q)", info.Type, info.Name))
	}
	info.TokenEndpoint = true
	info.Aliases = slices.Clone(info.Aliases)
	grantsMu.Lock()
	defer grantsMu.Unlock()
	var old []grantEntry
	if p := grants.Load(); p != nil {
		old = *p
	}
	taken := implicitGrant.Names()
	for _, e := range old {
		taken = append(taken, e.info.Names()...)
	}
	for _, n := range info.Names() {
		if slices.Contains(taken, n) {
			panic(fmt.Sprintf("server: RegisterGrant: the grant name %q is registered already", n))
		}
	}
	e := grantEntry{info: info, grant: g}
	e.avail, _ = g.(GrantAvailability)
	next := append(slices.Clip(old), e)
	grants.Store(&next)
}

// Grants returns every grant this package knows, in the order they were
// registered: the token endpoint's (TokenEndpoint true), then the implicit
// grant. A configuration that names grants, and a metric labelled by
// grant, take their names from here. Whether a given Server serves one is
// CheckGrantType.
func Grants() []GrantInfo {
	es := registeredGrants()
	out := make([]GrantInfo, 0, len(es)+1)
	for _, e := range es {
		info := e.info
		info.Aliases = slices.Clone(info.Aliases)
		out = append(out, info)
	}
	return append(out, implicitGrant)
}

func registeredGrants() []grantEntry {
	if p := grants.Load(); p != nil {
		return *p
	}
	return nil
}

// lookupGrant returns the registered grant of type gt, nil when none.
func lookupGrant(gt oauth2.GrantType) *grantEntry {
	es := registeredGrants()
	for i := range es {
		if es[i].info.Type == gt {
			return &es[i]
		}
	}
	return nil
}

// lookupGrantBytes is lookupGrant of a grant_type still in the request's
// buffer: it compares without allocating.
func lookupGrantBytes(raw []byte) *grantEntry {
	es := registeredGrants()
	for i := range es {
		if string(es[i].info.Type) == string(raw) {
			return &es[i]
		}
	}
	return nil
}

// enabled reports whether the server serves the grant: listed in
// Config.AllowedGrantTypes and, for a GrantAvailability, available.
func (s *Server) enabled(e *grantEntry) bool {
	if e.avail != nil && !e.avail.Available(s) {
		return false
	}
	return slices.Contains(s.Config.AllowedGrantTypes, e.info.Type)
}
