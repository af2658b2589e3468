package generates

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	oauth2errors "github.com/oauth2d/oauth2/errors"
)

// jtiBytes is the entropy of the jti claim: 128 bits, so that two tokens
// never share an identifier (RFC 7519 4.1.7).
const jtiBytes = 16

// JWTAccessClaims are the claims of a JWT access token (RFC 9068 2.2). The
// registered claims are iss, sub, aud, exp, iat and jti; ClientID and Scope
// are the RFC 8693 4.3 and 4.2 claims RFC 9068 2.2 and 2.2.3 use.
//
// Parse a token with jwt.ParseWithClaims(access, &JWTAccessClaims{}, keyFunc).
// jwt/v5 then checks exp and nbf (and iat with jwt.WithIssuedAt), and calls
// Validate, which requires every claim RFC 9068 2.2 makes mandatory except
// iss (the seed's tokens had none). A resource server must also check the
// typ header (RFC 9068 4); KeySet.Keyfunc does.
type JWTAccessClaims struct {
	jwt.RegisteredClaims
	// ClientID is the client the token was issued to (RFC 9068 2.2).
	ClientID string `json:"client_id"`
	// Scope is the granted scope, space-separated (RFC 9068 2.2.3).
	Scope string `json:"scope,omitempty"`
	// AuthTime is when the resource owner last authenticated, when known
	// (RFC 9068 2.2.1).
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	// Confirmation is the cnf claim (RFC 7800 3.1) of a token bound to a
	// DPoP key: its jkt (RFC 9449 6.1). A resource server must then accept
	// the token only with a proof of that key.
	Confirmation *Confirmation `json:"cnf,omitempty"`
	// Actor is the act claim (RFC 8693 4.1) of a token issued by a token
	// exchange for a delegation: a JSON object naming the actor.
	Actor json.RawMessage `json:"act,omitempty"`
}

// Confirmation is the cnf claim of a JWT (RFC 7800 3.1).
type Confirmation struct {
	// JKT is the JWK SHA-256 thumbprint of a DPoP key (RFC 9449 6.1).
	JKT string `json:"jkt,omitempty"`
}

var _ jwt.ClaimsValidator = (*JWTAccessClaims)(nil)

// Validate reports a missing claim that RFC 9068 2.2 requires: exp, iat,
// sub, aud, jti or client_id. jwt/v5 calls it while parsing, after its own
// time checks; the error wraps jwt.ErrTokenRequiredClaimMissing.
func (c *JWTAccessClaims) Validate() error {
	var missing []string
	if c.ExpiresAt == nil {
		missing = append(missing, "exp")
	}
	if c.IssuedAt == nil {
		missing = append(missing, "iat")
	}
	if c.Subject == "" {
		missing = append(missing, "sub")
	}
	if len(c.Audience) == 0 {
		missing = append(missing, "aud")
	}
	if c.ID == "" {
		missing = append(missing, "jti")
	}
	if c.ClientID == "" {
		missing = append(missing, "client_id")
	}
	if missing != nil {
		return fmt.Errorf("%w: %s (RFC 9068 2.2)", jwt.ErrTokenRequiredClaimMissing, strings.Join(missing, ", "))
	}
	return nil
}

// Valid checks the claims on their own, as the seed's Valid method did: the
// token must not have expired (RFC 7519 4.1.4) and must carry the claims
// Validate requires. The error matches errors.ErrExpiredAccessToken for an
// expired token and errors.ErrInvalidAccessToken otherwise (both
// invalid_token, RFC 6750 3.1), and also wraps the jwt/v5 error. It checks
// no signature: use it only on claims that jwt.ParseWithClaims returned.
func (c *JWTAccessClaims) Valid() error {
	err := jwt.NewValidator(jwt.WithExpirationRequired()).Validate(c)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: %w", oauth2errors.ErrExpiredAccessToken, err)
	default:
		return fmt.Errorf("%w: %w", oauth2errors.ErrInvalidAccessToken, err)
	}
}

