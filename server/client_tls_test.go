package server_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/certtest"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

// Clients of the mutual-TLS tests.
const (
	mtlsDN       = "pki-dn"
	mtlsDNLoose  = "pki-dn-loose"
	mtlsDNS      = "pki-dns"
	mtlsURI      = "pki-uri"
	mtlsIP       = "pki-ip"
	mtlsEmail    = "pki-email"
	mtlsBound    = "pki-bound"
	selfX5C      = "self-x5c"
	selfKey      = "self-key"
	secretBound  = "secret-bound"
	publicBound  = "public-bound"
	mtlsRS       = "rs"
	mtlsCallback = "http://127.0.0.1/cb"
)

// mtlsEnv is a server over the real manager and memory store with JWT
// access tokens, served over real TLS that asks every client for a
// certificate (tls.RequestClientCert), with both RFC 8705 authenticators
// whose roots are ca.
type mtlsEnv struct {
	t      *testing.T
	ts     *httptest.Server
	srv    *server.Server
	keys   *generates.KeySet
	tokens *countingStore
	ca     *certtest.Cert
	roots  *x509.CertPool // trusts the server's certificate

	// The clients' certificates.
	dnCert, dnsCert, uriCert, ipCert, emailCert, boundA, boundB *certtest.Cert
	selfCert, selfKeyCert                                       *certtest.Cert
}

