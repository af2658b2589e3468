package manage

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/errors"
)

// Lengths of RFC 7636 4.1 and 4.2: a verifier, and a plain challenge, is 43
// to 128 unreserved characters; an S256 challenge is the unpadded base64url
// of a SHA-256 digest, 43 characters.
const (
	pkceMinLen  = 43
	pkceMaxLen  = 128
	pkceS256Len = 43
)

// errShortVerifier: a code_verifier (or plain code_challenge) shorter than
// the 43 characters RFC 7636 4.1 requires, refused unless
// PKCEConfig.AllowShortVerifier. It says so instead of "does not match", so
// that a legacy client's developer sees the cause.
var errShortVerifier = errors.WithDescription(errors.ErrInvalidGrant,
	"code_verifier too short: RFC 7636 4.1 requires 43 to 128 characters")

// isUnreserved reports whether s has only the unreserved characters of
// RFC 3986 2.3, [A-Za-z0-9-._~], as RFC 7636 4.1 requires.
func isUnreserved(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// minPKCELen is the shortest code verifier or plain challenge accepted:
// 43 characters (RFC 7636 4.1), or one with PKCEConfig.AllowShortVerifier.
func (m *Manager) minPKCELen() int {
	if m.pkce.AllowShortVerifier {
		return 1
	}
	return pkceMinLen
}

// validPKCEValue reports whether s is a well-formed code verifier or plain
// challenge (RFC 7636 4.1).
func validPKCEValue(s string) bool {
	return len(s) >= pkceMinLen && len(s) <= pkceMaxLen && isUnreserved(s)
}

// validPKCEValue reports whether s is a well-formed code verifier or plain
// challenge, shorter than 43 characters too with
// PKCEConfig.AllowShortVerifier.
func (m *Manager) validPKCEValue(s string) bool {
	if !m.pkce.AllowShortVerifier {
		return validPKCEValue(s)
	}
	return s != "" && len(s) <= pkceMaxLen && isUnreserved(s)
}

// checkCodeChallenge validates the PKCE parameters of an authorization
// request and returns the challenge and method to store (RFC 7636 4.3,
// 4.4.1):
//
//   - a missing method means plain (RFC 7636 4.3), refused unless
//     PKCEConfig.AllowPlain (RFC 9700 2.1.1); another unknown method is
//     refused with errors.ErrUnsupportedCodeChallengeMethod;
//   - an S256 challenge sent with base64 '=' padding (as go-oauth2 v4's
//     example client does) is stored without it: RFC 7636 4.2 defines the
//     challenge as the unpadded encoding, and the comparison at the token
//     endpoint is unchanged;
//   - a malformed challenge is errors.ErrInvalidCodeChallengeLen;
//   - no challenge from a public client, or from any client when
//     PKCEConfig.Required, is errors.ErrMissingCodeChallenge.
//
// See https://www.rfc-editor.org/rfc/rfc7636#section-4.2.
// CheckCodeChallenge reports, for an authorization request of cli, whether
// the manager accepts its PKCE parameters (RFC 7636 4.3, 4.4.1; RFC 9700
// 2.1.1): a challenge is present when the client is public or PKCE is
// required, its method is S256 (or plain when allowed; no method means
// plain), and it has the form the method needs. The server calls it before
// the resource owner is asked to sign in, so that a request the manager
// would refuse is refused first; GenerateAuthToken checks again.
func (m *Manager) CheckCodeChallenge(cli oauth2.ClientInfo, challenge string, method oauth2.CodeChallengeMethod) error {
	_, _, err := m.checkCodeChallenge(cli, challenge, method)
	return err
}

func (m *Manager) checkCodeChallenge(cli oauth2.ClientInfo, challenge string, method oauth2.CodeChallengeMethod) (string, oauth2.CodeChallengeMethod, error) {
	if challenge == "" {
		if method != "" || cli.IsPublic() || m.pkce.Required {
			return "", "", errors.ErrMissingCodeChallenge
		}
		return "", "", nil
	}
	if method == "" {
		method = oauth2.CodeChallengePlain
	}
	switch method {
	case oauth2.CodeChallengeS256:
		if len(challenge) == pkceS256Len+1 && challenge[pkceS256Len] == '=' {
			challenge = challenge[:pkceS256Len]
		}
		if len(challenge) != pkceS256Len || !isUnreserved(challenge) {
			return "", "", errors.ErrInvalidCodeChallengeLen
		}
	case oauth2.CodeChallengePlain:
		if !m.pkce.AllowPlain {
			return "", "", errors.ErrUnsupportedCodeChallengeMethod
		}
		if !m.validPKCEValue(challenge) {
			return "", "", errors.ErrInvalidCodeChallengeLen
		}
	default:
		return "", "", errors.ErrUnsupportedCodeChallengeMethod
	}
	return challenge, method, nil
}

// verifyCodeChallenge checks the code_verifier of a token request against
// the challenge stored with the code (RFC 7636 4.6), in constant time. A
// code issued with a challenge needs a verifier, and a code issued without
// one refuses a verifier: PKCE cannot be downgraded either way
// (RFC 9700 4.8). A verifier shorter than 43 characters is refused as too
// short unless PKCEConfig.AllowShortVerifier (RFC 7636 4.1).
func (m *Manager) verifyCodeChallenge(ti oauth2.TokenInfo, verifier string) error {
	challenge := ti.GetCodeChallenge()
	if challenge == "" {
		if verifier != "" {
			return errors.ErrInvalidCodeChallenge
		}
		return nil
	}
	if verifier == "" {
		return errors.ErrMissingCodeVerifier
	}
	if len(verifier) < m.minPKCELen() {
		return errShortVerifier
	}
	if !m.validPKCEValue(verifier) {
		return errors.ErrInvalidCodeChallenge
	}
	switch ti.GetCodeChallengeMethod() {
	case oauth2.CodeChallengeS256:
		sum := sha256.Sum256([]byte(verifier))
		var enc [pkceS256Len]byte
		base64.RawURLEncoding.Encode(enc[:], sum[:])
		// A challenge stored by an older release, or by a store written
		// by go-oauth2, may still carry its padding.
		if subtle.ConstantTimeCompare(enc[:], []byte(strings.TrimRight(challenge, "="))) != 1 {
			return errors.ErrInvalidCodeChallenge
		}
	case oauth2.CodeChallengePlain, "":
		if subtle.ConstantTimeCompare([]byte(verifier), []byte(challenge)) != 1 {
			return errors.ErrInvalidCodeChallenge
		}
	default:
		return errors.ErrInvalidCodeChallenge
	}
	return nil
}
