package loadserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/bench/internal/baretoken"
	"github.com/oauth2d/oauth2/bench/internal/loadgen"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

// The OpenID Connect modes serve the authorization code exchange of
// loadgen's code mode (RFC 6749 4.1.3 with PKCE, OpenID Connect Core 1.0
// 3.1.3): each answer has an access token, a refresh token and an ID token
// signed with RS256 or ES256. Before serving, each issues a pool of codes
// (the preload count, CodePool when 0), loadgen.Code(0) onwards, of an
// openid grant of the benchmark client.
const (
	BareOIDCRS256    = "bare-oidc-rs256"
	LibraryOIDCRS256 = "library-oidc-rs256"
	BareOIDCES256    = "bare-oidc-es256"
	LibraryOIDCES256 = "library-oidc-es256"
)

// CodePool is how many codes an OpenID Connect mode issues before serving
// by default: more than a 10-second run exchanges on one core.
const CodePool = 300_000

const (
	codeUser  = "user-1"
	codeNonce = "n-0S6_WzA2Mj"
)

// IsCodeMode reports whether mode is an OpenID Connect mode, which serves
// loadgen's code mode.
func IsCodeMode(mode string) bool {
	switch mode {
	case BareOIDCRS256, LibraryOIDCRS256, BareOIDCES256, LibraryOIDCES256:
		return true
	}
	return false
}

// newCodeMode builds an OpenID Connect mode with a pool of preload codes
// (CodePool when 0).
func newCodeMode(mode string, preload int) (*Server, error) {
	pool := preload
	if pool <= 0 {
		pool = CodePool
	}
	if strings.HasPrefix(mode, "bare-") {
		return bareOIDC(algOf(mode), pool)
	}
	return libraryOIDC(algOf(mode), pool)
}

// seqCodes makes the codes loadgen.Code(0), loadgen.Code(1), ...: the
// load generator must know them, and how a code is made is no part of
// what is measured, its exchange is.
type seqCodes struct{ next atomic.Int64 }

func (s *seqCodes) Token(context.Context, *oauth2.GenerateBasic) (string, error) {
	return loadgen.Code(s.next.Add(1) - 1), nil
}

// libraryOIDC is the library as an OpenID Provider: the memory store, an
// ID token generator of alg mapped on the manager, codes issued through
// the manager as the authorization endpoint issues them.
func libraryOIDC(alg string, pool int) (*Server, error) {
	manager := manage.NewDefaultManager()
	tokens, err := store.NewMemoryTokenStore()
	if err != nil {
		return nil, fmt.Errorf("loadserver: memory store: %w", err)
	}
	manager.MapTokenStorage(tokens)
	manager.MapAuthorizeGenerate(&seqCodes{})
	key, err := baretoken.GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	keys := generates.NewKeySet()
	if err := keys.Add(generates.SigningKey{Method: jwtMethods[alg], Key: key}, true); err != nil {
		return nil, err
	}
	idTokens, err := generates.NewJWTIDTokenGenerate(keys, "http://127.0.0.1:9190")
	if err != nil {
		return nil, err
	}
	manager.MapIDTokenGenerate(idTokens)
	client := &models.Client{
		ID: ClientID, Secret: ClientSecret, RedirectURIs: []string{loadgen.CodeRedirectURI},
		GrantTypes:              []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.Refreshing, oauth2.ClientCredentials},
		TokenEndpointAuthMethod: "client_secret_basic",
	}
	clients := store.NewClientStore()
	if err := clients.Set(ClientID, client); err != nil {
		return nil, err
	}
	manager.MapClientStorage(clients)
	ext, err := (&oidc.GrantInfo{Nonce: codeNonce, AuthTime: time.Now()}).Encode(nil)
	if err != nil {
		return nil, err
	}
	if err := parallel(pool, func() error {
		_, err := manager.GenerateAuthToken(context.Background(), oauth2.Code, &oauth2.TokenGenerateRequest{
			ClientID: ClientID, Client: client, UserID: codeUser, RedirectURI: loadgen.CodeRedirectURI, Scope: "openid",
			CodeChallenge: loadgen.CodeChallenge, CodeChallengeMethod: oauth2.CodeChallengeS256, Extension: ext,
		})
		return err
	}); err != nil {
		return nil, fmt.Errorf("loadserver: issue codes: %w", err)
	}
	srv := server.NewDefaultServer(manager)
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) { srv.HandleTokenRequest(w, r) })
	closer, _ := tokens.(io.Closer)
	return &Server{Handler: mux, closers: closersOf(closer)}, nil
}

// bareOIDC is baretoken's code exchange with the same pool of codes.
func bareOIDC(alg string, pool int) (*Server, error) {
	sg, err := baretoken.NewSigner(alg)
	if err != nil {
		return nil, err
	}
	h := baretoken.NewCodeHandler(ClientID, ClientSecret, sg)
	for i := range int64(pool) {
		h.Add(loadgen.Code(i), codeUser, loadgen.CodeRedirectURI, loadgen.CodeChallenge, codeNonce)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", h.ServeToken)
	return &Server{Handler: mux}, nil
}

// parallel runs fn n times on GOMAXPROCS goroutines and returns the first
// error.
func parallel(n int, fn func() error) error {
	var (
		next  atomic.Int64
		first atomic.Pointer[error]
		wg    sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && first.Load() == nil {
				if err := fn(); err != nil {
					first.CompareAndSwap(nil, &err)
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
