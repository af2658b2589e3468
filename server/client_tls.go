package server

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// Mutual TLS (RFC 8705): client authentication by the certificate of the
// TLS connection, tls_client_auth (RFC 8705 2.1) and
// self_signed_tls_client_auth (RFC 8705 2.2), and access tokens bound to
// that certificate (RFC 8705 3), checked by ValidateResourceRequest.
//
// The server reads the certificate from the request's TLS connection
// (r.TLS.PeerCertificates), so it must terminate TLS itself and ask
// clients for a certificate without verifying it in the handshake
// (tls.RequestClientCert): self-signed certificates must get through, and
// the chain of a tls_client_auth certificate is verified here, against the
// roots of its authenticator.
// https://www.rfc-editor.org/rfc/rfc8705

// Client authentication methods of RFC 8705 2, by their RFC 7591 2 names.
const (
	// AuthMethodTLSClientAuth: PKI mutual-TLS (RFC 8705 2.1).
	AuthMethodTLSClientAuth = policy.AuthMethodTLSClientAuth
	// AuthMethodSelfSignedTLSClientAuth: self-signed certificate mutual
	// TLS (RFC 8705 2.2).
	AuthMethodSelfSignedTLSClientAuth = policy.AuthMethodSelfSignedTLSClientAuth
)

// MTLSConfig configures certificate-bound access tokens (RFC 8705 3).
type MTLSConfig struct {
	// Enabled tells the server that it sees its clients' certificates: it
	// terminates TLS and asks clients for one. The metadata then
	// advertises tls_client_certificate_bound_access_tokens (RFC 8705
	// 3.3). Clients registered with
	// tls_client_certificate_bound_access_tokens get bound tokens whether
	// it is set or not; without a certificate they get none.
	Enabled bool
}

// Errors of mutual TLS.
var (
	errCertBoundToken = errors.WithDescription(errors.ErrInvalidToken,
		"The access token is bound to a client certificate that the request did not present")
	errExchangeCertBound = errors.WithDescription(errors.ErrInvalidRequest,
		"The token is bound to a client certificate: the request must present that certificate")
)

