package redis

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/internal/jsonenc"
	"github.com/oauth2d/oauth2/models"
)

// kind is the part of a record that a key names.
type kind int

const (
	kindCode kind = iota
	kindAccess
	kindRefresh
)

// keyword is the key segment of each kind; expField the record field that
// holds the kind's expiry, as the Lua scripts read it too.
var (
	keyword  = [...]string{"code:", "access:", "refresh:"}
	expField = [...]string{"cx", "ax", "rx"}
)

// hashValue returns the base64url SHA-256 of a code or token: what the
// store keeps instead of the value.
func hashValue(value string) string {
	// Through arrays on the stack: one allocation, the string, instead of
	// the three of []byte(value) and EncodeToString.
	var in [128]byte
	sum := sha256.Sum256(append(in[:0], value...))
	var out [hashLen]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}

// hashLen is the length of hashValue's result.
const hashLen = 43 // base64.RawURLEncoding.EncodedLen(sha256.Size)

// record is what the store keeps under each key of a TokenInfo: every field
// but the code and token values. Field names are short because each key
// holds a copy; cx, ax, rx, g and ak are also read by the Lua scripts.
type record struct {
	ClientID    string `json:"c,omitempty"`
	UserID      string `json:"u,omitempty"`
	RedirectURI string `json:"ru,omitempty"`
	Scope       string `json:"s,omitempty"`
	GrantID     string `json:"g,omitempty"`
	Challenge   string `json:"cc,omitempty"`
	Method      string `json:"cm,omitempty"`

	CodeAt     string `json:"ca,omitempty"`
	CodeTTL    int64  `json:"ct,omitempty"`
	CodeExp    string `json:"cx,omitempty"`
	AccessAt   string `json:"aa,omitempty"`
	AccessTTL  int64  `json:"at,omitempty"`
	AccessExp  string `json:"ax,omitempty"`
	RefreshAt  string `json:"ra,omitempty"`
	RefreshTTL int64  `json:"rt,omitempty"`
	RefreshExp string `json:"rx,omitempty"`

	// AccessKey is the hash of the access token stored with the record, so
	// that removing or rotating its refresh token removes it too (RFC 7009
	// 2.1).
	AccessKey string `json:"ak,omitempty"`

	// Extension is the record's extension data
	// (oauth2.ExtendableTokenInfo) in its url.Values.Encode form: ASCII,
	// so that JSON keeps every byte of it.
	Extension string `json:"x,omitempty"`
}

// part is one present part of a TokenInfo being written.
type part struct {
	kind kind
	hash string    // hashValue of the code or token, made once
	exp  time.Time // zero when the part never expires
}

// never is the expiry stamp of a part that does not expire: after every
// other stamp.
const never = "99999999999999999999"

// stampLen is the length of every expiry stamp.
const stampLen = len(never)

var (
	minStampTime = time.Unix(0, 0)
	maxStampTime = time.Unix(0, math.MaxInt64)
)

// stamp returns t as a fixed-width decimal count of Unix nanoseconds, so
// that the Lua scripts and Go compare instants as strings, exactly. Times
// outside the range of int64 nanoseconds are clamped.
func stamp(t time.Time) string {
	var n int64
	switch {
	case t.Before(minStampTime):
	case t.After(maxStampTime):
		n = math.MaxInt64
	default:
		n = t.UnixNano()
	}
	var b [stampLen]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[:])
}

// expStamp returns the expiry stamp of a part created at at that lives for
// d, never when d <= 0.
func expStamp(at time.Time, d time.Duration) string {
	if d <= 0 {
		return never
	}
	return stamp(at.Add(d))
}

// formatTime writes t exactly, as Unix seconds and nanoseconds; "" for the
// zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	var b [32]byte // one allocation, the string
	out := strconv.AppendInt(b[:0], t.Unix(), 10)
	out = append(out, '.')
	out = strconv.AppendInt(out, int64(t.Nanosecond()), 10)
	return string(out)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	sec, nsec, ok := strings.Cut(s, ".")
	if !ok {
		return time.Time{}, errBadRecord
	}
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt(nsec, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, errBadRecord
	}
	return time.Unix(a, b).UTC(), nil
}

// errBadRecord reports a value the store did not write.
var errBadRecord = errors.New("redis store: malformed stored record")

// newRecord returns the record of info and its present parts: the code
// part only when withCode.
func newRecord(info oauth2.TokenInfo, withCode bool) (*record, []part) {
	r := &record{
		ClientID:    info.GetClientID(),
		UserID:      info.GetUserID(),
		RedirectURI: info.GetRedirectURI(),
		Scope:       info.GetScope(),
		GrantID:     info.GetGrantID(),
	}
	if x, ok := info.(oauth2.ExtendableTokenInfo); ok {
		if v := x.GetExtension(); len(v) > 0 {
			r.Extension = v.Encode()
		}
	}
	var parts []part
	add := func(k kind, value string, at time.Time, d time.Duration) string {
		p := part{kind: k, hash: hashValue(value)}
		if d > 0 {
			p.exp = at.Add(d)
		}
		parts = append(parts, p)
		return p.hash
	}
	if code := info.GetCode(); withCode && code != "" {
		at, d := info.GetCodeCreateAt(), info.GetCodeExpiresIn()
		r.Challenge = info.GetCodeChallenge()
		r.Method = string(info.GetCodeChallengeMethod())
		r.CodeAt, r.CodeTTL, r.CodeExp = formatTime(at), int64(d), expStamp(at, d)
		add(kindCode, code, at, d)
	}
	if access := info.GetAccess(); access != "" {
		at, d := info.GetAccessCreateAt(), info.GetAccessExpiresIn()
		r.AccessAt, r.AccessTTL, r.AccessExp = formatTime(at), int64(d), expStamp(at, d)
		r.AccessKey = add(kindAccess, access, at, d)
	}
	if refresh := info.GetRefresh(); refresh != "" {
		at, d := info.GetRefreshCreateAt(), info.GetRefreshExpiresIn()
		r.RefreshAt, r.RefreshTTL, r.RefreshExp = formatTime(at), int64(d), expStamp(at, d)
		add(kindRefresh, refresh, at, d)
	}
	return r, parts
}

