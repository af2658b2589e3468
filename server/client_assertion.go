package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/policy"
)

// JWT client authentication (RFC 7523 2.2 and 3; OpenID Connect Core 9):
// the client proves who it is with a JWT it signs, sent as the
// client_assertion parameter with client_assertion_type
// ClientAssertionTypeJWTBearer (RFC 7521 4.2).

// ClientAssertionTypeJWTBearer is the client_assertion_type of a JWT client
// assertion (RFC 7523 2.2).
const ClientAssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// JWT client authentication methods, by their RFC 7591 2 names.
const (
	// AuthMethodPrivateKeyJWT: a JWT signed with the client's private key,
	// verified with a public key of its registered JWK set (RFC 7523 2.2,
	// OpenID Connect Core 9).
	AuthMethodPrivateKeyJWT = "private_key_jwt"
	// AuthMethodClientSecretJWT: a JWT signed with HMAC keyed by the
	// client secret (OpenID Connect Core 9).
	AuthMethodClientSecretJWT = "client_secret_jwt"
)

// Limits of client assertions.
const (
	// ClientAssertionLeeway is the clock skew allowed on exp, nbf and iat.
	ClientAssertionLeeway = 30 * time.Second
	// ClientAssertionMaxLifetime is how far in the future exp may be: an
	// assertion is meant for one request (RFC 7523 3 lets the server limit
	// it), and its jti is remembered until then.
	ClientAssertionMaxLifetime = 10 * time.Minute

	maxAssertionBytes = 16 << 10
	maxHeaderBytes    = 2 << 10
	maxJTIBytes       = 256
	maxJWKSKeys       = 32
	minRSABits        = 2048

	kvAssertionJTI = "oauth2/client-assertion/jti/"
)

// Algorithms accepted by each method (RFC 7518 3.1). HMAC and asymmetric
// algorithms are never accepted by the same method, so that no public key
// can be used as an HMAC secret.
var (
	privateKeyJWTAlgs   = []string{"RS256", "PS256", "ES256", "EdDSA"}
	clientSecretJWTAlgs = []string{"HS256", "HS384", "HS512"}
)

// minHMACKey is the shortest secret of each HMAC algorithm: the size of
// its hash output (RFC 7518 3.2).
var minHMACKey = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// ClientJWKS is implemented by clients that have a registered JSON Web Key
// Set (RFC 7591 2 jwks) for private_key_jwt, as models.Client does.
type ClientJWKS interface {
	// GetJWKS returns the JWK set as JSON ({"keys":[...]}), nil for none.
	GetJWKS() []byte
}

// errAssertionUnusable is what a failed assertion check returns inside the
// parser; every such failure is answered with errClientAuth.
var errAssertionUnusable = stderrors.New("server: unusable client assertion")

// ClientAssertionAuthenticator is the ClientAuthenticator of one JWT client
// authentication method, private_key_jwt or client_secret_jwt (RFC 7523 2.2
// and 3, OpenID Connect Core 9). Create it with
// NewPrivateKeyJWTAuthenticator or NewClientSecretJWTAuthenticator, or add
// both with Server.AddClientAssertionAuthenticators.
//
// A request is authenticated when client_assertion_type is
// ClientAssertionTypeJWTBearer and client_assertion is a JWS (compact
// serialisation) such that:
//
//   - iss and sub are both the client_id of a client registered with this
//     token_endpoint_auth_method, and the client_id parameter, if sent, is
//     the same;
//   - its alg is one of the method's algorithms (SigningAlgorithms): never
//     "none", never HMAC for private_key_jwt nor an asymmetric algorithm
//     for client_secret_jwt, and no "crit" header;
//   - its signature verifies with a key of the client's JWK set (a public
//     RSA key of at least 2048 bits, a P-256 key or an Ed25519 key, whose
//     use, alg and kid, when present, fit) or, for client_secret_jwt, with
//     the client secret in the clear, at least as long as the hash output
//     (RFC 7518 3.2). A client that keeps only a hash of its secret cannot
//     use client_secret_jwt;
//   - aud is Config.Issuer or the token endpoint URL
//     (Config.Endpoints.Token, else the issuer followed by PathToken), or an
//     array of which every entry is one of those: an assertion meant for
//     another audience as well is refused (the audience injection of
//     draft-ietf-oauth-rfc7523bis); without Config.Issuer no assertion is
//     accepted;
//   - exp is present and not past, and at most ClientAssertionMaxLifetime
//     ahead; nbf and iat, when present, are not in the future; each with
//     ClientAssertionLeeway;
//   - jti is present and was never seen with this client before: it is
//     remembered until exp in the server's KVStore (KVStore.PutIfAbsent,
//     keyed by a hash of client_id and jti), so that a replay fails in
//     every process.
//
// Every failure is invalid_client (RFC 6749 5.2, 401) without saying which
// check failed; a store failure is temporarily_unavailable. Sending an
// assertion together with client_secret_basic or client_secret_post is
// invalid_request (RFC 6749 2.3), which the server checks.
type ClientAssertionAuthenticator struct {
	srv    *Server
	method string
	algs   []string
}

