package manage_test

import (
	"context"
	stderrors "errors"
	"testing"

	"github.com/oauth2d/oauth2/errors"
	"github.com/oauth2d/oauth2/manage"
	"github.com/oauth2d/oauth2/models"
)

// seedClient is a client without registration metadata: only the seed's
// ClientInfo methods.
type seedClient struct {
	id, secret, domain string
	public             bool
}

func (c *seedClient) GetID() string     { return c.id }
func (c *seedClient) GetSecret() string { return c.secret }
func (c *seedClient) GetDomain() string { return c.domain }
func (c *seedClient) IsPublic() bool    { return c.public }
func (c *seedClient) GetUserID() string { return "" }

func TestValidateRedirectURI_RegisteredURIsMatchExactly(t *testing.T) {
	m := manage.NewManager()
	cli := &models.Client{ID: "c", RedirectURIs: []string{
		"https://app.example.com/cb",
		"https://app.example.com/cb?x=1",
		"com.example.app:/oauth2redirect",
		"http://127.0.0.1/native",
		"http://[::1]:8000/native6",
		"http://localhost:8080/cb",
	}}
	tests := []struct {
		name, uri string
		ok        bool
	}{
		{"exact", "https://app.example.com/cb", true},
		{"exact with query", "https://app.example.com/cb?x=1", true},
		{"private-use scheme", "com.example.app:/oauth2redirect", true},
		{"loopback v4 any port (RFC 8252 7.3)", "http://127.0.0.1:51004/native", true},
		{"loopback v4 no port", "http://127.0.0.1/native", true},
		{"loopback v6 other port", "http://[::1]:1234/native6", true},
		{"loopback v6 no port", "http://[::1]/native6", true},
		{"extra path segment", "https://app.example.com/cb/evil", false},
		{"path prefix", "https://app.example.com/c", false},
		{"trailing slash", "https://app.example.com/cb/", false},
		{"different query", "https://app.example.com/cb?x=2", false},
		{"added query", "https://app.example.com/cb?evil=1", false},
		{"host case differs", "https://APP.example.com/cb", false},
		{"explicit default port", "https://app.example.com:443/cb", false},
		{"http instead of https", "http://app.example.com/cb", false},
		{"fragment", "https://app.example.com/cb#frag", false},
		{"empty fragment", "https://app.example.com/cb#", false},
		{"suffix host", "https://app.example.com.evil.com/cb", false},
		{"userinfo", "https://app.example.com@evil.com/cb", false},
		{"relative", "/cb", false},
		{"scheme-relative", "//app.example.com/cb", false},
		{"loopback other path", "http://127.0.0.1:5000/other", false},
		{"loopback https", "https://127.0.0.1:5000/native", false},
		{"loopback host suffix", "http://127.0.0.1.evil.com/native", false},
		{"loopback userinfo", "http://127.0.0.1:80@evil.com/native", false},
		{"loopback bad port", "http://127.0.0.1:99999/native", false},
		{"loopback empty port", "http://127.0.0.1:/native", false},
		{"loopback other address", "http://127.0.0.2:5000/native", false},
		{"loopback extra query", "http://127.0.0.1:5000/native?x=1", false},
		{"loopback v6 as v4", "http://127.0.0.1:8000/native6", false},
		{"localhost is not an IP literal", "http://localhost:9090/cb", false},
		{"does not parse", "https://app.example.com/cb\x7f%zz", false},
		{"control character", "https://app.example.com/cb\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.ValidateRedirectURI(context.Background(), cli, tt.uri)
			if tt.ok {
				if err != nil || got != tt.uri {
					t.Fatalf("ValidateRedirectURI(%q) = %q, %v; want it accepted", tt.uri, got, err)
				}
				return
			}
			if !stderrors.Is(err, errors.ErrInvalidRedirectURI) || got != "" {
				t.Fatalf("ValidateRedirectURI(%q) = %q, %v; want ErrInvalidRedirectURI", tt.uri, got, err)
			}
		})
	}
}

func TestValidateRedirectURI_EmptyNeedsExactlyOneRegistered(t *testing.T) {
	m := manage.NewManager()
	one := &models.Client{ID: "one", RedirectURIs: []string{"https://a.example/cb"}}
	two := &models.Client{ID: "two", RedirectURIs: []string{"https://a.example/cb", "https://b.example/cb"}}
	domain := &models.Client{ID: "d", Domain: "https://a.example"}
	none := &models.Client{ID: "n"}

	if got, err := m.ValidateRedirectURI(context.Background(), one, ""); err != nil || got != "https://a.example/cb" {
		t.Fatalf("one registered: got %q, %v", got, err)
	}
	if got, err := m.ValidateRedirectURI(context.Background(), two, ""); !stderrors.Is(err, errors.ErrInvalidRedirectURI) || got != "" {
		t.Fatalf("two registered (RFC 6749 3.1.2.3): got %q, %v", got, err)
	}
	if got, err := m.ValidateRedirectURI(context.Background(), domain, ""); err != nil || got != "https://a.example" {
		t.Fatalf("domain: got %q, %v", got, err)
	}
	for _, uri := range []string{"", "https://a.example/cb"} {
		if got, err := m.ValidateRedirectURI(context.Background(), none, uri); !stderrors.Is(err, errors.ErrInvalidRedirectURI) || got != "" {
			t.Fatalf("no registration, %q: got %q, %v", uri, got, err)
		}
	}
}

