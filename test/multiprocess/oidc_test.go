package multiprocess

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/oauth2"
)

// The OpenID Connect side of the shared store (GitHub issue "OpenID
// Connect", items 6, 7 and 10): sessions and signing keys live in the
// store, so a logout at one process ends the session at every other, and
// a key rotated by `oauth2d keys rotate` signs at every process after the
// delay.

// oidcPostLogout is the registered post_logout_redirect_uri of the
// fixture's client; never contacted.
const oidcPostLogout = "http://127.0.0.1:9/signed-out"

// oidcFile is the YAML file of docs/config.md with the OpenID Connect
// fields the tests set.
type oidcFile struct {
	Issuer      string           `yaml:"issuer"`
	Listen      string           `yaml:"listen"`
	Store       string           `yaml:"store"`
	AccessToken map[string]any   `yaml:"access_token"`
	Signing     map[string]any   `yaml:"signing"`
	Clients     []map[string]any `yaml:"clients"`
	Users       []map[string]any `yaml:"users"`
}

// writeOIDCConfig writes the configuration every process of a test
// shares: the fixture's client registered for OpenID Connect, its user
// with claims, JWT access tokens (whose kid tells which key signs) and
// ES256 keys (with the RS256 key kept beside them).
func writeOIDCConfig(t *testing.T, fx fixture, store string) string {
	t.Helper()
	cfg := oidcFile{
		Issuer:      sharedIssuer,
		Listen:      "127.0.0.1:9096",
		Store:       store,
		AccessToken: map[string]any{"format": "jwt"},
		Signing:     map[string]any{"alg": "ES256"},
		Clients: []map[string]any{{
			"id": fx.clientID, "secret": fx.clientSecret,
			"redirect_uris":             []string{fx.redirectURI},
			"post_logout_redirect_uris": []string{oidcPostLogout},
			"grant_types":               []string{"authorization_code", "refresh_token", "client_credentials"},
			"scopes":                    []string{"openid", "profile", "read"},
		}},
		Users: []map[string]any{{"username": fx.username, "password": fx.password, "claims": map[string]any{"name": "Alice"}}},
	}
	data, err := yaml.Marshal(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "oauth2d.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// oidcSignIn runs an OpenID Connect authentication request with PKCE
// (OpenID Connect Core 1.0 3.1.2.1) through the pages of route, signing in
// and allowing when asked, redeems the code at redeem and returns the ID
// token.
func (a *agent) oidcSignIn(t *testing.T, route pageRoute, redeem *process) string {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	state := randomHex(8)
	conf := a.oauthConfig(redeem)
	conf.Scopes = []string{"openid", "profile"}
	next := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", randomHex(8)))
	next = strings.TrimPrefix(next, conf.Endpoint.AuthURL)
	next = "/authorize" + next
	for range 8 {
		p := route(next)
		path, _, _ := strings.Cut(next, "?")
		resp, page := a.get(t, p.url+next)
		switch resp.StatusCode {
		case http.StatusFound, http.StatusSeeOther:
			loc := resp.Header.Get("Location")
			if strings.HasPrefix(loc, a.fx.redirectURI+"?") {
				tok, err := conf.Exchange(a.ctx(), a.codeOf(t, loc, state), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatalf("%s: redeem: %s", redeem.name, describe(err))
				}
				raw, _ := tok.Extra("id_token").(string)
				if raw == "" {
					t.Fatalf("%s: no ID token for an openid grant", redeem.name)
				}
				return raw
			}
			next = a.local(t, loc)
		case http.StatusOK:
			form := url.Values{"csrf": {hiddenValue(t, page, "csrf")}}
			switch path {
			case "/login":
				form.Set("return", hiddenValue(t, page, "return"))
				form.Set("username", a.fx.username)
				form.Set("password", a.fx.password)
			case "/consent":
				form.Set("request", hiddenValue(t, page, "request"))
				form.Set("consent", "allow")
			default:
				t.Fatalf("%s %s: a page where a redirect was expected", p.name, path)
			}
			resp := a.post(t, p.url+path, form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s POST %s: status %d, want 303", p.name, path, resp.StatusCode)
			}
			next = a.local(t, resp.Header.Get("Location"))
		default:
			t.Fatalf("%s GET %s: status %d", p.name, path, resp.StatusCode)
		}
	}
	t.Fatal("the authentication request did not reach the client within 8 pages")
	return ""
}

// promptNone asks p, under prompt=none (Core 3.1.2.1), whether the
// browser's session is live: a code, or login_required.
func (a *agent) promptNone(t *testing.T, p *process) bool {
	t.Helper()
	conf := a.oauthConfig(nil)
	conf.Scopes = []string{"openid"}
	u := conf.AuthCodeURL("probe", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none"))
	resp, _ := a.get(t, p.url+"/authorize"+strings.TrimPrefix(u, conf.Endpoint.AuthURL))
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), a.fx.redirectURI) {
		t.Fatalf("%s: prompt=none: status %d", p.name, resp.StatusCode)
	}
	switch q := loc.Query(); {
	case q.Get("code") != "":
		return true
	case q.Get("error") == "login_required":
		return false
	default:
		t.Fatalf("%s: prompt=none answered %q", p.name, q.Get("error"))
		return false
	}
}

// TestSharedStore_LogoutAtOneProcessEndsTheSessionAtAnother signs in
// through one process and logs out (RP-Initiated Logout 1.0) through
// another: the session, kept in the store, has ended at the first.
func TestSharedStore_LogoutAtOneProcessEndsTheSessionAtAnother(t *testing.T) {
	t.Parallel()
	for _, bf := range durableBackends {
		t.Run(bf.name, func(t *testing.T) {
			t.Parallel()
			be := bf.make(t)
			bin := oauth2dBinary(t)
			fx := newFixture()
			ps := start(t, bin, writeOIDCConfig(t, fx, be.dsn), be.name+"-1", be.name+"-2")
			p1, p2 := ps[0], ps[1]
			a := newAgent(t, fx)
			hint := a.oidcSignIn(t, byPage(p1, p2, p1), p2)
			if !a.promptNone(t, p2) || !a.promptNone(t, p1) {
				t.Fatal("the session is not live at both processes after the sign-in")
			}
			q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {oidcPostLogout}, "state": {"bye"}}
			resp, _ := a.get(t, p2.url+"/logout?"+q.Encode())
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != oidcPostLogout+"?state=bye" {
				t.Fatalf("%s: logout: status %d Location %q", p2.name, resp.StatusCode, loc)
			}
			if a.promptNone(t, p1) {
				t.Fatalf("the session ended at %s is still live at %s", p2.name, p1.name)
			}
		})
	}
}