// AuthTimeInfo is implemented by a TokenInfo that records when the resource
// owner authenticated; JWTAccessGenerate then adds the auth_time claim
// (RFC 9068 2.2.1). A zero time means unknown.
type AuthTimeInfo interface {
	GetAuthTime() time.Time
}

// JWTOption configures a JWTAccessGenerate.
type JWTOption func(*jwtOptions)

type jwtOptions struct {
	kid       string
	issuer    string
	audience  []string
	extClaims []string
}

// WithKeyID sets the kid header (RFC 7515 4.1.4). Without it the key ID is
// derived from the key: the RFC 7638 thumbprint of a public key, or a short
// hash of an HMAC secret that does not reveal it. Generators built from a
// KeySet use the key set's IDs and ignore this option.
func WithKeyID(kid string) JWTOption { return func(o *jwtOptions) { o.kid = kid } }

// WithIssuer sets the iss claim, the authorization server's issuer
// identifier (RFC 9068 2.2, RFC 8414 2). RFC 9068 requires it; it is an
// option only because the seed's tokens had none.
func WithIssuer(iss string) JWTOption { return func(o *jwtOptions) { o.issuer = iss } }

// WithAudience sets the aud claim to the resource servers the tokens are
// for (RFC 9068 2.2, RFC 7519 4.1.3). Without it aud is the client ID, as in
// go-oauth2 v4.
func WithAudience(aud ...string) JWTOption {
	return func(o *jwtOptions) { o.audience = append([]string(nil), aud...) }
}

// JWTAccessGenerate makes JWT access tokens in the profile of RFC 9068,
// signed with one key or with the current key of a KeySet, and opaque
// refresh tokens. It is safe for concurrent use.
type JWTAccessGenerate struct {
	key  *signingKey // nil when keys is set
	keys *KeySet
	err  error // a construction error, returned by every Token call

	iss []byte // `"iss":"…",`, or nil
	aud []byte // the JSON value of aud, or nil for the client ID
	ext []extClaim
}

var _ oauth2.AccessGenerate = (*JWTAccessGenerate)(nil)

func newJWTAccessGenerate(opts []JWTOption) (*JWTAccessGenerate, jwtOptions) {
	var o jwtOptions
	for _, opt := range opts {
		opt(&o)
	}
	g := &JWTAccessGenerate{}
	if o.issuer != "" {
		g.iss = append(appendJSONString([]byte(`"iss":`), o.issuer), ',')
	}
	switch len(o.audience) {
	case 0:
	case 1:
		g.aud = appendJSONString(nil, o.audience[0])
	default:
		g.aud = append(g.aud, '[')
		for i, a := range o.audience {
			if i > 0 {
				g.aud = append(g.aud, ',')
			}
			g.aud = appendJSONString(g.aud, a)
		}
		g.aud = append(g.aud, ']')
	}
	g.ext, g.err = extensionClaims(o.extClaims)
	return g, o
}

// NewJWTAccessGenerate returns a JWT access token generator with the seed's
// signature: key is the raw secret for the HMAC methods and a PEM private
// key for the others (see ParseSigningKey). The key is parsed here, once.
// A key that does not parse or does not fit method yields a generator
// whose Token returns that error (see Err); it never panics. For the seed's
// sake, HMAC secrets shorter than RFC 7518 3.2 asks are accepted here; use
// NewJWTAccessGenerateFromKey to have them refused.
func NewJWTAccessGenerate(key []byte, method jwt.SigningMethod, opts ...JWTOption) *JWTAccessGenerate {
	g, o := newJWTAccessGenerate(opts)
	parsed, err := ParseSigningKey(key, method)
	if g.err != nil {
		return g
	}
	if err == nil {
		g.key, err = newSigningKey(o.kid, method, parsed, false)
	}
	if err != nil {
		g.err = fmt.Errorf("generates: JWT access token key: %w", err)
	}
	return g
}

