package server

import (
	stderrors "errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/oidc"
)

// Paths of the OpenID Connect endpoints, under the issuer.
const (
	// PathUserInfo is the default path of the UserInfo endpoint (OpenID
	// Connect Core 1.0 5.3).
	PathUserInfo = "/userinfo"
	// PathOpenIDConfiguration is the well-known path of the OpenID
	// Provider configuration of an issuer without a path (OpenID Connect
	// Discovery 1.0 4); see OpenIDConfigurationPath.
	PathOpenIDConfiguration = "/.well-known/openid-configuration"
)

// OpenIDConfigurationPath returns the path at which the OpenID Provider
// configuration of issuer is published: the issuer's own path followed by
// /.well-known/openid-configuration (OpenID Connect Discovery 1.0 4.1;
// unlike RFC 8414 3.1, the well-known part comes last).
// https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationRequest
func OpenIDConfigurationPath(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return PathOpenIDConfiguration
	}
	return strings.TrimSuffix(u.EscapedPath(), "/") + PathOpenIDConfiguration
}

// IDTokenAlgorithms is implemented by ID token generators that tell which
// JWS algorithms they sign with, as generates.JWTIDTokenGenerate does: the
// discovery document lists them in id_token_signing_alg_values_supported.
type IDTokenAlgorithms interface {
	Algorithms() []string
}

// OpenIDConfig is the OpenID Connect configuration of a Server's endpoints:
// what its UserInfo endpoint (UserInfoHandler) and its discovery document
// (OpenIDMetadata, OpenIDConfigurationHandler) need beyond Config.
type OpenIDConfig struct {
	// IDTokens signs the server's ID tokens; nil takes the generator mapped
	// on the manager (manage.Manager.MapIDTokenGenerate,
	// IDTokenGenerateProvider). The discovery document needs it to
	// implement IDTokenAlgorithms.
	IDTokens generates.IDTokenGenerate
	// Subjects computes sub; it must be the one the ID token generator uses
	// (generates.WithSubjects), so that the UserInfo endpoint's sub is the
	// ID token's (Core 5.3.2). nil takes the generator's (SubjectsProvider),
	// and without one serves public subject identifiers only.
	Subjects *oidc.Subjects
	// UserClaimsHandler returns the End-User's claims; nil releases none but
	// sub.
	UserClaimsHandler UserClaimsHandler
	// UserInfoEndpoint is the URL of the UserInfo endpoint; "" is the
	// issuer followed by PathUserInfo.
	UserInfoEndpoint string
	// EndSessionEndpoint is the URL of the RP-Initiated Logout endpoint
	// (RP-Initiated Logout 1.0 2.1); "" advertises none.
	EndSessionEndpoint string
	// ClaimsSupported are the claims advertised in claims_supported; nil is
	// the claims an ID token carries about the authentication and every
	// standard claim (oidc.StandardClaims).
	ClaimsSupported []string
	// ACRValuesSupported are the Authentication Context Class References
	// the server satisfies, advertised in acr_values_supported; nil
	// advertises none.
	ACRValuesSupported []string
}

// NewOpenIDConfig returns the configuration of a server whose ID tokens
// gen signs, with the End-User claims of claims: its Subjects are gen's.
func NewOpenIDConfig(gen *generates.JWTIDTokenGenerate, claims UserClaimsHandler) *OpenIDConfig {
	return &OpenIDConfig{IDTokens: gen, Subjects: gen.Subjects(), UserClaimsHandler: claims}
}

// OpenIDMetadata is the OpenID Provider metadata of OpenID Connect
// Discovery 1.0 3: the RFC 8414 members of Metadata, with the same values,
// and the members OpenID Connect adds.
// https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
type OpenIDMetadata struct {
	Metadata
	UserInfoEndpoint                 string   `json:"userinfo_endpoint,omitempty"`
	EndSessionEndpoint               string   `json:"end_session_endpoint,omitempty"`
	ResponseModesSupported           []string `json:"response_modes_supported,omitempty"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported,omitempty"`
	ACRValuesSupported               []string `json:"acr_values_supported,omitempty"`
	ClaimsParameterSupported         bool     `json:"claims_parameter_supported"`
	RequestParameterSupported        bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported     bool     `json:"request_uri_parameter_supported"`
}

// Errors of OpenIDMetadata: configurations that cannot make an OpenID
// Provider.
var (
	errNoOpenIDConfig = stderrors.New("server: OpenID Connect discovery needs an OpenIDConfig")
	errNoIDTokenAlgs  = stderrors.New("server: OpenID Connect discovery needs an ID token generator that implements IDTokenAlgorithms")
	errNoRS256        = stderrors.New("server: no key signs RS256 ID tokens, which OpenID Connect Core 1.0 15.1 and Discovery 1.0 3 require: keep an RS256 key in the key set")
	errNoJWKS         = stderrors.New("server: OpenID Connect discovery needs a jwks_uri: call SetKeySet (Discovery 1.0 3)")
	errOtherKeySet    = stderrors.New("server: the key set of SetKeySet is not the one that signs ID tokens, so relying parties could not verify them")
)

