package loadserver

import (
	"net/http"

	"github.com/oauth2d/oauth2/bench/internal/baretoken"
)

// bareDPoP is the baseline of DPoP-bound issuance: bare-es256 plus one
// ES256 verification of the request's proof with the client key parsed
// once. library-dpop is library-es256: the library binds a token to the
// key of the request's proof by itself, checking every rule of RFC 9449
// 4.3 and remembering the proof's jti in the memory store.
func bareDPoP() (*Server, error) {
	sg, err := baretoken.NewSigner(baretoken.ES256)
	if err != nil {
		return nil, err
	}
	h := baretoken.New(ClientID, ClientSecret, baretoken.WithSigner(sg), baretoken.WithDPoP(&baretoken.DPoPKey().PublicKey))
	mux := http.NewServeMux()
	mux.HandleFunc("/token", h.ServeToken)
	return &Server{Handler: mux}, nil
}
