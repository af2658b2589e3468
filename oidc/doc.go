// Package oidc holds the OpenID Connect types and parsers shared by the
// authorization server's packages: a user's standard claims (OpenID Connect
// Core 1.0 5.1) and the scope values that request them (5.4); the claims
// request parameter (5.5); the authentication request parameters (3.1.2.1)
// and the decision they lead to for a session (prompt, max_age,
// id_token_hint); pairwise subject identifiers (8.1); and the names under
// which a grant's OpenID Connect data travels in the extension carrier
// (oauth2.ExtendableTokenInfo).
//
// It makes no token and serves no endpoint: package generates signs ID
// tokens and verifies id_token_hint, package server serves the UserInfo
// endpoint and the discovery document.
//
// Specifications:
//   - https://openid.net/specs/openid-connect-core-1_0.html
//   - https://openid.net/specs/openid-connect-discovery-1_0.html
package oidc
