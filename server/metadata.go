package server

import (
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// Default paths of the endpoints, under the issuer. The metadata
// advertises the Issuer followed by these paths unless Config.Endpoints
// says otherwise.
const (
	PathAuthorization       = "/authorize"            // RFC 6749 3.1
	PathToken               = "/token"                // RFC 6749 3.2
	PathRevocation          = "/revoke"               // RFC 7009 2
	PathIntrospection       = "/introspect"           // RFC 7662 2
	PathJWKS                = "/jwks.json"            // RFC 8414 2 jwks_uri
	PathDeviceAuthorization = "/device_authorization" // RFC 8628 3.1
	// PathMetadata is the well-known path of the metadata of an issuer
	// without a path component (RFC 8414 3); see MetadataPath.
	PathMetadata = "/.well-known/oauth-authorization-server"
)

// Endpoints are the endpoint URLs the metadata advertises (RFC 8414 2,
// RFC 7009 and RFC 7662 via RFC 8414 2, RFC 8628 4). An empty field is the
// issuer followed by the default path (PathAuthorization, ...). Set a field
// when an endpoint is served elsewhere; the server itself routes nothing.
type Endpoints struct {
	// Authorization is the authorization endpoint (RFC 6749 3.1).
	Authorization string
	// Token is the token endpoint (RFC 6749 3.2).
	Token string
	// Revocation is the revocation endpoint (RFC 7009 2).
	Revocation string
	// Introspection is the introspection endpoint (RFC 7662 2).
	Introspection string
	// JWKS is the jwks_uri, where HandleJWKSRequest is served (RFC 8414 2).
	JWKS string
	// DeviceAuthorization is the device authorization endpoint (RFC 8628
	// 3.1).
	DeviceAuthorization string
	// PushedAuthorization is the pushed authorization request endpoint
	// (RFC 9126 2), where HandlePushedAuthorizationRequest is served.
	PushedAuthorization string
	// Registration is the client registration endpoint (RFC 7591 3),
	// advertised as registration_endpoint (RFC 8414 2, OpenID Connect
	// Discovery 1.0 3) only when set: the server has no registration
	// endpoint of its own, and advertises none by default.
	Registration string
}

// CodeChallengeMethodsProvider is implemented by managers that tell which
// PKCE methods they accept (RFC 7636 4.3), as manage.Manager does. The
// metadata of a server whose manager does not implement it advertises S256
// only.
type CodeChallengeMethodsProvider interface {
	CodeChallengeMethods() []oauth2.CodeChallengeMethod
}

// ClientAuthenticatorAlgorithms is implemented by a ClientAuthenticator
// whose method is a signed JWT, such as private_key_jwt or
// client_secret_jwt (RFC 7523 2.2): it returns the JWS algorithms (RFC
// 7518 3.1) it verifies, which the metadata advertises as
// token_endpoint_auth_signing_alg_values_supported (RFC 8414 2).
type ClientAuthenticatorAlgorithms interface {
	SigningAlgorithms() []string
}

// Metadata is the authorization server metadata of RFC 8414 2, with the
// revocation (RFC 7009), introspection (RFC 7662), device authorization
// (RFC 8628 4) and RFC 9207 3 members. Each field is the member its JSON
// name gives, with the meaning RFC 8414 2 defines; an empty one is left
// out, except response_types_supported, which RFC 8414 2 requires, and
// grant_types_supported, whose absence would mean authorization_code and
// implicit.
type Metadata struct {
	Issuer                                             string   `json:"issuer"`
	AuthorizationEndpoint                              string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                                      string   `json:"token_endpoint,omitempty"`
	JWKSURI                                            string   `json:"jwks_uri,omitempty"`
	ScopesSupported                                    []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                             []string `json:"response_types_supported"`
	GrantTypesSupported                                []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported                  []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	TokenEndpointAuthSigningAlgValuesSupported         []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	RevocationEndpoint                                 string   `json:"revocation_endpoint,omitempty"`
	RevocationEndpointAuthMethodsSupported             []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	RevocationEndpointAuthSigningAlgValuesSupported    []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
	IntrospectionEndpoint                              string   `json:"introspection_endpoint,omitempty"`
	IntrospectionEndpointAuthMethodsSupported          []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	IntrospectionEndpointAuthSigningAlgValuesSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	CodeChallengeMethodsSupported                      []string `json:"code_challenge_methods_supported,omitempty"`
	DeviceAuthorizationEndpoint                        string   `json:"device_authorization_endpoint,omitempty"`
	AuthorizationResponseIssParameterSupported         bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	// RFC 9126 5 and RFC 9449 5.1 (metadata_ext.go).
	PushedAuthorizationRequestEndpoint string   `json:"pushed_authorization_request_endpoint,omitempty"`
	RequirePushedAuthorizationRequests bool     `json:"require_pushed_authorization_requests,omitempty"`
	DPoPSigningAlgValuesSupported      []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// RFC 8705 3.3 (client_tls.go).
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	// RFC 7591 3 via RFC 8414 2: set from Endpoints.Registration.
	RegistrationEndpoint string `json:"registration_endpoint,omitempty"`
}

var (
	// ErrNoIssuer: metadata needs an issuer identifier (RFC 8414 2).
	ErrNoIssuer = stderrors.New("server: Config.Issuer is required for metadata (RFC 8414 2)")
	// errBadIssuer: the issuer is not an absolute http(s) URL without
	// query or fragment (RFC 8414 2).
	errBadIssuer = stderrors.New("server: Config.Issuer must be an absolute http or https URL with no query or fragment (RFC 8414 2)")

	errDocumentMethod = errors.WithDescription(errors.ErrInvalidRequest, "This endpoint accepts only GET and HEAD requests")
)

// MetadataPath returns the path at which the metadata of issuer is
// published: the well-known path inserted before the issuer's own path
// (RFC 8414 3.1), "/.well-known/oauth-authorization-server" for an issuer
// without one.
func MetadataPath(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return PathMetadata
	}
	return PathMetadata + strings.TrimSuffix(u.EscapedPath(), "/")
}