// ClaimsSupportedDefault returns the default claims_supported: the claims
// an ID token carries about the authentication (OpenID Connect Core 1.0 2)
// and every standard claim (5.1).
func ClaimsSupportedDefault() []string {
	out := []string{oidc.ClaimIssuer, oidc.ClaimAudience, oidc.ClaimExpiry, oidc.ClaimIssuedAt,
		oidc.ClaimAuthTime, oidc.ClaimNonce, oidc.ClaimACR, oidc.ClaimAMR, oidc.ClaimAZP,
		oidc.ClaimAtHash, oidc.ClaimCHash, oidc.ClaimSID}
	return append(out, oidc.StandardClaims()...)
}

// OpenIDMetadata returns the OpenID Provider metadata (OpenID Connect
// Discovery 1.0 3) of the server: the document of Metadata (RFC 8414),
// member for member, with
//
//   - scopes_supported: openid and the scope values of Core 5.4, then
//     Config.ScopesSupported;
//   - userinfo_endpoint, and end_session_endpoint when configured;
//   - response_modes_supported: the modes the authorization endpoint
//     answers in: query (code only), fragment and form_post when it
//     answers OpenID Connect requests, else those of the response types
//     it serves (query for code, fragment for token);
//   - subject_types_supported: public, and pairwise with Subjects;
//   - id_token_signing_alg_values_supported: the algorithms of the ID
//     token generator (cfg.IDTokens, else the server's), which must include
//     RS256 (Core 15.1);
//   - claims_supported (ClaimsSupportedDefault unless configured) and
//     acr_values_supported when configured;
//   - claims_parameter_supported true; request_parameter_supported and
//     request_uri_parameter_supported false, as the server refuses those
//     parameters (Core 6).
//
// It fails like Metadata, and when the server has no key set (jwks_uri is
// REQUIRED), when that key set is not the one of a
// generates.JWTIDTokenGenerate cfg.IDTokens, or when no key signs RS256 ID
// tokens.
func (s *Server) OpenIDMetadata(cfg *OpenIDConfig) (*OpenIDMetadata, error) {
	if cfg == nil {
		return nil, errNoOpenIDConfig
	}
	md, err := s.Metadata()
	if err != nil {
		return nil, err
	}
	if md.JWKSURI == "" {
		return nil, errNoJWKS
	}
	idTokens := s.idTokens(cfg)
	algs, ok := idTokens.(IDTokenAlgorithms)
	if !ok {
		return nil, errNoIDTokenAlgs
	}
	if gen, ok := idTokens.(*generates.JWTIDTokenGenerate); ok && gen.KeySet() != s.KeySet() {
		return nil, errOtherKeySet
	}
	om := &OpenIDMetadata{
		Metadata:                         *md,
		EndSessionEndpoint:               cfg.EndSessionEndpoint,
		SubjectTypesSupported:            s.subjects(cfg).Types(),
		IDTokenSigningAlgValuesSupported: algs.Algorithms(),
		ClaimsSupported:                  slices.Clone(cfg.ClaimsSupported),
		ACRValuesSupported:               slices.Clone(cfg.ACRValuesSupported),
		ClaimsParameterSupported:         true,
	}
	if !slices.Contains(om.IDTokenSigningAlgValuesSupported, "RS256") {
		return nil, errNoRS256
	}
	if om.ClaimsSupported == nil {
		om.ClaimsSupported = ClaimsSupportedDefault()
	}
	om.UserInfoEndpoint = cfg.UserInfoEndpoint
	if om.UserInfoEndpoint == "" {
		om.UserInfoEndpoint = strings.TrimSuffix(md.Issuer, "/") + PathUserInfo
	}
	scopes := oidc.StandardScopes()
	for _, sc := range md.ScopesSupported {
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	om.ScopesSupported = scopes
	om.ResponseModesSupported = s.responseModesSupported()
	return om, nil
}

// OpenIDConfigurationHandler returns the handler of the OpenID Provider
// configuration document (OpenID Connect Discovery 1.0 4), to serve at
// OpenIDConfigurationPath(Config.Issuer), normally
// /.well-known/openid-configuration. It answers GET and HEAD with the JSON
// of OpenIDMetadata(cfg), public and cacheable for JWKSMaxAge like the RFC
// 8414 document; another method is 405 with an Allow header. A server
// without Config.Issuer answers 404; a configuration that cannot make a
// provider (see OpenIDMetadata) is a server_error.
func (s *Server) OpenIDConfigurationHandler(cfg *OpenIDConfig) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveOpenIDConfiguration(w, r, cfg)
	})
}

func (s *Server) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request, cfg *OpenIDConfig) {
	s.serveMetadataDocument(w, r, "OpenID Provider metadata", func() (any, error) { return s.OpenIDMetadata(cfg) })
}
