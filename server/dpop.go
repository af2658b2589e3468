package server

import (
	"context"
	"crypto/rand"
	stderrors "errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/dpop"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// DPoP (RFC 9449) at the server's endpoints: the token endpoint binds the
// tokens it issues to the key of the request's proof; the authorization and
// pushed authorization endpoints bind a code to a key (dpop_jkt, RFC 9449
// 10); ValidateResourceRequest and the UserInfo endpoint accept a DPoP-bound
// token only with a proof of its key (RFC 9449 7).

// DPoPConfig configures DPoP (RFC 9449). Its zero value accepts proofs of
// the asymmetric algorithms of dpop.DefaultAlgorithms, with the defaults of
// package dpop, and no server nonce.
type DPoPConfig struct {
	// Disabled makes the server ignore DPoP headers at the token endpoint
	// (it then issues bearer tokens, as a server without DPoP would, RFC
	// 9449 5) and leave dpop_signing_alg_values_supported out of its
	// metadata. Clients registered with dpop_bound_access_tokens are then
	// refused.
	Disabled bool
	// Algorithms are the accepted JWS algorithms; dpop.DefaultAlgorithms
	// when empty.
	Algorithms []string
	// MaxAge and Leeway bound a proof's iat: at most MaxAge old and
	// Leeway in the future (dpop.DefaultMaxAge, dpop.DefaultLeeway when
	// not positive). A proof's jti is remembered in the server's KVStore
	// for MaxAge + Leeway.
	MaxAge, Leeway time.Duration
	// RequireNonce makes every proof carry a nonce the server provided
	// (RFC 9449 8, 9): a proof without one, or with one too old, is
	// answered use_dpop_nonce with a fresh nonce in the DPoP-Nonce header.
	RequireNonce bool
	// NonceLifetime is how long a nonce is current
	// (dpop.DefaultNonceLifetime when not positive); it is accepted for
	// one more lifetime after that.
	NonceLifetime time.Duration
	// NonceKey is the key of the nonces, at least dpop.MinNonceKeyBytes
	// random bytes, the same in every process. When nil the server makes
	// one and keeps it in its KVStore, so that every process sharing the
	// store shares it.
	NonceKey []byte
	// RequestURL returns the URI a request to a protected resource was
	// sent to (the htu its proof must name, RFC 9449 4.3): its scheme,
	// host and path as the client saw them. nil takes them from the
	// request: https when it came over TLS, else http, its Host header and
	// its path. Set it behind a proxy that terminates TLS or rewrites
	// paths.
	RequestURL func(r *http.Request) string
}

// Errors of DPoP at the token and authorization endpoints.
var (
	errDPoPRequired = errors.WithDescription(errors.ErrInvalidDPoPProof,
		"The client is registered with dpop_bound_access_tokens and must send a DPoP proof")
	errDPoPJKT = errors.WithDescription(errors.ErrInvalidRequest,
		"The dpop_jkt parameter is not a JWK SHA-256 thumbprint")
	errDPoPJKTMismatch = errors.WithDescription(errors.ErrInvalidDPoPProof,
		"The dpop_jkt parameter is not the thumbprint of the DPoP proof's key")
	errDPoPBoundAsBearer = errors.WithDescription(errors.ErrInvalidToken,
		"The access token is bound to a DPoP key and must be presented with the DPoP scheme and a proof")
	errDPoPNotBound = errors.WithDescription(errors.ErrInvalidToken,
		"The access token is not bound to a DPoP key")
)

// kvDPoPNonceKey is where the nonce key is kept when DPoPConfig.NonceKey is
// not set.
const kvDPoPNonceKey = "oauth2/dpop/nonce-key"

// dpopState is the server's DPoP verifier, made on first use from
// Config.DPoP and the KVStore.
type dpopState struct {
	mu sync.Mutex
	v  atomic.Pointer[dpop.Verifier]
}

// DPoPVerifier returns the verifier of the server's DPoP proofs, made on
// first use from Config.DPoP and the server's KVStore (where the jti of
// every accepted proof is kept, and the nonce key when the configuration
// has none). Change Config.DPoP only before the server serves.
func (s *Server) DPoPVerifier(ctx context.Context) (*dpop.Verifier, error) {
	if v := s.dpop.v.Load(); v != nil {
		return v, nil
	}
	s.dpop.mu.Lock()
	defer s.dpop.mu.Unlock()
	if v := s.dpop.v.Load(); v != nil {
		return v, nil
	}
	kv, err := s.kvStore()
	if err != nil {
		return nil, err
	}
	cfg := &s.Config.DPoP
	opts := dpop.Options{
		Algorithms: cfg.Algorithms,
		MaxAge:     cfg.MaxAge,
		Leeway:     cfg.Leeway,
		Replay:     kv,
		Now:        s.clock,
	}
	if cfg.RequireNonce {
		key := cfg.NonceKey
		if key == nil {
			if key, err = sharedNonceKey(ctx, kv); err != nil {
				return nil, err
			}
		}
		if opts.Nonces, err = dpop.NewNonces(key, cfg.NonceLifetime, s.clock); err != nil {
			return nil, err
		}
	}
	v, err := dpop.NewVerifier(opts)
	if err != nil {
		return nil, err
	}
	s.dpop.v.Store(v)
	return v, nil
}

// sharedNonceKey returns the nonce key kept in kv, making it when there is
// none yet: the first process to get there wins, and every other reads its
// key.
func sharedNonceKey(ctx context.Context, kv oauth2.KVStore) ([]byte, error) {
	key := make([]byte, dpop.MinNonceKeyBytes)
	_, _ = rand.Read(key)
	if _, err := kv.PutIfAbsent(ctx, kvDPoPNonceKey, key, 0); err != nil {
		return nil, fmt.Errorf("server: DPoP nonce key: %w", err)
	}
	got, err := kv.Get(ctx, kvDPoPNonceKey)
	if err != nil {
		return nil, fmt.Errorf("server: DPoP nonce key: %w", err)
	}
	return got, nil
}

// dpopAlgorithms returns the algorithms the metadata advertises in
// dpop_signing_alg_values_supported (RFC 9449 5.1), nil when DPoP is off.
func (s *Server) dpopAlgorithms() []string {
	if s.Config.DPoP.Disabled {
		return nil
	}
	if len(s.Config.DPoP.Algorithms) > 0 {
		return append([]string(nil), s.Config.DPoP.Algorithms...)
	}
	return append([]string(nil), dpop.DefaultAlgorithms...)
}

// verifyDPoP verifies the proof of r for the target URI target (and the
// access token of a resource request) with the server's verifier. A
// NonceError becomes an error answered with the nonce in the DPoP-Nonce
// header; the next nonce of an accepted proof is set on w, when not nil.
// An absent proof is dpop.ErrMissing.
func (s *Server) verifyDPoP(w http.ResponseWriter, r *http.Request, target, accessToken string) (*dpop.Proof, error) {
	ctx := r.Context()
	v, err := s.DPoPVerifier(ctx)
	if err != nil {
		return nil, err
	}
	p, err := v.VerifyRequest(ctx, r, target, accessToken)
	if err != nil {
		var ne *dpop.NonceError
		if stderrors.As(err, &ne) {
			return nil, errors.WithStatus(err, http.StatusBadRequest, http.Header{dpop.NonceHeader: {ne.Nonce}})
		}
		return nil, err
	}
	if p.NextNonce != "" && w != nil {
		w.Header().Set(dpop.NonceHeader, p.NextNonce)
	}
	return p, nil
}

// tokenDPoP binds the token request tgr to the key of its DPoP proof (RFC
// 9449 5): it verifies the proof for the token endpoint's URI and puts the
// key's thumbprint in tgr.Extension under policy.ExtensionDPoPJKT, where
// the manager binds the issued tokens to it, checks it against a code's
// dpop_jkt and a public client's bound refresh token. A request without a
// proof is left alone, unless its client registered
// dpop_bound_access_tokens (RFC 9449 5.2).
func (s *Server) tokenDPoP(w http.ResponseWriter, r *http.Request, client policy.Client, tgr *oauth2.TokenGenerateRequest) error {
	if !dpop.HasProof(r.Header) || s.Config.DPoP.Disabled {
		if client.RequiresDPoP() {
			return errDPoPRequired
		}
		return nil
	}
	p, err := s.verifyDPoP(w, r, s.endpointURL(r, s.Config.Endpoints.Token, PathToken), "")
	if err != nil {
		return err
	}
	setExtension(tgr, policy.ExtensionDPoPJKT, p.Thumbprint)
	return nil
}

// setExtension sets key to values in tgr.Extension, which it makes when
// nil.
func setExtension(tgr *oauth2.TokenGenerateRequest, key string, values ...string) {
	if tgr.Extension == nil {
		tgr.Extension = url.Values{}
	}
	tgr.Extension[key] = values
}

// endpointURL returns the URI of one of the server's endpoints, the htu a
// proof sent to it must name: configured, else the issuer followed by
// path, else (a server without an issuer) the URI of the request.
func (s *Server) endpointURL(r *http.Request, configured, path string) string {
	if configured != "" {
		return configured
	}
	if iss := s.Config.Issuer; iss != "" {
		return strings.TrimSuffix(iss, "/") + path
	}
	return requestURL(r)
}

// resourceURL returns the URI of a request to a protected resource: the
// DPoPConfig.RequestURL of it, else requestURL.
func (s *Server) resourceURL(r *http.Request) string {
	if fn := s.Config.DPoP.RequestURL; fn != nil {
		return fn(r)
	}
	return requestURL(r)
}

// requestURL returns the URI r was sent to, without query: https when it
// came over TLS, else http, its Host and its path.
func requestURL(r *http.Request) string {
	if r.URL != nil && r.URL.IsAbs() {
		u := *r.URL
		u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
		return u.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := "/"
	if r.URL != nil {
		path = r.URL.EscapedPath()
	}
	return scheme + "://" + r.Host + path
}

// tokenTypeOf returns the token_type of the access token of ti: DPoP when
// it is bound to a DPoP key (RFC 9449 5), else Config.TokenType.
func (s *Server) tokenTypeOf(ti oauth2.TokenInfo) string {
	if policy.DPoPThumbprint(ti) != "" {
		return dpop.TokenType
	}
	return s.Config.tokenType()
}
