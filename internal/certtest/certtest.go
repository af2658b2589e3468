// Package certtest makes the X.509 certificates of the tests with
// crypto/x509: certificate authorities, server certificates for
// 127.0.0.1 and localhost, and client certificates for mutual TLS (RFC
// 8705), signed by a CA or self-signed, with the subjects, subject
// alternative names, key usages and validity a test asks for.
//
// Only tests import it.
package certtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

// Cert is a certificate with its private key.
type Cert struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain are the intermediate certificates between Cert and its root,
	// leaf side first.
	Chain []*x509.Certificate
}

// TLS returns the certificate for a tls.Config, with its chain.
func (c *Cert) TLS() tls.Certificate {
	tc := tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
	for _, i := range c.Chain {
		tc.Certificate = append(tc.Certificate, i.Raw)
	}
	return tc
}

// Pool returns a pool holding c's certificate, for a root CA.
func (c *Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Cert)
	return p
}

// CertPEM returns the certificate (and its chain) in PEM.
func (c *Cert) CertPEM() []byte {
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
	for _, i := range c.Chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.Raw})...)
	}
	return out
}

// KeyPEM returns the private key in PKCS #8 PEM.
func (c *Cert) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// WriteFiles writes the certificate and key PEM files to certFile and
// keyFile.
func (c *Cert) WriteFiles(t testing.TB, certFile, keyFile string) {
	t.Helper()
	if err := os.WriteFile(certFile, c.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Options describe a certificate to make.
type Options struct {
	Subject pkix.Name
	DNS     []string
	IPs     []net.IP
	URIs    []string
	Emails  []string
	// NotBefore and NotAfter default to an hour ago and a day ahead.
	NotBefore, NotAfter time.Time
	// ExtKeyUsage defaults to client authentication for client
	// certificates and server authentication for server certificates.
	ExtKeyUsage []x509.ExtKeyUsage
	// IsCA makes a certificate authority.
	IsCA bool
	// Key is the certificate's key; a new P-256 key when nil.
	Key crypto.Signer
	// RDNs, when set, is the subject as encoded, instead of Subject: for
	// multi-valued RDNs, which pkix.Name cannot express.
	RDNs pkix.RDNSequence
}

func newKey(t testing.TB, o Options) crypto.Signer {
	t.Helper()
	if o.Key != nil {
		return o.Key
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func template(t testing.TB, o Options, defaultEKU x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = time.Now().Add(24 * time.Hour)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber:   sn,
		Subject:        o.Subject,
		NotBefore:      nb,
		NotAfter:       na,
		DNSNames:       o.DNS,
		IPAddresses:    o.IPs,
		EmailAddresses: o.Emails,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    o.ExtKeyUsage,
	}
	for _, s := range o.URIs {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		tpl.URIs = append(tpl.URIs, u)
	}
	if o.RDNs != nil {
		raw, err := asn1.Marshal(o.RDNs)
		if err != nil {
			t.Fatal(err)
		}
		tpl.RawSubject = raw
	}
	if o.IsCA {
		tpl.IsCA, tpl.BasicConstraintsValid = true, true
		tpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else if tpl.ExtKeyUsage == nil {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{defaultEKU}
	}
	return tpl
}

func sign(t testing.TB, tpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NewCA makes a self-signed root certificate authority named cn.
func NewCA(t testing.TB, cn string) *Cert {
	t.Helper()
	o := Options{Subject: pkix.Name{CommonName: cn, Organization: []string{"oauth2d tests"}}, IsCA: true}
	k := newKey(t, o)
	tpl := template(t, o, 0)
	return &Cert{Cert: sign(t, tpl, tpl, k.Public(), k), Key: k}
}

// Issue makes a certificate of o signed by ca: a client certificate
// unless o says otherwise; an intermediate CA with o.IsCA.
func (ca *Cert) Issue(t testing.TB, o Options) *Cert {
	t.Helper()
	k := newKey(t, o)
	tpl := template(t, o, x509.ExtKeyUsageClientAuth)
	chain := ca.Chain
	if ca.Cert.Subject.String() != ca.Cert.Issuer.String() {
		chain = append([]*x509.Certificate{ca.Cert}, ca.Chain...)
	}
	return &Cert{Cert: sign(t, tpl, ca.Cert, k.Public(), ca.Key), Key: k, Chain: chain}
}

// Server makes a server certificate of ca for 127.0.0.1, ::1 and
// localhost.
func (ca *Cert) Server(t testing.TB, cn string) *Cert {
	t.Helper()
	return ca.Issue(t, Options{Subject: pkix.Name{CommonName: cn}, DNS: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
}

// SelfSigned makes a self-signed client certificate of o.
func SelfSigned(t testing.TB, o Options) *Cert {
	t.Helper()
	k := newKey(t, o)
	tpl := template(t, o, x509.ExtKeyUsageClientAuth)
	return &Cert{Cert: sign(t, tpl, tpl, k.Public(), k), Key: k}
}

// Client returns an HTTP client that trusts roots and presents cert (none
// when nil) on every TLS connection.
func Client(roots *x509.CertPool, cert *Cert) *http.Client {
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS()}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
}
