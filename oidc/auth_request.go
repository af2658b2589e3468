package oidc

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oauth2d/oauth2/errors"
)

// Prompt is the set of values of the prompt parameter (OpenID Connect Core
// 1.0 3.1.2.1). The zero Prompt is an absent parameter.
// https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
type Prompt uint8

// Prompt values of OpenID Connect Core 1.0 3.1.2.1.
const (
	// PromptNone: the server must not show any page; it answers
	// login_required, consent_required or interaction_required when it
	// would have to.
	PromptNone Prompt = 1 << iota
	// PromptLogin: the End-User must authenticate again.
	PromptLogin
	// PromptConsent: the End-User must consent again.
	PromptConsent
	// PromptSelectAccount: the End-User must choose an account; a server
	// with one session per user agent asks them to log in, as for
	// PromptLogin.
	PromptSelectAccount
)

var promptNames = [...]struct {
	p    Prompt
	name string
}{{PromptNone, "none"}, {PromptLogin, "login"}, {PromptConsent, "consent"}, {PromptSelectAccount, "select_account"}}

// Has reports whether p contains any of the values of q.
func (p Prompt) Has(q Prompt) bool { return p&q != 0 }

// String returns the space-separated prompt values of p.
func (p Prompt) String() string {
	var names []string
	for _, n := range promptNames {
		if p&n.p != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, " ")
}

// Display values of OpenID Connect Core 1.0 3.1.2.1.
const (
	DisplayPage  = "page"
	DisplayPopup = "popup"
	DisplayTouch = "touch"
	DisplayWAP   = "wap"
)

// Bounds of the authentication request parameters this package reads. None
// of them is in the specification; each is far above what a relying party
// sends, and keeps what the server stores with a grant (the nonce) or shows
// on a page (login_hint) small.
const (
	// MaxNonceLength bounds the nonce, which the grant keeps until its ID
	// tokens are issued.
	MaxNonceLength = 512
	// MaxLoginHintLength bounds login_hint.
	MaxLoginHintLength = 512
	// MaxIDTokenHintLength bounds id_token_hint: an ID token of this
	// server is well under 2 KiB.
	MaxIDTokenHintLength = 8192
	// maxListParamLength bounds ui_locales, claims_locales and acr_values.
	maxListParamLength = 1024
)

// AuthRequest holds the OpenID Connect parameters of an authorization
// request (OpenID Connect Core 1.0 3.1.2.1), parsed and checked by
// ParseAuthRequest. The OAuth 2.0 parameters (response_type, client_id,
// redirect_uri, scope, state, PKCE) are the server's.
// https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
type AuthRequest struct {
	// OpenID reports whether the scope contains openid. When it does not,
	// the request is a plain OAuth 2.0 one and no other field is set.
	OpenID bool
	// Prompt is the set of prompt values.
	Prompt Prompt
	// MaxAge is the max_age parameter: the End-User must have
	// authenticated at most this long ago. Meaningful only when HasMaxAge.
	MaxAge time.Duration
	// HasMaxAge reports whether the request had max_age; then the ID token
	// must carry auth_time (2).
	HasMaxAge bool
	// Nonce is the nonce to echo in the ID token (3.1.2.1, 15.5.2).
	Nonce string
	// Display is the display value, "" when absent or not one of the four
	// of 3.1.2.1 (a server may ignore it).
	Display string
	// UILocales and ClaimsLocales are the preferred languages of the pages
	// and of the claims, as BCP47 tags in order of preference (3.1.2.1,
	// 5.2).
	UILocales     []string
	ClaimsLocales []string
	// ACRValues are the requested Authentication Context Class Reference
	// values, in order of preference (3.1.2.1).
	ACRValues []string
	// LoginHint is the login_hint: the End-User's identifier as the client
	// knows it, to prefill the login page.
	LoginHint string
	// IDTokenHint is the raw id_token_hint: a previous ID token of this
	// server naming the expected End-User, to verify with
	// generates.JWTIDTokenGenerate.ParseIDTokenHint.
	IDTokenHint string
	// Claims is the claims parameter (5.5), nil when absent.
	Claims *ClaimsRequest
}

// authError is an error of code with a description that never quotes the
// request.
func authError(code error, desc string) error { return errors.WithDescription(code, desc) }

var (
	errRequestObject  = authError(errors.ErrRequestNotSupported, "The request parameter is not supported (OpenID Connect Core 1.0 6)")
	errRequestURI     = authError(errors.ErrRequestURINotSupported, "The request_uri parameter is not supported (OpenID Connect Core 1.0 6)")
	errPromptNoneMix  = authError(errors.ErrInvalidRequest, "The prompt value none cannot be combined with another value (OpenID Connect Core 1.0 3.1.2.1)")
	errPromptUnknown  = authError(errors.ErrInvalidRequest, "The prompt parameter has an unknown value")
	errMaxAge         = authError(errors.ErrInvalidRequest, "The max_age parameter must be a non-negative whole number of seconds (OpenID Connect Core 1.0 3.1.2.1)")
	errNonceRequired  = authError(errors.ErrInvalidRequest, "The nonce parameter is required for the implicit and hybrid flows (OpenID Connect Core 1.0 3.2.2.1, 3.3.2.11)")
	errNonceLong      = authError(errors.ErrInvalidRequest, "The nonce parameter is too long")
	errLoginHintLong  = authError(errors.ErrInvalidRequest, "The login_hint parameter is too long")
	errIDTokenHintBig = authError(errors.ErrInvalidRequest, "The id_token_hint parameter is too long")
	errListLong       = authError(errors.ErrInvalidRequest, "The ui_locales, claims_locales or acr_values parameter is too long")
)

