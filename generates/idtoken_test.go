package generates_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	oauth2errors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
)

const (
	idIssuer   = "https://op.example.com"
	idClientID = "rp-1"
	idRedirect = "https://rp.example.com/cb"
	idUser     = "alice"
	idNonce    = "n-0S6_WzA2Mj"
	idAccess   = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
	idCode     = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
)

// oidcClient is a client with the OpenID Connect registration metadata an
// application's client type would carry.
type oidcClient struct {
	models.Client
	alg, subjectType, sectorURI string
}

func (c *oidcClient) GetIDTokenSignedResponseAlg() string { return c.alg }
func (c *oidcClient) GetSubjectType() string              { return c.subjectType }
func (c *oidcClient) GetSectorIdentifierURI() string      { return c.sectorURI }

func newOIDCClient(id string, redirects ...string) *oidcClient {
	if len(redirects) == 0 {
		redirects = []string{idRedirect}
	}
	return &oidcClient{Client: models.Client{ID: id, Secret: "s", RedirectURIs: redirects}}
}

// idGrant is the token record of a grant with OpenID Connect data.
func idGrant(t testing.TB, scope string, gi oidc.GrantInfo) *models.Token {
	t.Helper()
	ext, err := gi.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return &models.Token{ClientID: idClientID, UserID: idUser, Scope: scope, Access: idAccess,
		AccessCreateAt: now, AccessExpiresIn: time.Hour, Extension: ext}
}

// keySetOf returns a key set whose current key is k.
func keySetOf(t testing.TB, ks ...testKey) *generates.KeySet {
	t.Helper()
	set := generates.NewKeySet()
	for i, k := range ks {
		if err := set.Add(generates.SigningKey{Method: k.method, Key: k.key}, i == 0); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

func newIDGen(t testing.TB, ks *generates.KeySet, opts ...generates.IDTokenOption) *generates.JWTIDTokenGenerate {
	t.Helper()
	g, err := generates.NewJWTIDTokenGenerate(ks, idIssuer, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// goOIDCVerify verifies raw as a relying party using go-oidc does.
func goOIDCVerify(t testing.TB, raw, alg string, pub crypto.PublicKey, now time.Time) (*gooidc.IDToken, error) {
	t.Helper()
	v := gooidc.NewVerifier(idIssuer, &gooidc.StaticKeySet{PublicKeys: []crypto.PublicKey{pub}},
		&gooidc.Config{ClientID: idClientID, SupportedSigningAlgs: []string{alg}, Now: func() time.Time { return now }})
	return v.Verify(context.Background(), raw)
}

// claimsOf verifies raw with go-jose and returns its header and claims.
func claimsOf(t testing.TB, raw string, pub crypto.PublicKey) (jose.Header, map[string]any) {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA})
	if err != nil {
		t.Fatalf("go-jose parse: %v", err)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatalf("go-jose verify: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header, c
}

func pubOf(k testKey) crypto.PublicKey { return k.key.(crypto.Signer).Public() }

func TestIDTokenVerifiesWithGoOIDCAndGoJose(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k := newTestKey(t, alg, 0)
			g := newIDGen(t, keySetOf(t, k))
			authTime := time.Now().Add(-time.Minute).Truncate(time.Second)
			ti := idGrant(t, "openid", oidc.GrantInfo{Nonce: idNonce, AuthTime: authTime, ACR: "urn:mace:incommon:iap:silver", AMR: []string{"pwd", "otp"}, SID: "s-1"})
			raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{
				Client: newOIDCClient(idClientID), TokenInfo: ti, AccessToken: idAccess})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := goOIDCVerify(t, raw, alg, pubOf(k), time.Now())
			if err != nil {
				t.Fatalf("go-oidc refuses the ID token: %v", err)
			}
			if tok.Nonce != idNonce || tok.Subject != idUser || tok.Issuer != idIssuer ||
				len(tok.Audience) != 1 || tok.Audience[0] != idClientID {
				t.Fatalf("claims: nonce %q sub %q iss %q aud %v", tok.Nonce, tok.Subject, tok.Issuer, tok.Audience)
			}
			if err := tok.VerifyAccessToken(idAccess); err != nil {
				t.Fatalf("at_hash: %v", err)
			}
			if got := tok.Expiry.Sub(tok.IssuedAt); got != generates.DefaultIDTokenLifetime {
				t.Fatalf("exp - iat = %v", got)
			}
			hdr, c := claimsOf(t, raw, pubOf(k))
			if hdr.Algorithm != alg || hdr.KeyID == "" || hdr.ExtraHeaders["typ"] != "JWT" {
				t.Fatalf("header: alg %q kid %q typ %v", hdr.Algorithm, hdr.KeyID, hdr.ExtraHeaders["typ"])
			}
			if c["auth_time"] != float64(authTime.Unix()) || c["acr"] != "urn:mace:incommon:iap:silver" || c["sid"] != "s-1" {
				t.Fatalf("auth_time, acr, sid: %v", c)
			}
			if amr, _ := c["amr"].([]any); len(amr) != 2 || amr[0] != "pwd" || amr[1] != "otp" {
				t.Fatalf("amr = %v", c["amr"])
			}
			if _, ok := c["azp"]; ok {
				t.Fatal("azp with the client as the only audience")
			}
		})
	}
}