// TestValidateRedirectURI_DomainRefusesAttackURIs checks the seed's Domain
// matching, made strict: same scheme, host and port, never by suffix or
// prefix (RFC 9700 4.1.3).
func TestValidateRedirectURI_DomainRefusesAttackURIs(t *testing.T) {
	tests := []struct {
		name, domain, uri string
		ok                bool
	}{
		{"same origin, any path", "https://example.com", "https://example.com/cb?x=1", true},
		{"domain with a path", "https://example.com/app", "https://example.com/other", true},
		{"host case-insensitive", "https://example.com", "https://EXAMPLE.com/cb", true},
		{"explicit default port", "https://example.com", "https://example.com:443/cb", true},
		{"same explicit port", "https://example.com:8443", "https://example.com:8443/cb", true},
		{"http domain", "http://example.com", "http://example.com/cb", true},

		{"suffix host", "https://example.com", "https://example.com.evil.com/cb", false},
		{"prefix host", "https://example.com", "https://evilexample.com/cb", false},
		{"subdomain", "https://example.com", "https://a.example.com/cb", false},
		{"parent domain", "https://a.example.com", "https://example.com/cb", false},
		{"domain in path", "https://example.com", "https://evil.com/https://example.com", false},
		{"domain in query", "https://example.com", "https://evil.com/?r=https://example.com", false},
		{"domain as userinfo", "https://example.com", "https://example.com@evil.com/cb", false},
		{"domain as userinfo with port", "https://example.com", "https://example.com:443@evil.com/cb", false},
		{"userinfo on the right host", "https://example.com", "https://user:pass@example.com/cb", false},
		{"backslash trick", "https://example.com", "https://example.com\\@evil.com/cb", false},
		{"encoded dot host", "https://example.com", "https://example.com%2eevil.com/cb", false},
		{"trailing dot", "https://example.com", "https://example.com./cb", false},
		{"different port", "https://example.com", "https://example.com:8443/cb", false},
		{"port dropped", "https://example.com:8443", "https://example.com/cb", false},
		{"http instead of https", "https://example.com", "http://example.com/cb", false},
		{"https instead of http", "http://example.com", "https://example.com/cb", false},
		{"other scheme", "https://example.com", "javascript://example.com/%0aalert(1)", false},
		{"fragment", "https://example.com", "https://example.com/cb#x", false},
		{"relative", "https://example.com", "/cb", false},
		{"scheme-relative", "https://example.com", "//example.com/cb", false},
		{"opaque", "https://example.com", "https:example.com/cb", false},
		{"no host", "https://example.com", "https:///cb", false},
		{"kelvin sign folds to k", "https://kitchen.example", "https://\u212aitchen.example/cb", false},
		{"non-ASCII host", "https://example.com", "https://ex\u0430mple.com/cb", false},
		{"does not parse", "https://example.com", "https://example.com:port/cb", false},
		{"control character", "https://example.com", "https://example.com/\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := manage.DefaultValidateURI(tt.domain, tt.uri)
			if tt.ok != (err == nil) {
				t.Fatalf("DefaultValidateURI(%q, %q) = %v, want ok=%v", tt.domain, tt.uri, err, tt.ok)
			}
			if err != nil && !stderrors.Is(err, errors.ErrInvalidRedirectURI) {
				t.Fatalf("error %v does not wrap ErrInvalidRedirectURI", err)
			}

			// The manager applies the same rule to a seed client.
			m := manage.NewManager()
			got, err := m.ValidateRedirectURI(context.Background(), &seedClient{id: "s", domain: tt.domain}, tt.uri)
			if tt.ok != (err == nil) || (tt.ok && got != tt.uri) {
				t.Fatalf("ValidateRedirectURI = %q, %v, want ok=%v", got, err, tt.ok)
			}
		})
	}
}

func TestValidateRedirectURI_CustomHandlerForDomainClients(t *testing.T) {
	m := manage.NewManager()
	custom := stderrors.New("custom refusal")
	var calls int
	m.SetValidateURIHandler(func(base, uri string) error {
		calls++
		if uri == "https://allowed.example/cb" {
			return nil
		}
		return custom
	})
	cli := &seedClient{id: "s", domain: "https://example.com"}
	if got, err := m.ValidateRedirectURI(context.Background(), cli, "https://allowed.example/cb"); err != nil || got != "https://allowed.example/cb" {
		t.Fatalf("custom handler accept: %q, %v", got, err)
	}
	_, err := m.ValidateRedirectURI(context.Background(), cli, "https://example.com/cb")
	if !stderrors.Is(err, errors.ErrInvalidRedirectURI) || !stderrors.Is(err, custom) {
		t.Fatalf("custom handler refusal: %v", err)
	}
	// The form checks come first, and registered URIs never reach the
	// handler.
	if _, err := m.ValidateRedirectURI(context.Background(), cli, "https://allowed.example/cb#f"); !stderrors.Is(err, errors.ErrInvalidRedirectURI) {
		t.Fatalf("fragment passed a custom handler: %v", err)
	}
	before := calls
	reg := &models.Client{ID: "r", Domain: "https://example.com", RedirectURIs: []string{"https://r.example/cb"}}
	if _, err := m.ValidateRedirectURI(context.Background(), reg, "https://allowed.example/cb"); !stderrors.Is(err, errors.ErrInvalidRedirectURI) {
		t.Fatalf("registered URIs bypassed: %v", err)
	}
	if calls != before {
		t.Fatal("handler called for a client with registered URIs")
	}
	// nil restores the default.
	m.SetValidateURIHandler(nil)
	if _, err := m.ValidateRedirectURI(context.Background(), cli, "https://allowed.example/cb"); !stderrors.Is(err, errors.ErrInvalidRedirectURI) {
		t.Fatalf("default not restored: %v", err)
	}
}
