package oauth2

// Optional registration metadata of mutual-TLS clients (RFC 8705): each is
// read with a type assertion (package policy does it), and a client that
// does not implement one has that feature's default.
// https://www.rfc-editor.org/rfc/rfc8705

// TLSClientAuthIdentity is the certificate identity a client registered
// for the tls_client_auth method (RFC 8705 2.1.2): exactly one of the
// fields is set, by the client metadata name given beside it.
type TLSClientAuthIdentity struct {
	// SubjectDN is tls_client_auth_subject_dn: the subject distinguished
	// name of the certificate, in the string form of RFC 4514.
	SubjectDN string
	// SANDNS is tls_client_auth_san_dns: a dNSName subject alternative
	// name the certificate must have.
	SANDNS string
	// SANURI is tls_client_auth_san_uri: a uniformResourceIdentifier
	// subject alternative name the certificate must have.
	SANURI string
	// SANIP is tls_client_auth_san_ip: an iPAddress subject alternative
	// name, IPv4 dotted decimal or IPv6 (RFC 5952).
	SANIP string
	// SANEmail is tls_client_auth_san_email: an rfc822Name subject
	// alternative name.
	SANEmail string
}

// IsZero reports whether no identity is set.
func (id TLSClientAuthIdentity) IsZero() bool { return id == TLSClientAuthIdentity{} }

// TLSClientAuthClient is implemented by clients that carry the
// tls_client_auth registration metadata (RFC 8705 2.1.2): the identity
// their certificate must hold, besides a chain to a trusted CA.
type TLSClientAuthClient interface {
	GetTLSClientAuth() TLSClientAuthIdentity
}

// CertificateBoundClient is implemented by clients that carry the
// tls_client_certificate_bound_access_tokens registration metadata (RFC
// 8705 3.4): when it is true, every access token issued to the client is
// bound to the certificate of its token request, and a token request
// without a client certificate is refused.
type CertificateBoundClient interface {
	GetTLSClientCertificateBoundAccessTokens() bool
}
