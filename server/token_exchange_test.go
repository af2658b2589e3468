package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/generates"
	"github.com/oauth2d/oauth2/internal/dpoptest"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
)

// userTokens runs the code flow of clientID for u1 with scope and extra
// parameters, and returns the token response.
func (e *senderEnv) userTokens(clientID, scope string, extra url.Values, proof string) map[string]any {
	e.t.Helper()
	q := url.Values{"scope": {scope}}
	for k, vs := range extra {
		q[k] = vs
	}
	code := e.code(clientID, confRedirect, q)
	resp, data := e.post("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}}, clientID, proof)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("code exchange: %d %v", resp.StatusCode, data)
	}
	return data
}

// clientToken gets a client credentials token of id.
func (e *senderEnv) clientToken(id string) string {
	e.t.Helper()
	resp, data := e.post("/token", url.Values{"grant_type": {"client_credentials"}}, id, "")
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("client credentials: %d %v", resp.StatusCode, data)
	}
	return data["access_token"].(string)
}

// exchange posts a token exchange request of id.
func (e *senderEnv) exchange(id string, form url.Values, proof string) (*http.Response, map[string]any) {
	e.t.Helper()
	f := url.Values{"grant_type": {string(oauth2.TokenExchange)}}
	for k, vs := range form {
		f[k] = vs
	}
	return e.post("/token", f, id, proof)
}

func subject(token string) url.Values {
	return url.Values{"subject_token": {token}, "subject_token_type": {oauth2.TokenTypeAccessToken}}
}

func withParams(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Add(kv[i], kv[i+1])
	}
	return out
}

func TestTokenExchange_ImpersonationForAnAllowedAudience(t *testing.T) {
	e := newSenderEnv(t)
	sub := e.userTokens(exchangerID, "read write", nil, "")
	subjectAT := sub["access_token"].(string)
	resp, data := e.exchange(exchangerID, withParams(subject(subjectAT), "audience", "urn:example:backend", "scope", "read"), "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, data)
	}
	if data["issued_token_type"] != oauth2.TokenTypeAccessToken || data["token_type"] != "Bearer" ||
		data["refresh_token"] != nil || data["scope"] != "read" {
		t.Fatalf("answer %v", data)
	}
	at := data["access_token"].(string)
	c := e.jwtClaims(at)
	if c.Subject != "u1" || c.ClientID != exchangerID || !slices.Equal([]string(c.Audience), []string{"urn:example:backend"}) ||
		c.Scope != "read" || c.Actor != nil {
		t.Fatalf("claims %+v", c)
	}
	if !c.ExpiresAt.Time.After(e.clock()) || c.ExpiresAt.Time.After(e.jwtClaims(subjectAT).ExpiresAt.Time) {
		t.Fatalf("exp %v outlives the subject token's %v", c.ExpiresAt, e.jwtClaims(subjectAT).ExpiresAt)
	}
	in := e.introspect(at)
	if in["active"] != true || in["sub"] != "u1" || in["aud"] != "urn:example:backend" {
		t.Fatalf("introspection %v", in)
	}
}

func TestTokenExchange_DelegationCarriesTheActChain(t *testing.T) {
	e := newSenderEnv(t)
	subjectAT := e.userTokens(exchangerID, "read", nil, "")["access_token"].(string)
	actor := e.clientToken(exchangerID)
	form := withParams(subject(subjectAT), "actor_token", actor, "actor_token_type", oauth2.TokenTypeAccessToken)
	resp, data := e.exchange(exchangerID, form, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delegation: %d %v", resp.StatusCode, data)
	}
	first := data["access_token"].(string)
	if got := string(e.jwtClaims(first).Actor); got != `{"sub":"exchanger"}` {
		t.Fatalf("act %s", got)
	}
	if act, _ := json.Marshal(e.introspect(first)["act"]); string(act) != `{"sub":"exchanger"}` {
		t.Fatalf("introspected act %s", act)
	}
	// Exchanged again with an actor: the prior actor is nested (RFC 8693
	// 4.1); without one, the chain is kept.
	_, data = e.exchange(exchangerID, withParams(subject(first), "actor_token", actor, "actor_token_type", oauth2.TokenTypeAccessToken), "")
	if got := string(e.jwtClaims(data["access_token"].(string)).Actor); got != `{"sub":"exchanger","act":{"sub":"exchanger"}}` {
		t.Fatalf("nested act %s", got)
	}
	_, data = e.exchange(exchangerID, subject(first), "")
	if got := string(e.jwtClaims(data["access_token"].(string)).Actor); got != `{"sub":"exchanger"}` {
		t.Fatalf("impersonating a delegation dropped its act: %s", got)
	}
}

