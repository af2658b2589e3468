package oauth2d

import (
	"strings"
	"testing"
	"time"

	"github.com/oauth2d/oauth2/oidc"
)

// oidcYAML is a configuration with every OpenID Connect field of
// docs/config.md.
const oidcYAML = `
store: memory
session: {ttl: 12h, idle_timeout: 30m}
signing: {alg: ES256}
clients:
  - id: rp
    secret: rp-secret-value
    redirect_uris: [https://rp.example/cb, https://rp.example/cb2]
    grant_types: [authorization_code, refresh_token]
    scopes: [openid, profile, email]
    post_logout_redirect_uris: [https://rp.example/bye]
    subject_type: pairwise
    id_token_signed_response_alg: RS256
users:
  - username: alice
    password: alice-password
    claims:
      name: Alice Liddell
      given_name: Alice
      family_name: Liddell
      email: alice@example.com
      email_verified: true
      phone_number: "+1 555 0100"
      address: {street_address: 1 Rabbit Hole, locality: Oxford, country: GB}
`

func TestParseConfig_ReadsTheOpenIDFields(t *testing.T) {
	cfg, err := ParseConfig([]byte(oidcYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c, u := cfg.Clients[0], cfg.Users[0]
	claims, err := oidc.ClaimsFromMap(u.Claims)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"session.ttl", cfg.Session.TTL, 12 * time.Hour},
		{"session.idle_timeout", cfg.Session.IdleTimeout, 30 * time.Minute},
		{"signing.alg", cfg.Signing.Alg, "ES256"},
		{"clients[0].post_logout_redirect_uris", strings.Join(c.PostLogoutRedirectURIs, " "), "https://rp.example/bye"},
		{"clients[0].subject_type", c.SubjectType, "pairwise"},
		{"clients[0].id_token_signed_response_alg", c.IDTokenSignedResponseAlg, "RS256"},
		{"users[0].claims.name", claims.Name, "Alice Liddell"},
		{"users[0].claims.email_verified", claims.EmailVerified, true},
		{"users[0].claims.phone_number", claims.PhoneNumber, "+1 555 0100"},
		{"users[0].claims.address.locality", claims.Address.Locality, "Oxford"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Without the fields: the defaults.
	cfg, _ = ParseConfig([]byte("store: memory\n"))
	if cfg.Session.TTL != DefaultSessionTTL || cfg.Session.IdleTimeout != DefaultSessionIdle || cfg.Signing.Alg != "RS256" {
		t.Fatalf("defaults: session %+v signing %+v", cfg.Session, cfg.Signing)
	}
}

// TestConfig_OpenIDFieldsAreRefusedByName covers every OpenID Connect field
// that does not fit: the message names the field.
func TestConfig_OpenIDFieldsAreRefusedByName(t *testing.T) {
	client := func(extra string) string {
		return "store: memory\nclients:\n  - id: rp\n    secret: rp-secret-value\n    redirect_uris: [https://rp.example/cb]\n" + extra
	}
	user := func(claims string) string {
		return "store: memory\nusers:\n  - username: alice\n    password: pw\n    claims: " + claims + "\n"
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"SessionTTLNotADuration", "session: {ttl: soon}\n", `session.ttl: "soon" is not a duration`},
		{"SessionTTLZero", "session: {ttl: 0s}\n", "session.ttl: must be positive"},
		{"IdleTimeoutNegative", "session: {idle_timeout: -1m}\n", "session.idle_timeout: must be positive"},
		{"SigningAlgUnknown", "signing: {alg: HS256}\n", `signing.alg: "HS256" is not one of RS256, ES256, EdDSA, PS256`},
		{"PostLogoutRedirectURIRelative", client("    post_logout_redirect_uris: [/bye]\n"), "clients[0].post_logout_redirect_uris[0]: not an absolute URI"},
		{"PostLogoutRedirectURIWithFragment", client("    post_logout_redirect_uris: ['https://rp.example/bye#x']\n"), "clients[0].post_logout_redirect_uris[0]: must not have a fragment"},
		{"SubjectTypeUnknown", client("    subject_type: secret\n"), `clients[0].subject_type: "secret" is not public or pairwise`},
		{"PairwiseAcrossHosts", "store: memory\nclients:\n  - id: rp\n    secret: rp-secret-value\n    redirect_uris: [https://a.example/cb, https://b.example/cb]\n    subject_type: pairwise\n",
			"clients[0].subject_type: pairwise needs redirect_uris that all have one host"},
		{"SectorIdentifierURI", client("    sector_identifier_uri: https://rp.example/sector.json\n"), "clients[0].sector_identifier_uri: not supported"},
		{"IDTokenAlgNotAKeyOfTheServer", client("    id_token_signed_response_alg: ES256\n"), `clients[0].id_token_signed_response_alg: "ES256" is not an algorithm of the server's keys`},
		{"ClaimOfTheWrongType", user("{email_verified: yes please}"), "users[0].claims.email_verified: claim email_verified must be a boolean"},
		{"AddressWithAnUnknownMember", user("{address: {planet: Mars}}"), "users[0].claims.address: claim address must be an object"},
		{"ReservedClaim", user("{sub: root}"), `users[0].claims.sub: claim "sub" is reserved`},
		{"ClaimsNotAMapping", user("[name]"), "users[0].claims: must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
