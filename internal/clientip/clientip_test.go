package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func mustPrefixes(t testing.TB, list ...string) []netip.Prefix {
	t.Helper()
	p, err := ParsePrefixes(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request(remote string, header http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	r.Header = header
	return r
}

func TestAddr_RightMostUntrustedHop(t *testing.T) {
	r := New(mustPrefixes(t, "10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.7"))
	tests := []struct {
		name   string
		remote string
		header http.Header
		want   string
	}{
		{"untrusted peer: its headers are ignored", "198.51.100.9:5000",
			http.Header{"X-Forwarded-For": {"203.0.113.1"}}, "198.51.100.9"},
		{"trusted peer without headers", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"one proxy", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"203.0.113.1"}}, "203.0.113.1"},
		{"a client's forged entry on the left is not believed", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"1.1.1.1, 203.0.113.1"}}, "203.0.113.1"},
		{"two proxies", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"203.0.113.1, 10.9.9.9"}}, "203.0.113.1"},
		{"several header lines are one list", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"1.1.1.1, 203.0.113.1", "10.9.9.9"}}, "203.0.113.1"},
		{"a single trusted address", "192.0.2.7:80",
			http.Header{"X-Forwarded-For": {"203.0.113.5"}}, "203.0.113.5"},
		{"every hop trusted: the left-most", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"10.5.5.5, 10.6.6.6"}}, "10.5.5.5"},
		{"garbage ends the walk at the hop to its right", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"203.0.113.1, not-an-ip, 10.6.6.6"}}, "10.6.6.6"},
		{"garbage a client sent on the left is harmless", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"not-an-ip, 203.0.113.1"}}, "203.0.113.1"},
		{"empty entries are skipped", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"203.0.113.1,, "}}, "203.0.113.1"},
		{"IPv6, bracketed with a port", "[2001:db8:ffff::1]:443",
			http.Header{"X-Forwarded-For": {"[2001:db8::42]:1234"}}, "2001:db8::42"},
		{"IPv4 with a port", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"203.0.113.1:4711"}}, "203.0.113.1"},
		{"IPv4-mapped IPv6 is unmapped", "[::ffff:10.1.2.3]:5000",
			http.Header{"X-Forwarded-For": {"::ffff:203.0.113.1"}}, "203.0.113.1"},
		{"Forwarded, RFC 7239 example", "10.1.2.3:5000",
			http.Header{"Forwarded": {`for=192.0.2.60;proto=http;by=203.0.113.43`}}, "192.0.2.60"},
		{"Forwarded, quoted IPv6 with port", "10.1.2.3:5000",
			http.Header{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded, proxies skipped", "10.1.2.3:5000",
			http.Header{"Forwarded": {`for=198.51.100.17, for=10.7.7.7;proto=https`}}, "198.51.100.17"},
		{"Forwarded, case-insensitive parameter name", "10.1.2.3:5000",
			http.Header{"Forwarded": {`For=198.51.100.17`}}, "198.51.100.17"},
		{"Forwarded, unknown ends the walk", "10.1.2.3:5000",
			http.Header{"Forwarded": {`for=198.51.100.17, for=unknown, for=10.7.7.7`}}, "10.7.7.7"},
		{"Forwarded, a malformed element a client sent does not hide the proxy's", "10.1.2.3:5000",
			http.Header{"Forwarded": {`for="unterminated, for=198.51.100.17`}}, "198.51.100.17"},
		{"Forwarded, a comma inside quotes", "10.1.2.3:5000",
			http.Header{"Forwarded": {`for=198.51.100.17;ext="a,b"`}}, "198.51.100.17"},
		{"X-Forwarded-For is preferred to Forwarded", "10.1.2.3:5000",
			http.Header{"X-Forwarded-For": {"203.0.113.1"}, "Forwarded": {"for=198.51.100.17"}}, "203.0.113.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Addr(request(tt.remote, tt.header))
			if got.String() != tt.want {
				t.Fatalf("Addr = %v, want %s", got, tt.want)
			}
		})
	}
}

func TestAddr_NoTrustedProxiesAlwaysThePeer(t *testing.T) {
	for _, r := range []*Resolver{nil, New(nil)} {
		req := request("203.0.113.9:1234", http.Header{"X-Forwarded-For": {"1.2.3.4"}, "Forwarded": {"for=1.2.3.4"}})
		if got := r.Addr(req); got.String() != "203.0.113.9" {
			t.Fatalf("Addr = %v", got)
		}
	}
}

func TestParsePrefixes_NamesTheBadEntry(t *testing.T) {
	if _, err := ParsePrefixes([]string{"10.0.0.0/8", "nope"}); err == nil || !strings.HasPrefix(err.Error(), "[1]:") {
		t.Fatalf("error %v does not name entry 1", err)
	}
	p := mustPrefixes(t, "10.1.2.3", "2001:db8::1", "10.1.2.3/8")
	want := []string{"10.1.2.3/32", "2001:db8::1/128", "10.0.0.0/8"}
	for i := range want {
		if p[i].String() != want[i] {
			t.Errorf("prefix %d = %v, want %s", i, p[i], want[i])
		}
	}
}

func TestGroup_IPv6ByItsSlash64(t *testing.T) {
	a := netip.MustParseAddr("2001:db8:1:2:aaaa::1")
	b := netip.MustParseAddr("2001:db8:1:2:bbbb::2")
	c := netip.MustParseAddr("2001:db8:1:3::1")
	if Group(a) != Group(b) || Group(a) == Group(c) {
		t.Fatalf("groups %v %v %v", Group(a), Group(b), Group(c))
	}
	v4 := netip.MustParseAddr("192.0.2.1")
	if Group(v4) != v4 || Group(netip.Addr{}).IsValid() {
		t.Fatal("IPv4 and the zero address are their own group")
	}
}

func TestAddr_AllocatesNothingForAnUntrustedPeer(t *testing.T) {
	r := New(mustPrefixes(t, "10.0.0.0/8"))
	req := request("203.0.113.9:1234", http.Header{"X-Forwarded-For": {"1.2.3.4"}})
	proxied := request("10.0.0.1:1234", http.Header{"X-Forwarded-For": {"1.2.3.4, 10.0.0.2"}})
	if n := testing.AllocsPerRun(100, func() { r.Addr(req); r.Addr(proxied) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
