package dpop

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// Names of RFC 9449.
const (
	// HeaderName is the request header that carries a proof (RFC 9449
	// 4.1).
	HeaderName = "DPoP"
	// NonceHeader is the response header of a server-provided nonce (RFC
	// 9449 8).
	NonceHeader = "DPoP-Nonce"
	// TokenType is the token_type of a DPoP-bound access token and the
	// scheme of the Authorization header that presents it (RFC 9449 5,
	// 7.1).
	TokenType = "DPoP"
	// JWTType is the typ header of a proof (RFC 9449 4.2).
	JWTType = "dpop+jwt"
)

// Defaults of Options.
const (
	// DefaultMaxAge is how old a proof's iat may be: a proof is made for
	// one request, sent at once.
	DefaultMaxAge = time.Minute
	// DefaultLeeway is how far in the future a proof's iat may be, for the
	// client's clock running ahead.
	DefaultLeeway = 5 * time.Second
	// DefaultCacheSize bounds the cache of parsed proof headers.
	DefaultCacheSize = 4096
)

// Limits of what a proof may hold.
const (
	// MaxProofLength bounds a proof: a JWT with one public key in its
	// header (an RSA 4096 key is under 1 KiB encoded).
	MaxProofLength = 8 << 10
	maxJTILength   = 256
	minRSABits     = 2048
	maxRSABits     = 4096
	kvJTIPrefix    = "oauth2/dpop/jti/"
)

// DefaultAlgorithms are the JWS algorithms a Verifier accepts unless
// Options.Algorithms says otherwise: asymmetric ones only (RFC 9449 4.3),
// never "none" nor an HMAC, which a public key cannot verify.
var DefaultAlgorithms = []string{"ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA"}

// Errors of proof verification. Each wraps errors.ErrInvalidDPoPProof
// (invalid_dpop_proof, RFC 9449 5 and 7.1) with a description that never
// repeats the proof; a NonceError wraps errors.ErrUseDPoPNonce.
var (
	ErrMissing         = describe("The request has no DPoP proof")
	ErrMultiple        = describe("The request has more than one DPoP header (RFC 9449 4.3)")
	ErrMalformed       = describe("The DPoP proof is not a well-formed signed JWT")
	ErrType            = describe("The DPoP proof's typ is not dpop+jwt")
	ErrAlgorithm       = describe("The DPoP proof's algorithm is not supported; asymmetric algorithms only")
	ErrKey             = describe("The DPoP proof's jwk is missing, is not a public key, or does not fit its algorithm")
	ErrSignature       = describe("The DPoP proof's signature does not verify with its jwk")
	ErrClaims          = describe("The DPoP proof lacks a required claim or has a malformed one")
	ErrMethod          = describe("The DPoP proof's htm does not match the request method")
	ErrURI             = describe("The DPoP proof's htu does not match the request URI")
	ErrIssuedAt        = describe("The DPoP proof's iat is outside the accepted window")
	ErrAccessTokenHash = describe("The DPoP proof's ath does not match the access token")
	ErrReplay          = describe("The DPoP proof was used before")
)

func describe(d string) error { return errors.WithDescription(errors.ErrInvalidDPoPProof, d) }

// errUseNonce is the description of every NonceError.
var errUseNonce = errors.WithDescription(errors.ErrUseDPoPNonce, "The DPoP proof must carry the nonce of the DPoP-Nonce header")

// NonceError refuses a proof without the nonce the server requires, or with
// one the server no longer accepts (RFC 9449 8, 9): the answer must carry
// Nonce in the DPoP-Nonce header, so that the client can retry. It matches
// errors.ErrUseDPoPNonce with errors.Is.
type NonceError struct {
	// Nonce is the nonce the client must use.
	Nonce string
}

func (e *NonceError) Error() string { return errUseNonce.Error() }

// Unwrap returns the use_dpop_nonce error.
func (e *NonceError) Unwrap() error { return errUseNonce }