// NewJWTAccessGenerateFromKey returns a JWT access token generator for an
// already parsed key: a []byte secret for the HMAC methods, of at least the
// hash size (RFC 7518 3.2), or a crypto.Signer for the others (an
// *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey, or any signer,
// such as a KMS key, whose Public key is of that kind).
func NewJWTAccessGenerateFromKey(key any, method jwt.SigningMethod, opts ...JWTOption) (*JWTAccessGenerate, error) {
	g, o := newJWTAccessGenerate(opts)
	if g.err != nil {
		return nil, g.err
	}
	k, err := newSigningKey(o.kid, method, key, true)
	if err != nil {
		return nil, err
	}
	g.key = k
	return g, nil
}

// NewJWTAccessGenerateFromKeySet returns a JWT access token generator that
// signs each token with the key set's current key, so that keys can be
// rotated while it runs (RFC 7517 5). WithKeyID is ignored.
func NewJWTAccessGenerateFromKeySet(ks *KeySet, opts ...JWTOption) *JWTAccessGenerate {
	g, _ := newJWTAccessGenerate(opts)
	if ks == nil && g.err == nil {
		g.err = fmt.Errorf("generates: JWT access token key: %w", ErrNoSigningKey)
	}
	g.keys = ks
	return g
}

// Err returns the error that keeps the generator from signing, such as a
// key that did not parse, or nil.
func (g *JWTAccessGenerate) Err() error { return g.err }

// errIncomplete: the manager called Token without the client or the token
// record.
var errIncomplete = errors.New("generates: GenerateBasic needs a Client and a TokenInfo")

// errNoLifetime: RFC 9068 2.2 requires exp, so an access token that never
// expires cannot be a JWT.
var errNoLifetime = errors.New("generates: a JWT access token needs a positive lifetime (RFC 9068 2.2 exp)")

// tokenBuf holds the scratch space of one Token call.
type tokenBuf struct {
	claims, token, sig []byte
}

var tokenBufs = sync.Pool{New: func() any {
	return &tokenBuf{claims: make([]byte, 0, 512), token: make([]byte, 0, 1024), sig: make([]byte, 0, 512)}
}}

// maxPooledBuf keeps one odd, huge token from pinning its buffers.
const maxPooledBuf = 16 << 10