func TestIDTokenAtHashMatchesAccessToken(t *testing.T) {
	for _, alg := range []string{"RS256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k := newTestKey(t, alg, 0)
			g := newIDGen(t, keySetOf(t, k))
			raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{
				Client: newOIDCClient(idClientID), TokenInfo: idGrant(t, "openid", oidc.GrantInfo{}), AccessToken: idAccess})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := goOIDCVerify(t, raw, alg, pubOf(k), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := tok.VerifyAccessToken(idAccess); err != nil {
				t.Fatalf("go-oidc: at_hash does not match: %v", err)
			}
			if err := tok.VerifyAccessToken(idAccess + "x"); err == nil {
				t.Fatal("go-oidc: at_hash matches another access token")
			}
		})
	}
}

// leftHalf is OpenID Connect Core 1.0 3.3.2.11's hash, computed here from
// the specification with the standard library.
func leftHalf(alg, value string) string {
	var sum []byte
	switch alg {
	case "ES384", "RS384", "PS384":
		s := sha512.Sum384([]byte(value))
		sum = s[:]
	case "EdDSA", "RS512", "ES512", "PS512":
		s := sha512.Sum512([]byte(value))
		sum = s[:]
	default:
		s := sha256.Sum256([]byte(value))
		sum = s[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func TestIDTokenCHashMatchesCode(t *testing.T) {
	for _, alg := range []string{"RS256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k := newTestKey(t, alg, 0)
			g := newIDGen(t, keySetOf(t, k))
			raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{
				Client: newOIDCClient(idClientID), TokenInfo: idGrant(t, "openid", oidc.GrantInfo{Nonce: idNonce}),
				Code: idCode, AccessToken: idAccess})
			if err != nil {
				t.Fatal(err)
			}
			_, c := claimsOf(t, raw, pubOf(k))
			if c["c_hash"] != leftHalf(alg, idCode) || c["at_hash"] != leftHalf(alg, idAccess) {
				t.Fatalf("c_hash %v at_hash %v, want %s %s", c["c_hash"], c["at_hash"], leftHalf(alg, idCode), leftHalf(alg, idAccess))
			}
		})
	}
}