// Options configure a Verifier.
type Options struct {
	// Algorithms are the accepted JWS algorithms (RFC 7518 3.1), a subset
	// of DefaultAlgorithms, which is the default. "none" and the HMAC
	// algorithms are never accepted.
	Algorithms []string
	// MaxAge is how old a proof's iat may be; DefaultMaxAge when not
	// positive.
	MaxAge time.Duration
	// Leeway is how far in the future a proof's iat may be;
	// DefaultLeeway when not positive.
	Leeway time.Duration
	// Replay remembers the jti of accepted proofs for MaxAge + Leeway, the
	// window in which their iat is accepted (RFC 9449 11.1). It is
	// required: share it between every process that verifies proofs for
	// the same URIs.
	Replay oauth2.KVStore
	// Nonces, when set, makes every proof carry a nonce it issued (RFC
	// 9449 8, 9).
	Nonces *Nonces
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// CacheSize bounds the cache of parsed proof headers;
	// DefaultCacheSize when not positive.
	CacheSize int
}

// Verifier checks DPoP proofs. It is safe for concurrent use.
type Verifier struct {
	algs   []string
	maxAge time.Duration
	leeway time.Duration
	replay oauth2.KVStore
	nonces *Nonces
	now    func() time.Time
	cache  *headerCache
}

// errConfig: a Verifier needs a KVStore and only asymmetric algorithms.
var (
	errNoReplay  = stderrors.New("dpop: Options.Replay is required: proofs must never be accepted twice (RFC 9449 11.1)")
	errBadAlgCfg = stderrors.New("dpop: Options.Algorithms may hold only asymmetric algorithms of DefaultAlgorithms")
)

// NewVerifier returns a Verifier with opts.
func NewVerifier(opts Options) (*Verifier, error) {
	if opts.Replay == nil {
		return nil, errNoReplay
	}
	algs := opts.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	for _, a := range algs {
		if methodOf(a) == nil {
			return nil, fmt.Errorf("%w: %q", errBadAlgCfg, a)
		}
	}
	v := &Verifier{
		algs:   append([]string(nil), algs...),
		maxAge: opts.MaxAge,
		leeway: opts.Leeway,
		replay: opts.Replay,
		nonces: opts.Nonces,
		now:    opts.Now,
	}
	if v.maxAge <= 0 {
		v.maxAge = DefaultMaxAge
	}
	if v.leeway <= 0 {
		v.leeway = DefaultLeeway
	}
	if v.now == nil {
		v.now = time.Now
	}
	size := opts.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	v.cache = newHeaderCache(size)
	return v, nil
}

// Algorithms returns the accepted JWS algorithms, as the metadata lists
// them in dpop_signing_alg_values_supported (RFC 9449 5.1).
func (v *Verifier) Algorithms() []string { return append([]string(nil), v.algs...) }

// Nonces returns the nonces of Options.Nonces, nil when none.
func (v *Verifier) Nonces() *Nonces { return v.nonces }

// Request is what a proof must match: the request it came with.
type Request struct {
	// Method is the request's method, compared with htm.
	Method string
	// URL is the request's target URI (RFC 9110 7.1) as the client sent
	// it: absolute, without query or fragment (any is ignored). It is
	// compared with htu after the normalisations of RFC 3986 6.2.2 and
	// 6.2.3.
	URL string
	// AccessToken is the access token the request presents to a protected
	// resource, whose hash the proof's ath must be (RFC 9449 4.2, 7.1); ""
	// at the token endpoint.
	AccessToken string
}

// Proof is a verified proof.
type Proof struct {
	// Thumbprint is the JWK SHA-256 thumbprint (RFC 7638) of the proof's
	// key, base64url: the jkt a token is bound to (RFC 9449 6).
	Thumbprint string
	// Algorithm is the proof's JWS algorithm.
	Algorithm string
	// ID is the proof's jti.
	ID string
	// IssuedAt is the proof's iat.
	IssuedAt time.Time
	// NextNonce, when not "", is a fresh server nonce the response should
	// carry in the DPoP-Nonce header: the proof's nonce is about to expire
	// (RFC 9449 8.2).
	NextNonce string
}

