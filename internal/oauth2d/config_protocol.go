package oauth2d

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/dpop"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/policy"
	"github.com/oauth2d/oauth2/server"
)

// The configuration of sender-constrained tokens, pushed requests,
// resource indicators, token exchange and TLS (docs/config.md): server-wide
// in ProtocolConfig, per client in ClientProtocolConfig. Both are embedded
// in Config and ClientConfig, whose fields they add.

// ProtocolConfig configures DPoP (RFC 9449), pushed authorization requests
// (RFC 9126), resource indicators (RFC 8707), token exchange (RFC 8693)
// and TLS with mutual-TLS client authentication (RFC 8705).
type ProtocolConfig struct {
	// DPoP configures sender-constrained tokens with DPoP proofs.
	DPoP DPoPConfig
	// PAR configures the pushed authorization request endpoint, /par.
	PAR PARConfig
	// Resources are the resource indicators every client may ask tokens
	// for, besides its own clients[].resources.
	Resources []string
	// TokenExchange turns on the token exchange grant.
	TokenExchange TokenExchangeConfig
	// TLS serves HTTPS directly, with mutual TLS as an option.
	TLS TLSConfig
}

// DPoPConfig configures DPoP (RFC 9449) at the token endpoint and for
// resource requests.
type DPoPConfig struct {
	// Enabled accepts DPoP proofs (on by default): a token request with a
	// proof gets a DPoP-bound access token (token_type DPoP).
	Enabled bool
	// Algorithms are the JWS algorithms accepted in proofs; empty: every
	// asymmetric algorithm of dpop.DefaultAlgorithms.
	Algorithms []string
	// MaxAge and Leeway bound a proof's iat: at most MaxAge old and Leeway
	// in the future; zero takes the defaults (1m, 5s).
	MaxAge, Leeway time.Duration
	// RequireNonce makes every proof carry a nonce the server provided
	// (RFC 9449 8), current for NonceLifetime (zero: 5m).
	RequireNonce  bool
	NonceLifetime time.Duration
}

// PARConfig configures pushed authorization requests (RFC 9126).
type PARConfig struct {
	// Required accepts authorization requests only through a request_uri
	// of /par (require_pushed_authorization_requests).
	Required bool
	// Lifetime is how long a request_uri waits for its first use (RFC
	// 9126 2.2 expires_in); zero: 60s.
	Lifetime time.Duration
}

// TokenExchangeConfig configures the token exchange grant (RFC 8693).
type TokenExchangeConfig struct {
	// Enabled serves the grant urn:ietf:params:oauth:grant-type:token-exchange.
	Enabled bool
}

// ClientProtocolConfig is what a client registers for ProtocolConfig's
// features, by its RFC 9449, 9126, 8707, 8693 and 8705 metadata names.
type ClientProtocolConfig struct {
	// DPoPBoundAccessTokens refuses the client's token requests without a
	// DPoP proof (RFC 9449 5.2 dpop_bound_access_tokens).
	DPoPBoundAccessTokens bool
	// RequirePushedAuthorizationRequests accepts the client's
	// authorization requests only through /par (RFC 9126 6).
	RequirePushedAuthorizationRequests bool
	// Resources are the resource indicators the client may ask tokens for
	// (RFC 8707 2), absolute URIs without fragment.
	Resources []string
	// TokenExchangeAudiences are the audience and resource values the
	// client may exchange tokens for (RFC 8693 2.1).
	TokenExchangeAudiences []string
	// TLSClientAuth is the certificate identity of a client registered
	// for tls_client_auth (RFC 8705 2.1.2): exactly one of its values.
	TLSClientAuth oauth2.TLSClientAuthIdentity
	// TLSClientCertificateBoundAccessTokens binds the client's access
	// tokens to the certificate of its token request (RFC 8705 3.4).
	TLSClientCertificateBoundAccessTokens bool
}

// defaultProtocol is the ProtocolConfig of a configuration that says
// nothing: DPoP accepted, nothing else required.
func defaultProtocol() ProtocolConfig {
	return ProtocolConfig{DPoP: DPoPConfig{Enabled: true}}
}

