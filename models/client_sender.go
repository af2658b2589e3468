package models

import "github.com/oauth2d/oauth2"

var (
	_ oauth2.DPoPBoundClient           = (*Client)(nil)
	_ oauth2.PushedAuthorizationClient = (*Client)(nil)
	_ oauth2.ResourceClient            = (*Client)(nil)
	_ oauth2.TokenExchangeClient       = (*Client)(nil)
)

// GetDPoPBoundAccessTokens returns DPoPBoundAccessTokens (RFC 9449 5.2).
func (c *Client) GetDPoPBoundAccessTokens() bool { return c.DPoPBoundAccessTokens }

// GetRequirePushedAuthorizationRequests returns
// RequirePushedAuthorizationRequests (RFC 9126 6).
func (c *Client) GetRequirePushedAuthorizationRequests() bool {
	return c.RequirePushedAuthorizationRequests
}

// GetResources returns the resources the client may ask for (RFC 8707).
func (c *Client) GetResources() []string { return c.Resources }

// GetTokenExchangeAudiences returns the audiences the client may exchange
// tokens for (RFC 8693).
func (c *Client) GetTokenExchangeAudiences() []string { return c.TokenExchangeAudiences }