// ClientCertificate returns the certificate the client presented on the
// TLS connection of r (its leaf), nil when there is none.
func ClientCertificate(r *http.Request) *x509.Certificate {
	if r == nil || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

// tokenCertificate binds the tokens of a token request to the client
// certificate of its connection (RFC 8705 3): for a client registered with
// tls_client_certificate_bound_access_tokens it puts the certificate's
// x5t#S256 in tgr.Extension under policy.ExtensionCertThumbprint, where
// the manager binds the access token (and a public client's refresh token)
// to it; without a certificate the request is refused. Other clients'
// tokens are not bound: a client that does not expect it would present
// the token without its certificate.
func (s *Server) tokenCertificate(r *http.Request, client policy.Client, tgr *oauth2.TokenGenerateRequest) error {
	if !client.RequiresCertificateBinding() {
		return nil
	}
	cert := ClientCertificate(r)
	if cert == nil {
		return policy.ErrCertificateRequired
	}
	setExtension(tgr, policy.ExtensionCertThumbprint, policy.CertThumbprint(cert))
	return nil
}

// checkCertificateBinding returns invalid_token (RFC 8705 3, RFC 6750 3.1)
// when ti is bound to a client certificate that r did not present, and
// err unchanged otherwise. A certificate-bound token is presented with the
// Bearer scheme (or, bound to a DPoP key too, the DPoP scheme) on a
// connection with that certificate.
func checkCertificateBinding(r *http.Request, ti oauth2.TokenInfo, err error) (oauth2.TokenInfo, error) {
	if err != nil {
		return nil, err
	}
	if x5t := policy.CertificateThumbprint(ti); x5t != "" {
		cert := ClientCertificate(r)
		if cert == nil || policy.CertThumbprint(cert) != x5t {
			return nil, errCertBoundToken
		}
	}
	return ti, nil
}

// mtlsMetadata adds tls_client_certificate_bound_access_tokens (RFC 8705
// 3.3) to md when MTLSConfig.Enabled.
func (s *Server) mtlsMetadata(md *Metadata) {
	md.TLSClientCertificateBoundAccessTokens = s.Config.MTLS.Enabled
}

// TLSClientAuthenticator is the ClientAuthenticator of one mutual-TLS
// method (RFC 8705 2). Create it with NewTLSClientAuthenticator or
// NewSelfSignedTLSClientAuthenticator, or add both with
// Server.AddTLSClientAuthenticators.
//
// A request uses the method when its TLS connection carries a client
// certificate, it has no other client credentials (no Authorization
// header, client_secret or client_assertion), and its client_id (which
// RFC 8705 2 requires) names a client registered with the method. It is
// authenticated when the client is confidential and:
//
//   - tls_client_auth (RFC 8705 2.1): the certificate chains, through the
//     intermediates the client sent, to one of the authenticator's roots,
//     for client authentication (extended key usage clientAuth or none),
//     at the server's clock; and it holds the identity the client
//     registered (oauth2.TLSClientAuthIdentity): its subject DN equals
//     tls_client_auth_subject_dn (RFC 4514, attribute by attribute, values
//     compared ignoring case and extra spaces), or it has the registered
//     DNS name (ignoring case), URI, IP address or e-mail address among
//     its subject alternative names;
//   - self_signed_tls_client_auth (RFC 8705 2.2): no chain is verified,
//     the certificate is within its validity period, and it is the first
//     certificate (x5c) of a key of the client's JWK set, or, for a key
//     without x5c, holds that key's public key.
//
// Every failure is invalid_client (RFC 6749 5.2, 401) without saying which
// check failed.
type TLSClientAuthenticator struct {
	srv    *Server
	method string
	roots  func() *x509.CertPool
}

var _ ClientAuthenticator = (*TLSClientAuthenticator)(nil)

// NewTLSClientAuthenticator returns the tls_client_auth authenticator of s
// (RFC 8705 2.1), which verifies certificate chains against the pool roots
// returns, called for each request so that the pool can be replaced while
// the server runs (a reload); a nil pool verifies nothing. Add it with
// s.AddClientAuthenticator.
func NewTLSClientAuthenticator(s *Server, roots func() *x509.CertPool) *TLSClientAuthenticator {
	return &TLSClientAuthenticator{srv: s, method: AuthMethodTLSClientAuth, roots: roots}
}

// NewSelfSignedTLSClientAuthenticator returns the
// self_signed_tls_client_auth authenticator of s (RFC 8705 2.2); add it
// with s.AddClientAuthenticator.
func NewSelfSignedTLSClientAuthenticator(s *Server) *TLSClientAuthenticator {
	return &TLSClientAuthenticator{srv: s, method: AuthMethodSelfSignedTLSClientAuth}
}

// AddTLSClientAuthenticators adds self_signed_tls_client_auth and, when
// roots is not nil, tls_client_auth (NewTLSClientAuthenticator) to the
// server's client authenticators.
func (s *Server) AddTLSClientAuthenticators(roots func() *x509.CertPool) {
	if roots != nil {
		s.AddClientAuthenticator(NewTLSClientAuthenticator(s, roots))
	}
	s.AddClientAuthenticator(NewSelfSignedTLSClientAuthenticator(s))
}

// Method returns the token_endpoint_auth_method, tls_client_auth or
// self_signed_tls_client_auth.
func (a *TLSClientAuthenticator) Method() string { return a.method }

// Match reports whether the request authenticates by this method: a
// client certificate, no other credentials, and a client_id registered
// with the method. It looks the client up, since a client registered for
// another method (a public client, or one that authenticates with a
// secret and binds its tokens to the certificate) may present a
// certificate too.
func (a *TLSClientAuthenticator) Match(r *http.Request, p Params) bool {
	if ClientCertificate(r) == nil || len(r.Header["Authorization"]) > 0 ||
		p.Get("client_secret") != "" || p.Get("client_assertion") != "" {
		return false
	}
	id := p.Get("client_id")
	if id == "" {
		return false
	}
	c, err := a.srv.Manager.GetClient(r.Context(), id)
	return err == nil && c != nil && policy.Of(c).RegisteredFor(a.method)
}

// Authenticate verifies the request's client certificate for its
// client_id (RFC 8705 2.1, 2.2). See TLSClientAuthenticator for the
// checks.
func (a *TLSClientAuthenticator) Authenticate(ctx context.Context, r *http.Request, p Params) (oauth2.ClientInfo, error) {
	cert := ClientCertificate(r)
	id := p.Get("client_id")
	if cert == nil || id == "" {
		return nil, errClientAuth
	}
	c, err := a.srv.Manager.GetClient(ctx, id)
	if err != nil || c == nil {
		if err != nil && !stderrors.Is(err, oauth2.ErrNotFound) && !stderrors.Is(err, errors.ErrInvalidClient) {
			return nil, err
		}
		return nil, errClientAuth
	}
	pc := policy.Of(c)
	if pc.IsPublic() || !pc.RegisteredFor(a.method) {
		return nil, errClientAuth
	}
	var ok bool
	if a.method == AuthMethodTLSClientAuth {
		ok = a.verifyChain(cert, r.TLS.PeerCertificates[1:]) && MatchTLSClientAuth(cert, pc.TLSClientAuth())
	} else {
		ok = a.selfSigned(ctx, cert, c)
	}
	if !ok {
		return nil, errClientAuth
	}
	return c, nil
}

// verifyChain verifies that cert chains to a root of the authenticator
// through intermediates, for client authentication (RFC 8705 2.1).
func (a *TLSClientAuthenticator) verifyChain(cert *x509.Certificate, intermediates []*x509.Certificate) bool {
	if a.roots == nil {
		return false
	}
	roots := a.roots()
	if roots == nil {
		return false
	}
	opts := x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: a.srv.clock(),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(intermediates) > 0 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range intermediates {
			opts.Intermediates.AddCert(c)
		}
	}
	_, err := cert.Verify(opts)
	return err == nil
}

