package server

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
)

// JWKSMaxAge is how long a client may cache the JWK Set and the metadata
// (Cache-Control max-age). A key that is about to become current should be
// published at least this long before (generates.KeySet.Schedule), so that
// no verifier meets a kid it has not fetched.
const JWKSMaxAge = 5 * time.Minute

var (
	hdrJWKSet      = []string{"application/jwk-set+json"}
	hdrPublicCache = []string{"public, max-age=" + strconv.Itoa(int(JWKSMaxAge/time.Second))}
	hdrAnyOrigin   = []string{"*"}
	hdrNoSniff     = []string{"nosniff"}
	hdrAllowGet    = []string{"GET, HEAD"}
)

// jwksState holds the key set of SetKeySet. It is read on every JWKS and
// metadata request, and may be replaced while they are served.
type jwksState struct {
	keys atomic.Pointer[generates.KeySet]
}

// SetKeySet sets the key set whose public keys the JWKS endpoint publishes
// (RFC 7517 5) and makes the metadata advertise jwks_uri (RFC 8414 2). It
// should be the key set that signs the JWT access tokens
// (generates.NewJWTAccessGenerateFromKeySet), so that resource servers can
// verify them, the keys of the current and the retired keys alike, until
// KeySet.Prune unpublishes a retired one. nil removes the key set. It is
// safe to call while requests are served.
func (s *Server) SetKeySet(ks *generates.KeySet) { s.jwks.keys.Store(ks) }

// KeySet returns the key set of SetKeySet, or nil.
func (s *Server) KeySet() *generates.KeySet { return s.jwks.keys.Load() }

// HandleJWKSRequest serves the JWK Set of the key set's public keys (RFC
// 7517 5) at the metadata's jwks_uri (RFC 8414 2), as
// application/jwk-set+json (RFC 7517 8.5.1), cacheable for JWKSMaxAge. Only
// asymmetric keys are published, never a private part or an HMAC secret.
// It answers GET and HEAD; another method is 405 with an Allow header, and
// a server without a key set answers 404.
func (s *Server) HandleJWKSRequest(w http.ResponseWriter, r *http.Request) {
	if !s.publicGetOnly(w, r) {
		return
	}
	ks := s.KeySet()
	if ks == nil {
		http.NotFound(w, r)
		return
	}
	body, err := ks.JWKS()
	if err != nil {
		_ = s.tokenError(w, err)
		return
	}
	writePublicDocument(w, r, hdrJWKSet, body)
}

// publicGetOnly answers a request for a public document (JWK Set,
// metadata) whose method is not GET or HEAD with 405, through the error
// writer, and reports whether the request may go on.
func (s *Server) publicGetOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	_ = s.tokenError(w, errors.WithStatus(errDocumentMethod, http.StatusMethodNotAllowed,
		http.Header{"Allow": hdrAllowGet}))
	return false
}

// writePublicDocument writes a public, cacheable JSON document: readable
// by browser-based clients of any origin (it holds nothing secret), with no
// body for HEAD.
func writePublicDocument(w http.ResponseWriter, r *http.Request, contentType []string, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentType
	h["Cache-Control"] = hdrPublicCache
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
