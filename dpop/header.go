package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// header is a proof's JOSE header, checked and parsed once: its algorithm
// and the public key of its jwk, ready to verify signatures, with the key's
// thumbprint.
type header struct {
	alg    string
	method jwt.SigningMethod
	key    crypto.PublicKey
	jkt    string
}

// maxHeaderLength bounds the encoded header of a proof.
const maxHeaderLength = 4 << 10

// privateMembers are the JWK members of private and symmetric keys (RFC
// 7518 6.2.2, 6.3.2, 6.4; RFC 8037 2): a proof's jwk must have none of
// them (RFC 9449 4.3).
var privateMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// header returns the parsed header of the encoded header segment seg, from
// the cache when a proof with the same header was seen before.
func (v *Verifier) header(seg string) (*header, error) {
	if h := v.cache.get(seg); h != nil {
		if !slices.Contains(v.algs, h.alg) {
			return nil, ErrAlgorithm
		}
		return h, nil
	}
	h, err := parseHeader(seg, v.algs)
	if err != nil {
		return nil, err
	}
	v.cache.put(seg, h)
	return h, nil
}

// parseHeader checks a proof's JOSE header (RFC 9449 4.2, 4.3): typ
// dpop+jwt, alg among algs, no crit, and a jwk that is a public key of the
// kind and size alg needs (go-jose parses it), whose RFC 7638 thumbprint it
// computes.
func parseHeader(seg string, algs []string) (*header, error) {
	if len(seg) > maxHeaderLength {
		return nil, ErrMalformed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return nil, ErrMalformed
	}
	var hd struct {
		Typ  *string         `json:"typ"`
		Alg  string          `json:"alg"`
		JWK  json.RawMessage `json:"jwk"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(raw, &hd); err != nil {
		return nil, ErrMalformed
	}
	if hd.Typ == nil || !strings.EqualFold(*hd.Typ, JWTType) {
		return nil, ErrType
	}
	if hd.Crit != nil {
		// RFC 7515 4.1.11: no extension is understood here.
		return nil, ErrMalformed
	}
	method := methodOf(hd.Alg)
	if method == nil || !slices.Contains(algs, hd.Alg) {
		return nil, ErrAlgorithm
	}
	if len(hd.JWK) == 0 || hd.JWK[0] != '{' {
		return nil, ErrKey
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(hd.JWK, &members); err != nil {
		return nil, ErrKey
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return nil, ErrKey
		}
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(hd.JWK); err != nil || !k.IsPublic() || !k.Valid() {
		return nil, ErrKey
	}
	if (k.Algorithm != "" && k.Algorithm != hd.Alg) || (k.Use != "" && k.Use != "sig") {
		return nil, ErrKey
	}
	if !keyFits(hd.Alg, k.Key) {
		return nil, ErrKey
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, ErrKey
	}
	return &header{alg: hd.Alg, method: method, key: k.Key, jkt: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// methodOf returns the signing method of an accepted algorithm, nil for
// any other: never "none", never an HMAC.
func methodOf(alg string) jwt.SigningMethod {
	switch alg {
	case "ES256":
		return jwt.SigningMethodES256
	case "ES384":
		return jwt.SigningMethodES384
	case "ES512":
		return jwt.SigningMethodES512
	case "PS256":
		return jwt.SigningMethodPS256
	case "PS384":
		return jwt.SigningMethodPS384
	case "PS512":
		return jwt.SigningMethodPS512
	case "RS256":
		return jwt.SigningMethodRS256
	case "RS384":
		return jwt.SigningMethodRS384
	case "RS512":
		return jwt.SigningMethodRS512
	case "EdDSA":
		return jwt.SigningMethodEdDSA
	}
	return nil
}

// keyFits reports whether key is a public key alg verifies with: the curve
// of the ECDSA algorithm (RFC 7518 3.4), an RSA key of 2048 to 4096 bits
// (RFC 7518 3.3, 3.5), an Ed25519 key for EdDSA (RFC 8037 3.1).
func keyFits(alg string, key crypto.PublicKey) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case *rsa.PublicKey:
		// Not larger than 4096 bits either: a huge key would make every
		// verification a denial of service.
		return alg[0] != 'E' && k.N.BitLen() >= minRSABits && k.N.BitLen() <= maxRSABits
	case ed25519.PublicKey:
		return alg == "EdDSA" && len(k) == ed25519.PublicKeySize
	}
	return false
}

// headerCache keeps parsed headers by their encoded bytes. It is bounded:
// when full, it starts over empty, so that a flood of new keys costs their
// parsing and no memory beyond the bound.
type headerCache struct {
	max int64
	cur atomic.Pointer[headerMap]
}

type headerMap struct {
	m sync.Map // string -> *header
	n atomic.Int64
}

func newHeaderCache(max int) *headerCache {
	c := &headerCache{max: int64(max)}
	c.cur.Store(&headerMap{})
	return c
}

func (c *headerCache) get(seg string) *header {
	if h, ok := c.cur.Load().m.Load(seg); ok {
		return h.(*header)
	}
	return nil
}

func (c *headerCache) put(seg string, h *header) {
	m := c.cur.Load()
	if m.n.Add(1) > c.max {
		next := &headerMap{}
		next.n.Store(1)
		c.cur.CompareAndSwap(m, next)
		m = c.cur.Load()
	}
	// A copy: seg is part of a proof, which the cache must not keep.
	m.m.Store(strings.Clone(seg), h)
}
