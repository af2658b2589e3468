package oidc

import (
	"slices"

	"github.com/oauth2d/oauth2"
)

// LogoutClient is implemented by clients registered with
// post_logout_redirect_uris (OpenID Connect RP-Initiated Logout 1.0 3.1),
// as models.Client is. A client that does not implement it has none.
type LogoutClient interface {
	GetPostLogoutRedirectURIs() []string
}

// PostLogoutRedirectURIs returns the post_logout_redirect_uris of client,
// nil when it has none or does not implement LogoutClient.
func PostLogoutRedirectURIs(client oauth2.ClientInfo) []string {
	if lc, ok := client.(LogoutClient); ok {
		return lc.GetPostLogoutRedirectURIs()
	}
	return nil
}

// ValidPostLogoutRedirectURI reports whether uri is one of the
// post_logout_redirect_uris of client, compared as exact strings, as
// RP-Initiated Logout 1.0 2 and 3.1 require: the end_session_endpoint may
// redirect the End-User's browser only to a registered URI. An empty uri
// is never valid.
// https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RedirectionAfterLogout
func ValidPostLogoutRedirectURI(client oauth2.ClientInfo, uri string) bool {
	return uri != "" && slices.Contains(PostLogoutRedirectURIs(client), uri)
}
