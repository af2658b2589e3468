// Package loadserver builds the HTTP handler of each mode of the load
// benchmark: the bare baselines of package baretoken, the library (manage,
// server, the memory store, generates) and the standalone app
// (internal/oauth2d). Every mode serves POST /token for the client
// credentials grant (RFC 6749 4.4) of client 000000 with secret 999999,
// authenticated with client_secret_basic (RFC 6749 2.3.1); the introspection
// modes also serve POST /introspect (RFC 7662 2); the OpenID Connect modes
// (oidc.go) serve the authorization code exchange instead.
package loadserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/oauth2d/oauth2/bench/internal/baretoken"
)

// The benchmark's client.
const (
	ClientID     = "000000"
	ClientSecret = "999999"
)

// Modes, in the order load.sh runs them.
const (
	Bare            = "bare"
	Library         = "library"
	BareES256       = "bare-es256"
	LibraryES256    = "library-es256"
	BareEdDSA       = "bare-eddsa"
	LibraryEdDSA    = "library-eddsa"
	BareRS256       = "bare-rs256"
	LibraryRS256    = "library-rs256"
	OAuth2d         = "oauth2d"
	OAuth2dSQLite   = "oauth2d-sqlite"
	OAuth2dPostgres = "oauth2d-postgres"
	OAuth2dMySQL    = "oauth2d-mysql"
	OAuth2dRedis    = "oauth2d-redis"
	IntrospectBare  = "introspect-bare"
	Introspect      = "introspect"
	// The DPoP modes (RFC 9449, dpop.go): every request carries a proof,
	// which the load generator's token-dpop mode signs.
	BareDPoP    = "bare-dpop"
	LibraryDPoP = "library-dpop"
)

// DPoPModes lists the modes whose token requests need a DPoP proof.
var DPoPModes = []string{BareDPoP, LibraryDPoP}

// Modes lists every mode.
var Modes = []string{
	Bare, Library,
	BareES256, LibraryES256, BareEdDSA, LibraryEdDSA, BareRS256, LibraryRS256,
	OAuth2d, OAuth2dSQLite, OAuth2dPostgres, OAuth2dMySQL, OAuth2dRedis,
	IntrospectBare, Introspect,
	BareOIDCRS256, LibraryOIDCRS256, BareOIDCES256, LibraryOIDCES256,
}

// Errors of New.
var (
	// ErrUnknownMode: the mode is not one of Modes.
	ErrUnknownMode = errors.New("loadserver: unknown mode")
	// ErrNoStore: -preload was asked of a mode that keeps no tokens.
	ErrNoStore = errors.New("loadserver: this mode keeps no tokens to preload")
	// ErrPreload: a preloading token request failed.
	ErrPreload = errors.New("loadserver: preload failed")
)

// Server is the handler of one mode and what it holds.
type Server struct {
	Handler http.Handler
	// ConnContext, when set, is the http.Server ConnContext hook the
	// handler is served with (the oauth2d modes: App.ConnContext, as the
	// oauth2d command serves it).
	ConnContext func(context.Context, net.Conn) context.Context
	// Report, when set, tells how the store grouped the writes so far:
	// writes per commit, or commands per round trip.
	Report  func() string
	closers []io.Closer
}

// Close releases what the mode holds (temporary files, databases).
func (s *Server) Close() error {
	var errs []error
	for _, c := range slices.Backward(s.closers) {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// New builds the server of mode. When preload is positive, it then issues
// that many client credentials tokens through the handler, so that the
// store holds them before the load starts; an OpenID Connect mode issues
// that many codes instead (CodePool when 0).
func New(ctx context.Context, mode string, preload int) (*Server, error) {
	if IsCodeMode(mode) {
		return newCodeMode(mode, preload)
	}
	var (
		s   *Server
		err error
	)
	switch mode {
	case Bare:
		s = bare(nil, false)
	case BareES256, BareEdDSA, BareRS256:
		var sg baretoken.Signer
		if sg, err = baretoken.NewSigner(algOf(mode)); err == nil {
			s = bare(sg, false)
		}
	case IntrospectBare:
		s = bare(nil, true)
	case Library:
		s, err = library("")
	case LibraryES256, LibraryEdDSA, LibraryRS256:
		s, err = library(algOf(mode))
	case Introspect:
		s, err = libraryIntrospect()
	case OAuth2d:
		s, err = standalone(ctx, engineMemory)
	case OAuth2dSQLite, OAuth2dPostgres, OAuth2dMySQL, OAuth2dRedis:
		s, err = standalone(ctx, strings.TrimPrefix(mode, "oauth2d-"))
	case BareDPoP:
		s, err = bareDPoP()
	case LibraryDPoP:
		s, err = library(baretoken.ES256)
	default:
		return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknownMode, mode, strings.Join(append(slices.Clone(Modes), DPoPModes...), ", "))
	}
	if err != nil {
		return nil, err
	}
	if preload > 0 {
		if mode == Bare || strings.HasPrefix(mode, "bare-") {
			s.Close()
			return nil, fmt.Errorf("%w: %s", ErrNoStore, mode)
		}
		if err := Preload(ctx, s.Handler, preload); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// algOf returns the JWS algorithm of a signing mode.
func algOf(mode string) string {
	switch {
	case strings.HasSuffix(mode, "-es256"):
		return baretoken.ES256
	case strings.HasSuffix(mode, "-eddsa"):
		return baretoken.EdDSA
	case strings.HasSuffix(mode, "-rs256"):
		return baretoken.RS256
	}
	return ""
}

func bare(sg baretoken.Signer, keep bool) *Server {
	var opts []baretoken.Option
	if sg != nil {
		opts = append(opts, baretoken.WithSigner(sg))
	}
	if keep {
		opts = append(opts, baretoken.WithStore())
	}
	h := baretoken.New(ClientID, ClientSecret, opts...)
	mux := http.NewServeMux()
	mux.HandleFunc("/token", h.ServeToken)
	if keep {
		mux.HandleFunc("/introspect", h.ServeIntrospect)
	}
	return &Server{Handler: mux}
}

// Preload issues n client credentials tokens through h, in process, using
// GOMAXPROCS goroutines.
func Preload(ctx context.Context, h http.Handler, n int) error {
	var (
		next  atomic.Int64
		first atomic.Pointer[error]
		wg    sync.WaitGroup
	)
	body := "grant_type=client_credentials&scope=read"
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && first.Load() == nil {
				if err := ctx.Err(); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(ClientID, ClientSecret)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					err := fmt.Errorf("%w: status %d: %s", ErrPreload, rec.Code, strings.TrimSpace(rec.Body.String()))
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}
