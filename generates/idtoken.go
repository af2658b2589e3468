package generates

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/oidc"
)

// DefaultIDTokenLifetime is how long an ID token is valid unless
// WithIDTokenLifetime says otherwise. An ID token is read once, by the
// client, when it arrives (OpenID Connect Core 1.0 3.1.3.7); it needs no
// longer life than the access token that comes with it.
const DefaultIDTokenLifetime = time.Hour

// idTokenType is the typ header of ID tokens: plain "JWT", so that no
// resource server that requires at+jwt (RFC 9068 4, KeySet.Keyfunc) ever
// takes an ID token for an access token (RFC 8725 3.11).
const idTokenType = "JWT"

// IDTokenGenerate makes OpenID Connect ID tokens (OpenID Connect Core 1.0
// 2). The server calls it when a grant with the openid scope issues tokens:
// at the token endpoint for the authorization code and refresh token
// grants, and at the authorization endpoint for response types with
// id_token. A manager maps one as it maps an AccessGenerate.
type IDTokenGenerate interface {
	// IDToken returns a signed ID token for req.
	IDToken(ctx context.Context, req *IDTokenRequest) (string, error)
}

// IDTokenRequest is what an IDTokenGenerate gets to make one ID token.
type IDTokenRequest struct {
	// Client is the client the ID token is for: its ID is the aud (and
	// azp), its registration may choose the signing algorithm
	// (oidc.IDTokenAlgClient) and the subject type (oidc.SubjectClient).
	Client oauth2.ClientInfo
	// TokenInfo is the grant's record: the code at the authorization
	// endpoint, the issued tokens at the token endpoint. The End-User is
	// its user ID, the claims are chosen from its scope, and its extension
	// data (oidc.GrantInfoOf) gives nonce, auth_time, acr, amr, sid and the
	// claims request parameter.
	TokenInfo oauth2.TokenInfo
	// UserClaims are the End-User's claims, of which the ID token carries
	// those the grant asked for in it (oidc.IDTokenClaims); nil for none.
	UserClaims *oidc.Claims
	// LoadUserClaims, when UserClaims is nil, is called for the End-User's
	// claims only when the ID token carries some, so that an ID token
	// without user claims costs no lookup. Its error fails IDToken.
	LoadUserClaims func(ctx context.Context, userID string) (*oidc.Claims, error)
	// AccessToken is the access token issued with the ID token, whose
	// at_hash it then carries (OpenID Connect Core 1.0 3.1.3.6,
	// 3.2.2.10); "" when none is. When neither an access token nor a code
	// is issued (response_type id_token) the claims of the scope values go
	// in the ID token (5.4).
	AccessToken string
	// Code is the authorization code issued with the ID token at the
	// authorization endpoint, whose c_hash it then carries (3.3.2.11); ""
	// at the token endpoint. The client will redeem it for an access token,
	// so the claims of the scope values stay at the UserInfo endpoint
	// (5.4).
	Code string
	// Refresh marks an ID token issued on refresh: it carries no nonce
	// (12.2); every other claim keeps the original authentication's
	// values.
	Refresh bool
	// IssuedAt is the iat; zero is now.
	IssuedAt time.Time
	// Audience are audiences beyond the client; the ID token then also
	// carries azp, the client ID (2).
	Audience []string
}

// IDTokenOption configures a JWTIDTokenGenerate.
type IDTokenOption func(*JWTIDTokenGenerate)

// WithIDTokenLifetime sets how long ID tokens are valid (exp - iat);
// DefaultIDTokenLifetime when not positive.
func WithIDTokenLifetime(d time.Duration) IDTokenOption {
	return func(g *JWTIDTokenGenerate) {
		if d > 0 {
			g.lifetime = d
		}
	}
}

// WithSubjects sets how sub is computed (OpenID Connect Core 1.0 8): with
// a pairwise secret, clients registered with subject_type pairwise get
// pairwise identifiers. The server's UserInfo endpoint must use the same
// Subjects. Without it every sub is the user ID.
func WithSubjects(s *oidc.Subjects) IDTokenOption {
	return func(g *JWTIDTokenGenerate) { g.subjects = s }
}

