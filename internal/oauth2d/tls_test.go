package oauth2d

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	stderrors "errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2/internal/certtest"
)

// tlsServer is an App serving HTTPS on 127.0.0.1 with the certificate of
// its tls block, its issuer the server's own https URL.
type tlsServer struct {
	URL   string
	App   *App
	Logs  *syncBuffer
	roots *x509.CertPool // trusts the server's certificate
}

// startTLSApp serves the App of cfg over TLS, with a server certificate
// and client CA file of ca written into a temporary directory.
func startTLSApp(t *testing.T, cfg Config, ca *certtest.Cert) *tlsServer {
	t.Helper()
	dir := t.TempDir()
	cfg.TLS.CertFile, cfg.TLS.KeyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.Server(t, "oauth2d").WriteFiles(t, cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if cfg.TLS.MTLS {
		caFile := filepath.Join(dir, "client-ca.pem")
		if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.TLS.ClientCAFiles = []string{caFile}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer = "https://" + ln.Addr().String()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	app, err := New(cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("New: %v", err)
	}
	hs := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: readHeaderTimeout}
	served := make(chan error, 1)
	go func() { served <- app.serveListener(hs, ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		if err := <-served; err != nil && !stderrors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		app.Close()
	})
	return &tlsServer{URL: cfg.Issuer, App: app, Logs: logs, roots: ca.Pool()}
}

// post sends form to path on a connection that presents cert (none when
// nil), with Basic credentials when id is not "", and decodes the JSON
// answer.
func (s *tlsServer) post(t *testing.T, cert *certtest.Cert, path, id, secret string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := certtest.Client(s.roots, cert).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	var data map[string]any
	if body != "" {
		if err := json.Unmarshal([]byte(body), &data); err != nil {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	return resp, data
}

func (s *tlsServer) metadata(t *testing.T) map[string]any {
	t.Helper()
	resp, err := certtest.Client(s.roots, nil).Get(s.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := json.Unmarshal([]byte(readBody(t, resp)), &md); err != nil {
		t.Fatal(err)
	}
	return md
}

func certThumbprint(c *certtest.Cert) string {
	sum := sha256.Sum256(c.Cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Clients of the mutual-TLS tests of the standalone server.
const (
	pkiID   = "pki-service"
	selfID  = "self-service"
	boundID = "bound-web"
	rsID    = "resource-server"
)

// mtlsConfig registers a tls_client_auth client (subject DN), a
// self_signed_tls_client_auth client whose jwks holds self's certificate,
// a client_secret_basic client with certificate-bound tokens, and a
// resource server that introspects.
func mtlsConfig(t *testing.T, self *certtest.Cert) Config {
	t.Helper()
	cfg := testConfig(testRedirect)
	cfg.TLS.MTLS = true
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: self.Key.Public(), Certificates: []*x509.Certificate{self.Cert}}}})
	if err != nil {
		t.Fatal(err)
	}
	pki := ClientConfig{ID: pkiID, TokenEndpointAuthMethod: "tls_client_auth", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}
	pki.TLSClientAuth.SubjectDN = "CN=pki-service,O=Example\\, Inc."
	selfSigned := ClientConfig{ID: selfID, TokenEndpointAuthMethod: "self_signed_tls_client_auth", JWKS: jwks, GrantTypes: []string{"client_credentials"}}
	bound := ClientConfig{ID: boundID, Secret: testClientSecret, GrantTypes: []string{"client_credentials"}}
	bound.TLSClientCertificateBoundAccessTokens = true
	rs := ClientConfig{ID: rsID, Secret: testClientSecret, GrantTypes: []string{"client_credentials"}, IntrospectAny: true}
	cfg.Clients = append(cfg.Clients, pki, selfSigned, bound, rs)
	return cfg
}

func TestMTLS_StandaloneServerAuthenticatesClientsByCertificateAndBindsTokens(t *testing.T) {
	ca := certtest.NewCA(t, "oauth2d test CA")
	self := certtest.SelfSigned(t, certtest.Options{Subject: pkix.Name{CommonName: "self"}})
	srv := startTLSApp(t, mtlsConfig(t, self), ca)
	pkiCert := ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "pki-service", Organization: []string{"Example, Inc."}}})
	stranger := certtest.NewCA(t, "stranger CA").Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "pki-service", Organization: []string{"Example, Inc."}}})
	cc := url.Values{"grant_type": {"client_credentials"}}
	withID := func(id string) url.Values { return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}} }

	md := srv.metadata(t)
	if md["issuer"] != srv.URL || md["tls_client_certificate_bound_access_tokens"] != true {
		t.Fatalf("metadata: issuer %v, tls_client_certificate_bound_access_tokens %v", md["issuer"], md["tls_client_certificate_bound_access_tokens"])
	}
	for _, m := range []string{"tls_client_auth", "self_signed_tls_client_auth"} {
		if !slices.Contains(strs(md["token_endpoint_auth_methods_supported"]), m) {
			t.Fatalf("token_endpoint_auth_methods_supported %v lacks %s", md["token_endpoint_auth_methods_supported"], m)
		}
	}

	tests := []struct {
		name   string
		cert   *certtest.Cert
		client string
		status int
	}{
		{"tls_client_auth with its certificate", pkiCert, pkiID, http.StatusOK},
		{"tls_client_auth without a certificate", nil, pkiID, http.StatusUnauthorized},
		{"tls_client_auth, its DN from an untrusted CA", stranger, pkiID, http.StatusUnauthorized},
		{"self_signed_tls_client_auth with its certificate", self, selfID, http.StatusOK},
		{"self_signed_tls_client_auth with another one", pkiCert, selfID, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := srv.post(t, tt.cert, "/token", "", "", withID(tt.client))
			if resp.StatusCode != tt.status {
				t.Fatalf("%d %v, want %d", resp.StatusCode, data, tt.status)
			}
			if tt.status == http.StatusOK && data["access_token"] == nil {
				t.Fatalf("no access token: %v", data)
			}
			if tt.status != http.StatusOK && (data["error"] != "invalid_client" || data["access_token"] != nil) {
				t.Fatalf("refusal %v", data)
			}
		})
	}

	t.Run("certificate-bound tokens", func(t *testing.T) {
		resp, data := srv.post(t, nil, "/token", boundID, testClientSecret, cc)
		if resp.StatusCode != http.StatusBadRequest || data["error"] != "invalid_request" || data["access_token"] != nil {
			t.Fatalf("bound client without a certificate: %d %v", resp.StatusCode, data)
		}
		resp, data = srv.post(t, pkiCert, "/token", boundID, testClientSecret, cc)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("bound client with a certificate: %d %v", resp.StatusCode, data)
		}
		_, intro := srv.post(t, nil, "/introspect", rsID, testClientSecret, url.Values{"token": {data["access_token"].(string)}})
		cnf, _ := intro["cnf"].(map[string]any)
		if intro["active"] != true || cnf["x5t#S256"] != certThumbprint(pkiCert) {
			t.Fatalf("introspection %v, want cnf.x5t#S256 %s", intro, certThumbprint(pkiCert))
		}
	})
}

