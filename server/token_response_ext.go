package server

import (
	"github.com/oauth2d/oauth2"
	"github.com/oauth2d/oauth2/policy"
)

// issuedTokenType returns the issued_token_type of ti (RFC 8693 2.2.1): set
// for a token issued by a token exchange, "" otherwise.
func issuedTokenType(ti oauth2.TokenInfo) string {
	if e, ok := ti.(oauth2.ExtendableTokenInfo); ok {
		if v := e.GetExtension()[policy.ExtensionIssuedTokenType]; len(v) == 1 {
			return v[0]
		}
	}
	return ""
}

// hasExchangeFields reports whether the token response of ti has fields of
// RFC 8693 2.2.1, which only the map writer (GetTokenData) writes.
func hasExchangeFields(ti oauth2.TokenInfo) bool { return issuedTokenType(ti) != "" }

// addExchangeFields adds issued_token_type to the token response data of a
// token issued by a token exchange (RFC 8693 2.2.1).
func addExchangeFields(data map[string]any, ti oauth2.TokenInfo) {
	if t := issuedTokenType(ti); t != "" {
		data["issued_token_type"] = t
	}
}