// TestTokenExchange_TokenIssuedForTheClient: a service whose client ID is
// the resource a token was issued for may exchange it.
func TestTokenExchange_TokenIssuedForTheClient(t *testing.T) {
	e := newSenderEnv(t)
	e.srv.Config.Resources = []string{svcID}
	subjectAT := e.userTokens(confID, "read", url.Values{"resource": {svcID}}, "")["access_token"].(string)
	resp, data := e.exchange(svcID, withParams(subject(subjectAT), "resource", resB), "")
	if resp.StatusCode != http.StatusOK || !slices.Equal(e.audOf(data["access_token"].(string)), []string{resB}) {
		t.Fatalf("exchange by the audience: %d %v", resp.StatusCode, data)
	}
	// Another client may not.
	resp, data = e.exchange(exchangerID, subject(subjectAT), "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_request")
}

// TestTokenExchange_RefusesAndIssuesNothing is the table of RFC 8693 2.2.2:
// every bad request gets its error and nothing is stored.
func TestTokenExchange_RefusesAndIssuesNothing(t *testing.T) {
	cases := []struct {
		name   string
		client string
		form   func(e *senderEnv, subjectAT string) url.Values
		status int
		code   string
	}{
		{"no subject_token", exchangerID, func(e *senderEnv, _ string) url.Values {
			return url.Values{"subject_token_type": {oauth2.TokenTypeAccessToken}}
		}, 400, "invalid_request"},
		{"no subject_token_type", exchangerID, func(e *senderEnv, s string) url.Values { return url.Values{"subject_token": {s}} }, 400, "invalid_request"},
		{"actor_token without its type", exchangerID, func(e *senderEnv, s string) url.Values {
			return withParams(subject(s), "actor_token", e.clientToken(exchangerID))
		}, 400, "invalid_request"},
		{"actor_token_type without a token", exchangerID, func(e *senderEnv, s string) url.Values {
			return withParams(subject(s), "actor_token_type", oauth2.TokenTypeAccessToken)
		}, 400, "invalid_request"},
		{"subject token type jwt", exchangerID, func(e *senderEnv, s string) url.Values {
			return url.Values{"subject_token": {s}, "subject_token_type": {oauth2.TokenTypeJWT}}
		}, 400, "invalid_request"},
		{"subject an ID token without a verifier", exchangerID, func(e *senderEnv, s string) url.Values {
			return url.Values{"subject_token": {s}, "subject_token_type": {oauth2.TokenTypeIDToken}}
		}, 400, "invalid_request"},
		{"requested a refresh token", exchangerID, func(e *senderEnv, s string) url.Values {
			return withParams(subject(s), "requested_token_type", oauth2.TokenTypeRefreshToken)
		}, 400, "invalid_request"},
		{"unknown subject token", exchangerID, func(e *senderEnv, s string) url.Values { return subject(s + "x") }, 400, "invalid_request"},
		{"revoked subject token", exchangerID, func(e *senderEnv, s string) url.Values {
			if resp, _ := e.post("/revoke", url.Values{"token": {s}}, exchangerID, ""); resp.StatusCode != http.StatusOK {
				e.t.Fatalf("revoke: %d", resp.StatusCode)
			}
			return subject(s)
		}, 400, "invalid_request"},
		{"expired subject token", exchangerID, func(e *senderEnv, s string) url.Values {
			e.advance(3 * time.Hour)
			return subject(s)
		}, 400, "invalid_request"},
		{"revoked actor token", exchangerID, func(e *senderEnv, s string) url.Values {
			actor := e.clientToken(exchangerID)
			e.post("/revoke", url.Values{"token": {actor}}, exchangerID, "")
			return withParams(subject(s), "actor_token", actor, "actor_token_type", oauth2.TokenTypeAccessToken)
		}, 400, "invalid_request"},
		{"actor token of another client", exchangerID, func(e *senderEnv, s string) url.Values {
			return withParams(subject(s), "actor_token", e.clientToken(confID), "actor_token_type", oauth2.TokenTypeAccessToken)
		}, 400, "invalid_request"},
		{"forbidden audience", exchangerID, func(e *senderEnv, s string) url.Values {
			return withParams(subject(s), "audience", "urn:example:payroll")
		}, 400, "invalid_target"},
		{"one forbidden resource among allowed", exchangerID, func(e *senderEnv, s string) url.Values {
			return withParams(subject(s), "audience", "urn:example:backend", "resource", resB)
		}, 400, "invalid_target"},
		{"resource with a fragment", exchangerID, func(e *senderEnv, s string) url.Values {
			return withParams(subject(s), "resource", resA+"#x")
		}, 400, "invalid_target"},
		{"a wider scope", exchangerID, func(e *senderEnv, s string) url.Values { return withParams(subject(s), "scope", "read admin") }, 400, "invalid_scope"},
		{"a client without the grant", ccOnlyID, func(e *senderEnv, s string) url.Values { return subject(s) }, 400, "unauthorized_client"},
		{"subject token of another client", confID, func(e *senderEnv, s string) url.Values { return subject(s) }, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSenderEnv(t)
			subjectAT := e.userTokens(exchangerID, "read", nil, "")["access_token"].(string)
			form := tc.form(e, subjectAT)
			before := e.issued()
			resp, data := e.exchange(tc.client, form, "")
			wantError(t, resp, data, tc.status, tc.code)
			if e.issued() != before {
				t.Fatal("a token was issued")
			}
		})
	}
}

