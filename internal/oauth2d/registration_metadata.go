package oauth2d

import (
	"bytes"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/oauth2d/oauth2/internal/secret"
)

// The metadata of a registration request (RFC 7591 2, 3.1; RFC 7592 2.2):
// read, completed with the defaults of RFC 7591 2, and checked against
// what this server serves, before anything is fetched or stored.

// Errors of a registration (RFC 7591 3.2.2), and of its management (RFC
// 7592 2: invalid_token of RFC 6750 3.1).
const (
	errInvalidRedirectURI    = "invalid_redirect_uri"
	errInvalidClientMetadata = "invalid_client_metadata"
	errInvalidToken          = "invalid_token"
)

// registrationError is an error answered to a registration request: its
// RFC 7591 3.2.2 code, a description that never holds a secret, and the
// HTTP status (400 unless said otherwise).
type registrationError struct {
	code        string
	description string
	status      int
}

func (e *registrationError) Error() string { return e.code + ": " + e.description }

func metadataError(format string, args ...any) *registrationError {
	return &registrationError{code: errInvalidClientMetadata, description: fmt.Sprintf(format, args...)}
}

func redirectError(format string, args ...any) *registrationError {
	return &registrationError{code: errInvalidRedirectURI, description: fmt.Sprintf(format, args...)}
}

// registrationRequest is what a registration (RFC 7591 3.1) or an update
// (RFC 7592 2.2) may set: the client metadata of RFC 7591 2 and those of
// the specifications this server serves (OpenID Connect Dynamic Client
// Registration 1.0 2, RP-Initiated Logout 1.0 3.1, RFC 9449 5.2, RFC 9126
// 6, RFC 8705 2.1.2 and 3.4). Every other member is ignored (RFC 7591 2)
// and never stored: a stranger cannot set this server's extensions
// (introspect_any, resources, token_exchange_audiences).
type registrationRequest struct {
	RedirectURIs                       []string        `json:"redirect_uris"`
	TokenEndpointAuthMethod            string          `json:"token_endpoint_auth_method"`
	GrantTypes                         []string        `json:"grant_types"`
	ResponseTypes                      []string        `json:"response_types"`
	ClientName                         string          `json:"client_name"`
	LogoURI                            string          `json:"logo_uri"`
	Scope                              string          `json:"scope"`
	Contacts                           []string        `json:"contacts"`
	JWKSURI                            string          `json:"jwks_uri"`
	JWKS                               json.RawMessage `json:"jwks"`
	PostLogoutRedirectURIs             []string        `json:"post_logout_redirect_uris"`
	SubjectType                        string          `json:"subject_type"`
	IDTokenSignedResponseAlg           string          `json:"id_token_signed_response_alg"`
	DPoPBoundAccessTokens              bool            `json:"dpop_bound_access_tokens"`
	RequirePushedAuthorizationRequests bool            `json:"require_pushed_authorization_requests"`
	TLSClientAuthSubjectDN             string          `json:"tls_client_auth_subject_dn"`
	TLSClientAuthSANDNS                string          `json:"tls_client_auth_san_dns"`
	TLSClientAuthSANURI                string          `json:"tls_client_auth_san_uri"`
	TLSClientAuthSANIP                 string          `json:"tls_client_auth_san_ip"`
	TLSClientAuthSANEmail              string          `json:"tls_client_auth_san_email"`
	TLSClientCertBoundAccessTokens     bool            `json:"tls_client_certificate_bound_access_tokens"`

	// RFC 7592 2.2: an update names the client, and may repeat its
	// secret, which must then be the client's.
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// parseRegistration reads a registration request body: one JSON object
// (RFC 7591 3.1), nothing after it. A member of the wrong type is
// invalid_client_metadata naming the member, never its value.
func parseRegistration(body []byte) (*registrationRequest, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, metadataError("the request body must be a JSON object (RFC 7591 3.1)")
	}
	var req registrationRequest
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&req); err != nil {
		var te *json.UnmarshalTypeError
		if stderrors.As(err, &te) && te.Field != "" {
			return nil, metadataError("%s: wrong type (RFC 7591 2)", te.Field)
		}
		return nil, metadataError("the request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, metadataError("data after the JSON object")
	}
	if t := bytes.TrimSpace(req.JWKS); bytes.Equal(t, []byte("null")) {
		req.JWKS = nil
	}
	return &req, nil
}