func TestIDTokenOnRefreshHasNoNonceAndKeepsAuthTime(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	g := newIDGen(t, keySetOf(t, k))
	authTime := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	ti := idGrant(t, "openid", oidc.GrantInfo{Nonce: idNonce, AuthTime: authTime})
	raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{
		Client: newOIDCClient(idClientID), TokenInfo: ti, AccessToken: idAccess, Refresh: true})
	if err != nil {
		t.Fatal(err)
	}
	_, c := claimsOf(t, raw, pubOf(k))
	if _, ok := c["nonce"]; ok {
		t.Fatal("an ID token issued on refresh has a nonce (OpenID Connect Core 1.0 12.2)")
	}
	if c["auth_time"] != float64(authTime.Unix()) {
		t.Fatalf("auth_time = %v, want the original %d", c["auth_time"], authTime.Unix())
	}
	if iat := int64(c["iat"].(float64)); iat < time.Now().Add(-time.Minute).Unix() {
		t.Fatalf("iat %d is not the time of the refresh", iat)
	}
}

func TestIDTokenIatAndExpFollowTheClockAndLifetime(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	now := time.Unix(1_800_000_000, 0)
	g := newIDGen(t, keySetOf(t, k), generates.WithIDTokenClock(func() time.Time { return now }),
		generates.WithIDTokenLifetime(5*time.Minute))
	raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: newOIDCClient(idClientID), TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := goOIDCVerify(t, raw, "ES256", pubOf(k), now.Add(4*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !tok.IssuedAt.Equal(now) || !tok.Expiry.Equal(now.Add(5*time.Minute)) {
		t.Fatalf("iat %v exp %v", tok.IssuedAt, tok.Expiry)
	}
	if _, err := goOIDCVerify(t, raw, "ES256", pubOf(k), now.Add(6*time.Minute)); err == nil {
		t.Fatal("go-oidc accepted the ID token after its exp")
	}
}

func TestIDTokenSignedWithTheClientsRegisteredAlg(t *testing.T) {
	es, rs := newTestKey(t, "ES256", 0), newTestKey(t, "RS256", 0)
	ks := keySetOf(t, es, rs) // ES256 current, RS256 kept for ID tokens
	g := newIDGen(t, ks)
	if got := g.Algorithms(); strings.Join(got, " ") != "ES256 RS256" {
		t.Fatalf("Algorithms = %v", got)
	}
	tests := []struct {
		name, alg, wantAlg string
		pub                crypto.PublicKey
	}{
		{"no registered alg: the current key", "", "ES256", pubOf(es)},
		{"RS256 from the extra key (Core 15.1)", "RS256", "RS256", pubOf(rs)},
		{"ES256 from the current key", "ES256", "ES256", pubOf(es)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newOIDCClient(idClientID)
			c.alg = tt.alg
			raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: c, TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := goOIDCVerify(t, raw, tt.wantAlg, tt.pub, time.Now()); err != nil {
				t.Fatalf("go-oidc: %v", err)
			}
		})
	}
	for _, alg := range []string{"PS512", "HS256", "none"} {
		t.Run("unavailable "+alg, func(t *testing.T) {
			c := newOIDCClient(idClientID)
			c.alg = alg
			_, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: c, TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})})
			if !errors.Is(err, generates.ErrUnsupportedAlgorithm) {
				t.Fatalf("err = %v, want ErrUnsupportedAlgorithm", err)
			}
		})
	}
}

func TestIDTokenNeverSignedWithAnHMACKey(t *testing.T) {
	g := newIDGen(t, keySetOf(t, newTestKey(t, "HS256", 0)))
	_, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: newOIDCClient(idClientID), TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})})
	if !errors.Is(err, generates.ErrInvalidKey) {
		t.Fatalf("err = %v, want ErrInvalidKey", err)
	}
	if algs := g.Algorithms(); len(algs) != 0 {
		t.Fatalf("Algorithms = %v, want none", algs)
	}
}

func TestIDTokenOnlyForTheOpenIDScope(t *testing.T) {
	g := newIDGen(t, keySetOf(t, newTestKey(t, "ES256", 0)))
	for _, scope := range []string{"", "profile email", "openidx", "xopenid"} {
		_, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: newOIDCClient(idClientID), TokenInfo: idGrant(t, scope, oidc.GrantInfo{})})
		if err == nil {
			t.Fatalf("scope %q: an ID token without openid", scope)
		}
	}
}