// Metadata returns the server's metadata (RFC 8414 2), made from its
// actual configuration so that it never advertises what the server
// refuses:
//
//   - response_types_supported and grant_types_supported are those that
//     CheckResponseType and CheckGrantType accept (for an OpenID Provider
//     with the implicit switch on, the response types of the implicit and
//     hybrid flows too; "implicit" when the "token" response type is allowed, the password grant only with a
//     PasswordAuthorizationHandler, the device grant and its
//     device_authorization_endpoint only when the token endpoint accepts
//     it);
//   - the client authentication methods of the token and revocation
//     endpoints are those the ClientInfoHandler's mode accepts
//     (client_secret_basic, client_secret_post, none) plus the methods of
//     ClientAuthenticators, with the signing algorithms of those that
//     implement ClientAuthenticatorAlgorithms; the introspection endpoint
//     leaves out none (public clients cannot introspect). With an
//     application's own ClientInfoHandler, whose choice the server cannot
//     see, the three methods of RFC 6749 2.3 are listed and
//     ClientAuthenticators are not, since that mode does not use them;
//   - code_challenge_methods_supported are the manager's methods
//     (CodeChallengeMethodsProvider; S256 only without it) that
//     Config.AllowedCodeChallengeMethods allows;
//   - jwks_uri appears only when SetKeySet set a key set, and
//     scopes_supported only when Config.ScopesSupported is set;
//   - authorization_response_iss_parameter_supported is true: the issuer is
//     required here, and every authorization response then carries iss
//     (RFC 9207 2).
//
// Config.Issuer is required (ErrNoIssuer) and must be an absolute http or
// https URL without query or fragment; RFC 8414 2 asks for https, and plain
// http is accepted only so that a development server on localhost can
// publish metadata.
func (s *Server) Metadata() (*Metadata, error) {
	iss := s.Config.Issuer
	if iss == "" {
		return nil, ErrNoIssuer
	}
	u, err := url.Parse(iss)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(iss, "#") {
		return nil, errBadIssuer
	}
	base := strings.TrimSuffix(iss, "/")
	ep := s.Config.Endpoints
	or := func(v, path string) string {
		if v != "" {
			return v
		}
		return base + path
	}
	md := &Metadata{
		Issuer:                 iss,
		TokenEndpoint:          or(ep.Token, PathToken),
		RevocationEndpoint:     or(ep.Revocation, PathRevocation),
		IntrospectionEndpoint:  or(ep.Introspection, PathIntrospection),
		ScopesSupported:        slices.Clone(s.Config.ScopesSupported),
		ResponseTypesSupported: s.responseTypesSupported(),
		AuthorizationResponseIssParameterSupported: true,
	}
	if len(md.ResponseTypesSupported) > 0 {
		md.AuthorizationEndpoint = or(ep.Authorization, PathAuthorization)
	}
	md.GrantTypesSupported = s.supportedGrantTypes()
	if s.CheckGrantType(oauth2.DeviceCode) {
		md.DeviceAuthorizationEndpoint = or(ep.DeviceAuthorization, PathDeviceAuthorization)
	}
	if s.KeySet() != nil {
		md.JWKSURI = or(ep.JWKS, PathJWKS)
	}
	methods, algs := s.clientAuthMethods()
	md.TokenEndpointAuthMethodsSupported = methods
	md.TokenEndpointAuthSigningAlgValuesSupported = algs
	md.RevocationEndpointAuthMethodsSupported = slices.Clone(methods)
	md.RevocationEndpointAuthSigningAlgValuesSupported = slices.Clone(algs)
	md.IntrospectionEndpointAuthMethodsSupported = slices.DeleteFunc(slices.Clone(methods),
		func(m string) bool { return m == AuthMethodNone })
	md.IntrospectionEndpointAuthSigningAlgValuesSupported = slices.Clone(algs)
	if s.CheckResponseType(oauth2.Code) {
		md.CodeChallengeMethodsSupported = s.supportedCodeChallengeMethods()
	}
	s.senderMetadata(md, or) // RFC 9126, RFC 9449 (metadata_ext.go)
	md.RegistrationEndpoint = ep.Registration
	return md, nil
}