// TestTLS_ServesHTTPSWithoutClientCertificatesUnlessMTLS checks that a
// server with TLS and without tls.mtls asks no client for a certificate,
// advertises neither RFC 8705 method, and serves HTTP/2.
func TestTLS_ServesHTTPSWithoutClientCertificatesUnlessMTLS(t *testing.T) {
	ca := certtest.NewCA(t, "oauth2d test CA")
	srv := startTLSApp(t, testConfig(testRedirect), ca)
	var asked bool
	cfg := &tls.Config{RootCAs: srv.roots, NextProtos: []string{"h2", "http/1.1"},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked = true
			return &tls.Certificate{}, nil
		}}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(srv.URL, "https://"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := conn.ConnectionState()
	conn.Close()
	if asked || st.NegotiatedProtocol != "h2" || st.Version < tls.VersionTLS12 {
		t.Fatalf("client certificate asked %v, protocol %q, version %x", asked, st.NegotiatedProtocol, st.Version)
	}
	md := srv.metadata(t)
	if md["tls_client_certificate_bound_access_tokens"] != nil || slices.Contains(strs(md["token_endpoint_auth_methods_supported"]), "tls_client_auth") {
		t.Fatalf("metadata advertises mutual TLS without tls.mtls: %v", md)
	}
	resp, data := srv.post(t, nil, "/token", testClientID, testClientSecret, url.Values{"grant_type": {"client_credentials"}})
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("token over HTTPS: %d %s %v", resp.StatusCode, resp.Proto, data)
	}
}

// peerSerial returns the serial number of the server certificate of a
// new TLS connection to addr.
func peerSerial(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// waitFor polls cond every 20ms for up to 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// keptConn is an HTTP client that keeps one connection open, and reports
// whether each request reused it and which certificate the server showed.
type keptConn struct {
	client *http.Client
}

func newKeptConn(roots *x509.CertPool) *keptConn {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}, MaxConnsPerHost: 1, ForceAttemptHTTP2: true}
	return &keptConn{client: &http.Client{Transport: tr}}
}

func (k *keptConn) get(t *testing.T, u string) (reused bool, serial string) {
	t.Helper()
	trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, u, nil)
	resp, err := k.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	return reused, resp.TLS.PeerCertificates[0].SerialNumber.String()
}