func newMTLSEnv(t *testing.T) *mtlsEnv {
	t.Helper()
	e := &mtlsEnv{t: t, ca: certtest.NewCA(t, "client CA")}
	e.dnCert = e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "pki-client", Organization: []string{"Example, Inc."}, Country: []string{"DE"}}})
	e.dnsCert = e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "x"}, DNS: []string{"Client.Example.com"}})
	e.uriCert = e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "x"}, URIs: []string{"spiffe://example.org/client"}})
	e.ipCert = e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "x"}, IPs: []net.IP{net.ParseIP("2001:db8::7")}})
	e.emailCert = e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "x"}, Emails: []string{"robot@EXAMPLE.com"}})
	e.boundA = e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "bound"}, DNS: []string{"bound.example.com"}})
	e.boundB = e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "bound"}, DNS: []string{"bound.example.com"}})
	e.selfCert = certtest.SelfSigned(t, certtest.Options{Subject: pkix.Name{CommonName: "self"}})
	e.selfKeyCert = certtest.SelfSigned(t, certtest.Options{Subject: pkix.Name{CommonName: "self-key"}})

	jwks := func(k jose.JSONWebKey) []byte {
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	x5c := jwks(jose.JSONWebKey{Key: e.selfCert.Key.Public(), Certificates: []*x509.Certificate{e.selfCert.Cert}, Use: "sig"})
	bare := jwks(jose.JSONWebKey{Key: e.selfKeyCert.Key.Public(), Use: "sig"})
	grants := []oauth2.GrantType{oauth2.ClientCredentials, oauth2.TokenExchange}
	tlsClient := func(id string, ident oauth2.TLSClientAuthIdentity) *models.Client {
		return &models.Client{ID: id, TokenEndpointAuthMethod: server.AuthMethodTLSClientAuth, TLSClientAuth: ident, GrantTypes: grants}
	}
	clients := store.NewClientStore()
	for _, c := range []*models.Client{
		tlsClient(mtlsDN, oauth2.TLSClientAuthIdentity{SubjectDN: `CN=pki-client,O=Example\, Inc.,C=DE`}),
		tlsClient(mtlsDNLoose, oauth2.TLSClientAuthIdentity{SubjectDN: `cn = PKI-client ,  o=example\2C  inc. , c=de`}),
		tlsClient(mtlsDNS, oauth2.TLSClientAuthIdentity{SANDNS: "client.example.com"}),
		tlsClient(mtlsURI, oauth2.TLSClientAuthIdentity{SANURI: "spiffe://example.org/client"}),
		tlsClient(mtlsIP, oauth2.TLSClientAuthIdentity{SANIP: "2001:db8:0::7"}),
		tlsClient(mtlsEmail, oauth2.TLSClientAuthIdentity{SANEmail: "robot@example.com"}),
		{ID: mtlsBound, TokenEndpointAuthMethod: server.AuthMethodTLSClientAuth, GrantTypes: grants,
			TLSClientAuth: oauth2.TLSClientAuthIdentity{SANDNS: "bound.example.com"}, TLSClientCertificateBoundAccessTokens: true},
		{ID: selfX5C, TokenEndpointAuthMethod: server.AuthMethodSelfSignedTLSClientAuth, JWKS: x5c, GrantTypes: grants},
		{ID: selfKey, TokenEndpointAuthMethod: server.AuthMethodSelfSignedTLSClientAuth, JWKS: bare, GrantTypes: grants},
		{ID: secretBound, Secret: confSecret, TLSClientCertificateBoundAccessTokens: true,
			GrantTypes: []oauth2.GrantType{oauth2.ClientCredentials, oauth2.AuthorizationCode, oauth2.Refreshing}, RedirectURIs: []string{mtlsCallback}},
		{ID: publicBound, Public: true, TLSClientCertificateBoundAccessTokens: true, RedirectURIs: []string{mtlsCallback}},
		{ID: confID, Secret: confSecret, GrantTypes: []oauth2.GrantType{oauth2.ClientCredentials}},
		{ID: mtlsRS, Secret: confSecret},
	} {
		if err := clients.Set(c.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := store.NewMemoryTokenStore()
	if err != nil {
		t.Fatal(err)
	}
	e.tokens = &countingStore{TokenStore: ts}
	key, err := generates.GenerateSigningKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	e.keys = generates.NewKeySet()
	if err := e.keys.Add(generates.SigningKey{Method: jwt.SigningMethodES256, Key: key}, true); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	e.ts = httptest.NewUnstartedServer(mux)
	e.ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	e.ts.StartTLS()
	t.Cleanup(e.ts.Close)
	e.roots = x509.NewCertPool()
	e.roots.AddCert(e.ts.Certificate())

	mgr := manage.NewDefaultManager()
	mgr.MapTokenStorage(e.tokens)
	mgr.MapClientStorage(clients)
	mgr.MapAccessGenerate(generates.NewJWTAccessGenerateFromKeySet(e.keys, generates.WithIssuer(e.ts.URL)))
	cfg := server.NewConfig()
	cfg.Issuer = e.ts.URL
	cfg.AllowedGrantTypes = append(cfg.AllowedGrantTypes, oauth2.TokenExchange)
	cfg.IntrospectionClients = []string{mtlsRS}
	cfg.MTLS.Enabled = true
	e.srv = server.NewServer(cfg, mgr)
	e.srv.SetKeySet(e.keys)
	e.srv.SetKVStore(store.NewMemoryKV(nil))
	pool := e.ca.Pool()
	e.srv.AddTLSClientAuthenticators(func() *x509.CertPool { return pool })
	e.srv.SetUserAuthorizationHandler(func(w http.ResponseWriter, r *http.Request) (string, error) { return "u1", nil })

	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) { _ = e.srv.HandleAuthorizeRequest(w, r) })
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) { _ = e.srv.HandleTokenRequest(w, r) })
	mux.HandleFunc("/introspect", func(w http.ResponseWriter, r *http.Request) { _ = e.srv.HandleIntrospectionRequest(w, r) })
	mux.HandleFunc("/.well-known/oauth-authorization-server", e.srv.HandleMetadataRequest)
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		ti, err := e.srv.ValidateResourceRequest(w, r)
		if err != nil {
			e.srv.WriteResourceError(w, r, err)
			return
		}
		_, _ = io.WriteString(w, ti.GetClientID())
	})
	return e
}

// post sends form to path over a TLS connection that presents cert (none
// when nil), with Basic credentials when id is not "".
func (e *mtlsEnv) post(cert *certtest.Cert, path string, form url.Values, id string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(confSecret))
	}
	resp, err := certtest.Client(e.roots, cert).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var data map[string]any
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &data); err != nil {
			e.t.Fatalf("body %q: %v", b, err)
		}
	}
	return resp, data
}