func TestIDTokenClaimsFollowScopeAndClaimsRequest(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	user := &oidc.Claims{Name: "Alice Liddell", Email: "alice@example.com", EmailVerified: true,
		PhoneNumber: "+1 555 0100", Address: &oidc.Address{Locality: "Oxford", Country: "GB"},
		Extra: map[string]any{"groups": []string{"admins"}, "nonce": "spoofed"}}
	emailInIDToken, err := oidc.ParseClaimsRequest(`{"id_token":{"email":{"essential":true},"groups":null,"nonce":null}}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		opts         []generates.IDTokenOption
		scope        string
		claims       *oidc.ClaimsRequest
		access, code string
		want         []string
		wantNone     []string
	}{
		{"code flow: scope claims go to UserInfo only (Core 5.4)", nil, "openid profile email", nil, idAccess, "",
			nil, []string{"name", "email", "email_verified"}},
		{"no access token: scope claims in the ID token (Core 5.4)", nil, "openid profile email", nil, "", "",
			[]string{"name", "email", "email_verified"}, []string{"phone_number", "address"}},
		{"hybrid code id_token: an access token follows, scope claims go to UserInfo (Core 5.4)", nil, "openid profile email", nil, "", idCode,
			nil, []string{"name", "email", "email_verified"}},
		{"claims parameter id_token member (Core 5.5)", nil, "openid", emailInIDToken, idAccess, "",
			[]string{"email", "groups"}, []string{"name", "email_verified"}},
		{"WithScopeClaimsInIDToken", []generates.IDTokenOption{generates.WithScopeClaimsInIDToken()}, "openid address phone", nil, idAccess, "",
			[]string{"address", "phone_number", "phone_number_verified"}, []string{"email", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newIDGen(t, keySetOf(t, k), tt.opts...)
			ti := idGrant(t, tt.scope, oidc.GrantInfo{Nonce: idNonce, Claims: tt.claims})
			loads := 0
			raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: newOIDCClient(idClientID), TokenInfo: ti,
				AccessToken: tt.access, Code: tt.code,
				LoadUserClaims: func(_ context.Context, userID string) (*oidc.Claims, error) {
					loads++
					if userID != idUser {
						t.Errorf("claims of %q loaded", userID)
					}
					return user, nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			// The End-User's claims are looked up only for an ID token
			// that carries some.
			if wantLoad := len(tt.want) > 0; (loads == 1) != wantLoad || loads > 1 {
				t.Errorf("claims loaded %d times", loads)
			}
			_, c := claimsOf(t, raw, pubOf(k))
			for _, n := range tt.want {
				if _, ok := c[n]; !ok {
					t.Errorf("claim %s missing: %v", n, c)
				}
			}
			for _, n := range tt.wantNone {
				if _, ok := c[n]; ok {
					t.Errorf("claim %s released: %v", n, c)
				}
			}
			if c["nonce"] != idNonce {
				t.Errorf("nonce = %v: a user's extra claim replaced it", c["nonce"])
			}
		})
	}
}

// A failure to look up the End-User's claims fails the ID token: no ID
// token without the claims the grant asked for.
func TestIDTokenClaimsLookupFailureIsAnError(t *testing.T) {
	g := newIDGen(t, keySetOf(t, newTestKey(t, "ES256", 0)))
	gone := errors.New("directory: user not found")
	_, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: newOIDCClient(idClientID),
		TokenInfo:      idGrant(t, "openid email", oidc.GrantInfo{}),
		LoadUserClaims: func(context.Context, string) (*oidc.Claims, error) { return nil, gone }})
	if !errors.Is(err, gone) {
		t.Fatalf("err = %v", err)
	}
}

func TestIDTokenPairwiseSubjectDiffersBySectorAndMatchesWithin(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	subjects, err := oidc.NewSubjects([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	g := newIDGen(t, keySetOf(t, k), generates.WithSubjects(subjects))
	sub := func(c *oidcClient) string {
		t.Helper()
		raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: c, TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})})
		if err != nil {
			t.Fatal(err)
		}
		_, claims := claimsOf(t, raw, pubOf(k))
		return claims["sub"].(string)
	}
	a1 := newOIDCClient("a1", "https://a.example.com/cb")
	a2 := newOIDCClient("a2", "https://A.example.com:8443/other")
	b := newOIDCClient("b", "https://b.example.com/cb")
	pub := newOIDCClient("p", "https://b.example.com/cb")
	for _, c := range []*oidcClient{a1, a2, b} {
		c.subjectType = oidc.SubjectPairwise
	}
	if sub(pub) != idUser {
		t.Fatal("a public client's sub is not the user ID")
	}
	if sub(a1) != sub(a2) {
		t.Fatal("two clients of one sector get different pairwise subs")
	}
	if sub(a1) == sub(b) || strings.Contains(sub(a1), idUser) {
		t.Fatalf("pairwise subs: %q %q", sub(a1), sub(b))
	}
}

func TestIDTokenAZPWhenSeveralAudiences(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	g := newIDGen(t, keySetOf(t, k))
	raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: newOIDCClient(idClientID),
		TokenInfo: idGrant(t, "openid", oidc.GrantInfo{}), Audience: []string{"https://api.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := goOIDCVerify(t, raw, "ES256", pubOf(k), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AZP string `json:"azp"`
	}
	if err := tok.Claims(&c); err != nil || c.AZP != idClientID || len(tok.Audience) != 2 {
		t.Fatalf("azp %q aud %v (%v)", c.AZP, tok.Audience, err)
	}
}

func TestIDTokenIsNotAcceptedAsAnAccessToken(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	ks := keySetOf(t, k)
	g := newIDGen(t, ks)
	raw, err := g.IDToken(context.Background(), &generates.IDTokenRequest{Client: newOIDCClient(idClientID), TokenInfo: idGrant(t, "openid", oidc.GrantInfo{})})
	if err != nil {
		t.Fatal(err)
	}
	// A resource server following RFC 9068 4 requires typ at+jwt.
	_, err = jwt.ParseWithClaims(raw, &generates.JWTAccessClaims{}, ks.Keyfunc)
	if err == nil {
		t.Fatal("an ID token passed as a JWT access token")
	}
}

// hintFixture signs ID tokens to use as id_token_hint.
type hintFixture struct {
	ks  *generates.KeySet
	gen *generates.JWTIDTokenGenerate
}

func newHintFixture(t testing.TB, k testKey) *hintFixture {
	ks := keySetOf(t, k)
	return &hintFixture{ks: ks, gen: newIDGen(t, ks)}
}

func (f *hintFixture) sign(t testing.TB, gen *generates.JWTIDTokenGenerate, issuedAt time.Time) string {
	t.Helper()
	raw, err := gen.IDToken(context.Background(), &generates.IDTokenRequest{Client: newOIDCClient(idClientID),
		TokenInfo: idGrant(t, "openid", oidc.GrantInfo{Nonce: idNonce, AuthTime: issuedAt, SID: "sid-9"}), IssuedAt: issuedAt})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestIDTokenHintExpiredIsAccepted(t *testing.T) {
	f := newHintFixture(t, newTestKey(t, "ES256", 0))
	issued := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Second)
	raw := f.sign(t, f.gen, issued)
	h, err := f.gen.ParseIDTokenHint(raw)
	if err != nil {
		t.Fatalf("an expired hint of this issuer is refused: %v", err)
	}
	if h.Subject != idUser || !h.IssuedTo(idClientID) || h.SID != "sid-9" || !h.AuthTime.Equal(issued) || !h.Expiry.Before(time.Now()) {
		t.Fatalf("hint = %+v", h)
	}
}

func TestIDTokenHintSignedByRotatedOutKeyStillPublishedIsAccepted(t *testing.T) {
	f := newHintFixture(t, newTestKey(t, "ES256", 0))
	raw := f.sign(t, f.gen, time.Now())
	if err := f.ks.Rotate(generates.SigningKey{Method: jwt.SigningMethodES256, Key: newTestKey(t, "ES256", 1).key}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gen.ParseIDTokenHint(raw); err != nil {
		t.Fatalf("hint of a retired key still published: %v", err)
	}
	if removed := f.ks.Prune(time.Now().Add(2 * time.Hour)); len(removed) != 1 {
		t.Fatalf("Prune removed %v", removed)
	}
	if _, err := f.gen.ParseIDTokenHint(raw); !errors.Is(err, oidc.ErrInvalidIDTokenHint) {
		t.Fatalf("hint of an unpublished key: err = %v", err)
	}
}

func TestIDTokenHintSignedByAnotherIssuerIsRefused(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	f := newHintFixture(t, k)
	other, err := generates.NewJWTIDTokenGenerate(f.ks, "https://evil.example.com")
	if err != nil {
		t.Fatal(err)
	}
	raw := f.sign(t, other, time.Now())
	if _, err := f.gen.ParseIDTokenHint(raw); !errors.Is(err, oidc.ErrInvalidIDTokenHint) || !errors.Is(err, oauth2errors.ErrInvalidRequest) {
		t.Fatalf("err = %v", err)
	}
}

func TestIDTokenHintSignedByAnotherKeyIsRefused(t *testing.T) {
	f := newHintFixture(t, newTestKey(t, "ES256", 0))
	stranger := newHintFixture(t, newTestKey(t, "ES256", 1))
	raw := f.sign(t, stranger.gen, time.Now())
	if _, err := f.gen.ParseIDTokenHint(raw); !errors.Is(err, oidc.ErrInvalidIDTokenHint) {
		t.Fatalf("unknown key: err = %v", err)
	}
	// The same token with our key's kid: the signature does not verify.
	ours := f.sign(t, f.gen, time.Now())
	parts, theirs := strings.Split(ours, "."), strings.Split(raw, ".")
	forged := parts[0] + "." + theirs[1] + "." + theirs[2]
	if _, err := f.gen.ParseIDTokenHint(forged); !errors.Is(err, oidc.ErrInvalidIDTokenHint) {
		t.Fatalf("forged signature: err = %v", err)
	}
}

func TestIDTokenHintThatIsNotAnIDTokenIsRefused(t *testing.T) {
	k := newTestKey(t, "ES256", 0)
	f := newHintFixture(t, k)
	access, _, err := generates.NewJWTAccessGenerateFromKeySet(f.ks, generates.WithIssuer(idIssuer)).Token(context.Background(), grant(idClientID, idUser, "openid", time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	valid := f.sign(t, f.gen, time.Now())
	if _, err := f.gen.ParseIDTokenHint(resign(t, f, k, func(map[string]any) {})); err != nil {
		t.Fatalf("a hint re-signed unchanged is refused, so the cases below prove nothing: %v", err)
	}
	parts := strings.Split(valid, ".")
	enc := base64.RawURLEncoding.EncodeToString
	noneHeader := enc([]byte(`{"alg":"none","typ":"JWT"}`))
	tests := map[string]string{
		"JWT access token (typ at+jwt)": access,
		"alg none":                      noneHeader + "." + parts[1] + ".",
		"empty":                         "",
		"two parts":                     parts[0] + "." + parts[1],
		"garbage":                       "not.a.jwt",
		"too long":                      valid + strings.Repeat("A", oidc.MaxIDTokenHintLength),
		"no sub":                        resign(t, f, k, func(c map[string]any) { delete(c, "sub") }),
		"other iss, same key":           resign(t, f, k, func(c map[string]any) { c["iss"] = "https://op.example.com/" }),
		"no aud":                        resign(t, f, k, func(c map[string]any) { delete(c, "aud") }),
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := f.gen.ParseIDTokenHint(raw); !errors.Is(err, oidc.ErrInvalidIDTokenHint) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// resign signs, with go-jose and the fixture's key, the claims of a valid
// ID token changed by edit, under the kid the key set gives the key.
func resign(t testing.TB, f *hintFixture, k testKey, edit func(map[string]any)) string {
	t.Helper()
	_, c := claimsOf(t, f.sign(t, f.gen, time.Now()), pubOf(k))
	edit(c)
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := f.ks.Current()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: k.key},
		(&jose.SignerOptions{}).WithHeader("kid", cur.KeyID).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// FuzzParseIDTokenHint checks that ParseIDTokenHint never panics and
// accepts only what go-jose verifies with the fixture's public key, with
// this issuer.
func FuzzParseIDTokenHint(f *testing.F) {
	k := newTestKey(f, "ES256", 0)
	fx := newHintFixture(f, k)
	valid := fx.sign(f, fx.gen, time.Now())
	other, _ := generates.NewJWTIDTokenGenerate(fx.ks, "https://evil.example.com")
	f.Add(valid)
	f.Add(fx.sign(f, other, time.Now()))
	f.Add(strings.Replace(valid, ".", "..", 1))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("")
	pub := pubOf(k)
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := fx.gen.ParseIDTokenHint(raw)
		if err != nil {
			if !errors.Is(err, oidc.ErrInvalidIDTokenHint) {
				t.Fatalf("error %v does not wrap ErrInvalidIDTokenHint", err)
			}
			return
		}
		jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatalf("accepted a hint go-jose cannot parse: %v", err)
		}
		payload, err := jws.Verify(pub)
		if err != nil {
			t.Fatalf("accepted a hint go-jose does not verify: %v", err)
		}
		var c struct {
			Iss string `json:"iss"`
			Sub string `json:"sub"`
		}
		if err := json.Unmarshal(payload, &c); err != nil || c.Iss != idIssuer || c.Sub != h.Subject || c.Sub == "" {
			t.Fatalf("accepted claims %s (hint %+v)", payload, h)
		}
	})
}

func TestNewJWTIDTokenGenerateRefusesABadIssuer(t *testing.T) {
	ks := keySetOf(t, newTestKey(t, "ES256", 0))
	for _, iss := range []string{"", "op.example.com", "https://op.example.com?x=1", "https://op.example.com#f", "ftp://op.example.com"} {
		if _, err := generates.NewJWTIDTokenGenerate(ks, iss); err == nil {
			t.Errorf("issuer %q accepted", iss)
		}
	}
	if _, err := generates.NewJWTIDTokenGenerate(nil, idIssuer); !errors.Is(err, generates.ErrNoSigningKey) {
		t.Errorf("nil key set: %v", err)
	}
}

// idTokenExt returns the encoded extension a grant keeps, for the benchmark.
func idTokenExt(b *testing.B) url.Values {
	ext, err := (&oidc.GrantInfo{Nonce: idNonce, AuthTime: time.Now(), ACR: "1", AMR: []string{"pwd"}}).Encode(nil)
	if err != nil {
		b.Fatal(err)
	}
	return ext
}

// BenchmarkIDToken signs the ID token of a code exchange (nonce,
// auth_time, acr, amr, at_hash, profile and email claims), to compare with
// BenchmarkJWTAccessGenerate of the same algorithm.
func BenchmarkIDToken(b *testing.B) {
	for _, alg := range benchAlgs {
		if alg == "HS256" {
			continue
		}
		b.Run(alg, func(b *testing.B) {
			k := newTestKey(b, alg, 0)
			ks := keySetOf(b, k)
			g := newIDGen(b, ks, generates.WithScopeClaimsInIDToken())
			ti := &models.Token{ClientID: idClientID, UserID: idUser, Scope: "openid profile email", Access: idAccess,
				AccessCreateAt: time.Now(), AccessExpiresIn: time.Hour, Extension: idTokenExt(b)}
			req := &generates.IDTokenRequest{Client: newOIDCClient(idClientID), TokenInfo: ti, AccessToken: idAccess,
				UserClaims: &oidc.Claims{Name: "Alice Liddell", Email: "alice@example.com", EmailVerified: true}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.IDToken(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