// TestTLS_HangupReloadsTheCertificateWithoutDroppingConnections runs the
// server with Main and a TLS configuration file, replaces the certificate
// files and sends the hangup signal: a connection opened before goes on
// with the old certificate, a new handshake sees the new one; then files
// that do not fit keep the certificate in place, and the log says why.
func TestTLS_HangupReloadsTheCertificateWithoutDroppingConnections(t *testing.T) {
	dir := t.TempDir()
	oldCA, newCA := certtest.NewCA(t, "old CA"), certtest.NewCA(t, "new CA")
	roots := oldCA.Pool()
	roots.AddCert(newCA.Cert)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	oldCert := oldCA.Server(t, "old")
	oldCert.WriteFiles(t, certFile, keyFile)
	conf := filepath.Join(dir, "oauth2d.yaml")
	yaml := "issuer: https://localhost\nstore: memory\ntls: {cert_file: " + certFile + ", key_file: " + keyFile + "}\n" +
		"clients:\n  - id: svc\n    secret: s3cret-svc-client\n    grant_types: [client_credentials]\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	signals, hangup := make(chan os.Signal, 1), make(chan os.Signal, 1)
	ready, done := make(chan string, 1), make(chan int, 1)
	go func() {
		done <- Main(Env{Args: []string{"-config", conf}, Stdout: io.Discard, Stderr: stderr,
			LookupEnv: func(k string) (string, bool) { return "127.0.0.1:0", k == EnvListen },
			Signals:   signals, Hangup: hangup, Ready: ready})
	}()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("exited %d: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	health := "https://" + addr + "/healthz"
	kept := newKeptConn(roots)
	if _, serial := kept.get(t, health); serial != oldCert.Cert.SerialNumber.String() {
		t.Fatal("the server does not serve the certificate of tls.cert_file")
	}

	newCert := newCA.Server(t, "new")
	newCert.WriteFiles(t, certFile, keyFile)
	hangup <- syscall.SIGHUP
	waitFor(t, "a new handshake with the new certificate", func() bool {
		return peerSerial(t, addr, roots) == newCert.Cert.SerialNumber.String()
	})
	if reused, serial := kept.get(t, health); !reused || serial != oldCert.Cert.SerialNumber.String() {
		t.Fatalf("the connection opened before the reload: reused %v, certificate %s", reused, serial)
	}

	// A certificate whose key is another's, then an unreadable file:
	// both keep the new certificate, and the log says why.
	certtest.NewCA(t, "third CA").Server(t, "third").WriteFiles(t, filepath.Join(dir, "third.crt"), keyFile)
	hangup <- syscall.SIGHUP
	waitFor(t, "the log of the refused reload", func() bool {
		return strings.Contains(stderr.String(), "tls: reload failed") && strings.Contains(stderr.String(), "tls.key_file")
	})
	if err := os.Remove(certFile); err != nil {
		t.Fatal(err)
	}
	hangup <- syscall.SIGHUP
	waitFor(t, "the log of the second refused reload", func() bool {
		return strings.Contains(stderr.String(), "cannot read "+certFile)
	})
	if got := peerSerial(t, addr, roots); got != newCert.Cert.SerialNumber.String() {
		t.Fatal("a refused reload changed the certificate")
	}
	if strings.Contains(stderr.String(), "PRIVATE KEY") {
		t.Fatal("the log holds key material")
	}

	signals <- syscall.SIGTERM
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// TestBinary_SIGHUPReloadsTheTLSCertificate starts the oauth2d command with
// a TLS configuration and sends it a real SIGHUP after replacing the
// certificate files.
func TestBinary_SIGHUPReloadsTheTLSCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "binary CA")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := ca.Server(t, "first")
	first.WriteFiles(t, certFile, keyFile)
	conf := filepath.Join(dir, "oauth2d.yaml")
	if err := os.WriteFile(conf, []byte("issuer: https://localhost\nstore: memory\ntls: {cert_file: "+certFile+", key_file: "+keyFile+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, addr, logs := startBinary(t, buildBinary(t), nil, "-config", conf)
	if got := peerSerial(t, addr, ca.Pool()); got != first.Cert.SerialNumber.String() {
		t.Fatalf("serves %s, want the first certificate", got)
	}
	second := ca.Server(t, "second")
	second.WriteFiles(t, certFile, keyFile)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second certificate", func() bool { return peerSerial(t, addr, ca.Pool()) == second.Cert.SerialNumber.String() })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "tls: certificate reloaded") {
		t.Fatalf("no reload in the log:\n%s", logs.String())
	}
}
