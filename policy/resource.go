package policy

import (
	"net/url"
	"strings"
)

// Bounds of resource indicators (RFC 8707 2). Real resource URIs are short;
// the bounds keep what a grant carries in its extension data small.
const (
	// MaxResourceLength is the longest resource value accepted.
	MaxResourceLength = 512
	// MaxResources is the most resource values one request may carry.
	MaxResources = 8
)

// ValidResource reports whether s is a resource indicator as RFC 8707 2
// requires: an absolute URI (RFC 3986 4.3: a scheme, a colon and a
// non-empty rest, which may have a query) without a fragment, of at most
// MaxResourceLength characters of the URI character set (RFC 3986 2), with
// well-formed percent-encodings, that net/url parses as an absolute URI. An
// http or https resource must name a host.
// https://www.rfc-editor.org/rfc/rfc8707#section-2
func ValidResource(s string) bool {
	if s == "" || len(s) > MaxResourceLength {
		return false
	}
	colon := strings.IndexByte(s, ':')
	if colon <= 0 || colon == len(s)-1 {
		return false
	}
	for i := 0; i < colon; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	for i := colon + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		case !uriChar(c):
			return false
		}
	}
	if u, err := url.Parse(s); err != nil || !u.IsAbs() {
		return false
	}
	scheme := strings.ToLower(s[:colon])
	if scheme == "http" || scheme == "https" {
		rest := s[colon+1:]
		if !strings.HasPrefix(rest, "//") {
			return false
		}
		host := rest[2:]
		if i := strings.IndexAny(host, "/?"); i >= 0 {
			host = host[:i]
		}
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			host = host[at+1:]
		}
		if host == "" || host[0] == ':' {
			return false
		}
	}
	return true
}

// uriChar reports whether c may appear in a URI outside a percent-encoding
// (RFC 3986 2.2, 2.3), the fragment delimiter '#' excepted.
func uriChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?[]@!$&'()*+,;=", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// ParseResources checks the resource values of one request (RFC 8707 2):
// each valid (ValidResource), at most MaxResources of them. Repeated values
// are kept once. It returns ErrMalformedResource (invalid_target) for any
// other input, and nil for none.
func ParseResources(values []string) ([]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	if len(values) > MaxResources {
		return nil, ErrMalformedResource
	}
	out := make([]string, 0, len(values))
	for _, v := range values {
		if !ValidResource(v) {
			return nil, ErrMalformedResource
		}
		if !containsString(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