var (
	_ ClientAuthenticator           = (*ClientAssertionAuthenticator)(nil)
	_ ClientAuthenticatorAlgorithms = (*ClientAssertionAuthenticator)(nil)
	_ ClientIDClaimer               = (*ClientAssertionAuthenticator)(nil)
)

// NewPrivateKeyJWTAuthenticator returns the private_key_jwt authenticator
// of s (RFC 7523 2.2); add it with s.AddClientAuthenticator.
func NewPrivateKeyJWTAuthenticator(s *Server) *ClientAssertionAuthenticator {
	return &ClientAssertionAuthenticator{srv: s, method: AuthMethodPrivateKeyJWT, algs: privateKeyJWTAlgs}
}

// NewClientSecretJWTAuthenticator returns the client_secret_jwt
// authenticator of s (OpenID Connect Core 9); add it with
// s.AddClientAuthenticator.
func NewClientSecretJWTAuthenticator(s *Server) *ClientAssertionAuthenticator {
	return &ClientAssertionAuthenticator{srv: s, method: AuthMethodClientSecretJWT, algs: clientSecretJWTAlgs}
}

// AddClientAssertionAuthenticators adds both JWT client authentication
// methods, private_key_jwt and client_secret_jwt, to the server's client
// authenticators. When both are added, a request goes to the one whose
// algorithms its alg header belongs to (HMAC to client_secret_jwt,
// anything else to private_key_jwt); when one is added alone, it takes
// every request that carries an assertion.
func (s *Server) AddClientAssertionAuthenticators() {
	s.AddClientAuthenticator(NewPrivateKeyJWTAuthenticator(s))
	s.AddClientAuthenticator(NewClientSecretJWTAuthenticator(s))
}

// Method returns the token_endpoint_auth_method, private_key_jwt or
// client_secret_jwt.
func (a *ClientAssertionAuthenticator) Method() string { return a.method }

// SigningAlgorithms returns the JWS algorithms the method accepts
// (RFC 8414 2 token_endpoint_auth_signing_alg_values_supported).
func (a *ClientAssertionAuthenticator) SigningAlgorithms() []string { return slices.Clone(a.algs) }

// Match reports whether the request carries a client assertion
// (client_assertion or client_assertion_type, RFC 7521 4.2) for this
// method: any assertion when the server has no authenticator of the other
// JWT method, else one whose alg header belongs to this method's family.
func (a *ClientAssertionAuthenticator) Match(_ *http.Request, p Params) bool {
	f, isForm := p.(*form)
	if isForm {
		if !f.has("client_assertion") && !f.has("client_assertion_type") {
			return false
		}
	} else if p.Get("client_assertion") == "" && p.Get("client_assertion_type") == "" {
		return false
	}
	if !a.siblingRegistered() {
		return true
	}
	var header string
	if isForm {
		v, _ := f.lookup("client_assertion")
		if i := bytes.IndexByte(v, '.'); i > 0 && i <= maxHeaderBytes {
			header = string(v[:i])
		}
	} else {
		header, _, _ = strings.Cut(p.Get("client_assertion"), ".")
	}
	hmac := strings.HasPrefix(headerAlg(header), "HS")
	return hmac == (a.method == AuthMethodClientSecretJWT)
}

