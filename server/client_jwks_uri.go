package server

import (
	"context"

	"github.com/oauth2d/oauth2"
)

// ClientJWKSURI is implemented by clients that may publish their JSON Web
// Key Set at a URL (RFC 7591 2 jwks_uri) instead of registering it by
// value, as models.Client does. The server reads such a set through the
// Server's JWKSResolver; a client with both uses its registered set.
type ClientJWKSURI interface {
	// GetJWKSURI returns the client's jwks_uri, "" for none.
	GetJWKSURI() string
}

// JWKSResolver returns the JWK set published at a client's jwks_uri as
// JSON ({"keys":[...]}) for private_key_jwt (RFC 7523 2.2) and
// self_signed_tls_client_auth (RFC 8705 2.2). kid is the key ID the
// assertion names, "" when it names none: a resolver that caches sets may
// fetch the set again when its cached copy lacks that key, as a client
// that rotates its keys expects. The resolver owns the protection of the
// fetch (timeouts, size limits, addresses it refuses to reach); an error
// fails the authentication with invalid_client.
type JWKSResolver func(ctx context.Context, uri, kid string) ([]byte, error)

// SetJWKSResolver sets Server.JWKSResolver, which lets clients registered
// with a jwks_uri (ClientJWKSURI) authenticate with private_key_jwt.
func (s *Server) SetJWKSResolver(r JWKSResolver) { s.JWKSResolver = r }

// clientJWKS returns the JWK set of client c as JSON: its registered set
// (ClientJWKS), else the set at its jwks_uri through the JWKSResolver;
// nil when it has neither or the set cannot be had.
func (s *Server) clientJWKS(ctx context.Context, c oauth2.ClientInfo, kid string) []byte {
	if cj, ok := c.(ClientJWKS); ok {
		if raw := cj.GetJWKS(); len(raw) > 0 {
			return raw
		}
	}
	cu, ok := c.(ClientJWKSURI)
	if !ok || s.JWKSResolver == nil {
		return nil
	}
	uri := cu.GetJWKSURI()
	if uri == "" {
		return nil
	}
	raw, err := s.JWKSResolver(ctx, uri, kid)
	if err != nil {
		return nil
	}
	return raw
}
