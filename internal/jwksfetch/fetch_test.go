package jwksfetch

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// publicSet returns a JWK Set of one new P-256 public key with kid.
func publicSet(t testing.TB, kids ...string) []byte {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, kid := range kids {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwksServer serves body (swappable) and counts requests.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	body []byte
	seen []http.Header
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		b := s.body
		s.seen = append(s.seen, r.Header.Clone())
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte) {
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func kidsOf(t *testing.T, raw []byte) []string {
	t.Helper()
	set, err := Parse(raw)
	if err != nil {
		t.Fatalf("Get returned a set Parse refuses: %v", err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func TestGet_CachesForTTLAndRefreshesUnknownKidAtMostOncePerInterval(t *testing.T) {
	srv := newJWKSServer(t, publicSet(t, "a"))
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	f := New(Config{AllowPrivate: true, TTL: 5 * time.Minute, RefreshInterval: 30 * time.Second, Now: clk.now})
	ctx := context.Background()

	raw, err := f.Get(ctx, srv.URL, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got := kidsOf(t, raw); len(got) != 1 || got[0] != "a" {
		t.Fatalf("kids = %v", got)
	}
	for range 5 {
		if _, err := f.Get(ctx, srv.URL, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Get(ctx, srv.URL, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("a cached set was fetched %d times, want 1", n)
	}

	// The client rotates: kid "b" appears. The first refresh for an
	// unknown kid is allowed only once the interval has passed since the
	// first fetch.
	srv.set(publicSet(t, "a", "b"))
	if _, err := f.Get(ctx, srv.URL, "b"); err != nil {
		t.Fatal(err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("refreshed within the interval of the first fetch: %d fetches", n)
	}
	clk.add(31 * time.Second)
	raw, err = f.Get(ctx, srv.URL, "b")
	if err != nil {
		t.Fatal(err)
	}
	if got := kidsOf(t, raw); len(got) != 2 {
		t.Fatalf("after refresh kids = %v, want a and b", got)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}

	// A stranger sends made-up kids: at most one fetch per interval.
	for i := range 50 {
		if _, err := f.Get(ctx, srv.URL, fmt.Sprintf("made-up-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("made-up kids caused %d fetches, want none", n-2)
	}
	clk.add(31 * time.Second)
	for i := range 50 {
		if _, err := f.Get(ctx, srv.URL, fmt.Sprintf("made-up-again-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("after the interval made-up kids caused %d fetches, want 1", n-2)
	}

	// After the TTL the set is fetched again even for a known kid.
	clk.add(5 * time.Minute)
	if _, err := f.Get(ctx, srv.URL, "a"); err != nil {
		t.Fatal(err)
	}
	if n := srv.hits.Load(); n != 4 {
		t.Fatalf("fetches after TTL = %d, want 4", n)
	}
}

func TestGet_ConcurrentCallersShareOneFetch(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int64
	body := publicSet(t, "a")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		<-release
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	f := New(Config{AllowPrivate: true})

	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := f.Get(context.Background(), srv.URL, "a")
			errs <- err
		})
	}
	// Let every caller reach the flight before the answer comes.
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := hits.Load(); got != 1 {
		t.Fatalf("%d concurrent callers made %d fetches, want 1", n, got)
	}
}

func TestGet_FailureIsRememberedForTheInterval(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	f := New(Config{AllowPrivate: true, RefreshInterval: 30 * time.Second, Now: clk.now})
	for range 10 {
		if _, err := f.Get(context.Background(), srv.URL, "a"); !stderrors.Is(err, ErrStatus) {
			t.Fatalf("err = %v, want ErrStatus", err)
		}
	}
	if got := hits.Load(); got != 1 {
		t.Fatalf("a failing jwks_uri was fetched %d times within the interval, want 1", got)
	}
	clk.add(31 * time.Second)
	_, _ = f.Get(context.Background(), srv.URL, "a")
	if got := hits.Load(); got != 2 {
		t.Fatalf("fetches after the interval = %d, want 2", got)
	}
}

func TestGet_FailedRefreshKeepsTheSetWithinItsTTL(t *testing.T) {
	srv := newJWKSServer(t, publicSet(t, "a"))
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	f := New(Config{AllowPrivate: true, Now: clk.now})
	if _, err := f.Get(context.Background(), srv.URL, "a"); err != nil {
		t.Fatal(err)
	}
	srv.set([]byte(`not json`))
	clk.add(time.Minute)
	raw, err := f.Get(context.Background(), srv.URL, "unknown")
	if err != nil {
		t.Fatalf("a failed refresh lost the cached set: %v", err)
	}
	if got := kidsOf(t, raw); len(got) != 1 || got[0] != "a" {
		t.Fatalf("kids = %v", got)
	}
	clk.add(DefaultTTL)
	if _, err := f.Get(context.Background(), srv.URL, "a"); !stderrors.Is(err, ErrInvalidSet) {
		t.Fatalf("after the TTL a bad set must fail: err = %v", err)
	}
}

func TestGet_CacheIsBounded(t *testing.T) {
	srv := newJWKSServer(t, publicSet(t, "a"))
	f := New(Config{AllowPrivate: true, MaxEntries: 3})
	for i := range 10 {
		if _, err := f.Get(context.Background(), fmt.Sprintf("%s/c%d", srv.URL, i), ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Len(); n != 3 {
		t.Fatalf("cache holds %d URIs, want 3", n)
	}
}

func TestFetch_RefusesBadAnswers(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privateSet, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: priv, KeyID: "p"}}})
	symmetric := []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","kid":"s"}]}`)
	big := make([]byte, DefaultMaxBytes+1)
	for i := range big {
		big[i] = ' '
	}
	copy(big, publicSet(t, "a"))

	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    error
	}{
		{"private key", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(privateSet) }, ErrPrivateKey},
		{"symmetric key", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(symmetric) }, ErrPrivateKey},
		{"not JSON", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }, ErrInvalidSet},
		{"empty set", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"keys":[]}`)) }, ErrInvalidSet},
		{"too large with length", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(big) }, ErrTooLarge},
		{"too large chunked", func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i < len(big); i += 1024 {
				_, _ = w.Write(big[i:min(i+1024, len(big))])
				w.(http.Flusher).Flush()
			}
		}, ErrTooLarge},
		{"not found", func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }, ErrStatus},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, ErrFetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			f := New(Config{AllowPrivate: true, Timeout: 300 * time.Millisecond})
			start := time.Now()
			set, err := f.Fetch(context.Background(), srv.URL)
			if !stderrors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if set != nil {
				t.Fatal("a refused answer returned a set")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v, the timeout is 300ms", d)
			}
		})
	}
}

func TestFetch_NeverFollowsRedirects(t *testing.T) {
	var targetHits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		targetHits.Add(1)
		_, _ = w.Write(publicSet(t, "a"))
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer redirector.Close()
	f := New(Config{AllowPrivate: true})
	if _, err := f.Fetch(context.Background(), redirector.URL); !stderrors.Is(err, ErrStatus) {
		t.Fatalf("err = %v, want ErrStatus", err)
	}
	if targetHits.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestFetch_SendsNoCredentials(t *testing.T) {
	srv := newJWKSServer(t, publicSet(t, "a"))
	f := New(Config{AllowPrivate: true})
	if _, err := f.Fetch(context.Background(), srv.URL); err != nil {
		t.Fatal(err)
	}
	u := strings.Replace(srv.URL, "http://", "http://user:pass@", 1)
	if _, err := f.Fetch(context.Background(), u); !stderrors.Is(err, ErrBadURI) {
		t.Fatalf("a jwks_uri with user information: err = %v, want ErrBadURI", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.seen) != 1 {
		t.Fatalf("requests = %d, want 1", len(srv.seen))
	}
	for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
		if v := srv.seen[0].Get(h); v != "" {
			t.Errorf("request carried %s", h)
		}
	}
}

// TestFetch_RefusesPrivateAddresses checks the SSRF guard with private
// addresses not allowed: IP literals are refused before any connection,
// and a name that resolves to loopback (localhost) is refused at dial
// time, where the resolved address is checked — a listener there never
// sees a request.
func TestFetch_RefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write(publicSet(t, "a"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	f := New(Config{TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig, Timeout: 2 * time.Second})
	tests := []struct {
		uri  string
		want error
	}{
		{"https://127.0.0.1:" + port + "/jwks", ErrForbiddenAddress},
		{"https://[::1]:" + port + "/jwks", ErrForbiddenAddress},
		{"https://[::ffff:127.0.0.1]:" + port + "/jwks", ErrForbiddenAddress},
		{"https://10.1.2.3/jwks", ErrForbiddenAddress},
		{"https://172.16.0.1/jwks", ErrForbiddenAddress},
		{"https://192.168.1.1/jwks", ErrForbiddenAddress},
		{"https://169.254.169.254/latest/meta-data", ErrForbiddenAddress},
		{"https://100.64.0.1/jwks", ErrForbiddenAddress},
		{"https://0.0.0.0:" + port + "/jwks", ErrForbiddenAddress},
		{"https://[fd00::1]/jwks", ErrForbiddenAddress},
		{"https://[fe80::1]/jwks", ErrForbiddenAddress},
		{"https://[::ffff:10.0.0.1]/jwks", ErrForbiddenAddress},
		{"https://localhost:" + port + "/jwks", ErrForbiddenAddress},
		{"http://example.com/jwks", ErrBadURI},
		{"ftp://example.com/jwks", ErrBadURI},
		{"https://example.com/jwks#frag", ErrBadURI},
		{"https://user@example.com/jwks", ErrBadURI},
		{"/jwks", ErrBadURI},
		{"https:///jwks", ErrBadURI},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			_, err := f.Fetch(context.Background(), tt.uri)
			if !stderrors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			_, err = f.Get(context.Background(), tt.uri, "a")
			if !stderrors.Is(err, tt.want) {
				t.Fatalf("Get: err = %v, want %v", err, tt.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback listener got %d requests", n)
	}

	// The same listener, allowed: the guard was what refused it.
	allowed := New(Config{AllowPrivate: true, TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig})
	if _, err := allowed.Fetch(context.Background(), "https://127.0.0.1:"+port+"/jwks"); err != nil {
		t.Fatalf("allowed private: %v", err)
	}
}

func TestForbidden(t *testing.T) {
	tests := []struct {
		addr      string
		forbidden bool
	}{
		{"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true},
		{"10.0.0.1", true}, {"172.31.255.255", true}, {"192.168.0.1", true},
		{"fc00::1", true}, {"fd12:3456::1", true},
		{"169.254.169.254", true}, {"fe80::1", true},
		{"0.0.0.0", true}, {"::", true}, {"0.1.2.3", true},
		{"224.0.0.1", true}, {"ff02::1", true}, {"ff0e::1", true},
		{"100.64.0.1", true}, {"100.127.255.255", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"::ffff:169.254.169.254", true},
		{"::127.0.0.1", true}, {"64:ff9b::7f00:1", true}, {"2002:7f00:1::", true},
		{"255.255.255.255", true}, {"198.18.0.1", true},
		{"8.8.8.8", false}, {"100.63.255.255", false}, {"100.128.0.0", false},
		{"172.32.0.1", false}, {"2606:4700::1111", false}, {"::ffff:8.8.8.8", false},
	}
	for _, tt := range tests {
		if got := Forbidden(netip.MustParseAddr(tt.addr)); got != tt.forbidden {
			t.Errorf("Forbidden(%s) = %v, want %v", tt.addr, got, tt.forbidden)
		}
	}
}

func TestParse(t *testing.T) {
	ec := publicSet(t, "a", "b")
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "e"}}})
	var unknownAndEC map[string]any
	_ = json.Unmarshal(ec, &unknownAndEC)
	unknownAndEC["keys"] = append([]any{map[string]any{"kty": "XYZ", "x": "1"}}, unknownAndEC["keys"].([]any)...)
	mixed, _ := json.Marshal(unknownAndEC)
	tooMany := `{"keys":[` + strings.TrimSuffix(strings.Repeat(`{"kty":"XYZ"},`, MaxKeys+1), ",") + `]}`

	tests := []struct {
		name string
		in   string
		keys int
		want error
	}{
		{"two EC keys", string(ec), 2, nil},
		{"Ed25519 key", string(ed), 1, nil},
		{"unknown kty ignored", string(mixed), 2, nil},
		{"only unknown kty", `{"keys":[{"kty":"XYZ"}]}`, 0, ErrInvalidSet},
		{"RSA private member", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}]}`, 0, ErrPrivateKey},
		{"OKP private member", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA","d":"AA"}]}`, 0, ErrPrivateKey},
		{"oct key", `{"keys":[{"kty":"oct","k":"AAAA"}]}`, 0, ErrPrivateKey},
		{"no keys member", `{}`, 0, ErrInvalidSet},
		{"keys not array", `{"keys":{}}`, 0, ErrInvalidSet},
		{"key not object", `{"keys":[1]}`, 0, ErrInvalidSet},
		{"trailing data", string(ec) + `{}`, 0, ErrInvalidSet},
		{"array", `[]`, 0, ErrInvalidSet},
		{"too many keys", tooMany, 0, ErrInvalidSet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Parse([]byte(tt.in))
			if !stderrors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && len(set.Keys) != tt.keys {
				t.Fatalf("keys = %d, want %d", len(set.Keys), tt.keys)
			}
		})
	}
}

// FuzzParse checks that whatever a jwks_uri answers, Parse either refuses
// it or returns between 1 and MaxKeys public keys whose JSON parses again
// to the same keys.
func FuzzParse(f *testing.F) {
	f.Add(publicSet(f, "a"))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := Parse(b)
		if err != nil {
			if set != nil {
				t.Fatal("an error with a set")
			}
			return
		}
		if len(set.Keys) == 0 || len(set.Keys) > MaxKeys {
			t.Fatalf("%d keys", len(set.Keys))
		}
		for _, k := range set.Keys {
			if !k.IsPublic() {
				t.Fatal("a private key passed")
			}
		}
		out, err := json.Marshal(set)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil || len(again.Keys) != len(set.Keys) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
