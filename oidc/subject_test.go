package oidc_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2"
	oauth2errors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/oidc"
)

type subjectClient struct {
	models.Client
	subjectType, sectorURI string
}

func (c *subjectClient) GetSubjectType() string         { return c.subjectType }
func (c *subjectClient) GetSectorIdentifierURI() string { return c.sectorURI }

func pairwiseClient(sectorURI string, redirects ...string) *subjectClient {
	return &subjectClient{Client: models.Client{ID: "c", RedirectURIs: redirects}, subjectType: oidc.SubjectPairwise, sectorURI: sectorURI}
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func TestPairwiseSubjectIsPerSectorHMAC(t *testing.T) {
	s, err := oidc.NewSubjects(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	sub := func(c *subjectClient, user string) string {
		t.Helper()
		v, err := s.Subject(c, user)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a := pairwiseClient("", "https://app.example.com/cb", "https://APP.example.com:444/cb2")
	b := pairwiseClient("", "https://other.example.com/cb")
	viaSector := pairwiseClient("https://app.example.com/sector.json", "https://one.example.net/cb", "https://two.example.org/cb")
	if sub(a, "alice") != sub(viaSector, "alice") {
		t.Fatal("a sector_identifier_uri of the same host gives another subject")
	}
	if sub(a, "alice") == sub(b, "alice") || sub(a, "alice") == sub(a, "bob") {
		t.Fatal("pairwise subjects collide across sectors or users")
	}
	// Independently of the package: HMAC-SHA-256 of the length-prefixed
	// sector and user ID.
	mac := hmac.New(sha256.New, testSecret)
	mac.Write([]byte("oauth2d pairwise sub\x00\x00\x00\x00\x0fapp.example.com\x00\x00\x00\x05alice"))
	if want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); sub(a, "alice") != want {
		t.Fatalf("sub = %s, want %s", sub(a, "alice"), want)
	}
	if strings.Contains(sub(a, "alice"), "alice") {
		t.Fatal("the pairwise subject reveals the user ID")
	}
}

func TestPublicSubjectIsTheUserID(t *testing.T) {
	var none *oidc.Subjects
	for _, c := range []oauth2.ClientInfo{&models.Client{ID: "seed"}, &subjectClient{subjectType: oidc.SubjectPublic}, &subjectClient{}} {
		got, err := none.Subject(c, "alice")
		if err != nil || got != "alice" {
			t.Fatalf("%T: %q %v", c, got, err)
		}
	}
	if got := none.Types(); !reflect.DeepEqual(got, []string{"public"}) {
		t.Fatalf("Types = %v", got)
	}
}

func TestSubjectErrors(t *testing.T) {
	s, _ := oidc.NewSubjects(testSecret)
	var none *oidc.Subjects
	tests := []struct {
		name string
		s    *oidc.Subjects
		c    *subjectClient
		want error
	}{
		{"pairwise without a secret", none, pairwiseClient("", "https://a.example.com/cb"), oidc.ErrPairwiseUnavailable},
		{"unknown subject type", s, &subjectClient{subjectType: "ephemeral"}, oidc.ErrUnknownSubjectType},
		{"several hosts without sector_identifier_uri (Core 8.1)", s, pairwiseClient("", "https://a.example.com/cb", "https://b.example.com/cb"), oidc.ErrNoSector},
		{"no redirect URI", s, pairwiseClient(""), oidc.ErrNoSector},
		{"http sector_identifier_uri", s, pairwiseClient("http://a.example.com/s.json", "https://a.example.com/cb"), oidc.ErrNoSector},
		{"custom scheme without a host", s, pairwiseClient("", "com.example.app:/cb"), oidc.ErrNoSector},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.s.Subject(tt.c, "alice"); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := s.Subject(&models.Client{}, ""); !errors.Is(err, oidc.ErrNoUser) {
		t.Fatalf("no user: %v", err)
	}
	if _, err := oidc.NewSubjects(testSecret[:31]); err == nil {
		t.Fatal("a 31-byte pairwise secret was accepted")
	}
	seed := &subjectClient{Client: models.Client{Domain: "http://localhost:9094"}, subjectType: oidc.SubjectPairwise}
	if sector, err := oidc.SectorIdentifier(seed); err != nil || sector != "localhost" {
		t.Fatalf("seed Domain sector = %q %v", sector, err)
	}
}

func TestCheckSectorIdentifierURIListsEveryRedirectURI(t *testing.T) {
	redirects := []string{"https://one.example.net/cb", "https://two.example.org/cb"}
	if err := oidc.CheckSectorIdentifierURI("https://rp.example.com/s.json", append(redirects, "https://x/"), redirects); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		uri    string
		listed []string
	}{
		"missing redirect": {"https://rp.example.com/s.json", redirects[:1]},
		"http":             {"http://rp.example.com/s.json", redirects},
		"fragment":         {"https://rp.example.com/s.json#x", redirects},
	} {
		if err := oidc.CheckSectorIdentifierURI(tt.uri, tt.listed, redirects); !errors.Is(err, oidc.ErrInvalidSectorIdentifier) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestGrantInfoRoundTripsThroughTheExtensionCarrier(t *testing.T) {
	claims, err := oidc.ParseClaimsRequest(coreExample)
	if err != nil {
		t.Fatal(err)
	}
	g := oidc.GrantInfo{Nonce: "n-0S6", AuthTime: time.Unix(1_700_000_000, 0), ACR: "urn:mace:incommon:iap:silver",
		AMR: []string{"pwd", "mfa"}, Claims: claims, SID: "08a5019c"}
	ext := url.Values{"dpop.jkt": {"0ZcOCORZNYy"}, oidc.ExtSID: {"stale"}}
	ext, err = g.Encode(ext)
	if err != nil {
		t.Fatal(err)
	}
	if ext.Get("dpop.jkt") != "0ZcOCORZNYy" {
		t.Fatal("Encode dropped another feature's value")
	}
	got, err := oidc.DecodeGrantInfo(ext)
	if err != nil {
		t.Fatal(err)
	}
	want := g
	want.OpenID = true // Encode marks every grant it writes as an OpenID Connect one
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if !oidc.IsOpenIDGrant(&models.Token{Extension: ext}) || oidc.IsOpenIDGrant(&models.Token{}) ||
		oidc.IsOpenIDGrant(&models.Token{Extension: url.Values{oidc.ExtNonce: {"n"}}}) {
		t.Fatal("IsOpenIDGrant does not follow the mark")
	}
	tok := &models.Token{Extension: ext}
	if viaToken, err := oidc.GrantInfoOf(tok); err != nil || viaToken.SID != "08a5019c" {
		t.Fatalf("GrantInfoOf: %+v %v", viaToken, err)
	}
	// Values g does not have are removed from the carrier.
	ext, err = (&oidc.GrantInfo{Nonce: "only"}).Encode(ext)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{oidc.ExtAuthTime, oidc.ExtACR, oidc.ExtAMR, oidc.ExtClaims, oidc.ExtSID} {
		if _, ok := ext[k]; ok {
			t.Errorf("%s kept", k)
		}
	}
	if empty, err := oidc.DecodeGrantInfo(nil); err != nil || !reflect.DeepEqual(empty, oidc.GrantInfo{}) {
		t.Fatalf("no extension: %+v %v", empty, err)
	}
}

func TestGrantInfoTooLargeIsInvalidRequestAndWritesNothing(t *testing.T) {
	var names []string
	for i := range 60 {
		names = append(names, `"claim_`+strings.Repeat("x", 20)+string(rune('a'+i%26))+string(rune('a'+i/26))+`":{"essential":true}`)
	}
	claims, err := oidc.ParseClaimsRequest(`{"userinfo":{` + strings.Join(names, ",") + `}}`)
	if err != nil {
		t.Fatal(err)
	}
	ext := url.Values{"app": {"kept"}}
	_, err = (&oidc.GrantInfo{Nonce: "n", Claims: claims}).Encode(ext)
	if !errors.Is(err, oauth2errors.ErrInvalidRequest) {
		t.Fatalf("err = %v, want invalid_request", err)
	}
	if len(ext) != 1 || ext.Get("app") != "kept" {
		t.Fatalf("the carrier changed on error: %v", ext)
	}
	if _, err := (&oidc.GrantInfo{AMR: []string{"pwd otp"}}).Encode(nil); err == nil {
		t.Fatal("an amr value with a space was encoded")
	}
}

func TestDecodeGrantInfoRefusesCorruptValues(t *testing.T) {
	for _, ext := range []url.Values{
		{oidc.ExtAuthTime: {"yesterday"}},
		{oidc.ExtAuthTime: {"-5"}},
		{oidc.ExtClaims: {"{"}},
	} {
		if _, err := oidc.DecodeGrantInfo(ext); err == nil {
			t.Errorf("%v decoded", ext)
		}
	}
}