// clientCredentials asks a token for clientID by its certificate.
func (e *mtlsEnv) clientCredentials(cert *certtest.Cert, clientID string) (*http.Response, map[string]any) {
	e.t.Helper()
	return e.post(cert, "/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}}, "")
}

// api calls the protected resource with token over a connection that
// presents cert.
func (e *mtlsEnv) api(cert *certtest.Cert, token string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/api", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := certtest.Client(e.roots, cert).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// x5t is the x5t#S256 of c, computed here from the DER (RFC 8705 3.1).
func x5t(c *certtest.Cert) string {
	sum := sha256.Sum256(c.Cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// cnf returns the cnf claim of a JWT access token, verified with the
// server's keys.
func (e *mtlsEnv) cnf(token string) map[string]any {
	e.t.Helper()
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, claims, e.keys.Keyfunc); err != nil {
		e.t.Fatalf("JWT access token: %v", err)
	}
	c, _ := claims["cnf"].(map[string]any)
	return c
}

func TestTLSClientAuth_CertificateAuthenticatesTheClientItNames(t *testing.T) {
	e := newMTLSEnv(t)
	other := certtest.NewCA(t, "another CA")
	intermediate := e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "intermediate"}, IsCA: true})
	viaIntermediate := intermediate.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "x"}, DNS: []string{"client.example.com"}})
	untrusted := other.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "pki-client", Organization: []string{"Example, Inc."}, Country: []string{"DE"}}})
	expired := e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "x"}, DNS: []string{"client.example.com"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	serverOnly := e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "x"}, DNS: []string{"client.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	otherDN := e.ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "pki-client", Organization: []string{"Example, Inc."}, Country: []string{"FR"}}})
	tests := []struct {
		name   string
		client string
		cert   *certtest.Cert
		ok     bool
	}{
		{"subject DN", mtlsDN, e.dnCert, true},
		{"subject DN registered with other case, spaces and a hex escape", mtlsDNLoose, e.dnCert, true},
		{"SAN DNS name, case ignored", mtlsDNS, e.dnsCert, true},
		{"SAN URI", mtlsURI, e.uriCert, true},
		{"SAN IP, any IPv6 spelling", mtlsIP, e.ipCert, true},
		{"SAN e-mail, domain case ignored", mtlsEmail, e.emailCert, true},
		{"chain through an intermediate the client sends", mtlsDNS, viaIntermediate, true},
		{"another subject DN", mtlsDN, otherDN, false},
		{"the registered DN from an untrusted CA", mtlsDN, untrusted, false},
		{"expired", mtlsDNS, expired, false},
		{"a server-only certificate", mtlsDNS, serverOnly, false},
		{"another client's certificate", mtlsDNS, e.uriCert, false},
		{"self-signed", mtlsDN, e.selfCert, false},
		{"no certificate", mtlsDN, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.tokens.issued.Load()
			resp, data := e.clientCredentials(tt.cert, tt.client)
			if !tt.ok {
				wantError(t, resp, data, http.StatusUnauthorized, "invalid_client")
				if e.tokens.issued.Load() != before {
					t.Fatal("a token was stored for a refused client")
				}
				return
			}
			if resp.StatusCode != http.StatusOK || data["access_token"] == nil {
				t.Fatalf("%d %v", resp.StatusCode, data)
			}
			claims := jwt.MapClaims{}
			if _, err := jwt.ParseWithClaims(data["access_token"].(string), claims, e.keys.Keyfunc); err != nil || claims["client_id"] != tt.client {
				t.Fatalf("token of %v (%v), want %s", claims["client_id"], err, tt.client)
			}
			if claims["cnf"] != nil {
				t.Fatalf("a client not registered for bound tokens got cnf %v", claims["cnf"])
			}
		})
	}
}

func TestTLSClientAuth_OtherCredentialsAreNotTakenForTheCertificate(t *testing.T) {
	e := newMTLSEnv(t)
	// A tls_client_auth client that sends a secret too is read as a secret
	// method, which it is not registered for.
	resp, data := e.post(e.dnCert, "/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {mtlsDN}, "client_secret": {"x"}}, "")
	wantError(t, resp, data, http.StatusUnauthorized, "invalid_client")
	// A client of client_secret_basic over a connection with a certificate
	// authenticates with its secret, and its token is not bound.
	resp, data = e.post(e.dnCert, "/token", url.Values{"grant_type": {"client_credentials"}}, confID)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Basic with a certificate: %d %v", resp.StatusCode, data)
	}
	if c := e.cnf(data["access_token"].(string)); c != nil {
		t.Fatalf("cnf %v for a client not registered for bound tokens", c)
	}
	if resp, body := e.api(nil, data["access_token"].(string)); resp.StatusCode != http.StatusOK || body != confID {
		t.Fatalf("unbound token without a certificate: %d %s", resp.StatusCode, body)
	}
}

