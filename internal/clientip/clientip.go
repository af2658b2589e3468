// Package clientip finds the network address of the client of an HTTP
// request: the TCP peer, or, when the peer is a proxy the operator trusts,
// the address that proxy reports in X-Forwarded-For or Forwarded (RFC
// 7239). The standalone server keys its throttles by this address (see
// docs/config.md, trusted_proxies).
package clientip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds the client address of requests. The zero value, or one
// made without trusted proxies, always answers the TCP peer. It is safe for
// concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver that believes the forwarding headers of the peers
// in trusted.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: trusted}
}

// ParsePrefixes parses the trusted_proxies setting: CIDR prefixes
// ("10.0.0.0/8", "2001:db8::/32") or single addresses ("192.0.2.7",
// meaning /32 or /128). The error names the index of the first entry that
// does not parse.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("[%d]: %q is not an IP address or CIDR prefix (for example 10.0.0.0/8)", i, s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// HasTrusted reports whether the resolver believes any proxy.
func (r *Resolver) HasTrusted() bool { return r != nil && len(r.trusted) > 0 }

// Trusted reports whether a is the address of a trusted proxy.
func (r *Resolver) Trusted(a netip.Addr) bool {
	if r == nil || !a.IsValid() {
		return false
	}
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Peer returns the address of a request's TCP peer (http.Request.RemoteAddr,
// "host:port"), IPv4-mapped IPv6 addresses unmapped; the zero Addr when it
// does not parse.
func Peer(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	// A RemoteAddr without a port (set by some test harnesses).
	return parseHop(remoteAddr)
}

// Addr returns the client address of req. It is the TCP peer unless the
// peer is a trusted proxy. Then the forwarding headers are read from the
// right, the side the nearest proxy appends to: X-Forwarded-For when
// present (every line, in order), else the "for" parameters of Forwarded
// (RFC 7239 4, 5.2). Each trusted address is a proxy and is skipped; the
// first untrusted one is the client. When every hop is trusted the
// left-most is the answer, and a hop that is not an IP address ("unknown",
// an obfuscated name, garbage) ends the walk at the hop to its right, the
// last address a trusted proxy vouched for.
//
// X-Forwarded-For is preferred because every common proxy sets it; a proxy
// that sets only Forwarded must remove an X-Forwarded-For sent by the
// client, or a client could choose its own address (docs/config.md).
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	return r.AddrFrom(Peer(req.RemoteAddr), req)
}

// AddrFrom is Addr for a request whose TCP peer, Peer(req.RemoteAddr), is
// already known: a server that parsed it once for the connection.
func (r *Resolver) AddrFrom(peer netip.Addr, req *http.Request) netip.Addr {
	if !r.Trusted(peer) {
		return peer
	}
	if xff := req.Header["X-Forwarded-For"]; len(xff) > 0 {
		return r.walkXFF(peer, xff)
	}
	if fwd := req.Header["Forwarded"]; len(fwd) > 0 {
		return r.walk(peer, ForwardedFor(fwd))
	}
	return peer
}

// walkXFF walks the comma-separated lists of X-Forwarded-For from the
// right without allocating.
func (r *Resolver) walkXFF(last netip.Addr, lines []string) netip.Addr {
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for {
			hop := line
			comma := strings.LastIndexByte(line, ',')
			if comma >= 0 {
				hop, line = line[comma+1:], line[:comma]
			}
			hop = strings.TrimSpace(hop)
			if hop != "" {
				a := parseHop(hop)
				if !a.IsValid() {
					return last
				}
				if !r.Trusted(a) {
					return a
				}
				last = a
			}
			if comma < 0 {
				break
			}
		}
	}
	return last
}

// walk walks hops, left to right as they were appended, from the right.
func (r *Resolver) walk(last netip.Addr, hops []string) netip.Addr {
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseHop(hops[i])
		if !a.IsValid() {
			return last
		}
		if !r.Trusted(a) {
			return a
		}
		last = a
	}
	return last
}

// parseHop parses one hop of a forwarding header: an IPv4 or IPv6 address,
// bracketed or not, with or without a port. Anything else is the zero Addr.
func parseHop(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.Unmap().WithZone("")
		}
	}
	return netip.Addr{}
}

// ForwardedFor returns the values of the "for" parameters of Forwarded
// header lines (RFC 7239 4), one per forwarded-element, in order, quotes
// removed. An element without "for", or one that does not parse, gives ""
// (not an address): a malformed element, which a client may have sent,
// does not hide the elements the proxies appended after it.
func ForwardedFor(lines []string) []string {
	var out []string
	for _, line := range lines {
		for _, elem := range splitElements(line) {
			v, ok := parseElement(elem)
			if !ok {
				v = ""
			}
			out = append(out, v)
		}
	}
	return out
}

// splitElements splits a Forwarded line at the commas that are not inside
// a quoted-string; when a quote is left open, at every comma.
func splitElements(line string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, line[start:i])
			start = i + 1
		}
	}
	if quoted {
		// An unterminated quote, which a client may send to swallow what
		// the proxies append: every comma separates.
		return strings.Split(line, ",")
	}
	return append(out, line[start:])
}

// parseElement reads one forwarded-element of RFC 7239 4 and returns its
// "for" value:
//
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair    = token "=" value
//	value             = token / quoted-string
func parseElement(s string) (string, bool) {
	p := fwdParser{s: s}
	var forValue string
	seen := false
	for {
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] != ';' {
			name := p.token()
			if name == "" || !p.next('=') {
				return "", false
			}
			v, ok := p.value()
			if !ok {
				return "", false
			}
			if strings.EqualFold(name, "for") {
				if seen {
					// RFC 7239 4: a parameter occurs once per element.
					return "", false
				}
				forValue, seen = v, true
			}
		}
		if !p.next(';') {
			return forValue, p.done()
		}
	}
}

// fwdParser reads the tokens of one forwarded-element.
type fwdParser struct {
	s string
	i int
}

func (p *fwdParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// next consumes the separator c, with white space around it.
func (p *fwdParser) next(c byte) bool {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		p.skipSpace()
		return true
	}
	return false
}

func (p *fwdParser) done() bool {
	p.skipSpace()
	return p.i == len(p.s)
}

func (p *fwdParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *fwdParser) value() (string, bool) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		return p.quoted()
	}
	v := p.token()
	return v, v != ""
}

// quoted reads a quoted-string (RFC 9110 5.6.4), undoing quoted-pairs.
func (p *fwdParser) quoted() (string, bool) {
	p.i++ // the opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), true
		case c == '\\':
			if p.i+1 == len(p.s) || !isQuotable(p.s[p.i+1]) {
				return "", false
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case isQuotable(c):
			b.WriteByte(c)
			p.i++
		default:
			return "", false
		}
	}
	return "", false
}

// isQuotable reports whether c may appear in a quoted-string: HTAB, SP,
// VCHAR or obs-text (RFC 9110 5.6.4).
func isQuotable(c byte) bool {
	return c == '\t' || c >= 0x20 && c != 0x7f
}

// isTokenChar reports whether c is a tchar of RFC 9110 5.6.2.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Group returns the address that stands for a's network in a throttle: an
// IPv4 address itself, an IPv6 address its /64 prefix, since one host or
// site is routinely given a whole /64 and could otherwise try from 2^64
// addresses. The zero Addr stays zero.
func Group(a netip.Addr) netip.Addr {
	if !a.Is6() {
		return a
	}
	p, _ := a.Prefix(64)
	return p.Addr()
}
