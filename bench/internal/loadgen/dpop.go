package loadgen

import (
	"bytes"
	"fmt"

	"github.com/oauth2d/oauth2/bench/internal/baretoken"
)

// dpopRequests returns the request maker of one connection in
// ModeTokenDPoP: the client_credentials request of ModeToken with a fresh
// proof for http://addr/token in its DPoP header (RFC 9449 4.1).
func dpopRequests(addr, auth string) func() ([]byte, error) {
	p := baretoken.NewProver("http://" + addr + "/token")
	const body = "grant_type=client_credentials&scope=read"
	var b bytes.Buffer
	return func() ([]byte, error) {
		proof, err := p.Proof()
		if err != nil {
			return nil, err
		}
		b.Reset()
		fmt.Fprintf(&b, "POST /token HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nDPoP: %s\r\n", addr, auth, proof)
		b.WriteString("Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n")
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		return b.Bytes(), nil
	}
}
