package oidc_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/oidc"
)

func alice() *oidc.Claims {
	return &oidc.Claims{
		Name: "Alice Liddell", GivenName: "Alice", FamilyName: "Liddell", Nickname: "al",
		PreferredUsername: "alice", Picture: "https://example.com/a.png", Gender: "female",
		Birthdate: "1852-05-04", Zoneinfo: "Europe/London", Locale: "en-GB",
		Email: "alice@example.com", EmailVerified: true,
		PhoneNumber: "+1 555 0100",
		Address:     &oidc.Address{StreetAddress: "1 Rabbit Hole", Locality: "Oxford", Country: "GB"},
		UpdatedAt:   time.Unix(1700000000, 0),
		Extra:       map[string]any{"groups": []any{"admins"}, "tenant": "wonderland"},
	}
}

// object appends the claims of set to `{"sub":"x"` and decodes the result
// with encoding/json.
func object(t *testing.T, c *oidc.Claims, set oidc.ClaimSet) map[string]any {
	t.Helper()
	b, err := c.AppendClaims([]byte(`{"sub":"x"`), set)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '}')
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %s: %v", b, err)
	}
	return m
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestScopeValuesRequestTheClaimsOfCore54(t *testing.T) {
	tests := []struct {
		scope string
		want  string
	}{
		{"openid", "sub"},
		{"openid email", "email email_verified sub"},
		{"openid phone", "phone_number phone_number_verified sub"},
		{"openid address", "address sub"},
		{"openid profile", "birthdate family_name gender given_name locale name nickname picture preferred_username sub updated_at zoneinfo"},
		{"openid  profile   email address phone read", "address birthdate email email_verified family_name gender given_name locale name nickname phone_number phone_number_verified picture preferred_username sub updated_at zoneinfo"},
		{"openid emails profiles", "sub"},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			m := object(t, alice(), oidc.ScopeClaims(tt.scope))
			if got := strings.Join(keys(m), " "); got != tt.want {
				t.Fatalf("claims = %s\nwant     %s", got, tt.want)
			}
		})
	}
}

func TestClaimsAreReleasedOnlyWhenKnown(t *testing.T) {
	c := &oidc.Claims{Name: "Bob", EmailVerified: true, PhoneNumberVerified: true, Address: &oidc.Address{}}
	m := object(t, c, oidc.ScopeClaims("openid profile email address phone"))
	if got := strings.Join(keys(m), " "); got != "name sub" {
		t.Fatalf("claims = %s: email_verified without email, or an empty address", got)
	}
	var nilClaims *oidc.Claims
	if b, err := nilClaims.AppendClaims([]byte("{"), oidc.ScopeClaims("openid profile")); err != nil || string(b) != "{" {
		t.Fatalf("nil claims: %q %v", b, err)
	}
}

func TestClaimsValuesHaveTheTypesOfCore51(t *testing.T) {
	m := object(t, alice(), oidc.ScopeClaims("openid profile email address phone"))
	if m["email_verified"] != true || m["phone_number_verified"] != false {
		t.Fatalf("booleans: %v %v", m["email_verified"], m["phone_number_verified"])
	}
	if m["updated_at"] != float64(1700000000) {
		t.Fatalf("updated_at = %v", m["updated_at"])
	}
	addr, ok := m["address"].(map[string]any)
	if !ok || addr["street_address"] != "1 Rabbit Hole" || addr["country"] != "GB" || len(addr) != 3 {
		t.Fatalf("address = %v", m["address"])
	}
}

func TestClaimsExtraAreReleasedOnlyByNameAndNeverReplaceReservedClaims(t *testing.T) {
	req, err := oidc.ParseClaimsRequest(`{"userinfo":{"groups":null,"sub":null,"iss":null,"missing":null}}`)
	if err != nil {
		t.Fatal(err)
	}
	c := alice()
	c.Extra["iss"] = "https://evil.example.com"
	c.Extra["email"] = "mallory@example.com"
	m := object(t, c, oidc.UserInfoClaims("openid email", req))
	if got := strings.Join(keys(m), " "); got != "email email_verified groups sub" {
		t.Fatalf("claims = %s", got)
	}
	if m["email"] != "alice@example.com" || m["sub"] != "x" {
		t.Fatalf("an extra claim replaced a standard one: %v", m)
	}
	if _, ok := object(t, c, oidc.ScopeClaims("openid profile"))["tenant"]; ok {
		t.Fatal("an extra claim released without being asked for by name")
	}
	c.Extra["groups"] = func() {}
	if _, err := c.AppendClaims(nil, oidc.UserInfoClaims("openid", req)); err == nil {
		t.Fatal("an extra claim that is not JSON was encoded")
	}
}

