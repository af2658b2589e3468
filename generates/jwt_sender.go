package generates

import (
	"encoding/json"
	"net/url"

	"github.com/oauth2d/oauth2/policy"
)

// The claims of JWT access tokens that come from a grant's extension data
// written by the library itself (policy): aud, the token's resources (RFC
// 8707 2, RFC 9068 2.2) or exchange audiences (RFC 8693); cnf.jkt, the
// thumbprint of the DPoP key the token is bound to (RFC 9449 6.1);
// cnf.x5t#S256, the thumbprint of the client certificate it is bound to
// (RFC 8705 3.1); act, the actor of a delegation (RFC 8693 4.1).

// senderClaims reads those values from ext into v.
func senderClaims(v *claimValues, ext url.Values) {
	v.aud = ext[policy.ExtensionResource]
	if jkt := ext[policy.ExtensionDPoPJKT]; len(jkt) == 1 {
		v.jkt = jkt[0]
	}
	if x5t := ext[policy.ExtensionCertThumbprint]; len(x5t) == 1 {
		v.x5t = x5t[0]
	}
	if act := ext[policy.ExtensionActor]; len(act) == 1 && act[0] != "" && act[0][0] == '{' && json.Valid([]byte(act[0])) {
		v.act = act[0]
	}
}

// appendAudience appends aud as the value of the aud claim: a string for
// one audience, an array for several (RFC 7519 4.1.3).
func appendAudience(c []byte, aud []string) []byte {
	if len(aud) == 1 {
		return appendJSONString(c, aud[0])
	}
	c = append(c, '[')
	for i, a := range aud {
		if i > 0 {
			c = append(c, ',')
		}
		c = appendJSONString(c, a)
	}
	return append(c, ']')
}

// appendSenderClaims appends cnf and act when the token has them.
func appendSenderClaims(c []byte, v *claimValues) []byte {
	if v.jkt != "" || v.x5t != "" {
		c = append(c, `,"cnf":{`...)
		if v.jkt != "" {
			c = append(c, `"jkt":`...)
			c = appendJSONString(c, v.jkt)
		}
		if v.x5t != "" {
			if v.jkt != "" {
				c = append(c, ',')
			}
			c = append(c, `"x5t#S256":`...)
			c = appendJSONString(c, v.x5t)
		}
		c = append(c, '}')
	}
	if v.act != "" {
		c = append(c, `,"act":`...)
		c = append(c, v.act...)
	}
	return c
}
