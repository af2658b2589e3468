package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/dpop"
	"github.com/oauth2d/oauth2/internal/dpoptest"
)

// dpopClient returns an HTTP client whose requests carry proofs of p, for
// golang.org/x/oauth2 (context key oauth2.HTTPClient) and resource calls.
func dpopClient(p *dpoptest.Prover) (*http.Client, *dpoptest.Transport) {
	tr := &dpoptest.Transport{Prover: p}
	return &http.Client{Transport: tr}, tr
}

func TestDPoP_ClientCredentialsTokenIsBoundToTheProofKey(t *testing.T) {
	e := newSenderEnv(t)
	p := dpoptest.NewProver(jose.ES256)
	p.Now = e.clock
	hc, _ := dpopClient(p)
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, hc)
	cc := clientcredentials.Config{ClientID: confID, ClientSecret: confSecret, TokenURL: e.ts.URL + "/token", Scopes: []string{"read"}}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != dpop.TokenType || tok.Type() != "DPoP" {
		t.Fatalf("token_type %q", tok.TokenType)
	}
	if c := e.jwtClaims(tok.AccessToken); c.Confirmation == nil || c.Confirmation.JKT != p.Thumbprint() {
		t.Fatalf("JWT cnf %+v, want jkt %s", c.Confirmation, p.Thumbprint())
	}
	in := e.introspect(tok.AccessToken)
	if in["token_type"] != "DPoP" || in["cnf"].(map[string]any)["jkt"] != p.Thumbprint() {
		t.Fatalf("introspection %v", in)
	}

	// The resource accepts it with a proof of the key, through x/oauth2's
	// transport ("Authorization: DPoP <token>") over the DPoP transport.
	api := cc.Client(ctx)
	api.Transport.(*xoauth2.Transport).Base = &dpoptest.Transport{Prover: p}
	resp, err := api.Get(e.ts.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("resource with the proof: %d", resp.StatusCode)
	}

	// Never as a bearer token, at the resource helper, the bearer
	// validation and the UserInfo endpoint.
	if resp, _ := e.api("Bearer "+tok.AccessToken, ""); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("as bearer: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	r := httptestRequest("Bearer " + tok.AccessToken)
	if _, err := e.srv.ValidationBearerToken(r); err == nil {
		t.Fatal("ValidationBearerToken took a DPoP-bound token")
	}
	// Not without the proof, nor with a proof of another key, nor with an
	// ath of another token.
	if resp, _ := e.api("DPoP "+tok.AccessToken, ""); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `DPoP error="invalid_dpop_proof"`) {
		t.Fatalf("without a proof: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	other := dpoptest.NewProver(jose.ES256)
	other.Now = e.clock
	if resp, _ := e.api("DPoP "+tok.AccessToken, other.Proof("GET", e.ts.URL+"/api", tok.AccessToken)); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("another key: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp, _ := e.api("DPoP "+tok.AccessToken, p.Proof("GET", e.ts.URL+"/api", tok.AccessToken+"x")); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_dpop_proof"`) {
		t.Fatalf("ath of another token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// A proof made for the token endpoint is not one for the resource.
	if resp, _ := e.api("DPoP "+tok.AccessToken, p.Proof("POST", e.ts.URL+"/api", tok.AccessToken)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("htm POST for a GET: %d", resp.StatusCode)
	}
}

func httptestRequest(authz string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://rs.example/api", nil)
	r.Header.Set("Authorization", authz)
	return r
}

// TestDPoP_PublicClientFlowOverHTTP is the flow of a browser app with
// oauth4webapi: PKCE, dpop_jkt on the authorization request, the code
// exchanged and the refresh token used with proofs of the same key, by
// golang.org/x/oauth2 over real HTTP.
func TestDPoP_PublicClientFlowOverHTTP(t *testing.T) {
	e := newSenderEnv(t)
	p := dpoptest.NewProver(jose.ES256)
	p.Now = e.clock
	hc, tr := dpopClient(p)
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, hc)
	cfg := xoauth2.Config{ClientID: pubID, RedirectURL: pubCB,
		Endpoint: xoauth2.Endpoint{AuthURL: e.ts.URL + "/authorize", TokenURL: e.ts.URL + "/token", AuthStyle: xoauth2.AuthStyleInParams}}
	verifier := xoauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st", xoauth2.S256ChallengeOption(verifier), xoauth2.SetAuthURLParam("dpop_jkt", p.Thumbprint()))
	loc := followAuthorize(t, authURL, pubCB)
	tok, err := cfg.Exchange(ctx, loc.Get("code"), xoauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" || tok.RefreshToken == "" {
		t.Fatalf("token %+v", tok)
	}
	in := e.introspect(tok.RefreshToken)
	if in["active"] != true {
		t.Fatalf("refresh token introspection %v", in)
	}

	// Refresh with the same key: rotated, still bound.
	tok.Expiry = time.Now().Add(-time.Second)
	next, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if next.TokenType != "DPoP" || next.RefreshToken == tok.RefreshToken || e.jwtClaims(next.AccessToken).Confirmation.JKT != p.Thumbprint() {
		t.Fatalf("refreshed %+v", next)
	}
	if tr.Proofs != 2 {
		t.Fatalf("%d proofs sent, want 2", tr.Proofs)
	}

	// The public client's refresh token is bound: another key, or none, is
	// refused, and nothing is issued.
	before := e.issued()
	other := dpoptest.NewProver(jose.EdDSA)
	other.Now = e.clock
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.RefreshToken}, "client_id": {pubID}}
	resp, data := e.post("/token", form, "", e.proofFor(other, "/token"))
	wantError(t, resp, data, http.StatusBadRequest, "invalid_grant")
	resp, data = e.post("/token", form, "", "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_grant")
	if e.issued() != before {
		t.Fatal("a refused refresh issued a token")
	}
	// The refused attempts did not use the refresh token up.
	resp, data = e.post("/token", form, "", e.proofFor(p, "/token"))
	if resp.StatusCode != http.StatusOK || data["token_type"] != "DPoP" {
		t.Fatalf("refresh with the key after refusals: %d %v", resp.StatusCode, data)
	}
}

// TestDPoP_CodeBoundByDPoPJKT: a code issued for a dpop_jkt is redeemed
// only with a proof of that key; a refusal does not consume it.
func TestDPoP_CodeBoundByDPoPJKT(t *testing.T) {
	e := newSenderEnv(t)
	p, other := dpoptest.NewProver(jose.ES256), dpoptest.NewProver(jose.ES256)
	p.Now, other.Now = e.clock, e.clock
	code := e.code(confID, confRedirect, url.Values{"dpop_jkt": {p.Thumbprint()}})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}}
	resp, data := e.post("/token", form, confID, e.proofFor(other, "/token"))
	wantError(t, resp, data, http.StatusBadRequest, "invalid_grant")
	resp, data = e.post("/token", form, confID, "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_grant")
	if e.issued() != 1 { // the code only
		t.Fatalf("%d records stored", e.issued())
	}
	resp, data = e.post("/token", form, confID, e.proofFor(p, "/token"))
	if resp.StatusCode != http.StatusOK || data["token_type"] != "DPoP" {
		t.Fatalf("with the key: %d %v", resp.StatusCode, data)
	}

	// A malformed dpop_jkt is refused at the authorization endpoint.
	got := e.redirected(e.authorize(url.Values{"client_id": {confID}, "response_type": {"code"}, "redirect_uri": {confRedirect}, "dpop_jkt": {"not-a-thumbprint"}}))
	if got.Get("error") != "invalid_request" || got.Get("code") != "" {
		t.Fatalf("bad dpop_jkt: %v", got)
	}
}

// TestDPoP_ConfidentialClientMayChangeKeysAtRefresh: RFC 9449 5 binds only
// a public client's refresh token; a confidential client's new access
// token is bound to the key of the refresh request's proof, or to none.
func TestDPoP_ConfidentialClientMayChangeKeysAtRefresh(t *testing.T) {
	e := newSenderEnv(t)
	p, q := dpoptest.NewProver(jose.ES256), dpoptest.NewProver(jose.RS256)
	p.Now, q.Now = e.clock, e.clock
	code := e.code(confID, confRedirect, nil)
	_, data := e.post("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}}, confID, e.proofFor(p, "/token"))
	rt := data["refresh_token"].(string)
	_, data = e.post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, confID, e.proofFor(q, "/token"))
	if data["token_type"] != "DPoP" || e.jwtClaims(data["access_token"].(string)).Confirmation.JKT != q.Thumbprint() {
		t.Fatalf("refresh with another key: %v", data)
	}
	_, data = e.post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {data["refresh_token"].(string)}}, confID, "")
	if data["token_type"] != "Bearer" || e.jwtClaims(data["access_token"].(string)).Confirmation != nil {
		t.Fatalf("refresh without a proof: %v", data)
	}
}

func TestDPoP_BoundClientNeverGetsABearerToken(t *testing.T) {
	e := newSenderEnv(t)
	resp, data := e.post("/token", url.Values{"grant_type": {"client_credentials"}}, boundID, "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_dpop_proof")
	if e.issued() != 0 {
		t.Fatal("issued without a proof")
	}
	p := dpoptest.NewProver(jose.PS256)
	p.Now = e.clock
	resp, data = e.post("/token", url.Values{"grant_type": {"client_credentials"}}, boundID, e.proofFor(p, "/token"))
	if resp.StatusCode != http.StatusOK || data["token_type"] != "DPoP" {
		t.Fatalf("with a proof: %d %v", resp.StatusCode, data)
	}
}

// TestDPoP_TokenEndpointRefusesEveryBadProof is the table of RFC 9449 4.3
// at the token endpoint, over HTTP: each is 400 invalid_dpop_proof and
// issues nothing.
func TestDPoP_TokenEndpointRefusesEveryBadProof(t *testing.T) {
	e := newSenderEnv(t)
	p := dpoptest.NewProver(jose.ES256)
	p.Now = e.clock
	tokenURL := e.ts.URL + "/token"
	claims := func(mut func(map[string]any)) map[string]any {
		c := p.Claims("POST", tokenURL, "")
		mut(c)
		return c
	}
	hmacKey := []byte("0123456789abcdef0123456789abcdef")
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	replayed := e.proofFor(p, "/token")
	if resp, data := e.post("/token", url.Values{"grant_type": {"client_credentials"}}, confID, replayed); resp.StatusCode != http.StatusOK {
		t.Fatalf("first use: %v", data)
	}
	// A second process of the deployment, over the same store.
	other := e.newServer()
	cases := []struct {
		name   string
		proof  string
		srv    bool // at the other process
		header []string
	}{
		{"private key in jwk", p.Sign(claims(func(map[string]any) {}), map[string]any{"jwk": jose.JSONWebKey{Key: p.Key}}), false, nil},
		{"alg none", dpoptest.Unsigned(map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": p.PublicJWK()}, claims(func(map[string]any) {})), false, nil},
		{"HMAC", dpoptest.SignWith(jose.SigningKey{Algorithm: jose.HS256, Key: hmacKey}, claims(func(map[string]any) {}),
			map[string]any{"jwk": map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(hmacKey)}}), false, nil},
		{"signed by another key", dpoptest.SignWith(jose.SigningKey{Algorithm: jose.ES256, Key: otherKey}, claims(func(map[string]any) {}),
			map[string]any{"jwk": p.PublicJWK()}), false, nil},
		{"typ JWT", p.Sign(claims(func(map[string]any) {}), map[string]any{"typ": "JWT"}), false, nil},
		{"htm GET", p.Proof("GET", tokenURL, ""), false, nil},
		{"htu of another endpoint", p.Proof("POST", e.ts.URL+"/introspect", ""), false, nil},
		{"htu with a query", p.Proof("POST", tokenURL+"?a=b", ""), false, nil},
		{"htu with a fragment", p.Proof("POST", tokenURL+"#f", ""), false, nil},
		{"iat stale", p.Sign(claims(func(c map[string]any) { c["iat"] = e.clock().Add(-2 * time.Minute).Unix() }), nil), false, nil},
		{"iat in the future", p.Sign(claims(func(c map[string]any) { c["iat"] = e.clock().Add(time.Minute).Unix() }), nil), false, nil},
		{"no jti", p.Sign(claims(func(c map[string]any) { delete(c, "jti") }), nil), false, nil},
		{"jti replayed at another process", replayed, true, nil},
		{"two DPoP headers", "", false, []string{e.proofFor(p, "/token"), e.proofFor(p, "/token")}},
		{"not a JWT", "definitely-not-a-jwt", false, nil},
	}
	mux := http.NewServeMux()
	e.route(mux, other)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.issued()
			req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(confID, confSecret)
			if tc.proof != "" {
				req.Header.Set("DPoP", tc.proof)
			}
			for _, h := range tc.header {
				req.Header.Add("DPoP", h)
			}
			var resp *http.Response
			var data map[string]any
			if tc.srv {
				w := newRecorder()
				mux.ServeHTTP(w, req)
				resp, data = w.result(t)
			} else {
				resp, data = e.do(req)
			}
			wantError(t, resp, data, http.StatusBadRequest, "invalid_dpop_proof")
			if e.issued() != before {
				t.Fatal("a token was issued")
			}
		})
	}
}

func TestDPoP_ServerNoncesAnsweredByTheClient(t *testing.T) {
	e := newSenderEnv(t)
	e.srv.Config.DPoP.RequireNonce = true
	p := dpoptest.NewProver(jose.ES256)
	p.Now = e.clock

	// Without a nonce: 400 use_dpop_nonce with the nonce to use.
	resp, data := e.post("/token", url.Values{"grant_type": {"client_credentials"}}, confID, e.proofFor(p, "/token"))
	wantError(t, resp, data, http.StatusBadRequest, "use_dpop_nonce")
	if resp.Header.Get("DPoP-Nonce") == "" || e.issued() != 0 {
		t.Fatalf("nonce %q, issued %d", resp.Header.Get("DPoP-Nonce"), e.issued())
	}

	// The client retries with it, as oauth4webapi does.
	hc, tr := dpopClient(p)
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, hc)
	cc := clientcredentials.Config{ClientID: confID, ClientSecret: confSecret, TokenURL: e.ts.URL + "/token"}
	p.SetNonce("")
	tok, err := cc.Token(ctx)
	if err != nil || tok.TokenType != "DPoP" || tr.Proofs != 2 {
		t.Fatalf("token %+v, %v, %d proofs", tok, err, tr.Proofs)
	}

	// The resource asks for the nonce with a 401 challenge.
	p.SetNonce("")
	resp, _ = e.api("DPoP "+tok.AccessToken, p.Proof("GET", e.ts.URL+"/api", tok.AccessToken))
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("DPoP-Nonce") == "" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`) {
		t.Fatalf("resource without nonce: %d %v", resp.StatusCode, resp.Header)
	}
	p.SetNonce(resp.Header.Get("DPoP-Nonce"))
	if resp, body := e.api("DPoP "+tok.AccessToken, p.Proof("GET", e.ts.URL+"/api", tok.AccessToken)); resp.StatusCode != http.StatusOK {
		t.Fatalf("resource with nonce: %d %s", resp.StatusCode, body)
	}

	// A second process shares the nonce key through the store.
	other := e.newServer()
	other.Config.DPoP.RequireNonce = true
	v1, err := e.srv.DPoPVerifier(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v2, err := other.DPoPVerifier(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v1.Nonces().Current() != v2.Nonces().Current() {
		t.Fatal("two processes disagree on the nonce")
	}
}

func TestDPoP_UserInfoAcceptsDPoPTokens(t *testing.T) {
	e := newSenderEnv(t)
	p := dpoptest.NewProver(jose.ES256)
	p.Now = e.clock
	code := e.code(confID, confRedirect, url.Values{"scope": {"openid"}})
	_, data := e.post("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}}, confID, e.proofFor(p, "/token"))
	at := data["access_token"].(string)
	get := func(authz, proof string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/userinfo", nil)
		req.Header.Set("Authorization", authz)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, _ := e.do(req)
		return resp
	}
	if resp := get("DPoP "+at, p.Proof("GET", e.ts.URL+"/userinfo", at)); resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo with DPoP: %d", resp.StatusCode)
	}
	if resp := get("Bearer "+at, ""); resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
		t.Fatalf("userinfo as bearer: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp := get("DPoP "+at, p.Proof("GET", e.ts.URL+"/api", at)); resp.StatusCode != http.StatusUnauthorized ||
		!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "DPoP ") {
		t.Fatalf("userinfo with a proof for another URI: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestDPoP_MetadataAdvertisesAlgorithms(t *testing.T) {
	e := newSenderEnv(t)
	md, err := e.srv.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(md.DPoPSigningAlgValuesSupported, dpop.DefaultAlgorithms) {
		t.Fatalf("dpop_signing_alg_values_supported %v", md.DPoPSigningAlgValuesSupported)
	}
	e.srv.Config.DPoP.Disabled = true
	md, _ = e.srv.Metadata()
	if md.DPoPSigningAlgValuesSupported != nil {
		t.Fatal("advertised while disabled")
	}
	// Disabled: the header is ignored and a bearer token issued.
	p := dpoptest.NewProver(jose.ES256)
	_, data := e.post("/token", url.Values{"grant_type": {"client_credentials"}}, confID, p.Proof("POST", "https://elsewhere/", ""))
	if data["token_type"] != "Bearer" {
		t.Fatalf("disabled DPoP: %v", data)
	}
}

// TestDPoP_ResourceChallengeWithoutToken: RFC 9449 7.1 offers both schemes
// to a request without a token.
func TestDPoP_ResourceChallengeWithoutToken(t *testing.T) {
	e := newSenderEnv(t)
	resp, _ := e.api("", "")
	ch := resp.Header.Values("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || len(ch) != 2 || ch[0] != "Bearer" || !strings.HasPrefix(ch[1], `DPoP algs="ES256 `) {
		t.Fatalf("%d %q", resp.StatusCode, ch)
	}
}

// TestDPoP_ImplicitTokenIsNeverBoundByDPoPJKT: dpop_jkt binds codes (RFC
// 9449 10); a token of the implicit grant, which no proof came with, stays
// a bearer token.
func TestDPoP_ImplicitTokenIsNeverBoundByDPoPJKT(t *testing.T) {
	e := newSenderEnv(t)
	e.srv.SetAllowedResponseType(oauth2.Code, oauth2.Token)
	p := dpoptest.NewProver(jose.ES256)
	resp := e.authorize(url.Values{"client_id": {confID}, "response_type": {"token"}, "redirect_uri": {confRedirect}, "dpop_jkt": {p.Thumbprint()}})
	u, _ := url.Parse(resp.Header.Get("Location"))
	frag, _ := url.ParseQuery(u.Fragment)
	if frag.Get("access_token") == "" || frag.Get("token_type") != "Bearer" {
		t.Fatalf("implicit response %v", frag)
	}
	if c := e.jwtClaims(frag.Get("access_token")); c.Confirmation != nil {
		t.Fatalf("implicit token bound: %+v", c.Confirmation)
	}
}

// A client registered for DPoP-bound access tokens never gets an access
// token from the authorization endpoint, where no proof can bind it (RFC
// 9449 10): the implicit response type is unauthorized_client, redirected,
// and nothing is issued.
func TestDPoP_BoundClientGetsNoImplicitToken(t *testing.T) {
	e := newSenderEnv(t)
	e.srv.SetAllowedResponseType(oauth2.Code, oauth2.Token)
	before := e.tokens.issued.Load()
	resp := e.authorize(url.Values{"client_id": {boundID}, "response_type": {"token"}, "redirect_uri": {confRedirect}, "state": {"s"}})
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), confRedirect) {
		t.Fatalf("not redirected to the client: %q", resp.Header.Get("Location"))
	}
	frag, _ := url.ParseQuery(u.Fragment)
	if frag.Get("error") != "unauthorized_client" || frag.Has("access_token") || frag.Get("state") != "s" {
		t.Fatalf("implicit response %v, want unauthorized_client and no token", frag)
	}
	if e.tokens.issued.Load() != before {
		t.Fatal("a token was stored")
	}
}
