package models

// GetJWKS returns the client's public JSON Web Key Set (RFC 7517 5), which
// verifies its private_key_jwt assertions (RFC 7523 2.2); nil when it has
// none.
func (c *Client) GetJWKS() []byte { return c.JWKS }

// GetJWKSURI returns the URL of the client's JSON Web Key Set (RFC 7591 2
// jwks_uri), "" when it has none; the server fetches it through its
// JWKSResolver.
func (c *Client) GetJWKSURI() string { return c.JWKSURI }