// siblingRegistered reports whether the server also has an authenticator
// of the other JWT method.
func (a *ClientAssertionAuthenticator) siblingRegistered() bool {
	for _, o := range a.srv.ClientAuthenticators {
		if c, ok := o.(*ClientAssertionAuthenticator); ok && c != a && c.srv == a.srv && c.method != a.method {
			return true
		}
	}
	return false
}

// headerAlg returns the alg of the protected header of a compact JWS, given
// its first segment, "" when it cannot be read. It verifies nothing: it
// only routes the request.
func headerAlg(segment string) string {
	if segment == "" || len(segment) > maxHeaderBytes {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return ""
	}
	return h.Alg
}

// Authenticate verifies the client assertion of the request and returns
// its client (RFC 7523 3). See ClientAssertionAuthenticator for the checks.
func (a *ClientAssertionAuthenticator) Authenticate(ctx context.Context, _ *http.Request, p Params) (oauth2.ClientInfo, error) {
	if p.Get("client_assertion_type") != ClientAssertionTypeJWTBearer {
		return nil, errClientAuth
	}
	assertion := p.Get("client_assertion")
	if assertion == "" || len(assertion) > maxAssertionBytes {
		return nil, errClientAuth
	}
	aud := a.audiences()
	if len(aud) == 0 {
		return nil, errClientAuth
	}
	formID := p.Get("client_id")

	var (
		client    oauth2.ClientInfo
		lookupErr error
	)
	claims := &jwt.RegisteredClaims{}
	parser := jwt.NewParser(jwt.WithValidMethods(a.algs), jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding())
	_, err := parser.ParseWithClaims(assertion, claims, func(t *jwt.Token) (any, error) {
		if _, crit := t.Header["crit"]; crit {
			// RFC 7515 4.1.11: no extension is understood here.
			return nil, errAssertionUnusable
		}
		id := claims.Subject
		if id == "" || claims.Issuer != id || (formID != "" && formID != id) {
			return nil, errAssertionUnusable
		}
		c, err := a.srv.Manager.GetClient(ctx, id)
		if err != nil || c == nil {
			if err != nil && !stderrors.Is(err, oauth2.ErrNotFound) && !stderrors.Is(err, errors.ErrInvalidClient) {
				lookupErr = err
			}
			return nil, errAssertionUnusable
		}
		if !policy.Of(c).RegisteredFor(a.method) {
			return nil, errAssertionUnusable
		}
		client = c
		alg, _ := t.Header["alg"].(string)
		kid, _ := t.Header["kid"].(string)
		if a.method == AuthMethodClientSecretJWT {
			return hmacKey(c, alg)
		}
		return publicKeys(a.srv.clientJWKS(ctx, c, kid), alg, kid)
	})
	if lookupErr != nil {
		return nil, lookupErr
	}
	if err != nil || client == nil {
		return nil, errClientAuth
	}
	now := a.srv.clock()
	if !validAssertionClaims(claims, aud, now) {
		return nil, errClientAuth
	}
	kv, err := a.srv.kvStore()
	if err != nil {
		return nil, err
	}
	ttl := claims.ExpiresAt.Sub(now) + ClientAssertionLeeway
	fresh, err := kv.PutIfAbsent(ctx, kvAssertionJTI+codeHash(client.GetID()+"\x00"+claims.ID), []byte{1}, ttl)
	if err != nil {
		return nil, fmt.Errorf("server: remember client assertion: %w", err)
	}
	if !fresh {
		// A replay (RFC 7523 3 item 7).
		return nil, errClientAuth
	}
	return client, nil
}

