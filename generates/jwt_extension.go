package generates

import (
	"fmt"
	"net/url"
	"unicode/utf8"

	"github.com/oauth2d/oauth2"
)

// reservedClaims are the claims the generator sets itself, or that carry a
// meaning a string value from extension data must never fake: the
// registered claims of RFC 7519 4.1, those of RFC 9068 2.2, cnf (RFC
// 7800, the key binding of DPoP, RFC 9449 6) and act (RFC 8693 4.1).
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"client_id": true, "scope": true, "auth_time": true, "cnf": true, "act": true,
}

// WithExtensionClaims adds the named values of a token's extension data
// (oauth2.ExtendableTokenInfo, set through manage.ExtractExtensionHandler or
// TokenGenerateRequest.Extension) to its JWT as claims: a name with one
// value becomes a string claim, a name with several an array of strings,
// and a name the token's data lacks no claim. Only the names listed here
// are copied, so that data a feature keeps with a grant does not reach the
// token unless the deployment says so; RFC 9068 2.2.1 and 2.2.3.1 name
// claims such as acr, amr, groups and roles that fit.
//
// The claims the generator sets (iss, sub, aud, exp, iat, jti, client_id,
// scope, auth_time), nbf and cnf cannot be named: NewJWTAccessGenerateFromKey
// returns the error, and the other constructors a generator whose Token
// fails with the error Err reports.
func WithExtensionClaims(names ...string) JWTOption {
	return func(o *jwtOptions) { o.extClaims = append(o.extClaims, names...) }
}

// extensionClaims checks the names of WithExtensionClaims and returns them
// with their JSON encodings.
func extensionClaims(names []string) ([]extClaim, error) {
	var out []extClaim
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case n == "" || !utf8.ValidString(n):
			return nil, fmt.Errorf("generates: WithExtensionClaims: %q is not a claim name", n)
		case reservedClaims[n]:
			return nil, fmt.Errorf("generates: WithExtensionClaims: the %s claim cannot come from extension data", n)
		case seen[n]:
			continue
		}
		seen[n] = true
		out = append(out, extClaim{name: n, json: append(appendJSONString([]byte{','}, n), ':')})
	}
	return out, nil
}

// extClaim is a claim name of WithExtensionClaims and its encoding,
// `,"name":`.
type extClaim struct {
	name string
	json []byte
}

// extensionOf returns the extension data of ti, nil when it has none.
func extensionOf(ti oauth2.TokenInfo) url.Values {
	if e, ok := ti.(oauth2.ExtendableTokenInfo); ok {
		return e.GetExtension()
	}
	return nil
}

// appendExtensionClaims appends the claims of ext named by claims to c.
func appendExtensionClaims(c []byte, claims []extClaim, ext url.Values) []byte {
	for _, cl := range claims {
		vs := ext[cl.name]
		switch len(vs) {
		case 0:
			continue
		case 1:
			c = append(c, cl.json...)
			c = appendJSONString(c, vs[0])
		default:
			c = append(c, cl.json...)
			c = append(c, '[')
			for i, v := range vs {
				if i > 0 {
					c = append(c, ',')
				}
				c = appendJSONString(c, v)
			}
			c = append(c, ']')
		}
	}
	return c
}
