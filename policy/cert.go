package policy

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// Mutual-TLS client authentication and certificate-bound access tokens
// (RFC 8705): what a client registered, and where a grant keeps the
// certificate its tokens are bound to.
// https://www.rfc-editor.org/rfc/rfc8705

// Client authentication methods of RFC 8705 2, by their RFC 7591 2
// token_endpoint_auth_method names.
const (
	// AuthMethodTLSClientAuth: the client's certificate chains to a
	// trusted CA and holds the subject DN or subject alternative name it
	// registered (RFC 8705 2.1).
	AuthMethodTLSClientAuth = "tls_client_auth"
	// AuthMethodSelfSignedTLSClientAuth: the client's certificate, which
	// need not chain to anything, holds a public key of its registered JWK
	// set (RFC 8705 2.2).
	AuthMethodSelfSignedTLSClientAuth = "self_signed_tls_client_auth"
)

// ExtensionCertThumbprint is the extension key (oauth2.ExtendableTokenInfo)
// under which a record keeps the x5t#S256 of the client certificate its
// access token is bound to (RFC 8705 3.1): the base64url SHA-256 of the
// certificate's DER. It is the cnf.x5t#S256 of JWT access tokens and
// introspection (RFC 8705 3.1, 3.2). A public client's refresh token is
// bound to the same certificate (RFC 8705 4).
const ExtensionCertThumbprint = oauth2.ReservedExtensionPrefix + "x5t_s256"

// ErrCertificateRequired: the client registered
// tls_client_certificate_bound_access_tokens and its token request came
// without a client certificate, so the token could not be bound (RFC 8705
// 3.4).
var ErrCertificateRequired = errors.WithDescription(errors.ErrInvalidRequest,
	"The client is registered with tls_client_certificate_bound_access_tokens and must present a client certificate")

// CertThumbprint returns the x5t#S256 of cert (RFC 8705 3.1): the
// base64url (unpadded) SHA-256 of its DER encoding.
func CertThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CertificateThumbprint returns the x5t#S256 the record ti is bound to
// (ExtensionCertThumbprint), "" when it is not bound.
func CertificateThumbprint(ti oauth2.TokenInfo) string {
	if v := extension(ti)[ExtensionCertThumbprint]; len(v) == 1 {
		return v[0]
	}
	return ""
}

// RequiresCertificateBinding reports whether the client registered
// tls_client_certificate_bound_access_tokens (RFC 8705 3.4,
// oauth2.CertificateBoundClient).
func (c Client) RequiresCertificateBinding() bool {
	b, ok := c.info.(oauth2.CertificateBoundClient)
	return ok && b.GetTLSClientCertificateBoundAccessTokens()
}

// TLSClientAuth returns the certificate identity the client registered for
// tls_client_auth (RFC 8705 2.1.2, oauth2.TLSClientAuthClient); the zero
// identity when it registered none.
func (c Client) TLSClientAuth() oauth2.TLSClientAuthIdentity {
	if t, ok := c.info.(oauth2.TLSClientAuthClient); ok {
		return t.GetTLSClientAuth()
	}
	return oauth2.TLSClientAuthIdentity{}
}
