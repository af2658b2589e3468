package oauth2d

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
)

// The OpenID Connect fields of the configuration (docs/config.md): the
// users' claims, the clients' registration, session and signing.

// convertClientOpenID copies the OpenID Connect fields of a client of the
// file. sector_identifier_uri is refused: OpenID Connect Core 1.0 8.1 and
// Dynamic Client Registration 1.0 5 require the server to fetch it and
// check that it lists every redirect URI, which a configuration read at
// start-up does not do.
func convertClientOpenID(ps *problems, field string, fc *fileClient, cc *ClientConfig) {
	cc.PostLogoutRedirectURIs = fc.PostLogoutRedirectURIs
	cc.SubjectType = fc.SubjectType
	cc.IDTokenSignedResponseAlg = fc.IDTokenSignedResponseAlg
	if fc.SectorIdentifierURI != "" {
		ps.add(field+".sector_identifier_uri", "not supported: the server would have to fetch it to check that it lists every redirect URI (OpenID Connect Core 1.0 8.1); "+
			"a pairwise client's redirect URIs must share one host, which is its sector")
	}
}

// nodeClaims turns the claims field of a user, a YAML mapping, into a map
// of JSON values.
func nodeClaims(ps *problems, field string, n *yaml.Node) map[string]any {
	if n.Kind != yaml.MappingNode {
		ps.add(field, "must be a mapping of claim names to values, for example {name: Alice, email: alice@example.com}")
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		ps.add(field, "must be a mapping of claim names to values")
		return nil
	}
	m, ok := jsonValue(v).(map[string]any)
	if !ok {
		ps.add(field, "must be a mapping of claim names to values")
		return nil
	}
	return m
}

// jsonValue converts what the YAML decoder gives to values that encode as
// JSON: mappings with keys that are not strings become maps of their
// string forms.
func jsonValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}

// validateClaims checks a user's claims one by one with the rules of
// oidc.ClaimsFromMap, naming the field of each that does not fit.
func validateClaims(ps *problems, field string, claims map[string]any) {
	names := make([]string, 0, len(claims))
	for name := range claims {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := json.Marshal(claims[name]); err != nil {
			ps.add(field+"."+name, "not a JSON value")
			continue
		}
		if _, err := oidc.ClaimsFromMap(map[string]any{name: claims[name]}); err != nil {
			ps.add(field+"."+name, "%s", strings.TrimPrefix(err.Error(), "oidc: "))
		}
	}
}

// validateOpenIDServer checks the session and signing settings.
func (c *Config) validateOpenIDServer(ps *problems) {
	if c.Session.TTL <= 0 {
		ps.add("session.ttl", "must be positive")
	}
	if c.Session.IdleTimeout <= 0 {
		ps.add("session.idle_timeout", "must be positive")
	}
	if !slices.Contains(signingAlgs, c.Signing.Alg) {
		ps.add("signing.alg", "%q is not one of %s", c.Signing.Alg, strings.Join(signingAlgs, ", "))
	}
}

// validateClientOpenID checks the OpenID Connect registration of a client.
func (c *Config) validateClientOpenID(ps *problems, field string, cl *ClientConfig) {
	for j, u := range cl.PostLogoutRedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			ps.add(fmt.Sprintf("%s.post_logout_redirect_uris[%d]", field, j), "%v", err)
		}
	}
	switch cl.SubjectType {
	case "", oidc.SubjectPublic:
	case oidc.SubjectPairwise:
		// Core 8.1: the sector is the host of the redirect URIs, which
		// must then be one.
		mc := &models.Client{ID: cl.ID, RedirectURIs: cl.RedirectURIs, SubjectType: cl.SubjectType}
		if _, err := oidc.SectorIdentifier(mc); err != nil {
			ps.add(field+".subject_type", "pairwise needs redirect_uris that all have one host, the client's sector (OpenID Connect Core 1.0 8.1)")
		}
	default:
		ps.add(field+".subject_type", "%q is not public or pairwise", cl.SubjectType)
	}
	if alg := cl.IDTokenSignedResponseAlg; alg != "" && alg != "RS256" && alg != c.Signing.Alg {
		ps.add(field+".id_token_signed_response_alg", "%q is not an algorithm of the server's keys: RS256 or signing.alg (%s)", alg, c.Signing.Alg)
	}
}