// rotateOutput is what `oauth2d keys rotate` prints of the new key.
var rotateOutput = regexp.MustCompile(`new key (\S+) \((\w+)\): published now, signs from (\S+)`)

// TestSharedStore_KeyRotatedByTheCommandSignsAtEveryProcessAfterTheDelay
// runs `oauth2d keys rotate` on the store of two running processes: both
// publish the new key before it signs, keep signing with the old one until
// the delay has passed, and sign with the new one after it.
func TestSharedStore_KeyRotatedByTheCommandSignsAtEveryProcessAfterTheDelay(t *testing.T) {
	t.Parallel()
	for _, bf := range durableBackends {
		t.Run(bf.name, func(t *testing.T) {
			t.Parallel()
			be := bf.make(t)
			bin := oauth2dBinary(t)
			fx := newFixture()
			config := writeOIDCConfig(t, fx, be.dsn)
			ps := start(t, bin, config, be.name+"-1", be.name+"-2")
			a := newAgent(t, fx)
			old := a.signingKid(t, ps[0])
			if kid := a.signingKid(t, ps[1]); kid != old {
				t.Fatalf("the processes sign with %s and %s", old, kid)
			}
			// The delay covers the processes' reload interval (10s).
			const delay = 15 * time.Second
			cmd := exec.Command(bin, "keys", "rotate", "-config", config, "-delay", delay.String())
			cmd.Env = append(environWithout("OAUTH2D_"), "OAUTH2D_SECRET="+sharedSecret)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil {
				t.Fatalf("oauth2d keys rotate: %v\n%s%s", err, out.String(), errOut.String())
			}
			m := rotateOutput.FindStringSubmatch(out.String())
			if m == nil || m[2] != "ES256" {
				t.Fatalf("oauth2d keys rotate printed %q", out.String())
			}
			kid := m[1]
			activates, err := time.Parse(time.RFC3339, m[3])
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				for !slices.Contains(a.publishedKids(t, p), kid) {
					if time.Now().After(activates) {
						t.Fatalf("%s did not publish the new key before it started signing", p.name)
					}
					time.Sleep(100 * time.Millisecond)
				}
				if time.Now().Before(activates.Add(-time.Second)) {
					if got := a.signingKid(t, p); got != old {
						t.Fatalf("%s signs with %s before the delay has passed", p.name, got)
					}
				}
			}
			// Each process switches at the activation time: never before,
			// and at once after (it holds the key already).
			for _, p := range ps {
				deadline := activates.Add(5 * time.Second)
				for {
					got := a.signingKid(t, p)
					if got == kid {
						if time.Now().Before(activates.Add(-time.Second)) {
							t.Fatalf("%s signs with the new key before the delay has passed", p.name)
						}
						break
					}
					if got != old || time.Now().After(deadline) {
						t.Fatalf("%s signs with %s %v after the activation time, want the new key %s", p.name, got, time.Since(activates), kid)
					}
					time.Sleep(100 * time.Millisecond)
				}
				if !slices.Contains(a.publishedKids(t, p), old) {
					t.Errorf("%s no longer publishes the old key, whose tokens are still live", p.name)
				}
			}
		})
	}
}

// signingKid returns the kid of the JWT access token p issues now.
func (a *agent) signingKid(t *testing.T, p *process) string {
	t.Helper()
	raw := a.clientCredentials(t, p)
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	var h struct {
		Kid string `json:"kid"`
	}
	if err != nil || json.Unmarshal(b, &h) != nil || h.Kid == "" {
		t.Fatalf("%s: the access token is not a JWT with a kid", p.name)
	}
	return h.Kid
}

// publishedKids returns the kids of p's JWK Set.
func (a *agent) publishedKids(t *testing.T, p *process) []string {
	t.Helper()
	resp, err := a.api.Get(p.url + "/jwks.json")
	if err != nil {
		t.Fatalf("%s: JWK Set: %v", p.name, err)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(readBody(t, resp)), &set); err != nil {
		t.Fatalf("%s: JWK Set: %v", p.name, err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}
