package models

import "github.com/oauth2d/oauth2"

var (
	_ oauth2.TLSClientAuthClient    = (*Client)(nil)
	_ oauth2.CertificateBoundClient = (*Client)(nil)
)

// GetTLSClientAuth returns TLSClientAuth (RFC 8705 2.1.2).
func (c *Client) GetTLSClientAuth() oauth2.TLSClientAuthIdentity { return c.TLSClientAuth }

// GetTLSClientCertificateBoundAccessTokens returns
// TLSClientCertificateBoundAccessTokens (RFC 8705 3.4).
func (c *Client) GetTLSClientCertificateBoundAccessTokens() bool {
	return c.TLSClientCertificateBoundAccessTokens
}
