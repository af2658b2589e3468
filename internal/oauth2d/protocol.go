package oauth2d

import (
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/server"
)

// The wiring of DPoP (RFC 9449), pushed authorization requests (RFC 9126),
// resource indicators (RFC 8707), token exchange (RFC 8693) and mutual TLS
// (RFC 8705) into the server, from ProtocolConfig (config_protocol.go).

// configureProtocol sets the server configuration of the protocol
// features.
func (a *App) configureProtocol(sc *server.Config) {
	p := &a.cfg.ProtocolConfig
	sc.DPoP = server.DPoPConfig{
		Disabled:      !p.DPoP.Enabled,
		Algorithms:    p.DPoP.Algorithms,
		MaxAge:        p.DPoP.MaxAge,
		Leeway:        p.DPoP.Leeway,
		RequireNonce:  p.DPoP.RequireNonce,
		NonceLifetime: p.DPoP.NonceLifetime,
		// Every endpoint hangs under the issuer: the URI a client sends
		// a resource request to, its proof's htu, is the issuer's,
		// whatever the Host header or a proxy in front says.
		RequestURL: a.publicURL,
	}
	sc.PAR = server.PARConfig{Required: p.PAR.Required, Lifetime: p.PAR.Lifetime}
	sc.Resources = p.Resources
	if p.TokenExchange.Enabled {
		sc.AllowedGrantTypes = append(sc.AllowedGrantTypes, oauth2.TokenExchange)
	}
	sc.MTLS.Enabled = p.TLS.MTLS && a.tls != nil
}

// addProtocolAuthenticators adds the client authentication methods of
// mutual TLS (RFC 8705 2) when tls.mtls is on: self_signed_tls_client_auth,
// and tls_client_auth with tls.client_ca_files as its roots, reloaded with
// the certificate.
func (a *App) addProtocolAuthenticators(s *server.Server) {
	if !a.cfg.TLS.MTLS || a.tls == nil {
		return
	}
	var roots func() *x509.CertPool
	if len(a.cfg.TLS.ClientCAFiles) > 0 {
		roots = a.tls.clientCAs
	}
	s.AddTLSClientAuthenticators(roots)
}

// publicURL returns the URI a request was sent to as clients see it, the
// htu of its DPoP proof (RFC 9449 4.3): the issuer followed by the path of
// the request under it (the handlers see the path with the issuer's path
// stripped), without query.
func (a *App) publicURL(r *http.Request) string {
	return a.issuer + r.URL.EscapedPath()
}

// handlePAR serves the pushed authorization request endpoint (RFC 9126 2),
// whose client authentication is throttled as the token endpoint's.
func (a *App) handlePAR(w http.ResponseWriter, r *http.Request) {
	a.serveClientEndpoint(w, r, a.server.HandlePushedAuthorizationRequest)
}

// pushedRequestURI reads the form of an authorization request, as the
// server does (ParseForm, with the server's body limit), before the
// server replaces the parameters of a pushed request by the pushed ones
// (RFC 9126 4), and returns its request_uri when it names a pushed
// request. The login and consent pages resume such a request with its
// client_id and request_uri alone: resending the resolved parameters would
// make a request that was not pushed, which a client or server requiring
// PAR refuses. A form that does not parse is left unparsed, for the server
// to refuse.
func (a *App) pushedRequestURI(w http.ResponseWriter, r *http.Request) string {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return ""
	}
	if r.Method == http.MethodPost && r.PostForm == nil && r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, server.DefaultMaxBodyBytes)
	}
	if err := r.ParseForm(); err != nil {
		// The server parses it again and meets the same error: the
		// query is still there, and the body answers with the error.
		r.Form, r.PostForm = nil, nil
		if r.Method == http.MethodPost {
			r.Body = errBody{err}
		}
		return ""
	}
	if vs := r.Form["request_uri"]; len(vs) == 1 && strings.HasPrefix(vs[0], server.RequestURIPrefix) {
		return vs[0]
	}
	return ""
}

// errBody is a request body that fails with err.
type errBody struct{ err error }

func (b errBody) Read([]byte) (int, error) { return 0, b.err }
func (b errBody) Close() error             { return nil }

// resumeQuery is the query the pages resume a pushed request with: its
// client_id and request_uri (RFC 9126 4), "" for a request sent whole.
func resumeQuery(clientID, requestURI string) string {
	if requestURI == "" {
		return ""
	}
	return url.Values{"client_id": {clientID}, "request_uri": {requestURI}}.Encode()
}
