package manage

import (
	"context"
	stderrors "errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// ValidateURIHandler checks a requested redirect URI against the single
// redirect base (the seed's Domain) of a client that registers no redirect
// URIs. It returns nil when redirectURI may be used.
type ValidateURIHandler func(baseURI, redirectURI string) error

// SetValidateURIHandler sets the check used for clients that register only
// a Domain; nil restores DefaultValidateURI. Clients that register redirect
// URIs (oauth2.ClientMetadata) are always matched exactly.
func (m *Manager) SetValidateURIHandler(handler ValidateURIHandler) {
	m.validateURI = handler
}

// ValidateRedirectURI checks redirectURI against the client's registration
// and returns the URI to redirect to (RFC 6749 3.1.2, RFC 9700 2.1):
//
//   - a redirect URI with a fragment, a relative one or one that does not
//     parse is refused (RFC 6749 3.1.2);
//   - a client with registered redirect URIs gets an exact string match,
//     except that a loopback URI registered with the IP literal 127.0.0.1
//     or [::1] over http matches in any port (RFC 8252 7.3); an empty
//     redirectURI is allowed only when exactly one URI is registered, which
//     is returned (RFC 6749 3.1.2.3);
//   - a client with only a Domain is checked with the ValidateURIHandler,
//     DefaultValidateURI unless set; an empty redirectURI returns the
//     Domain;
//   - a client with neither is refused.
//
// Every error wraps errors.ErrInvalidRedirectURI.
func (m *Manager) ValidateRedirectURI(ctx context.Context, cli oauth2.ClientInfo, redirectURI string) (string, error) {
	if cli == nil {
		return "", errors.ErrInvalidClient
	}
	if redirectURI != "" {
		if _, err := parseRedirect(redirectURI); err != nil {
			return "", err
		}
	}
	if md, ok := cli.(oauth2.ClientMetadata); ok {
		if uris := md.GetRedirectURIs(); len(uris) > 0 {
			return matchRegistered(uris, redirectURI)
		}
	}
	domain := cli.GetDomain()
	if domain == "" {
		return "", fmt.Errorf("manage: client has no redirect URI: %w", errors.ErrInvalidRedirectURI)
	}
	if _, err := parseRedirect(domain); err != nil {
		return "", fmt.Errorf("manage: registered domain: %w", err)
	}
	if redirectURI == "" {
		return domain, nil
	}
	validate := m.validateURI
	if validate == nil {
		validate = DefaultValidateURI
	}
	if err := validate(domain, redirectURI); err != nil {
		if stderrors.Is(err, errors.ErrInvalidRedirectURI) {
			return "", err
		}
		return "", fmt.Errorf("%w: %w", errors.ErrInvalidRedirectURI, err)
	}
	return redirectURI, nil
}

// parseRedirect parses a redirect URI, refusing one that has a fragment, is
// not absolute or does not parse (RFC 6749 3.1.2).
func parseRedirect(raw string) (*url.URL, error) {
	if strings.IndexByte(raw, '#') >= 0 {
		return nil, fmt.Errorf("manage: redirect_uri has a fragment: %w", errors.ErrInvalidRedirectURI)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("manage: redirect_uri does not parse: %w", errors.ErrInvalidRedirectURI)
	}
	if !u.IsAbs() {
		return nil, fmt.Errorf("manage: redirect_uri is not absolute: %w", errors.ErrInvalidRedirectURI)
	}
	return u, nil
}

// matchRegistered matches redirectURI against the registered URIs by exact
// string comparison, or in any port for loopback URIs (RFC 8252 7.3).
func matchRegistered(uris []string, redirectURI string) (string, error) {
	if redirectURI == "" {
		if len(uris) == 1 {
			return uris[0], nil
		}
		return "", fmt.Errorf("manage: redirect_uri required with several registered: %w", errors.ErrInvalidRedirectURI)
	}
	for _, u := range uris {
		if u == redirectURI {
			return redirectURI, nil
		}
	}
	if host, rest, ok := splitLoopback(redirectURI); ok {
		for _, u := range uris {
			if h, r, ok := splitLoopback(u); ok && h == host && r == rest {
				return redirectURI, nil
			}
		}
	}
	return "", fmt.Errorf("manage: redirect_uri not registered: %w", errors.ErrInvalidRedirectURI)
}

// splitLoopback splits an http loopback URI with an IP literal host
// (RFC 8252 7.3) into its host and everything after the port, so that two
// such URIs compare equal when they differ in port only. It refuses
// userinfo and a malformed port.
func splitLoopback(raw string) (host, rest string, ok bool) {
	const scheme = "http://"
	if !strings.HasPrefix(raw, scheme) {
		return "", "", false
	}
	s := raw[len(scheme):]
	end := strings.IndexAny(s, "/?")
	if end < 0 {
		end = len(s)
	}
	authority, rest := s[:end], s[end:]
	var port string
	switch {
	case strings.HasPrefix(authority, "127.0.0.1"):
		host, port = authority[:len("127.0.0.1")], authority[len("127.0.0.1"):]
	case strings.HasPrefix(authority, "[::1]"):
		host, port = authority[:len("[::1]")], authority[len("[::1]"):]
	default:
		return "", "", false
	}
	if port != "" && !validPort(port) {
		return "", "", false
	}
	return host, rest, true
}

// validPort reports whether p is ":" followed by a decimal port number.
func validPort(p string) bool {
	if len(p) < 2 || len(p) > 6 || p[0] != ':' {
		return false
	}
	n := 0
	for i := 1; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// DefaultValidateURI allows redirectURI when it has the same scheme, host
// and port as baseURI, with any path and query (the seed's Domain, made
// strict: RFC 9700 4.1.3 warns against pattern matching). Hosts compare
// exactly and case-insensitively, never by suffix or prefix; a missing port
// is the scheme's default. A redirect URI with userinfo, a fragment, no
// host, or a non-ASCII host is refused.
func DefaultValidateURI(baseURI, redirectURI string) error {
	base, err := parseOrigin(baseURI)
	if err != nil {
		return fmt.Errorf("manage: registered domain: %w", err)
	}
	red, err := parseOrigin(redirectURI)
	if err != nil {
		return err
	}
	if base.Scheme != red.Scheme ||
		!asciiEqualFold(base.Hostname(), red.Hostname()) ||
		effectivePort(base) != effectivePort(red) {
		return fmt.Errorf("manage: redirect_uri is not on the registered domain: %w", errors.ErrInvalidRedirectURI)
	}
	return nil
}

// parseOrigin parses an absolute hierarchical URI with a host, no
// userinfo and no fragment.
func parseOrigin(raw string) (*url.URL, error) {
	u, err := parseRedirect(raw)
	if err != nil {
		return nil, err
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("manage: redirect_uri has no host: %w", errors.ErrInvalidRedirectURI)
	}
	if u.User != nil || strings.IndexByte(u.Host, '@') >= 0 {
		return nil, fmt.Errorf("manage: redirect_uri has userinfo: %w", errors.ErrInvalidRedirectURI)
	}
	for i := 0; i < len(u.Host); i++ {
		if u.Host[i] >= 0x80 {
			return nil, fmt.Errorf("manage: redirect_uri host is not ASCII: %w", errors.ErrInvalidRedirectURI)
		}
	}
	return u, nil
}

// effectivePort returns u's port, or the default port of its scheme.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// asciiEqualFold compares two ASCII strings case-insensitively. Unlike
// strings.EqualFold it folds no other characters (the Kelvin sign is not
// "k"), so that a host can only match itself.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
