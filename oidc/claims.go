package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/oauth2d/oauth2/internal/jsonenc"
)

// Names of the standard claims of OpenID Connect Core 1.0 5.1, besides sub.
// https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims
const (
	ClaimName                = "name"
	ClaimGivenName           = "given_name"
	ClaimFamilyName          = "family_name"
	ClaimMiddleName          = "middle_name"
	ClaimNickname            = "nickname"
	ClaimPreferredUsername   = "preferred_username"
	ClaimProfile             = "profile"
	ClaimPicture             = "picture"
	ClaimWebsite             = "website"
	ClaimEmail               = "email"
	ClaimEmailVerified       = "email_verified"
	ClaimGender              = "gender"
	ClaimBirthdate           = "birthdate"
	ClaimZoneinfo            = "zoneinfo"
	ClaimLocale              = "locale"
	ClaimPhoneNumber         = "phone_number"
	ClaimPhoneNumberVerified = "phone_number_verified"
	ClaimAddress             = "address"
	ClaimUpdatedAt           = "updated_at"
)

// Names of the claims an ID token carries about the authentication itself
// (OpenID Connect Core 1.0 2, 3.1.3.6, 3.3.2.11) and of sid (Front-Channel
// Logout 1.0 3). They are never taken from a user's Claims.
const (
	ClaimIssuer   = "iss"
	ClaimSubject  = "sub"
	ClaimAudience = "aud"
	ClaimExpiry   = "exp"
	ClaimIssuedAt = "iat"
	ClaimAuthTime = "auth_time"
	ClaimNonce    = "nonce"
	ClaimACR      = "acr"
	ClaimAMR      = "amr"
	ClaimAZP      = "azp"
	ClaimAtHash   = "at_hash"
	ClaimCHash    = "c_hash"
	ClaimSID      = "sid"
)

// standardClaims are the names of the standard claims in the order
// AppendClaims writes them; a claim's index is its bit in a ClaimSet.
var standardClaims = [...]string{
	ClaimName, ClaimGivenName, ClaimFamilyName, ClaimMiddleName, ClaimNickname,
	ClaimPreferredUsername, ClaimProfile, ClaimPicture, ClaimWebsite,
	ClaimEmail, ClaimEmailVerified, ClaimGender, ClaimBirthdate, ClaimZoneinfo,
	ClaimLocale, ClaimPhoneNumber, ClaimPhoneNumberVerified, ClaimAddress,
	ClaimUpdatedAt,
}

// standardBit maps a standard claim name to its bit in a ClaimSet.
var standardBit = func() map[string]uint32 {
	m := make(map[string]uint32, len(standardClaims))
	for i, n := range standardClaims {
		m[n] = 1 << i
	}
	return m
}()

// reservedClaims are the names a user's Extra claims can never take: the
// registered claims of a JWT (RFC 7519 4.1), those of the ID token, and
// those of this package's ID tokens and JWT access tokens.
var reservedClaims = map[string]bool{
	ClaimIssuer: true, ClaimSubject: true, ClaimAudience: true, ClaimExpiry: true,
	ClaimIssuedAt: true, ClaimAuthTime: true, ClaimNonce: true, ClaimACR: true,
	ClaimAMR: true, ClaimAZP: true, ClaimAtHash: true, ClaimCHash: true,
	ClaimSID: true, "nbf": true, "jti": true, "cnf": true, "client_id": true,
	"scope": true, "_claim_names": true, "_claim_sources": true,
}

// StandardClaims returns the names of the standard claims of OpenID Connect
// Core 1.0 5.1, sub first, as a discovery document lists them in
// claims_supported.
func StandardClaims() []string {
	out := make([]string, 0, len(standardClaims)+1)
	out = append(out, ClaimSubject)
	return append(out, standardClaims[:]...)
}

// Address is the address claim, a JSON object (OpenID Connect Core 1.0
// 5.1.1). Empty members are left out.
// https://openid.net/specs/openid-connect-core-1_0.html#AddressClaim
type Address struct {
	// Formatted is the full mailing address, formatted for display; lines
	// may be separated by "\n".
	Formatted string `json:"formatted,omitempty"`
	// StreetAddress is the street address, possibly on several lines.
	StreetAddress string `json:"street_address,omitempty"`
	// Locality is the city or locality.
	Locality string `json:"locality,omitempty"`
	// Region is the state, province, prefecture or region.
	Region string `json:"region,omitempty"`
	// PostalCode is the zip or postal code.
	PostalCode string `json:"postal_code,omitempty"`
	// Country is the country name.
	Country string `json:"country,omitempty"`
}