// exp returns the expiry stamp of kind k, "" when the record lacks it.
func (r *record) exp(k kind) string {
	switch k {
	case kindCode:
		return r.CodeExp
	case kindAccess:
		return r.AccessExp
	default:
		return r.RefreshExp
	}
}

// live reports whether part k of the record is live at the stamp now.
func (r *record) live(k kind, now string) bool {
	exp := r.exp(k)
	return len(exp) == stampLen && exp > now
}

// token returns the record as a TokenInfo found by value, the kind k key.
// The other code and token values are not stored, so they are empty.
func (r *record) token(k kind, value string) (*models.Token, error) {
	t := &models.Token{
		ClientID:            r.ClientID,
		UserID:              r.UserID,
		RedirectURI:         r.RedirectURI,
		Scope:               r.Scope,
		GrantID:             r.GrantID,
		CodeChallenge:       r.Challenge,
		CodeChallengeMethod: oauth2.CodeChallengeMethod(r.Method),
		CodeExpiresIn:       time.Duration(r.CodeTTL),
		AccessExpiresIn:     time.Duration(r.AccessTTL),
		RefreshExpiresIn:    time.Duration(r.RefreshTTL),
	}
	var err [3]error
	t.CodeCreateAt, err[0] = parseTime(r.CodeAt)
	t.AccessCreateAt, err[1] = parseTime(r.AccessAt)
	t.RefreshCreateAt, err[2] = parseTime(r.RefreshAt)
	if e := errors.Join(err[:]...); e != nil {
		return nil, e
	}
	if r.Extension != "" {
		x, err := url.ParseQuery(r.Extension)
		if err != nil {
			return nil, errBadRecord
		}
		t.Extension = x
	}
	switch k {
	case kindCode:
		t.Code = value
	case kindAccess:
		t.Access = value
	default:
		t.Refresh = value
	}
	return t, nil
}

// encode returns r as encoding/json writes it (fields in order, empty
// ones left out), without reflection: every write of the store encodes
// one record. TestRecord_EncodeIsJSONMarshal and FuzzRecordEncode hold it
// to json.Marshal's output.
func (r *record) encode() []byte {
	// The values, and room for the names, quotes and numbers of a
	// client_credentials token; a longer record grows the slice once.
	n := 72 + len(r.ClientID) + len(r.UserID) + len(r.RedirectURI) + len(r.Scope) +
		len(r.GrantID) + len(r.Challenge) + len(r.Method) + len(r.CodeAt) + len(r.CodeExp) +
		len(r.AccessAt) + len(r.AccessExp) + len(r.RefreshAt) + len(r.RefreshExp) + len(r.AccessKey) + len(r.Extension)
	b := make([]byte, 0, n)
	b = append(b, '{')
	member := func(name string) { // the separator and "name":
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	str := func(name, v string) {
		if v != "" {
			member(name)
			b = jsonenc.AppendString(b, v)
		}
	}
	num := func(name string, v int64) {
		if v != 0 {
			member(name)
			b = strconv.AppendInt(b, v, 10)
		}
	}
	str("c", r.ClientID)
	str("u", r.UserID)
	str("ru", r.RedirectURI)
	str("s", r.Scope)
	str("g", r.GrantID)
	str("cc", r.Challenge)
	str("cm", r.Method)
	str("ca", r.CodeAt)
	num("ct", r.CodeTTL)
	str("cx", r.CodeExp)
	str("aa", r.AccessAt)
	num("at", r.AccessTTL)
	str("ax", r.AccessExp)
	str("ra", r.RefreshAt)
	num("rt", r.RefreshTTL)
	str("rx", r.RefreshExp)
	str("ak", r.AccessKey)
	str("x", r.Extension)
	return append(b, '}')
}

func decodeRecord(b []byte) (*record, error) {
	r := new(record)
	if err := json.Unmarshal(b, r); err != nil {
		return nil, errBadRecord
	}
	return r, nil
}

// A replay marker replaces the record of a consumed code or rotated-out
// refresh token: markerTag, the expiry stamp until which it is remembered,
// the nonce of the call that consumed it (so that the client's retry of
// that call succeeds) and the grant ID.
const (
	markerTag   = '!'
	nonceLen    = 26 // len(rand.Text())
	markerFixed = 1 + stampLen + nonceLen
)

// parseMarker returns the expiry stamp and grant of a replay marker.
func parseMarker(v []byte) (exp, grant string, err error) {
	if len(v) < markerFixed || v[0] != markerTag {
		return "", "", errBadRecord
	}
	return string(v[1 : 1+stampLen]), string(v[markerFixed:]), nil
}
