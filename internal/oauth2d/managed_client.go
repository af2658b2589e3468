package oauth2d

import (
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/models"
)

// Clients kept in the store (docs/architecture.md, management): a
// document of kind "client" per client, its ID the client_id, its body
// the JSON of clientDoc. The admin API writes them (source "admin"), and
// dynamic client registration (RFC 7591) does too (source
// "registration"). Every one converts to the ClientConfig a client of the
// YAML file is, and is validated by the same Config.validateClient, so that
// a store-kept client supports every field a YAML client does and is
// refused for the same reasons.

// Kinds of the documents oauth2d keeps in an oauth2.DocumentStore.
const (
	docClient = "client"
	docUser   = "user"
	// docClientDeleted marks a client_id that a deleted client had: it is
	// never given to another client (deleteClient).
	docClientDeleted = "client-deleted"
)

// Sources of a client document: who wrote it.
const (
	sourceAdmin        = "admin"
	sourceRegistration = "registration"
	// sourceConfig marks, in the admin API's answers only, a client of
	// the YAML file: read-only.
	sourceConfig = "config"
)

// clientMetadata is a client's registration by the metadata names of RFC
// 7591 2 (and the names RFC 9449 5.2, RFC 9126 6, RFC 8705 2.1.2 and 3.4
// and OpenID Connect Dynamic Client Registration 1.0 2 register), plus
// this server's extensions for what a client of the YAML file has:
// resources (RFC 8707), token_exchange_audiences (RFC 8693) and
// introspect_any (RFC 7662 2.1). It is what the admin API reads and
// writes, without the secret.
type clientMetadata struct {
	ClientID                           string          `json:"client_id"`
	RedirectURIs                       []string        `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs             []string        `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes                         []string        `json:"grant_types,omitempty"`
	ResponseTypes                      []string        `json:"response_types,omitempty"`
	Scope                              string          `json:"scope,omitempty"`
	TokenEndpointAuthMethod            string          `json:"token_endpoint_auth_method,omitempty"`
	JWKS                               json.RawMessage `json:"jwks,omitempty"`
	JWKSURI                            string          `json:"jwks_uri,omitempty"`
	ClientName                         string          `json:"client_name,omitempty"`
	LogoURI                            string          `json:"logo_uri,omitempty"`
	Contacts                           []string        `json:"contacts,omitempty"`
	SubjectType                        string          `json:"subject_type,omitempty"`
	IDTokenSignedResponseAlg           string          `json:"id_token_signed_response_alg,omitempty"`
	DPoPBoundAccessTokens              bool            `json:"dpop_bound_access_tokens,omitempty"`
	RequirePushedAuthorizationRequests bool            `json:"require_pushed_authorization_requests,omitempty"`
	TLSClientAuthSubjectDN             string          `json:"tls_client_auth_subject_dn,omitempty"`
	TLSClientAuthSANDNS                string          `json:"tls_client_auth_san_dns,omitempty"`
	TLSClientAuthSANURI                string          `json:"tls_client_auth_san_uri,omitempty"`
	TLSClientAuthSANIP                 string          `json:"tls_client_auth_san_ip,omitempty"`
	TLSClientAuthSANEmail              string          `json:"tls_client_auth_san_email,omitempty"`
	TLSClientCertBoundAccessTokens     bool            `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	Resources                          []string        `json:"resources,omitempty"`
	TokenExchangeAudiences             []string        `json:"token_exchange_audiences,omitempty"`
	IntrospectAny                      bool            `json:"introspect_any,omitempty"`
}

// clientDoc is the body of a "client" document: the metadata, the
// argon2id hash of the secret (never the secret), when the client ID was
// issued (RFC 7591 3.2.1, seconds since the epoch), who wrote it, and for a
// registered client the hash of its registration access token (RFC 7592).
type clientDoc struct {
	clientMetadata
	ClientSecretHash            string `json:"client_secret_hash,omitempty"`
	ClientIDIssuedAt            int64  `json:"client_id_issued_at,omitempty"`
	Source                      string `json:"source"`
	RegistrationAccessTokenHash string `json:"registration_access_token_hash,omitempty"`
}

// decodeClientDoc reads the body of a "client" document.
func decodeClientDoc(body []byte) (*clientDoc, error) {
	var d clientDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("oauth2d: client document: %w", err)
	}
	return &d, nil
}

// config converts the document to the ClientConfig of a client of the
// YAML file: the one conversion of a store-kept client.
func (d *clientDoc) config() ClientConfig {
	m := &d.clientMetadata
	return ClientConfig{
		ID:                      m.ClientID,
		SecretHash:              d.ClientSecretHash,
		RedirectURIs:            m.RedirectURIs,
		GrantTypes:              m.GrantTypes,
		Scopes:                  strings.Fields(m.Scope),
		Public:                  m.TokenEndpointAuthMethod == "none",
		TokenEndpointAuthMethod: m.TokenEndpointAuthMethod,
		JWKS:                    m.JWKS,
		JWKSURI:                 m.JWKSURI,
		IntrospectAny:           m.IntrospectAny,
		ClientProtocolConfig: ClientProtocolConfig{
			DPoPBoundAccessTokens:              m.DPoPBoundAccessTokens,
			RequirePushedAuthorizationRequests: m.RequirePushedAuthorizationRequests,
			Resources:                          m.Resources,
			TokenExchangeAudiences:             m.TokenExchangeAudiences,
			TLSClientAuth: oauth2.TLSClientAuthIdentity{
				SubjectDN: m.TLSClientAuthSubjectDN,
				SANDNS:    m.TLSClientAuthSANDNS,
				SANURI:    m.TLSClientAuthSANURI,
				SANIP:     m.TLSClientAuthSANIP,
				SANEmail:  m.TLSClientAuthSANEmail,
			},
			TLSClientCertificateBoundAccessTokens: m.TLSClientCertBoundAccessTokens,
		},
		PostLogoutRedirectURIs:   m.PostLogoutRedirectURIs,
		SubjectType:              m.SubjectType,
		IDTokenSignedResponseAlg: m.IDTokenSignedResponseAlg,
	}
}

// metadataOf returns the metadata of a client of the YAML file, for the
// admin API's read-only view of it.
func metadataOf(c *ClientConfig) clientMetadata {
	method := c.TokenEndpointAuthMethod
	if method == "" && c.Public {
		method = "none"
	}
	return clientMetadata{
		ClientID:                           c.ID,
		RedirectURIs:                       c.RedirectURIs,
		PostLogoutRedirectURIs:             c.PostLogoutRedirectURIs,
		GrantTypes:                         c.GrantTypes,
		Scope:                              strings.Join(c.Scopes, " "),
		TokenEndpointAuthMethod:            method,
		JWKS:                               c.JWKS,
		JWKSURI:                            c.JWKSURI,
		SubjectType:                        c.SubjectType,
		IDTokenSignedResponseAlg:           c.IDTokenSignedResponseAlg,
		DPoPBoundAccessTokens:              c.DPoPBoundAccessTokens,
		RequirePushedAuthorizationRequests: c.RequirePushedAuthorizationRequests,
		TLSClientAuthSubjectDN:             c.TLSClientAuth.SubjectDN,
		TLSClientAuthSANDNS:                c.TLSClientAuth.SANDNS,
		TLSClientAuthSANURI:                c.TLSClientAuth.SANURI,
		TLSClientAuthSANIP:                 c.TLSClientAuth.SANIP,
		TLSClientAuthSANEmail:              c.TLSClientAuth.SANEmail,
		TLSClientCertBoundAccessTokens:     c.TLSClientCertificateBoundAccessTokens,
		Resources:                          c.Resources,
		TokenExchangeAudiences:             c.TokenExchangeAudiences,
		IntrospectAny:                      c.IntrospectAny,
	}
}

// model converts a client's configuration to the client the server reads:
// the one conversion of YAML and store-kept clients alike.
func (c *ClientConfig) model() *models.Client {
	cl := &models.Client{
		ID:                      c.ID,
		Secret:                  c.Secret,
		SecretHash:              c.SecretHash,
		RedirectURIs:            slices.Clone(c.RedirectURIs),
		Scopes:                  slices.Clone(c.Scopes),
		Public:                  c.Public,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		JWKS:                    slices.Clone([]byte(c.JWKS)),
		JWKSURI:                 c.JWKSURI,
		// OpenID Connect.
		PostLogoutRedirectURIs:   slices.Clone(c.PostLogoutRedirectURIs),
		SubjectType:              c.SubjectType,
		IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg,
	}
	applyClientProtocol(cl, c) // config_protocol.go
	if cl.Public && cl.TokenEndpointAuthMethod == "" {
		cl.TokenEndpointAuthMethod = "none"
	}
	for _, g := range c.GrantTypes {
		if gt := knownGrants[g]; !slices.Contains(cl.GrantTypes, gt) {
			cl.GrantTypes = append(cl.GrantTypes, gt)
		}
	}
	return cl
}

// Response types of RFC 6749 3.1.1 and OAuth 2.0 Multiple Response Type
// Encoding Practices, the values of a client's response_types.
var knownResponseTypes = []string{"code", "token", "id_token", "none"}

// validateManagedClient checks a client kept in the store: what
// validateClient checks for a client of the file, with the RFC 7591 names
// of the fields, and the rules of a client registered while the server
// runs (RFC 7591 2, OAuth 2.0 for Native Apps, RFC 8252 7.3): http redirect
// URIs only on loopback hosts, jwks or jwks_uri but not both, grants the
// server serves. The errors are *ConfigError naming the metadata field.
func (c *Config) validateManagedClient(d *clientDoc) error {
	cc := d.config()
	var ps problems
	c.validateClient(&ps, "client", &cc)
	m := &d.clientMetadata
	if m.LogoURI != "" {
		if u, err := url.Parse(m.LogoURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			ps.add("client.logo_uri", "not an http or https URL (RFC 7591 2)")
		}
	}
	for j, ru := range m.RedirectURIs {
		if err := checkRedirectHost(ru); err != nil {
			ps.add(fmt.Sprintf("client.redirect_uris[%d]", j), "%v", err)
		}
	}
	for j, ru := range m.PostLogoutRedirectURIs {
		if err := checkRedirectHost(ru); err != nil {
			ps.add(fmt.Sprintf("client.post_logout_redirect_uris[%d]", j), "%v", err)
		}
	}
	for j, rt := range m.ResponseTypes {
		words := strings.Fields(rt)
		if len(words) == 0 || slices.ContainsFunc(words, func(w string) bool { return !slices.Contains(knownResponseTypes, w) }) {
			ps.add(fmt.Sprintf("client.response_types[%d]", j), "%q is not a response type (RFC 7591 2)", rt)
		}
	}
	if !c.deviceEnabled() {
		for j, g := range m.GrantTypes {
			if knownGrants[g] == oauth2.DeviceCode {
				ps.add(fmt.Sprintf("client.grant_types[%d]", j), "the device authorization grant is served only when grants.device is true or a client of the configuration file lists it")
			}
		}
	}
	for j, s := range []string{m.ClientName, m.TLSClientAuthSubjectDN} {
		if strings.ContainsFunc(s, isControl) {
			ps.add([]string{"client.client_name", "client.tls_client_auth_subject_dn"}[j], "contains control characters")
		}
	}
	for j, s := range m.Contacts {
		if s == "" || strings.ContainsFunc(s, isControl) {
			ps.add(fmt.Sprintf("client.contacts[%d]", j), "must be a non-empty string without control characters")
		}
	}
	return renameClientFields(ps.err())
}

// checkRedirectHost refuses an http redirect URI on a host other than a
// loopback one (RFC 8252 7.3, RFC 9700 2.6): a code sent in the clear.
func checkRedirectHost(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" {
		return nil // checkRedirectURI judged it
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return stderrors.New("http is only for loopback hosts (localhost, 127.0.0.1, [::1]); use https (RFC 8252 7.3, RFC 9700 2.6)")
}

// managedFieldNames maps the YAML names validateClient uses to the
// metadata names of RFC 7591 2.
var managedFieldNames = map[string]string{
	"id":          "client_id",
	"secret":      "client_secret",
	"secret_hash": "client_secret",
	"scopes":      "scope",
	"public":      "token_endpoint_auth_method",
}

// renameClientFields rewrites the fields of validateClient's errors,
// "client.scopes[0]", to the metadata names, "scope".
func renameClientFields(err error) error {
	if err == nil {
		return nil
	}
	var out problems
	for _, e := range unjoin(err) {
		var ce *ConfigError
		if !stderrors.As(e, &ce) {
			out = append(out, e)
			continue
		}
		f := strings.TrimPrefix(strings.TrimPrefix(ce.Field, "client"), ".")
		name, rest := f, ""
		if i := strings.IndexAny(f, ".["); i >= 0 {
			name, rest = f[:i], f[i:]
		}
		if n, ok := managedFieldNames[name]; ok {
			name = n
			if n == "scope" {
				rest = ""
			}
		}
		out = append(out, &ConfigError{Field: name + rest, Problem: ce.Problem})
	}
	return out.err()
}

// unjoin returns the errors of an errors.Join, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// deviceEnabled reports whether grants.device is on or a client of the
// configuration lists the device authorization grant (RFC 8628), which the
// server then accepts and advertises.
func (c *Config) deviceEnabled() bool {
	if c.Grants.Device {
		return true
	}
	for _, cl := range c.Clients {
		for _, g := range cl.GrantTypes {
			if knownGrants[g] == oauth2.DeviceCode {
				return true
			}
		}
	}
	return false
}