// selfSigned reports whether cert is registered in the JWK set of c (RFC
// 8705 2.2): the first certificate (x5c) of one of its keys, or the public
// key of one without x5c, and within its validity period.
func (a *TLSClientAuthenticator) selfSigned(ctx context.Context, cert *x509.Certificate, c oauth2.ClientInfo) bool {
	now := a.srv.clock()
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return false
	}
	raw := a.srv.clientJWKS(ctx, c, "")
	if len(raw) == 0 {
		return false
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if json.Unmarshal(raw, &set) != nil {
		return false
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return false
	}
	for i, rk := range set.Keys {
		if i == maxJWKSKeys {
			break
		}
		var k jose.JSONWebKey
		if k.UnmarshalJSON(rk) != nil || !k.IsPublic() {
			continue
		}
		if len(k.Certificates) > 0 {
			if k.Certificates[0].Equal(cert) {
				return true
			}
			continue
		}
		if pub.Equal(k.Key) {
			return true
		}
	}
	return false
}

// MatchTLSClientAuth reports whether cert holds the identity id a client
// registered for tls_client_auth (RFC 8705 2.1.2): its subject DN equals
// id.SubjectDN (ParseSubjectDN, EqualDN), or one of its subject
// alternative names equals id.SANDNS (ignoring case), id.SANURI, id.SANIP
// (as an address) or id.SANEmail (the domain ignoring case). The zero
// identity matches nothing. It does not verify the certificate's chain.
func MatchTLSClientAuth(cert *x509.Certificate, id oauth2.TLSClientAuthIdentity) bool {
	switch {
	case id.SubjectDN != "":
		want, err := ParseSubjectDN(id.SubjectDN)
		if err != nil {
			return false
		}
		got, err := CertificateSubject(cert)
		return err == nil && EqualDN(got, want)
	case id.SANDNS != "":
		for _, n := range cert.DNSNames {
			if strings.EqualFold(n, id.SANDNS) {
				return true
			}
		}
	case id.SANURI != "":
		for _, u := range cert.URIs {
			if u.String() == id.SANURI {
				return true
			}
		}
	case id.SANIP != "":
		want, err := netip.ParseAddr(id.SANIP)
		if err != nil {
			return false
		}
		for _, ip := range cert.IPAddresses {
			if got, ok := netip.AddrFromSlice(ip); ok && got.Unmap() == want.Unmap() {
				return true
			}
		}
	case id.SANEmail != "":
		for _, e := range cert.EmailAddresses {
			if sameEmail(e, id.SANEmail) {
				return true
			}
		}
	}
	return false
}

