package dpop

import (
	"net"
	"net/url"
	"strings"
)

// sameURI reports whether the htu claim of a proof names target, the URI
// the request was sent to (RFC 9449 4.3 item 9): both without query and
// fragment, compared after syntax-based and scheme-based normalisation
// (RFC 3986 6.2.2, 6.2.3). An htu with a query or a fragment is refused:
// RFC 9449 4.2 defines htu without them. The query and fragment of target
// are ignored.
func sameURI(htu, target string) bool {
	if strings.ContainsAny(htu, "?#") {
		return false
	}
	if i := strings.IndexAny(target, "?#"); i >= 0 {
		target = target[:i]
	}
	if htu == target {
		return htu != ""
	}
	a, ok := NormalizeURI(htu)
	if !ok {
		return false
	}
	b, ok := NormalizeURI(target)
	return ok && a == b
}

// NormalizeURI returns the http or https URI s without its query and
// fragment, normalised as RFC 3986 6.2.2 and 6.2.3 say: scheme and host in
// lower case, the default port (80 for http, 443 for https) and an empty
// port removed, percent-encodings of unreserved characters decoded and the
// others in upper case, dot-segments removed, and an empty path made "/".
// It reports false for a URI that is not an absolute http or https URI
// with a host.
func NormalizeURI(s string) (string, bool) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	// Hostname strips the brackets of an IPv6 literal; one left over
	// ("http://]:0") is no host at all.
	if host == "" || strings.ContainsAny(host, "[]") {
		return "", false
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if port != "" {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	b.WriteString(host)
	path := removeDotSegments(normalizePercent(u.EscapedPath()))
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	return b.String(), true
}

// normalizePercent decodes the percent-encodings of unreserved characters
// (RFC 3986 2.3, 6.2.2.2) and writes the others with upper-case hex
// (6.2.2.1).
func normalizePercent(p string) string {
	if strings.IndexByte(p, '%') < 0 {
		return p
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' || i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			b = append(b, c)
			continue
		}
		d := unhex(p[i+1])<<4 | unhex(p[i+2])
		if unreserved(d) {
			b = append(b, d)
		} else {
			b = append(b, '%', hex[d>>4], hex[d&15])
		}
		i += 2
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// removeDotSegments is the algorithm of RFC 3986 5.2.4.
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out []string
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..":
			in = ""
		default:
			start := 0
			if in[0] == '/' {
				start = 1
			}
			end := strings.IndexByte(in[start:], '/')
			if end < 0 {
				end = len(in)
			} else {
				end += start
			}
			out = append(out, in[:end])
			in = in[end:]
		}
	}
	return strings.Join(out, "")
}