func TestClaimsRoundTripThroughJSON(t *testing.T) {
	want := alice()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got oidc.Claims
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want.UpdatedAt = want.UpdatedAt.UTC()
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, *want)
	}
	// The configuration form of docs/config.md.
	cfg := `{"name":"Alice Liddell","given_name":"Alice","family_name":"Liddell","email":"alice@example.com","email_verified":true,"phone_number":"+1 555 0100","address":{"street_address":"1 Rabbit Hole","locality":"Oxford","country":"GB"}}`
	var c oidc.Claims
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		t.Fatal(err)
	}
	if c.Name != "Alice Liddell" || !c.EmailVerified || c.Address == nil || c.Address.Locality != "Oxford" {
		t.Fatalf("decoded %+v", c)
	}
	var empty oidc.Claims
	if b, err := json.Marshal(empty); err != nil || string(b) != "{}" {
		t.Fatalf("empty claims: %s %v", b, err)
	}
}

func TestClaimsOfTheWrongTypeAreRefused(t *testing.T) {
	for _, in := range []string{
		`{"email_verified":"true"}`,
		`{"name":42}`,
		`{"address":"1 Rabbit Hole"}`,
		`{"address":{"street":"x"}}`,
		`{"updated_at":"2024-01-01"}`,
		`{"updated_at":1.5}`,
		`{"updated_at":-1}`,
		`{"sub":"root"}`,
		`{"nonce":"x"}`,
		`[]`,
		`null`,
	} {
		var c oidc.Claims
		if err := json.Unmarshal([]byte(in), &c); err == nil {
			t.Errorf("%s accepted: %+v", in, c)
		}
	}
}

func TestStandardClaimsAndScopesForDiscovery(t *testing.T) {
	cs := oidc.StandardClaims()
	if cs[0] != "sub" || len(cs) != 20 || !slices.Contains(cs, "phone_number_verified") {
		t.Fatalf("StandardClaims = %v", cs)
	}
	if s := oidc.StandardScopes(); strings.Join(s, " ") != "openid profile email address phone" {
		t.Fatalf("StandardScopes = %v", s)
	}
}

func TestClaimSetAddIsIndependentOfCopies(t *testing.T) {
	var a oidc.ClaimSet
	a.Add("b_extra")
	a.Add("d_extra")
	b := a
	b.Add("c_extra")
	a.Add("a_extra")
	if got := strings.Join(a.Names(), " "); got != "a_extra b_extra d_extra" {
		t.Fatalf("a = %s", got)
	}
	if got := strings.Join(b.Names(), " "); got != "b_extra c_extra d_extra" {
		t.Fatalf("b = %s", got)
	}
	a.Add("sub")
	a.Add("nonce")
	if a.Has("sub") || a.Has("nonce") {
		t.Fatal("reserved claims added to a set")
	}
}

func TestHasScopeMatchesWholeValues(t *testing.T) {
	tests := []struct {
		scope string
		want  bool
	}{
		{"openid", true}, {" openid ", true}, {"read openid write", true},
		{"", false}, {"openid2", false}, {"xopenid", false}, {"open id", false}, {"OPENID", false},
	}
	for _, tt := range tests {
		if got := oidc.IsOpenID(tt.scope); got != tt.want {
			t.Errorf("IsOpenID(%q) = %v", tt.scope, got)
		}
	}
}

func TestClaimsFromMapReadsAConfigurationMap(t *testing.T) {
	c, err := oidc.ClaimsFromMap(map[string]any{
		"name": "Test User", "email": "test@example.com", "email_verified": true,
		"address": map[string]any{"locality": "Oxford"}, "updated_at": 1700000000, "employee_id": 42,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Test User" || !c.EmailVerified || c.Address.Locality != "Oxford" || c.UpdatedAt.Unix() != 1700000000 ||
		c.Extra["employee_id"] != json.Number("42") {
		t.Fatalf("claims %+v", c)
	}
	if _, err := oidc.ClaimsFromMap(map[string]any{"email_verified": "yes"}); err == nil {
		t.Fatal("a string email_verified was accepted")
	}
}