// repeated is the invalid_request of a parameter sent more than once (RFC
// 6749 3.1).
func repeated(name string) error {
	return authError(errors.ErrInvalidRequest, "The "+name+" parameter is included more than once")
}

// ParseAuthRequest reads the OpenID Connect parameters of an authorization
// request (OpenID Connect Core 1.0 3.1.2.1) from params, the query of a GET
// or the form body of a POST, for the requested responseType (such as
// "code" or "code id_token").
//
// It refuses, whether the scope has openid or not, a request parameter
// with request_not_supported and a request_uri parameter with
// request_uri_not_supported (6): a server that implements pushed
// authorization requests (RFC 9126) resolves its own request_uri values
// before calling ParseAuthRequest. When the scope has no openid, the
// request is plain OAuth 2.0 and nothing else is read.
//
// Otherwise every error is an invalid_request: a parameter it reads sent
// twice (RFC 6749 3.1); prompt with none and another value, or an unknown
// value; max_age that is not a non-negative decimal integer; no nonce when
// responseType includes id_token or is code token (3.2.2.1, 3.3.2.11); a
// claims parameter that ParseClaimsRequest refuses; and a value longer
// than this package's bounds (MaxNonceLength, MaxLoginHintLength, MaxIDTokenHintLength). An
// unknown display value is ignored, as are parameters the server does not
// understand (3.1.2.1). The id_token_hint is only kept: verifying it needs
// the server's keys.
//
// Errors before the client and its redirect_uri are validated must be shown
// to the user agent; after, they are redirected to the client (RFC 6749
// 4.1.2.1).
func ParseAuthRequest(params url.Values, responseType string) (*AuthRequest, error) {
	if _, ok := params["request"]; ok {
		return nil, errRequestObject
	}
	if _, ok := params["request_uri"]; ok {
		return nil, errRequestURI
	}
	scope, err := single(params, "scope")
	if err != nil {
		return nil, err
	}
	if !IsOpenID(scope) {
		return &AuthRequest{}, nil
	}
	r := &AuthRequest{OpenID: true}
	var v string
	if v, err = single(params, "prompt"); err != nil {
		return nil, err
	}
	if r.Prompt, err = parsePrompt(v); err != nil {
		return nil, err
	}
	if v, err = single(params, "max_age"); err != nil {
		return nil, err
	}
	if _, ok := params["max_age"]; ok {
		sec, ok := parseMaxAge(v)
		if !ok {
			return nil, errMaxAge
		}
		r.MaxAge, r.HasMaxAge = time.Duration(sec)*time.Second, true
	}
	if r.Nonce, err = single(params, "nonce"); err != nil {
		return nil, err
	}
	if len(r.Nonce) > MaxNonceLength {
		return nil, errNonceLong
	}
	if r.Nonce == "" && nonceRequired(responseType) {
		return nil, errNonceRequired
	}
	if v, err = single(params, "display"); err != nil {
		return nil, err
	}
	switch v {
	case DisplayPage, DisplayPopup, DisplayTouch, DisplayWAP:
		r.Display = v
	}
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{"ui_locales", &r.UILocales}, {"claims_locales", &r.ClaimsLocales}, {"acr_values", &r.ACRValues}} {
		if v, err = single(params, l.name); err != nil {
			return nil, err
		}
		if len(v) > maxListParamLength {
			return nil, errListLong
		}
		*l.dst = strings.Fields(v)
	}
	if r.LoginHint, err = single(params, "login_hint"); err != nil {
		return nil, err
	}
	if len(r.LoginHint) > MaxLoginHintLength {
		return nil, errLoginHintLong
	}
	if r.IDTokenHint, err = single(params, "id_token_hint"); err != nil {
		return nil, err
	}
	if len(r.IDTokenHint) > MaxIDTokenHintLength {
		return nil, errIDTokenHintBig
	}
	if v, err = single(params, "claims"); err != nil {
		return nil, err
	}
	if v != "" {
		if r.Claims, err = ParseClaimsRequest(v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// nonceRequired reports whether an authentication request of responseType
// must have a nonce: when an ID token comes from the authorization endpoint
// (Core 3.2.2.1, 3.3.2.11) and in the hybrid flow code token, whose ID
// token from the token endpoint must carry it (3.3.2.11).
func nonceRequired(responseType string) bool {
	rt, ok := ParseResponseType(responseType)
	return ok && (rt.Has(HasIDToken) || rt.Has(HasCode|HasToken))
}

// single returns the one value of the parameter name, "" when absent.
func single(params url.Values, name string) (string, error) {
	vs := params[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", repeated(name)
}

// parsePrompt reads the space-separated prompt values (3.1.2.1).
func parsePrompt(s string) (Prompt, error) {
	var p Prompt
	var err error
	forEachScope(s, func(v string) bool {
		for _, n := range promptNames {
			if n.name == v {
				p |= n.p
				return true
			}
		}
		err = errPromptUnknown
		return false
	})
	if err != nil {
		return 0, err
	}
	if p.Has(PromptNone) && p != PromptNone {
		return 0, errPromptNoneMix
	}
	return p, nil
}

// maxMaxAge bounds max_age so that it fits a time.Duration: about 292
// years, longer than any session.
const maxMaxAge = int64(1<<63-1) / int64(time.Second)

// parseMaxAge reads max_age: ASCII digits only, no sign, no space.
func parseMaxAge(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxMaxAge {
		return 0, false
	}
	return n, true
}
