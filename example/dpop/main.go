// Command dpop shows sender-constrained access tokens (DPoP, RFC 9449): an
// authorization server that binds the tokens it issues to the key of the
// client's proof, a protected resource that accepts such a token only with
// a fresh proof of that key, and a client that gets a token with
// golang.org/x/oauth2 and calls the resource, signing its proofs with
// github.com/go-jose/go-jose/v4.
//
//	go run ./example/dpop
//
// It serves on 127.0.0.1:9097, runs the client once against itself, prints
// what happened, and keeps serving.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/server"
	"github.com/oauth2d/oauth2/store"
)

const (
	clientID     = "000000"
	clientSecret = "999999"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:9097")
	if err != nil {
		log.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	go func() { log.Fatal(http.Serve(ln, newServer(issuer))) }()

	out, err := runClient(context.Background(), issuer)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out)
	select {}
}

// newServer returns the authorization server of issuer, with a protected
// resource at /resource. The client is registered with
// dpop_bound_access_tokens: it never gets a bearer token.
func newServer(issuer string) http.Handler {
	manager := manage.NewDefaultManager()
	// The binding of a token to its key is kept with the token's record, in
	// its extension data (oauth2.ExtendableTokenInfo): the store must keep
	// that data, as the file store does.
	dir, err := os.MkdirTemp("", "oauth2d-dpop-example")
	if err != nil {
		log.Fatal(err)
	}
	manager.MustTokenStorage(store.NewFileTokenStore(filepath.Join(dir, "tokens.json")))
	clients := store.NewClientStore()
	_ = clients.Set(clientID, &models.Client{ID: clientID, Secret: clientSecret, DPoPBoundAccessTokens: true})
	manager.MapClientStorage(clients)

	cfg := server.NewConfig()
	// The issuer names the token endpoint, the htu of the proofs sent to it.
	cfg.Issuer = issuer
	srv := server.NewServer(cfg, manager)
	// Where the jti of every proof is remembered, so that none is accepted
	// twice (RFC 9449 11.1); share it between processes in production.
	srv.SetKVStore(store.NewMemoryKV(nil))

	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = srv.HandleTokenRequest(w, r)
	})
	mux.HandleFunc(server.MetadataPath(issuer), srv.HandleMetadataRequest)
	mux.HandleFunc("/resource", func(w http.ResponseWriter, r *http.Request) {
		ti, err := srv.ValidateResourceRequest(w, r)
		if err != nil {
			srv.WriteResourceError(w, r, err)
			return
		}
		fmt.Fprintf(w, "hello %s, your token is bound to your key\n", ti.GetClientID())
	})
	return mux
}

// runClient gets a DPoP-bound token from the server at issuer and calls its
// resource with it, then tries the same token as a bearer token, which the
// resource refuses. It returns a report of both.
func runClient(ctx context.Context, issuer string) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	dpopClient := &http.Client{Transport: &dpopTransport{key: key, base: http.DefaultTransport}}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, dpopClient)
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: issuer + "/token"}
	tok, err := cc.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "token_type %s\n", tok.TokenType)

	// x/oauth2 sends "Authorization: DPoP <token>"; the transport under it
	// adds the proof with the token's hash.
	api := oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))
	body, status, err := get(api, issuer+"/resource")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "with a proof: %d %s", status, body)

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/resource", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	fmt.Fprintf(&b, "as a bearer token: %d %s\n", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	return b.String(), nil
}

func get(c *http.Client, u string) (string, int, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), resp.StatusCode, err
}

// dpopTransport signs a DPoP proof (RFC 9449 4.2) for every request with
// the client's key: typ dpop+jwt, the public key as jwk, and the claims
// jti, htm, htu, iat, and ath when the request presents a DPoP token.
type dpopTransport struct {
	key  *ecdsa.PrivateKey
	base http.RoundTripper
}

func (t *dpopTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	u := *req.URL
	u.RawQuery, u.Fragment = "", ""
	claims := map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
		"htm": req.Method,
		"htu": u.String(),
		"iat": time.Now().Unix(),
	}
	if tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "DPoP "); ok {
		claims["ath"] = hash(tok)
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: t.key}, opts)
	if err != nil {
		return nil, err
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		return nil, err
	}
	proof, err := jws.CompactSerialize()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("DPoP", proof)
	return t.base.RoundTrip(r)
}

// hash is the ath of an access token: base64url(SHA-256(token)).
func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