// TestTokenExchange_BoundSubjectNeedsAProofOfItsKey: a DPoP-bound token
// cannot be turned into a bearer token by exchanging it (RFC 9449).
func TestTokenExchange_BoundSubjectNeedsAProofOfItsKey(t *testing.T) {
	e := newSenderEnv(t)
	p, other := dpoptest.NewProver(jose.ES256), dpoptest.NewProver(jose.ES256)
	p.Now, other.Now = e.clock, e.clock
	subjectAT := e.userTokens(exchangerID, "read", nil, e.proofFor(p, "/token"))["access_token"].(string)
	for _, proof := range []string{"", e.proofFor(other, "/token")} {
		resp, data := e.exchange(exchangerID, subject(subjectAT), proof)
		wantError(t, resp, data, http.StatusBadRequest, "invalid_request")
	}
	resp, data := e.exchange(exchangerID, subject(subjectAT), e.proofFor(p, "/token"))
	if resp.StatusCode != http.StatusOK || data["token_type"] != "DPoP" ||
		e.jwtClaims(data["access_token"].(string)).Confirmation.JKT != p.Thumbprint() {
		t.Fatalf("with the key: %d %v", resp.StatusCode, data)
	}
}

// TestTokenExchange_RevokingTheSubjectGrantRevokesTheExchangedToken: the
// exchanged token joins the subject token's grant.
func TestTokenExchange_RevokingTheSubjectGrantRevokesTheExchangedToken(t *testing.T) {
	e := newSenderEnv(t)
	sub := e.userTokens(exchangerID, "read", nil, "")
	_, data := e.exchange(exchangerID, subject(sub["access_token"].(string)), "")
	exchanged := data["access_token"].(string)
	if e.introspect(exchanged)["active"] != true {
		t.Fatal("exchanged token not active")
	}
	if resp, _ := e.post("/revoke", url.Values{"token": {sub["refresh_token"].(string)}}, exchangerID, ""); resp.StatusCode != http.StatusOK {
		t.Fatal("revoke")
	}
	if e.introspect(exchanged)["active"] != false {
		t.Fatal("the exchanged token outlived its grant")
	}
}

