package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	oauth2errors "github.com/oauth2d/oauth2/errors"
)

// Keys of the OpenID Connect data a grant keeps in its extension carrier
// (oauth2.ExtendableTokenInfo). They are named here and nowhere else. The
// authorization endpoint writes them with the code; the manager copies them
// to the tokens issued from the code and from their refresh tokens; the
// token endpoint and the UserInfo endpoint read them back. They start with
// oauth2.ReservedExtensionPrefix, so that an application's
// ExtractExtensionHandler cannot write them.
const (
	// ExtNonce is the nonce of the authentication request (OpenID Connect
	// Core 1.0 3.1.2.1).
	ExtNonce = oauth2.ReservedExtensionPrefix + "oidc_nonce"
	// ExtAuthTime is when the End-User authenticated, in decimal seconds
	// since the epoch (2 auth_time).
	ExtAuthTime = oauth2.ReservedExtensionPrefix + "oidc_auth_time"
	// ExtACR is the Authentication Context Class Reference the
	// authentication satisfied (2 acr).
	ExtACR = oauth2.ReservedExtensionPrefix + "oidc_acr"
	// ExtAMR are the authentication methods used (2 amr, RFC 8176),
	// space-separated.
	ExtAMR = oauth2.ReservedExtensionPrefix + "oidc_amr"
	// ExtClaims is the claims request parameter (5.5), in the canonical
	// JSON of ClaimsRequest.MarshalJSON.
	ExtClaims = oauth2.ReservedExtensionPrefix + "oidc_claims"
	// ExtSID is the ID of the End-User's session at the server
	// (Front-Channel Logout 1.0 3 sid).
	ExtSID = oauth2.ReservedExtensionPrefix + "oidc_sid"
	// ExtOpenID marks an OpenID Connect grant: one that an authorization
	// request with the openid scope started, which the server read as an
	// OpenID Connect authentication request (Core 3.1.2.1). Only such
	// grants get ID tokens at the token endpoint. Its value is "1".
	ExtOpenID = oauth2.ReservedExtensionPrefix + "oidc"
)

// extKeys are the keys of GrantInfo, for Encode.
var extKeys = [...]string{ExtOpenID, ExtNonce, ExtAuthTime, ExtACR, ExtAMR, ExtClaims, ExtSID}

// MaxGrantInfoBytes bounds what GrantInfo.Encode adds to a grant's
// extension data, measured as oauth2.MaxExtensionBytes measures it
// (url.Values.Encode), so that other features keep room under that limit.
const MaxGrantInfoBytes = 2048

// errGrantInfoTooLarge: the nonce and claims request of an authentication
// request take more room than a grant keeps for them.
var errGrantInfoTooLarge = oauth2errors.WithDescription(oauth2errors.ErrInvalidRequest,
	"The nonce and claims parameters are too large to keep with the grant")

// errAMRValue: an amr value with a space cannot be kept space-separated.
var errAMRValue = errors.New("oidc: an amr value is empty or has a space")

// GrantInfo is the OpenID Connect data of one grant: what the
// authentication request asked and how the End-User authenticated. The
// authorization endpoint builds it from the AuthRequest and the Session and
// keeps it with the code (Encode); ID tokens and UserInfo responses are
// made from it (DecodeGrantInfo).
type GrantInfo struct {
	// OpenID reports that the grant is an OpenID Connect grant
	// (ExtOpenID). DecodeGrantInfo sets it; Encode always marks the
	// grant.
	OpenID bool
	// Nonce is the request's nonce, echoed in the ID tokens issued from the
	// code (not in those issued on refresh, OpenID Connect Core 1.0 12.2).
	Nonce string
	// AuthTime is when the End-User authenticated; zero when unknown.
	AuthTime time.Time
	// ACR and AMR say how they authenticated; empty when unknown.
	ACR string
	AMR []string
	// Claims is the request's claims parameter; nil when it had none.
	Claims *ClaimsRequest
	// SID is the End-User's session ID; "" when none.
	SID string
}