func (a *Address) empty() bool { return a == nil || *a == Address{} }

// Claims are a user's claims: the standard claims of OpenID Connect Core
// 1.0 5.1 (except sub, which the server computes for each client, see
// Subjects) and the application's own in Extra. A claim whose value is the
// zero value is unknown and never released.
//
// Claims encode to and decode from a JSON object with the standard claim
// names (MarshalJSON, UnmarshalJSON), so that a configuration file or a
// user store can hold them as a map: for example
// {"name": "Alice Liddell", "email": "alice@example.com", "email_verified": true}.
//
// email_verified is released only with an email, and phone_number_verified
// only with a phone_number: each says whether that value was verified.
// https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims
type Claims struct {
	Name              string
	GivenName         string
	FamilyName        string
	MiddleName        string
	Nickname          string
	PreferredUsername string
	// Profile, Picture and Website are URLs.
	Profile string
	Picture string
	Website string
	Email   string
	// EmailVerified says whether Email was verified.
	EmailVerified bool
	Gender        string
	// Birthdate is YYYY-MM-DD, 0000-MM-DD or YYYY (5.1).
	Birthdate string
	// Zoneinfo is a zoneinfo time zone name, such as Europe/Paris.
	Zoneinfo string
	// Locale is a BCP47 language tag, such as en-US.
	Locale string
	// PhoneNumber is preferably in E.164 form, such as +1 (425) 555-1212.
	PhoneNumber string
	// PhoneNumberVerified says whether PhoneNumber was verified.
	PhoneNumberVerified bool
	Address             *Address
	// UpdatedAt is when the information was last updated; zero is unknown.
	UpdatedAt time.Time
	// Extra are other claims, released only when a client asks for them by
	// name in the claims request parameter (5.5). Their values must encode
	// as JSON. A name of a standard claim or of a claim the ID token
	// reserves (iss, sub, aud, nonce, ...) is ignored.
	Extra map[string]any
}

// has reports whether the claim of bit b has a value to release.
func (c *Claims) has(b int) bool {
	switch standardClaims[b] {
	case ClaimName:
		return c.Name != ""
	case ClaimGivenName:
		return c.GivenName != ""
	case ClaimFamilyName:
		return c.FamilyName != ""
	case ClaimMiddleName:
		return c.MiddleName != ""
	case ClaimNickname:
		return c.Nickname != ""
	case ClaimPreferredUsername:
		return c.PreferredUsername != ""
	case ClaimProfile:
		return c.Profile != ""
	case ClaimPicture:
		return c.Picture != ""
	case ClaimWebsite:
		return c.Website != ""
	case ClaimEmail, ClaimEmailVerified:
		return c.Email != ""
	case ClaimGender:
		return c.Gender != ""
	case ClaimBirthdate:
		return c.Birthdate != ""
	case ClaimZoneinfo:
		return c.Zoneinfo != ""
	case ClaimLocale:
		return c.Locale != ""
	case ClaimPhoneNumber, ClaimPhoneNumberVerified:
		return c.PhoneNumber != ""
	case ClaimAddress:
		return !c.Address.empty()
	case ClaimUpdatedAt:
		return !c.UpdatedAt.IsZero()
	}
	return false
}

