package oauth2d

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	stderrors "errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// HTTPS served directly (docs/config.md, "TLS"): the certificate and key
// of tls.cert_file and tls.key_file, read again on SIGHUP without dropping
// a connection (every new handshake takes the certificate of the moment),
// and with tls.mtls the client certificates of mutual TLS (RFC 8705).

// TLSConfig is the tls block of the configuration.
type TLSConfig struct {
	// CertFile and KeyFile are PEM files: the server's certificate chain,
	// leaf first, and its private key. Both or neither; with them the
	// server serves HTTPS only, and the issuer must be an https URL.
	CertFile, KeyFile string
	// MTLS asks every client for a certificate, which it may withhold
	// (tls.RequestClientCert), and enables RFC 8705: the tls_client_auth
	// and self_signed_tls_client_auth methods and certificate-bound access
	// tokens.
	MTLS bool
	// ClientCAFiles are PEM files of the certificate authorities that the
	// certificates of tls_client_auth clients must chain to (RFC 8705
	// 2.1). They are read again with the certificate.
	ClientCAFiles []string
}

// Enabled reports whether the server serves HTTPS.
func (t *TLSConfig) Enabled() bool { return t.CertFile != "" }

// validateTLS checks the tls block, and reads its files so that a bad one
// stops start-up (and -check-config) with a message that names it.
func (c *Config) validateTLS(ps *problems) {
	t := &c.TLS
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		ps.add("tls.key_file", "required with tls.cert_file")
	case t.CertFile == "" && t.KeyFile != "":
		ps.add("tls.cert_file", "required with tls.key_file")
	}
	if !t.Enabled() {
		if t.MTLS {
			ps.add("tls.mtls", "needs tls.cert_file and tls.key_file: the server must terminate TLS to see client certificates")
		}
		if len(t.ClientCAFiles) > 0 {
			ps.add("tls.client_ca_files", "needs tls.cert_file, tls.key_file and tls.mtls: true")
		}
		return
	}
	if len(t.ClientCAFiles) > 0 && !t.MTLS {
		ps.add("tls.client_ca_files", "only with tls.mtls: true")
	}
	if u, err := issuerURL(c.Issuer); err == nil && u.Scheme != "https" {
		// The issuer is the address clients reach the server at; with
		// TLS that is an https URL (RFC 8414 2), and every endpoint URL
		// of the metadata and every DPoP htu is made from it.
		ps.add("issuer", "must be an https URL when tls.cert_file is set (the server serves HTTPS only)")
	}
	if t.KeyFile == "" {
		return
	}
	if _, err := loadCertificate(t.CertFile, t.KeyFile, time.Now()); err != nil {
		*ps = append(*ps, err)
	}
	for i, f := range t.ClientCAFiles {
		if _, err := loadCAFile(f); err != nil {
			ps.add(fmt.Sprintf("tls.client_ca_files[%d]", i), "%v", err)
		}
	}
}

// loadCertificate reads a certificate chain and its key, refusing a
// certificate that is not valid at now. Its error is a *ConfigError that
// names the file's field and never holds key material.
func loadCertificate(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	certPEM, err := readPEMFile(certFile)
	if err != nil {
		return nil, &ConfigError{Field: "tls.cert_file", Problem: fileProblem(err)}
	}
	keyPEM, err := readPEMFile(keyFile)
	if err != nil {
		return nil, &ConfigError{Field: "tls.key_file", Problem: fileProblem(err)}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The messages of crypto/tls say which part failed (no PEM
		// data, a key that does not match) and never quote the key.
		return nil, &ConfigError{Field: "tls.key_file", Problem: "does not hold the private key of tls.cert_file, or one of the files is not PEM: " + err.Error()}
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, &ConfigError{Field: "tls.cert_file", Problem: "not an X.509 certificate: " + err.Error()}
		}
		cert.Leaf = leaf
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, &ConfigError{Field: "tls.cert_file", Problem: "the certificate expired at " + leaf.NotAfter.UTC().Format(time.RFC3339)}
	case now.Before(leaf.NotBefore):
		return nil, &ConfigError{Field: "tls.cert_file", Problem: "the certificate is not valid before " + leaf.NotBefore.UTC().Format(time.RFC3339)}
	}
	return &cert, nil
}

// loadCAFile reads a PEM file of CA certificates.
func loadCAFile(file string) ([]*x509.Certificate, error) {
	data, err := readPEMFile(file)
	if err != nil {
		return nil, stderrors.New(fileProblem(err))
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("holds a certificate that does not parse: %v", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, stderrors.New("holds no PEM certificate")
	}
	return out, nil
}

// maxPEMFile bounds a certificate, key or CA file.
const maxPEMFile = 1 << 20

// readPEMFile reads a regular file of at most maxPEMFile bytes: a device or
// a pipe named by mistake is refused instead of read without end.
func readPEMFile(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: name, Err: stderrors.New("not a regular file")}
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPEMFile {
		return nil, &os.PathError{Op: "read", Path: name, Err: stderrors.New("larger than 1 MiB")}
	}
	return data, nil
}

