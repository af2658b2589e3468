package oauth2d

import (
	"net"
	"net/netip"
	"strconv"
)

// EnvAdminToken is the bearer token of the admin API; it takes precedence
// over admin_token_file.
const EnvAdminToken = "OAUTH2D_ADMIN_TOKEN"

// minAdminToken is the shortest admin token accepted: 32 bytes, as many as
// a random 256-bit key.
const minAdminToken = 32

// AdminConfig configures the admin API (docs/config.md, admin_listen): a
// listener of its own, off when AdminListen is empty.
type AdminConfig struct {
	// AdminListen is the host:port of the admin API. A host that is not a
	// loopback address needs AdminClientCAFile (mutual TLS) or
	// AdminAllowRemote.
	AdminListen string
	// AdminTokenFile is a file whose first line is the admin API's bearer
	// token, at least 32 bytes; OAUTH2D_ADMIN_TOKEN, when set, is used
	// instead.
	AdminTokenFile string
	// AdminToken is the token OAUTH2D_ADMIN_TOKEN gives. Not read from the
	// file.
	AdminToken string `yaml:"-"`
	// AdminClientCAFile, with tls configured, makes the admin listener
	// serve HTTPS and require a client certificate that chains to one of
	// these CAs (RFC 8705-style mutual TLS); such a certificate
	// authenticates its holder without the token.
	AdminClientCAFile string
	// AdminAllowRemote accepts an AdminListen on a host that is not a
	// loopback address without mutual TLS: the token then travels over
	// the network, in the clear unless a TLS proxy is in front.
	AdminAllowRemote bool
	// AdminThrottle overrides the limits on failed admin authentications
	// per source address; zero fields take the defaults of
	// ThrottleConfig. Not read from the file.
	AdminThrottle ThrottleConfig `yaml:"-"`
}

type fileAdmin struct {
	AdminListen       string `yaml:"admin_listen"`
	AdminTokenFile    string `yaml:"admin_token_file"`
	AdminClientCAFile string `yaml:"admin_client_ca_file"`
	AdminAllowRemote  string `yaml:"admin_allow_remote"`
}

func (fa *fileAdmin) convert(ps *problems) AdminConfig {
	return AdminConfig{
		AdminListen:       fa.AdminListen,
		AdminTokenFile:    fa.AdminTokenFile,
		AdminClientCAFile: fa.AdminClientCAFile,
		AdminAllowRemote:  parseBool(ps, "admin_allow_remote", fa.AdminAllowRemote),
	}
}

// validateAdmin checks the admin API's settings. The token file is read by
// New (a start-up error there too).
func (c *Config) validateAdmin(ps *problems) {
	if c.AdminListen == "" {
		if c.AdminClientCAFile != "" || c.AdminTokenFile != "" || c.AdminAllowRemote {
			ps.add("admin_listen", "required with the other admin_* settings")
		}
		return
	}
	host, port, err := net.SplitHostPort(c.AdminListen)
	if err != nil || port == "" {
		ps.add("admin_listen", "%q is not host:port", c.AdminListen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add("admin_listen", "port %q is not a number from 0 to 65535", port)
	} else if n != 0 && (c.AdminListen == c.Listen || c.AdminListen == c.MetricsListen) {
		ps.add("admin_listen", "must differ from listen and metrics_listen")
	}
	if !loopbackHost(host) && c.AdminClientCAFile == "" && !c.AdminAllowRemote {
		ps.add("admin_listen", "%q is not a loopback address: set admin_client_ca_file (mutual TLS) or admin_allow_remote: true", host)
	}
	if c.AdminClientCAFile != "" && !c.TLS.Enabled() {
		ps.add("admin_client_ca_file", "needs tls.cert_file and tls.key_file: the admin listener serves HTTPS with the server's certificate")
	}
	switch {
	case c.AdminToken != "" && len(c.AdminToken) < minAdminToken:
		ps.add(EnvAdminToken, "must be at least %d bytes of random text (make one with: head -c 32 /dev/urandom | base64)", minAdminToken)
	case c.AdminToken == "" && c.AdminTokenFile == "" && c.AdminClientCAFile == "":
		ps.add("admin_token_file", "required with admin_listen (or %s, or admin_client_ca_file): the admin API needs credentials", EnvAdminToken)
	}
}

// loopbackHost reports whether host is "localhost" or a loopback address.
// An empty host is every interface: not loopback.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
