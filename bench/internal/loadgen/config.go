// Package loadgen is a small HTTP/1.1 load generator for the token and
// introspection endpoints of the benchmark servers. It keeps a fixed number
// of keep-alive connections busy for a fixed time, one request in flight per
// connection, and reports throughput, latency percentiles and errors.
//
// It speaks just enough HTTP/1.1 (RFC 9112) over raw connections to stay
// cheaper than the server it measures, and it only ever targets 127.0.0.1.
package loadgen

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Modes of the load generator.
const (
	// ModeToken posts client_credentials token requests (RFC 6749 4.4.2).
	ModeToken = "token"
	// ModeIntrospect gets one access token first, then posts introspection
	// requests for it (RFC 7662 2.1).
	ModeIntrospect = "introspect"
	// ModeTokenDPoP posts the client_credentials requests of ModeToken, each
	// with a fresh DPoP proof (RFC 9449 4.2) of the benchmark client key.
	ModeTokenDPoP = "token-dpop"
	// ModeCode posts authorization code exchanges of the server's pool of
	// codes (code.go), each answered with an ID token (OpenID Connect Core
	// 1.0 3.1.3.3).
	ModeCode = "code"
)

// Limits of the flags.
const (
	maxConns    = 4096
	maxDuration = time.Hour
)

// ErrBadFlag is wrapped by every flag validation error.
var ErrBadFlag = errors.New("loadgen: bad flag")

// Config is one load run.
type Config struct {
	// Addr is the server's host:port; the host must be 127.0.0.1.
	Addr string
	// Mode is ModeToken or ModeIntrospect.
	Mode string
	// Conns is the number of keep-alive connections, each with one request
	// in flight.
	Conns int
	// Duration bounds the run: no request starts after it.
	Duration time.Duration
	// Wait is how long to wait for the server to accept connections before
	// the run starts; 0 does not wait.
	Wait time.Duration
	// ClientID and ClientSecret authenticate every request with
	// client_secret_basic (RFC 6749 2.3.1).
	ClientID     string
	ClientSecret string
}

// DefaultConfig returns the defaults of the flags.
func DefaultConfig() Config {
	return Config{
		Addr:         "127.0.0.1:9190",
		Mode:         ModeToken,
		Conns:        32,
		Duration:     10 * time.Second,
		ClientID:     "000000",
		ClientSecret: "999999",
	}
}

// ParseFlags parses command-line arguments (without the program name) into
// a validated Config. Usage and parse errors go to output.
func ParseFlags(args []string, output io.Writer) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "server `host:port`; the host must be 127.0.0.1")
	fs.StringVar(&cfg.Mode, "mode", cfg.Mode, "token (POST /token), introspect (POST /introspect), token-dpop (POST /token with DPoP proofs) or code (code exchanges)")
	fs.IntVar(&cfg.Conns, "c", cfg.Conns, "keep-alive connections, one request in flight on each")
	fs.DurationVar(&cfg.Duration, "d", cfg.Duration, "duration of the run")
	fs.DurationVar(&cfg.Wait, "wait", cfg.Wait, "wait up to this long for the server to accept connections")
	fs.StringVar(&cfg.ClientID, "client-id", cfg.ClientID, "client_id for client_secret_basic")
	fs.StringVar(&cfg.ClientSecret, "client-secret", cfg.ClientSecret, "client secret for client_secret_basic")
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrBadFlag, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q", ErrBadFlag, fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks that the configuration is usable and targets 127.0.0.1.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("%w: -addr %q: %w", ErrBadFlag, c.Addr, err)
	}
	if host != "127.0.0.1" {
		return fmt.Errorf("%w: -addr host must be 127.0.0.1, got %q", ErrBadFlag, host)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%w: -addr port %q is not in 1..65535", ErrBadFlag, port)
	}
	switch c.Mode {
	case ModeToken, ModeIntrospect, ModeTokenDPoP, ModeCode:
	default:
		return fmt.Errorf("%w: -mode must be %s, %s, %s or %s, got %q", ErrBadFlag, ModeToken, ModeIntrospect, ModeTokenDPoP, ModeCode, c.Mode)
	}
	if c.Conns < 1 || c.Conns > maxConns {
		return fmt.Errorf("%w: -c must be in 1..%d, got %d", ErrBadFlag, maxConns, c.Conns)
	}
	if c.Duration <= 0 || c.Duration > maxDuration {
		return fmt.Errorf("%w: -d must be in (0, %s], got %s", ErrBadFlag, maxDuration, c.Duration)
	}
	if c.Wait < 0 || c.Wait > maxDuration {
		return fmt.Errorf("%w: -wait must be in [0, %s], got %s", ErrBadFlag, maxDuration, c.Wait)
	}
	if c.ClientID == "" {
		return fmt.Errorf("%w: -client-id is empty", ErrBadFlag)
	}
	return nil
}
