package sqlstore

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// ErrInvalidDSN is wrapped by the error of a DSN that does not parse.
var ErrInvalidDSN = errors.New("invalid DSN")

// DSNError returns an error for a DSN that failed to parse: ErrInvalidDSN
// and what the driver said is wrong, with every password the DSN may hold
// masked. It does not wrap the driver's error, which may keep the DSN.
func DSNError(engine, dsn string, err error) error {
	msg := strings.TrimPrefix(err.Error(), ErrInvalidDSN.Error()+": ")
	return &dsnError{engine: engine, msg: Redact(msg, dsn)}
}

type dsnError struct{ engine, msg string }

func (e *dsnError) Error() string { return e.engine + ": " + ErrInvalidDSN.Error() + ": " + e.msg }
func (e *dsnError) Unwrap() error { return ErrInvalidDSN }

var passwordParam = regexp.MustCompile(`(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*)`)

// Redact masks in msg every string of dsn that may be a password: the
// password of a URL's or a MySQL DSN's user info, and password= parameters,
// raw and unescaped.
func Redact(msg, dsn string) string {
	var candidates []string
	userinfo := dsn
	if i := strings.Index(userinfo, "://"); i >= 0 {
		userinfo = userinfo[i+3:]
	}
	if at := strings.LastIndex(userinfo, "@"); at >= 0 {
		userinfo = userinfo[:at]
		if c := strings.Index(userinfo, ":"); c >= 0 {
			candidates = append(candidates, userinfo[c+1:])
		}
	}
	for _, m := range passwordParam.FindAllStringSubmatch(dsn, -1) {
		candidates = append(candidates, m[1], strings.Trim(m[1], "'"))
	}
	for _, c := range candidates {
		if u, err := url.PathUnescape(c); err == nil && u != c {
			candidates = append(candidates, u)
		}
		if u, err := url.QueryUnescape(c); err == nil && u != c {
			candidates = append(candidates, u)
		}
	}
	for _, c := range candidates {
		if c != "" {
			msg = strings.ReplaceAll(msg, c, "xxxxx")
		}
	}
	return msg
}