// canonicalHeader is HeaderName as http.Header keys it.
var canonicalHeader = http.CanonicalHeaderKey(HeaderName)

// HasProof reports whether the headers h carry a DPoP header, well formed
// or not.
func HasProof(h http.Header) bool { return len(h[canonicalHeader]) > 0 }

// FromHeader returns the proof of a request's headers: "" when there is
// none, ErrMultiple when there is more than one DPoP header (RFC 9449 4.3).
func FromHeader(h http.Header) (string, error) {
	vs := h[canonicalHeader]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return strings.TrimSpace(vs[0]), nil
	}
	return "", ErrMultiple
}

// VerifyRequest verifies the proof of r (FromHeader) for the target URI
// url, and, for a request to a protected resource, the access token it
// presents (Request). A request without a proof is ErrMissing.
func (v *Verifier) VerifyRequest(ctx context.Context, r *http.Request, url, accessToken string) (*Proof, error) {
	proof, err := FromHeader(r.Header)
	if err != nil {
		return nil, err
	}
	if proof == "" {
		return nil, ErrMissing
	}
	return v.Verify(ctx, proof, Request{Method: r.Method, URL: url, AccessToken: accessToken})
}

// claims are the claims of a proof (RFC 9449 4.2). iat is read as a
// number, of which a fraction is allowed (RFC 7519 2 NumericDate).
type claims struct {
	JTI   string          `json:"jti"`
	HTM   string          `json:"htm"`
	HTU   string          `json:"htu"`
	IAT   json.RawMessage `json:"iat"`
	ATH   *string         `json:"ath"`
	Nonce *string         `json:"nonce"`
}

// Verify checks proof against req by every rule of RFC 9449 4.3, then
// remembers its jti: a well-formed JWS (compact serialisation) whose
// header has typ dpop+jwt, an accepted asymmetric alg and a jwk that is a
// public key fitting alg; whose signature verifies with that key; whose
// claims have jti, htm equal to req.Method, htu equal to req.URL once both
// are normalised (RFC 3986 6.2.2, 6.2.3; an htu with a query or a fragment
// is refused, RFC 9449 4.2 defines it without them), iat no older than
// MaxAge nor later than Leeway, ath the hash of req.AccessToken when there
// is one, and the server's nonce when Options.Nonces is set; and whose jti
// was never accepted before with the same key. The errors are those of this
// package; a store failure is returned wrapped, and is no fault of the
// proof.
func (v *Verifier) Verify(ctx context.Context, proof string, req Request) (*Proof, error) {
	if proof == "" {
		return nil, ErrMissing
	}
	if len(proof) > MaxProofLength {
		return nil, ErrMalformed
	}
	d1 := strings.IndexByte(proof, '.')
	if d1 <= 0 {
		return nil, ErrMalformed
	}
	d2 := strings.IndexByte(proof[d1+1:], '.')
	if d2 <= 0 {
		return nil, ErrMalformed
	}
	d2 += d1 + 1
	if strings.IndexByte(proof[d2+1:], '.') >= 0 {
		return nil, ErrMalformed
	}
	h, err := v.header(proof[:d1])
	if err != nil {
		return nil, err
	}
	if d2 == len(proof)-1 {
		return nil, ErrMalformed
	}

	var sigBuf [512]byte
	sig, ok := decodeB64(sigBuf[:0], proof[d2+1:])
	if !ok {
		return nil, ErrMalformed
	}
	if err := h.method.Verify(proof[:d2], sig, h.key); err != nil {
		return nil, ErrSignature
	}

	var payBuf [512]byte
	payload, ok := decodeB64(payBuf[:0], proof[d1+1:d2])
	if !ok {
		return nil, ErrMalformed
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, ErrClaims
	}
	if c.JTI == "" || len(c.JTI) > maxJTILength || c.HTM == "" || c.HTU == "" || len(c.IAT) == 0 {
		return nil, ErrClaims
	}
	iat, ok := numericDate(c.IAT)
	if !ok {
		return nil, ErrClaims
	}
	if c.HTM != req.Method {
		return nil, ErrMethod
	}
	if !sameURI(c.HTU, req.URL) {
		return nil, ErrURI
	}
	now := v.now()
	if iat.Before(now.Add(-v.maxAge)) || iat.After(now.Add(v.leeway)) {
		return nil, ErrIssuedAt
	}
	if req.AccessToken != "" {
		if c.ATH == nil {
			return nil, ErrClaims
		}
		want := AccessTokenHash(req.AccessToken)
		if subtle.ConstantTimeCompare([]byte(*c.ATH), []byte(want)) != 1 {
			return nil, ErrAccessTokenHash
		}
	}
	p := &Proof{Thumbprint: h.jkt, Algorithm: h.alg, ID: c.JTI, IssuedAt: iat}
	if v.nonces != nil {
		if c.Nonce == nil {
			return nil, &NonceError{Nonce: v.nonces.Current()}
		}
		switch v.nonces.check(*c.Nonce) {
		case nonceCurrent:
		case nonceStale:
			p.NextNonce = v.nonces.Current()
		default:
			return nil, &NonceError{Nonce: v.nonces.Current()}
		}
	}
	fresh, err := v.replay.PutIfAbsent(ctx, jtiKey(h.jkt, c.JTI), []byte{1}, v.maxAge+v.leeway)
	if err != nil {
		return nil, fmt.Errorf("dpop: remember proof: %w", err)
	}
	if !fresh {
		return nil, ErrReplay
	}
	return p, nil
}