type pairwiseClient struct{ *models.Client }

func (pairwiseClient) GetSubjectType() string         { return oidc.SubjectPairwise }
func (pairwiseClient) GetSectorIdentifierURI() string { return "" }

func TestTokenExchange_IDTokenSubject(t *testing.T) {
	e := newSenderEnv(t)
	subjects, err := oidc.NewSubjects([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := generates.NewJWTIDTokenGenerate(e.keys, e.ts.URL, generates.WithSubjects(subjects))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.TokenExchange.IDTokens = gen
	idToken := func(clientID string) string {
		cli, _ := e.clients.GetByID(context.Background(), clientID)
		ti := models.NewToken()
		ti.SetClientID(clientID)
		ti.SetUserID("u1")
		ti.SetScope("openid")
		tok, err := gen.IDToken(context.Background(), &generates.IDTokenRequest{Client: cli, TokenInfo: ti, IssuedAt: e.clock()})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	idSubject := func(tok string) url.Values {
		return url.Values{"subject_token": {tok}, "subject_token_type": {oauth2.TokenTypeIDToken}, "scope": {"read"}}
	}
	tok := idToken(exchangerID)
	resp, data := e.exchange(exchangerID, idSubject(tok), "")
	if resp.StatusCode != http.StatusOK || e.jwtClaims(data["access_token"].(string)).Subject != "u1" || data["scope"] != "read" {
		t.Fatalf("ID token subject: %d %v", resp.StatusCode, data)
	}
	// Of another client, forged, expired, pairwise: refused.
	resp, data = e.exchange(exchangerID, idSubject(idToken(confID)), "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_request")
	resp, data = e.exchange(exchangerID, idSubject(tok[:len(tok)-2]+"AA"), "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_request")
	if err := e.clients.Set("pairwise", pairwiseClient{&models.Client{ID: "pairwise", Secret: confSecret, RedirectURIs: []string{confRedirect},
		GrantTypes: []oauth2.GrantType{oauth2.TokenExchange}}}); err != nil {
		t.Fatal(err)
	}
	resp, data = e.exchange("pairwise", idSubject(idToken("pairwise")), "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_request")
	if d, _ := data["error_description"].(string); !strings.Contains(d, "pairwise") {
		t.Fatalf("pairwise refused for another reason: %q", d)
	}
	e.advance(generates.DefaultIDTokenLifetime + time.Second)
	before := e.issued()
	resp, data = e.exchange(exchangerID, idSubject(tok), "")
	wantError(t, resp, data, http.StatusBadRequest, "invalid_request")
	if e.issued() != before {
		t.Fatal("issued")
	}
}

func TestTokenExchange_AdvertisedOnlyWhenServed(t *testing.T) {
	e := newSenderEnv(t)
	md, _ := e.srv.Metadata()
	if !slices.Contains(md.GrantTypesSupported, string(oauth2.TokenExchange)) {
		t.Fatalf("grant_types_supported %v", md.GrantTypesSupported)
	}
	e.srv.Config.AllowedGrantTypes = e.srv.Config.AllowedGrantTypes[:3]
	md, _ = e.srv.Metadata()
	if slices.Contains(md.GrantTypesSupported, string(oauth2.TokenExchange)) {
		t.Fatal("advertised while off")
	}
	resp, data := e.exchange(exchangerID, subject("x"), "")
	wantError(t, resp, data, http.StatusBadRequest, "unsupported_grant_type")
}