// The YAML of ProtocolConfig and ClientProtocolConfig, inlined in
// fileConfig and fileClient.
type fileProtocol struct {
	DPoP          fileDPoP     `yaml:"dpop"`
	PAR           filePAR      `yaml:"par"`
	Resources     []string     `yaml:"resources"`
	TokenExchange fileExchange `yaml:"token_exchange"`
	TLS           fileTLS      `yaml:"tls"`
}

type fileDPoP struct {
	Enabled       string   `yaml:"enabled"`
	Algorithms    []string `yaml:"algorithms"`
	MaxAge        string   `yaml:"max_age"`
	Leeway        string   `yaml:"leeway"`
	RequireNonce  string   `yaml:"require_nonce"`
	NonceLifetime string   `yaml:"nonce_lifetime"`
}

type filePAR struct {
	Required string `yaml:"required"`
	Lifetime string `yaml:"lifetime"`
}

type fileExchange struct {
	Enabled string `yaml:"enabled"`
}

type fileTLS struct {
	CertFile      string   `yaml:"cert_file"`
	KeyFile       string   `yaml:"key_file"`
	MTLS          string   `yaml:"mtls"`
	ClientCAFiles []string `yaml:"client_ca_files"`
}

type fileClientProtocol struct {
	DPoPBoundAccessTokens                 string   `yaml:"dpop_bound_access_tokens"`
	RequirePushedAuthorizationRequests    string   `yaml:"require_pushed_authorization_requests"`
	Resources                             []string `yaml:"resources"`
	TokenExchangeAudiences                []string `yaml:"token_exchange_audiences"`
	TLSClientAuthSubjectDN                string   `yaml:"tls_client_auth_subject_dn"`
	TLSClientAuthSANDNS                   string   `yaml:"tls_client_auth_san_dns"`
	TLSClientAuthSANURI                   string   `yaml:"tls_client_auth_san_uri"`
	TLSClientAuthSANIP                    string   `yaml:"tls_client_auth_san_ip"`
	TLSClientAuthSANEmail                 string   `yaml:"tls_client_auth_san_email"`
	TLSClientCertificateBoundAccessTokens string   `yaml:"tls_client_certificate_bound_access_tokens"`
}

// defaultFileProtocol is the YAML default of fileProtocol.
func defaultFileProtocol() fileProtocol {
	return fileProtocol{DPoP: fileDPoP{Enabled: "true"}}
}

// convert turns the YAML of ProtocolConfig into it, naming the field of
// every value that does not convert.
func (fp *fileProtocol) convert(ps *problems) ProtocolConfig {
	var pc ProtocolConfig
	pc.DPoP = DPoPConfig{
		Enabled:       parseBool(ps, "dpop.enabled", fp.DPoP.Enabled),
		Algorithms:    fp.DPoP.Algorithms,
		MaxAge:        optionalDuration(ps, "dpop.max_age", fp.DPoP.MaxAge),
		Leeway:        optionalDuration(ps, "dpop.leeway", fp.DPoP.Leeway),
		RequireNonce:  parseBool(ps, "dpop.require_nonce", fp.DPoP.RequireNonce),
		NonceLifetime: optionalDuration(ps, "dpop.nonce_lifetime", fp.DPoP.NonceLifetime),
	}
	pc.PAR = PARConfig{
		Required: parseBool(ps, "par.required", fp.PAR.Required),
		Lifetime: optionalDuration(ps, "par.lifetime", fp.PAR.Lifetime),
	}
	pc.Resources = fp.Resources
	pc.TokenExchange.Enabled = parseBool(ps, "token_exchange.enabled", fp.TokenExchange.Enabled)
	pc.TLS = TLSConfig{
		CertFile:      fp.TLS.CertFile,
		KeyFile:       fp.TLS.KeyFile,
		MTLS:          parseBool(ps, "tls.mtls", fp.TLS.MTLS),
		ClientCAFiles: fp.TLS.ClientCAFiles,
	}
	return pc
}

