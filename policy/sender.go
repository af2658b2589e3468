package policy

import (
	"slices"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// Extension keys (oauth2.ExtendableTokenInfo) of sender-constrained tokens,
// resource indicators and token exchange. They start with
// oauth2.ReservedExtensionPrefix: the library writes them, an application's
// ExtractExtensionHandler may not. Every store keeps them with the record,
// so no store has a column for them.
const (
	// ExtensionDPoPJKT is the JWK SHA-256 thumbprint (RFC 7638) of the DPoP
	// key the record is bound to (RFC 9449 6): on an authorization code,
	// the dpop_jkt of the authorization request (RFC 9449 10), which the
	// token request's proof must match; on an access token, the key of the
	// proof it was issued with, so that the token is a DPoP token
	// (token_type DPoP, cnf.jkt). A public client's refresh token is bound
	// to the same key: a refresh must come with a proof of it (RFC 9449 5).
	ExtensionDPoPJKT = oauth2.ReservedExtensionPrefix + "dpop_jkt"
	// ExtensionResource holds the resource indicators (RFC 8707) of the
	// record, one value each: on a code, those of the authorization
	// request; on an access token, its audience.
	ExtensionResource = oauth2.ReservedExtensionPrefix + "resource"
	// ExtensionGrantedResource holds the resources the grant was given when
	// a token request narrowed the record's ExtensionResource (RFC 8707
	// 2.2): a later refresh may ask for any of them. Absent while the two
	// are the same.
	ExtensionGrantedResource = oauth2.ReservedExtensionPrefix + "granted_resource"
	// ExtensionActor is the act claim (RFC 8693 4.1) of a token issued by a
	// token exchange for a delegation, as a JSON object.
	ExtensionActor = oauth2.ReservedExtensionPrefix + "act"
	// ExtensionIssuedTokenType is the issued_token_type (RFC 8693 2.2.1) of
	// a token issued by a token exchange.
	ExtensionIssuedTokenType = oauth2.ReservedExtensionPrefix + "issued_token_type"
)

// Errors of resource indicators and token exchange audiences, each an
// invalid_target (RFC 8707 2, RFC 8693 2.2.2). Their descriptions never
// repeat the value.
var (
	// ErrMalformedResource: a resource is not an absolute URI without a
	// fragment (RFC 8707 2).
	ErrMalformedResource = errors.WithDescription(errors.ErrInvalidTarget, "A resource is not an absolute URI without a fragment")
	// ErrResourceNotAllowed: the client may not ask for the resource.
	ErrResourceNotAllowed = errors.WithDescription(errors.ErrInvalidTarget, "The client may not request this resource")
	// ErrResourceNotGranted: a token request asked for a resource the grant
	// was not given (RFC 8707 2.2).
	ErrResourceNotGranted = errors.WithDescription(errors.ErrInvalidTarget, "The resource was not granted")
	// ErrAudienceNotAllowed: the client may not exchange a token for the
	// audience (RFC 8693 2.2.2).
	ErrAudienceNotAllowed = errors.WithDescription(errors.ErrInvalidTarget, "The client may not exchange tokens for this audience")
)

// RequiresDPoP reports whether the client registered
// dpop_bound_access_tokens (RFC 9449 5.2, oauth2.DPoPBoundClient): every
// token request of it must carry a DPoP proof.
func (c Client) RequiresDPoP() bool {
	d, ok := c.info.(oauth2.DPoPBoundClient)
	return ok && d.GetDPoPBoundAccessTokens()
}

// RequiresPushedAuthorization reports whether the client registered
// require_pushed_authorization_requests (RFC 9126 6,
// oauth2.PushedAuthorizationClient).
func (c Client) RequiresPushedAuthorization() bool {
	p, ok := c.info.(oauth2.PushedAuthorizationClient)
	return ok && p.GetRequirePushedAuthorizationRequests()
}

// AllowsResource reports whether the client may ask for a token for
// resource (RFC 8707 2): it is among the client's registered resources
// (oauth2.ResourceClient) or among allowed, the resources the server's
// configuration allows every client. Both compare exact strings.
func (c Client) AllowsResource(resource string, allowed []string) bool {
	if slices.Contains(allowed, resource) {
		return true
	}
	rc, ok := c.info.(oauth2.ResourceClient)
	return ok && slices.Contains(rc.GetResources(), resource)
}

// CheckResources returns ErrResourceNotAllowed unless the client may ask
// for every one of resources (AllowsResource).
func (c Client) CheckResources(resources, allowed []string) error {
	for _, r := range resources {
		if !c.AllowsResource(r, allowed) {
			return ErrResourceNotAllowed
		}
	}
	return nil
}

// CheckExchangeAudiences returns ErrAudienceNotAllowed unless every one of
// audiences is among the client's token exchange audiences
// (oauth2.TokenExchangeClient), the allow-list of RFC 8693 2.2.2's "the
// client is not authorized" policy.
func (c Client) CheckExchangeAudiences(audiences []string) error {
	if len(audiences) == 0 {
		return nil
	}
	tc, ok := c.info.(oauth2.TokenExchangeClient)
	if !ok {
		return ErrAudienceNotAllowed
	}
	list := tc.GetTokenExchangeAudiences()
	for _, a := range audiences {
		if !slices.Contains(list, a) {
			return ErrAudienceNotAllowed
		}
	}
	return nil
}

// extension returns the extension data of ti, nil when it has none.
func extension(ti oauth2.TokenInfo) map[string][]string {
	if e, ok := ti.(oauth2.ExtendableTokenInfo); ok {
		return e.GetExtension()
	}
	return nil
}

// DPoPThumbprint returns the JWK thumbprint the record ti is bound to
// (ExtensionDPoPJKT), "" when it is not bound.
func DPoPThumbprint(ti oauth2.TokenInfo) string {
	if v := extension(ti)[ExtensionDPoPJKT]; len(v) == 1 {
		return v[0]
	}
	return ""
}

// Resources returns the resource indicators of the record ti
// (ExtensionResource): for an access token, its audience. The caller must
// not modify the result.
func Resources(ti oauth2.TokenInfo) []string {
	return extension(ti)[ExtensionResource]
}

// GrantedResources returns the resources the grant of ti was given: the
// values under ExtensionGrantedResource when a token request narrowed them,
// else Resources(ti). The caller must not modify the result.
func GrantedResources(ti oauth2.TokenInfo) []string {
	ext := extension(ti)
	if v, ok := ext[ExtensionGrantedResource]; ok {
		return v
	}
	return ext[ExtensionResource]
}