func TestSelfSignedTLSClientAuth_CertificateMustBeRegisteredInJWKS(t *testing.T) {
	e := newMTLSEnv(t)
	stranger := certtest.SelfSigned(t, certtest.Options{Subject: pkix.Name{CommonName: "self"}})
	expired := certtest.SelfSigned(t, certtest.Options{Subject: pkix.Name{CommonName: "self-key"}, Key: e.selfKeyCert.Key,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	tests := []struct {
		name   string
		client string
		cert   *certtest.Cert
		ok     bool
	}{
		{"the x5c certificate", selfX5C, e.selfCert, true},
		{"a certificate of a registered key without x5c", selfKey, e.selfKeyCert, true},
		{"another self-signed certificate", selfX5C, stranger, false},
		{"a CA-issued certificate of another key", selfKey, e.dnCert, false},
		{"the registered key, expired", selfKey, expired, false},
		{"no certificate", selfX5C, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := e.clientCredentials(tt.cert, tt.client)
			if !tt.ok {
				wantError(t, resp, data, http.StatusUnauthorized, "invalid_client")
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %v", resp.StatusCode, data)
			}
		})
	}
}

func TestCertificateBoundTokens_OnlyTheCertificateHolderUsesThem(t *testing.T) {
	e := newMTLSEnv(t)
	resp, data := e.clientCredentials(e.boundA, mtlsBound)
	if resp.StatusCode != http.StatusOK || data["token_type"] != "Bearer" {
		t.Fatalf("%d %v", resp.StatusCode, data)
	}
	token := data["access_token"].(string)
	if c := e.cnf(token); c["x5t#S256"] != x5t(e.boundA) || c["jkt"] != nil {
		t.Fatalf("cnf %v, want x5t#S256 %s", c, x5t(e.boundA))
	}
	_, intro := e.post(nil, "/introspect", url.Values{"token": {token}}, mtlsRS)
	if c, _ := intro["cnf"].(map[string]any); intro["active"] != true || c["x5t#S256"] != x5t(e.boundA) {
		t.Fatalf("introspection %v", intro)
	}

	if resp, body := e.api(e.boundA, token); resp.StatusCode != http.StatusOK || body != mtlsBound {
		t.Fatalf("with its certificate: %d %s", resp.StatusCode, body)
	}
	for name, cert := range map[string]*certtest.Cert{"no certificate": nil, "another certificate of the same client": e.boundB, "another client's": e.dnCert} {
		resp, _ := e.api(cert, token)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("%s: %d %q", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}

	// A token exchange with the bound token as subject needs its
	// certificate too; the exchanged token is bound to the request's.
	exchange := url.Values{"grant_type": {string(oauth2.TokenExchange)}, "client_id": {mtlsBound},
		"subject_token": {token}, "subject_token_type": {oauth2.TokenTypeAccessToken}}
	before := e.tokens.issued.Load()
	resp, data = e.post(e.boundB, "/token", exchange, "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_request")
	if e.tokens.issued.Load() != before {
		t.Fatal("a refused exchange stored a token")
	}
	resp, data = e.post(e.boundA, "/token", exchange, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange with the certificate: %d %v", resp.StatusCode, data)
	}
	if c := e.cnf(data["access_token"].(string)); c["x5t#S256"] != x5t(e.boundA) {
		t.Fatalf("exchanged token cnf %v", c)
	}
}

func TestCertificateBoundTokens_ClientWithoutCertificateGetsNone(t *testing.T) {
	e := newMTLSEnv(t)
	before := e.tokens.issued.Load()
	resp, data := e.post(nil, "/token", url.Values{"grant_type": {"client_credentials"}}, secretBound)
	wantError(t, resp, data, http.StatusBadRequest, "invalid_request")
	if !strings.Contains(data["error_description"].(string), "tls_client_certificate_bound_access_tokens") {
		t.Fatalf("description %q", data["error_description"])
	}
	if e.tokens.issued.Load() != before {
		t.Fatal("a token was stored")
	}
	// The same client with a certificate (any: it authenticates with its
	// secret) gets a token bound to it.
	resp, data = e.post(e.selfCert, "/token", url.Values{"grant_type": {"client_credentials"}}, secretBound)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, data)
	}
	if c := e.cnf(data["access_token"].(string)); c["x5t#S256"] != x5t(e.selfCert) {
		t.Fatalf("cnf %v", c)
	}
}

