package loadgen

import (
	"bytes"
	"fmt"

	"github.com/oauth2d/oauth2/bench/internal/baretoken"
)

// dpopRequests returns a function that builds the next request of
// ModeTokenDPoP, safe for concurrent use: the client_credentials request of
// ModeToken with a fresh proof for http://addr/token in its DPoP header
// (RFC 9449 4.1). A proof that cannot be signed leaves the header out, and
// the server's refusal counts as an error.
func dpopRequests(addr, auth string) func() []byte {
	p := baretoken.NewProver("http://" + addr + "/token")
	const body = "grant_type=client_credentials&scope=read"
	return func() []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "POST /token HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n", addr, auth)
		if proof, err := p.Proof(); err == nil {
			fmt.Fprintf(&b, "DPoP: %s\r\n", proof)
		}
		b.WriteString("Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n")
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		return b.Bytes()
	}
}