// Token returns a signed JWT access token (RFC 9068 2) and, when
// isGenRefresh, an opaque refresh token of 256 random bits: refresh tokens
// are only ever read by this server, so they are never JWTs. The claims are:
//   - iss: the WithIssuer value;
//   - sub: data.UserID, or the client ID when no resource owner is involved
//     (RFC 9068 2.2);
//   - aud: the WithAudience values, or the client ID;
//   - exp: the access token's creation time plus its lifetime;
//   - iat: data.CreateAt (RFC 7519 4.1.6);
//   - jti: 128 random bits;
//   - client_id, scope (omitted when empty) and auth_time when the
//     TokenInfo implements AuthTimeInfo.
func (g *JWTAccessGenerate) Token(_ context.Context, data *oauth2.GenerateBasic, isGenRefresh bool) (access, refresh string, err error) {
	if g.err != nil {
		return "", "", g.err
	}
	k := g.key
	if g.keys != nil {
		k = g.keys.currentKey()
	}
	if k == nil {
		return "", "", ErrNoSigningKey
	}
	if data == nil || data.Client == nil || data.TokenInfo == nil {
		return "", "", errIncomplete
	}
	ti := data.TokenInfo
	lifetime := ti.GetAccessExpiresIn()
	if lifetime <= 0 {
		return "", "", errNoLifetime
	}
	iat := data.CreateAt
	if iat.IsZero() {
		iat = ti.GetAccessCreateAt()
	}
	if iat.IsZero() {
		iat = time.Now()
	}
	start := ti.GetAccessCreateAt()
	if start.IsZero() {
		start = iat
	}
	clientID := data.Client.GetID()
	sub := data.UserID
	if sub == "" {
		sub = ti.GetUserID()
	}
	if sub == "" {
		sub = clientID
	}

	// One read for the jti and the refresh token.
	var rnd [jtiBytes + opaqueBytes]byte
	n := jtiBytes
	if isGenRefresh {
		n += opaqueBytes
	}
	_, _ = rand.Read(rnd[:n]) // crypto/rand.Read never fails (it crashes the program instead).

	v := claimValues{
		sub:      sub,
		clientID: clientID,
		scope:    ti.GetScope(),
		exp:      start.Add(lifetime).Unix(),
		iat:      iat.Unix(),
		jti:      rnd[:jtiBytes],
	}
	if ext := extensionOf(ti); len(ext) > 0 {
		if len(g.ext) > 0 {
			v.ext = ext
		}
		senderClaims(&v, ext) // aud, cnf, act of RFC 8707, 9449, 8693 (jwt_sender.go)
	}
	if at, ok := ti.(AuthTimeInfo); ok {
		if t := at.GetAuthTime(); !t.IsZero() {
			v.authTime = t.Unix()
		}
	}

	buf := tokenBufs.Get().(*tokenBuf)
	c := g.appendClaims(buf.claims[:0], &v)

	// JWS Compact Serialization (RFC 7515 7.1).
	t := append(buf.token[:0], k.header...)
	t = b64.AppendEncode(t, c)
	sig, err := k.sign(buf.sig[:0], t)
	if err == nil {
		t = append(t, '.')
		t = b64.AppendEncode(t, sig)
		access = string(t)
		buf.sig = sig
	}
	buf.claims, buf.token = c, t
	if cap(buf.claims) <= maxPooledBuf && cap(buf.token) <= maxPooledBuf && cap(buf.sig) <= maxPooledBuf {
		tokenBufs.Put(buf)
	}
	if err != nil {
		return "", "", err
	}

	if isGenRefresh {
		var out [opaqueLen]byte
		b64.Encode(out[:], rnd[jtiBytes:])
		refresh = string(out[:])
	}
	return access, refresh, nil
}

// claimValues are the per-token claim values.
type claimValues struct {
	sub, clientID, scope string
	exp, iat             int64
	authTime             int64 // 0: unknown
	jti                  []byte
	ext                  url.Values // extension data, for WithExtensionClaims
	aud                  []string   // the token's resources, replacing the default aud
	jkt                  string     // the DPoP key thumbprint of cnf
	x5t                  string     // the certificate thumbprint of cnf (x5t#S256)
	act                  string     // the act claim, a JSON object
}

// appendClaims appends the JWT Claims Set (RFC 7519 4, RFC 9068 2.2) to c
// as compact JSON. Building it by hand instead of with encoding/json keeps
// the claims in a reused buffer: no reflection and no allocation per token.
func (g *JWTAccessGenerate) appendClaims(c []byte, v *claimValues) []byte {
	c = append(c, '{')
	c = append(c, g.iss...)
	c = append(c, `"sub":`...)
	c = appendJSONString(c, v.sub)
	c = append(c, `,"aud":`...)
	switch {
	case len(v.aud) > 0:
		c = appendAudience(c, v.aud)
	case g.aud != nil:
		c = append(c, g.aud...)
	default:
		c = appendJSONString(c, v.clientID)
	}
	c = append(c, `,"exp":`...)
	c = appendNumericDate(c, v.exp)
	c = append(c, `,"iat":`...)
	c = appendNumericDate(c, v.iat)
	c = append(c, `,"jti":"`...)
	c = b64.AppendEncode(c, v.jti)
	c = append(c, `","client_id":`...)
	c = appendJSONString(c, v.clientID)
	if v.scope != "" {
		c = append(c, `,"scope":`...)
		c = appendJSONString(c, v.scope)
	}
	if v.authTime != 0 {
		c = append(c, `,"auth_time":`...)
		c = appendNumericDate(c, v.authTime)
	}
	c = appendSenderClaims(c, v)
	c = appendExtensionClaims(c, g.ext, v.ext)
	return append(c, '}')
}