// appendStandard appends `"name":value` for the claim of bit b.
func (c *Claims) appendStandard(dst []byte, b int) []byte {
	name := standardClaims[b]
	dst = append(dst, '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	str := func(s string) []byte { return jsonenc.AppendString(dst, s) }
	switch name {
	case ClaimName:
		return str(c.Name)
	case ClaimGivenName:
		return str(c.GivenName)
	case ClaimFamilyName:
		return str(c.FamilyName)
	case ClaimMiddleName:
		return str(c.MiddleName)
	case ClaimNickname:
		return str(c.Nickname)
	case ClaimPreferredUsername:
		return str(c.PreferredUsername)
	case ClaimProfile:
		return str(c.Profile)
	case ClaimPicture:
		return str(c.Picture)
	case ClaimWebsite:
		return str(c.Website)
	case ClaimEmail:
		return str(c.Email)
	case ClaimEmailVerified:
		return strconv.AppendBool(dst, c.EmailVerified)
	case ClaimGender:
		return str(c.Gender)
	case ClaimBirthdate:
		return str(c.Birthdate)
	case ClaimZoneinfo:
		return str(c.Zoneinfo)
	case ClaimLocale:
		return str(c.Locale)
	case ClaimPhoneNumber:
		return str(c.PhoneNumber)
	case ClaimPhoneNumberVerified:
		return strconv.AppendBool(dst, c.PhoneNumberVerified)
	case ClaimAddress:
		return appendAddress(dst, c.Address)
	case ClaimUpdatedAt:
		return strconv.AppendInt(dst, c.UpdatedAt.Unix(), 10)
	}
	return append(dst, "null"...)
}

func appendAddress(dst []byte, a *Address) []byte {
	dst = append(dst, '{')
	first := true
	member := func(name, v string) {
		if v == "" {
			return
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
		dst = jsonenc.AppendString(dst, v)
	}
	member("formatted", a.Formatted)
	member("street_address", a.StreetAddress)
	member("locality", a.Locality)
	member("region", a.Region)
	member("postal_code", a.PostalCode)
	member("country", a.Country)
	return append(dst, '}')
}

// errExtraClaim: an Extra claim whose value does not encode as JSON.
var errExtraClaim = errors.New("oidc: an extra claim does not encode as JSON")

// AppendClaims appends to dst, as members of a JSON object, each claim of
// set that c has a value for: `,"name":"Alice","email":"a@example.com"`,
// every member preceded by a comma, so that it follows the members a
// caller has already written (sub in a UserInfo response, the registered
// claims of an ID token). Standard claims come first in the order of
// OpenID Connect Core 1.0 5.1, then the Extra claims set names, in the
// order of their names. It fails only when an Extra value does not encode
// as JSON, and then returns dst unchanged.
func (c *Claims) AppendClaims(dst []byte, set ClaimSet) ([]byte, error) {
	if c == nil {
		return dst, nil
	}
	out := dst
	for b := range standardClaims {
		if set.std&(1<<b) != 0 && c.has(b) {
			out = append(out, ',')
			out = c.appendStandard(out, b)
		}
	}
	for _, name := range set.extra {
		v, ok := c.Extra[name]
		if !ok || !extraName(name) {
			continue
		}
		enc, err := json.Marshal(v)
		if err != nil {
			return dst, fmt.Errorf("%w: %s: %w", errExtraClaim, name, err)
		}
		out = append(out, ',')
		out = jsonenc.AppendString(out, name)
		out = append(out, ':')
		out = append(out, enc...)
	}
	return out, nil
}

// extraName reports whether name may be an Extra claim.
func extraName(name string) bool {
	_, std := standardBit[name]
	return name != "" && !std && !reservedClaims[name]
}

// MarshalJSON encodes every claim c has a value for as one JSON object
// (OpenID Connect Core 1.0 5.1), the form UnmarshalJSON reads back.
func (c Claims) MarshalJSON() ([]byte, error) {
	set := ClaimSet{std: 1<<len(standardClaims) - 1}
	for name := range c.Extra {
		set.extra = append(set.extra, name)
	}
	slices.Sort(set.extra)
	b, err := c.AppendClaims([]byte{'{'}, set)
	if err != nil {
		return nil, err
	}
	if len(b) > 1 {
		b[1] = '{' // overwrite the first member's comma
		b = b[1:]
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads a JSON object of claims: each standard claim must have
// its type of OpenID Connect Core 1.0 5.1 (a string; a boolean for
// email_verified and phone_number_verified; an object of strings for
// address; a number of seconds since the epoch for updated_at), and any
// other member goes to Extra, except sub and the claims an ID token
// reserves, which are refused: a user's stored claims cannot choose them.
func (c *Claims) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("oidc: claims: %w", err)
	}
	if m == nil {
		return errors.New("oidc: claims must be a JSON object")
	}
	var out Claims
	for name, raw := range m {
		if err := out.set(name, raw); err != nil {
			return err
		}
	}
	*c = out
	return nil
}

// ClaimsFromMap returns the Claims of m, a map of claim names to values as
// a YAML or JSON decoder gives it (strings, booleans, numbers, and a map
// for address), with the rules of UnmarshalJSON. A nil map has no claims.
func ClaimsFromMap(m map[string]any) (*Claims, error) {
	if m == nil {
		return &Claims{}, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("oidc: claims: %w", err)
	}
	var c Claims
	if err := c.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return &c, nil
}

// set decodes one member of a claims object.
func (c *Claims) set(name string, raw json.RawMessage) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	str := func(dst *string) error {
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("oidc: claim %s must be a string (OpenID Connect Core 1.0 5.1)", name)
		}
		return nil
	}
	boolean := func(dst *bool) error {
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("oidc: claim %s must be a boolean (OpenID Connect Core 1.0 5.1)", name)
		}
		return nil
	}
	switch name {
	case ClaimName:
		return str(&c.Name)
	case ClaimGivenName:
		return str(&c.GivenName)
	case ClaimFamilyName:
		return str(&c.FamilyName)
	case ClaimMiddleName:
		return str(&c.MiddleName)
	case ClaimNickname:
		return str(&c.Nickname)
	case ClaimPreferredUsername:
		return str(&c.PreferredUsername)
	case ClaimProfile:
		return str(&c.Profile)
	case ClaimPicture:
		return str(&c.Picture)
	case ClaimWebsite:
		return str(&c.Website)
	case ClaimEmail:
		return str(&c.Email)
	case ClaimEmailVerified:
		return boolean(&c.EmailVerified)
	case ClaimGender:
		return str(&c.Gender)
	case ClaimBirthdate:
		return str(&c.Birthdate)
	case ClaimZoneinfo:
		return str(&c.Zoneinfo)
	case ClaimLocale:
		return str(&c.Locale)
	case ClaimPhoneNumber:
		return str(&c.PhoneNumber)
	case ClaimPhoneNumberVerified:
		return boolean(&c.PhoneNumberVerified)
	case ClaimAddress:
		var a Address
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			return errors.New("oidc: claim address must be an object of formatted, street_address, locality, region, postal_code and country strings (OpenID Connect Core 1.0 5.1.1)")
		}
		if !a.empty() {
			c.Address = &a
		}
		return nil
	case ClaimUpdatedAt:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return errors.New("oidc: claim updated_at must be a number of seconds since the epoch (OpenID Connect Core 1.0 5.1)")
		}
		sec, err := n.Int64()
		if err != nil || sec < 0 {
			return errors.New("oidc: claim updated_at must be a whole, non-negative number of seconds since the epoch (OpenID Connect Core 1.0 5.1)")
		}
		c.UpdatedAt = time.Unix(sec, 0).UTC()
		return nil
	}
	if !extraName(name) {
		return fmt.Errorf("oidc: claim %q is reserved and cannot be a user's claim", name)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("oidc: claim %q: %w", name, err)
	}
	if c.Extra == nil {
		c.Extra = make(map[string]any)
	}
	c.Extra[name] = v
	return nil
}

