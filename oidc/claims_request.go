package oidc

import (
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/oauth2d/oauth2/errors"
)

// MaxClaimsRequestBytes bounds the claims request parameter: a request for
// every standard claim, with values, takes well under 1 KiB.
const MaxClaimsRequestBytes = 4096

// maxClaimsDepth bounds the nesting of the claims parameter: the request
// object, its userinfo and id_token members, a claim's request and its
// values make four levels; members this package ignores may nest a little
// deeper.
const maxClaimsDepth = 8

// ClaimsRequest is the claims request parameter of OpenID Connect Core 1.0
// 5.5: the claims a client asks for at the UserInfo endpoint and in the ID
// token, beyond those its scope values ask for. Use ParseClaimsRequest to
// read one.
// https://openid.net/specs/openid-connect-core-1_0.html#ClaimsParameter
type ClaimsRequest struct {
	// UserInfo are the claims asked for at the UserInfo endpoint (5.5
	// userinfo member); nil when the member is absent.
	UserInfo ClaimRequests
	// IDToken are the claims asked for in the ID token (5.5 id_token
	// member); nil when the member is absent.
	IDToken ClaimRequests
}

// ClaimRequests maps a claim name to the way it is requested.
type ClaimRequests map[string]ClaimRequest

// ClaimRequest is how one claim is requested (OpenID Connect Core 1.0
// 5.5.1): its zero value is the JSON null of a claim requested in the
// default manner, as a voluntary claim.
type ClaimRequest struct {
	// Essential marks a claim the client needs for a good experience
	// (5.5.1). Its absence is never an error (5.5: the server MUST NOT
	// generate an error when claims are not returned).
	Essential bool
	// Value is the value asked for: a string, a json.Number or a bool; nil
	// when none is.
	Value any
	// Values are values asked for, in order of preference; nil when none
	// are.
	Values []any
}

// set returns the names of r.
func (r ClaimRequests) set() ClaimSet {
	var s ClaimSet
	for name := range r {
		s.Add(name)
	}
	return s
}