// convert turns the YAML of a client's ClientProtocolConfig into it.
func (fc *fileClientProtocol) convert(ps *problems, field string) ClientProtocolConfig {
	return ClientProtocolConfig{
		DPoPBoundAccessTokens:              parseBool(ps, field+".dpop_bound_access_tokens", fc.DPoPBoundAccessTokens),
		RequirePushedAuthorizationRequests: parseBool(ps, field+".require_pushed_authorization_requests", fc.RequirePushedAuthorizationRequests),
		Resources:                          fc.Resources,
		TokenExchangeAudiences:             fc.TokenExchangeAudiences,
		TLSClientAuth: oauth2.TLSClientAuthIdentity{
			SubjectDN: fc.TLSClientAuthSubjectDN,
			SANDNS:    fc.TLSClientAuthSANDNS,
			SANURI:    fc.TLSClientAuthSANURI,
			SANIP:     fc.TLSClientAuthSANIP,
			SANEmail:  fc.TLSClientAuthSANEmail,
		},
		TLSClientCertificateBoundAccessTokens: parseBool(ps, field+".tls_client_certificate_bound_access_tokens", fc.TLSClientCertificateBoundAccessTokens),
	}
}

// optionalDuration parses a duration that may be left out ("" is zero:
// the default).
func optionalDuration(ps *problems, field, s string) time.Duration {
	if strings.TrimSpace(s) == "" {
		return 0
	}
	return parseDuration(ps, field, s)
}

// Limits of the protocol settings.
const (
	maxPARLifetime   = 10 * time.Minute
	maxDPoPMaxAge    = 10 * time.Minute
	maxDPoPLeeway    = time.Minute
	maxNonceLifetime = time.Hour
)

// validateProtocol checks the server-wide protocol settings.
func (c *Config) validateProtocol(ps *problems) {
	d := &c.DPoP
	for i, alg := range d.Algorithms {
		if !slices.Contains(dpop.DefaultAlgorithms, alg) {
			ps.add(fmt.Sprintf("dpop.algorithms[%d]", i), "%q is not one of %s (asymmetric JWS algorithms only, RFC 9449 4.2)", alg, strings.Join(dpop.DefaultAlgorithms, ", "))
		}
	}
	for _, b := range []struct {
		field    string
		v, limit time.Duration
	}{
		{"dpop.max_age", d.MaxAge, maxDPoPMaxAge},
		{"dpop.leeway", d.Leeway, maxDPoPLeeway},
		{"dpop.nonce_lifetime", d.NonceLifetime, maxNonceLifetime},
		{"par.lifetime", c.PAR.Lifetime, maxPARLifetime},
	} {
		switch {
		case b.v < 0:
			ps.add(b.field, "must be positive")
		case b.v > b.limit:
			ps.add(b.field, "must be at most %s", b.limit)
		}
	}
	if !d.Enabled && (d.RequireNonce || len(d.Algorithms) > 0 || d.MaxAge != 0 || d.Leeway != 0 || d.NonceLifetime != 0) {
		ps.add("dpop.enabled", "false, but other dpop settings are set")
	}
	for i, r := range c.Resources {
		if !policy.ValidResource(r) {
			ps.add(fmt.Sprintf("resources[%d]", i), "not an absolute URI without a fragment (RFC 8707 2)")
		}
	}
	c.validateTLS(ps)
}

