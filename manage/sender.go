package manage

import (
	"net/url"
	"slices"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// The key binding (RFC 9449) and the resources (RFC 8707) of tokens issued
// from a code or a refresh token. The server puts in the token request's
// extension data the thumbprint of its verified DPoP proof's key
// (policy.ExtensionDPoPJKT) and the resources it asks for
// (policy.ExtensionResource); the grant's record holds what the grant is
// bound to.

// Errors of the bindings.
var (
	// errCodeBoundToKey: the code was issued for a dpop_jkt and the token
	// request has no proof of that key (RFC 9449 10).
	errCodeBoundToKey = errors.WithDescription(errors.ErrInvalidGrant,
		"The authorization code is bound to a DPoP key: the token request must carry a proof of that key")
	// errRefreshBoundToKey: a public client's refresh token is bound to
	// the key of the proof it was issued with (RFC 9449 5).
	errRefreshBoundToKey = errors.WithDescription(errors.ErrInvalidGrant,
		"The refresh token is bound to a DPoP key: the request must carry a proof of that key")
	// errRefreshBoundToCert: a public client's refresh token is bound to
	// the certificate it was issued with (RFC 8705 4).
	errRefreshBoundToCert = errors.WithDescription(errors.ErrInvalidGrant,
		"The refresh token is bound to a client certificate: the request must present that certificate")
)

// bindSender checks the token request tgr against the bindings of from, the
// code (refresh false) or refresh token (refresh true) that issued is made
// from, and writes issued's own, after extend has copied from's extension
// data:
//
//   - DPoP (RFC 9449 5, 10): a code issued for a dpop_jkt needs a proof of
//     that key; so does the refresh token of a public client whose tokens
//     are bound (its refresh token is bound with them). issued's access
//     token is bound to the key of the request's proof, and to none
//     without a proof: a confidential client may change keys, or go back
//     to bearer tokens, at a refresh.
//   - Client certificates (RFC 8705 3, 4): as DPoP keys, the access
//     token is bound to the certificate of the request
//     (policy.ExtensionCertThumbprint), and a public client's bound
//     refresh token needs the same certificate.
//   - Resources (RFC 8707 2.2): the token request may ask for any of the
//     resources the grant was given; its access token's audience is then
//     those, and the record keeps the grant's under
//     policy.ExtensionGrantedResource, so that a later refresh may ask for
//     the others. Without a resource parameter the token gets all the
//     grant's resources. A grant given none takes those of its first token
//     request.
//
// A refusal is invalid_grant or invalid_target; the caller stores nothing.
func bindSender(cli policy.Client, tgr *oauth2.TokenGenerateRequest, from, issued oauth2.TokenInfo, refresh bool) error {
	proof := tgr.Extension.Get(policy.ExtensionDPoPJKT)
	bound := policy.DPoPThumbprint(from)
	requested := tgr.Extension[policy.ExtensionResource]
	granted := policy.GrantedResources(from)
	cert, boundCert := tgr.Extension.Get(policy.ExtensionCertThumbprint), policy.CertificateThumbprint(from)
	if proof == "" && bound == "" && len(requested) == 0 && len(granted) == 0 && cert == "" && boundCert == "" {
		return nil
	}
	switch {
	case !refresh && bound != "" && proof != bound:
		return errCodeBoundToKey
	case refresh && bound != "" && cli.IsPublic() && proof != bound:
		return errRefreshBoundToKey
	case refresh && boundCert != "" && cli.IsPublic() && cert != boundCert:
		return errRefreshBoundToCert
	}
	current := granted
	if len(requested) > 0 {
		if len(granted) > 0 {
			for _, r := range requested {
				if !slices.Contains(granted, r) {
					return policy.ErrResourceNotGranted
				}
			}
		}
		current = requested
	}
	e, ok := issued.(oauth2.ExtendableTokenInfo)
	if !ok {
		if proof != "" || len(current) > 0 || cert != "" {
			return errExtensionModel
		}
		return nil
	}
	ext := make(url.Values, len(e.GetExtension())+3)
	for k, vs := range e.GetExtension() {
		ext[k] = vs
	}
	setOrDelete(ext, policy.ExtensionDPoPJKT, proof)
	setOrDelete(ext, policy.ExtensionCertThumbprint, cert)
	setOrDelete(ext, policy.ExtensionResource, current...)
	if len(granted) > 0 && !slices.Equal(current, granted) {
		ext[policy.ExtensionGrantedResource] = slices.Clone(granted)
	} else {
		delete(ext, policy.ExtensionGrantedResource)
	}
	if err := checkExtension(ext); err != nil {
		return err
	}
	if len(ext) == 0 {
		ext = nil
	}
	e.SetExtension(ext)
	return nil
}

// setOrDelete sets key to values in ext, or removes it when values are
// none or one empty value.
func setOrDelete(ext url.Values, key string, values ...string) {
	if len(values) == 0 || (len(values) == 1 && values[0] == "") {
		delete(ext, key)
		return
	}
	ext[key] = slices.Clone(values)
}