// Encode writes g into ext, the extension data of a grant
// (oauth2.TokenGenerateRequest.Extension), under the Ext* keys: ExtOpenID
// always, and the others set for each value g has, deleted for each it
// has not. It returns ext, or a new
// url.Values when ext is nil. It fails, leaving ext unchanged, when the
// values take more than MaxGrantInfoBytes (an invalid_request: the nonce or
// the claims parameter is too large) or an AMR value is empty or has a
// space.
func (g *GrantInfo) Encode(ext url.Values) (url.Values, error) {
	vals := make(url.Values, len(extKeys))
	vals.Set(ExtOpenID, "1")
	if g.Nonce != "" {
		vals.Set(ExtNonce, g.Nonce)
	}
	if !g.AuthTime.IsZero() {
		vals.Set(ExtAuthTime, strconv.FormatInt(g.AuthTime.Unix(), 10))
	}
	if g.ACR != "" {
		vals.Set(ExtACR, g.ACR)
	}
	if len(g.AMR) > 0 {
		for _, m := range g.AMR {
			if m == "" || strings.ContainsAny(m, " \t\n") {
				return ext, errAMRValue
			}
		}
		vals.Set(ExtAMR, strings.Join(g.AMR, " "))
	}
	if !g.Claims.Empty() {
		b, err := json.Marshal(g.Claims)
		if err != nil {
			return ext, fmt.Errorf("oidc: encode claims request: %w", err)
		}
		vals.Set(ExtClaims, string(b))
	}
	if g.SID != "" {
		vals.Set(ExtSID, g.SID)
	}
	if len(vals.Encode()) > MaxGrantInfoBytes {
		return ext, errGrantInfoTooLarge
	}
	if ext == nil {
		ext = make(url.Values, len(vals))
	}
	for _, k := range extKeys {
		if v, ok := vals[k]; ok {
			ext[k] = v
		} else {
			delete(ext, k)
		}
	}
	return ext, nil
}

// DecodeGrantInfo reads the GrantInfo that Encode wrote into ext. A grant
// without OpenID Connect data gives the zero GrantInfo. Values that do not
// parse are an error, which the server answers with server_error: the
// store returned what it was not given.
func DecodeGrantInfo(ext url.Values) (GrantInfo, error) {
	var g GrantInfo
	if len(ext) == 0 {
		return g, nil
	}
	g.OpenID = ext.Get(ExtOpenID) == "1"
	g.Nonce = ext.Get(ExtNonce)
	if v := ext.Get(ExtAuthTime); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec < 0 {
			return GrantInfo{}, errors.New("oidc: the grant's auth_time does not parse")
		}
		g.AuthTime = time.Unix(sec, 0)
	}
	g.ACR = ext.Get(ExtACR)
	if v := ext.Get(ExtAMR); v != "" {
		g.AMR = strings.Fields(v)
	}
	if v := ext.Get(ExtClaims); v != "" {
		c, err := ParseClaimsRequest(v)
		if err != nil {
			return GrantInfo{}, errors.New("oidc: the grant's claims request does not parse")
		}
		g.Claims = c
	}
	g.SID = ext.Get(ExtSID)
	return g, nil
}

// GrantInfoOf returns the GrantInfo of a token record: DecodeGrantInfo of
// its extension data when it is an oauth2.ExtendableTokenInfo, the zero
// GrantInfo otherwise.
func GrantInfoOf(ti oauth2.TokenInfo) (GrantInfo, error) {
	et, ok := ti.(oauth2.ExtendableTokenInfo)
	if !ok {
		return GrantInfo{}, nil
	}
	return DecodeGrantInfo(et.GetExtension())
}

// IsOpenIDGrant reports whether the token record ti belongs to an OpenID
// Connect grant (ExtOpenID), without decoding the rest of its data.
func IsOpenIDGrant(ti oauth2.TokenInfo) bool {
	et, ok := ti.(oauth2.ExtendableTokenInfo)
	if !ok {
		return false
	}
	vs := et.GetExtension()[ExtOpenID]
	return len(vs) == 1 && vs[0] == "1"
}
