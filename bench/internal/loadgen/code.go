package loadgen

import (
	"fmt"
	"net/url"
	"sync/atomic"
)

// The code mode exchanges authorization codes (RFC 6749 4.1.3, RFC 7636
// 4.5) of an OpenID Connect grant, one per request. The server issues a
// pool of codes before the run: Code(0), Code(1), ..., all for
// CodeRedirectURI with the PKCE challenge of CodeVerifier, and the load
// generator exchanges them in order.

// Parameters of the code mode, shared with the servers.
const (
	// CodeRedirectURI is the redirect_uri of every code.
	CodeRedirectURI = "http://127.0.0.1/cb"
	// CodeVerifier is the PKCE code_verifier of every code (RFC 7636
	// Appendix B); its S256 challenge is CodeChallenge.
	CodeVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	CodeChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// Code returns the i-th code of a server's pool.
func Code(i int64) string { return fmt.Sprintf("bench-code-%012d", i) }

// codeRequests returns a function that builds the next code exchange.
func codeRequests(addr, auth string) func() []byte {
	var next atomic.Int64
	prefix := "grant_type=authorization_code&redirect_uri=" + url.QueryEscape(CodeRedirectURI) +
		"&code_verifier=" + CodeVerifier + "&code="
	return func() []byte {
		return buildRequest(addr, "/token", auth, prefix+Code(next.Add(1)-1))
	}
}
