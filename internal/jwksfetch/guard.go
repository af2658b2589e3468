package jwksfetch

import (
	"context"
	stderrors "errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrForbiddenAddress matches the error of a jwks_uri whose host is, or
// resolves to, an address the server must not reach on a client's behalf:
// loopback, private, link-local, CGNAT and other special-purpose ranges
// (server-side request forgery; see docs/architecture.md section 3).
var ErrForbiddenAddress = stderrors.New("jwksfetch: address not allowed")

// ErrBadURI matches the error of a jwks_uri that is not an absolute https
// URL without credentials or fragment (RFC 7591 2: "jwks_uri ... MUST use
// the https scheme").
var ErrBadURI = stderrors.New("jwksfetch: jwks_uri must be an https URL without credentials or fragment")

// special lists the special-purpose ranges (RFC 6890 and its IPv6
// registry) that netip's predicates do not cover and that reach no public
// host, or that embed an IPv4 address a gateway would translate to.
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network" (RFC 791)
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space, CGNAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking (RFC 2544)
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and the broadcast address
	netip.MustParsePrefix("::/96"),          // IPv4-compatible (deprecated), :: and ::1 among them
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64 (RFC 6052)
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("2001::/32"),      // Teredo (RFC 4380)
	netip.MustParsePrefix("2002::/16"),      // 6to4 (RFC 3056)
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated, RFC 3879)
}

// Forbidden reports whether a is an address a jwks_uri must not reach
// unless private addresses are allowed: loopback, private (RFC 1918,
// fc00::/7), link-local, unspecified, multicast, CGNAT (100.64.0.0/10) and
// the other special ranges above, IPv4-mapped IPv6 forms of them included.
func Forbidden(a netip.Addr) bool {
	if !a.IsValid() {
		return true
	}
	a = a.Unmap().WithZone("")
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range special {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// CheckURI checks the form of a jwks_uri: an absolute URL with a host, the
// https scheme (http too when allowPrivate, for tests), no user
// information (no credentials are ever sent) and no fragment; when its host
// is an IP literal, an address Forbidden refuses unless allowPrivate.
// Host names are checked where they are resolved, at dial time.
func CheckURI(raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, ErrBadURI
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowPrivate {
			return nil, ErrBadURI
		}
	default:
		return nil, ErrBadURI
	}
	host := u.Hostname()
	if host == "" {
		return nil, ErrBadURI
	}
	if a, err := netip.ParseAddr(host); err == nil && !allowPrivate && Forbidden(a) {
		return nil, fmt.Errorf("%w: %s", ErrForbiddenAddress, a)
	}
	return u, nil
}

// dialControl refuses, at dial time, a connection to an address Forbidden
// refuses: the address checked is the one the name resolved to, so that
// a name answering a public address to a first query and a private one to
// the next (DNS rebinding) gains nothing.
func dialControl(_ context.Context, network, address string, _ syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return fmt.Errorf("%w: network %s", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	if Forbidden(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}

// newDialer returns the dialer of the fetcher's transport.
func newDialer(cfg Config) *net.Dialer {
	d := &net.Dialer{Timeout: cfg.Timeout}
	if !cfg.AllowPrivate {
		d.ControlContext = dialControl
	}
	return d
}
