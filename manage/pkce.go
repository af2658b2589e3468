package manage

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"

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

// validPKCEValue reports whether s is a well-formed code verifier or plain
// challenge (RFC 7636 4.1).
func validPKCEValue(s string) bool {
	return len(s) >= pkceMinLen && len(s) <= pkceMaxLen && isUnreserved(s)
}

// checkCodeChallenge validates the PKCE parameters of an authorization
// request and returns the method to store (RFC 7636 4.3, 4.4.1):
//
//   - a missing method means plain (RFC 7636 4.3), refused unless
//     PKCEConfig.AllowPlain (RFC 9700 2.1.1); another unknown method is
//     refused with errors.ErrUnsupportedCodeChallengeMethod;
//   - a malformed challenge is errors.ErrInvalidCodeChallengeLen;
//   - no challenge from a public client, or from any client when
//     PKCEConfig.Required, is errors.ErrMissingCodeChallenge.
func (m *Manager) checkCodeChallenge(cli oauth2.ClientInfo, challenge string, method oauth2.CodeChallengeMethod) (oauth2.CodeChallengeMethod, error) {
	if challenge == "" {
		if method != "" || cli.IsPublic() || m.pkce.Required {
			return "", errors.ErrMissingCodeChallenge
		}
		return "", nil
	}
	if method == "" {
		method = oauth2.CodeChallengePlain
	}
	switch method {
	case oauth2.CodeChallengeS256:
		if len(challenge) != pkceS256Len || !isUnreserved(challenge) {
			return "", errors.ErrInvalidCodeChallengeLen
		}
	case oauth2.CodeChallengePlain:
		if !m.pkce.AllowPlain {
			return "", errors.ErrUnsupportedCodeChallengeMethod
		}
		if !validPKCEValue(challenge) {
			return "", errors.ErrInvalidCodeChallengeLen
		}
	default:
		return "", errors.ErrUnsupportedCodeChallengeMethod
	}
	return method, nil
}

// verifyCodeChallenge checks the code_verifier of a token request against
// the challenge stored with the code (RFC 7636 4.6), in constant time. A
// code issued with a challenge needs a verifier, and a code issued without
// one refuses a verifier: PKCE cannot be downgraded either way
// (RFC 9700 4.8).
func verifyCodeChallenge(ti oauth2.TokenInfo, verifier string) error {
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
	if !validPKCEValue(verifier) {
		return errors.ErrInvalidCodeChallenge
	}
	switch ti.GetCodeChallengeMethod() {
	case oauth2.CodeChallengeS256:
		sum := sha256.Sum256([]byte(verifier))
		var enc [pkceS256Len]byte
		base64.RawURLEncoding.Encode(enc[:], sum[:])
		if subtle.ConstantTimeCompare(enc[:], []byte(challenge)) != 1 {
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