// registrationPolicy is what the server serves, from its metadata (RFC
// 8414 2), which a registration must fit.
type registrationPolicy struct {
	authMethods   []string
	grantTypes    []string
	responseTypes []string
	// scopes are the scopes the server knows; nil: any scope.
	scopes []string
}

// confidentialMethods are the authentication methods that use a client
// secret, which the server issues (RFC 7591 3.2.1) and keeps as a hash.
var confidentialMethods = []string{"client_secret_basic", "client_secret_post"}

// registrationScopeToken is a scope token (RFC 6749 3.3).
var registrationScopeToken = regexp.MustCompile(`^[\x21\x23-\x5b\x5d-\x7e]+$`)

// privateUseScheme is the scheme of a private-use URI scheme redirect of a
// native app (RFC 8252 7.1): a reverse domain name, with a dot.
var privateUseScheme = regexp.MustCompile(`^[a-z][a-z0-9+\-]*(\.[a-z0-9+\-]+)+$`)

// normalize applies the defaults of RFC 7591 2 (client_secret_basic,
// authorization_code, code for it, the server's scopes) and checks the request
// against the rules of RFC 7591 2 and 2.1 and what the server serves. It
// leaves to Config.validateManagedClient what a client of the file is
// also checked for.
func (p *registrationPolicy) normalize(req *registrationRequest) error {
	if req.TokenEndpointAuthMethod == "" {
		req.TokenEndpointAuthMethod = "client_secret_basic"
	}
	if len(req.GrantTypes) == 0 {
		req.GrantTypes = []string{"authorization_code"}
	}
	if len(req.ResponseTypes) == 0 {
		// RFC 7591 2 defaults to "code"; a client whose grants use no
		// authorization endpoint (client_credentials alone) uses none.
		switch {
		case slices.Contains(req.GrantTypes, "authorization_code"):
			req.ResponseTypes = []string{"code"}
		case slices.Contains(req.GrantTypes, "implicit"):
			req.ResponseTypes = []string{"token"}
		}
	}
	m := req.TokenEndpointAuthMethod
	switch {
	case m == "client_secret_jwt":
		// The HMAC key is the secret itself, which is stored hashed.
		return metadataError("token_endpoint_auth_method: client_secret_jwt is not available to registered clients (the secret is kept only as a hash); use private_key_jwt")
	case !slices.Contains(p.authMethods, m):
		return metadataError("token_endpoint_auth_method: %q is not supported; use one of %s", m, strings.Join(p.authMethods, ", "))
	}
	if len(req.JWKS) > 0 && req.JWKSURI != "" {
		return metadataError("jwks and jwks_uri: set one, not both (RFC 7591 2)")
	}
	if m == "private_key_jwt" && len(req.JWKS) == 0 && req.JWKSURI == "" {
		return metadataError("private_key_jwt needs jwks or jwks_uri (RFC 7523 2.2)")
	}
	for i, g := range req.GrantTypes {
		if !slices.Contains(p.grantTypes, g) {
			return metadataError("grant_types[%d]: %q is not supported; use some of %s", i, g, strings.Join(p.grantTypes, ", "))
		}
	}
	if slices.Contains(req.GrantTypes, "client_credentials") && m == "none" {
		return metadataError("grant_types: a public client (token_endpoint_auth_method none) cannot use client_credentials (RFC 6749 4.4)")
	}
	if err := p.checkResponseTypes(req); err != nil {
		return err
	}
	if err := p.checkScope(req); err != nil {
		return err
	}
	if uses := usesRedirect(req); uses && len(req.RedirectURIs) == 0 {
		return redirectError("redirect_uris: required for the authorization_code and implicit grants (RFC 7591 2)")
	}
	for i, ru := range req.RedirectURIs {
		if err := checkRegisteredRedirect(ru); err != nil {
			return redirectError("redirect_uris[%d]: %v", i, err)
		}
	}
	for i, ru := range req.PostLogoutRedirectURIs {
		if err := checkRegisteredRedirect(ru); err != nil {
			return metadataError("post_logout_redirect_uris[%d]: %v", i, err)
		}
	}
	return nil
}