// numericDate reads a JSON number as a NumericDate (RFC 7519 2).
func numericDate(raw json.RawMessage) (time.Time, bool) {
	var f float64
	if raw[0] == '"' || json.Unmarshal(raw, &f) != nil || math.IsNaN(f) || math.IsInf(f, 0) ||
		f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// jtiKey is the KVStore key of a proof's jti: a hash of the key's
// thumbprint and the jti, so that one client cannot use up the jti values
// of another, and no value of the client's reaches the store in the clear.
func jtiKey(jkt, jti string) string {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var sum [sha256.Size]byte
	var out [len(kvJTIPrefix) + 43]byte
	copy(out[:], kvJTIPrefix)
	base64.RawURLEncoding.Encode(out[len(kvJTIPrefix):], h.Sum(sum[:0]))
	return string(out[:])
}

// AccessTokenHash returns the ath of a proof that presents accessToken:
// the base64url SHA-256 of its ASCII bytes (RFC 9449 4.2).
func AccessTokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Thumbprint returns the JWK SHA-256 thumbprint (RFC 7638) of a public key
// (*ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey), base64url, as
// go-jose computes it; "" for a key go-jose cannot encode.
func Thumbprint(pub crypto.PublicKey) string {
	k := jose.JSONWebKey{Key: pub}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// ValidThumbprint reports whether s can be a JWK SHA-256 thumbprint as a
// dpop_jkt or cnf.jkt carries it (RFC 9449 10, RFC 7638 3): 43 base64url
// characters, the encoding of 32 bytes.
func ValidThumbprint(s string) bool {
	if len(s) != 43 {
		return false
	}
	var b [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s))
	return err == nil && n == 32
}

// decodeB64 decodes the unpadded base64url s (RFC 7515 2) into dst.
func decodeB64(dst []byte, s string) ([]byte, bool) {
	n := base64.RawURLEncoding.DecodedLen(len(s))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	n, err := base64.RawURLEncoding.Strict().Decode(dst, []byte(s))
	if err != nil {
		return nil, false
	}
	return dst[:n], true
}