// sameEmail compares two rfc822Name values: the local part exactly, the
// domain ignoring case (RFC 5321 2.4, 2.3.5).
func sameEmail(a, b string) bool {
	i, j := strings.LastIndexByte(a, '@'), strings.LastIndexByte(b, '@')
	if i <= 0 || j <= 0 {
		return false
	}
	return a[:i] == b[:j] && strings.EqualFold(a[i+1:], b[j+1:])
}

// ValidTLSClientAuthIdentity checks a registered tls_client_auth identity
// (RFC 8705 2.1.2): exactly one value, and that value well formed (a
// subject DN that ParseSubjectDN reads, a DNS name, an absolute URI, an IP
// address, an e-mail address). Its error names the metadata field.
func ValidTLSClientAuthIdentity(id oauth2.TLSClientAuthIdentity) error {
	n := 0
	for _, v := range []string{id.SubjectDN, id.SANDNS, id.SANURI, id.SANIP, id.SANEmail} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return stderrors.New("one of tls_client_auth_subject_dn, tls_client_auth_san_dns, tls_client_auth_san_uri, tls_client_auth_san_ip, tls_client_auth_san_email is required (RFC 8705 2.1.2)")
	case n > 1:
		return stderrors.New("exactly one of tls_client_auth_subject_dn, tls_client_auth_san_dns, tls_client_auth_san_uri, tls_client_auth_san_ip, tls_client_auth_san_email may be set (RFC 8705 2.1.2)")
	case id.SubjectDN != "":
		if _, err := ParseSubjectDN(id.SubjectDN); err != nil {
			return fmt.Errorf("tls_client_auth_subject_dn: %s", strings.TrimPrefix(err.Error(), "server: "))
		}
	case id.SANDNS != "":
		if strings.ContainsAny(id.SANDNS, " /:@") || strings.HasPrefix(id.SANDNS, ".") || strings.HasSuffix(id.SANDNS, ".") || strings.Contains(id.SANDNS, "..") {
			return stderrors.New("tls_client_auth_san_dns: not a DNS name")
		}
	case id.SANURI != "":
		if !validAbsoluteURI(id.SANURI) {
			return stderrors.New("tls_client_auth_san_uri: not an absolute URI")
		}
	case id.SANIP != "":
		if _, err := netip.ParseAddr(id.SANIP); err != nil || strings.Contains(id.SANIP, "%") {
			return stderrors.New("tls_client_auth_san_ip: not an IPv4 or IPv6 address")
		}
	case id.SANEmail != "":
		if i := strings.LastIndexByte(id.SANEmail, '@'); i <= 0 || i == len(id.SANEmail)-1 || strings.ContainsAny(id.SANEmail, " <>") {
			return stderrors.New("tls_client_auth_san_email: not an e-mail address")
		}
	}
	return nil
}

// validAbsoluteURI reports whether s parses as an absolute URI without
// white space.
func validAbsoluteURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs() && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}