// WithScopeClaimsInIDToken puts the claims of the scope values profile,
// email, address and phone in every ID token, and not only when no access
// token is issued as OpenID Connect Core 1.0 5.4 does: for relying parties
// that read email or name from the ID token.
func WithScopeClaimsInIDToken() IDTokenOption {
	return func(g *JWTIDTokenGenerate) { g.scopeClaims = true }
}

// WithIDTokenClock sets the clock of iat when an IDTokenRequest has no
// IssuedAt; time.Now by default.
func WithIDTokenClock(now func() time.Time) IDTokenOption {
	return func(g *JWTIDTokenGenerate) {
		if now != nil {
			g.now = now
		}
	}
}

// JWTIDTokenGenerate signs ID tokens (OpenID Connect Core 1.0 2) with the
// keys of a KeySet, the set whose public keys the server publishes at its
// jwks_uri. Each client's ID tokens are signed with the algorithm its
// registration asks for (oidc.IDTokenAlgClient), by the current key when it
// has that algorithm and else by the newest key of the set that has it and
// is not retired: so an RS256 key kept beside a current ES256 key signs for
// the clients that ask for RS256, the algorithm Core 15.1 requires every
// provider to offer. A client that asks for nothing gets the current key.
// HMAC keys never sign ID tokens: the relying party could not verify them.
//
// Keys are parsed once, when added to the KeySet; the JOSE header of each
// key is encoded once and kept. It is safe for concurrent use.
type JWTIDTokenGenerate struct {
	keys        *KeySet
	issuer      string
	iss         []byte // `{"iss":"…"`
	lifetime    time.Duration
	subjects    *oidc.Subjects
	scopeClaims bool
	now         func() time.Time
	headers     atomic.Pointer[[]idHeader]
}

var _ IDTokenGenerate = (*JWTIDTokenGenerate)(nil)

// idHeader is the encoded JOSE header of ID tokens signed by key.
type idHeader struct {
	key *signingKey
	hdr []byte
}

// maxIDHeaders bounds the header cache: a key set holds a few keys.
const maxIDHeaders = 16

// NewJWTIDTokenGenerate returns a generator of ID tokens for issuer, the
// server's issuer identifier (an https URL, OpenID Connect Core 1.0 2 iss;
// plain http is accepted for development servers), signed with the keys of
// ks.
func NewJWTIDTokenGenerate(ks *KeySet, issuer string, opts ...IDTokenOption) (*JWTIDTokenGenerate, error) {
	if ks == nil {
		return nil, fmt.Errorf("generates: ID tokens: %w", ErrNoSigningKey)
	}
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || strings.Contains(issuer, "#") {
		return nil, errors.New("generates: the ID token issuer must be an https URL without query or fragment (OpenID Connect Core 1.0 2)")
	}
	g := &JWTIDTokenGenerate{keys: ks, issuer: issuer, lifetime: DefaultIDTokenLifetime, now: time.Now}
	for _, opt := range opts {
		opt(g)
	}
	g.iss = appendJSONString([]byte(`{"iss":`), issuer)
	return g, nil
}

// Issuer returns the issuer identifier of the ID tokens.
func (g *JWTIDTokenGenerate) Issuer() string { return g.issuer }

// KeySet returns the key set that signs the ID tokens: the one the server
// must publish at its jwks_uri.
func (g *JWTIDTokenGenerate) KeySet() *KeySet { return g.keys }

// Subjects returns the Subjects of WithSubjects, nil when none.
func (g *JWTIDTokenGenerate) Subjects() *oidc.Subjects { return g.subjects }

// Algorithms returns the JWS algorithms ID tokens can be signed with now:
// that of the current key, then those of the keys kept beside it for the
// clients that ask for their algorithm (KeySet.Algorithms), HMAC excepted.
// A discovery document lists them as id_token_signing_alg_values_supported.
func (g *JWTIDTokenGenerate) Algorithms() []string {
	return slices.DeleteFunc(g.keys.Algorithms(), func(alg string) bool { return strings.HasPrefix(alg, "HS") })
}