// ClaimSet is a set of claim names: the claims a request asks for, in an ID
// token or at the UserInfo endpoint. The zero ClaimSet is empty. Standard
// claims are kept as bits, so that testing and adding them costs no
// allocation.
type ClaimSet struct {
	std   uint32
	extra []string // sorted, unique, never a standard name
}

// Add adds the claim name to s. sub and the claims an ID token reserves are
// not added: they are never taken from a user's Claims.
func (s *ClaimSet) Add(name string) {
	if b, ok := standardBit[name]; ok {
		s.std |= b
		return
	}
	if !extraName(name) {
		return
	}
	i, found := slices.BinarySearch(s.extra, name)
	if !found {
		// Clip: a copy of s may share the array, which Insert must not
		// shift in place.
		s.extra = slices.Insert(slices.Clip(s.extra), i, name)
	}
}

// Has reports whether name is in s.
func (s ClaimSet) Has(name string) bool {
	if b, ok := standardBit[name]; ok {
		return s.std&b != 0
	}
	_, found := slices.BinarySearch(s.extra, name)
	return found
}

// Empty reports whether s has no claim.
func (s ClaimSet) Empty() bool { return s.std == 0 && len(s.extra) == 0 }

// Names returns the names in s: standard claims in the order of OpenID
// Connect Core 1.0 5.1, then the others sorted.
func (s ClaimSet) Names() []string {
	var out []string
	for b, n := range standardClaims {
		if s.std&(1<<b) != 0 {
			out = append(out, n)
		}
	}
	return append(out, s.extra...)
}

// union returns the claims of s and t.
func (s ClaimSet) union(t ClaimSet) ClaimSet {
	out := ClaimSet{std: s.std | t.std}
	if len(t.extra) == 0 {
		out.extra = s.extra
		return out
	}
	out.extra = slices.Clone(s.extra)
	for _, n := range t.extra {
		out.Add(n)
	}
	return out
}