// ClaimedClientID returns the client a request's assertion names, read
// without verifying anything: its sub, else its iss (RFC 7523 3), "" when
// the assertion cannot be read. The server tells it to the
// ClientAuthHandler before the assertion is verified.
func (a *ClientAssertionAuthenticator) ClaimedClientID(_ *http.Request, p Params) string {
	var seg []byte
	if f, ok := p.(*form); ok {
		v, _ := f.lookup("client_assertion")
		seg = v
	} else {
		seg = []byte(p.Get("client_assertion"))
	}
	if len(seg) > maxAssertionBytes {
		return ""
	}
	// A JWS in the compact serialization has exactly three segments
	// (RFC 7515 7.1); anything else names no client.
	if bytes.Count(seg, []byte{'.'}) != 2 {
		return ""
	}
	parts := bytes.SplitN(seg, []byte{'.'}, 3)
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(parts[1])))
	n, err := base64.RawURLEncoding.Decode(raw, parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
	}
	if json.Unmarshal(raw[:n], &c) != nil {
		return ""
	}
	if c.Sub != "" {
		return c.Sub
	}
	return c.Iss
}

// audiences returns the values aud may hold: the issuer and the token
// endpoint URL (RFC 7523 3 item 3); none without Config.Issuer.
func (a *ClientAssertionAuthenticator) audiences() []string {
	cfg := a.srv.Config
	if cfg.Issuer == "" {
		return nil
	}
	token := cfg.Endpoints.Token
	if token == "" {
		token = strings.TrimSuffix(cfg.Issuer, "/") + PathToken
	}
	return []string{cfg.Issuer, token}
}

// validAssertionClaims checks aud, exp, nbf, iat and jti (RFC 7523 3).
// Every audience must be one of aud: an assertion that names this server
// among others could be replayed to it by any of them
// (draft-ietf-oauth-rfc7523bis, audience injection).
func validAssertionClaims(c *jwt.RegisteredClaims, aud []string, now time.Time) bool {
	if len(c.Audience) == 0 || slices.ContainsFunc(c.Audience, func(v string) bool { return !slices.Contains(aud, v) }) {
		return false
	}
	if c.ExpiresAt == nil || !now.Before(c.ExpiresAt.Add(ClientAssertionLeeway)) ||
		c.ExpiresAt.After(now.Add(ClientAssertionMaxLifetime+ClientAssertionLeeway)) {
		return false
	}
	if c.NotBefore != nil && c.NotBefore.After(now.Add(ClientAssertionLeeway)) {
		return false
	}
	if c.IssuedAt != nil && c.IssuedAt.After(now.Add(ClientAssertionLeeway)) {
		return false
	}
	return c.ID != "" && len(c.ID) <= maxJTIBytes
}

// hmacKey returns the client secret as the HMAC key of alg, refusing a
// client without a secret in the clear or with one shorter than the hash
// output (RFC 7518 3.2).
func hmacKey(c oauth2.ClientInfo, alg string) (any, error) {
	secret := c.GetSecret()
	if n, ok := minHMACKey[alg]; !ok || len(secret) < n {
		return nil, errAssertionUnusable
	}
	return []byte(secret), nil
}

// publicKeys returns the keys of the client's JWK set raw (Server.clientJWKS)
// that can verify alg: public (or the public half of a private key), of the
// type and size alg needs, with no "use" other than "sig", no other "alg",
// and kid when the assertion names one. Symmetric keys are never returned.
func publicKeys(raw []byte, alg, kid string) (any, error) {
	if len(raw) == 0 {
		return nil, errAssertionUnusable
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, errAssertionUnusable
	}
	var keys []jwt.VerificationKey
	for i, rk := range set.Keys {
		if i == maxJWKSKeys {
			break
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(rk); err != nil {
			continue // a key this library cannot read verifies nothing
		}
		if (kid != "" && k.KeyID != kid) || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != alg) {
			continue
		}
		pub := k.Public()
		switch key := pub.Key.(type) {
		case *rsa.PublicKey:
			if (alg == "RS256" || alg == "PS256") && key.N.BitLen() >= minRSABits {
				keys = append(keys, key)
			}
		case *ecdsa.PublicKey:
			if alg == "ES256" && key.Curve == elliptic.P256() {
				keys = append(keys, key)
			}
		case ed25519.PublicKey:
			if alg == "EdDSA" {
				keys = append(keys, key)
			}
		}
	}
	if len(keys) == 0 {
		return nil, errAssertionUnusable
	}
	return jwt.VerificationKeySet{Keys: keys}, nil
}
