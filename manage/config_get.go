package manage

import "github.com/oauth2d/oauth2"

// CodeChallengeMethods returns the PKCE methods the manager accepts in an
// authorization request (RFC 7636 4.3): S256 always, and plain only when
// PKCEConfig.AllowPlain (RFC 9700 2.1.1). The server's metadata
// (RFC 8414 2 code_challenge_methods_supported) is made from it, so that it
// never advertises a method the manager refuses.
func (m *Manager) CodeChallengeMethods() []oauth2.CodeChallengeMethod {
	if m.pkce.AllowPlain {
		return []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256, oauth2.CodeChallengePlain}
	}
	return []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256}
}

// PKCE returns the manager's PKCE policy, as set by SetPKCE.
func (m *Manager) PKCE() PKCEConfig { return m.pkce }