// validateClientProtocol checks what a client registered for the protocol
// features, against the server-wide settings.
func (c *Config) validateClientProtocol(ps *problems, field string, cl *ClientConfig) {
	method := cl.TokenEndpointAuthMethod
	if cl.DPoPBoundAccessTokens && !c.DPoP.Enabled {
		ps.add(field+".dpop_bound_access_tokens", "DPoP is disabled (dpop.enabled: false)")
	}
	for j, r := range cl.Resources {
		if !policy.ValidResource(r) {
			ps.add(fmt.Sprintf("%s.resources[%d]", field, j), "not an absolute URI without a fragment (RFC 8707 2)")
		}
	}
	exchange := slices.ContainsFunc(cl.GrantTypes, func(g string) bool { return knownGrants[g] == oauth2.TokenExchange })
	if exchange && !c.TokenExchange.Enabled {
		for j, g := range cl.GrantTypes {
			if knownGrants[g] == oauth2.TokenExchange {
				ps.add(fmt.Sprintf("%s.grant_types[%d]", field, j), "the token exchange grant is disabled (set token_exchange.enabled: true)")
			}
		}
	}
	if len(cl.TokenExchangeAudiences) > 0 {
		switch {
		case !c.TokenExchange.Enabled:
			ps.add(field+".token_exchange_audiences", "the token exchange grant is disabled (set token_exchange.enabled: true)")
		case len(cl.GrantTypes) > 0 && !exchange:
			ps.add(field+".token_exchange_audiences", "the client does not list the token_exchange grant in grant_types")
		}
		for j, a := range cl.TokenExchangeAudiences {
			if a == "" || len(a) > policy.MaxResourceLength || strings.ContainsFunc(a, isControl) {
				ps.add(fmt.Sprintf("%s.token_exchange_audiences[%d]", field, j), "must be 1 to %d characters without control characters", policy.MaxResourceLength)
			}
		}
	}
	bound := cl.DPoPBoundAccessTokens || cl.TLSClientCertificateBoundAccessTokens
	implicit := slices.ContainsFunc(cl.GrantTypes, func(g string) bool { return knownGrants[g] == oauth2.Implicit })
	if bound && (implicit || (len(cl.GrantTypes) == 0 && c.Grants.Implicit)) {
		// The implicit grant issues tokens at the authorization
		// endpoint, where no proof or certificate comes with the request:
		// they would be bearer tokens (RFC 9449 5.2, RFC 8705 6.4).
		ps.add(field+".grant_types", "a client with sender-constrained tokens (dpop_bound_access_tokens, tls_client_certificate_bound_access_tokens) cannot use the implicit grant; list its grant_types without implicit")
	}

	tlsMethod := method == server.AuthMethodTLSClientAuth || method == server.AuthMethodSelfSignedTLSClientAuth
	if (tlsMethod || cl.TLSClientCertificateBoundAccessTokens) && !c.TLS.MTLS {
		f := field + ".token_endpoint_auth_method"
		if !tlsMethod {
			f = field + ".tls_client_certificate_bound_access_tokens"
		}
		ps.add(f, "needs mutual TLS: set tls.cert_file, tls.key_file and tls.mtls: true (RFC 8705)")
	}
	switch {
	case method == server.AuthMethodTLSClientAuth:
		if err := server.ValidTLSClientAuthIdentity(cl.TLSClientAuth); err != nil {
			f, msg := field, err.Error()
			if name, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(name, "tls_client_auth_") {
				f, msg = field+"."+name, rest
			}
			ps.add(f, "%s", msg)
		}
		if len(c.TLS.ClientCAFiles) == 0 {
			ps.add(field+".token_endpoint_auth_method", "tls_client_auth needs tls.client_ca_files, the CAs its certificate must chain to (RFC 8705 2.1)")
		}
	case !cl.TLSClientAuth.IsZero():
		ps.add(field, "tls_client_auth_* values are only for token_endpoint_auth_method: tls_client_auth (RFC 8705 2.1.2)")
	}
	if method == server.AuthMethodSelfSignedTLSClientAuth && len(cl.JWKS) == 0 {
		ps.add(field+".jwks", "required for self_signed_tls_client_auth: the client's certificates (x5c) or public keys (RFC 8705 2.2)")
	}
}

// applyClientProtocol copies a client's protocol registration into the
// client the server reads.
func applyClientProtocol(cl *models.Client, c *ClientConfig) {
	cl.DPoPBoundAccessTokens = c.DPoPBoundAccessTokens
	cl.RequirePushedAuthorizationRequests = c.RequirePushedAuthorizationRequests
	cl.Resources = slices.Clone(c.Resources)
	cl.TokenExchangeAudiences = slices.Clone(c.TokenExchangeAudiences)
	cl.TLSClientAuth = c.TLSClientAuth
	cl.TLSClientCertificateBoundAccessTokens = c.TLSClientCertificateBoundAccessTokens
}