// StringValues returns the string values of c: Value when it is a string,
// then each string of Values, in order.
func (c ClaimRequest) StringValues() []string {
	var out []string
	if s, ok := c.Value.(string); ok {
		out = append(out, s)
	}
	for _, v := range c.Values {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Subject returns the value the id_token member asks sub to have, if any
// (OpenID Connect Core 1.0 3.1.2.1, 5.5.1): the server may then answer
// positively only for that End-User.
func (r *ClaimsRequest) Subject() (string, bool) {
	if r == nil {
		return "", false
	}
	c, ok := r.IDToken[ClaimSubject]
	if !ok {
		return "", false
	}
	s, ok := c.Value.(string)
	return s, ok
}

// ACR returns the Authentication Context Class Reference values the
// id_token member asks acr to have, in order of preference, and whether it
// asks for them as essential (OpenID Connect Core 1.0 5.5.1.1).
func (r *ClaimsRequest) ACR() (values []string, essential bool) {
	if r == nil {
		return nil, false
	}
	c, ok := r.IDToken[ClaimACR]
	if !ok {
		return nil, false
	}
	return c.StringValues(), c.Essential
}

// Empty reports whether r asks for no claim at all.
func (r *ClaimsRequest) Empty() bool {
	return r == nil || (len(r.UserInfo) == 0 && len(r.IDToken) == 0)
}

// claimsError is an invalid_request about the claims parameter. Its
// description never quotes the request.
func claimsError(reason string) error {
	return errors.WithDescription(errors.ErrInvalidRequest, "The claims parameter "+reason)
}

var (
	errClaimsTooLarge   = claimsError("is too large")
	errClaimsTooDeep    = claimsError("is nested too deeply")
	errClaimsNotJSON    = claimsError("is not valid JSON (OpenID Connect Core 1.0 5.5)")
	errClaimsNotUTF8    = claimsError("is not valid UTF-8")
	errClaimsNotObject  = claimsError("must be a JSON object (OpenID Connect Core 1.0 5.5)")
	errClaimsTrailing   = claimsError("has data after its JSON object")
	errClaimsDuplicate  = claimsError("has a member more than once")
	errClaimsMember     = claimsError("userinfo and id_token members must be JSON objects (OpenID Connect Core 1.0 5.5)")
	errClaimsEntry      = claimsError("requests a claim with neither null nor a JSON object (OpenID Connect Core 1.0 5.5.1)")
	errClaimsEmptyName  = claimsError("requests a claim with an empty name")
	errClaimsEssential  = claimsError("has an essential member that is not a boolean (OpenID Connect Core 1.0 5.5.1)")
	errClaimsValue      = claimsError("has a value that is not a string, number or boolean")
	errClaimsValuesList = claimsError("has a values member that is not an array of strings, numbers or booleans")
)

// ParseClaimsRequest reads the claims request parameter of an
// authentication request (OpenID Connect Core 1.0 5.5). It is strict: the
// parameter must be one JSON object of valid UTF-8, at most
// MaxClaimsRequestBytes long and nested at most a few levels, with no
// member twice at any level it reads; its userinfo and id_token members must
// be objects whose claims are each null or an object, where essential is a
// boolean, value a string, number or boolean, and values an array of those.
// Members it does not understand are ignored, as 5.5 and 5.5.1 require.
//
// Every error wraps errors.ErrInvalidRequest and describes what is wrong
// without quoting the parameter.
func ParseClaimsRequest(s string) (*ClaimsRequest, error) {
	if len(s) > MaxClaimsRequestBytes {
		return nil, errClaimsTooLarge
	}
	if !utf8.ValidString(s) {
		return nil, errClaimsNotUTF8
	}
	if jsonDepth(s) > maxClaimsDepth {
		return nil, errClaimsTooDeep
	}
	p := claimsParser{dec: json.NewDecoder(strings.NewReader(s))}
	p.dec.UseNumber()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, errClaimsNotJSON
	}
	if tok != json.Delim('{') {
		return nil, errClaimsNotObject
	}
	req := &ClaimsRequest{}
	seen := map[string]bool{}
	for {
		key, done, err := p.key(seen)
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
		switch key {
		case "userinfo":
			req.UserInfo, err = p.member()
		case "id_token":
			req.IDToken, err = p.member()
		default:
			err = p.skip()
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, errClaimsTrailing
	}
	return req, nil
}

// claimsParser reads the claims parameter token by token, so that it sees
// every member name, duplicates included.
type claimsParser struct {
	dec *json.Decoder
}

// key reads the next member name of an object, or its end (done). A name
// already in seen is an error.
func (p *claimsParser) key(seen map[string]bool) (key string, done bool, err error) {
	tok, err := p.dec.Token()
	if err != nil {
		return "", false, errClaimsNotJSON
	}
	if tok == json.Delim('}') {
		return "", true, nil
	}
	key, ok := tok.(string)
	if !ok {
		return "", false, errClaimsNotJSON
	}
	if seen[key] {
		return "", false, errClaimsDuplicate
	}
	seen[key] = true
	return key, false, nil
}

// skip reads and drops the next value.
func (p *claimsParser) skip() error {
	var raw json.RawMessage
	if err := p.dec.Decode(&raw); err != nil {
		return errClaimsNotJSON
	}
	return nil
}

// member reads a userinfo or id_token member: an object of claim requests.
func (p *claimsParser) member() (ClaimRequests, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, errClaimsNotJSON
	}
	if tok != json.Delim('{') {
		return nil, errClaimsMember
	}
	out := ClaimRequests{}
	seen := map[string]bool{}
	for {
		name, done, err := p.key(seen)
		if err != nil {
			return nil, err
		}
		if done {
			if len(out) == 0 {
				return nil, nil // as if absent: 5.5 asks for nothing then
			}
			return out, nil
		}
		if name == "" {
			return nil, errClaimsEmptyName
		}
		c, err := p.claim()
		if err != nil {
			return nil, err
		}
		out[name] = c
	}
}

// claim reads one claim's request: null or an object.
func (p *claimsParser) claim() (ClaimRequest, error) {
	var c ClaimRequest
	tok, err := p.dec.Token()
	if err != nil {
		return c, errClaimsNotJSON
	}
	if tok == nil {
		return c, nil
	}
	if tok != json.Delim('{') {
		return c, errClaimsEntry
	}
	seen := map[string]bool{}
	for {
		key, done, err := p.key(seen)
		if err != nil {
			return c, err
		}
		if done {
			return c, nil
		}
		switch key {
		case "essential":
			tok, err := p.dec.Token()
			if err != nil {
				return c, errClaimsNotJSON
			}
			b, ok := tok.(bool)
			if !ok {
				return c, errClaimsEssential
			}
			c.Essential = b
		case "value":
			if c.Value, err = p.scalar(errClaimsValue); err != nil {
				return c, err
			}
		case "values":
			if c.Values, err = p.scalars(); err != nil {
				return c, err
			}
		default:
			if err := p.skip(); err != nil {
				return c, err
			}
		}
	}
}

// scalar reads a string, number or boolean; anything else is errBad.
func (p *claimsParser) scalar(errBad error) (any, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, errClaimsNotJSON
	}
	switch v := tok.(type) {
	case string, json.Number, bool:
		return v, nil
	}
	return nil, errBad
}

// scalars reads an array of strings, numbers and booleans; an empty array
// is nil.
func (p *claimsParser) scalars() ([]any, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, errClaimsNotJSON
	}
	if tok != json.Delim('[') {
		return nil, errClaimsValuesList
	}
	var out []any
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, errClaimsNotJSON
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == ']' {
				return out, nil
			}
			return nil, errClaimsValuesList
		case string, json.Number, bool:
			out = append(out, v)
		default:
			return nil, errClaimsValuesList
		}
	}
}

// jsonDepth returns the deepest nesting of objects and arrays in s, valid
// JSON or not, so that no decoder ever recurses deeper than the parser
// allows.
func jsonDepth(s string) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}

// claimRequestJSON is the JSON form of a non-null ClaimRequest.
type claimRequestJSON struct {
	Essential bool  `json:"essential,omitempty"`
	Value     any   `json:"value,omitempty"`
	Values    []any `json:"values,omitempty"`
}

// MarshalJSON encodes c as OpenID Connect Core 1.0 5.5.1 does: null for a
// claim requested in the default manner, else an object of essential, value
// and values, each left out when unset.
func (c ClaimRequest) MarshalJSON() ([]byte, error) {
	if !c.Essential && c.Value == nil && len(c.Values) == 0 {
		return []byte("null"), nil
	}
	return json.Marshal(claimRequestJSON{Essential: c.Essential, Value: c.Value, Values: c.Values})
}

// MarshalJSON encodes r as the claims parameter (OpenID Connect Core 1.0
// 5.5) in a canonical form: no whitespace, members sorted, an empty
// userinfo or id_token member left out. ParseClaimsRequest reads it back to
// an equal request.
func (r ClaimsRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		IDToken  ClaimRequests `json:"id_token,omitempty"`
		UserInfo ClaimRequests `json:"userinfo,omitempty"`
	}{r.IDToken, r.UserInfo})
}