// authCode runs an authorization request of clientID with PKCE and
// returns the code.
func (e *mtlsEnv) authCode(clientID string) string {
	e.t.Helper()
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {mtlsCallback}, "state": {"s"},
		"code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"}}
	c := certtest.Client(e.roots, nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(e.ts.URL + "/authorize?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || u.Query().Get("code") == "" {
		e.t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return u.Query().Get("code")
}

func TestCertificateBoundTokens_RefreshKeepsPublicClientsOnTheirCertificate(t *testing.T) {
	e := newMTLSEnv(t)
	exchange := func(cert *certtest.Cert, clientID, id string) (*http.Response, map[string]any) {
		code := e.authCode(clientID)
		return e.post(cert, "/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {clientID},
			"redirect_uri": {mtlsCallback}, "code_verifier": {rfcVerifier}}, id)
	}
	refresh := func(cert *certtest.Cert, clientID, rt, id string) (*http.Response, map[string]any) {
		return e.post(cert, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}}, id)
	}

	// RFC 8705 4: a public client's refresh token is bound to the
	// certificate its tokens were issued for.
	resp, data := exchange(e.selfCert, publicBound, "")
	if resp.StatusCode != http.StatusOK || e.cnf(data["access_token"].(string))["x5t#S256"] != x5t(e.selfCert) {
		t.Fatalf("public code exchange: %d %v", resp.StatusCode, data)
	}
	rt := data["refresh_token"].(string)
	before := e.tokens.issued.Load()
	resp, data = refresh(e.selfKeyCert, publicBound, rt, "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_grant")
	if e.tokens.issued.Load() != before {
		t.Fatal("a refused refresh stored a token")
	}
	resp, data = refresh(e.selfCert, publicBound, rt, "")
	if resp.StatusCode != http.StatusOK || e.cnf(data["access_token"].(string))["x5t#S256"] != x5t(e.selfCert) {
		t.Fatalf("public refresh with its certificate: %d %v", resp.StatusCode, data)
	}

	// A confidential client authenticates itself; its new access token
	// follows the certificate of the refresh request.
	resp, data = exchange(e.selfCert, secretBound, secretBound)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confidential code exchange: %d %v", resp.StatusCode, data)
	}
	resp, data = refresh(e.selfKeyCert, secretBound, data["refresh_token"].(string), secretBound)
	if resp.StatusCode != http.StatusOK || e.cnf(data["access_token"].(string))["x5t#S256"] != x5t(e.selfKeyCert) {
		t.Fatalf("confidential refresh with a new certificate: %d %v", resp.StatusCode, data)
	}
}

