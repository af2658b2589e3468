package clientip

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// referenceXFF is the plain reading of X-Forwarded-For that walkXFF must
// agree with: join the lines, split at commas, walk from the right.
func referenceXFF(r *Resolver, peer netip.Addr, lines []string) netip.Addr {
	var hops []string
	for _, h := range strings.Split(strings.Join(lines, ","), ",") {
		if h = strings.TrimSpace(h); h != "" {
			hops = append(hops, h)
		}
	}
	return r.walk(peer, hops)
}

// FuzzAddr_RightMostUntrustedHop checks the resolver on arbitrary
// forwarding headers from a trusted and an untrusted peer: it never
// panics, an untrusted peer is always the answer, the answer is otherwise
// the peer or an address written in the headers, the allocation-free walk
// of X-Forwarded-For agrees with the plain one, and every hop to the right
// of the answer is a trusted proxy.
func FuzzAddr_RightMostUntrustedHop(f *testing.F) {
	f.Add("10.0.0.1:80", "203.0.113.1, 10.0.0.2", "")
	f.Add("10.0.0.1:80", "", `for=192.0.2.60;proto=http, for="[2001:db8::1]:80"`)
	f.Add("10.0.0.1:80", "garbage,,1.2.3.4", `for="\"x`)
	f.Add("203.0.113.9:1", "1.2.3.4", "for=1.2.3.4")
	f.Add("[2001:db8:ffff::1]:443", "[2001:db8::42]:1", "")
	f.Add("10.0.0.1:80", "", `for=unknown;by=_hidden, for=10.0.0.5`)
	r := New(mustPrefixes(f, "10.0.0.0/8", "2001:db8:ffff::/48"))
	f.Fuzz(func(t *testing.T, remote, xff, fwd string) {
		h := http.Header{}
		var xffLines []string
		if xff != "" {
			xffLines = strings.Split(xff, "\n")
			h["X-Forwarded-For"] = xffLines
		}
		if fwd != "" {
			h["Forwarded"] = strings.Split(fwd, "\n")
		}
		peer := Peer(remote)
		got := r.Addr(request(remote, h))
		if !r.Trusted(peer) {
			if got != peer {
				t.Fatalf("untrusted peer %v: answer %v", peer, got)
			}
			return
		}
		if got != peer && !strings.Contains(xff+fwd, strings.TrimPrefix(got.String(), "::ffff:")) &&
			!mentions(xff+fwd, got) {
			t.Fatalf("answer %v is neither the peer nor in the headers", got)
		}
		if xff != "" {
			if want := referenceXFF(r, peer, xffLines); got != want {
				t.Fatalf("walkXFF %v, reference %v", got, want)
			}
		}
		var hops []string
		if xff != "" {
			hops = strings.Split(strings.Join(xffLines, ","), ",")
		} else if fwd != "" {
			hops = ForwardedFor(h["Forwarded"])
		}
		// Walking from the right, every hop before the answer is trusted.
		for i := len(hops) - 1; i >= 0; i-- {
			s := strings.TrimSpace(hops[i])
			if xff != "" && s == "" {
				continue
			}
			a := parseHop(s)
			if a == got || !a.IsValid() {
				break
			}
			if !r.Trusted(a) {
				t.Fatalf("untrusted hop %v to the right of the answer %v", a, got)
			}
		}
	})
}

// mentions reports whether the text holds an address that parses to a,
// however it was written (IPv6 has many spellings).
func mentions(text string, a netip.Addr) bool {
	for _, f := range strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == ';' || r == '"' || r == '=' || r == ' ' || r == '\t' || r == '\n' || r == '\\'
	}) {
		if parseHop(f) == a {
			return true
		}
	}
	return false
}

// FuzzForwardedFor_ElementsOfWellFormedHeaders checks the Forwarded parser:
// a header built from "for" values, quoted as RFC 7239 requires, parses
// back to them, whatever other parameters sit beside them, and arbitrary
// input never panics.
func FuzzForwardedFor_ElementsOfWellFormedHeaders(f *testing.F) {
	f.Add("192.0.2.60", "[2001:db8:cafe::17]:4711", "proto=https")
	f.Add("unknown", "_hidden", `by="a,b;c"`)
	f.Fuzz(func(t *testing.T, a, b, extra string) {
		ForwardedFor([]string{a + b + extra})
		quote := func(s string) string {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		for _, s := range []string{a, b, extra} {
			for i := 0; i < len(s); i++ {
				if !isQuotable(s[i]) {
					return // not representable in a quoted-string
				}
			}
		}
		line := "for=" + quote(a) + ";x=" + quote(extra) + " , by=" + quote(extra) + ";For=" + quote(b)
		got := ForwardedFor([]string{line})
		if len(got) != 2 || got[0] != a || got[1] != b {
			t.Fatalf("ForwardedFor(%q) = %q, want [%q %q]", line, got, a, b)
		}
	})
}
