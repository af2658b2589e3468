package manage

import (
	"slices"
	"strings"

	"github.com/oauth2d/oauth2"
)

// Scopes are space-delimited lists of case-sensitive tokens (RFC 6749 3.3).
// These helpers walk them in place, without allocating, because they run
// on every token request.

// nextScope returns the first scope token of s and the rest of s after it,
// skipping extra spaces.
func nextScope(s string) (tok, rest string) {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// scopeHas reports whether the space-delimited scope list has tok.
func scopeHas(list, tok string) bool {
	for list != "" {
		var t string
		t, list = nextScope(list)
		if t == tok {
			return true
		}
	}
	return false
}

// scopeWithin reports whether every token of requested is in granted: a
// refresh cannot widen the scope of its grant (RFC 6749 6).
func scopeWithin(requested, granted string) bool {
	for requested != "" {
		var t string
		t, requested = nextScope(requested)
		if t != "" && !scopeHas(granted, t) {
			return false
		}
	}
	return true
}

// clientAllowsScope reports whether every token of requested is among the
// scopes the client registered (RFC 7591 2); any scope when it registered
// none, or does not carry registration metadata.
func clientAllowsScope(cli oauth2.ClientInfo, requested string) bool {
	if requested == "" {
		return true
	}
	md, ok := cli.(oauth2.ClientMetadata)
	if !ok {
		return true
	}
	allowed := md.GetScopes()
	if len(allowed) == 0 {
		return true
	}
	for requested != "" {
		var t string
		t, requested = nextScope(requested)
		if t == "" {
			continue
		}
		if !slices.Contains(allowed, t) {
			return false
		}
	}
	return true
}