// fileProblem describes a file that cannot be read, without the path the
// field already names.
func fileProblem(err error) string {
	var pe *os.PathError
	if stderrors.As(err, &pe) {
		return "cannot read " + pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// tlsFiles holds what the tls block's files hold, swapped whole by
// reload: every new handshake and every tls_client_auth verification reads
// the current one.
type tlsFiles struct {
	cfg   TLSConfig
	log   *slog.Logger
	now   func() time.Time
	cert  atomic.Pointer[tls.Certificate]
	roots atomic.Pointer[x509.CertPool] // nil without client_ca_files
}

// loadTLS reads the tls block's files (Validate checked them).
func loadTLS(cfg TLSConfig, log *slog.Logger, now func() time.Time) (*tlsFiles, error) {
	t := &tlsFiles{cfg: cfg, log: log, now: now}
	cert, roots, err := t.read()
	if err != nil {
		return nil, err
	}
	t.cert.Store(cert)
	t.roots.Store(roots)
	return t, nil
}

func (t *tlsFiles) read() (*tls.Certificate, *x509.CertPool, error) {
	cert, err := loadCertificate(t.cfg.CertFile, t.cfg.KeyFile, t.now())
	if err != nil {
		return nil, nil, err
	}
	var roots *x509.CertPool
	for i, f := range t.cfg.ClientCAFiles {
		cas, err := loadCAFile(f)
		if err != nil {
			return nil, nil, &ConfigError{Field: fmt.Sprintf("tls.client_ca_files[%d]", i), Problem: err.Error()}
		}
		if roots == nil {
			roots = x509.NewCertPool()
		}
		for _, c := range cas {
			roots.AddCert(c)
		}
	}
	return cert, roots, nil
}

// reload reads the files again. A file that cannot be read, a key that
// does not match or a certificate not valid now keeps the current ones,
// and the log says why; connections are never dropped either way.
func (t *tlsFiles) reload() error {
	cert, roots, err := t.read()
	if err != nil {
		t.log.Error("tls: reload failed; still serving the previous certificate", "err", err)
		return err
	}
	t.cert.Store(cert)
	t.roots.Store(roots)
	t.log.Info("tls: certificate reloaded", "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter.UTC())
	return nil
}

// clientCAs returns the current pool of tls.client_ca_files, nil without
// them.
func (t *tlsFiles) clientCAs() *x509.CertPool { return t.roots.Load() }

// config returns a server tls.Config over the current certificate, asking
// for client certificates as clientAuth says; when clientAuth verifies
// them, against the current client_ca_files.
func (t *tlsFiles) config(clientAuth tls.ClientAuthType) *tls.Config {
	base := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return t.cert.Load(), nil
		},
		ClientAuth: clientAuth,
	}
	if clientAuth >= tls.VerifyClientCertIfGiven {
		// The pool of the moment, for each handshake.
		base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := base.Clone()
			c.GetConfigForClient = nil
			c.ClientCAs = t.roots.Load()
			return c, nil
		}
	}
	return base
}

// TLSConfig returns the tls.Config of the public listener, nil when the
// server serves plain HTTP: the tls block's certificate, reloaded by
// ReloadTLS, and with tls.mtls an optional client certificate
// (tls.RequestClientCert), whose chain the tls_client_auth method verifies
// itself so that self-signed certificates get through (RFC 8705 2.2).
func (a *App) TLSConfig() *tls.Config {
	if a.tls == nil {
		return nil
	}
	ca := tls.NoClientCert
	if a.cfg.TLS.MTLS {
		ca = tls.RequestClientCert
	}
	return a.tls.config(ca)
}

// NewTLSConfig returns a tls.Config over the tls block's certificate for
// another listener of the App (the admin API): clientAuth says whether it
// asks for client certificates, and a mode that verifies them verifies
// against tls.client_ca_files, as reloaded. Nil when TLS is off.
func (a *App) NewTLSConfig(clientAuth tls.ClientAuthType) *tls.Config {
	if a.tls == nil {
		return nil
	}
	return a.tls.config(clientAuth)
}

// ReloadTLS reads the tls block's files again (SIGHUP does it): on
// success new handshakes get the new certificate, while open connections
// go on with theirs; on failure the previous certificate stays, and the
// error says why. Without TLS it does nothing.
func (a *App) ReloadTLS() error {
	if a.tls == nil {
		return nil
	}
	return a.tls.reload()
}

// serveListener serves srv on ln: HTTPS with the App's TLSConfig (HTTP/2
// included), else plain HTTP.
func (a *App) serveListener(srv *http.Server, ln net.Listener) error {
	tc := a.TLSConfig()
	if tc == nil {
		return srv.Serve(ln)
	}
	srv.TLSConfig = tc
	return srv.ServeTLS(ln, "", "")
}

// reloadOnHangup reloads the TLS files on every signal of hangup (SIGHUP
// unless set) until the returned function is called. Without TLS it
// watches nothing, and SIGHUP keeps its default meaning.
func (a *App) reloadOnHangup(hangup <-chan os.Signal) (stop func()) {
	if a.tls == nil {
		return func() {}
	}
	var ch chan os.Signal
	if hangup == nil {
		ch = make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		hangup = ch
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hangup:
				_ = a.ReloadTLS()
			}
		}
	}()
	return func() {
		if ch != nil {
			signal.Stop(ch)
		}
		close(done)
	}
}

// tlsLogAttrs are the start-up log's attributes of TLS.
func (a *App) tlsLogAttrs() []any {
	if a.tls == nil {
		return nil
	}
	leaf := a.tls.cert.Load().Leaf
	return []any{"tls", true, "mtls", a.cfg.TLS.MTLS, "tls_not_after", leaf.NotAfter.UTC()}
}
