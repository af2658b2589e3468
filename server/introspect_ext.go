package server

import (
	"encoding/json"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/policy"
)

// appendSenderIntrospection appends the members later RFCs add to the
// introspection answer of an access token: aud, its resources or exchange
// audiences (RFC 7662 2.2, RFC 8707 2); cnf with the jkt of its DPoP key
// (RFC 9449 6.2) and the x5t#S256 of its client certificate (RFC 8705
// 3.2); act, the actor of a delegation (RFC 8693 4.1).
func appendSenderIntrospection(b []byte, ti oauth2.TokenInfo, isAccess bool) []byte {
	if !isAccess {
		return b
	}
	e, ok := ti.(oauth2.ExtendableTokenInfo)
	if !ok {
		return b
	}
	ext := e.GetExtension()
	if len(ext) == 0 {
		return b
	}
	if aud := ext[policy.ExtensionResource]; len(aud) > 0 {
		b = append(b, `,"aud":`...)
		if len(aud) == 1 {
			b = appendJSONString(b, aud[0])
		} else {
			b = append(b, '[')
			for i, a := range aud {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, a)
			}
			b = append(b, ']')
		}
	}
	jkt, x5t := ext[policy.ExtensionDPoPJKT], ext[policy.ExtensionCertThumbprint]
	if len(jkt) == 1 || len(x5t) == 1 {
		b = append(b, `,"cnf":{`...)
		if len(jkt) == 1 {
			b = append(b, `"jkt":`...)
			b = appendJSONString(b, jkt[0])
		}
		if len(x5t) == 1 {
			if len(jkt) == 1 {
				b = append(b, ',')
			}
			b = append(b, `"x5t#S256":`...)
			b = appendJSONString(b, x5t[0])
		}
		b = append(b, '}')
	}
	if act := ext.Get(policy.ExtensionActor); act != "" && act[0] == '{' && json.Valid([]byte(act)) {
		b = append(b, `,"act":`...)
		b = append(b, act...)
	}
	return b
}
