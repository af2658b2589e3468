package oidc

import (
	"slices"
	"time"

	"github.com/oauth2d/oauth2/errors"
)

// IDTokenHint is what a verified id_token_hint tells (OpenID Connect Core
// 1.0 3.1.2.1): a previous ID token of this server, whose signature and
// issuer were checked and whose expiry was not (the hint is often
// expired).
type IDTokenHint struct {
	// Subject is the sub of the End-User the hint names, as the client it
	// was issued to knows them.
	Subject string
	// Audience are the clients the hint was issued to.
	Audience []string
	// AuthTime is the auth_time it carried; zero when none.
	AuthTime time.Time
	// SID is the session ID it carried; "" when none.
	SID string
	// IssuedAt and Expiry are its iat and exp; zero when absent.
	IssuedAt time.Time
	Expiry   time.Time
}

// IssuedTo reports whether the hint was issued to the client clientID.
func (h *IDTokenHint) IssuedTo(clientID string) bool {
	return slices.Contains(h.Audience, clientID)
}

// ErrInvalidIDTokenHint: the id_token_hint is not an ID token this server
// signed, with a key it still publishes, for its issuer. It is an
// invalid_request (OpenID Connect Core 1.0 3.1.2.1 leaves the code to the
// server).
var ErrInvalidIDTokenHint = errors.WithDescription(errors.ErrInvalidRequest, "The id_token_hint is not a valid ID Token of this issuer")

// IDTokenAlgClient is implemented by clients registered with an
// id_token_signed_response_alg (OpenID Connect Dynamic Client Registration
// 1.0 2): the JWS algorithm of their ID tokens. "" leaves the choice to the
// server. A client that does not implement it gets the server's.
type IDTokenAlgClient interface {
	GetIDTokenSignedResponseAlg() string
}
