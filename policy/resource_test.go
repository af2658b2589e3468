package policy_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	oauth2errors "github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/models"
	"github.com/oauth2d/oauth2/policy"
)

func TestValidResource(t *testing.T) {
	for _, s := range []string{
		"https://api.example.com", "https://api.example.com/v1?tenant=a", "urn:example:resource",
		"https://user@api.example.com:8443/", "https://[::1]/x", "custom+scheme:thing%20x",
	} {
		if !policy.ValidResource(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{
		"", "/relative", "api.example.com", "https://api.example.com/#f", "https://api.example.com#",
		"https:", "https://", "https:///x", "https://:443/", "1http://x", "ht tp://x", "https://x/a b",
		"https://x/%zz", "https://x/%4", "https://x/\x00", "https://x/é", "https://x/\"",
		"https://x/" + strings.Repeat("a", policy.MaxResourceLength),
	} {
		if policy.ValidResource(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestParseResources(t *testing.T) {
	got, err := policy.ParseResources([]string{"https://a/", "urn:b", "https://a/"})
	if err != nil || len(got) != 2 || got[0] != "https://a/" || got[1] != "urn:b" {
		t.Fatalf("ParseResources = %v, %v", got, err)
	}
	if got, err := policy.ParseResources(nil); got != nil || err != nil {
		t.Fatalf("none: %v %v", got, err)
	}
	many := make([]string, policy.MaxResources+1)
	for i := range many {
		many[i] = "urn:r" + strings.Repeat("x", i)
	}
	for _, in := range [][]string{many, {"https://a/", "#"}} {
		if _, err := policy.ParseResources(in); !errors.Is(err, oauth2errors.ErrInvalidTarget) {
			t.Fatalf("%v: %v", in, err)
		}
	}
}

func TestClient_ResourcesAndExchangeAudiences(t *testing.T) {
	c := policy.Of(&models.Client{ID: "c", Resources: []string{"https://a/"}, TokenExchangeAudiences: []string{"backend"}})
	if !c.AllowsResource("https://a/", nil) || c.AllowsResource("https://b/", nil) || !c.AllowsResource("https://b/", []string{"https://b/"}) {
		t.Fatal("AllowsResource")
	}
	if err := c.CheckResources([]string{"https://a/", "https://b/"}, nil); !errors.Is(err, oauth2errors.ErrInvalidTarget) {
		t.Fatalf("CheckResources: %v", err)
	}
	if c.CheckExchangeAudiences([]string{"backend"}) != nil || c.CheckExchangeAudiences(nil) != nil {
		t.Fatal("allowed audience refused")
	}
	if err := c.CheckExchangeAudiences([]string{"backend", "other"}); !errors.Is(err, oauth2errors.ErrInvalidTarget) {
		t.Fatalf("CheckExchangeAudiences: %v", err)
	}
	plain := policy.Of(&models.Client{ID: "p"})
	if plain.RequiresDPoP() || plain.RequiresPushedAuthorization() || plain.CheckExchangeAudiences([]string{"x"}) == nil {
		t.Fatal("a client without registration got a feature")
	}
	strict := policy.Of(&models.Client{ID: "s", DPoPBoundAccessTokens: true, RequirePushedAuthorizationRequests: true})
	if !strict.RequiresDPoP() || !strict.RequiresPushedAuthorization() {
		t.Fatal("registered requirements not seen")
	}
}

// FuzzValidResource: the resource parser never panics, and what it accepts
// is an absolute URI without a fragment that net/url reads as one.
func FuzzValidResource(f *testing.F) {
	for _, s := range []string{"https://a.example.com/x?y", "urn:x:y", "https://a#b", "", ":", "a:", "https://[::1]:8080/%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		res, err := policy.ParseResources([]string{s})
		ok := policy.ValidResource(s)
		if ok != (err == nil) {
			t.Fatalf("ValidResource %v, ParseResources error %v", ok, err)
		}
		if !ok {
			return
		}
		if len(res) != 1 || res[0] != s {
			t.Fatalf("ParseResources = %v", res)
		}
		u, perr := url.Parse(s)
		if strings.ContainsRune(s, '#') || perr != nil || !u.IsAbs() || u.Fragment != "" || len(s) > policy.MaxResourceLength {
			t.Fatalf("accepted %q (%v)", s, perr)
		}
	})
}