func TestMetadata_AdvertisesMutualTLS(t *testing.T) {
	e := newMTLSEnv(t)
	resp, err := certtest.Client(e.roots, nil).Get(e.ts.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if md["tls_client_certificate_bound_access_tokens"] != true {
		t.Fatalf("tls_client_certificate_bound_access_tokens = %v", md["tls_client_certificate_bound_access_tokens"])
	}
	var methods []string
	for _, m := range md["token_endpoint_auth_methods_supported"].([]any) {
		methods = append(methods, m.(string))
	}
	for _, m := range []string{"tls_client_auth", "self_signed_tls_client_auth"} {
		if !slices.Contains(methods, m) {
			t.Fatalf("token_endpoint_auth_methods_supported %v lacks %s", methods, m)
		}
	}
	// Off: not advertised.
	e.srv.Config.MTLS.Enabled = false
	m, err := e.srv.Metadata()
	if err != nil || m.TLSClientCertificateBoundAccessTokens {
		t.Fatalf("disabled: %v %v", m.TLSClientCertificateBoundAccessTokens, err)
	}
}

func TestParseSubjectDN(t *testing.T) {
	ca := certtest.NewCA(t, "dn CA")
	cert := ca.Issue(t, certtest.Options{Subject: pkix.Name{CommonName: "a+b", OrganizationalUnit: []string{"Unit One"},
		Organization: []string{"Example, Inc."}, Country: []string{"DE"}}})
	subject, err := server.CertificateSubject(cert.Cert)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dn    string
		match bool
		bad   bool
	}{
		{`CN=a\+b,OU=Unit One,O=Example\, Inc.,C=DE`, true, false},
		{`cn=A\2bB, ou=unit  one , o = "example, inc.",c=de`, false, true}, // quotes are not RFC 4514
		{`CN=a\2Bb,OU=UNIT ONE,O=Example\2C Inc.,C=de`, true, false},
		{`2.5.4.3=a\+b,OU=Unit One,O=Example\, Inc.,C=DE`, true, false},
		{`CN=a\+b,O=Example\, Inc.,OU=Unit One,C=DE`, false, false}, // RDN order matters
		{`CN=a\+b,OU=Unit One,O=Example\, Inc.`, false, false},
		{`CN=a\+b+OU=Unit One,O=Example\, Inc.,C=DE`, false, false}, // one multi-valued RDN is not two RDNs
		{`CN=a+b,OU=Unit One,O=Example\, Inc.,C=DE`, false, true},   // "+" unescaped: b has no type
		{`CN=#04024869`, false, true},
		{`CN=x,`, false, true},
		{`=x`, false, true},
		{`XX=x`, false, true},
		{`CN=`, false, true},
		{`CN=x\`, false, true},
		{`CN=x\q`, false, true},
		{`CN=x;O=y`, false, true},
		{``, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.dn, func(t *testing.T) {
			dn, err := server.ParseSubjectDN(tt.dn)
			if tt.bad {
				if err == nil {
					t.Fatalf("parsed %v", dn)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := server.EqualDN(dn, subject); got != tt.match {
				t.Fatalf("match %v, want %v (%v vs %v)", got, tt.match, dn, subject)
			}
		})
	}

	// A multi-valued RDN matches whatever the order of its attributes.
	cn, o := asn1.ObjectIdentifier{2, 5, 4, 3}, asn1.ObjectIdentifier{2, 5, 4, 10}
	multi := ca.Issue(t, certtest.Options{RDNs: pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "DE"}},
		{{Type: cn, Value: "x"}, {Type: o, Value: "y"}},
	}})
	subject, err = server.CertificateSubject(multi.Cert)
	if err != nil {
		t.Fatal(err)
	}
	for dn, want := range map[string]bool{"O=y+CN=x,C=DE": true, "CN=x+O=y,C=DE": true, "CN=x,O=y,C=DE": false, "CN=x+O=y+OU=z,C=DE": false} {
		parsed, err := server.ParseSubjectDN(dn)
		if err != nil || server.EqualDN(parsed, subject) != want {
			t.Errorf("%s: match %v (%v), want %v", dn, !want, err, want)
		}
	}
}

func TestValidTLSClientAuthIdentity(t *testing.T) {
	tests := []struct {
		id oauth2.TLSClientAuthIdentity
		ok bool
	}{
		{oauth2.TLSClientAuthIdentity{SubjectDN: "CN=x,O=y"}, true},
		{oauth2.TLSClientAuthIdentity{SANDNS: "a.example.com"}, true},
		{oauth2.TLSClientAuthIdentity{SANURI: "spiffe://x/y"}, true},
		{oauth2.TLSClientAuthIdentity{SANIP: "192.0.2.1"}, true},
		{oauth2.TLSClientAuthIdentity{SANEmail: "a@example.com"}, true},
		{oauth2.TLSClientAuthIdentity{}, false},
		{oauth2.TLSClientAuthIdentity{SANDNS: "a.example.com", SANIP: "192.0.2.1"}, false},
		{oauth2.TLSClientAuthIdentity{SubjectDN: "nonsense"}, false},
		{oauth2.TLSClientAuthIdentity{SANDNS: "a b"}, false},
		{oauth2.TLSClientAuthIdentity{SANURI: "/relative"}, false},
		{oauth2.TLSClientAuthIdentity{SANIP: "300.1.1.1"}, false},
		{oauth2.TLSClientAuthIdentity{SANIP: "fe80::1%eth0"}, false},
		{oauth2.TLSClientAuthIdentity{SANEmail: "nobody"}, false},
	}
	for _, tt := range tests {
		if err := server.ValidTLSClientAuthIdentity(tt.id); (err == nil) != tt.ok {
			t.Errorf("%+v: %v, want ok %v", tt.id, err, tt.ok)
		}
	}
}

func FuzzParseSubjectDN(f *testing.F) {
	for _, s := range []string{`CN=a\+b,OU=Unit One,O=Example\, Inc.,C=DE`, `cn = x , 1.2.3=y+o=z`, `CN=\41\42`, `CN=#00`, `CN=x\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dn, err := server.ParseSubjectDN(s)
		if err != nil {
			return
		}
		if len(dn) == 0 {
			t.Fatal("an accepted DN has no RDN")
		}
		if !server.EqualDN(dn, dn) {
			t.Fatal("a DN does not equal itself")
		}
		for _, rdn := range dn {
			for _, atv := range rdn {
				v, ok := atv.Value.(string)
				if !ok || v == "" || len(atv.Type) < 2 {
					t.Fatalf("attribute %v", atv)
				}
			}
		}
	})
}
