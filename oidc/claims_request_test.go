package oidc_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	oauth2errors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/oidc"
)

// coreExample is the claims request of OpenID Connect Core 1.0 5.5.
const coreExample = `{
  "userinfo":
   {
    "given_name": {"essential": true},
    "nickname": null,
    "email": {"essential": true},
    "email_verified": {"essential": true},
    "picture": null,
    "http://example.info/claims/groups": null
   },
  "id_token":
   {
    "auth_time": {"essential": true},
    "acr": {"values": ["urn:mace:incommon:iap:silver"] }
   }
 }`

func TestClaimsRequestOfCore55IsParsed(t *testing.T) {
	r, err := oidc.ParseClaimsRequest(coreExample)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.UserInfo) != 6 || !r.UserInfo["email"].Essential || r.UserInfo["nickname"].Essential {
		t.Fatalf("userinfo = %+v", r.UserInfo)
	}
	acr, essential := r.ACR()
	if len(acr) != 1 || acr[0] != "urn:mace:incommon:iap:silver" || essential {
		t.Fatalf("acr = %v %v", acr, essential)
	}
	if !r.IDToken["auth_time"].Essential {
		t.Fatal("auth_time not essential")
	}
	set := oidc.UserInfoClaims("openid", r)
	for _, n := range []string{"given_name", "nickname", "email", "email_verified", "picture", "http://example.info/claims/groups"} {
		if !set.Has(n) {
			t.Errorf("UserInfo claims lack %s", n)
		}
	}
	if set.Has("family_name") {
		t.Error("UserInfo claims have family_name, which was not asked for")
	}
	if oidc.IDTokenClaims("openid", r, false).Has("given_name") {
		t.Error("ID token claims have a userinfo member's claim")
	}
}

func TestClaimsRequestSubjectValue(t *testing.T) {
	r, err := oidc.ParseClaimsRequest(`{"id_token":{"sub":{"value":"248289761001"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if sub, ok := r.Subject(); !ok || sub != "248289761001" {
		t.Fatalf("Subject = %q %v", sub, ok)
	}
	var none *oidc.ClaimsRequest
	if _, ok := none.Subject(); ok {
		t.Fatal("a nil request names a subject")
	}
}

func TestClaimsRequestIgnoresMembersItDoesNotUnderstand(t *testing.T) {
	r, err := oidc.ParseClaimsRequest(`{"verified_claims":{"deep":[{"a":[1,2,{"b":null}]}]},"userinfo":{"email":{"essential":true,"purpose":"to write to you","x":{"y":[]}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if !r.UserInfo["email"].Essential || r.IDToken != nil {
		t.Fatalf("request = %+v", r)
	}
}

func TestClaimsRequestBadInputIsInvalidRequest(t *testing.T) {
	tests := map[string]string{
		"not JSON":                  `{"userinfo":`,
		"not an object":             `["userinfo"]`,
		"a string":                  `"userinfo"`,
		"trailing data":             `{"userinfo":{}} {}`,
		"trailing garbage":          `{"userinfo":{}}x`,
		"duplicate member":          `{"userinfo":{},"userinfo":{"email":null}}`,
		"duplicate claim":           `{"userinfo":{"email":null,"email":{"essential":true}}}`,
		"duplicate essential":       `{"userinfo":{"email":{"essential":false,"essential":true}}}`,
		"userinfo not object":       `{"userinfo":["email"]}`,
		"userinfo null":             `{"userinfo":null}`,
		"claim not null or object":  `{"userinfo":{"email":true}}`,
		"essential not boolean":     `{"userinfo":{"email":{"essential":"yes"}}}`,
		"value an object":           `{"id_token":{"acr":{"value":{"a":1}}}}`,
		"value null":                `{"id_token":{"acr":{"value":null}}}`,
		"values not array":          `{"id_token":{"acr":{"values":"urn:x"}}}`,
		"values with an object":     `{"id_token":{"acr":{"values":["a",{"b":1}]}}}`,
		"empty claim name":          `{"userinfo":{"":null}}`,
		"invalid UTF-8":             "{\"userinfo\":{\"\xff\":null}}",
		"too deep":                  `{"x":[[[[[[[[[[1]]]]]]]]]]}`,
		"too large":                 `{"userinfo":{"a":null` + strings.Repeat(`,"b":null`, 600) + `}}`,
		"empty":                     ``,
		"single-quoted (not JSON)":  `{'userinfo':{}}`,
		"trailing comma (not JSON)": `{"userinfo":{"email":null,}}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := oidc.ParseClaimsRequest(in)
			if err == nil {
				t.Fatalf("accepted: %+v", r)
			}
			if !errors.Is(err, oauth2errors.ErrInvalidRequest) {
				t.Fatalf("err = %v, not invalid_request", err)
			}
			_, _, desc := oauth2errors.Lookup(err)
			if !strings.HasPrefix(desc, "The claims parameter ") {
				t.Fatalf("description %q", desc)
			}
		})
	}
}

func TestClaimsRequestCanonicalFormRoundTrips(t *testing.T) {
	r, err := oidc.ParseClaimsRequest(coreExample)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id_token":{"acr":{"values":["urn:mace:incommon:iap:silver"]},"auth_time":{"essential":true}},"userinfo":{"email":{"essential":true},"email_verified":{"essential":true},"given_name":{"essential":true},"http://example.info/claims/groups":null,"nickname":null,"picture":null}}`
	if string(b) != want {
		t.Fatalf("canonical form\n got %s\nwant %s", b, want)
	}
	again, err := oidc.ParseClaimsRequest(string(b))
	if err != nil || !reflect.DeepEqual(again, r) {
		t.Fatalf("round trip: %+v %v", again, err)
	}
}

// FuzzParseClaimsRequest checks that ParseClaimsRequest never panics,
// refuses with invalid_request, accepts only bounded valid JSON objects,
// and that what it accepts survives its canonical form unchanged.
func FuzzParseClaimsRequest(f *testing.F) {
	for _, s := range []string{
		coreExample,
		`{"id_token":{"sub":{"value":"x"},"acr":{"essential":true,"values":["1",2,true]}}}`,
		`{"userinfo":{"email":null},"other":{"a":[1,{"b":"c"}]}}`,
		`{"userinfo":{}}`, `{}`, `[]`, `{"userinfo":{"email":{"value":1e400}}}`, "{\"a\":\"\\ud800\"}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := oidc.ParseClaimsRequest(s)
		if err != nil {
			if r != nil || !errors.Is(err, oauth2errors.ErrInvalidRequest) {
				t.Fatalf("error %v with request %v", err, r)
			}
			return
		}
		if len(s) > oidc.MaxClaimsRequestBytes || !json.Valid([]byte(s)) {
			t.Fatalf("accepted %q: too large or not JSON", s)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &obj); err != nil || obj == nil {
			t.Fatalf("accepted %q, which is not a JSON object: %v", s, err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("canonical form of %q: %v", s, err)
		}
		again, err := oidc.ParseClaimsRequest(string(b))
		if err != nil && !strings.Contains(err.Error(), "too large") {
			t.Fatalf("canonical form %s of %q refused: %v", b, s, err)
		}
		if err == nil && !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip of %q:\n%+v\n%+v", s, r, again)
		}
	})
}