// Errors of IDToken.
var (
	errIDTokenIncomplete = errors.New("generates: an IDTokenRequest needs a Client and a TokenInfo")
	errIDTokenNotOpenID  = errors.New("generates: no ID token for a grant without the openid scope (OpenID Connect Core 1.0 3.1.2.1)")
	errIDTokenHMAC       = fmt.Errorf("%w: ID tokens are never signed with an HMAC key of the server", ErrInvalidKey)
)

// signer returns the key that signs ID tokens of the JWS algorithm alg, or
// of the current key's algorithm when alg is "": the current key when it
// has that algorithm, else the newest key kept beside it that has (see
// SigningKey.NotBefore). It takes no lock.
func (g *JWTIDTokenGenerate) signer(alg string) (*signingKey, error) {
	st := g.keys.state()
	cur := st.current
	if cur == nil {
		return nil, ErrNoSigningKey
	}
	if alg == "" || alg == cur.method.Alg() {
		if cur.kind == kindHMAC {
			return nil, errIDTokenHMAC
		}
		return cur, nil
	}
	for _, k := range st.secondaries {
		if k.kind != kindHMAC && k.method.Alg() == alg {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: no key of the key set signs %q ID tokens", ErrUnsupportedAlgorithm, alg)
}

// header returns the encoded JOSE header of ID tokens signed by k:
// {"alg":…,"kid":…,"typ":"JWT"} in base64url, then '.'.
func (g *JWTIDTokenGenerate) header(k *signingKey) ([]byte, error) {
	cache := g.headers.Load()
	if cache != nil {
		for _, h := range *cache {
			if h.key == k {
				return h.hdr, nil
			}
		}
	}
	raw, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{k.method.Alg(), k.id, idTokenType})
	if err != nil {
		return nil, fmt.Errorf("generates: encode JOSE header: %w", err)
	}
	hdr := append(b64.AppendEncode(nil, raw), '.')
	// Copy on write; a lost race only drops one cached header.
	var next []idHeader
	if cache != nil {
		next = append(next, *cache...)
	}
	if len(next) >= maxIDHeaders {
		next = next[1:]
	}
	next = append(next, idHeader{key: k, hdr: hdr})
	g.headers.Store(&next)
	return hdr, nil
}

// tokenHash returns the at_hash or c_hash of value for ID tokens signed by
// k: the left half of its hash with the hash function of the signing
// algorithm, base64url-encoded (OpenID Connect Core 1.0 3.1.3.6,
// 3.3.2.11), SHA-512 for EdDSA with Ed25519 (as go-oidc and the OpenID
// Connect errata do), appended to dst.
func tokenHash(dst []byte, k *signingKey, value string) []byte {
	h := k.hash
	if k.kind == kindEd25519 {
		h = crypto.SHA512
	}
	var sum [sha512.Size]byte
	var d []byte
	switch h {
	case crypto.SHA384:
		s := sha512.Sum384([]byte(value))
		d = sum[:copy(sum[:], s[:])]
	case crypto.SHA512:
		s := sha512.Sum512([]byte(value))
		d = sum[:copy(sum[:], s[:])]
	default:
		s := sha256.Sum256([]byte(value))
		d = sum[:copy(sum[:], s[:])]
	}
	return b64.AppendEncode(dst, d[:len(d)/2])
}

// IDToken returns an ID token (OpenID Connect Core 1.0 2) for req, signed
// as JWTIDTokenGenerate describes, with the claims:
//   - iss: the issuer; sub: the End-User's subject identifier for the
//     client (WithSubjects);
//   - aud: the client ID, followed by req.Audience; azp, the client ID,
//     when there is more than one audience;
//   - exp and iat: req.IssuedAt (or now) and that plus the lifetime;
//   - auth_time, nonce (not on refresh, 12.2), acr, amr and sid from the
//     grant's extension data (oidc.GrantInfo), each when known;
//   - at_hash of req.AccessToken and c_hash of req.Code, when set;
//   - the End-User's claims that the grant asked for in the ID token: those
//     of the claims request's id_token member and, when neither an access
//     token nor a code is issued, or WithScopeClaimsInIDToken, of the scope
//     values (5.4, 5.5).
//
// The grant's scope must contain openid.
func (g *JWTIDTokenGenerate) IDToken(ctx context.Context, req *IDTokenRequest) (string, error) {
	if req == nil || req.Client == nil || req.TokenInfo == nil {
		return "", errIDTokenIncomplete
	}
	ti := req.TokenInfo
	scope := ti.GetScope()
	if !oidc.IsOpenID(scope) {
		return "", errIDTokenNotOpenID
	}
	grant, err := oidc.GrantInfoOf(ti)
	if err != nil {
		return "", err
	}
	alg := ""
	if ac, ok := req.Client.(oidc.IDTokenAlgClient); ok {
		alg = ac.GetIDTokenSignedResponseAlg()
	}
	k, err := g.signer(alg)
	if err != nil {
		return "", err
	}
	hdr, err := g.header(k)
	if err != nil {
		return "", err
	}
	clientID := req.Client.GetID()
	sub, err := g.subjects.Subject(req.Client, ti.GetUserID())
	if err != nil {
		return "", fmt.Errorf("generates: ID token sub: %w", err)
	}
	iat := req.IssuedAt
	if iat.IsZero() {
		iat = g.now()
	}
	set := oidc.IDTokenClaims(scope, grant.Claims, g.scopeClaims || (req.AccessToken == "" && req.Code == ""))
	userClaims := req.UserClaims
	if !set.Empty() && userClaims == nil && req.LoadUserClaims != nil {
		if userClaims, err = req.LoadUserClaims(ctx, ti.GetUserID()); err != nil {
			return "", fmt.Errorf("generates: ID token claims: %w", err)
		}
	}

	buf := tokenBufs.Get().(*tokenBuf)
	c := append(buf.claims[:0], g.iss...)
	c = append(c, `,"sub":`...)
	c = appendJSONString(c, sub)
	c = append(c, `,"aud":`...)
	if len(req.Audience) == 0 {
		c = appendJSONString(c, clientID)
	} else {
		c = append(c, '[')
		c = appendJSONString(c, clientID)
		for _, a := range req.Audience {
			c = append(c, ',')
			c = appendJSONString(c, a)
		}
		c = append(c, ']')
	}
	c = append(c, `,"exp":`...)
	c = appendNumericDate(c, iat.Add(g.lifetime).Unix())
	c = append(c, `,"iat":`...)
	c = appendNumericDate(c, iat.Unix())
	if !grant.AuthTime.IsZero() {
		c = append(c, `,"auth_time":`...)
		c = appendNumericDate(c, grant.AuthTime.Unix())
	}
	if grant.Nonce != "" && !req.Refresh {
		c = append(c, `,"nonce":`...)
		c = appendJSONString(c, grant.Nonce)
	}
	if grant.ACR != "" {
		c = append(c, `,"acr":`...)
		c = appendJSONString(c, grant.ACR)
	}
	if len(grant.AMR) > 0 {
		c = append(c, `,"amr":[`...)
		for i, m := range grant.AMR {
			if i > 0 {
				c = append(c, ',')
			}
			c = appendJSONString(c, m)
		}
		c = append(c, ']')
	}
	if len(req.Audience) > 0 {
		c = append(c, `,"azp":`...)
		c = appendJSONString(c, clientID)
	}
	if req.AccessToken != "" {
		c = append(c, `,"at_hash":"`...)
		c = append(tokenHash(c, k, req.AccessToken), '"')
	}
	if req.Code != "" {
		c = append(c, `,"c_hash":"`...)
		c = append(tokenHash(c, k, req.Code), '"')
	}
	if grant.SID != "" {
		c = append(c, `,"sid":`...)
		c = appendJSONString(c, grant.SID)
	}
	if !set.Empty() {
		c, err = userClaims.AppendClaims(c, set)
	}
	c = append(c, '}')

	var token string
	t := buf.token[:0]
	if err == nil {
		// JWS Compact Serialization (RFC 7515 7.1).
		t = append(t, hdr...)
		t = b64.AppendEncode(t, c)
		var sig []byte
		sig, err = k.sign(buf.sig[:0], t)
		if err == nil {
			t = append(t, '.')
			t = b64.AppendEncode(t, sig)
			token = string(t)
			buf.sig = sig
		}
	}
	buf.claims, buf.token = c, t
	if cap(buf.claims) <= maxPooledBuf && cap(buf.token) <= maxPooledBuf && cap(buf.sig) <= maxPooledBuf {
		tokenBufs.Put(buf)
	}
	if err != nil {
		return "", err
	}
	return token, nil
}

// idTokenClaims are the claims ParseIDTokenHint reads.
type idTokenClaims struct {
	jwt.RegisteredClaims
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	SID      string           `json:"sid,omitempty"`
}

// idTokenAlgs are the JWS algorithms an ID token of this package can have:
// the asymmetric ones.
var idTokenAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// hintParser parses ID tokens without checking exp, nbf or iat: an
// id_token_hint is often expired (OpenID Connect Core 1.0 3.1.2.1).
var hintParser = sync.OnceValue(func() *jwt.Parser {
	return jwt.NewParser(jwt.WithValidMethods(idTokenAlgs), jwt.WithoutClaimsValidation())
})

// ParseIDTokenHint verifies an id_token_hint (OpenID Connect Core 1.0
// 3.1.2.1): a previous ID token of this generator's issuer, signed by a key
// of the key set that is still published, the current one or one rotated
// out whose NotAfter has not passed. The signature, the alg (that of the
// key its kid names, never HMAC or none), the typ (never at+jwt: an access
// token is no ID token), iss, and the presence of sub and aud are checked;
// exp is not, since the hint is often expired. Any failure is an error
// wrapping oidc.ErrInvalidIDTokenHint, an invalid_request.
func (g *JWTIDTokenGenerate) ParseIDTokenHint(raw string) (*oidc.IDTokenHint, error) {
	if raw == "" || len(raw) > oidc.MaxIDTokenHintLength {
		return nil, oidc.ErrInvalidIDTokenHint
	}
	var c idTokenClaims
	tok, err := hintParser().ParseWithClaims(raw, &c, g.hintKey)
	if err != nil || !tok.Valid {
		return nil, fmt.Errorf("%w: %w", oidc.ErrInvalidIDTokenHint, err)
	}
	if c.Issuer != g.issuer || c.Subject == "" || len(c.Audience) == 0 {
		return nil, oidc.ErrInvalidIDTokenHint
	}
	h := &oidc.IDTokenHint{Subject: c.Subject, Audience: []string(c.Audience), SID: c.SID}
	if c.AuthTime != nil {
		h.AuthTime = c.AuthTime.Time
	}
	if c.IssuedAt != nil {
		h.IssuedAt = c.IssuedAt.Time
	}
	if c.ExpiresAt != nil {
		h.Expiry = c.ExpiresAt.Time
	}
	return h, nil
}

// Errors of hintKey. jwt/v5 wraps them in jwt.ErrTokenUnverifiable.
var errHintIsAccessToken = errors.New("generates: the typ header is at+jwt: an access token is not an ID token")

// hintKey is the jwt.Keyfunc of ParseIDTokenHint: the public key of the
// published, asymmetric key of the set its kid names, whose algorithm must
// be the token's.
func (g *JWTIDTokenGenerate) hintKey(t *jwt.Token) (any, error) {
	typ, _ := t.Header["typ"].(string)
	if strings.EqualFold(typ, jwtType) || strings.EqualFold(typ, "application/"+jwtType) {
		return nil, errHintIsAccessToken
	}
	kid, _ := t.Header["kid"].(string)
	k := g.keys.publishedKey(kid)
	if k == nil || k.kind == kindHMAC {
		return nil, errUnknownKey
	}
	if t.Method == nil || t.Method.Alg() != k.method.Alg() {
		return nil, errWrongAlg
	}
	return k.public, nil
}