// checkResponseTypes checks that response_types are served and that they
// and grant_types agree (RFC 7591 2.1): "code" with authorization_code,
// "token" and "id_token" with implicit, and each of those grants with a
// response type that uses it.
func (p *registrationPolicy) checkResponseTypes(req *registrationRequest) error {
	var needCode, needImplicit bool
	for i, rt := range req.ResponseTypes {
		if !slices.Contains(p.responseTypes, rt) {
			return metadataError("response_types[%d]: %q is not supported; use some of %s", i, rt, strings.Join(p.responseTypes, ", "))
		}
		for _, w := range strings.Fields(rt) {
			switch w {
			case "code":
				needCode = true
			case "token", "id_token":
				needImplicit = true
			}
		}
	}
	hasCode := slices.Contains(req.GrantTypes, "authorization_code")
	hasImplicit := slices.Contains(req.GrantTypes, "implicit")
	switch {
	case needCode && !hasCode:
		return metadataError("response_types include code but grant_types lack authorization_code (RFC 7591 2.1)")
	case needImplicit && !hasImplicit:
		return metadataError("response_types include token or id_token but grant_types lack implicit (RFC 7591 2.1)")
	case hasCode && !needCode:
		return metadataError("grant_types include authorization_code but response_types lack code (RFC 7591 2.1)")
	case hasImplicit && !needImplicit:
		return metadataError("grant_types include implicit but response_types lack token or id_token (RFC 7591 2.1)")
	}
	return nil
}

// checkScope checks each scope value against the server's scopes (any
// well-formed one when the server lists none) and registers the server's
// scopes when the request names none (RFC 7591 2: "the authorization
// server MAY register a client with a default set of scopes").
func (p *registrationPolicy) checkScope(req *registrationRequest) error {
	words := strings.Fields(req.Scope)
	if len(words) == 0 {
		req.Scope = strings.Join(p.scopes, " ")
		return nil
	}
	for _, w := range words {
		if !registrationScopeToken.MatchString(w) {
			return metadataError("scope: a value is not a scope token (RFC 6749 3.3)")
		}
		if p.scopes != nil && !slices.Contains(p.scopes, w) {
			return metadataError("scope: %q is not a scope of this server; use some of %s", w, strings.Join(p.scopes, " "))
		}
	}
	var uniq []string
	for _, w := range words {
		if !slices.Contains(uniq, w) {
			uniq = append(uniq, w)
		}
	}
	req.Scope = strings.Join(uniq, " ")
	return nil
}

// usesRedirect reports whether the client's grants send the browser back
// to it.
func usesRedirect(req *registrationRequest) bool {
	return slices.Contains(req.GrantTypes, "authorization_code") || slices.Contains(req.GrantTypes, "implicit")
}

// checkRegisteredRedirect checks a redirect URI of a registration (RFC
// 7591 2, RFC 6749 3.1.2, RFC 8252 7): absolute, without a fragment, and
// https; or http on a loopback host (RFC 8252 7.3); or a private-use
// scheme of reverse-domain form (RFC 8252 7.1), for native apps.
func checkRegisteredRedirect(s string) error {
	if strings.Contains(s, "#") {
		return stderrors.New("must not have a fragment (RFC 6749 3.1.2)")
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() {
		return stderrors.New("not an absolute URI")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return stderrors.New("contains spaces or control characters")
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return stderrors.New("an https URI needs a host")
		}
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
			return nil
		}
		return stderrors.New("http is only for loopback hosts (127.0.0.1, [::1], localhost); use https (RFC 8252 7.3)")
	}
	if privateUseScheme.MatchString(u.Scheme) {
		return nil
	}
	return stderrors.New("use https, http on a loopback host, or a private-use scheme in reverse-domain form such as com.example.app (RFC 8252 7.1)")
}

// dummySecretHash is an argon2id hash that stands for a client's secret
// while its registration is validated, so that the secret is hashed only
// for a registration that passed.
var dummySecretHash = sync.OnceValues(func() (string, error) {
	return secret.Hash("registration-validation-placeholder")
})