// supportedGrantTypes lists the grants of Config.AllowedGrantTypes that
// the token endpoint accepts, then "implicit" when the authorization
// endpoint issues tokens (RFC 6749 4.2).
func (s *Server) supportedGrantTypes() []string {
	out := []string{}
	for _, gt := range s.Config.AllowedGrantTypes {
		if gt != oauth2.Implicit && s.CheckGrantType(gt) && !slices.Contains(out, gt.String()) {
			out = append(out, gt.String())
		}
	}
	if s.CheckResponseType(oauth2.Token) {
		out = append(out, oauth2.Implicit.String())
	}
	return out
}

// clientAuthMethods lists the client authentication methods the server
// accepts (RFC 7591 2 names) and the JWS algorithms of those that sign.
func (s *Server) clientAuthMethods() (methods, algs []string) {
	mode := modeOf(s.ClientInfoHandler)
	switch mode {
	case modeBasic:
		methods = []string{AuthMethodBasic}
	case modeForm:
		methods = []string{AuthMethodPost}
	default:
		methods = []string{AuthMethodBasic, AuthMethodPost}
	}
	if mode != modeCustom {
		for _, a := range s.ClientAuthenticators {
			if m := a.Method(); m != "" && !slices.Contains(methods, m) {
				methods = append(methods, m)
			}
			if sa, ok := a.(ClientAuthenticatorAlgorithms); ok {
				for _, alg := range sa.SigningAlgorithms() {
					if !slices.Contains(algs, alg) {
						algs = append(algs, alg)
					}
				}
			}
		}
	}
	if mode != modeBasic && !slices.Contains(methods, AuthMethodNone) {
		methods = append(methods, AuthMethodNone)
	}
	return methods, algs
}

// supportedCodeChallengeMethods lists the PKCE methods both the manager
// and Config.AllowedCodeChallengeMethods accept (RFC 7636 4.3).
func (s *Server) supportedCodeChallengeMethods() []string {
	methods := []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256}
	if p, ok := s.Manager.(CodeChallengeMethodsProvider); ok {
		methods = p.CodeChallengeMethods()
	}
	var out []string
	for _, m := range methods {
		if s.CheckCodeChallengeMethod(m) {
			out = append(out, m.String())
		}
	}
	return out
}

// HandleMetadataRequest serves the authorization server metadata (RFC 8414
// 3) as JSON, for the path MetadataPath(Config.Issuer), normally
// /.well-known/oauth-authorization-server. It answers GET and HEAD; another
// method is 405 with an Allow header. A server without Config.Issuer
// publishes no metadata and answers 404; an issuer that is not a valid URL
// is a server_error. The document is public and cacheable for JWKSMaxAge.
func (s *Server) HandleMetadataRequest(w http.ResponseWriter, r *http.Request) {
	s.serveMetadataDocument(w, r, "metadata", func() (any, error) { return s.Metadata() })
}

// serveMetadataDocument serves a public JSON metadata document (RFC 8414
// 3, OpenID Connect Discovery 1.0 4): GET and HEAD only, 404 without an
// issuer, a server_error naming what when it cannot be built, cacheable
// for JWKSMaxAge.
func (s *Server) serveMetadataDocument(w http.ResponseWriter, r *http.Request, what string, build func() (any, error)) {
	if !s.publicGetOnly(w, r) {
		return
	}
	md, err := build()
	if stderrors.Is(err, ErrNoIssuer) {
		http.NotFound(w, r)
		return
	}
	var body []byte
	if err == nil {
		body, err = json.Marshal(md)
	}
	if err != nil {
		_ = s.tokenError(w, fmt.Errorf("server: %s: %w", what, err))
		return
	}
	writePublicDocument(w, r, hdrJSON, append(body, '\n'))
}
